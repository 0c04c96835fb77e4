"""Hostile input against the sign-in (django-allauth's forms as configured here):
the login, the second-factor step, the password reset. Each is refused with a
message, signs nobody in, sends no mail and leaves the database as it was
(a failed attempt is recorded by django-axes, outside the fingerprint)."""

from __future__ import annotations

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.factories import DEMO_PASSWORD
from tests.signin import totp_code
from tests.views.conftest import db_fingerprint

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_sign_in_limits")]

MEGABYTE = "a" * (1024 * 1024)


LOGIN_CASES = {
    "one-megabyte-login": lambda user: {"login": MEGABYTE + "@example.org", "password": DEMO_PASSWORD},
    "script-in-login": lambda user: {"login": "<script>alert(1)</script>@example.org", "password": "x"},
    "nul-in-login": lambda user: {"login": user.email + "\x00", "password": DEMO_PASSWORD},
    "rtl-override-login": lambda user: {"login": "\u202e" + user.email, "password": DEMO_PASSWORD},
    "sql-in-login": lambda user: {"login": "' OR 1=1 --", "password": "' OR 1=1 --"},
    "one-megabyte-password": lambda user: {"login": user.email, "password": MEGABYTE},
    "right-login-no-password": lambda user: {"login": user.email},
    "login-as-a-list": lambda user: {"login": [user.email, "other@example.org"], "password": DEMO_PASSWORD},
}


@pytest.mark.parametrize("case", sorted(LOGIN_CASES))
def test_hostile_logins_are_refused_with_a_message(case, focal_point_a, totp_secret):
    client = Client()
    before = db_fingerprint()

    page = client.post(reverse("account_login"), LOGIN_CASES[case](focal_point_a))

    assert page.status_code == 200
    body = page.content.decode()
    assert "<script>alert(1)</script>" not in body
    assert 'class="invalid-feedback' in body or "alert-danger" in body or "errorlist" in body
    assert SESSION_KEY not in client.session
    assert db_fingerprint() == before


CODE_CASES = {
    "letters": "abcdef",
    "one-megabyte-code": "1" * (1024 * 1024),
    "empty": "",
    "nul-in-code": "12345\x00",
    "script-in-code": "<script>alert(1)</script>",
    "seven-digits": "1234567",
}


@pytest.mark.parametrize("case", sorted(CODE_CASES))
def test_hostile_second_factor_codes_are_refused(case, focal_point_a, totp_secret):
    client = Client()
    client.post(reverse("account_login"), {"login": focal_point_a.email, "password": DEMO_PASSWORD})
    before = db_fingerprint()

    page = client.post(reverse("mfa_authenticate"), {"code": CODE_CASES[case]})

    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.content.decode()
    assert SESSION_KEY not in client.session
    assert db_fingerprint() == before
    # The right code still works afterwards.
    assert client.post(reverse("mfa_authenticate"), {"code": totp_code(totp_secret)}).status_code == 302


def test_sign_in_without_or_with_a_forged_csrf_token_is_refused(focal_point_a, totp_secret):
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("account_login"))

    missing = client.post(reverse("account_login"), {"login": focal_point_a.email, "password": DEMO_PASSWORD})
    forged = client.post(
        reverse("account_login"),
        {"login": focal_point_a.email, "password": DEMO_PASSWORD, "csrfmiddlewaretoken": "x" * 64},
    )

    assert missing.status_code == forged.status_code == 403
    assert SESSION_KEY not in client.session


def test_an_off_site_next_is_not_followed_after_sign_in(focal_point_a, totp_secret):
    client = Client()
    client.post(
        reverse("account_login") + "?next=https://evil.example/steal",
        {"login": focal_point_a.email, "password": DEMO_PASSWORD, "next": "https://evil.example/steal"},
    )

    page = client.post(reverse("mfa_authenticate"), {"code": totp_code(totp_secret)})

    assert page.status_code == 302
    assert "evil.example" not in page["Location"]


@pytest.mark.parametrize(
    "email",
    ["someone@example.org\r\nBcc: victim@example.org", "<script>@example.org", "a" * 300 + "@example.org"],
    ids=["header-injection", "script", "over-long"],
)
def test_a_hostile_password_reset_address_sends_nothing(email, focal_point_a):
    before = db_fingerprint()

    page = Client().post(reverse("account_reset_password"), {"email": email})

    # Refused as invalid (200, the form again), or, for a well-formed unknown address,
    # the same "check your mail" answer as for a known one (no account enumeration).
    assert page.status_code in (200, 302) and "<script>@" not in page.content.decode()
    assert mail.outbox == []
    assert db_fingerprint() == before
