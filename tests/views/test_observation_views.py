"""The list of observations, the summary and the final documents over HTTP: the
reviewer drafts, the State comments, the three States agree (an edit withdraws
the agreements; an agreed observation is refused an edit with a message), the
summary is drafted, cleared and finalized, the final documents download; an
observer reads everything and is refused every POST."""

from __future__ import annotations

import pytest
from django.urls import reverse

from reviews.models import FinalDocument, Observation, ObservationAgreement, Review, Summary
from reviews.services_workflow import review_transition
from tests.factories import agree_by_all, second_reviewer

from .conftest import db_fingerprint, fresh_review, messages_of

pytestmark = pytest.mark.django_db


def page_url(review) -> str:
    return reverse("reviews:observations", args=[review.pk])


def test_it_lets_the_reviewer_draft_and_the_state_comment(as_user, reviewer, contributor_a, review_a, submitted_a):
    page = as_user(reviewer).post(
        reverse("reviews:observation_create", args=[review_a.pk]),
        {"article": "5", "kind": "ta_need", "text": "Training of customs.", "ta_category": "training_customs", "ta_priority": "high"},
    )
    observation = Observation.objects.get()
    assert page.status_code == 302 and page["Location"].endswith(f"#observation-{observation.pk}")
    assert (observation.kind, observation.ta_category, observation.article.number) == ("ta_need", "training_customs", 5)

    as_user(contributor_a).post(reverse("reviews:observation_comment", args=[observation.pk]), {"body": "We agree; customs first."})

    body = as_user(contributor_a).get(page_url(review_a)).content.decode()
    assert "Training of customs." in body and "We agree; customs first." in body
    assert "Training of customs and border officials" in body  # the category, by its label


def test_it_tells_the_reviewer_what_is_wrong_with_an_observation_and_keeps_nothing(as_user, reviewer, review_a, submitted_a):
    before = db_fingerprint()
    page = as_user(reviewer).post(
        reverse("reviews:observation_create", args=[review_a.pk]), {"article": "5", "kind": "ta_need", "text": "Training."},
        follow=True,
    )
    assert "Choose the category of the technical-assistance need." in messages_of(page)
    assert db_fingerprint() == before


def test_it_withdraws_agreements_on_an_edit_and_refuses_to_edit_an_agreed_observation(
    as_user, reviewer, focal_point_a, review_a, observation_a
):
    as_user(focal_point_a).post(reverse("reviews:observation_agree", args=[observation_a.pk]))
    assert ObservationAgreement.objects.count() == 1
    edit = reverse("reviews:observation_edit", args=[observation_a.pk])

    page = as_user(reviewer).post(edit, {"kind": "gap", "text": "A clearer text."}, follow=True)
    assert "The observation is changed; the agreements given on the earlier text are withdrawn." in messages_of(page)
    assert not ObservationAgreement.objects.exists()

    agree_by_all(observation_a, [focal_point_a, reviewer, second_reviewer(review_a)])
    before = db_fingerprint()
    page = as_user(reviewer).post(edit, {"kind": "gap", "text": "Changed after agreement."}, follow=True)
    assert "This observation is agreed by the three States: it can no longer be edited." in messages_of(page)
    assert db_fingerprint() == before
    # The edit page itself says so rather than offering a form.
    assert as_user(reviewer).get(edit).status_code == 302


def test_it_shows_the_history_of_an_observation_with_its_changes(as_user, reviewer, observer_a, observation_a):
    as_user(reviewer).post(
        reverse("reviews:observation_edit", args=[observation_a.pk]),
        {"kind": "gap", "text": "No offence covers the conversion of alarm weapons."},
    )
    page = as_user(observer_a).get(reverse("reviews:observation_history", args=[observation_a.pk])).content.decode()
    assert "<del><span class=\"visually-hidden\">removed: </span>blank-firing </del>" in page
    assert "<ins><span class=\"visually-hidden\">added: </span>alarm </ins>" in page


def test_it_shows_edit_forms_only_to_those_who_may_use_them(as_user, reviewer, focal_point_a, observer_a, review_a, observation_a):
    edit = reverse("reviews:observation_edit", args=[observation_a.pk])
    agree = reverse("reviews:observation_agree", args=[observation_a.pk])
    assert edit in as_user(reviewer).get(page_url(review_a)).content.decode()
    state_page = as_user(focal_point_a).get(page_url(review_a)).content.decode()
    assert edit not in state_page and agree in state_page
    observer_page = as_user(observer_a).get(page_url(review_a)).content.decode()
    assert "No offence covers the conversion" in observer_page
    assert "<form" not in observer_page.split('id="main"')[1]


