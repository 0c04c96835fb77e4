"""The hot paths' fixed statements (the user of every request, the response reads and
locks of a save, the answering page's versions), prepared once per database
connection on PostgreSQL (SQL ``PREPARE`` / ``EXECUTE``; psycopg2 has no protocol-level
prepared statements).

Why: the statements are simple lookups by key, but PostgreSQL parses, analyses and plans
each one from its text every time. Measured with pgbench on the benchmark database, the
signed-in user with its roles and an autosave's response + answer take 0.49 ms as text
and 0.12 ms prepared: on the hot path that planning was most of the database's work.

Safe by construction:
- a name is derived from the statement's text, so code that changes a statement
  prepares a new one (old names stay unused in old connections);
- the registry of what a connection has prepared lives on that connection
  (config.postgresql's ``connect()`` starts a new one), and ``PREPARE`` survives a rolled-back
  transaction, so the registry never names a statement the session lacks, except
  when someone else removed it (``DISCARD ALL``, a pooler's server reset) or a
  migration changed the type of a column it returns ("cached plan must not change
  result type"): then it is prepared again under a new name, at once when no
  transaction is open, at the next use otherwise (the error aborted the transaction);
- ``PREPARE`` goes through the raw cursor: it is the connection's set-up, like the
  time zone Django sets, and not one of the request's queries (query budgets count
  the ``EXECUTE``; a captured query reads ``EXECUTE fp_user_roles_…(2)``);
- a typed parameter refuses a value its column cannot hold (an id beyond a bigint)
  where the text found nothing: callers check such input first
  (``questionnaire.permissions.get_response_for_user``).

Off with ``DJANGO_DB_PREPARED_STATEMENTS=false``: needed behind a pooler in
transaction mode (PgBouncer ``pool_mode = transaction``), where consecutive
statements of one client may run in different server sessions. Other databases
(SQLite in development) always run the text."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import DatabaseError

# "prepared statement does not exist", "cached plan must not change result type".
_PREPARE_AGAIN = {"26000", "0A000"}


def execute(cursor, *, name: str, sql: str, params: list) -> None:
    """``cursor.execute(sql, params)``, prepared on PostgreSQL. ``sql`` uses ``%s``
    placeholders only (no other ``%``), each parameter a plain value."""
    connection = cursor.db
    # Only config.postgresql keeps the registry (SQLite runs the text).
    if not settings.DB_PREPARED_STATEMENTS or not hasattr(connection, "prepared_statements"):
        cursor.execute(sql, params)
        return
    try:
        _execute_prepared(cursor, name, sql, params)
    except (DatabaseError, connection.Database.Error) as exc:
        # Django re-raises the driver's error as its own, the driver's as the cause.
        if (getattr(exc, "pgcode", None) or getattr(exc.__cause__, "pgcode", None)) not in _PREPARE_AGAIN:
            raise
        # A new name: the old one may still exist in the session, unusable.
        connection.prepared_statements.pop(sql, None)
        connection.prepared_generation += 1
        if connection.in_atomic_block:
            raise
        _execute_prepared(cursor, name, sql, params)


def _execute_prepared(cursor, name: str, sql: str, params: list) -> None:
    connection = cursor.db
    statement = connection.prepared_statements.get(sql)
    if statement is None:
        digest = hashlib.sha1(sql.encode(), usedforsecurity=False).hexdigest()[:12]
        statement = f"fp_{name}_{digest}_{connection.prepared_generation}"
        first, *rest = sql.split("%s")
        numbered = first + "".join(f"${i}{part}" for i, part in enumerate(rest, start=1))
        cursor.cursor.execute(f"PREPARE {statement} AS {numbered}")
        connection.prepared_statements[sql] = statement
    arguments = f"({', '.join(['%s'] * len(params))})" if params else ""
    cursor.execute(f"EXECUTE {statement}{arguments}", params)

