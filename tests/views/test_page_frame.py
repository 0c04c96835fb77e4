"""The answering pages' frames kept per process (questionnaire/page_frame.py): a
page opened again is the same page as a fresh render, with a new CSRF token and
nonce; a frame is never shown to another person, in another language, after the
response or the person's notifications changed, or instead of a message."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from questionnaire import page_frame
from questionnaire.services import response_submit
from reviews.models import Notification
from reviews.services_dialogue import notify
from tests.factories import fill_required

from .conftest import client_for, messages_of, page_revisions

pytestmark = pytest.mark.django_db

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
NONCE = re.compile(r' nonce="([^"]+)"')


def cluster_url(response) -> str:
    return reverse("questionnaire:cluster", args=[response.pk])


def article_url(response, number: int = 5) -> str:
    return reverse("questionnaire:article", args=[response.pk, number])


def without_secrets(page) -> str:
    html = page.content.decode()
    return NONCE.sub(" nonce=NONCE", CSRF.sub('name="csrfmiddlewaretoken" value="TOKEN"', html))


def kept_frames() -> int:
    return len(page_frame._frames._blocks)


@pytest.mark.parametrize("url", [cluster_url, article_url])
def test_a_page_opened_again_is_the_fresh_page_with_a_new_token_and_nonce(focal_point_a, response_a, url):
    client = client_for(focal_point_a)
    first = client.get(url(response_a))
    assert kept_frames() == 1
    again = client.get(url(response_a))
    page_frame.forget_frames()
    fresh = client.get(url(response_a))

    assert first.status_code == again.status_code == 200
    assert without_secrets(again) == without_secrets(first) == without_secrets(fresh)
    # New secrets on every request, as the template gives them: one token on the
    # page (three forms) and one nonce, the one the CSP header names.
    for page in (first, again):
        assert len(set(CSRF.findall(page.content.decode()))) == 1
        (nonce,) = set(NONCE.findall(page.content.decode()))
        assert f"'nonce-{nonce}'" in page["Content-Security-Policy"]
    assert CSRF.findall(again.content.decode())[0] != CSRF.findall(first.content.decode())[0]
    assert NONCE.findall(again.content.decode())[0] != NONCE.findall(first.content.decode())[0]


def test_the_token_of_a_page_from_the_kept_frame_saves_the_form(focal_point_a, response_a):
    client = client_for(focal_point_a, enforce_csrf_checks=True)
    client.get(cluster_url(response_a))
    page = client.get(cluster_url(response_a))  # from the kept frame
    token = CSRF.findall(page.content.decode())[0]

    saved = client.post(
        cluster_url(response_a),
        {"csrfmiddlewaretoken": token, "revisions": page_revisions(page), "FP-5.1.a.q3": "7"},
    )

    assert saved.status_code == 302
    assert response_a.answers.get(question__code="FP-5.1.a.q3").value == 7


def test_the_revisions_on_the_page_are_the_current_ones_after_a_save(focal_point_a, response_a):
    client = client_for(focal_point_a)
    before = client.get(cluster_url(response_a))
    client.post(
        reverse("questionnaire:answer_save", args=[response_a.pk, "FP-5.1.a.q3"]),
        {"FP-5.1.a.q3": "12", "rev-FP-5.1.a.q3": "0"},
    )
    after = client.get(cluster_url(response_a))

    assert '"FP-5.1.a.q3": 1' not in page_revisions(before)
    assert '"FP-5.1.a.q3": 1' in page_revisions(after)
    assert 'value="12"' in after.content.decode()


def test_a_frame_is_never_shown_to_another_person(focal_point_a, contributor_a, response_a):
    as_focal_point = client_for(focal_point_a).get(cluster_url(response_a)).content.decode()
    as_contributor = client_for(contributor_a).get(cluster_url(response_a)).content.decode()
    again = client_for(focal_point_a).get(cluster_url(response_a)).content.decode()

    assert "Ada Focal" in as_focal_point and "Ada Focal" in again and "Cora Contributor" not in again
    assert "Cora Contributor" in as_contributor and "Ada Focal" not in as_contributor
    assert "Invite people" in as_focal_point and "Invite people" not in as_contributor


def test_a_frame_is_kept_per_language(focal_point_a, response_a):
    client = client_for(focal_point_a)
    english = client.get(cluster_url(response_a), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    arabic = client.get(cluster_url(response_a), HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    english_again = client.get(cluster_url(response_a), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert 'dir="ltr"' in english and 'dir="rtl"' not in english
    assert 'dir="rtl"' in arabic and 'lang="ar"' in arabic
    assert 'dir="ltr"' in english_again and "All articles on one page" in english_again
    assert english_again.count("<h1") == 1


def test_a_new_notification_shows_on_the_page_opened_again(focal_point_a, reviewer, review_a, response_a):
    client = client_for(focal_point_a)
    before = client.get(cluster_url(response_a)).content.decode()
    notify(recipients=[focal_point_a], kind=Notification.Kind.THREAD_STARTED, review=review_a, by=reviewer)
    after = client.get(cluster_url(response_a)).content.decode()

    assert "unread</span>" not in before
    assert re.search(r'badge text-bg-light">1<span class="visually-hidden"> unread</span>', after)


def test_a_message_is_shown_once_and_never_kept_in_a_frame(focal_point_a, response_a):
    client = client_for(focal_point_a)
    page = client.get(cluster_url(response_a))
    saved = client.post(cluster_url(response_a), {"revisions": page_revisions(page), "FP-5.1.a.q3": "3"}, follow=True)
    after = client.get(cluster_url(response_a))

    assert any(m.startswith("Saved at") for m in messages_of(saved))
    assert "Saved at" in saved.content.decode()
    assert "Saved at" not in after.content.decode()
    assert without_secrets(after) == without_secrets(client.get(cluster_url(response_a)))


def test_the_page_of_a_submitted_response_is_not_the_draft_s(focal_point_a, response_a):
    client = client_for(focal_point_a)
    draft = client.get(article_url(response_a)).content.decode()
    fill_required(response_a, focal_point_a)
    response_submit(response=response_a, by=focal_point_a)
    submitted = client.get(article_url(response_a)).content.decode()

    # Submitted: no longer editable by anyone (until a clarification is opened).
    assert "Save answers" in draft and "read only" not in draft
    assert "Save answers" not in submitted and "<strong>read only</strong>" in submitted


def test_a_page_without_a_session_gets_its_csrf_cookie(focal_point_a, response_a):
    # A frame from the cache must still set the CSRF cookie the token belongs to.
    signed_in = client_for(focal_point_a)
    signed_in.get(cluster_url(response_a))
    other_client = Client()
    other_client.cookies = signed_in.cookies.__class__(
        {name: morsel.value for name, morsel in signed_in.cookies.items() if "csrf" not in name}
    )
    page = other_client.get(cluster_url(response_a))

    assert page.status_code == 200
    assert any("csrf" in name for name in page.cookies)
