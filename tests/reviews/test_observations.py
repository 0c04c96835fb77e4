"""The list of observations, the agreement of the three States, the summary and its
clearance, finalization, and the final documents built as immutable versions,
through the services (no HTTP)."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from docx import Document

from questionnaire.models import Article
from reviews import services as review_services
from reviews.models import (
    FinalDocument,
    Job,
    Observation,
    ObservationAgreement,
    ObservationComment,
    Review,
    Summary,
    SummaryClearance,
)
from reviews.services import ReviewError
from reviews.services_observations import (
    final_documents_request,
    observation_agree,
    observation_comment,
    observation_create,
    observation_update,
    summary_clear,
    summary_finalize,
    summary_outline,
    summary_save,
)
from reviews.services_workflow import review_transition
from tests.factories import agree_by_all, review_to_drafting_observations, second_reviewer
from tests.views.conftest import fresh_review, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def submitted(review_a, response_a, focal_point_a):
    submit(response_a, focal_point_a)
    return fresh_review(review_a)


@pytest.fixture
def drafting(submitted, reviewer):
    review_to_drafting_observations(submitted, reviewer)
    return fresh_review(submitted)


@pytest.fixture
def reviewer_b(review_a):
    """An expert of the other reviewing State (same regional group as A)."""
    return second_reviewer(review_a)


@pytest.fixture
def the_three(focal_point_a, reviewer, reviewer_b):
    """Who agrees and clears for each of the three States."""
    return [focal_point_a, reviewer, reviewer_b]


def article(review, number=5) -> Article:
    return Article.objects.get(version_id=review.response.version_id, number=number)


def draft(review, by, kind=Observation.Kind.GAP, text="No offence covers the conversion of blank-firing weapons.", **kw):
    return observation_create(review=review, article=article(review), kind=kind, text=text, by=by, **kw)


def obs(o: Observation) -> Observation:
    fresh = Observation.objects.select_related("review", "created_by").get(pk=o.pk)
    fresh.review = fresh_review(fresh.review)
    return fresh


# --- Drafting -------------------------------------------------------------------------


def test_it_lets_a_reviewer_draft_observations_of_the_four_kinds(drafting, reviewer):
    for kind in (Observation.Kind.GAP, Observation.Kind.GOOD_PRACTICE, Observation.Kind.RECOMMENDATION):
        draft(drafting, reviewer, kind=kind, ta_category="training_customs")
    need = draft(drafting, reviewer, kind=Observation.Kind.TA_NEED, ta_category="training_customs", ta_priority="high")

    assert Observation.objects.filter(review=drafting).count() == 4
    assert (need.ta_category, need.ta_priority, need.status) == ("training_customs", "high", Observation.Status.DRAFT)
    # The taxonomy is for technical-assistance needs only.
    assert set(Observation.objects.exclude(kind="ta_need").values_list("ta_category", flat=True)) == {""}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "ta_need", "ta_category": ""}, "category"),
        ({"kind": "ta_need", "ta_category": "not-a-category"}, "category"),
        ({"kind": "ta_need", "ta_category": "destruction", "ta_priority": "urgent"}, "priority"),
        ({"kind": "opinion"}, "kind"),
        ({"text": "   "}, "Write the observation"),
    ],
)
def test_it_refuses_an_observation_that_is_not_well_formed(drafting, reviewer, fields, message):
    with pytest.raises(ReviewError, match=message):
        draft(drafting, reviewer, **fields)
    assert not Observation.objects.exists()


def test_it_refuses_an_observation_on_an_article_of_another_questionnaire(drafting, reviewer, mini_versions):
    elsewhere = Article.objects.exclude(version_id=drafting.response.version_id).first()
    with pytest.raises(ReviewError, match="not part"):
        observation_create(review=drafting, article=elsewhere, kind="gap", text="x", by=reviewer)
    assert not Observation.objects.exists()


@pytest.mark.parametrize(
    "persona", ["focal_point_a", "contributor_a", "observer_a", "observer_of_reviewer", "unassigned_reviewer", "secretariat"]
)
def test_it_lets_only_the_reviewers_draft(request, drafting, persona):
    with pytest.raises(PermissionDenied):
        draft(drafting, request.getfixturevalue(persona))
    assert not Observation.objects.exists()


def test_it_refuses_observations_before_the_submission(review_a, reviewer):
    with pytest.raises(PermissionDenied):
        draft(fresh_review(review_a), reviewer)


def test_it_lets_the_state_under_review_comment_on_each_observation(drafting, reviewer, contributor_a, observer_a):
    o = draft(drafting, reviewer)
    observation_comment(observation=obs(o), body="Our 2021 law covers it.", by=contributor_a)

    [comment] = ObservationComment.objects.filter(observation=o)
    assert (comment.body, comment.author_state_id) == ("Our 2021 law covers it.", drafting.state_id)
    with pytest.raises(PermissionDenied):
        observation_comment(observation=obs(o), body="Me too.", by=observer_a)
    assert ObservationComment.objects.count() == 1


# --- Agreement --------------------------------------------------------------------------


def test_it_agrees_an_observation_once_the_three_states_agreed(drafting, reviewer, reviewer_b, focal_point_a):
    o = draft(drafting, reviewer)
    observation_agree(observation=obs(o), by=focal_point_a)
    observation_agree(observation=obs(o), by=reviewer)
    assert obs(o).status == Observation.Status.DRAFT

    observation_agree(observation=obs(o), by=reviewer_b)

    assert obs(o).status == Observation.Status.AGREED
    assert set(ObservationAgreement.objects.values_list("state_id", flat=True)) == {
        drafting.state_id, *[a.reviewing_state_id for a in drafting.assignments.all()]
    }


def test_it_refuses_a_second_agreement_of_the_same_state(drafting, reviewer, focal_point_a):
    o = draft(drafting, reviewer)
    observation_agree(observation=obs(o), by=reviewer)
    with pytest.raises(ReviewError, match="already agreed"):
        observation_agree(observation=obs(o), by=reviewer)
    assert ObservationAgreement.objects.count() == 1


@pytest.mark.parametrize("persona", ["contributor_a", "observer_a", "observer_of_reviewer", "focal_point_b", "secretariat"])
def test_it_takes_the_agreement_only_from_a_focal_point_or_a_reviewing_states_expert(request, drafting, reviewer, persona):
    o = draft(drafting, reviewer)
    with pytest.raises(PermissionDenied):
        observation_agree(observation=obs(o), by=request.getfixturevalue(persona))
    assert not ObservationAgreement.objects.exists()


def test_it_withdraws_the_agreements_when_an_observation_changes_and_keeps_its_history(drafting, reviewer, reviewer_b, focal_point_a):
    o = draft(drafting, reviewer, text="First text.")
    observation_agree(observation=obs(o), by=focal_point_a)
    observation_agree(observation=obs(o), by=reviewer)

    observation_update(observation=obs(o), kind="gap", text="Second text.", by=reviewer_b)

    assert not ObservationAgreement.objects.exists()
    assert obs(o).text == "Second text." and obs(o).status == Observation.Status.DRAFT
    history = list(o.history.order_by("history_date").values_list("text", "history_user_id"))
    assert history == [("First text.", reviewer.pk), ("Second text.", reviewer_b.pk)]


def test_it_keeps_the_agreements_when_nothing_changed(drafting, reviewer, focal_point_a):
    o = draft(drafting, reviewer, text="Same.")
    observation_agree(observation=obs(o), by=focal_point_a)
    observation_update(observation=obs(o), kind="gap", text="  Same.  ", by=reviewer)
    assert ObservationAgreement.objects.count() == 1 and o.history.count() == 1


def test_it_refuses_to_edit_an_agreed_observation_and_changes_nothing(drafting, reviewer, the_three):
    o = agree_by_all(draft(drafting, reviewer, text="Agreed text."), the_three)

    with pytest.raises(ReviewError, match="agreed by the three States"):
        observation_update(observation=obs(o), kind="gap", text="Sneaky change.", by=reviewer)

    fresh = obs(o)
    assert (fresh.text, fresh.status, ObservationAgreement.objects.count()) == ("Agreed text.", Observation.Status.AGREED, 3)
    assert o.history.count() == 2  # created, then agreed; no edit


def test_it_lets_the_workflow_agree_the_review_once_every_observation_is_agreed(drafting, reviewer, focal_point_a, the_three):
    agree_by_all(draft(drafting, reviewer), the_three)
    second = draft(drafting, reviewer, kind="good_practice", text="A national registry.")
    # Agreeing one observation moves nothing else.
    assert Review.objects.get(pk=drafting.pk).status == Review.Status.DRAFTING_OBSERVATIONS
    with pytest.raises(ReviewError, match="not yet agreed"):
        review_transition(review=drafting, to=Review.Status.AGREED, by=focal_point_a)

    agree_by_all(second, the_three)
    review_transition(review=drafting, to=Review.Status.AGREED, by=focal_point_a)

    assert Review.objects.get(pk=drafting.pk).status == Review.Status.AGREED
    with pytest.raises(ReviewError, match="can no longer change"):
        draft(fresh_review(drafting), reviewer, text="A late idea.")
    assert Observation.objects.count() == 2


def test_it_keeps_the_workflow_from_agreeing_a_review_whose_observations_are_not_agreed(drafting, reviewer, focal_point_a):
    with pytest.raises(ReviewError, match="empty"):
        review_transition(review=drafting, to=Review.Status.AGREED, by=focal_point_a)
    draft(drafting, reviewer)
    with pytest.raises(ReviewError, match="not yet agreed"):
        review_transition(review=drafting, to=Review.Status.AGREED, by=focal_point_a)
    assert Review.objects.get(pk=drafting.pk).status == Review.Status.DRAFTING_OBSERVATIONS


# --- Summary ----------------------------------------------------------------------------


@pytest.fixture
def agreed(drafting, reviewer, focal_point_a, the_three):
    agree_by_all(draft(drafting, reviewer, text="No offence covers conversion."), the_three)
    agree_by_all(
        draft(drafting, reviewer, kind="ta_need", text="Training of customs officers.", ta_category="training_customs"),
        the_three,
    )
    review_transition(review=drafting, to=Review.Status.AGREED, by=focal_point_a)
    return fresh_review(drafting)


def test_it_refuses_a_summary_before_every_observation_is_agreed(drafting, reviewer, the_three):
    o = draft(drafting, reviewer)
    with pytest.raises(ReviewError, match="not yet agreed"):
        summary_save(review=drafting, text="Too early.", by=reviewer)
    agree_by_all(o, the_three)
    with pytest.raises(ReviewError, match="recorded as agreed"):
        summary_save(review=drafting, text="Still too early.", by=reviewer)
    assert not Summary.objects.exists()


def test_it_drafts_the_summary_from_the_agreed_observations(agreed, reviewer):
    outline = summary_outline(agreed)
    assert "No offence covers conversion." in outline and "Training of customs officers." in outline
    assert outline.index("Gaps and challenges") < outline.index("Technical-assistance needs")

    summary = summary_save(review=agreed, text=outline, by=reviewer)
    assert (summary.status, summary.text) == (Summary.Status.DRAFTING, outline)


def test_it_freezes_the_list_once_the_summary_is_drafted(agreed, reviewer):
    summary_save(review=agreed, text="Summary.", by=reviewer)
    with pytest.raises(ReviewError, match="can no longer change"):
        draft(agreed, reviewer, text="A late idea.")
    assert Observation.objects.count() == 2


@pytest.mark.parametrize("persona", ["focal_point_a", "observer_a", "secretariat"])
def test_it_lets_only_the_reviewers_draft_the_summary(request, agreed, persona):
    with pytest.raises(PermissionDenied):
        summary_save(review=agreed, text="Mine.", by=request.getfixturevalue(persona))
    assert not Summary.objects.exists()


def test_it_clears_the_summary_state_by_state_and_withdraws_clearances_on_a_change(agreed, reviewer, the_three):
    summary = summary_save(review=agreed, text="Version one.", by=reviewer)
    summary_clear(summary=Summary.objects.get(pk=summary.pk), by=the_three[0])
    summary_clear(summary=Summary.objects.get(pk=summary.pk), by=the_three[1])

    summary_save(review=agreed, text="Version two.", by=reviewer)
    assert not SummaryClearance.objects.exists()

    for person in the_three:
        summary = summary_clear(summary=Summary.objects.get(pk=summary.pk), by=person)
    assert summary.status == Summary.Status.CLEARED
    with pytest.raises(ReviewError, match="can no longer be edited"):
        summary_save(review=agreed, text="Version three.", by=reviewer)
    assert Summary.objects.get(pk=summary.pk).text == "Version two."


@pytest.mark.parametrize("persona", ["contributor_a", "observer_a", "observer_of_reviewer", "secretariat"])
def test_it_takes_the_clearance_only_from_the_three_states(request, agreed, reviewer, persona):
    summary = summary_save(review=agreed, text="Summary.", by=reviewer)
    with pytest.raises(PermissionDenied):
        summary_clear(summary=summary, by=request.getfixturevalue(persona))
    assert not SummaryClearance.objects.exists()


@pytest.fixture
def cleared(agreed, reviewer, the_three):
    summary = summary_save(review=agreed, text="The State has criminalized most conduct.", by=reviewer)
    for person in the_three:
        summary = summary_clear(summary=Summary.objects.get(pk=summary.pk), by=person)
    return Summary.objects.select_related("review").get(pk=summary.pk)


def test_it_finalizes_the_summary_and_the_review_by_the_secretariat(cleared, secretariat):
    summary = summary_finalize(summary=cleared, by=secretariat)
    assert (summary.status, summary.finalized_by) == (Summary.Status.FINALIZED, secretariat)
    assert Review.objects.get(pk=cleared.review_id).status == Review.Status.FINALIZED


@pytest.mark.parametrize("persona", ["focal_point_a", "reviewer", "observer_a"])
def test_it_lets_only_the_secretariat_finalize(request, cleared, persona):
    with pytest.raises(PermissionDenied):
        summary_finalize(summary=cleared, by=request.getfixturevalue(persona))
    assert Summary.objects.get(pk=cleared.pk).status == Summary.Status.CLEARED


def test_it_refuses_to_finalize_a_summary_not_yet_cleared(agreed, reviewer, secretariat):
    summary = summary_save(review=agreed, text="Draft.", by=reviewer)
    with pytest.raises(ReviewError, match="cleared"):
        summary_finalize(summary=Summary.objects.select_related("review").get(pk=summary.pk), by=secretariat)
    assert Review.objects.get(pk=agreed.pk).status == Review.Status.AGREED


# --- Final documents ------------------------------------------------------------------


def build(review, by, capture):
    with capture(execute=True):
        result = final_documents_request(review=review, by=by)
    job = Job.objects.get(pk=result.job.pk)
    assert job.status == Job.Status.SUCCEEDED, job.error
    return job


def test_it_refuses_final_documents_before_the_summary_is_finalized(cleared, secretariat):
    with pytest.raises(ReviewError, match="finalized"):
        final_documents_request(review=cleared.review, by=secretariat)
    assert not Job.objects.exists()


def test_it_builds_the_final_documents_as_immutable_versions(cleared, secretariat, django_capture_on_commit_callbacks):
    summary_finalize(summary=cleared, by=secretariat)
    review = Review.objects.get(pk=cleared.review_id)

    job = build(review, secretariat, django_capture_on_commit_callbacks)

    first = list(FinalDocument.objects.filter(review=review).order_by("kind", "format"))
    assert [(d.version, d.kind, d.format) for d in first] == [
        (1, "observations", "docx"), (1, "observations", "pdf"), (1, "summary", "docx"), (1, "summary", "pdf")
    ]
    for d in first:
        content = d.file.open("rb").read()
        assert hashlib.sha256(content).hexdigest() == d.sha256 and len(content) == d.size
    pdf = next(d for d in first if d.format == "pdf")
    assert pdf.file.open("rb").read().startswith(b"%PDF")
    words = "\n".join(p.text for p in Document(io.BytesIO(next(d for d in first if d.kind == "summary" and d.format == "docx").file.open("rb").read())).paragraphs)
    assert "The State has criminalized most conduct." in words
    with zipfile.ZipFile(job.result_file.open("rb")) as zf:
        assert len(zf.namelist()) == 4

    build(review, secretariat, django_capture_on_commit_callbacks)

    assert sorted(set(FinalDocument.objects.filter(review=review).values_list("version", flat=True))) == [1, 2]
    assert [(d.pk, d.sha256) for d in FinalDocument.objects.filter(version=1).order_by("kind", "format")] == [
        (d.pk, d.sha256) for d in first
    ]
    with pytest.raises(ValidationError):
        first[0].save()
    with pytest.raises(ValidationError):
        first[0].delete()


def test_it_writes_the_documents_in_the_language_of_the_review(cleared, secretariat, django_capture_on_commit_callbacks):
    Review.objects.filter(pk=cleared.review_id).update(language="fr")
    summary_finalize(summary=cleared, by=secretariat)
    build(Review.objects.get(pk=cleared.review_id), secretariat, django_capture_on_commit_callbacks)

    document = FinalDocument.objects.get(kind="observations", format="docx")
    word = Document(io.BytesIO(document.file.open("rb").read()))
    cells = [cell.text for row in word.tables[0].rows for cell in row.cells]
    assert document.language == "fr"
    assert "État examiné" in cells and "Groupe thématique" in cells


def test_it_builds_one_version_when_the_task_is_delivered_twice(cleared, secretariat, django_capture_on_commit_callbacks):
    summary_finalize(summary=cleared, by=secretariat)
    job = build(Review.objects.get(pk=cleared.review_id), secretariat, django_capture_on_commit_callbacks)

    assert review_services.job_execute(job_id=job.pk) is None
    assert FinalDocument.objects.count() == 4


def test_it_makes_one_job_of_two_requests_while_one_is_queued(cleared, secretariat):
    summary_finalize(summary=cleared, by=secretariat)
    review = Review.objects.get(pk=cleared.review_id)
    first = final_documents_request(review=review, by=secretariat)
    second = final_documents_request(review=review, by=secretariat)
    assert first.created and not second.created and first.job.pk == second.job.pk
