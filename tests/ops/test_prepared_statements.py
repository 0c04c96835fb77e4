"""The hot path's statements prepared once per connection (config/prepared.py), on
real PostgreSQL: the same rows as the text, one PREPARE per database session, and
recovery when the session lost the statement or a migration changed what it returns."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connections
from django.test.utils import CaptureQueriesContext

from config import prepared
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

SQL = "SELECT id, code FROM test_prepared WHERE id = %s AND code = %s"


@pytest.fixture
def own_connection():
    """A connection of the test's own, with a table of its own (TEMP: this session only)."""
    conn = connections.create_connection("default")
    conn.ensure_connection()
    with conn.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE test_prepared (id integer, code text)")
        cursor.execute("INSERT INTO test_prepared VALUES (1, 'FP-5.1'), (2, 'FP-5.2')")
    yield conn
    conn.close()


def _run(conn, *params):
    with conn.cursor() as cursor:
        prepared.execute(cursor, name="test", sql=SQL, params=list(params))
        return cursor.fetchall()


def _prepared_in_session(conn) -> list[str]:
    with conn.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements WHERE name LIKE 'fp\\_test\\_%%' ORDER BY name")
        return [row[0] for row in cursor.fetchall()]


def test_the_rows_are_those_of_the_text_and_the_statement_is_prepared_once(own_connection):
    assert _run(own_connection, 1, "FP-5.1") == [(1, "FP-5.1")]
    assert _run(own_connection, 2, "FP-5.2") == [(2, "FP-5.2")]
    assert _run(own_connection, 2, "FP-5.1") == []
    # Quotes in a parameter are a value, not SQL.
    assert _run(own_connection, 1, "x' OR '1'='1") == []
    assert len(_prepared_in_session(own_connection)) == 1


def test_only_the_execute_is_one_of_the_queries(own_connection):
    with CaptureQueriesContext(own_connection) as first:
        _run(own_connection, 1, "FP-5.1")
    with CaptureQueriesContext(own_connection) as second:
        _run(own_connection, 1, "FP-5.1")
    assert len(first) == len(second) == 1
    assert first[0]["sql"].startswith("EXECUTE fp_test_")


def test_a_rolled_back_transaction_keeps_the_statement(own_connection):
    # Prepared inside a transaction that is then rolled back: PREPARE is not
    # transactional, so the registry still names a statement the session has.
    own_connection.set_autocommit(False)
    _run(own_connection, 1, "FP-5.1")
    own_connection.rollback()
    own_connection.set_autocommit(True)
    assert _run(own_connection, 1, "FP-5.1") == [(1, "FP-5.1")]
    assert len(_prepared_in_session(own_connection)) == 1


def test_a_session_that_lost_the_statement_prepares_it_again(own_connection):
    _run(own_connection, 1, "FP-5.1")
    with own_connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # what a pooler's server reset (DISCARD ALL) does
    assert _run(own_connection, 1, "FP-5.1") == [(1, "FP-5.1")]
    assert len(_prepared_in_session(own_connection)) == 1


def test_a_changed_result_type_is_prepared_again_under_a_new_name(own_connection):
    _run(own_connection, 1, "FP-5.1")
    with own_connection.cursor() as cursor:
        cursor.execute("ALTER TABLE test_prepared ALTER COLUMN id TYPE bigint")
    assert _run(own_connection, 1, "FP-5.1") == [(1, "FP-5.1")]
    names = _prepared_in_session(own_connection)
    assert len(names) == 2 and names[0].rsplit("_", 1)[0] == names[1].rsplit("_", 1)[0]


def test_inside_a_transaction_the_error_is_raised_and_the_next_use_recovers(own_connection):
    _run(own_connection, 1, "FP-5.1")
    with own_connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    own_connection.set_autocommit(False)
    own_connection.in_atomic_block = True  # as inside transaction.atomic()
    try:
        with pytest.raises(DatabaseError):
            _run(own_connection, 1, "FP-5.1")
    finally:
        own_connection.in_atomic_block = False
        own_connection.rollback()
        own_connection.set_autocommit(True)
    assert _run(own_connection, 1, "FP-5.1") == [(1, "FP-5.1")]


def test_a_new_connection_starts_with_nothing_prepared(own_connection):
    _run(own_connection, 1, "FP-5.1")
    own_connection.close()
    own_connection.ensure_connection()
    assert own_connection.prepared_statements == {}
    with own_connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE test_prepared (id integer, code text)")
        cursor.execute("INSERT INTO test_prepared VALUES (1, 'FP-5.1')")
    assert _run(own_connection, 1, "FP-5.1") == [(1, "FP-5.1")]


def test_switched_off_the_text_runs(own_connection, settings):
    settings.DB_PREPARED_STATEMENTS = False
    with CaptureQueriesContext(own_connection) as queries:
        assert _run(own_connection, 1, "FP-5.1") == [(1, "FP-5.1")]
    assert queries[0]["sql"].startswith("SELECT id, code FROM test_prepared")
    assert _prepared_in_session(own_connection) == []


def test_the_user_of_a_request_and_its_roles_come_from_a_prepared_statement():
    """The statement every signed-in request runs (config.auth), through the backend."""
    from config.auth import AuthenticationBackend

    membership = MembershipFactory()
    outsider = UserFactory()
    conn = connections["default"]
    conn.close()  # a new session: nothing prepared yet
    user = AuthenticationBackend().get_user(membership.user_id)
    assert user.pk == membership.user_id
    assert AuthenticationBackend().get_user(outsider.pk).pk == outsider.pk
    with conn.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'fp\\_user\\_roles\\_%%'")
        assert cursor.fetchone()[0] == 1
