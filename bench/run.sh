#!/usr/bin/env bash
# The benchmarks, run by hand: `bash bench/run.sh`. Not tests: they print figures
# beside their targets, and write the summary to bench/results/latest.md.
#
# Set-up (idempotent): the venv (requirements-dev.txt), PostgreSQL and Redis
# (scripts/services.sh), wrk (apt), a database of its own, fp_bench, migrated and
# loaded with the demo data; then gunicorn on 127.0.0.1:8077 (2 workers), stopped
# at the end whatever happens. All traffic goes to 127.0.0.1; every measurement is
# bounded in time or count (each <= 30 s; the whole run about 3 minutes).
#
#   BENCH_SECONDS=20     length of each load run (wrk and the real-writes client)
#   BENCH_PORT=8077
#   BENCH_WAIT_QUIET=30  wait up to that many seconds for other processes to leave the CPU
#   BENCH_PROFILE=1      also profile the workers with py-spy (about 30 s more)
#   BENCH_REPORTS=1      also measure the cluster reports (bench/reports.py, about 30 s more)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
BENCH="$ROOT/bench"
RESULTS="$BENCH/results"
PORT="${BENCH_PORT:-8077}"
SECONDS_EACH="${BENCH_SECONDS:-20}"
BASE="http://127.0.0.1:$PORT"
T_START=$SECONDS
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in bench/

log() { printf '\n[bench] %s\n' "$*" >&2; }

# ---- set-up ----------------------------------------------------------------------

source scripts/python.sh requirements-dev.txt
# shellcheck source=../scripts/services.sh
source scripts/services.sh
ensure_services
command -v wrk >/dev/null 2>&1 || apt_install wrk

if [ -z "$(PGPASSWORD=fp psql -X -h 127.0.0.1 -U fp -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'fp_bench'")" ]; then
    log "creating database fp_bench (owner fp)"
    PGPASSWORD=fp createdb -h 127.0.0.1 -U fp -O fp fp_bench
fi

export DATABASE_URL="postgres://fp:fp@127.0.0.1:5432/fp_bench"
export DJANGO_DEBUG=false DJANGO_SECRET_KEY=bench DJANGO_ALLOWED_HOSTS=127.0.0.1 DJANGO_SECURE_SSL_REDIRECT=false
export STATIC_ROOT="$RESULTS/staticfiles"
export BENCH_PORT="$PORT"
# Set-up commands run without Redis (background tasks in process, as in `make run`);
# gunicorn gets REDIS_URL (see start_gunicorn).
unset REDIS_URL
GUNICORN_REDIS_URL="redis://127.0.0.1:6379/14"

client() { "$VENV_PYTHON" "$BENCH/client.py" "$@"; }
django_side() {
    "$VENV_PYTHON" manage.py shell -v 0 -c \
        "import runpy, sys; sys.argv = ['bench/django_side.py', *'$*'.split()]; runpy.run_path('bench/django_side.py', run_name='__main__')"
}

rm -rf "$RESULTS/raw" "$RESULTS/access.log" "$RESULTS/gunicorn.log" "$RESULTS"/queries-*.sql
mkdir -p "$RESULTS/raw"

log "migrate, demo_setup, collectstatic (fp_bench)"
"$VENV_PYTHON" manage.py migrate --noinput -v 0
"$VENV_PYTHON" manage.py demo_setup >"$RESULTS/demo_setup.log"
"$VENV_PYTHON" manage.py collectstatic --noinput -v 0
django_side prepare

CODE_AT_START="$("$VENV_PYTHON" -c "import sys; sys.path.insert(0, 'bench'); import common; print(common.code_fingerprint())")"
"$VENV_PYTHON" - "$RESULTS/raw/env.json" "$GUNICORN_REDIS_URL" "$CODE_AT_START" <<'EOF'
import datetime, json, os, platform, subprocess, sys, timeit
import django
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
pg = subprocess.run(["psql", "-X", "-h", "127.0.0.1", "-U", "fp", "-d", "fp_bench", "-tAc", "SHOW server_version"],
                    capture_output=True, text=True, env={**os.environ, "PGPASSWORD": "fp"}).stdout.strip()
json.dump({
    "date": datetime.datetime.now().isoformat(timespec="seconds"),
    "machine": f"{os.cpu_count()} cores, {cpu}",
    "software": f"Python {platform.python_version()}, Django {django.get_version()}, PostgreSQL {pg}",
    "server": "gunicorn config.wsgi:application -w 2 (sync workers) -b 127.0.0.1, DJANGO_DEBUG=false, "
              f"REDIS_URL={sys.argv[2]} (cache: Redis), database fp_bench",
    "load generators": "wrk -t1 -c8 and Python clients, on the same 2 cores as the server and PostgreSQL",
    "code": sys.argv[3],
    # One core's Python speed, to compare runs on different machines (lower is faster).
    "one core": "sum(range(1000)) takes %.1f µs" % (
        min(timeit.repeat("sum(range(1000))", number=5000, repeat=5)) / 5000 * 1e6),
}, open(sys.argv[1], "w"), indent=1)
EOF

