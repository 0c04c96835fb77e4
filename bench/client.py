"""The HTTP side of the benchmarks: talks only to the gunicorn that bench/run.sh
started on 127.0.0.1 (BENCH_PORT, 8077), every run bounded in count or time.
Standard library plus psycopg2 (in the project's venv) for the database checks.

    python bench/client.py login                 # sign in once; results/session.json for wrk
    python bench/client.py fill                  # 3. all 160 answers, one autosave each, in order
    python bench/client.py wrk-bodies            # request bodies for bench/autosave.lua
    python bench/client.py writes MODE SECONDS   # 1. real writes, 8 clients, MODE spread|same
    python bench/client.py get ARTICLE N PHASE [SAVE_AS]   # 2. N serial GETs of an article page
    python bench/client.py formpost N            # 5. the whole-page POST of article 5, N times + checks
    python bench/client.py report ACCESS_LOG     # the summary table (stdout and results/latest.md)

Every request carries ``?bench=<phase>`` so that the server's own time of each
request can be read back from gunicorn's access log (%(D)s, microseconds).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import statistics
import sys
import threading
import time
import urllib.parse
from http.cookies import SimpleCookie
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    FAIL_MARKER,
    code_fingerprint,
    RESULTS_DIR,
    answer_data,
    form_fields,
    load_fixture,
    page_post,
    percentile,
    read_raw,
    revisions_in,
    write_raw,
)

HOST = "127.0.0.1"
PORT = int(os.environ.get("BENCH_PORT", "8077"))
SESSION_FILE = RESULTS_DIR / "session.json"
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Browser:
    """One client: a keep-alive connection when the server allows it (gunicorn's
    sync workers close after each response; http.client then reconnects), and
    the cookies it was given. The Secure flag of the cookies is ignored on
    purpose: this is plain http on the loopback."""

    def __init__(self, cookies: dict[str, str] | None = None):
        self.conn = http.client.HTTPConnection(HOST, PORT, timeout=15)
        self.cookies = dict(cookies or {})
        self.csrf = ""

    def request(self, method: str, path: str, fields=None, headers=None) -> tuple[int, dict, str, float]:
        body = urllib.parse.urlencode(fields) if fields is not None else None
        hdrs = {"Host": f"{HOST}:{PORT}", **(headers or {})}
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            t0 = time.perf_counter()
            try:
                self.conn.request(method, path, body=body, headers=hdrs)
                resp = self.conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A kept-alive connection the server had already closed: the
                # request never reached the application; send it once more.
                self.conn.close()
                if attempt == 2:
                    raise
                continue
            elapsed = time.perf_counter() - t0
            break
        for header in resp.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        if resp.headers.get("Connection", "").lower() == "close":
            self.conn.close()
        return resp.status, dict(resp.headers), data.decode("utf-8", "replace"), elapsed

    def post(self, path, fields, **headers):
        return self.request("POST", path, fields, {"X-CSRFToken": self.csrf, **headers})


def tagged(path: str, phase: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}bench={phase}"


def article_path(fx, number: int) -> str:
    """Article ``number``'s answering page; 0: the whole cluster on one page."""
    if number == 0:
        return f"/responses/{fx['response']}/articles/"
    return f"/responses/{fx['response']}/articles/{number}/"


def save_path(fx, code: str) -> str:
    return f"/responses/{fx['response']}/answers/{urllib.parse.quote(code)}/"


def browser_from_session() -> Browser:
    saved = json.loads(SESSION_FILE.read_text())
    b = Browser(saved["cookies"])
    b.csrf = saved["csrf"]
    return b


def summary(latencies: list[float]) -> dict:
    ms = [x * 1000 for x in latencies]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p90_ms": round(percentile(ms, 90), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2),
        "median_ms": round(statistics.median(ms), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
        "sum_ms": round(sum(ms), 1),
    }


# ---- sign in -------------------------------------------------------------------


