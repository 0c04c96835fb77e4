#!/usr/bin/env bash
# Starts PostgreSQL and Redis from Debian's packages on 127.0.0.1, installing
# them first when they are missing. Safe to run any number of times: when both
# already answer it only checks them.
#
#   bash scripts/services.sh      # then use the two URLs it prints
#   source scripts/services.sh    # only defines the functions below
#                                 # (ensure_services, ensure_browser, ...)
#
# PostgreSQL: role fp / password fp (LOGIN CREATEDB), database fp owned by it.
# Redis: no persistence, loopback only.

FP_DATABASE_URL="postgres://fp:fp@127.0.0.1:5432/fp"
FP_REDIS_URL="redis://127.0.0.1:6379/0"

_svc_log() { printf '[services.sh] %s\n' "$*" >&2; }
_svc_die() { _svc_log "ERROR: $*"; return 1; }

# ---- apt, waiting for locks held by someone else ---------------------------

_SVC_APT_UPDATED=""
_SVC_APT_WAIT_SECONDS="${APT_LOCK_WAIT_SECONDS:-600}"

_as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"
    else _svc_die "need root (or sudo) to run: $*"; fi
}

# Runs an apt-get command; while dpkg/apt is locked by another process
# (another install, unattended-upgrades) waits and retries, up to
# APT_LOCK_WAIT_SECONDS (600) in all.
_apt() {
    local deadline=$((SECONDS + _SVC_APT_WAIT_SECONDS)) out rc
    out="$(mktemp)"
    while :; do
        _as_root env DEBIAN_FRONTEND=noninteractive apt-get -q \
            -o DPkg::Lock::Timeout=60 -o Dpkg::Options::=--force-confold "$@" >"$out" 2>&1
        rc=$?
        [ "$rc" = 0 ] && { rm -f "$out"; return 0; }
        if grep -qiE 'could not get lock|unable to acquire|unable to lock|is another process using it|dpkg frontend lock' "$out" \
            && [ "$SECONDS" -lt "$deadline" ]; then
            _svc_log "apt/dpkg is locked by another process; waiting (up to $((deadline - SECONDS))s more)"
            sleep 10
            continue
        fi
        if grep -q 'dpkg was interrupted' "$out" && [ "$SECONDS" -lt "$deadline" ]; then
            _svc_log "dpkg was interrupted earlier; running dpkg --configure -a"
            _as_root env DEBIAN_FRONTEND=noninteractive dpkg --configure -a >>"$out" 2>&1 || sleep 10
            continue
        fi
        tail -n 30 "$out" >&2
        rm -f "$out"
        _svc_die "apt-get $* failed (exit $rc)"
        return 1
    done
}

_pkg_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# apt_install PKG...: installs those of the packages that are missing,
# running apt-get update first (once per shell).
apt_install() {
    local missing=() p t0
    for p in "$@"; do _pkg_installed "$p" || missing+=("$p"); done
    [ "${#missing[@]}" -eq 0 ] && return 0
    command -v apt-get >/dev/null 2>&1 || _svc_die "apt-get not found; install by hand: ${missing[*]}" || return 1
    t0=$SECONDS
    if [ -z "$_SVC_APT_UPDATED" ]; then
        _svc_log "apt-get update"
        _apt update || return 1
        _SVC_APT_UPDATED=1
    fi
    _svc_log "apt-get install -y ${missing[*]}"
    _apt install -y "${missing[@]}" || return 1
    _svc_log "installed ${missing[*]} in $((SECONDS - t0))s"
}

# ---- PostgreSQL --------------------------------------------------------------

_pg_fp_ready() {
    PGPASSWORD=fp PGCONNECT_TIMEOUT=3 psql -X -q -h 127.0.0.1 -p 5432 -U fp -d fp -tAc 'select 1' >/dev/null 2>&1
}

_as_postgres() {
    # cd /: postgres cannot read root's working directories.
    (cd / && _as_root runuser -u postgres -- "$@")
}