# ---- gunicorn ----------------------------------------------------------------------

GUNICORN_PID=""
WATCH_PID=""
stop_gunicorn() {
    if [ -n "$GUNICORN_PID" ] && kill -0 "$GUNICORN_PID" 2>/dev/null; then
        kill -TERM "$GUNICORN_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$GUNICORN_PID" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$GUNICORN_PID" 2>/dev/null || true
        wait "$GUNICORN_PID" 2>/dev/null || true
    fi
    GUNICORN_PID=""
}
cleanup() {
    stop_gunicorn
    if [ -n "$WATCH_PID" ]; then kill "$WATCH_PID" 2>/dev/null || true; wait "$WATCH_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_open() { "$VENV_PYTHON" -c "import socket, sys; s = socket.socket(); s.settimeout(0.5); sys.exit(s.connect_ex(('127.0.0.1', $PORT)))"; }

start_gunicorn() {  # start_gunicorn [APP]: config.wsgi:application unless told
    local app="${1:-config.wsgi:application}" extra=()
    [ "$app" = config.wsgi:application ] || extra=(--pythonpath "$BENCH")  # bench/ apps only
    if port_open; then
        echo "[bench] ERROR: something already listens on 127.0.0.1:$PORT; stop it or set BENCH_PORT" >&2
        exit 1
    fi
    REDIS_URL="$GUNICORN_REDIS_URL" CELERY_QUEUE=bench \
        "$VENV_DIR/bin/gunicorn" "${extra[@]}" "$app" -w 2 -b "127.0.0.1:$PORT" \
        --access-logfile "$RESULTS/access.log" --access-logformat '%(s)s %(D)s "%(r)s"' \
        </dev/null >>"$RESULTS/gunicorn.log" 2>&1 &   # gunicorn's and Django's log (409s, the injected 500)
    GUNICORN_PID=$!
    for _ in $(seq 1 100); do
        if "$VENV_PYTHON" -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('$BASE/accounts/login/?bench=up', timeout=2).status != 200)" 2>/dev/null; then
            return 0
        fi
        kill -0 "$GUNICORN_PID" 2>/dev/null || break
        sleep 0.3
    done
    tail -n 30 "$RESULTS/gunicorn.log" >&2
    echo "[bench] ERROR: gunicorn does not answer on $BASE" >&2
    exit 1
}

# measure NAME command...: runs one measurement between two time marks, so that the
# summary can say how busy the rest of the machine was meanwhile (bench/cpuwatch.py).
measure() {
    local name="$1"
    shift
    printf '%s\t%s\tstart\n' "$(date +%s.%N)" "$name" >>"$RESULTS/raw/marks.tsv"
    "$@"
    printf '%s\t%s\tstop\n' "$(date +%s.%N)" "$name" >>"$RESULTS/raw/marks.tsv"
}

run_wrk() {  # run_wrk NAME SECONDS TARGET wrk-script-args...
    local name="$1" secs="$2" target="$3"
    shift 3
    measure "$name" wrk -t1 -c8 -d"${secs}s" --timeout 5s -s "$BENCH/wrk.lua" "$BASE" -- "$@" >"$RESULTS/raw/wrk-$name.txt"
    client wrk-show "$name" "$target"
}

log "starting gunicorn on $BASE (2 workers, REDIS_URL=$GUNICORN_REDIS_URL)"
start_gunicorn
client login
"$VENV_PYTHON" "$BENCH/cpuwatch.py" wait-quiet $$ "${BENCH_WAIT_QUIET:-30}" 10
"$VENV_PYTHON" "$BENCH/cpuwatch.py" watch $$ "$RESULTS/raw/cpu.tsv" &
WATCH_PID=$!

# ---- 3. fill all 160 answers (first: it needs the empty response) -------------------
log "3. filling all answers of cluster I through the autosave endpoint, one request each"
measure m3 client fill

# ---- 1. saving one answer -------------------------------------------------------------
log "1. autosave at 8 concurrent clients, ${SECONDS_EACH} s each"
client wrk-bodies
run_wrk m1-same "$SECONDS_EACH" "≥ 1,000 req/s, p99 ≤ 20 ms" post "$RESULTS/wrk-same.tsv" "$RESULTS/wrk-auth.txt"
run_wrk m1-spread "$SECONDS_EACH" "≥ 1,000 req/s, p99 ≤ 20 ms" post "$RESULTS/wrk-spread.tsv" "$RESULTS/wrk-auth.txt"
measure m1-writes-spread client writes spread "$SECONDS_EACH"
measure m1-writes-same client writes same "$SECONDS_EACH"

