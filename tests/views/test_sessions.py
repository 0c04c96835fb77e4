"""The session engine (config/sessions.py): a request's session, its user and their
roles come from one statement, and everything Django's own check of a session
refuses is still refused."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from config import sessions
from parties.models import Membership, SignInSession

from .conftest import client_for

pytestmark = pytest.mark.django_db

HOME = reverse("home")
LOGIN = reverse("account_login")


def overview(response) -> str:
    return reverse("questionnaire:response", args=[response.pk])


def test_a_signed_in_request_reads_its_session_user_and_roles_in_one_statement(focal_point_a, response_a):
    client = client_for(focal_point_a)
    client.get(HOME)  # the first request after signing in re-saves the session (its refresh time)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(overview(response_a)).status_code == 200
    sql = [query["sql"] for query in queries.captured_queries]
    reading_the_session = [s for s in sql if SignInSession._meta.db_table in s or "fp_session_user_roles" in s]
    assert len(reading_the_session) == 1, sql
    # The user and the roles came with it: not the statement that reads them alone.
    assert not [s for s in sql if "fp_user_roles" in s], sql


def test_the_row_names_the_person_signed_in_and_signing_out_removes_it(focal_point_a):
    client = client_for(focal_point_a)
    key = client.session.session_key
    assert SignInSession.objects.get(session_key=key).user_id == focal_point_a.pk

    client.post(reverse("account_logout"))

    assert not SignInSession.objects.filter(session_key=key).exists()
    assert client.get(HOME).status_code == 302


def test_a_password_changed_elsewhere_ends_the_session(focal_point_a):
    client = client_for(focal_point_a)
    assert client.get(HOME).status_code == 200

    focal_point_a.set_password("a completely new passphrase 7")
    focal_point_a.save()

    page = client.get(HOME)
    assert page.status_code == 302 and page["Location"].startswith(LOGIN)


def test_an_account_deactivated_behind_the_platform_is_signed_out_at_its_next_request(focal_point_a):
    client = client_for(focal_point_a)
    assert client.get(HOME).status_code == 200

    # An update that no signal sees (a script, the database itself): the next read refuses it.
    type(focal_point_a).objects.filter(pk=focal_point_a.pk).update(is_active=False)

    assert client.get(HOME).status_code == 302


def test_a_role_revoked_counts_at_the_next_request(focal_point_a, response_a):
    client = client_for(focal_point_a)
    assert client.get(overview(response_a)).status_code == 200

    Membership.objects.filter(user=focal_point_a).update(is_active=False)

    assert client.get(overview(response_a)).status_code in (403, 404)


def test_a_row_that_names_someone_else_does_not_sign_that_person_in(focal_point_a, focal_point_b, response_a):
    """The signed session data decides who is signed in; the row's user column is only
    what the statement joins on. A row tampered with reads the data's user again."""
    client = client_for(focal_point_a)
    SignInSession.objects.filter(session_key=client.session.session_key).update(user_id=focal_point_b.pk)

    page = client.get(overview(response_a))

    assert page.status_code == 200  # still A, who may see A's response
    assert page.wsgi_request.user.pk == focal_point_a.pk


def test_an_expired_session_is_not_read_and_its_key_is_not_reused(focal_point_a):
    client = client_for(focal_point_a)
    key = client.session.session_key
    SignInSession.objects.filter(session_key=key).update(expire_date=timezone.now() - datetime.timedelta(seconds=1))

    page = client.get(LOGIN)

    assert page.status_code == 200
    assert page.wsgi_request.user.is_anonymous
    new_key = client.cookies.get(settings.SESSION_COOKIE_NAME)
    assert new_key is None or new_key.value != key


@pytest.mark.parametrize(
    "cookie",
    [
        "a" * 41,  # longer than any key
        "short",
        "0123456789abcdefghijklmnopqrstuV",  # not Django's alphabet
        '"\\000123456789abcdefghijklmnopqrstu"',  # a NUL, quoted for the cookie parser
        "x' OR '1'='1' --abcdefghij",
        # UTF-8 on the wire, which WSGI hands over as Latin-1.
        "ключ0123456789abcdefghijklmnopqrstu".encode().decode("latin-1"),
    ],
)
def test_a_hostile_session_cookie_is_no_session_and_no_error(cookie):
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    with CaptureQueriesContext(connection) as queries:
        page = client.get(HOME)
    assert page.status_code == 302 and page["Location"].startswith(LOGIN)
    assert not [q for q in queries.captured_queries if "session" in q["sql"]]


