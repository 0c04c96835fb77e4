"""The session engine (``SESSION_ENGINE = "config.sessions"``): Django's database
sessions, in a table whose rows also name the person signed in
(parties.models.SignInSession), so that one prepared statement reads a request's
session, that person and their active roles.

Why not Redis (``cached_db``) as before: every signed-in request, autosave included,
read its session from Redis and then its user from PostgreSQL: two round trips and two
client libraries where one statement does. Measured in process on the benchmark
(bench/README.md, "Findings of 2026-12-02, late session"), the Redis read was the costliest single
step of an unchanged autosave. Keeping sessions in PostgreSQL alone also means a
session ended is ended everywhere at once: no cache entry can outlive it.

How the user reaches ``django.contrib.auth``: :func:`get_user` (our
AuthenticationMiddleware's) makes the request's session store the current one while
``django.contrib.auth.get_user`` runs, and config.auth's backend takes the rows that
store read when they are of the user id the session names, under the session key they
were read with; otherwise (a session read outside a request, allauth's checks of
other sessions) the backend reads the user itself. Django's ``get_user`` still does
the rest: the backend must be a configured one, the user active, and the session's
hash must match the user's password, so a password change still ends other sessions.
"""

from __future__ import annotations

import contextvars
import functools
import string

from django.conf import settings
from django.contrib import auth
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.core import signing
from django.db import connections, router
from django.utils import timezone

from config import prepared

# Django's keys are 32 characters of these (SessionBase._get_new_session_key); the column
# holds 40. Anything else in a cookie is somebody's invention: no session, no query (a
# NUL, say, would make the driver raise instead of finding nothing).
_KEY_CHARACTERS = frozenset(string.ascii_lowercase + string.digits)
_KEY_MAX_LENGTH = 40

_VERIFIED_MAX = 4096  # sessions whose data a process keeps verified (~1 KB each)
_verified_payloads: dict[tuple[str, str], bytes] = {}


class _Verified:
    """A serializer for ``signing.loads`` that returns the verified bytes as they are."""

    def loads(self, data: bytes) -> bytes:
        return data


_store_of_request: contextvars.ContextVar[SessionStore | None] = contextvars.ContextVar(
    "fp_session_of_request", default=None
)


class SessionStore(DBStore):
    def __init__(self, session_key=None):
        super().__init__(session_key)
        # (session key, user id as text, rows of the user's columns and roles) of the last read.
        self._signed_in: tuple[str, str, list[tuple]] | None = None

    @classmethod
    def get_model_class(cls):
        from parties.models import SignInSession

        return SignInSession

    def _validate_session_key(self, key):
        return bool(key) and 8 <= len(key) <= _KEY_MAX_LENGTH and _KEY_CHARACTERS.issuperset(key)

    def create_model_instance(self, data):
        row = super().create_model_instance(data)
        row.user_id = _user_id(data.get(auth.SESSION_KEY))
        return row

    def load(self):
        from config.auth import user_id_of_rows

        self._signed_in = None
        key = self.session_key
        if key is None:
            return {}
        alias = router.db_for_read(self.model)
        connection = connections[alias]
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            prepared.execute(cursor, name="session_user_roles", sql=_session_sql(alias), params=[key, now])
            rows = cursor.fetchall()
        if not rows:
            # As Django's: a key that names no live session is not reused (no fixation).
            self._session_key = None
            return {}
        data = self.decode(rows[0][0])
        user_rows = [row[1:] for row in rows]
        user_id = user_id_of_rows(user_rows)
        if user_id is not None:
            self._signed_in = (key, str(user_id), user_rows)
        return data

    def decode(self, session_data):
        # Checking the signature is a third of reading a session, and the same signed
        # string comes back at every request until the session is saved again: keyed
        # by the whole string, what this process verified once needs no second check
        # (a changed or forged string is another key; so is the same string under
        # another secret key). The JSON is parsed each time: no two requests share a dict.
        cache_key = (settings.SECRET_KEY, session_data)
        payload = _verified_payloads.get(cache_key)
        if payload is None:
            try:
                payload = signing.loads(session_data, salt=self.key_salt, serializer=_Verified)
            except Exception:  # noqa: BLE001 - as Django's decode, which logs and returns {}
                return super().decode(session_data)  # Django's logging and fallbacks
            if len(_verified_payloads) >= _VERIFIED_MAX:
                _verified_payloads.clear()
            _verified_payloads[cache_key] = payload
        try:
            return self.serializer().loads(payload)
        except ValueError:
            return {}

    def user_rows(self, user_id) -> list[tuple] | None:
        """The rows of ``user_id`` that this store read with its session, if it did and
        the session still has that key."""
        signed_in = self._signed_in
        if signed_in is None or signed_in[0] != self.session_key or signed_in[1] != str(user_id):
            return None
        return signed_in[2]


@functools.cache
def _session_sql(alias: str) -> str:
    # The same text every time (the prepared statement is looked up by it): built once.
    from config.auth import user_columns, user_joined_on
    from parties.models import SignInSession

    connection = connections[alias]
    return (
        f"SELECT s.session_data, {user_columns(connection)} FROM {SignInSession._meta.db_table} s "
        f"{user_joined_on('s.user_id', connection)} "
        "WHERE s.session_key = %s AND s.expire_date > %s"
    )


def _user_id(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def get_user(request):
    """``django.contrib.auth.get_user`` with the request's session store as the
    current one, for the backend to take the user it read."""
    token = _store_of_request.set(request.session)
    try:
        return auth.get_user(request)
    finally:
        _store_of_request.reset(token)


def user_rows_of_current_request(user_id) -> list[tuple] | None:
    store = _store_of_request.get()
    read = getattr(store, "user_rows", None)
    return read(user_id) if read is not None else None