# ---- 2. opening an article --------------------------------------------------------------
log "2. opening article 5 (200 serial GETs), article 3, and article 5 at 8 concurrent clients"
mkdir -p "$STATIC_ROOT/bench"
measure m2 client get 5 200 m2 "$STATIC_ROOT/bench/article-5.html"
measure m2-big client get 3 50 m2-big "" 10
run_wrk m2-conc 10 "— (compare with 4.)" get "/responses/$("$VENV_PYTHON" -c "import json; print(json.load(open('$RESULTS/fixture.json'))['response'])")/articles/5/?bench=m2-conc" "$RESULTS/wrk-auth.txt"
log "4. the whole cluster on one page (all 160 answers), its HTML saved for the static baseline"
measure m4-cluster-get client get 0 20 m4-cluster-get "$STATIC_ROOT/bench/cluster.html" 10
run_wrk m4-cluster 10 "≥ 230 req/s" get "/responses/$("$VENV_PYTHON" -c "import json; print(json.load(open('$RESULTS/fixture.json'))['response'])")/articles/?bench=m4-cluster" "$RESULTS/wrk-auth.txt"
measure queries django_side queries
measure costs django_side costs

# ---- 5. saving a whole page at once -------------------------------------------------------
log "5. the no-JS whole-page POST of article 5, 20 times, and the all-or-nothing check"
measure m5 client formpost 20

# ---- optional: where the time goes (py-spy, BENCH_PROFILE=1) ---------------------------------
# Separate from the figures above (a sampling profiler slows the workers down). py-spy
# goes into a throw-away venv under /tmp, never into the project's requirements.
if [ "${BENCH_PROFILE:-0}" = 1 ]; then
    log "profiles of the gunicorn workers with py-spy (results/profile-*.txt)"
    PYSPY_VENV=/tmp/fp-bench-pyspy
    [ -x "$PYSPY_VENV/bin/py-spy" ] || { "$VENV_PYTHON" -m venv "$PYSPY_VENV" && "$PYSPY_VENV/bin/pip" install -q py-spy; }
    profile() {  # profile NAME command...: py-spy on every worker while the command runs
        local name="$1"
        shift
        "$PYSPY_VENV/bin/py-spy" record --pid "$GUNICORN_PID" --subprocesses --nonblocking --rate 200 \
            --duration 12 --format raw --output "$RESULTS/profile-$name.txt" >/dev/null 2>&1 &
        local spy=$!
        sleep 1
        "$@" >/dev/null
        wait "$spy" || true
        "$VENV_PYTHON" "$BENCH/profile_summary.py" "$RESULTS/profile-$name.txt" | tee "$RESULTS/profile-$name-summary.txt"
    }
    sed 's/bench=m1-same/bench=prof/' "$RESULTS/wrk-same.tsv" >"$RESULTS/wrk-prof.tsv"
    profile autosave wrk -t1 -c8 -d10s -s "$BENCH/wrk.lua" "$BASE" -- post "$RESULTS/wrk-prof.tsv" "$RESULTS/wrk-auth.txt"
    profile article client get 5 1000 prof "" 10
fi

# ---- 4. static baseline ---------------------------------------------------------------------
log "4. static baseline: article 5's HTML as a static file (gunicorn restarted so that WhiteNoise sees it)"
stop_gunicorn
# The same application with one more address (bench/floor_wsgi.py), for 1e.
start_gunicorn floor_wsgi:application
run_wrk m4-static 10 "comparison with article 5 at 8 clients" get "/static/bench/article-5.html?bench=m4"
run_wrk m4-cluster-static 10 "comparison with the whole-cluster page" get "/static/bench/cluster.html?bench=m4c"
log "1e. the floor: a signed-in POST that does nothing, same body and headers as 1a"
awk -F'\t' '{print "/bench/floor/?bench=m1-floor\t" $2}' "$RESULTS/wrk-same.tsv" >"$RESULTS/wrk-floor.tsv"
run_wrk m1-floor 10 "— (what 1a costs before the autosave's own work)" post "$RESULTS/wrk-floor.tsv" "$RESULTS/wrk-auth.txt"
stop_gunicorn

# Opt-in (BENCH_REPORTS=1): cluster reports at scale (bench/reports.py), in process, no server.
if [ "${BENCH_REPORTS:-0}" = "1" ]; then
    log "6. cluster reports: XLSX for 193 States, CSV of 200 x 150 beside COPY (bench/reports.py)"
    "$VENV_PYTHON" manage.py shell -v 0 -c \
        "import runpy; runpy.run_path('bench/reports.py', run_name='__main__')" | tee "$RESULTS/reports.txt"
fi

# ---- summary -----------------------------------------------------------------------------------
log "summary (also in bench/results/latest.md); run took $((SECONDS - T_START)) s"
client report "$RESULTS/access.log"
