"""The part of the benchmarks that runs inside Django, against the bench database
(DATABASE_URL=.../fp_bench), never against a server. bench/run.sh calls it as

    python manage.py shell -v 0 -c "...runpy.run_path('bench/django_side.py')" prepare|queries

prepare  Puts Ghana's cluster I response back to "no answer yet" (deletes its
         answers and their history, the bench's sessions and any fault-injection
         trigger a stopped run left), and writes bench/results/fixture.json: the
         response, its 160 questions with their kind, choices and the demo's sample
         value (reviews.demo.sample_value), and the demo login.
costs    One "unchanged" autosave in process (test client, serial), as configured and with
         SESSION_SAVE_EVERY_REQUEST=False (override_settings in this process only).
queries  Query counts with the Django test client and CaptureQueriesContext, signed
         in as Ghana's focal point: GET article 5, one autosave (unchanged, then a
         real write), the whole-page form POST of article 5; the SQL of each goes to
         bench/results/queries-*.sql. Also times one PBKDF2 password check.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS_DIR, answer_data, form_fields, page_post, write_raw  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.hashers import check_password, get_hasher  # noqa: E402
from parties.models import SignInSession  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

from questionnaire.models import Answer, Response  # noqa: E402
from questionnaire.selectors import version_questions  # noqa: E402
from reviews.demo import sample_value  # noqa: E402
from reviews.demo import demo_second_factor, demo_totp_secret  # noqa: E402
from reviews.management.commands.demo_setup import DEMO_PASSWORD  # noqa: E402

EMAIL = "focal.point.gh@demo.test"
ARTICLE = 5
HOST = "127.0.0.1"


def ghana_response() -> Response:
    return Response.objects.select_related("version").get(state__iso3="GHA", version__cluster__code="I")


def signed_in_client(user) -> Client:
    """A test client signed in with both factors, as the sign-in form leaves it
    (the same as tests/signin.py: the platform refuses a session without them)."""
    from tests.signin import sign_in

    return sign_in(Client(), user)


def prepare() -> None:
    response = ghana_response()
    if response.status != Response.Status.DRAFT:
        raise SystemExit(f"Ghana's cluster I response is {response.status}, not a draft: recreate fp_bench")
    with connection.cursor() as cur:
        cur.execute("DROP TRIGGER IF EXISTS bench_fault ON questionnaire_answer")
        cur.execute("DROP FUNCTION IF EXISTS bench_fault()")
    Answer.history.filter(response_id=response.pk).delete()
    deleted, _ = Answer.objects.filter(response=response).delete()
    SignInSession.objects.all().delete()
    # A bench database made before the second factor existed gets the demo one.
    demo_second_factor(get_user_model().objects.get(username=EMAIL))
    questions = version_questions(response.version_id)
    fixture = {
        "response": response.pk,
        "version": response.version_id,
        "email": EMAIL,
        "password": DEMO_PASSWORD,
        # The demo account's second factor (reviews.demo), for the sign-in's TOTP step.
        "totp_secret": demo_totp_secret(EMAIL),
        "article": ARTICLE,
        "articles": sorted({q.article.number for q in questions}),
        "questions": [
            {
                "code": q.code,
                "kind": q.kind,
                "article": q.article.number,
                "choices": [c.code for c in q.choices.all()],
                "sample": sample_value(q),
            }
            for q in questions
        ],
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "fixture.json").write_text(json.dumps(fixture, indent=1))
    print(f"prepared: response {response.pk}, {len(questions)} questions, {deleted} old answer rows removed")


def _captured(client: Client, name: str, method: str, url: str, data=None, expect=(200,)) -> int:
    with CaptureQueriesContext(connection) as captured:
        if method == "GET":
            page = client.get(url, HTTP_HOST=HOST)
        else:
            page = client.post(url, data, content_type="application/x-www-form-urlencoded", HTTP_HOST=HOST)
    if page.status_code not in expect:
        raise SystemExit(f"{name}: {method} {url} answered {page.status_code}, expected {expect}")
    sql = "\n".join(f"{i + 1:>3}. {q['sql']}" for i, q in enumerate(captured.captured_queries))
    (RESULTS_DIR / f"queries-{name}.sql").write_text(sql + "\n")
    return len(captured)


def queries() -> None:
    response = ghana_response()
    user = get_user_model().objects.get(username=EMAIL)
    client = signed_in_client(user)
    article_url = reverse("questionnaire:article", args=[response.pk, ARTICLE])
    client.get(article_url, HTTP_HOST=HOST)  # warm caches (translations, templates)
    counts = {"article_get": _captured(client, "article-get", "GET", article_url)}

    questions = [q for q in version_questions(response.version_id) if q.article.number == ARTICLE]
    fixture_q = {q["code"]: q for q in json.loads((RESULTS_DIR / "fixture.json").read_text())["questions"]}
    target = next(q for q in questions if q.kind == "long_text")
    save_url = reverse("questionnaire:answer_save", args=[response.pk, target.code])

    def stored():
        answer = Answer.objects.filter(response=response, question=target).first()
        return (answer.value, answer.revision) if answer else (None, 0)

    # Make sure an answer is stored, then post that same value again: "unchanged".
    value, rev = stored()
    if value is None:
        client.post(save_url, urllib.parse.urlencode(answer_data(fixture_q[target.code], 0) + [(f"rev-{target.code}", 0)]),
                    content_type="application/x-www-form-urlencoded", HTTP_HOST=HOST)
        value, rev = stored()
    counts["autosave_unchanged"] = _captured(
        client, "autosave-unchanged", "POST", save_url,
        urllib.parse.urlencode([(target.code, value), (f"rev-{target.code}", rev)]))
    changed = [(target.code, f"Query count probe {time.time()}"), (f"rev-{target.code}", rev)]
    counts["autosave_saved"] = _captured(client, "autosave-saved", "POST", save_url, urllib.parse.urlencode(changed))

    # The no-JS form POST of the whole page, every answer changed.
    page = client.get(article_url, HTTP_HOST=HOST).content.decode()
    questions_fx = [fixture_q[q.code] for q in questions]
    posted = page_post(form_fields(page), questions_fx, int(time.time()) % 1000 * 2 + 1)
    counts["form_post"] = _captured(client, "form-post", "POST", article_url, urllib.parse.urlencode(posted),
                                    expect=(302,))
    counts["form_post_questions"] = len(questions)

    # PBKDF2: what one sign-in costs (only at login, not per request).
    hasher = get_hasher()
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        assert check_password(DEMO_PASSWORD, user.password)
        times.append(time.perf_counter() - t0)
    counts["password_check_ms"] = round(statistics.median(times) * 1000, 1)
    counts["password_hasher"] = f"{hasher.algorithm}, {getattr(hasher, 'iterations', '?')} iterations"
    write_raw("queries", counts)
    print("query counts:", json.dumps(counts))


def costs() -> None:
    """What-ifs measured in process with the test client (no HTTP, no gunicorn), serially:
    one "unchanged" autosave as configured, and with the session not saved on every
    request (override_settings, inside this process only: nothing is changed)."""
    from django.test.utils import override_settings

    response = ghana_response()
    user = get_user_model().objects.get(username=EMAIL)
    client = signed_in_client(user)
    target = next(q for q in version_questions(response.version_id) if q.article.number == ARTICLE and q.kind == "long_text")
    answer = Answer.objects.get(response=response, question=target)
    url = reverse("questionnaire:answer_save", args=[response.pk, target.code])
    body = urllib.parse.urlencode([(target.code, answer.value), (f"rev-{target.code}", answer.revision)])

    def block(n: int) -> list[float]:
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            page = client.post(url, body, content_type="application/x-www-form-urlencoded", HTTP_HOST=HOST)
            times.append(time.perf_counter() - t0)
            assert page.status_code == 200, page.status_code
        return times

    block(20)
    as_is, without = [], []
    deadline = time.perf_counter() + 15
    for _ in range(4):  # interleaved, so that a change of machine load hits both alike
        if time.perf_counter() > deadline:
            break
        as_is += block(50)
        with override_settings(SESSION_SAVE_EVERY_REQUEST=False):
            without += block(50)
    result = {
        "autosave_unchanged_ms": round(statistics.median(as_is) * 1000, 2),
        "autosave_unchanged_no_session_save_ms": round(statistics.median(without) * 1000, 2),
        "n": len(as_is),
    }
    write_raw("costs", result)
    print("in-process costs:", json.dumps(result))


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    {"prepare": prepare, "queries": queries, "costs": costs}.get(command, lambda: sys.exit(f"unknown command {command!r}"))()