ensure_postgres() {
    local line ver name port status log
    if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432 && _pg_fp_ready; then
        return 0   # running, role and database in place
    fi

    if ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || ! command -v pg_ctlcluster >/dev/null 2>&1; then
        apt_install postgresql || return 1
    fi

    if ! pg_isready -q -h 127.0.0.1 -p 5432; then
        line="$(pg_lsclusters --no-header 2>/dev/null | awk '$3 == 5432' | head -n 1 || true)"
        [ -n "$line" ] || line="$(pg_lsclusters --no-header 2>/dev/null | head -n 1 || true)"
        if [ -z "$line" ]; then
            ver="$(ls /usr/lib/postgresql | sort -n | tail -n 1)"
            _svc_log "no PostgreSQL cluster; creating $ver/main"
            _as_root pg_createcluster "$ver" main --port 5432 >/dev/null || _svc_die "pg_createcluster $ver main failed" || return 1
            line="$(pg_lsclusters --no-header | head -n 1)"
        fi
        read -r ver name port status _ <<<"$line"
        [ "$port" = 5432 ] || _svc_log "warning: cluster $ver/$name listens on port $port, not 5432"
        if [ "$status" != online ]; then
            _svc_log "starting PostgreSQL cluster $ver/$name"
            log="$(mktemp)"
            # No inherited stdio: the server outlives this script.
            if ! _as_root pg_ctlcluster "$ver" "$name" start </dev/null >"$log" 2>&1; then
                cat "$log" >&2
                tail -n 20 "/var/log/postgresql/postgresql-$ver-$name.log" >&2 2>/dev/null
                rm -f "$log"
                _svc_die "pg_ctlcluster $ver $name start failed"; return 1
            fi
            rm -f "$log"
        fi
        for _ in $(seq 1 60); do
            pg_isready -q -h 127.0.0.1 -p 5432 && break
            sleep 0.5
        done
        pg_isready -q -h 127.0.0.1 -p 5432 || _svc_die "PostgreSQL does not answer on 127.0.0.1:5432" || return 1
    fi

    if ! _pg_fp_ready; then
        _svc_log "creating role fp and database fp"
        _as_postgres psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'SQL' || _svc_die "could not create role fp" || return 1
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'fp') THEN
    CREATE ROLE fp LOGIN CREATEDB PASSWORD 'fp';
  ELSE
    ALTER ROLE fp LOGIN CREATEDB PASSWORD 'fp';
  END IF;
END
$$;
SQL
        if [ -z "$(_as_postgres psql -X -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'fp'")" ]; then
            _as_postgres createdb -O fp fp || _svc_die "could not create database fp" || return 1
        fi
        _pg_fp_ready || _svc_die "cannot log in as fp to $FP_DATABASE_URL (check pg_hba.conf)" || return 1
    fi
}

# ---- Redis -------------------------------------------------------------------

_redis_ready() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }

ensure_redis() {
    if command -v redis-cli >/dev/null 2>&1 && _redis_ready; then
        return 0
    fi
    if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
        apt_install redis-server || return 1
        # The package may have started its own server on 127.0.0.1:6379.
        for _ in $(seq 1 10); do _redis_ready && return 0; sleep 0.3; done
    fi
    _svc_log "starting redis-server on 127.0.0.1:6379"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no \
        </dev/null >/dev/null 2>&1 || _svc_die "redis-server failed to start" || return 1
    for _ in $(seq 1 50); do
        _redis_ready && return 0
        sleep 0.2
    done
    _svc_die "Redis does not answer PONG on 127.0.0.1:6379"
}

# ---- browser for the end-to-end tests (scripts/test.sh only) ---------------

ensure_browser() {
    apt_install chromium fonts-noto-core fonts-noto-cjk || return 1
    command -v chromium >/dev/null 2>&1 || _svc_die "chromium is not on PATH after installing it"
}

# ---- ClamAV's daemon for the virus-scanner tests (scripts/test.sh only) -------
# Only the package: the tests start their own clamd (tests/ops/conftest.py) with
# the EICAR test signature, since the signature databases cannot be downloaded.

ensure_clamav() {
    apt_install clamav-daemon || return 1
    [ -x /usr/sbin/clamd ] || _svc_die "/usr/sbin/clamd missing after installing clamav-daemon"
}

# ---- all -----------------------------------------------------------------------

ensure_services() {
    ensure_postgres || return 1
    ensure_redis || return 1
}

if ! (return 0 2>/dev/null); then
    set -uo pipefail
    ensure_services || exit 1
    echo "PostgreSQL and Redis are running. Use:"
    echo "  export DATABASE_URL=$FP_DATABASE_URL"
    echo "  export REDIS_URL=$FP_REDIS_URL"
fi