def test_it_runs_the_summary_from_draft_to_finalized_documents(
    as_user, reviewer, focal_point_a, secretariat, review_a, observation_a, django_capture_on_commit_callbacks
):
    expert_b = second_reviewer(review_a)
    agree_by_all(observation_a, [focal_point_a, reviewer, expert_b])
    review_transition(review=fresh_review(review_a), to=Review.Status.AGREED, by=focal_point_a)

    # The form starts from the agreed observations.
    page = as_user(reviewer).get(page_url(review_a))
    assert "No offence covers the conversion" in page.context["summary_form"]["text"].value()
    as_user(reviewer).post(reverse("reviews:summary_save", args=[review_a.pk]), {"text": "Arcadia criminalizes most conduct."})
    as_user(focal_point_a).post(reverse("reviews:summary_comment", args=[review_a.pk]), {"body": "Fine by us."})
    for person in (focal_point_a, reviewer, expert_b):
        as_user(person).post(reverse("reviews:summary_clear", args=[review_a.pk]))
    assert Summary.objects.get().status == Summary.Status.CLEARED

    page = as_user(secretariat).post(reverse("reviews:summary_finalize", args=[review_a.pk]), follow=True)
    assert "The summary and the review are finalized." in messages_of(page)
    assert Review.objects.get(pk=review_a.pk).status == Review.Status.FINALIZED

    with django_capture_on_commit_callbacks(execute=True):
        page = as_user(secretariat).post(reverse("reviews:final_documents_build", args=[review_a.pk]))
    assert page.status_code == 302 and "/reviews/jobs/" in page["Location"]
    pdf = FinalDocument.objects.get(kind="summary", format="pdf")
    download = as_user(focal_point_a).get(reverse("reviews:final_document", args=[pdf.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content).startswith(b"%PDF")
    listing = as_user(reviewer).get(page_url(review_a)).content.decode()
    assert reverse("reviews:final_document", args=[pdf.pk]) in listing


def test_it_tells_the_secretariat_when_the_summary_is_not_ready(as_user, secretariat, review_a, summary_a):
    before = db_fingerprint()
    page = as_user(secretariat).post(reverse("reviews:summary_finalize", args=[review_a.pk]), follow=True)
    assert "The summary can be finalized only once the three States have cleared it." in messages_of(page)
    page = as_user(secretariat).post(reverse("reviews:final_documents_build", args=[review_a.pk]), follow=True)
    assert "The final documents are produced once the summary is finalized." in messages_of(page)
    assert db_fingerprint() == before


@pytest.mark.parametrize(
    "name",
    ["observation_create", "summary_save", "summary_comment", "summary_clear", "summary_finalize", "final_documents_build"],
)
def test_it_refuses_an_observer_every_write_on_the_review(as_user, observer_a, review_a, summary_a, name):
    client = as_user(observer_a)
    before = db_fingerprint()
    page = client.post(reverse(f"reviews:{name}", args=[review_a.pk]), {"text": "x", "body": "x", "article": "5", "kind": "gap"})
    assert page.status_code == 403
    assert db_fingerprint() == before


@pytest.mark.parametrize("name", ["observation_edit", "observation_comment", "observation_agree"])
def test_it_refuses_an_observer_every_write_on_an_observation(as_user, observer_a, observation_a, name):
    client = as_user(observer_a)
    before = db_fingerprint()
    page = client.post(reverse(f"reviews:{name}", args=[observation_a.pk]), {"text": "x", "body": "x", "kind": "gap"})
    assert page.status_code == 403
    assert db_fingerprint() == before


def test_it_lets_an_observer_of_a_reviewing_state_read_but_not_write(as_user, observer_of_reviewer, review_a, observation_a):
    client = as_user(observer_of_reviewer)
    assert reverse("reviews:review", args=[review_a.pk]) in client.get(reverse("home")).content.decode()
    assert client.get(page_url(review_a)).status_code == 200
    assert client.get(reverse("reviews:article", args=[review_a.pk, 5])).status_code == 200
    before = db_fingerprint()
    assert client.post(reverse("reviews:observation_agree", args=[observation_a.pk])).status_code == 403
    assert db_fingerprint() == before


@pytest.mark.parametrize("persona", ["focal_point_b", "unassigned_reviewer"])
def test_it_hides_observations_and_documents_from_other_states(request, as_user, review_a, final_document_a, persona):
    client = as_user(request.getfixturevalue(persona))
    observation = Observation.objects.get()
    assert client.get(page_url(review_a)).status_code == 404
    assert client.get(reverse("reviews:observation_history", args=[observation.pk])).status_code == 404
    assert client.get(reverse("reviews:final_document", args=[final_document_a.pk])).status_code == 404
