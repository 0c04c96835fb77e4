"""Signing test clients in as the platform requires: password and second factor.

``sign_in`` is the persona shortcut (Django's force_login plus the record of a
second factor used in this session, which is what the sign-in form leaves after
the TOTP step); the real form, step by step, is exercised in tests/views/test_signin.py
and the browser journeys. ``totp_code`` is an independent RFC 6238 implementation,
so a test passing with it shows that an authenticator app's codes are accepted."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time

from allauth.account.internal.flows.login import (
    _AUTHENTICATION_METHODS_USER_SESSION_KEY,
    AUTHENTICATION_METHODS_SESSION_KEY,
)


def second_factor_records(user) -> dict:
    """What allauth's sign-in leaves in the session after the password and the TOTP step."""
    now = time.time()
    return {
        AUTHENTICATION_METHODS_SESSION_KEY: [
            {"method": "password", "at": now, "email": user.email},
            {"method": "mfa", "at": now, "type": "totp"},
        ],
        _AUTHENTICATION_METHODS_USER_SESSION_KEY: str(user.pk),
    }


def mark_second_factor(client, user) -> None:
    session = client.session
    session.update(second_factor_records(user))
    session.save()


def sign_in(client, user):
    from allauth.usersessions.models import UserSession

    client.force_login(user)
    mark_second_factor(client, user)
    # allauth lists a session from its own sign-in signal, which force_login skips.
    UserSession.objects.create(user=user, session_key=client.session.session_key, ip="127.0.0.1", user_agent="test client")
    return client


def totp_code(secret: str, *, at: float | None = None, period: int = 30, digits: int = 6) -> str:
    counter = int(time.time() if at is None else at) // period
    digest = hmac.new(base64.b32decode(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)
