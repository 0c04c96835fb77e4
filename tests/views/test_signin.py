"""Signing in (issue 6, item 1): django-allauth with a required second factor (TOTP
and recovery codes), django-axes throttling, the absolute session lifetime, one's
own sessions, disabled accounts. Everything through the real forms; codes come
from tests.signin.totp_code, an implementation of RFC 6238 of our own, as an
authenticator app would compute them."""

from __future__ import annotations

import re
import time

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.factories import DEMO_PASSWORD
from tests.signin import sign_in, totp_code

from .conftest import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_sign_in_limits")]

HOME = reverse("home")
LOGIN = reverse("account_login")


def signed_in(client) -> bool:
    return SESSION_KEY in client.session


def password_step(client, user, password=DEMO_PASSWORD):
    return client.post(LOGIN, {"login": user.email, "password": password})


def code_step(client, code):
    return client.post(reverse("mfa_authenticate"), {"code": code})


# --- The sign-in form ---------------------------------------------------------------------


def test_the_sign_in_page_is_labelled_and_offers_no_sign_up():
    page = Client().get(LOGIN).content.decode()

    assert re.search(r'<label[^>]+for="id_login"[^>]*>\s*E-mail address', page)
    assert re.search(r'<label[^>]+for="id_password"', page)
    assert reverse("account_reset_password") in page
    assert "sign up" not in page.lower()
    # Nobody signs up: accounts come from invitations.
    signup = Client().get(reverse("account_signup"))
    assert signup.status_code == 200 and b'name="password1"' not in signup.content


def test_password_then_code_signs_in_and_the_password_alone_does_not(focal_point_a, totp_secret):
    client = Client()

    first = password_step(client, focal_point_a)

    assert first.status_code == 302 and first["Location"] == reverse("mfa_authenticate")
    assert not signed_in(client)
    assert client.get(HOME).status_code == 302  # still anonymous: the home page asks to sign in

    second = code_step(client, totp_code(totp_secret))

    assert second.status_code == 302 and second["Location"] == HOME
    assert signed_in(client)
    home = client.get(HOME)
    assert home.status_code == 200 and "no-store" in home["Cache-Control"]
    cookie = second.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True and cookie["samesite"] == "Lax"


def test_a_wrong_code_and_a_used_code_are_refused(focal_point_a, totp_secret):
    client = Client()
    password_step(client, focal_point_a)
    right = totp_code(totp_secret)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    page = code_step(client, wrong)

    assert page.status_code == 200 and "Incorrect code" in page.content.decode()
    assert not signed_in(client)
    assert code_step(client, right).status_code == 302 and signed_in(client)

    # The same code a second time (another browser, same 30 s): refused (ASVS 6.5.1).
    other = Client()
    password_step(other, focal_point_a)
    assert code_step(other, right).status_code == 200
    assert not signed_in(other)


def test_a_recovery_code_signs_in_once(focal_point_a, totp_secret):
    codes = RecoveryCodes.activate(focal_point_a).get_unused_codes()
    client = Client()
    password_step(client, focal_point_a)

    assert code_step(client, codes[0]).status_code == 302 and signed_in(client)

    again = Client()
    password_step(again, focal_point_a)
    assert code_step(again, codes[0]).status_code == 200 and not signed_in(again)


def test_the_totp_secret_is_stored_encrypted_and_cannot_be_switched_off(focal_point_a, totp_secret):
    stored = Authenticator.objects.get(user=focal_point_a, type=Authenticator.Type.TOTP).data["secret"]
    assert totp_secret not in stored

    client = client_for(focal_point_a)
    page = client.post(reverse("mfa_deactivate_totp"), {})

    assert Authenticator.objects.filter(user=focal_point_a, type=Authenticator.Type.TOTP).exists()
    assert page.status_code in (200, 302)
    assert reverse("mfa_deactivate_totp") not in client.get(reverse("mfa_index")).content.decode()


# --- A person without a second factor yet --------------------------------------------------


