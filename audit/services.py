"""Recording audit events. Every other app calls ``audit_record`` (or
``audit_record_changes``) from inside its own service's transaction: the event
commits with the business change, and a rolled-back change leaves no event.

Log injection (ASVS 16.4.1): values are stored as JSON data in their own columns,
never concatenated into a line of text; the CSV export neutralises formulas."""

from __future__ import annotations

import datetime
import decimal
import functools
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.db import connection, models, transaction
from django.utils import timezone

from config.sql import json_param

from .context import current_request
from .models import AuditEvent

Event = AuditEvent.Event
# TextChoices.values is computed at each access; the check runs for every event.
EVENT_CODES = frozenset(Event.values)

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


def _check_event(event: str) -> None:
    if event not in EVENT_CODES:
        raise ValueError(f"unknown audit event {event!r}")


def _actor(actor):
    if actor is not None and not getattr(actor, "is_authenticated", False):
        return None  # AnonymousUser
    return actor


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
    """An unsaved event: the rules of every event recorded."""
    _check_event(event)
    actor = _actor(actor)
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


class Change(NamedTuple):
    """One object changed by an action recorded with ``audit_record_changes``."""

    obj: models.Model
    old: Any
    new: Any
    obj_repr: str = ""
    extra: dict | None = None


# Per event, only these differ; the others are the action's (one actor, State, time).
_PER_CHANGE = ("object_type", "object_id", "object_repr", "old", "new", "extra")
_SHARED = ("at", "event", "actor_id", "actor_label", "state_id", "ip")


@dataclass(frozen=True)
class _InsertPlan:
    into: str  # INSERT INTO table (columns)
    row: str  # the placeholders of one row
    # (column's attname, JSON field or None, whether the action's and not the change's)
    columns: tuple[tuple[str, models.JSONField | None, bool], ...]


@functools.cache
def _insert_plan() -> _InsertPlan:
    fields = tuple(f for f in AuditEvent._meta.concrete_fields if not f.primary_key)
    known = {*_SHARED, *_PER_CHANGE}
    if {f.attname for f in fields} != known:
        # A column added to AuditEvent must be given a value here, not left to chance.
        raise RuntimeError("audit_record_changes does not know every column of AuditEvent")
    quote = connection.ops.quote_name
    json_of = {f.attname: f for f in fields if isinstance(f, models.JSONField)}
    return _InsertPlan(
        into=f"INSERT INTO {quote(AuditEvent._meta.db_table)} ({', '.join(quote(f.column) for f in fields)})",
        row="(" + ", ".join("%s::jsonb" if f.attname in json_of else "%s" for f in fields) + ")",
        columns=tuple((f.attname, json_of.get(f.attname), f.attname in _SHARED) for f in fields),
    )


def audit_record_changes(
    *,
    event: str,
    actor,
    state,
    changes: Sequence[Change],
    at: datetime.datetime | None = None,
    request=None,
) -> int:
    """One event per object changed by one action (the whole-page save of answers:
    one per answer), in one INSERT, in the caller's transaction. The same rules as
    ``audit_record``; returns the number of events recorded.

    The events are not built as model instances on PostgreSQL: for the 52 answers
    of an article page saved at once, instances and bulk_create's per-value
    preparation cost several times the INSERT (and, for one autosave, the
    statement's text built again was a fifth of the save). The JSON columns are
    sent as JSON text (``json_param``), the others as plain values."""
    if not changes:
        return 0
    _check_event(event)
    actor = _actor(actor)
    shared = {
        "at": at or timezone.now(),
        "event": event,
        "actor_id": actor.pk if actor is not None else None,
        "actor_label": _text(_label_of(actor))[:LABEL_MAX],
        "state_id": _state_id(state),
        "ip": _ip_of(request),
    }
    rows = [
        {
            "object_type": change.obj._meta.label_lower,
            "object_id": str(change.obj.pk) if change.obj.pk is not None else "",
            "object_repr": _text(change.obj_repr or str(change.obj))[:REPR_MAX],
            "old": json_safe(change.old),
            "new": json_safe(change.new),
            "extra": json_safe(change.extra or {}),
        }
        for change in changes
    ]
    with transaction.atomic(savepoint=False):
        if connection.vendor != "postgresql":
            AuditEvent.objects.bulk_create([AuditEvent(**shared, **row) for row in rows])
            return len(rows)
        plan = _insert_plan()
        # The action's values are plain (an aware datetime, texts, ids, an address
        # PostgreSQL casts to inet); JSON goes as JSON text, cast by the placeholder.
        params: list[Any] = []
        for row in rows:
            for name, json_field, is_shared in plan.columns:
                if is_shared:
                    params.append(shared[name])
                elif json_field is not None:
                    params.append(json_param(json_field, row[name]))
                else:
                    params.append(row[name])
        with connection.cursor() as cursor:
            cursor.execute(f"{plan.into} VALUES {', '.join([plan.row] * len(rows))}", params)
        return len(rows)


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
