"""The secretariat reads the audit log: filter, page through, export as CSV."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import content_disposition_header

from .export import audit_csv_lines
from .forms import AuditFilterForm
from .models import AuditEvent
from .selectors import audit_events
from .services import audit_record

PER_PAGE = 50
# "audit.view_log" is granted to the secretariat in parties/permissions.py (the
# roles live there; audit imports no other app). Unregistered, it is refused.
PERM = "audit.view_log"


def _require_reader(user) -> None:
    if not user.has_perm(PERM):
        raise PermissionDenied


@login_required
def event_list(request):
    _require_reader(request.user)
    form = AuditFilterForm(request.GET or None)
    page = Paginator(audit_events(**form.filters()), PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/event_list.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


@login_required
def event_export(request):
    _require_reader(request.user)
    form = AuditFilterForm(request.GET or None)
    filters = form.filters()
    audit_record(
        event=AuditEvent.Event.EXPORT_DOWNLOADED,
        actor=request.user,
        request=request,
        extra={"export": "audit_log", "format": "csv",
               "filters": {k: (v.pk if hasattr(v, "pk") else v) for k, v in filters.items() if v}},
    )
    events = audit_events(**filters).iterator(chunk_size=2000)
    filename = f"audit-log-{timezone.now():%Y-%m-%dT%H%M%SZ}.csv"
    response = StreamingHttpResponse(audit_csv_lines(events), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