def test_a_person_without_a_second_factor_must_set_one_up_first(focal_point_a, response_a):
    client = Client()

    page = password_step(client, focal_point_a)

    assert page.status_code == 302 and page["Location"] == HOME
    # Signed in with the password, but every page leads to the set-up page, and an
    # autosave is refused without touching anything.
    assert client.get(HOME)["Location"] == reverse("mfa_activate_totp")
    url = reverse("questionnaire:response", args=[response_a.pk])
    assert client.get(url)["Location"] == reverse("mfa_activate_totp")
    assert client.post(url, {}, headers={"HX-Request": "true"}).status_code == 401

    # allauth asks for the password once more before any change to the second factor.
    confirm = client.get(reverse("mfa_activate_totp"))
    assert confirm.status_code == 302 and confirm["Location"].startswith(reverse("account_reauthenticate"))
    client.post(confirm["Location"], {"password": DEMO_PASSWORD})
    setup = client.get(reverse("mfa_activate_totp"))
    secret = re.search(r'id="authenticator_secret"[^>]*value="([A-Z2-7]+)"', setup.content.decode())
    assert setup.status_code == 200 and secret, "the secret is shown for typing it into an app"
    assert 'src="data:image/svg+xml;base64,' in setup.content.decode()  # the QR code

    done = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret.group(1))})

    assert done.status_code == 302 and done["Location"] == reverse("mfa_view_recovery_codes")
    assert Authenticator.objects.filter(user=focal_point_a, type=Authenticator.Type.TOTP).exists()
    assert Authenticator.objects.filter(user=focal_point_a, type=Authenticator.Type.RECOVERY_CODES).exists()
    # Setting it up was the second factor of this session.
    assert client.get(HOME).status_code == 200


def test_a_session_that_skipped_the_code_of_an_account_with_one_is_ended(focal_point_a, totp_secret):
    client = Client()
    client.force_login(focal_point_a)  # no second factor in this session

    page = client.get(HOME)

    assert page.status_code == 302 and page["Location"].startswith(LOGIN)
    assert not signed_in(client)


# --- Password reset does not bypass the second factor -------------------------------------


def test_a_password_reset_signs_nobody_in_and_the_next_sign_in_asks_for_the_code(focal_point_a, totp_secret):
    client = Client()
    client.post(reverse("account_reset_password"), {"email": focal_point_a.email})
    link = re.search(r"https?://[^\s]+/password/reset/key/[^\s]+", mail.outbox[-1].body).group(0)

    form = client.get(link, follow=True)
    path = form.redirect_chain[-1][0] if form.redirect_chain else link
    done = client.post(path, {"password1": "a-fresh-passphrase-2026", "password2": "a-fresh-passphrase-2026"})

    assert done.status_code == 302
    assert not signed_in(client)
    again = Client()
    step = password_step(again, focal_point_a, "a-fresh-passphrase-2026")
    assert step["Location"] == reverse("mfa_authenticate") and not signed_in(again)


def test_a_reset_for_an_unknown_address_looks_the_same(focal_point_a):
    known = Client().post(reverse("account_reset_password"), {"email": focal_point_a.email})
    unknown = Client().post(reverse("account_reset_password"), {"email": "nobody@example.org"})

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]


# --- Throttling ---------------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_login_even_for_the_right_one(focal_point_a, totp_secret):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        password_step(client, focal_point_a, "wrong-password")

    refused = password_step(client, focal_point_a)

    assert refused.status_code in (200, 429)
    assert refused.status_code == 429 or "Too many failed login attempts" in refused.content.decode()
    assert refused.status_code != 302 and not signed_in(client)


def test_axes_locks_out_on_its_own_with_a_page_that_says_so(focal_point_a, totp_secret, settings):
    # allauth's cache-based limit answers first on its own form; axes is what also
    # covers every other way in (the admin's authenticate, a future API), so it is
    # checked here with allauth's limit switched off.
    settings.ACCOUNT_RATE_LIMITS = False
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        password_step(client, focal_point_a, "wrong-password")

    locked = password_step(client, focal_point_a)

    assert locked.status_code == 429
    assert "Sign-in locked" in locked.content.decode()
    assert not signed_in(client)
    # The lock is for this login from this address: another person signs in.


def test_the_admin_signs_in_through_the_same_form(secretariat):
    page = Client().get(reverse("admin:login"))

    assert page.status_code == 302 and page["Location"].startswith(LOGIN)


def test_a_failed_admin_password_counts_towards_the_lockout(secretariat):
    from axes.models import AccessAttempt
    from django.contrib.auth import authenticate
    from django.test import RequestFactory

    request = RequestFactory().post("/admin/login/")
    assert authenticate(request, username=secretariat.username, password="wrong") is None

    assert AccessAttempt.objects.filter(username=secretariat.username).exists()


# --- Session lifetime and one's own sessions -----------------------------------------------


