"""The completeness check and the submission, over HTTP."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from questionnaire.models import Response, ResponseSnapshot
from reviews.models import Review
from tests.factories import fill_required, question, save

from .conftest import messages_of, stored_answers

pytestmark = pytest.mark.django_db


def url(name: str, response, *args) -> str:
    return reverse(f"questionnaire:{name}", args=[response.pk, *args])


def missing_links(page) -> list[str]:
    return re.findall(r'<li><a href="([^"]*#q-[^"]+)">', page.content.decode())


def test_it_lists_the_missing_required_questions_with_links_to_their_article(as_user, focal_point_a, response_a, version):
    client = as_user(focal_point_a)

    page = client.get(url("completeness", response_a))

    assert page.status_code == 200
    art5, art14 = url("article", response_a, 5), url("article", response_a, 14)
    assert missing_links(page) == [
        f"{art5}#q-FP-5.1.a.status",
        f"{art5}#q-FP-5.1.a.explanation",
        f"{art5}#q-FP-5.1.a.q1",
        f"{art5}#q-FP-5.2.status",
        f"{art5}#q-FP-5.2.explanation",
        f"{art14}#q-FP-14.status",
        f"{art14}#q-FP-14.explanation",
    ]
    assert "7 required answers are still missing" in page.content.decode()

    # Answering a status opens its legislation question, which is then missing.
    save(response_a, focal_point_a, {question(version, "FP-14.status"): "yes"})
    links = missing_links(client.get(url("completeness", response_a)))
    assert f"{art14}#q-FP-14.status" not in links
    assert f"{art14}#q-FP-14.legislation" in links


def test_it_says_so_when_every_required_answer_is_given(as_user, contributor_a, focal_point_a, response_a):
    fill_required(response_a, contributor_a)

    page = as_user(focal_point_a).get(url("completeness", response_a))

    assert page.status_code == 200
    assert "Every required question is answered." in page.content.decode()
    assert missing_links(page) == []


def test_it_shows_the_focal_point_a_confirm_page_only_when_complete(as_user, focal_point_a, response_a):
    client = as_user(focal_point_a)

    incomplete = client.get(url("submit", response_a))
    assert incomplete.status_code == 200
    assert "Submit now" not in incomplete.content.decode()
    assert f'href="{url("completeness", response_a)}"' in incomplete.content.decode()

    fill_required(response_a, focal_point_a)
    complete = client.get(url("submit", response_a))
    assert complete.status_code == 200
    assert re.search(r'<form method="post">.*Submit now', complete.content.decode(), re.S)
    assert Response.objects.get(pk=response_a.pk).status == Response.Status.DRAFT  # a GET submits nothing


def test_it_refuses_submission_by_a_contributor(as_user, contributor_a, focal_point_a, response_a):
    fill_required(response_a, focal_point_a)
    client = as_user(contributor_a)

    assert client.get(url("submit", response_a)).status_code == 403
    assert client.post(url("submit", response_a)).status_code == 403

    assert Response.objects.get(pk=response_a.pk).status == Response.Status.DRAFT
    assert not ResponseSnapshot.objects.exists()
    overview = client.get(url("response", response_a)).content.decode()
    assert f'href="{url("submit", response_a)}"' not in overview


def test_it_sends_an_incomplete_submission_to_the_completeness_page(as_user, focal_point_a, response_a):
    page = as_user(focal_point_a).post(url("submit", response_a), follow=True)

    assert page.redirect_chain == [(url("completeness", response_a), 302)]
    assert "The response cannot be submitted yet: some required answers are missing." in messages_of(page)
    assert Response.objects.get(pk=response_a.pk).status == Response.Status.DRAFT
    assert not ResponseSnapshot.objects.exists()


def test_it_submits_a_complete_response_and_shows_the_submitted_copy(as_user, focal_point_a, review_a, response_a):
    fill_required(response_a, focal_point_a)
    client = as_user(focal_point_a)
    assert f'href="{url("submit", response_a)}"' in client.get(url("response", response_a)).content.decode()

    page = client.post(url("submit", response_a), follow=True)

    assert page.redirect_chain == [(url("submitted", response_a), 302)]
    assert page.status_code == 200
    assert "Your response has been submitted. It can no longer be changed." in messages_of(page)
    response = Response.objects.get(pk=response_a.pk)
    assert (response.status, response.submitted_by) == (Response.Status.SUBMITTED, focal_point_a)
    snapshot = ResponseSnapshot.objects.get(response=response)
    assert Review.objects.get(pk=review_a.pk).status == Review.Status.SUBMITTED
    body = page.content.decode()
    assert "Response of Arcadia as submitted" in body
    assert snapshot.sha256 in body
    assert "Firearms Act 2020, s. 5, https://example.org/firearms-act" in body  # a legislation answer
    assert "Our police and customs apply the law every day." in body  # a long text answer


def test_it_shows_the_article_read_only_once_submitted(as_user, focal_point_a, contributor_a, response_a):
    fill_required(response_a, focal_point_a)
    as_user(focal_point_a).post(url("submit", response_a))

    for user in (focal_point_a, contributor_a):
        page = as_user(user).get(url("article", response_a, 5))
        body = page.content.decode()
        assert page.status_code == 200
        assert "Save answers" not in body
        assert 'id="answer-form"' not in body
        assert "<textarea" not in body
        assert "read only" in body
        assert "Our police and customs apply the law every day." in body


def test_it_is_harmless_to_submit_twice(as_user, focal_point_a, response_a):
    fill_required(response_a, focal_point_a)
    client = as_user(focal_point_a)
    client.post(url("submit", response_a))
    first = Response.objects.get(pk=response_a.pk)
    answers = stored_answers(first)
    snapshot = ResponseSnapshot.objects.get(response=first)

    page = client.post(url("submit", response_a), follow=True)

    assert page.redirect_chain == [(url("submitted", response_a), 302)]
    assert "This response has already been submitted." in messages_of(page)
    again = Response.objects.get(pk=response_a.pk)
    assert (again.status, again.submitted_at) == (Response.Status.SUBMITTED, first.submitted_at)
    assert list(ResponseSnapshot.objects.values_list("pk", "sha256")) == [(snapshot.pk, snapshot.sha256)]
    assert stored_answers(again) == answers
