"""The audit log as CSV, streamed: one row per event, UTC ISO timestamps, every
text cell neutralised against formula injection.

The rule is reviews/exports/cells.py's ``safe_cell``, repeated here because the
audit app sits below every other app and imports none of them."""

from __future__ import annotations

import csv
import datetime
import io
import json
from collections.abc import Iterable, Iterator

from django.utils.translation import gettext as _

from .models import AuditEvent

BOM = "\ufeff"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 2000


def safe_cell(value) -> str:
    """A leading character that would start a formula gets an apostrophe (OWASP CSV injection)."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES):
        text = "'" + text
    return text


def _json(value) -> str:
    return "" if value is None or value == {} else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _row(e: AuditEvent) -> list[str]:
    return [safe_cell(v) for v in (
        e.at.astimezone(datetime.UTC).isoformat(),
        e.event,
        e.get_event_display(),
        e.actor_label,
        e.actor_id or "",
        e.state.iso3 if e.state_id else "",
        e.object_type,
        e.object_id,
        e.object_repr,
        _json(e.old),
        _json(e.new),
        e.ip or "",
        _json(e.extra),
    )]


def _encode(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def audit_csv_lines(events: Iterable[AuditEvent]) -> Iterator[bytes]:
    header = [_("Time (UTC)"), _("Event code"), _("Event"), _("Actor"), _("Actor id"), _("State"),
              _("Object type"), _("Object id"), _("Object"), _("Old value"), _("New value"), _("IP address"),
              _("Details")]
    # The byte-order mark makes Excel read UTF-8 (as the cycle CSV does).
    yield BOM.encode() + _encode([header])
    batch: list[list[str]] = []
    for event in events:
        batch.append(_row(event))
        if len(batch) >= CHUNK:
            yield _encode(batch)
            batch = []
    if batch:
        yield _encode(batch)
