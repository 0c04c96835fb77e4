"""Headers every page relies on: no caching of confidential pages, a Content
Security Policy without inline code, and right-to-left rendering in Arabic.

(The access matrix also checks no-store and the CSP on every URL for every persona.)"""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from questionnaire.services import response_get_or_create

from tests.factories import DEMO_PASSWORD

from .conftest import client_for

pytestmark = pytest.mark.django_db


def csp_directives(page) -> dict[str, list[str]]:
    header = page.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {page.request['PATH_INFO']}"
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.fixture
def pages(request, review_a, submitted_a, thread_a, succeeded_job, invitation_token, state_a, mini_versions):
    """(persona, url) of a page of each kind: forms, read-only pages, files, errors."""
    draft = response_get_or_create(state=state_a, version=mini_versions["II"], due_date=None)
    return [
        ("contributor_a", reverse("questionnaire:article", args=[draft.pk, 8])),  # the answering form
        ("contributor_a", reverse("questionnaire:article", args=[draft.pk, 14])),  # with the assistance block
        ("anonymous", reverse("parties:accept", args=[invitation_token])),
        ("focal_point_a", reverse("home")),
        ("focal_point_a", reverse("questionnaire:response", args=[submitted_a.pk])),
        ("focal_point_a", reverse("questionnaire:article", args=[submitted_a.pk, 5])),
        ("focal_point_a", reverse("questionnaire:submitted", args=[submitted_a.pk])),
        ("focal_point_a", reverse("parties:invite")),
        ("reviewer", reverse("reviews:review", args=[review_a.pk])),
        ("reviewer", reverse("reviews:article", args=[review_a.pk, 5])),
        ("secretariat", reverse("reviews:cycle_launch")),
        ("secretariat", reverse("reviews:cycle", args=[review_a.cycle_id])),
        ("secretariat", reverse("reviews:job", args=[succeeded_job.pk])),
        ("secretariat", reverse("reviews:job_download", args=[succeeded_job.pk])),
        ("focal_point_b", reverse("reviews:review", args=[review_a.pk])),  # 404
        ("contributor_a", reverse("questionnaire:submit", args=[submitted_a.pk])),  # redirect
    ]


def test_it_forbids_any_cache_to_keep_a_signed_in_users_pages(request, pages):
    for persona, url in pages:
        if persona == "anonymous":
            continue
        page = client_for(request.getfixturevalue(persona)).get(url)
        if page.streaming:
            b"".join(page.streaming_content)
        cache_control = {d.strip() for d in page.get("Cache-Control", "").split(",")}
        assert {"no-store", "private"} <= cache_control, f"{url} as {persona}: Cache-Control {page.get('Cache-Control')!r}"


def test_it_sends_a_csp_without_inline_code(request, pages):
    for persona, url in pages + [("anonymous", reverse("account_login")), ("anonymous", reverse("parties:accept", args=["x"]))]:
        page = client_for(request.getfixturevalue(persona)).get(url)
        if page.streaming:
            b"".join(page.streaming_content)
        csp = csp_directives(page)
        header = page["Content-Security-Policy"]
        assert "'unsafe-inline'" not in header and "'unsafe-eval'" not in header, f"{url}: {header}"
        assert csp["default-src"] == ["'self'"]
        assert csp["frame-ancestors"] == ["'none'"]
        assert csp["object-src"] == ["'none'"]
        if not page.get("Content-Type", "").startswith("text/html") or page.status_code != 200:
            continue
        # Every script carries this response's nonce; no inline handler or style.
        nonces = [v for v in csp["script-src"] if v.startswith("'nonce-")]
        assert len(nonces) == 1, f"{url}: script-src {csp['script-src']}"
        nonce = nonces[0][len("'nonce-"):-1]
        body = page.content.decode()
        scripts = re.findall(r"<script\b[^>]*>", body)
        assert scripts, url
        assert all(f'nonce="{nonce}"' in tag for tag in scripts), f"{url}: {scripts}"
        assert not re.search(r"<script\b(?![^>]*\bsrc=)[^>]*>\s*\S", body), f"{url}: an inline script"
        assert not re.search(r"\son[a-z]+\s*=", body), f"{url}: an inline event handler"
        assert not re.search(r"\sstyle\s*=", body), f"{url}: an inline style attribute"


def test_it_uses_a_new_nonce_for_every_response(focal_point_a):
    client = client_for(focal_point_a)

    first, second = (csp_directives(client.get(reverse("home")))["script-src"] for _ in range(2))

    assert first != second


@pytest.mark.parametrize("how", ["cookie", "accept-language"])
def test_it_renders_arabic_right_to_left(how, focal_point_a, response_a):
    client = client_for(focal_point_a)
    headers = {}
    if how == "cookie":
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ar"
    else:
        headers = {"Accept-Language": "ar"}

    for url in (reverse("home"), reverse("questionnaire:article", args=[response_a.pk, 5])):
        body = client.get(url, headers=headers).content.decode()
        assert re.search(r'<html lang="ar" dir="rtl">', body), url
        assert "bootstrap.rtl.min.css" in body


def test_it_renders_arabic_right_to_left_before_signing_in(db):
    body = Client(headers={"Accept-Language": "ar"}).get(reverse("account_login")).content.decode()

    assert '<html lang="ar" dir="rtl">' in body


@pytest.mark.parametrize("language", ["en", "fr", "ru", "es", "zh-hans"])
def test_it_renders_other_languages_left_to_right(language, focal_point_a):
    client = client_for(focal_point_a)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    body = client.get(reverse("home")).content.decode()

    assert f'<html lang="{language}" dir="ltr">' in body
    assert "bootstrap.rtl.min.css" not in body


def test_it_sends_the_other_security_headers(focal_point_a):
    page = client_for(focal_point_a).get(reverse("home"))

    assert page["X-Frame-Options"] == "DENY"
    assert page["X-Content-Type-Options"] == "nosniff"
    assert page["Referrer-Policy"] == "same-origin"
    assert page["Cross-Origin-Opener-Policy"] == "same-origin"
