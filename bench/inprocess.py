"""Drive the WSGI application in this process, without gunicorn or sockets: the
Python cost of one request, repeatable enough to compare two versions of the code.

Run after `bash bench/run.sh` (it needs fp_bench and the files the run leaves in
bench/results/: wrk-auth.txt and the wrk bodies), with the environment of the run:

    DATABASE_URL=postgres://fp:fp@127.0.0.1:5432/fp_bench DJANGO_DEBUG=false \
    DJANGO_SECRET_KEY=bench DJANGO_ALLOWED_HOSTS=127.0.0.1 DJANGO_SECURE_SSL_REDIRECT=false \
    REDIS_URL=redis://127.0.0.1:6379/14 CELERY_QUEUE=bench \
    .venv/bin/python bench/inprocess.py same 2000 [--profile cumulative|tottime] [--reps 5]

Targets: `same` (bench/results/wrk-same.tsv: the unchanged autosave), `spread`
(wrk-spread.tsv, cycling), `floor` (the body of `same` posted to bench/floor_wsgi.py's
address that does nothing: the cost of any signed-in POST), `formpost` (the no-JS POST of article 5's whole page with every
answer changed, as run.sh's measurement 5; each POST is preceded by an untimed GET for the
revisions), or a path to GET. Prints the median of the repetitions'
mean wall time and process CPU time per request, and, with --profile, cProfile's
top 45 lines. Not a test and not part of `make test`.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def _requests(target: str) -> list[tuple[str, str, bytes]]:
    if target in ("same", "spread", "floor"):
        rows = []
        for line in (RESULTS / f"wrk-{'same' if target == 'floor' else target}.tsv").read_text().splitlines():
            if line:
                path, body = line.split("\t", 1)
                rows.append(("POST", "/bench/floor/" if target == "floor" else path, body))
        return _with_current_revisions(rows)
    return [("GET", target, b"")]


def _with_current_revisions(rows: list[tuple[str, str, str]]) -> list[tuple[str, str, bytes]]:
    """The bodies with each answer's revision as it is now in the database (later
    measurements of run.sh save answers again, after the bodies were written)."""
    import re

    from questionnaire.models import Answer

    response_id = json.loads((RESULTS / "fixture.json").read_text())["response"]
    revisions = dict(
        Answer.objects.filter(response_id=response_id).values_list("question__code", "revision")
    )

    def current(match: re.Match) -> str:
        return f"{match.group(1)}={revisions.get(urllib.parse.unquote(match.group(2)), 0)}"

    return [
        (method, path, re.sub(r"(rev-([^=&]+))=\d+", current, body).encode())
        for method, path, body in rows
    ]


def _environ(method: str, path: str, body: bytes, cookie: str, csrf: str) -> dict:
    path_info, _, query = path.partition("?")
    env = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8077",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8077",
        "HTTP_COOKIE": cookie,
        "HTTP_X_CSRFTOKEN": csrf,
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    if method == "POST":
        env["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
        env["CONTENT_LENGTH"] = str(len(body))
        env["HTTP_HX_REQUEST"] = "true"
    return env


def _call(application, environ) -> tuple[str, bytes]:
    seen = []
    result = application(environ, lambda status, headers, exc_info=None: seen.append(status))
    body = b"".join(result)
    if hasattr(result, "close"):
        result.close()
    return seen[0][:3], body


def _writes(application, args) -> None:
    """Autosaves that really write (run.sh's measurement 3, "fill", without the
    sockets): the long texts of article 5 in turn, each save changing its answer
    and carrying the revision the previous save of it returned."""
    sys.path.insert(0, str(ROOT / "bench"))
    import re

    from common import load_fixture, revisions_in

    cookie, csrf = (RESULTS / "wrk-auth.txt").read_text().splitlines()[:2]
    fx = load_fixture()
    codes = [q["code"] for q in fx["questions"] if q["article"] == fx["article"] and q["kind"] == "long_text"]
    _status, page = _call(application, _environ("GET", f"/responses/{fx['response']}/articles/{fx['article']}/",
                                                b"", cookie, csrf))
    revisions = revisions_in(page.decode())
    base = int(time.time() * 1000) % 10_000_000
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)
    walls, cpus, statuses = [], [], {}
    for i in range(args.n + 20):
        code = codes[i % len(codes)]
        body = urllib.parse.urlencode([(code, f"Written by the benchmark, {base + i}"),
                                       (f"rev-{code}", str(revisions.get(code, 0)))]).encode()
        environ = _environ("POST", f"/responses/{fx['response']}/answers/{urllib.parse.quote(code)}/", body,
                           cookie, csrf)
        if profiler and i >= 20:
            profiler.enable()
        wall0, cpu0 = time.perf_counter(), time.process_time()
        status, reply = _call(application, environ)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        if profiler:
            profiler.disable()
        found = re.search(rf'name="rev-{re.escape(code)}" value="(\d+)"', reply.decode())
        if found:
            revisions[code] = int(found.group(1))
        if i >= 20:
            walls.append(wall * 1000)
            cpus.append(cpu * 1000)
            statuses[status] = statuses.get(status, 0) + 1
    print(f"writes: wall median {statistics.median(walls):.2f} ms, cpu median {statistics.median(cpus):.2f} ms; "
          f"statuses {statuses}")
    if profiler:
        import pstats

        stats = pstats.Stats(profiler).sort_stats(args.profile)
        stats.print_stats(45)
        if os.environ.get("BENCH_PROFILE_DUMP"):
            stats.dump_stats(os.environ["BENCH_PROFILE_DUMP"])


def _formpost(application, args) -> None:
    """Whole-page POSTs, each after an untimed GET of the page (its revisions)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from common import form_fields, load_fixture, page_post

    cookie, csrf = (RESULTS / "wrk-auth.txt").read_text().splitlines()[:2]
    fx = load_fixture()
    path = f"/responses/{fx['response']}/articles/{fx['article']}/"
    questions = [q for q in fx["questions"] if q["article"] == fx["article"]]
    base = int(time.time() * 1000) % 10_000_000 * 2
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)
    walls, cpus, statuses = [], [], {}
    for i in range(args.n * args.reps + 3):
        status, page = _call(application, _environ("GET", path, b"", cookie, csrf))
        body = urllib.parse.urlencode(page_post(form_fields(page.decode()), questions, base + 1 + i)).encode()
        environ = _environ("POST", path, body, cookie, csrf)
        del environ["HTTP_HX_REQUEST"]  # a browser without JavaScript
        if profiler and i >= 3:
            profiler.enable()
        wall0, cpu0 = time.perf_counter(), time.process_time()
        status, _body = _call(application, environ)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        if profiler:
            profiler.disable()
        if i >= 3:  # the first ones warm the process
            walls.append(wall * 1000)
            cpus.append(cpu * 1000)
            statuses[status] = statuses.get(status, 0) + 1
    print(
        f"formpost: wall median {statistics.median(walls):.2f} ms (min {min(walls):.2f}), "
        f"cpu median {statistics.median(cpus):.2f} ms (min {min(cpus):.2f}); statuses {statuses}"
    )
    if profiler:
        import pstats

        stats = pstats.Stats(profiler).sort_stats(args.profile)
        stats.print_stats(45)
        if os.environ.get("BENCH_PROFILE_DUMP"):
            stats.dump_stats(os.environ["BENCH_PROFILE_DUMP"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("target")
    parser.add_argument("n", type=int)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--profile", choices=["cumulative", "tottime"], default="")
    args = parser.parse_args()

    if args.target == "floor":
        sys.path.insert(0, str(ROOT / "bench"))
        from floor_wsgi import application
    else:
        from config.wsgi import application

    if args.target == "formpost":
        return _formpost(application, args)
    if args.target == "writes":
        return _writes(application, args)

    logging.getLogger("django.request").setLevel(logging.ERROR)  # 409s are expected on a first pass
    cookie, csrf = (RESULTS / "wrk-auth.txt").read_text().splitlines()[:2]
    requests = _requests(args.target)
    statuses: dict[str, int] = {}

    def start_response(status, headers, exc_info=None):
        statuses[status[:3]] = statuses.get(status[:3], 0) + 1

    def one(i: int) -> None:
        method, path, body = requests[i % len(requests)]
        result = application(_environ(method, path, body, cookie, csrf), start_response)
        for _ in result:
            pass
        if hasattr(result, "close"):
            result.close()

    # Warm the process caches; a first pass over the bodies also stores their values,
    # so that the measured saves are the "unchanged" ones of run.sh's measurement 1.
    for i in range(max(200, len(requests))):
        one(i)
    if args.target in ("same", "spread"):
        requests = _requests(args.target)
    statuses.clear()
    walls, cpus = [], []
    profiler = None
    if args.profile:
        import cProfile

        # CPU time, not wall time: the waits on PostgreSQL and Redis are not this
        # process's work (their share is wall minus CPU in the first line).
        profiler = cProfile.Profile(time.process_time)
    for _ in range(args.reps):
        wall0, cpu0 = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        for i in range(args.n):
            one(i)
        if profiler:
            profiler.disable()
        walls.append((time.perf_counter() - wall0) / args.n * 1000)
        cpus.append((time.process_time() - cpu0) / args.n * 1000)
    probe0 = time.perf_counter()
    for _ in range(2000):
        sum(range(1000))
    probe = (time.perf_counter() - probe0) / 2000 * 1e6
    print(
        f"{args.target}: wall {statistics.median(walls):.3f} ms/req (min {min(walls):.3f}), "
        f"cpu {statistics.median(cpus):.3f} ms/req; statuses {statuses}; probe {probe:.1f} µs"
    )
    if profiler:
        import pstats

        stats = pstats.Stats(profiler).sort_stats(args.profile)
        stats.print_stats(45)
        if os.environ.get("BENCH_PROFILE_DUMP"):
            stats.dump_stats(os.environ["BENCH_PROFILE_DUMP"])


if __name__ == "__main__":
    main()
