"""How signing in works here, as hooks into django-allauth and django-axes.

Accounts come only from invitations (parties.services.invitation_accept), so the
sign-up form is closed; everybody has a second factor (TOTP) that they cannot
switch off themselves (the secretariat removes a lost one in the admin, and the
owner sets up a new one at the next sign-in); TOTP secrets are stored encrypted.
"""

from __future__ import annotations

import base64
import functools
import hashlib

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from cryptography.fernet import Fernet
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections, router
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config import prepared
from config.sessions import user_rows_of_current_request
from parties.permissions import MEMBERSHIP_JOIN, roles_prime
from questionnaire.rows import from_row


class LoginForm(AllauthLoginForm):
    """allauth's form, worded as the rest of the platform (and labelled, not only
    placeholdered, for screen readers)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["login"].label = gettext_lazy("E-mail address")
        self.fields["login"].widget.attrs.update({"autocomplete": "username", "autofocus": True})
        self.fields["login"].widget.attrs.pop("placeholder", None)
        self.fields["password"].widget.attrs.pop("placeholder", None)
        self.fields["password"].help_text = ""


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return False


def _fernet() -> Fernet:
    # A key of its own may be given; otherwise one derived from SECRET_KEY, so a
    # copy of the database alone does not reveal anybody's second factor.
    material = settings.MFA_SECRET_KEY or f"mfa-totp:{settings.SECRET_KEY}"
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(material.encode()).digest()))


class MFAAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        return _fernet().encrypt(text.encode()).decode()

    def decrypt(self, encrypted_text: str) -> str:
        return _fernet().decrypt(encrypted_text.encode()).decode()

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        # The second factor is required: switching it off would leave the account
        # with a password only. Recovery codes can still be regenerated.
        return authenticator.type != Authenticator.Type.TOTP

    def get_totp_label(self, user) -> str:
        return user.email or user.get_username()

    def _get_site_name(self) -> str:
        return _("Firearms Protocol review")


class AuthenticationBackend(AllauthBackend):
    """allauth's backend, with the signed-in user of every request read by one
    line of SQL: ModelBackend.get_user builds the same SELECT through the ORM on
    every request, a fifth of an autosave's CPU time. Usually not even that: the
    session engine (config.sessions) reads the user with the session."""

    def get_user(self, user_id):
        User = get_user_model()
        alias = router.db_for_read(User)
        connection = connections[alias]
        rows = user_rows_of_current_request(user_id)
        if rows is None:
            with connection.cursor() as cursor:
                prepared.execute(cursor, name="user_roles", sql=_user_sql(alias), params=[user_id])
                rows = cursor.fetchall()
        user = user_from_rows(rows, connection)
        if user is None or not self.user_can_authenticate(user):
            return None
        return user


@functools.cache
def _user_sql(alias: str) -> str:
    # The same text every time (the prepared statement is looked up by it): built once.
    User = get_user_model()
    connection = connections[alias]
    return (
        f"SELECT {user_columns(connection)} FROM {User._meta.db_table} u "
        f"{MEMBERSHIP_JOIN[0]} WHERE u.{connection.ops.quote_name(User._meta.pk.column)} = %s"
    )


def user_columns(connection) -> str:
    """The user's columns (as ``u``), then those of one of its active memberships (as
    ``m``, NULL when it has none): a row per membership, for :func:`user_from_rows`."""
    quote = connection.ops.quote_name
    columns = [f"u.{quote(field.column)}" for field in get_user_model()._meta.concrete_fields]
    return ", ".join([*columns, *MEMBERSHIP_JOIN[1]])


def user_joined_on(reference: str, connection) -> str:
    """The joins that :func:`user_columns` reads from, for the user whose id is
    ``reference`` (a column of the statement's own table)."""
    User = get_user_model()
    pk = connection.ops.quote_name(User._meta.pk.column)
    return f"LEFT JOIN {User._meta.db_table} u ON u.{pk} = {reference} {MEMBERSHIP_JOIN[0]}"


def user_id_of_rows(rows: list[tuple]):
    """The id of the user in rows read with :func:`user_columns` (None: no user)."""
    if not rows:
        return None
    meta = get_user_model()._meta
    return rows[0][meta.concrete_fields.index(meta.pk)]


def user_from_rows(rows: list[tuple], connection):
    """The user of rows read with :func:`user_columns`, its roles primed; None when
    there are none or they name no user (a LEFT JOIN that found nobody)."""
    if user_id_of_rows(rows) is None:
        return None
    User = get_user_model()
    fields = User._meta.concrete_fields
    split = len(fields)
    user = from_row(User, fields, rows[0][:split], connection=connection)
    roles_prime(user, [row[split:] for row in rows if row[split + 1] is not None])
    return user


def axes_username(request, credentials: dict | None) -> str:
    """The login typed, whichever form sent it: allauth's passes ``email`` (or
    ``login`` in the POST), Django's own ``username``. Case-folded, so that
    changing the case does not buy five more attempts."""
    for source in (credentials or {}, getattr(request, "POST", {}) or {}):
        for key in ("email", "login", "username"):
            value = source.get(key)
            if value:
                # NUL cannot be stored by PostgreSQL: a hostile login name must not
                # turn a failed sign-in into an error.
                return str(value).replace("\x00", "\ufffd").strip().casefold()[:255]
    return ""
