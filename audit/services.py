"""Recording audit events. Every other app calls ``audit_record`` (or
``audit_record_many``) from inside its own service's transaction: the event
commits with the business change, and a rolled-back change leaves no event.

Log injection (ASVS 16.4.1): values are stored as JSON data in their own columns,
never concatenated into a line of text; the CSV export neutralises formulas."""

from __future__ import annotations

import datetime
import decimal
import math
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from .context import current_request
from .models import AuditEvent

Event = AuditEvent.Event

# Answers can be a megabyte: the log keeps the start of a long text, the answer's
# own history keeps all of it.
MAX_TEXT = 2_000
TRUNCATED = " […]"
MAX_DEPTH = 8
MAX_ITEMS = 200
LABEL_MAX = AuditEvent._meta.get_field("actor_label").max_length
REPR_MAX = AuditEvent._meta.get_field("object_repr").max_length


def _text(value: str) -> str:
    # PostgreSQL refuses NUL in text and in JSON: a hostile login name must not turn
    # a failed sign-in into an error (or an unrecorded one).
    return value.replace("\x00", "\ufffd")


def json_safe(value: Any, *, depth: int = 0) -> Any:
    """``value`` as plain JSON data (str, int, float, bool, None, lists, dicts with
    string keys), long texts cut to MAX_TEXT characters with a visible marker."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)  # JSON has no NaN or infinity
    if isinstance(value, str):
        return _text(value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + TRUNCATED)
    if depth >= MAX_DEPTH:
        return TRUNCATED.strip()
    if isinstance(value, dict):
        items = list(value.items())
        out = {_text(str(k)[:MAX_TEXT]): json_safe(v, depth=depth + 1) for k, v in items[:MAX_ITEMS]}
        if len(items) > MAX_ITEMS:
            out[TRUNCATED.strip()] = len(items) - MAX_ITEMS
        return out
    if isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        out = [json_safe(v, depth=depth + 1) for v in items[:MAX_ITEMS]]
        if len(items) > MAX_ITEMS:
            out.append(TRUNCATED.strip())
        return out
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return {"type": value._meta.label_lower, "id": str(value.pk)}
    return json_safe(str(value), depth=depth)


def _label_of(user) -> str:
    if user is None:
        return ""
    return (getattr(user, "email", "") or user.get_username())[:LABEL_MAX]


def _ip_of(request) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is whatever the client says (ASVS 15.3.4).
    # Behind a trusted proxy, the proxy sets REMOTE_ADDR (e.g. gunicorn's forwarded_allow_ips).
    # A service is handed no request: the one being served, if any, tells where from.
    if request is None:
        request = current_request()
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def _state_id(state) -> int | None:
    if state is None:
        return None
    return state if isinstance(state, int) else state.pk


def audit_event(
    *,
    event: str,
    actor=None,
    state=None,
    obj: models.Model | None = None,
    old: Any = None,
    new: Any = None,
    request=None,
    actor_label: str = "",
    extra: dict | None = None,
    at: datetime.datetime | None = None,
    obj_repr: str = "",
) -> AuditEvent:
    """An unsaved event (for ``audit_record_many``): the same rules as ``audit_record``."""
    if event not in Event.values:
        raise ValueError(f"unknown audit event {event!r}")
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None  # AnonymousUser
    return AuditEvent(
        at=at or timezone.now(),
        event=event,
        actor=actor,
        actor_label=_text(actor_label or _label_of(actor))[:LABEL_MAX],
        state_id=_state_id(state),
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        object_repr=_text(obj_repr or (str(obj) if obj is not None else ""))[:REPR_MAX],
        old=json_safe(old),
        new=json_safe(new),
        ip=_ip_of(request),
        extra=json_safe(extra or {}),
    )


def audit_record(
    *,
    event: str,
    actor=None,
    state=None,
    obj: models.Model | None = None,
    old: Any = None,
    new: Any = None,
    request=None,
    actor_label: str = "",
    extra: dict | None = None,
    obj_repr: str = "",
) -> AuditEvent:
    """Record one event, in the caller's transaction."""
    record = audit_event(
        event=event, actor=actor, state=state, obj=obj, old=old, new=new, request=request,
        actor_label=actor_label, extra=extra, obj_repr=obj_repr,
    )
    # No savepoint: the event joins the caller's transaction and commits or rolls
    # back with it, at the cost of its one INSERT (a bad event code is refused above,
    # before the transaction is touched).
    with transaction.atomic(savepoint=False):
        record.save()
    return record


def audit_record_many(events: Iterable[AuditEvent]) -> list[AuditEvent]:
    """Several events (built by ``audit_event``) in one INSERT, in the caller's
    transaction: the whole-page save of answers records one event per answer changed
    at the cost of one statement."""
    events = list(events)
    if not events:
        return []
    with transaction.atomic(savepoint=False):
        if connection.vendor != "postgresql":
            return AuditEvent.objects.bulk_create(events)
        # One line of SQL: bulk_create's per-value preparation costs more than the
        # INSERT for the 52 events of an article page saved at once.
        fields = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]
        row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        params = [f.get_db_prep_save(getattr(event, f.attname), connection) for event in events for f in fields]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {AuditEvent._meta.db_table} ({', '.join(connection.ops.quote_name(f.column) for f in fields)}) "
                f"VALUES {', '.join([row] * len(events))}",
                params,
            )
        return events


def audit_download(
    *,
    request,
    export: str,
    fmt: str,
    obj: models.Model | None = None,
    state=None,
    event: str = Event.EXPORT_DOWNLOADED,
    **extra,
) -> AuditEvent:
    """A file sent to someone (``export``: what it is, ``fmt``: its format), or, with
    ``event=DOCUMENT_VIEWED``, a confidential document opened. Called by the view
    once the access check has passed, just before the file is sent."""
    return audit_record(
        event=event, actor=request.user, state=state, obj=obj, request=request,
        extra={"export": export, "format": fmt, **extra},
    )
