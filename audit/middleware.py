"""Failed authorisations (ASVS 16.3.2): a signed-in person refused an action
(PermissionDenied, answered 403) is recorded with what they asked for. Objects
that the person may not even see answer 404 like any unknown address and are not
recorded: the access helpers cannot tell a probe from a stale link."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from .models import AuditEvent
from .services import audit_record


class RefusedAccessMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        user = getattr(request, "user", None)
        if isinstance(exception, PermissionDenied) and user is not None and user.is_authenticated:
            match = request.resolver_match
            audit_record(
                event=AuditEvent.Event.ACCESS_REFUSED,
                actor=user,
                request=request,
                # What was asked for, shown in the log's "Object" column.
                obj_repr=f"{request.method} {request.path} ({match.view_name if match else '?'})",
                extra={
                    "method": request.method,
                    "path": request.path[:500],
                    "view": match.view_name if match else "",
                    "arguments": {k: str(v)[:100] for k, v in (match.kwargs if match else {}).items()},
                },
            )
        return None  # Django still answers 403 as before
