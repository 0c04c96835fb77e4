"""Celery tasks: thin. They take ids, call one service and let the Job row record
what happened. Enqueued after commit (delay_on_commit), acknowledged late and
safe to run twice (the service claims the job with a conditional update)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import DatabaseError, InterfaceError

from questionnaire.offline import pending_cleanup

from . import services

log = logging.getLogger(__name__)
TRANSIENT = (DatabaseError, InterfaceError, ConnectionError, TimeoutError, OSError)


def _on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
    services.job_fail(job_id=args[0], error=f"{type(exc).__name__}: {exc}")


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=5,
    on_failure=_on_failure,
)
def run_job(self, job_id: int) -> str:
    job = services.job_execute(job_id=job_id)
    return "done" if job else "already finished"


@shared_task
def requeue_stalled_jobs() -> int:
    return len(services.jobs_requeue_stalled())


@shared_task(acks_late=True, autoretry_for=TRANSIENT, retry_backoff=2, retry_backoff_max=60, max_retries=5)
def cleanup_offline_uploads() -> int:
    """Periodic (CELERY_BEAT_SCHEDULE): delete offline uploads never confirmed
    within 2 hours. Idempotent: a second run finds nothing more to delete."""
    return pending_cleanup()


@shared_task(acks_late=True, autoretry_for=TRANSIENT, retry_backoff=2, retry_backoff_max=60, max_retries=5)
def send_deadline_reminders() -> int:
    """Periodic (CELERY_BEAT_SCHEDULE): safe to run twice, each reminder is sent once."""
    from .services_workflow import reminders_send

    return reminders_send()