def totp_code(secret: str) -> str:
    """RFC 6238, as an authenticator app computes it (30 s, 6 digits, SHA-1)."""
    import base64
    import hashlib
    import hmac
    import struct

    digest = hmac.new(base64.b32decode(secret), struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return str((struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000).zfill(6)


def cmd_login() -> None:
    fx = load_fixture()
    b = Browser()
    status, _h, page, _t = b.request("GET", tagged("/accounts/login/", "login"))
    assert status == 200, f"login page answered {status}"
    token = CSRF_RE.search(page).group(1)
    status, headers, _page, elapsed = b.request(
        "POST", tagged("/accounts/login/", "login"),
        [("csrfmiddlewaretoken", token), ("login", fx["email"]), ("password", fx["password"])],
    )
    assert status == 302 and "/2fa/authenticate/" in headers.get("Location", ""), f"password step: {status} {headers.get('Location')}"
    for attempt in range(2):
        status, _h, page, _t = b.request("GET", tagged("/accounts/2fa/authenticate/", "login"))
        token = CSRF_RE.search(page).group(1)
        status, headers, _page, code_elapsed = b.request(
            "POST", tagged("/accounts/2fa/authenticate/", "login"),
            [("csrfmiddlewaretoken", token), ("code", totp_code(fx["totp_secret"]))],
        )
        if status == 302 or attempt:
            break
        # A code is accepted once: a sign-in in the same 30 s used it; wait for the next.
        time.sleep(30 - time.time() % 30 + 0.5)
    elapsed += code_elapsed
    assert status == 302 and any(name.endswith("sessionid") for name in b.cookies), f"sign-in failed: {status} {headers.get('Location')}"
    status, _h, page, _t = b.request("GET", tagged(article_path(fx, fx["article"]), "login"))
    assert status == 200, f"article page answered {status}"
    b.csrf = CSRF_RE.search(page).group(1)
    SESSION_FILE.write_text(json.dumps({"cookies": b.cookies, "csrf": b.csrf}))
    cookie = "; ".join(f"{k}={v}" for k, v in b.cookies.items())
    (RESULTS_DIR / "wrk-auth.txt").write_text(f"{cookie}\n{b.csrf}\n")
    write_raw("login", {"login_post_ms": round(elapsed * 1000, 1)})
    print(f"signed in as {fx['email']} (the sign-in POST took {elapsed * 1000:.0f} ms)")


# ---- 3. fill all answers ---------------------------------------------------------


def cmd_fill() -> None:
    fx = load_fixture()
    b = browser_from_session()
    latencies, states, bad = [], {"saved": 0, "other": 0}, []
    t_wall = time.perf_counter()
    for q in fx["questions"]:
        if time.perf_counter() - t_wall > 30:
            bad.append(f"stopped by the 30 s bound after {len(latencies)} answers")
            break
        fields = answer_data(q, 0) + [(f"rev-{q['code']}", "0")]
        status, _h, body, elapsed = b.post(tagged(save_path(fx, q["code"]), "m3"), fields, **{"HX-Request": "true"})
        latencies.append(elapsed)
        if status == 200 and "text-success" in body and f'name="rev-{q["code"]}" value="1"' in body:
            states["saved"] += 1
        else:
            states["other"] += 1
            bad.append(f"{q['code']} ({q['kind']}): {status} {body[:200]!r}")
    wall = time.perf_counter() - t_wall
    result = {"questions": len(fx["questions"]), "wall_s": round(wall, 3), **states, "errors": bad[:10],
              **summary(latencies)}
    write_raw("m3_fill", result)
    print(f"filled {states['saved']}/{len(fx['questions'])} answers: wall {wall:.3f} s, "
          f"sum of request times {sum(latencies):.3f} s   [target: ≤ 1.5 s]")
    if bad:
        print("  not saved:\n   " + "\n   ".join(bad[:10]))


# ---- 1. autosave under load --------------------------------------------------------


def current_revisions(b: Browser, fx) -> dict[str, int]:
    revisions = {}
    for number in fx["articles"]:
        status, _h, page, _t = b.request("GET", tagged(article_path(fx, number), "sync"))
        assert status == 200
        revisions.update(revisions_in(page))
    return revisions


def same_question(fx) -> dict:
    """The answer the "same answer" runs hammer: the first long text of article 5."""
    return next(q for q in fx["questions"] if q["article"] == fx["article"] and q["kind"] == "long_text")


def cmd_wrk_bodies() -> None:
    """Bodies that post each answer's stored value again (the demo sample, stored by
    `fill`): the server runs the whole save path and answers 200 "unchanged"."""
    fx = load_fixture()
    b = browser_from_session()
    revisions = current_revisions(b, fx)

    def line(q, phase):
        fields = answer_data(q, 0) + [(f"rev-{q['code']}", str(revisions.get(q["code"], 0)))]
        return f"{tagged(save_path(fx, q['code']), phase)}\t{urllib.parse.urlencode(fields)}\n"

    (RESULTS_DIR / "wrk-same.tsv").write_text(line(same_question(fx), "m1-same"))
    (RESULTS_DIR / "wrk-spread.tsv").write_text("".join(line(q, "m1-spread") for q in fx["questions"]))


def cmd_writes(mode: str, seconds: float, clients: int = 8) -> None:
    """Real writes at `clients` concurrent clients for `seconds`: every request
    changes its answer and carries the revision the previous answer returned
    (what answer.js does with the fragment's rev- input)."""
    fx = load_fixture()
    seed = browser_from_session()
    revisions = current_revisions(seed, fx)
    if mode == "spread":
        plans = [fx["questions"][i::clients] for i in range(clients)]
    elif mode == "same":
        plans = [[same_question(fx)] for _ in range(clients)]
    else:
        raise SystemExit("mode: spread or same")
    deadline = time.perf_counter() + seconds
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    phase = f"m1-writes-{mode}"
    start = threading.Barrier(clients)

    def run(i: int, plan: list[dict]) -> None:
        b = Browser(seed.cookies)
        b.csrf = seed.csrf
        revs = {q["code"]: revisions.get(q["code"], 0) for q in plan}
        mine, counts, k = [], {}, 0
        start.wait()
        while time.perf_counter() < deadline:
            q = plan[k % len(plan)]
            # A variant nobody else posts: always a real change of the stored value.
            n = 1 + (k * clients + i) * 2 + (k // len(plan)) % 2
            fields = answer_data(q, n) + [(f"rev-{q['code']}", str(revs[q["code"]]))]
            status, _h, body, elapsed = b.post(tagged(save_path(fx, q["code"]), phase), fields,
                                               **{"HX-Request": "true"})
            mine.append(elapsed)
            state = "saved" if "text-success" in body else "unchanged" if status == 200 else ""
            key = f"{status} {state}".strip()
            counts[key] = counts.get(key, 0) + 1
            found = revisions_in(body).get(q["code"])
            if found is not None:
                revs[q["code"]] = found
            k += 1
        with lock:
            latencies.extend(mine)
            for key, v in counts.items():
                statuses[key] = statuses.get(key, 0) + v

    threads = [threading.Thread(target=run, args=(i, plan)) for i, plan in enumerate(plans)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    result = {"mode": mode, "clients": clients, "wall_s": round(wall, 2), "rps": round(len(latencies) / wall, 1),
              "statuses": statuses, **summary(latencies)}
    write_raw(f"m1_writes_{mode}", result)
    print(f"real writes ({mode}): {result['rps']} req/s, p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, "
          f"statuses {statuses}   [target: ≥ 1,000 req/s, p99 ≤ 20 ms]")


# ---- 2. open an article ----------------------------------------------------------------


def cmd_get(number: int, n: int, phase: str, save_as: str = "", max_seconds: float = 25) -> None:
    """n serial GETs of an article page, stopping early after max_seconds."""
    fx = load_fixture()
    b = browser_from_session()
    path = tagged(article_path(fx, number), phase)
    b.request("GET", path.replace(f"bench={phase}", "bench=warm"))
    latencies, page, statuses = [], "", {}
    deadline = time.perf_counter() + max_seconds
    for _ in range(n):
        if time.perf_counter() > deadline:
            print(f"  stopped after {len(latencies)} requests: the {max_seconds:.0f} s bound")
            break
        status, _h, page, elapsed = b.request("GET", path)
        statuses[status] = statuses.get(status, 0) + 1
        latencies.append(elapsed)
    result = {"article": number, "bytes": len(page.encode()), "statuses": statuses,
              "questions": sum(1 for q in fx["questions"] if q["article"] == number), **summary(latencies)}
    write_raw(phase.replace("-", "_"), result)
    if save_as:
        Path(save_as).parent.mkdir(parents=True, exist_ok=True)
        Path(save_as).write_text(page)
    print(f"article {number}: {len(latencies)} serial GETs, p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, "
          f"{result['bytes']} bytes, statuses {statuses}   [target: ≤ 30 ms]")


# ---- 5. the whole-page form POST ------------------------------------------------------


def db():
    import psycopg2

    url = urllib.parse.urlparse(os.environ["DATABASE_URL"])
    return psycopg2.connect(host=url.hostname, port=url.port or 5432, user=url.username, password=url.password,
                            dbname=url.path.lstrip("/"))


def article_rows(cur, fx) -> dict[str, tuple[int, str]]:
    """code -> (revision, xmin) of the stored answers of the benchmarked article."""
    cur.execute(
        """SELECT q.code, a.revision, a.xmin::text FROM questionnaire_answer a
           JOIN questionnaire_question q ON q.id = a.question_id
           JOIN questionnaire_article ar ON ar.id = q.article_id
           WHERE a.response_id = %s AND ar.number = %s""",
        [fx["response"], fx["article"]],
    )
    return {code: (rev, xmin) for code, rev, xmin in cur.fetchall()}


def whole_page_post(b: Browser, fx, questions, variant: int, marker_code: str = "") -> list[tuple[str, str]]:
    """What the browser posts without JavaScript: every control of the form, with
    every answer changed to variant `variant`."""
    status, _h, page, _t = b.request("GET", tagged(article_path(fx, fx["article"]), "m5-get"))
    assert status == 200, status
    return page_post(form_fields(page), questions, variant, marker_code, FAIL_MARKER)


def cmd_formpost(n: int) -> None:
    fx = load_fixture()
    b = browser_from_session()
    questions = [q for q in fx["questions"] if q["article"] == fx["article"]]
    path = tagged(article_path(fx, fx["article"]), "m5")
    conn = db()
    conn.autocommit = True
    cur = conn.cursor()
    latencies, checks = [], []
    base = int(time.time()) % 100_000 * 2  # an even base: variants differ from every earlier run's
    deadline = time.perf_counter() + 25
    for i in range(n):
        if time.perf_counter() > deadline:
            print(f"  stopped after {i} POSTs: the 25 s bound")
            break
        posted = whole_page_post(b, fx, questions, base + 1 + i)
        before = article_rows(cur, fx)
        status, headers, body, elapsed = b.post(path, posted)
        if status != 302:
            raise SystemExit(f"whole-page POST answered {status}: {body[:500]}")
        latencies.append(elapsed)
        after = article_rows(cur, fx)
        changed = [c for c in after if after[c][0] != before.get(c, (0, ""))[0]]
        xmins = {after[c][1] for c in changed}
        cur.execute("SELECT count(*) FROM questionnaire_historicalanswer WHERE xmin::text = ANY(%s)", [list(xmins)])
        history_rows = cur.fetchone()[0]
        checks.append({"changed": len(changed), "transactions": len(xmins), "history_rows": history_rows})

    # All or nothing: a database error on the last written answer of a whole-page
    # POST must leave every answer of the page as it was. A trigger that exists
    # only during this check (in fp_bench) refuses the marked value.
    marker_q = [q for q in questions if q["kind"] == "long_text"][-1]
    writes_before = sum(1 for q in questions[: questions.index(marker_q)])
    cur.execute(f"""
        CREATE OR REPLACE FUNCTION bench_fault() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'bench fault injection'; END $$;
        DROP TRIGGER IF EXISTS bench_fault ON questionnaire_answer;
        CREATE TRIGGER bench_fault BEFORE INSERT OR UPDATE ON questionnaire_answer FOR EACH ROW
        WHEN (NEW.value::text LIKE '%{FAIL_MARKER}%') EXECUTE FUNCTION bench_fault();""")
    try:
        posted = whole_page_post(b, fx, questions, base + n + 1, marker_code=marker_q["code"])
        before = article_rows(cur, fx)
        cur.execute("SELECT count(*) FROM questionnaire_historicalanswer")
        history_before = cur.fetchone()[0]
        status, _h, _body, _t = b.post(tagged(article_path(fx, fx["article"]), "m5-fault"), posted)
        after = article_rows(cur, fx)
        cur.execute("SELECT count(*) FROM questionnaire_historicalanswer")
        history_after = cur.fetchone()[0]
    finally:
        cur.execute("DROP TRIGGER IF EXISTS bench_fault ON questionnaire_answer; DROP FUNCTION IF EXISTS bench_fault();")
        conn.close()
    fault = {
        "status": status,
        "failing_question": marker_q["code"],
        "answers_written_before_the_failure": writes_before,
        "answers_changed_after": sum(1 for c in after if after[c] != before.get(c)),
        "history_rows_added": history_after - history_before,
    }
    one_tx = all(c["transactions"] == 1 and c["changed"] == len(questions) and c["history_rows"] == c["changed"]
                 for c in checks)
    result = {"questions": len(questions), "fields_posted": len(posted), "one_transaction_each": one_tx,
              "checks": checks[:3], "fault": fault, **summary(latencies)}
    write_raw("m5_formpost", result)
    print(f"whole-page POST of article {fx['article']} ({len(questions)} answers, all changed): "
          f"median {statistics.median(latencies) * 1000:.1f} ms [target: ≤ 36 ms]; one transaction each: {one_tx}; "
          f"fault injection: {fault}")


# ---- the summary ---------------------------------------------------------------------------


ACCESS_RE = re.compile(r'^(\d{3}) (\d+) "(\S+) (\S+)')


def server_times(access_log: str) -> dict[str, list[float]]:
    """phase -> server times (ms) from gunicorn's access log: '%(s)s %(D)s "%(r)s"'."""
    by_phase: dict[str, list[float]] = {}
    if not Path(access_log).exists():
        return by_phase
    for line in Path(access_log).read_text().splitlines():
        m = ACCESS_RE.match(line)
        if not m:
            continue
        query = urllib.parse.urlparse(m.group(4)).query
        phase = urllib.parse.parse_qs(query).get("bench", [""])[0]
        if phase:
            by_phase.setdefault(phase, []).append(int(m.group(2)) / 1000)
    return by_phase


def wrk_result(name: str) -> dict | None:
    path = RESULTS_DIR / "raw" / f"wrk-{name}.txt"
    if not path.exists():
        return None
    for line in path.read_text().splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line[len("BENCH_JSON "):])
    return None


def other_load() -> dict[str, str]:
    """phase -> mean CPU share of the processes that are not the benchmark while it
    ran (bench/cpuwatch.py samples, bench/run.sh marks)."""
    marks_file, cpu_file = RESULTS_DIR / "raw" / "marks.tsv", RESULTS_DIR / "raw" / "cpu.tsv"
    if not marks_file.exists() or not cpu_file.exists():
        return {}
    samples = []
    for line in cpu_file.read_text().splitlines():
        parts = line.split("\t")
        if len(parts) >= 5:
            samples.append((float(parts[0]), float(parts[1]), parts[3], float(parts[4])))
    spans: dict[str, list[float]] = {}
    for line in marks_file.read_text().splitlines():
        t, name, what = line.split("\t")
        spans.setdefault(name, []).append(float(t))
    result = {}
    for name, (t0, t1, *_rest) in ((n, v) for n, v in spans.items() if len(v) >= 2):
        inside = [(o, top, steal) for t, o, top, steal in samples if t0 < t <= t1 + 0.5]
        if inside:
            mean = statistics.fmean(o for o, _, _ in inside)
            steal = statistics.fmean(s for _, _, s in inside)
            peak = max(inside)
            result[name] = (f"{mean:.0f}%" + (f" (up to {peak[0]:.0f}%: {peak[1][:40]})" if peak[0] >= 10 else "")
                            + (f"; steal {steal:.0f}%" if steal >= 1 else ""))
    return result


def cmd_report(access_log: str) -> None:
    times = server_times(access_log)
    load = other_load()
    rows: list[tuple[str, str, str, str, str]] = []  # measurement, figure, target, verdict, phase

    def verdict(ok: bool | None) -> str:
        return "n/a" if ok is None else ("met" if ok else "**missed**")

    def srv(phase: str) -> str:
        t = times.get(phase)
        if not t:
            return "server time n/a"
        return f"server p50 {percentile(t, 50):.1f} / p99 {percentile(t, 99):.1f} ms"

    target_1 = "≥ 1,000 req/s and p99 ≤ 20 ms"
    for name, label in (("m1-same", "1a. Autosave one answer, the same answer each time (saves \"unchanged\"), wrk, 8 connections"),
                        ("m1-spread", "1b. Autosave one answer, 160 different answers in turn (\"unchanged\"), wrk, 8 connections")):
        w = wrk_result(name)
        if w:
            ok = w["rps"] >= 1000 and w["p99_ms"] <= 20
            st = ", ".join(f"{k}: {v}" for k, v in sorted(w["statuses"].items()))
            rows.append((label, f"**{w['rps']:.0f} req/s**, p50 {w['p50_ms']:.1f} ms, **p99 {w['p99_ms']:.1f} ms** "
                         f"({w['requests']} requests in {w['seconds']:.0f} s, HTTP {st}; {srv(name)})",
                         target_1, verdict(ok), name))
    w, floor = wrk_result("m1-same"), wrk_result("m1-floor")
    if floor:
        figure = (f"{floor['rps']:.0f} req/s, p50 {floor['p50_ms']:.1f} ms, p99 {floor['p99_ms']:.1f} ms "
                  f"({srv('m1-floor')})")
        if w:
            # Box time per request: the two cores' wall time shared by every request
            # (server, PostgreSQL, Redis, wrk), 1,000 / rps ms; 1.0 ms at the target.
            own = 1000 / w["rps"] - 1000 / floor["rps"]
            figure += (f"; box time per request {1000 / floor['rps']:.2f} ms, 1a's {1000 / w['rps']:.2f} ms: "
                       f"the autosave's own work {own:.2f} ms (at 1,000 req/s all of it must fit in 1.00 ms)")
        rows.append(("1e. The floor: a signed-in POST that does nothing (bench/floor_wsgi.py: the same "
                     "middleware, session, user, CSRF and login checks, body and headers as 1a), wrk, 8 connections",
                     figure, "—", "info", "m1-floor"))
    for mode, label in (("spread", "1c. Autosave, real writes, 160 different answers, 8 clients (Python, keep the revision)"),
                        ("same", "1d. Autosave, real writes, all 8 clients on the same answer")):
        r = read_raw(f"m1_writes_{mode}")
        if r:
            ok = r["rps"] >= 1000 and r["p99_ms"] <= 20
            st = ", ".join(f"{k}: {100 * v / r['n']:.0f}%" for k, v in sorted(r["statuses"].items()))
            rows.append((label, f"**{r['rps']:.0f} req/s**, p50 {r['p50_ms']:.1f} ms, **p99 {r['p99_ms']:.1f} ms** "
                         f"({r['n']} requests in {r['wall_s']:.0f} s; HTTP {st}; {srv('m1-writes-' + mode)})",
                         target_1, verdict(ok), f"m1-writes-{mode}"))
    r = read_raw("m3_fill")
    if r:
        t = times.get("m3", [])
        server_sum = sum(t) / 1000 if t else None
        ok = r["saved"] == r["questions"] and r["sum_ms"] / 1000 <= 1.5
        rows.append((f"3. Fill all {r['questions']} answers of cluster I through the autosave endpoint, one request each, in order",
                     f"**{r['sum_ms'] / 1000:.2f} s** (sum of the request times; wall {r['wall_s']:.2f} s"
                     + (f"; server's own sum {server_sum:.2f} s" if server_sum is not None else "")
                     + f"; per answer p50 {r['p50_ms']:.1f} / p99 {r['p99_ms']:.1f} ms; {r['saved']}/{r['questions']} saved)",
                     "≤ 1.5 s", verdict(ok), "m3"))
    r = read_raw("m2")
    q = read_raw("queries") or {}
    if r:
        rows.append((f"2. Open article {r['article']} to answer ({r['questions']} questions, all answered), {r['n']} serial GETs",
                     f"p50 {r['p50_ms']:.1f} ms, **p99 {r['p99_ms']:.1f} ms** ({srv('m2')}; page {r['bytes'] / 1024:.0f} KiB)",
                     "≤ 30 ms", verdict(r["p99_ms"] <= 30), "m2"))
    if q:
        rows.append(("2. Queries of that page (Django test client, CaptureQueriesContext; BEGIN/COMMIT count)",
                     f"**{q['article_get']}**", "≤ 12", verdict(q["article_get"] <= 12), ""))
    r = read_raw("m2_big")
    if r:
        rows.append((f"2'. Article {r['article']} ({r['questions']} questions: the most of cluster I), {r['n']} serial GETs",
                     f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms ({srv('m2-big')}; page {r['bytes'] / 1024:.0f} KiB)",
                     "≤ 30 ms", verdict(r["p99_ms"] <= 30), "m2-big"))
    w = wrk_result("m4-cluster")
    if w:
        rows.append(("4. The whole cluster I on one page (160 questions, all answered), 8 connections (wrk)",
                     f"**{w['rps']:.0f} req/s**, p50 {w['p50_ms']:.1f} ms, p99 {w['p99_ms']:.1f} ms ({srv('m4-cluster')})",
                     "≥ 230 req/s", verdict(w["rps"] >= 230), "m4-cluster"))
    w = wrk_result("m4-cluster-static")
    if w:
        rows.append(("4. …the same HTML as a static file (gunicorn + WhiteNoise), 8 connections (wrk)",
                     f"{w['rps']:.0f} req/s, p50 {w['p50_ms']:.1f} ms, p99 {w['p99_ms']:.1f} ms ({srv('m4c')})",
                     "—", "info", "m4-cluster-static"))
    w = wrk_result("m2-conc")
    if w:
        rows.append(("4. Biggest existing page, article 5, at 8 connections (wrk)",
                     f"{w['rps']:.0f} req/s, p50 {w['p50_ms']:.1f} ms, p99 {w['p99_ms']:.1f} ms ({srv('m2-conc')})",
                     "—", "info", "m2-conc"))
    w = wrk_result("m4-static")
    if w:
        rows.append(("4. Static baseline: the same HTML as a static file (gunicorn + WhiteNoise), 8 connections (wrk)",
                     f"{w['rps']:.0f} req/s, p50 {w['p50_ms']:.1f} ms, p99 {w['p99_ms']:.1f} ms ({srv('m4')})",
                     "—", "info", "m4-static"))
    r = read_raw("m5_formpost")
    if r:
        t = times.get("m5", [])
        server_median = statistics.median(t) if t else None
        rows.append((f"5. Save a whole page at once: the no-JS POST of article 5, all {r['questions']} answers changed, median of {r['n']}",
                     f"**{r['median_ms']:.1f} ms**"
                     + (f" (server's own median {server_median:.1f} ms" if server_median is not None else " (")
                     + f"; p99 {r['p99_ms']:.1f} ms)", "≤ 36 ms", verdict(r["median_ms"] <= 36), "m5"))
        f = r["fault"]
        atomic = r["one_transaction_each"] and f["answers_changed_after"] == 0 and f["history_rows_added"] == 0
        rows.append(("5. …in one transaction, all or nothing (read from PostgreSQL)",
                     f"every POST's {r['questions']} answer rows and their {r['questions']} history rows carry one "
                     f"transaction id (xmin): {'yes' if r['one_transaction_each'] else 'NO'}; a database error on the "
                     f"answer written after {f['answers_written_before_the_failure']} others → HTTP {f['status']}, "
                     f"{f['answers_changed_after']} answers changed, {f['history_rows_added']} history rows added",
                     "one transaction", verdict(atomic), ""))
    if q:
        rows.append(("Queries of one autosave: unchanged / saved; of the whole-page POST",
                     f"{q['autosave_unchanged']} / {q['autosave_saved']}; {q['form_post']} "
                     f"(for {q['form_post_questions']} answers)", "—", "info", ""))
        rows.append(("One sign-in's password check (only at sign-in)",
                     f"{q['password_check_ms']:.0f} ms ({q['password_hasher']})", "—", "info", "queries"))
    c = read_raw("costs")
    if c:
        rows.append(("One unchanged autosave in process (test client, serial): as configured / without "
                     "SESSION_SAVE_EVERY_REQUEST",
                     f"{c['autosave_unchanged_ms']:.1f} ms / {c['autosave_unchanged_no_session_save_ms']:.1f} ms "
                     f"(medians of {c['n']})", "—", "info", "costs"))
    login = read_raw("login")
    if login:
        rows.append(("The sign-in POST, measured once by the client", f"{login['login_post_ms']:.0f} ms",
                     "—", "info", ""))

    env_file = RESULTS_DIR / "raw" / "env.json"
    env = json.loads(env_file.read_text()) if env_file.exists() else {}
    lines = ["# Benchmarks — latest run (bash bench/run.sh)", ""]
    if "code" in env:
        now = code_fingerprint()
        env["code"] = (f"fingerprint {env['code']} (bench/common.py code_fingerprint)" if now == env["code"] else
                       f"**changed during the run** ({env['code']} at the start, {now} at the end): "
                       "someone edited the application meanwhile; the figures mix two versions")
    lines += [f"- {k}: {v}" for k, v in env.items()]
    lines += ["- figures: client-side latency on the loopback unless “server” (gunicorn's own request time, "
              "access log %(D)s); p99 is nearest-rank",
              "- other load: CPU share of the processes that are not the benchmark while it ran "
              "(100% = both cores), a lower bound; steal: CPU the hypervisor gave to other machines", ""]
    lines += ["| Measurement | Measured | Target | Verdict | Other load |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} | {d} | {load.get(e, '—') if e else '—'} |" for a, b, c, d, e in rows]
    text = "\n".join(lines) + "\n"
    (RESULTS_DIR / "latest.md").write_text(text)
    print(text)


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args:
        raise SystemExit(__doc__)
    cmd, rest = args[0], args[1:]
    if cmd == "login":
        cmd_login()
    elif cmd == "fill":
        cmd_fill()
    elif cmd == "wrk-bodies":
        cmd_wrk_bodies()
    elif cmd == "writes":
        cmd_writes(rest[0], float(rest[1]))
    elif cmd == "get":
        cmd_get(int(rest[0]), int(rest[1]), rest[2], rest[3] if len(rest) > 3 else "",
                float(rest[4]) if len(rest) > 4 else 25)
    elif cmd == "formpost":
        cmd_formpost(int(rest[0]))
    elif cmd == "wrk-show":
        w = wrk_result(rest[0])
        if not w:
            raise SystemExit(f"wrk {rest[0]}: no result line (see bench/results/raw/wrk-{rest[0]}.txt)")
        print(f"wrk {rest[0]}: {w['rps']:.0f} req/s, p50 {w['p50_ms']:.1f} ms, p99 {w['p99_ms']:.1f} ms, "
              f"{w['requests']} requests, statuses {w['statuses']}, socket errors {w['errors']}"
              f"   [target: {rest[1]}]")
    elif cmd == "report":
        cmd_report(rest[0])
    else:
        raise SystemExit(__doc__)
