"""Who is acting, for the events recorded by signal receivers (a role changed in
the admin, an account disabled), where no service hands the actor over.

The request of the moment is the one django-simple-history's middleware
(HistoryRequestMiddleware, in settings) already keeps for the answer history; no
request (a shell, a command, a task): no actor, which the log shows as such."""

from __future__ import annotations

from simple_history.models import HistoricalRecords


def current_request():
    return getattr(HistoricalRecords.context, "request", None)


def current_actor():
    request = current_request()
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None
