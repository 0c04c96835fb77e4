"""Faults on the real services, each test with servers of its own (a redis-server,
a PostgreSQL cluster) that it stops and starts; the app runs in gunicorn and the
jobs in a real Celery worker, as deployed.

- Redis stopped while people answer: autosave and the whole-page save still
  work, and a job requested meanwhile waits and runs once Redis is back.
- A worker killed (SIGKILL) in the middle of a report: once a worker runs
  again, the job completes, once.
- PostgreSQL restarted: the running app answers again without a restart."""

from __future__ import annotations

import datetime
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from questionnaire.models import Answer
from questionnaire.services import response_submit
from reviews.models import Job
from tests.factories import fill_required

from .conftest import ROOT, Browser, app_env, celery_worker, database_url, gunicorn, wait_until

pytestmark = [pytest.mark.worker]


def answers(response) -> dict[str, object]:
    return dict(Answer.objects.filter(response=response).values_list("question__code", "value"))


def revisions_of(page: str) -> str:
    found = re.search(r'name="revisions" value="([^"]*)"', page)
    assert found, "the article page has no revisions field"
    import html

    return html.unescape(found.group(1))


@pytest.fixture
def stack(transactional_db, tmp_path, own_redis):
    """gunicorn on the test database and the test's own Redis; a worker on demand."""
    job_queue = queue = f"faults-{uuid.uuid4().hex[:8]}"
    env = app_env(
        database=database_url(connection.settings_dict), redis=own_redis.url, media=tmp_path / "media", queue=queue,
        FP_SLOW_REPORT_SECONDS="60",
    )
    web, base = gunicorn(env, tmp_path / "gunicorn.log")
    started = [web]

    class Stack:
        redis = own_redis
        url = base
        queue = job_queue
        media = tmp_path / "media"

        def celery(self, *args):
            result = subprocess.run([sys.executable, "-m", "celery", "-A", "config", *args], cwd=ROOT, env=env,
                                    capture_output=True, text=True, timeout=60)
            assert result.returncode == 0, result.stderr[-2000:]
            return result.stdout

        def worker(self, **kwargs):
            log = tmp_path / f"worker-{len(started) + 1}.log"
            process = celery_worker(env, log, **kwargs)
            started.append(process)
            return process.start("ready.")

    try:
        web.start(lambda: _answers_http(base))
        yield Stack()
    finally:
        for process in reversed(started):
            process.stop()


def _answers_http(base: str) -> bool:
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(base + "/", timeout=2)
        return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def test_answers_save_while_redis_is_down_and_a_job_waits_for_it(stack, response_a, focal_point_a, review_a, secretariat):
    focal = Browser(stack.url, focal_point_a)
    article = reverse("questionnaire:article", args=[response_a.pk, 5])
    status, page, _ = focal.get(article)
    assert status == 200, page[:500]
    worker = stack.worker()  # runs through the outage

    stack.redis.stop()

    # Autosave of one answer, as htmx sends it.
    started = time.monotonic()
    status, body, _ = focal.post(
        reverse("questionnaire:answer_save", args=[response_a.pk, "FP-5.1.a.explanation"]),
        {"FP-5.1.a.explanation": "Typed while Redis is down", "rev-FP-5.1.a.explanation": "0"},
        headers={"HX-Request": "true"},
    )
    assert status == 200, body[:1000]
    assert time.monotonic() - started < 5
    assert answers(response_a)["FP-5.1.a.explanation"] == "Typed while Redis is down"

    # The whole page, saved with the button.
    status, page, _ = focal.get(article)
    assert status == 200, page[:1000]
    status, body, headers = focal.post(
        article,
        {"revisions": revisions_of(page), "FP-5.1.a.q3": "12", "FP-5.1.a.explanation": "Saved with the button"},
    )
    assert status == 302, body[:1000]
    assert answers(response_a)["FP-5.1.a.q3"] == 12
    assert answers(response_a)["FP-5.1.a.explanation"] == "Saved with the button"

    # A report requested now is accepted and waits (the broker cannot take it).
    staff = Browser(stack.url, secretariat)
    staff.get(reverse("reviews:jobs"))
    status, body, headers = staff.post(reverse("reviews:job_create"), {"kind": Job.Kind.CLUSTER_REPORT, "cycle": review_a.cycle_id})
    assert status == 302, body[:2000]
    job = Job.objects.get()
    assert job.status == Job.Status.QUEUED

    # Redis is back; the worker reconnects by itself. Beat's stalled-job sweep sends
    # the job again once it has waited 20 minutes (played here by ageing the row,
    # then sending the sweep task as beat does).
    stack.redis.start()
    wait_until(lambda: worker.log().count("Connected to redis://") >= 2, 60, "the worker to reconnect", worker.log_path)
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - datetime.timedelta(minutes=21))
    stack.celery("call", "reviews.tasks.requeue_stalled_jobs", "--queue", stack.queue)
    wait_until(lambda: Job.objects.get(pk=job.pk).status not in Job.ACTIVE, 60, "the job to run", worker.log_path)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.attempts == 1