def test_a_session_ends_after_its_absolute_lifetime_however_active(focal_point_a):
    with time_machine.travel("2026-12-01 08:00:00+00:00", tick=False) as traveller:
        client = client_for(focal_point_a)
        for _ in range(11):
            traveller.shift(60 * 60)  # an hour later, still active
            assert client.get(HOME).status_code == 200
        traveller.shift(settings.SESSION_ABSOLUTE_SECONDS - 11 * 60 * 60 + 1)

        page = client.get(HOME)

    assert page.status_code == 302 and page["Location"].startswith(LOGIN)
    assert not signed_in(client)


def test_a_person_sees_their_sessions_and_ends_the_others(focal_point_a):
    here, elsewhere = client_for(focal_point_a), client_for(focal_point_a)
    assert UserSession.objects.filter(user=focal_point_a).count() == 2

    page = here.get(reverse("usersessions_list"))
    assert page.status_code == 200

    here.post(reverse("usersessions_list"), {})

    assert here.get(HOME).status_code == 200
    assert elsewhere.get(HOME).status_code == 302
    assert UserSession.objects.filter(user=focal_point_a).count() == 1


def test_disabling_an_account_ends_its_sessions_at_once(focal_point_a, secretariat):
    client = client_for(focal_point_a)
    session_key = client.session.session_key

    focal_point_a.is_active = False
    focal_point_a.save()

    from importlib import import_module

    store = import_module(settings.SESSION_ENGINE).SessionStore
    assert not store().exists(session_key)
    assert client.get(HOME).status_code == 302
    assert not UserSession.objects.filter(user=focal_point_a).exists()


def test_an_ordinary_save_of_an_active_account_keeps_its_sessions(focal_point_a):
    client = client_for(focal_point_a)
    focal_point_a.first_name = "Renamed"
    focal_point_a.save()

    assert client.get(HOME).status_code == 200


# --- Every account page is either public by name or asks to sign in ----------------------

PUBLIC_ACCOUNT_PAGES = {
    # Signing in and its steps.
    "account_login", "mfa_authenticate", "account_logout",
    # Password reset (ASVS: the next sign-in still asks for the second factor).
    "account_reset_password", "account_reset_password_done", "account_reset_password_from_key",
    "account_reset_password_from_key_done",
    # allauth's pages that only say something (closed sign-up, inactive account, ...).
    "account_signup", "account_inactive", "account_confirm_email", "account_email_verification_sent",
    "account_login_code_confirm", "account_request_login_code", "account_confirm_login_code",
    "mfa_trust",
}


def account_patterns() -> dict[str, str]:
    found: dict[str, str] = {}

    def walk(patterns, prefix):
        for p in patterns:
            route = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                walk(p.url_patterns, route)
            elif isinstance(p, URLPattern) and route.startswith("accounts/"):
                found[p.name] = route

    walk(get_resolver().url_patterns, "")
    return found


def test_every_account_page_is_public_by_name_or_asks_to_sign_in():
    patterns = account_patterns()
    assert "usersessions_list" in patterns and "mfa_activate_totp" in patterns

    for name, route in patterns.items():
        if name in PUBLIC_ACCOUNT_PAGES or "<" in route:
            continue
        page = Client().get("/" + route)
        assert page.status_code == 302 and page["Location"].startswith(LOGIN), f"{name} ({route}) is open"


def test_every_account_page_answers_a_signed_in_person_without_error(focal_point_a):
    client = client_for(focal_point_a)
    for name, route in account_patterns().items():
        if "<" in route or name == "account_logout":
            continue
        page = client.get("/" + route)
        assert page.status_code < 500, f"{name} ({route}) → {page.status_code}"


# --- Autosave after the session ended ------------------------------------------------------


def test_an_autosave_after_the_session_ended_is_refused_as_401_not_as_the_sign_in_page(focal_point_a, response_a):
    from tests.factories import question

    from .conftest import db_fingerprint

    url = reverse("questionnaire:answer_save", args=[response_a.pk, "FP-5.1.a.status"])
    question(response_a.version, "FP-5.1.a.status")
    before = db_fingerprint()

    page = Client().post(url, {"FP-5.1.a.status": "yes"}, headers={"HX-Request": "true"})

    # htmx would take a 200 sign-in page for a saved answer; 401 leaves the edit unsaved in the page.
    assert page.status_code == 401
    assert db_fingerprint() == before


def test_the_account_page_links_to_the_second_factor_password_and_sessions(focal_point_a, totp_secret):
    page = client_for(focal_point_a).get(reverse("parties:account")).content.decode()

    assert "An authenticator app is set up." in page
    for name in ("mfa_index", "account_change_password", "usersessions_list"):
        assert reverse(name) in page
    assert "You are signed in in 1 place." in page
