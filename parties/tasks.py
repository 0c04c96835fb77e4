"""Periodic upkeep of people's sessions (CELERY_BEAT_SCHEDULE): thin, each calls one
service and is safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError, InterfaceError

from . import services

TRANSIENT = (DatabaseError, InterfaceError, ConnectionError, TimeoutError, OSError)


@shared_task(acks_late=True, autoretry_for=TRANSIENT, retry_backoff=2, retry_backoff_max=60, max_retries=5)
def clear_expired_sessions() -> int:
    return services.sessions_clear_expired()
