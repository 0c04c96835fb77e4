"""A real Celery worker, in its own process, on the real broker (Redis) and the
test database (PostgreSQL). Only the suite's own queue is consumed."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from config.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@contextlib.contextmanager
def running_worker(media_root, *, program: tuple[str, ...] = ("-m", "celery"), extra_env: dict | None = None):
    """A worker process (``program``: celery itself, or a module that wraps it) on a
    queue of its own, the test's database and media; this process's Celery sends
    to that queue, not eagerly, until the worker is stopped."""
    if not django_settings.REDIS_URL or connection.vendor != "postgresql":
        pytest.fail("The job tests need PostgreSQL and Redis: run them with `make test`.")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "MEDIA_ROOT": str(media_root),
        "CELERY_QUEUE": queue,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        **(extra_env or {}),
    }
    previous = celery_app.conf.task_default_queue, celery_app.conf.task_always_eager
    celery_app.conf.task_default_queue, celery_app.conf.task_always_eager = queue, False
    log = open(media_root.parent / "worker.log", "w+")
    worker = subprocess.Popen(
        [sys.executable, *program, "-A", "config", "worker", "-Q", queue, "--pool=solo", "-c", "1",
         "--without-gossip", "--without-mingle", "-l", "info"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    worker.log = log
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if "ready." in worker_log(worker) or worker.poll() is not None:
                break
            time.sleep(0.2)
        else:
            pytest.fail("the Celery worker did not start in 60 s")
        if worker.poll() is not None:
            pytest.fail("the Celery worker exited:\n" + worker_log(worker)[-3000:])
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        celery_app.conf.task_default_queue, celery_app.conf.task_always_eager = previous
        log.close()


@pytest.fixture
def celery_worker_process(transactional_db, media_root):
    with running_worker(media_root) as worker:
        yield worker


def worker_log(worker) -> str:
    worker.log.seek(0)
    return worker.log.read()


def wait_for(predicate, timeout: float = 60, what: str = "condition", worker=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    details = ""
    if worker is not None:
        details = "\nworker log:\n" + worker_log(worker)[-3000:]
    pytest.fail(f"timed out waiting for {what}{details}")
