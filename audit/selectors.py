"""Reading the audit log."""

from __future__ import annotations

import datetime

from django.db.models import QuerySet

from .models import AuditEvent


def audit_events(
    *,
    event: str | None = None,
    state=None,
    actor: str | None = None,
    object_type: str | None = None,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
) -> QuerySet[AuditEvent]:
    """The events matching every filter given, newest first. ``actor`` matches the
    login name recorded at the time (part of it, any case); the dates are UTC days,
    both included."""
    events = AuditEvent.objects.select_related("state")
    if event:
        events = events.filter(event=event)
    if state is not None:
        events = events.filter(state=state)
    if actor:
        events = events.filter(actor_label__icontains=actor)
    if object_type:
        events = events.filter(object_type=object_type)
    if date_from:
        events = events.filter(at__gte=_utc_midnight(date_from))
    if date_to:
        events = events.filter(at__lt=_utc_midnight(date_to + datetime.timedelta(days=1)))
    return events.order_by("-at", "-pk")


def _utc_midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)