def result_files(media: Path) -> list[Path]:
    return sorted(p for p in (media / "jobs").rglob("*") if p.is_file()) if (media / "jobs").exists() else []


@pytest.mark.parametrize("killed", ["worker", "pool process"])
def test_a_report_whose_worker_is_killed_completes_once_after_a_restart(killed, stack, review_a, focal_point_a, secretariat):
    """``worker``: the whole worker (solo pool) is SIGKILLed; ``pool process``: only
    the prefork child running the report is (what the kernel's OOM killer does),
    as in the deployment (prefork, docker-compose.yml)."""
    fill_required(review_a.response, focal_point_a)
    response_submit(response=review_a.response, by=focal_point_a)
    slow = stack.worker(slow=True, pool="solo" if killed == "worker" else "prefork")
    staff = Browser(stack.url, secretariat)
    staff.get(reverse("reviews:jobs"))
    status, body, _ = staff.post(reverse("reviews:job_create"), {"kind": Job.Kind.CLUSTER_REPORT, "cycle": review_a.cycle_id})
    assert status == 302, body[:2000]
    job = Job.objects.get()
    wait_until(lambda: Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, progress=10).exists(), 30,
               "the report to start", slow.log_path)

    if killed == "worker":
        slow.kill()  # SIGKILL in the middle of the report: no clean-up, no ack
    else:
        children = subprocess.run(["pgrep", "-P", str(slow.process.pid)], capture_output=True, text=True).stdout.split()
        assert len(children) == 1, children
        os.kill(int(children[0]), 9)
        time.sleep(3)  # the worker notices its lost child
        slow.kill()

    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING and job.attempts == 1
    assert result_files(stack.media) == []

    # A worker runs again. The broker keeps the unacknowledged message for its
    # visibility timeout (1 hour); beat's stalled-job sweep sends the job again
    # once its heartbeat is 20 minutes old (played by ageing it, then sending the
    # sweep as beat does).
    worker = stack.worker()
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - datetime.timedelta(minutes=21))
    stack.celery("call", "reviews.tasks.requeue_stalled_jobs", "--queue", stack.queue)
    wait_until(lambda: Job.objects.get(pk=job.pk).status not in Job.ACTIVE, 60, "the job to complete", worker.log_path)

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.attempts == 2 and job.progress == 100
    assert len(result_files(stack.media)) == 1

    # The first message, redelivered when its visibility timeout ends, changes nothing.
    finished = job.finished_at
    stack.celery("call", "reviews.tasks.run_job", "--args", f"[{job.pk}]", "--queue", stack.queue)
    wait_until(lambda: "already finished" in worker.log(), 30, "the redelivery to be handled", worker.log_path)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.finished_at == finished and job.attempts == 2
    assert len(result_files(stack.media)) == 1


def test_the_app_recovers_from_a_postgresql_restart_without_restarting(
    transactional_db, tmp_path, own_postgres, focal_point_a, response_a
):
    # The test database (its schema, a focal point and their session) copied into
    # a cluster of this test's own, which it then restarts.
    web_env = app_env(database=own_postgres.url("fp_faults"), redis="", media=tmp_path / "media", queue="unused")
    web, base = gunicorn(web_env, tmp_path / "gunicorn.log")
    focal = Browser(base, focal_point_a)
    own_postgres.psql("postgres", "CREATE DATABASE fp_faults")
    db = connection.settings_dict
    dump = subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", "-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432),
         "-U", db["USER"], db["NAME"]],
        env={**os.environ, "PGPASSWORD": db["PASSWORD"]}, capture_output=True, timeout=60, check=True,
    ).stdout
    subprocess.run(
        ["pg_restore", "--no-owner", "-h", "127.0.0.1", "-p", str(own_postgres.port), "-U", "fp", "-d", "fp_faults"],
        input=dump, capture_output=True, timeout=60, check=True,
    )
    try:
        web.start(lambda: _answers_http(base))
        article = reverse("questionnaire:article", args=[response_a.pk, 5])
        status, page, _ = focal.get(article)
        assert status == 200, page[:500]
        # gunicorn's worker now holds a persistent connection (CONN_MAX_AGE). A
        # restart with no request in between: the very next request, on the same
        # worker, must not fail — the health check (CONN_HEALTH_CHECKS) drops the
        # dead connection and opens a new one.
        own_postgres.stop()
        own_postgres.start()
        status, page, _ = focal.get(article)
        assert status == 200, page[:1000]

        # While the database is down, pages fail at once (no hang); then they work again.
        own_postgres.stop()
        started = time.monotonic()
        status, _, _ = focal.get(article)
        assert status == 500 and time.monotonic() - started < 15
        own_postgres.start()
        status, page, _ = focal.get(article)
        assert status == 200, page[:1000]
        status, body, _ = focal.post(
            reverse("questionnaire:answer_save", args=[response_a.pk, "FP-5.1.a.explanation"]),
            {"FP-5.1.a.explanation": "Saved after the restart", "rev-FP-5.1.a.explanation": "0"},
        )
        assert status == 200, body[:1000]
        assert own_postgres.psql("fp_faults", "SELECT count(*) FROM questionnaire_answer") == "1"
        assert web.process.poll() is None
    finally:
        web.stop()