def test_the_user_of_a_session_read_outside_a_request_is_read_on_its_own(focal_point_a):
    """allauth reads other sessions to list them: no request's store is current then,
    and the backend reads the user itself."""
    from allauth.core.internal.sessionkit import get_session_user

    key = client_for(focal_point_a).session.session_key
    assert sessions.user_rows_of_current_request(focal_point_a.pk) is None
    store = sessions.SessionStore(key)

    assert get_session_user(store) == focal_point_a
    assert sessions.user_rows_of_current_request(focal_point_a.pk) is None


def test_a_store_hands_over_its_user_only_for_the_key_it_read_them_with(focal_point_a):
    key = client_for(focal_point_a).session.session_key
    store = sessions.SessionStore(key)
    assert store[SESSION_KEY] == str(focal_point_a.pk)
    assert store.user_rows(focal_point_a.pk) is not None
    assert store.user_rows(focal_point_a.pk + 1) is None

    store.cycle_key()  # as signing in again does

    assert store.user_rows(focal_point_a.pk) is None


def test_clearsessions_removes_the_expired_rows_only(focal_point_a, focal_point_b):
    live = client_for(focal_point_a).session.session_key
    old = client_for(focal_point_b).session.session_key
    SignInSession.objects.filter(session_key=old).update(expire_date=timezone.now() - datetime.timedelta(days=1))

    call_command("clearsessions")

    assert list(SignInSession.objects.values_list("session_key", flat=True)) == [live]


def test_verified_session_data_is_reused_but_never_shared_or_forged(focal_point_a, monkeypatch):
    store = sessions.SessionStore()
    genuine = store.encode({SESSION_KEY: str(focal_point_a.pk), "records": [{"method": "mfa"}]})
    first = store.decode(genuine)
    first["records"].append({"method": "forged"})  # a request changing its own copy

    assert store.decode(genuine) == {SESSION_KEY: str(focal_point_a.pk), "records": [{"method": "mfa"}]}
    # The same payload under a broken signature, after the genuine string was verified.
    payload, _, signature = genuine.rpartition(":")
    assert store.decode(f"{payload}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}") == {}

    with override_settings(SECRET_KEY="another key, as after a rotation without fallbacks"):
        assert store.decode(genuine) == {}

    monkeypatch.setattr(sessions, "_VERIFIED_MAX", 3)
    sessions._verified_payloads.clear()
    for number in range(10):
        assert store.decode(store.encode({"n": number})) == {"n": number}
    assert len(sessions._verified_payloads) <= 3


def test_disabling_an_account_ends_also_a_session_that_allauth_does_not_list(focal_point_a):
    from allauth.usersessions.models import UserSession

    from tests.signin import mark_second_factor

    unlisted = Client()
    unlisted.force_login(focal_point_a)  # no allauth record of this session
    mark_second_factor(unlisted, focal_point_a)
    listed = client_for(focal_point_a)
    assert unlisted.get(HOME).status_code == 200
    assert not UserSession.objects.filter(session_key=unlisted.session.session_key).exists()

    focal_point_a.is_active = False
    focal_point_a.save()

    assert not SignInSession.objects.filter(user=focal_point_a).exists()
    assert unlisted.get(HOME).status_code == 302
    assert listed.get(HOME).status_code == 302


def test_the_daily_sweep_deletes_expired_sessions_with_their_records_once(focal_point_a, focal_point_b):
    from allauth.usersessions.models import UserSession

    from parties.tasks import clear_expired_sessions

    live = client_for(focal_point_a).session.session_key
    old = client_for(focal_point_b).session.session_key
    SignInSession.objects.filter(session_key=old).update(expire_date=timezone.now() - datetime.timedelta(minutes=1))

    assert clear_expired_sessions.delay().get() == 1
    assert clear_expired_sessions.delay().get() == 0
    assert list(SignInSession.objects.values_list("session_key", flat=True)) == [live]
    assert not UserSession.objects.filter(session_key=old).exists()
    assert UserSession.objects.filter(session_key=live).exists()


def test_the_sweep_is_scheduled_daily():
    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "parties.tasks.clear_expired_sessions")
    assert entry["schedule"] == 24 * 60 * 60


def test_a_session_row_decodes_through_its_own_engine(focal_point_a):
    key = client_for(focal_point_a).session.session_key
    assert SignInSession.objects.get(session_key=key).get_decoded()[SESSION_KEY] == str(focal_point_a.pk)
