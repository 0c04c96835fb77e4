"""After submission, while the review is in written feedback or dialogue, the State
may revise its answers (the reviewers' questions are being discussed): the revision
is saved and kept in the history, the submitted copy never changes; before and after
that window the response stays locked."""

from __future__ import annotations

import pytest
from django.urls import reverse

from questionnaire.models import Answer, ResponseSnapshot
from reviews.models import Review

from .conftest import client_for

pytestmark = pytest.mark.django_db

CODE = "FP-5.1.a.explanation"


def set_review_status(review, status: str) -> None:
    # Test set-up only: the workflow's own moves are tested in tests/reviews/test_workflow.py.
    Review.objects.filter(pk=review.pk).update(status=status)


def revise(user, response, text: str, revision: int):
    return client_for(user).post(
        reverse("questionnaire:answer_save", args=[response.pk, CODE]), {CODE: text, f"rev-{CODE}": str(revision)}
    )


def current(response) -> Answer:
    return Answer.objects.get(response=response, question__code=CODE)


@pytest.mark.parametrize("status", [Review.Status.WRITTEN_FEEDBACK, Review.Status.DIALOGUE])
def test_the_state_revises_an_answer_during_the_dialogue(submitted_a, review_a, focal_point_a, contributor_a, status):
    set_review_status(review_a, status)
    before = current(submitted_a)
    copy = ResponseSnapshot.objects.get(response=submitted_a)
    sha, data = copy.sha256, copy.data

    page = revise(contributor_a, submitted_a, "Clarified for the reviewers.", before.revision)

    assert page.status_code == 200 and "Saved at" in page.content.decode()
    after = current(submitted_a)
    assert (after.value, after.revision, after.updated_by) == ("Clarified for the reviewers.", before.revision + 1, contributor_a)
    assert after.history.first().value == "Clarified for the reviewers."
    copy.refresh_from_db()
    assert (copy.sha256, copy.data) == (sha, data)  # the submitted copy is what was submitted


def test_the_state_restores_an_earlier_version_during_the_dialogue_as_the_history_page_offers(
    submitted_a, review_a, focal_point_a, contributor_a
):
    set_review_status(review_a, Review.Status.DIALOGUE)
    submitted_text = current(submitted_a)
    revise(contributor_a, submitted_a, "Clarified for the reviewers.", submitted_text.revision)
    client = client_for(focal_point_a)
    history_page = client.get(reverse("questionnaire:answer_history", args=[submitted_a.pk, CODE]))
    restore_url = reverse("questionnaire:answer_restore", args=[submitted_a.pk, CODE, submitted_text.revision])
    assert restore_url in history_page.content.decode()  # offered...

    client.post(restore_url)

    # ...and done, as a new change on top of the clarification.
    after = current(submitted_a)
    assert (after.value, after.revision, after.updated_by) == (submitted_text.value, submitted_text.revision + 2, focal_point_a)


@pytest.mark.parametrize(
    "status", [Review.Status.SUBMITTED, Review.Status.DRAFTING_OBSERVATIONS, Review.Status.AGREED, Review.Status.FINALIZED]
)
def test_outside_the_dialogue_a_submitted_response_stays_locked(submitted_a, review_a, focal_point_a, status):
    set_review_status(review_a, status)
    before = current(submitted_a)

    page = revise(focal_point_a, submitted_a, "Too late.", before.revision)

    assert page.status_code == 409
    assert "submitted" in page.content.decode()
    assert (current(submitted_a).value, current(submitted_a).revision) == (before.value, before.revision)


def test_only_the_state_revises_during_the_dialogue(submitted_a, review_a, focal_point_b, reviewer, secretariat):
    set_review_status(review_a, Review.Status.DIALOGUE)
    before = current(submitted_a)

    assert revise(focal_point_b, submitted_a, "Another State's text.", before.revision).status_code == 404
    assert revise(reviewer, submitted_a, "A reviewer's text.", before.revision).status_code == 404
    assert revise(secretariat, submitted_a, "The secretariat's text.", before.revision).status_code in (403, 409)
    assert current(submitted_a).revision == before.revision


def test_the_answering_page_says_the_response_is_open_for_clarification(submitted_a, review_a, focal_point_a):
    url = reverse("questionnaire:article", args=[submitted_a.pk, 5])
    locked = client_for(focal_point_a).get(url).content.decode()
    assert "read only" in locked and "hx-post" not in locked

    set_review_status(review_a, Review.Status.DIALOGUE)
    page = client_for(focal_point_a).get(url).content.decode()

    assert "you may revise your answers" in page and "hx-post" in page