@pytest.fixture
def cache_on_own_redis(settings, own_redis, monkeypatch):
    """The test process's default cache on the test's Redis."""
    from config import cache as resilient

    monkeypatch.setattr(resilient, "SKIP_SECONDS", 0.5)
    resilient._stale.clear()
    resilient._state["skip_until"] = 0.0
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": own_redis.url,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        },
    }
    yield own_redis
    resilient._stale.clear()


def test_an_entry_deleted_while_redis_is_unreachable_does_not_come_back(transactional_db, cache_on_own_redis):
    # Presence notes, for one: "nobody else is editing" must not turn back into a name.
    from django.core.cache import cache

    cache.set("presence:answer:1", "Kofi", 60)
    assert cache.get("presence:answer:1") == "Kofi"

    cache_on_own_redis.refuse_clients()  # unreachable, but keeping its data
    cache.delete("presence:answer:1")  # cannot reach Redis: remembered as stale
    assert cache.get("presence:answer:1") is None  # a miss meanwhile, not an error

    cache_on_own_redis.accept_clients()
    time.sleep(0.6)
    # Redis answers again with the old entry still in it: it is deleted before
    # anything is read, so it stays gone.
    assert cache.get("presence:answer:1") is None
    import redis

    assert redis.Redis.from_url(cache_on_own_redis.url).get(cache.make_key("presence:answer:1")) is None


def test_sessions_do_not_depend_on_redis(transactional_db, cache_on_own_redis, focal_point_a):
    """Sessions are in the database alone: signing in, reading the session and signing
    out all work while Redis is unreachable, and an ended session stays ended after."""
    from django.contrib.auth import SESSION_KEY

    from config.sessions import SessionStore

    cache_on_own_redis.refuse_clients()
    session = SessionStore()
    session[SESSION_KEY] = str(focal_point_a.pk)
    session.save()
    key = session.session_key
    assert SessionStore(session_key=key).load()[SESSION_KEY] == str(focal_point_a.pk)
    session.flush()
    cache_on_own_redis.accept_clients()
    time.sleep(0.6)
    assert SessionStore(session_key=key).load() == {}


def test_a_hung_redis_costs_one_timeout_not_one_per_call(transactional_db, cache_on_own_redis):
    from django.core.cache import cache

    cache.set("note", "kept")
    cache_on_own_redis.pause()  # SIGSTOP: connections accepted by the kernel, never answered
    started = time.monotonic()
    for _ in range(20):
        assert cache.get("note") is None
    assert time.monotonic() - started < 3  # one socket timeout (1 s), then misses
    cache_on_own_redis.resume()
    time.sleep(0.6)
    assert cache.get("note") == "kept"


def test_a_job_asked_for_while_redis_hangs_does_not_hang_the_request(stack, review_a, secretariat):
    worker = stack.worker()
    staff = Browser(stack.url, secretariat)
    staff.get(reverse("reviews:jobs"))
    stack.redis.pause()  # SIGSTOP: the broker (and cache) accepts connections and never answers
    started = time.monotonic()
    try:
        status, body, _ = staff.post(
            reverse("reviews:job_create"), {"kind": Job.Kind.CLUSTER_REPORT, "cycle": review_a.cycle_id}, timeout=60
        )
        elapsed = time.monotonic() - started
    finally:
        stack.redis.resume()
    assert status == 302, body[:2000]
    assert elapsed < 20, elapsed
    job = Job.objects.get()
    assert job.status == Job.Status.QUEUED
    # Redis, resumed, may still take the message it had been sent; the sweep sends
    # the job again anyway once it has waited 20 minutes. It runs once either way.
    Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(created_at=timezone.now() - datetime.timedelta(minutes=21))
    stack.celery("call", "reviews.tasks.requeue_stalled_jobs", "--queue", stack.queue)
    wait_until(lambda: Job.objects.get(pk=job.pk).status not in Job.ACTIVE, 60, "the job to run", worker.log_path)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.attempts == 1, (job.status, job.attempts, job.error)
