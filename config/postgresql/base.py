"""Django's PostgreSQL backend with a health check of persistent connections
that costs no round trip while the connection is busy.

Django's check (CONN_HEALTH_CHECKS) sends ``SELECT 1`` before the first query
of every request: on this platform's hot path, an autosave of a few milliseconds,
that was one database round trip in six, and a sixth of PostgreSQL's work.

A server that goes away (restart, failover, an administrator ending the backend)
writes a termination notice and closes the socket, so an idle connection whose
socket has something to read is suspect: it then gets Django's full check, as
does a connection that has not been checked for ``FULL_CHECK_AFTER_SECONDS``
(a silent network drop leaves nothing to read). Any other connection is known
alive by a zero-timeout ``select()`` on its socket."""

from __future__ import annotations

import select
import time

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    FULL_CHECK_AFTER_SECONDS = 10.0

    _fully_checked_at = 0.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # config.prepared: SQL text -> name of the statement prepared in this
        # connection's database session; the generation renames after a failure.
        self.prepared_statements: dict[str, str] = {}
        self.prepared_generation = 0

    def connect(self):
        super().connect()
        # A new database session: nothing is prepared in it yet.
        self.prepared_statements = {}
        self._fully_checked_at = time.monotonic()

    def close_if_health_check_failed(self):
        if self.connection is None or not self.health_check_enabled or self.health_check_done or self.pool:
            return
        now = time.monotonic()
        if self._socket_has_news() or now - self._fully_checked_at >= self.FULL_CHECK_AFTER_SECONDS:
            if not self.is_usable():
                self.close()
                return
            self._fully_checked_at = now
        self.health_check_done = True

    def _socket_has_news(self) -> bool:
        """Whether the server sent anything while no query was running (between
        requests nothing is expected: this platform uses no LISTEN/NOTIFY)."""
        try:
            readable, _, _ = select.select([self.connection.fileno()], [], [], 0)
        except (OSError, ValueError, base.Database.Error):
            return True
        return bool(readable)
