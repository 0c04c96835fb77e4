"""The health check of persistent PostgreSQL connections (config/postgresql):
a connection in use is known alive without a query; one the server ended, or
one not checked for a while, gets Django's full check (SELECT 1)."""

from __future__ import annotations

import select
import time

import pytest
from django.db import connections

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def own_connection():
    """A connection of the test's own (not the test's transaction), health-checked
    as in a deployment."""
    conn = connections.create_connection("default")
    conn.health_check_enabled = True
    conn.ensure_connection()
    yield conn
    conn.close()


def _full_checks(conn, monkeypatch) -> list[bool]:
    calls = []
    real = conn.is_usable

    def counted():
        calls.append(True)
        return real()

    monkeypatch.setattr(conn, "is_usable", counted)
    return calls


def _backend_pid(conn) -> int:
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_the_backend_is_in_use():
    assert type(connections["default"]).__module__ == "config.postgresql.base"


def test_a_connection_in_use_is_checked_without_a_query(own_connection, monkeypatch):
    full_checks = _full_checks(own_connection, monkeypatch)
    pid = _backend_pid(own_connection)
    for _ in range(3):  # three requests in a row
        own_connection.health_check_done = False
        own_connection.close_if_health_check_failed()
    assert full_checks == []
    assert own_connection.connection is not None and _backend_pid(own_connection) == pid


def test_a_connection_the_server_ended_is_replaced_before_the_next_query(own_connection, monkeypatch):
    full_checks = _full_checks(own_connection, monkeypatch)
    pid = _backend_pid(own_connection)
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    # The server's notice and the closed socket arrive on the idle connection.
    assert select.select([own_connection.connection.fileno()], [], [], 5)[0]
    own_connection.health_check_done = False
    own_connection.close_if_health_check_failed()
    assert full_checks == [True]
    assert own_connection.connection is None
    assert _backend_pid(own_connection) != pid  # the next query opens a new connection


def test_a_connection_not_checked_for_a_while_gets_the_full_check(own_connection, monkeypatch):
    full_checks = _full_checks(own_connection, monkeypatch)
    own_connection._fully_checked_at = time.monotonic() - own_connection.FULL_CHECK_AFTER_SECONDS - 1
    own_connection.health_check_done = False
    own_connection.close_if_health_check_failed()
    assert full_checks == [True]
    assert own_connection.connection is not None
    # Checked now: the next request is not checked again.
    own_connection.health_check_done = False
    own_connection.close_if_health_check_failed()
    assert full_checks == [True]
