"""Saving answers (optimistic locking, permissions, history) and submitting a
response (completeness, the submitted copy, the review moving on)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from questionnaire.models import Answer, Response, ResponseSnapshot
from questionnaire.services import (
    EditConflict,
    Incomplete,
    ResponseLocked,
    answers_save,
    answers_save_detailed,
    response_submit,
)
from reviews.models import Review
from tests.factories import fill_required, question, revisions, save

pytestmark = pytest.mark.django_db


def stored(response) -> dict[str, tuple[object, int]]:
    """question code → (value, revision) as stored."""
    return {
        code: (value, revision)
        for code, value, revision in Answer.objects.filter(response=response).values_list(
            "question__code", "value", "revision"
        )
    }


# --- answers_save ----------------------------------------------------------------


def test_it_saves_an_answer_and_increments_its_revision(response_a, focal_point_a, version):
    q = question(version, "FP-5.1.a.q3")

    saved = answers_save(response=response_a, by=focal_point_a, values={q: 12}, base_revisions={})
    assert saved == [q]
    assert stored(response_a) == {"FP-5.1.a.q3": (12, 1)}

    answers_save(response=response_a, by=focal_point_a, values={q: 13}, base_revisions={q.pk: 1})
    assert stored(response_a) == {"FP-5.1.a.q3": (13, 2)}
    assert Answer.objects.get(response=response_a, question=q).updated_by == focal_point_a


def test_it_saves_only_the_answers_that_changed(response_a, focal_point_a, version):
    status, text = question(version, "FP-5.1.a.status"), question(version, "FP-5.1.a.explanation")
    save(response_a, focal_point_a, {status: "yes", text: "First wording."})

    saved = save(response_a, focal_point_a, {status: "yes", text: "Second wording."})

    assert saved == [text]
    assert stored(response_a) == {"FP-5.1.a.status": ("yes", 1), "FP-5.1.a.explanation": ("Second wording.", 2)}


def test_it_refuses_a_stale_edit_and_saves_nothing_of_it(response_a, focal_point_a, contributor_a, version):
    text, number = question(version, "FP-5.1.a.explanation"), question(version, "FP-5.1.a.q3")
    save(response_a, contributor_a, {text: "Contributor's text."})
    # The focal point opened the page before the contributor saved (revision 0) and
    # changes the same answer plus another one.
    with pytest.raises(EditConflict) as caught:
        answers_save(
            response=response_a,
            by=focal_point_a,
            values={text: "Focal point's text.", number: 7},
            base_revisions={text.pk: 0, number.pk: 0},
        )

    [conflict] = caught.value.conflicts
    assert conflict.question == text
    assert (conflict.yours, conflict.theirs, conflict.theirs_revision) == ("Focal point's text.", "Contributor's text.", 1)
    assert conflict.changed_by == "Cora Contributor"
    # Nothing at all was saved, not even the answer nobody else touched.
    assert stored(response_a) == {"FP-5.1.a.explanation": ("Contributor's text.", 1)}


def test_it_keeps_theirs_deliberately_when_saving_again_from_the_newer_revision(
    response_a, focal_point_a, contributor_a, version
):
    text = question(version, "FP-5.1.a.explanation")
    save(response_a, contributor_a, {text: "Contributor's text."})

    answers_save(response=response_a, by=focal_point_a, values={text: "Merged text."}, base_revisions={text.pk: 1})

    assert stored(response_a) == {"FP-5.1.a.explanation": ("Merged text.", 2)}


def test_it_never_conflicts_when_two_people_edit_different_questions(response_a, focal_point_a, contributor_a, version):
    status, text = question(version, "FP-5.1.a.status"), question(version, "FP-5.2.explanation")
    both_started_from = revisions(response_a)  # both opened the page on an empty response

    answers_save(response=response_a, by=focal_point_a, values={status: "partially"}, base_revisions=both_started_from)
    answers_save(response=response_a, by=contributor_a, values={text: "Practice."}, base_revisions=both_started_from)

    assert stored(response_a) == {"FP-5.1.a.status": ("partially", 1), "FP-5.2.explanation": ("Practice.", 1)}


def _whole_page_save(response, by, values, base_revisions):
    return answers_save_detailed(response=response, by=by, values=values, base_revisions=base_revisions,
                                 keep_untouched=True)


def test_a_whole_page_save_keeps_what_someone_else_changed_when_the_editor_posts_it_untouched(
    response_a, focal_point_a, contributor_a, version
):
    text, number = question(version, "FP-5.1.a.explanation"), question(version, "FP-5.1.a.q3")
    save(response_a, focal_point_a, {text: "First text.", number: 3})
    opened = revisions(response_a)
    save(response_a, contributor_a, {text: "Contributor's text."})

    outcome = _whole_page_save(response_a, focal_point_a, {text: "First text.", number: 7}, opened)

    assert outcome.kept == [text] and outcome.saved == [number]
    assert stored(response_a) == {"FP-5.1.a.explanation": ("Contributor's text.", 2), "FP-5.1.a.q3": (7, 2)}


def test_a_whole_page_save_keeps_an_answer_first_given_by_someone_else_after_the_page_opened(
    response_a, focal_point_a, contributor_a, version
):
    text, number = question(version, "FP-5.1.a.explanation"), question(version, "FP-5.1.a.q3")
    opened = revisions(response_a)  # nothing answered yet
    save(response_a, contributor_a, {text: "Contributor's text."})

    outcome = _whole_page_save(response_a, focal_point_a, {text: "", number: 7}, opened)

    assert outcome.kept == [text]
    assert stored(response_a) == {"FP-5.1.a.explanation": ("Contributor's text.", 1), "FP-5.1.a.q3": (7, 1)}


@pytest.mark.parametrize("base", [1, 99])
def test_untouched_means_equal_to_the_value_at_the_base_revision_or_else_a_conflict(
    base, response_a, focal_point_a, contributor_a, version
):
    text = question(version, "FP-5.1.a.explanation")
    save(response_a, focal_point_a, {text: "First text."})
    save(response_a, focal_point_a, {text: "Second text."})
    save(response_a, contributor_a, {text: "Contributor's text."})
    before = stored(response_a)

    # At revision 1 the answer was "First text.", so "Second text." was typed here;
    # revision 99 never existed (a forged page): neither is taken as untouched.
    with pytest.raises(EditConflict) as caught:
        _whole_page_save(response_a, focal_point_a, {text: "Second text."}, {text.pk: base})

    assert [c.question for c in caught.value.conflicts] == [text]
    assert stored(response_a) == before


def test_an_autosave_of_a_stale_revision_is_a_conflict_even_with_the_old_value(
    response_a, focal_point_a, contributor_a, version
):
    text = question(version, "FP-5.1.a.explanation")
    save(response_a, focal_point_a, {text: "First text."})
    save(response_a, contributor_a, {text: "Contributor's text."})

    # An autosave sends only what was edited: typing the old text back is a choice.
    with pytest.raises(EditConflict):
        answers_save(response=response_a, by=focal_point_a, values={text: "First text."}, base_revisions={text.pk: 1})

    assert stored(response_a) == {"FP-5.1.a.explanation": ("Contributor's text.", 2)}


def test_it_lets_a_contributor_save(response_a, contributor_a, version):
    save(response_a, contributor_a, {question(version, "FP-14.explanation"): "Training programmes."})

    assert stored(response_a) == {"FP-14.explanation": ("Training programmes.", 1)}


@pytest.mark.parametrize("persona", ["focal_point_b", "secretariat", "reviewer", "anonymous"])
def test_it_refuses_saves_by_anyone_not_answering_for_the_state(request, response_a, version, persona):
    person = request.getfixturevalue(persona)

    with pytest.raises(PermissionDenied):
        answers_save(
            response=response_a, by=person, values={question(version, "FP-14.explanation"): "Intrusion"}, base_revisions={}
        )

    assert stored(response_a) == {}


def test_it_refuses_any_change_after_submission(response_a, focal_point_a, version):
    fill_required(response_a, focal_point_a)
    response_submit(response=response_a, by=focal_point_a)
    before = stored(response_a)

    with pytest.raises(ResponseLocked):
        save(response_a, focal_point_a, {question(version, "FP-5.1.a.explanation"): "Too late."})

    assert stored(response_a) == before


def test_it_records_the_history_of_an_answer_with_who_changed_it(response_a, focal_point_a, contributor_a, version):
    text = question(version, "FP-5.1.a.explanation")
    save(response_a, contributor_a, {text: "Draft by the contributor."})
    save(response_a, focal_point_a, {text: "Reviewed by the focal point."})

    answer = Answer.objects.get(response=response_a, question=text)
    history = list(answer.history.order_by("history_date", "history_id").values_list("value", "revision", "updated_by"))

    assert history == [
        ("Draft by the contributor.", 1, contributor_a.pk),
        ("Reviewed by the focal point.", 2, focal_point_a.pk),
    ]


# --- response_submit -------------------------------------------------------------


def test_it_refuses_submission_by_a_contributor(response_a, focal_point_a, contributor_a):
    fill_required(response_a, focal_point_a)

    with pytest.raises(PermissionDenied):
        response_submit(response=response_a, by=contributor_a)

    response_a.refresh_from_db()
    assert response_a.status == Response.Status.DRAFT


def test_it_refuses_submission_by_the_focal_point_of_another_state(response_a, focal_point_a, focal_point_b):
    fill_required(response_a, focal_point_a)

    with pytest.raises(PermissionDenied):
        response_submit(response=response_a, by=focal_point_b)


def test_it_refuses_an_incomplete_response_listing_what_is_missing(response_a, focal_point_a, version):
    fill_required(response_a, focal_point_a)
    # Choosing "other" asks a required question that is not answered yet.
    save(response_a, focal_point_a, {question(version, "FP-5.1.a.q1"): "other"})

    with pytest.raises(Incomplete) as caught:
        response_submit(response=response_a, by=focal_point_a)

    assert [(article.number, q.code) for article, q in caught.value.missing] == [(5, "FP-5.1.a.q2")]
    response_a.refresh_from_db()
    assert response_a.status == Response.Status.DRAFT
    assert not ResponseSnapshot.objects.exists()


def test_it_refuses_an_empty_response_listing_every_required_question(response_a, focal_point_a):
    with pytest.raises(Incomplete) as caught:
        response_submit(response=response_a, by=focal_point_a)

    assert [q.code for _article, q in caught.value.missing] == [
        "FP-5.1.a.status",
        "FP-5.1.a.explanation",
        "FP-5.1.a.q1",
        "FP-5.2.status",
        "FP-5.2.explanation",
        "FP-14.status",
        "FP-14.explanation",
    ]


def test_it_submits_a_complete_response_and_keeps_a_copy(response_a, focal_point_a, version):
    fill_required(response_a, focal_point_a, overrides={"FP-5.1.a.explanation": "Explained by Ada."})

    submitted = response_submit(response=response_a, by=focal_point_a)

    response_a.refresh_from_db()
    assert response_a.status == Response.Status.SUBMITTED
    assert response_a.submitted_by == focal_point_a
    assert response_a.submitted_at is not None
    assert submitted.pk == response_a.pk
    snapshot = response_a.snapshot
    assert snapshot.created_by == focal_point_a
    assert len(snapshot.sha256) == 64
    assert snapshot.data["state"]["name"] == "Arcadia"
    assert snapshot.data["cluster"] == "I"
    assert snapshot.data["submitted_by"] == "Ada Focal"
    answers = {q["code"]: q["value"] for article in snapshot.data["articles"] for q in article["questions"]}
    assert answers["FP-5.1.a.explanation"] == "Explained by Ada."
    assert answers["FP-5.1.a.status"] == "yes"
    # Questions that are not asked are not in the copy ("other" was not chosen).
    assert "FP-5.1.a.q2" not in answers


def test_it_never_changes_or_deletes_the_submitted_copy(response_a, focal_point_a):
    fill_required(response_a, focal_point_a)
    response_submit(response=response_a, by=focal_point_a)
    snapshot = ResponseSnapshot.objects.get(response=response_a)
    snapshot.data = {"forged": True}

    with pytest.raises(ValidationError):
        snapshot.save()
    with pytest.raises(ValidationError):
        snapshot.delete()

    assert ResponseSnapshot.objects.get(response=response_a).data["state"]["name"] == "Arcadia"


def test_the_database_refuses_to_change_or_delete_the_submitted_copy_behind_the_model(response_a, focal_point_a):
    from django.db import IntegrityError, connection, transaction

    if connection.vendor != "postgresql":
        pytest.skip("the trigger is PostgreSQL's; the embedded SQLite keeps the model's check")
    fill_required(response_a, focal_point_a)
    response_submit(response=response_a, by=focal_point_a)
    copy = ResponseSnapshot.objects.filter(response=response_a)

    for bypass in (lambda: copy.update(data={"forged": True}), lambda: copy.delete()):
        with pytest.raises(IntegrityError, match="a submitted copy"), transaction.atomic():
            bypass()

    assert copy.get().data["state"]["name"] == "Arcadia"


def test_it_refuses_a_second_submission(response_a, focal_point_a):
    fill_required(response_a, focal_point_a)
    response_submit(response=response_a, by=focal_point_a)

    with pytest.raises(ResponseLocked):
        response_submit(response=response_a, by=focal_point_a)

    assert ResponseSnapshot.objects.filter(response=response_a).count() == 1


def test_it_moves_the_review_to_submitted_when_the_state_submits(review_a, response_a, focal_point_a):
    assert review_a.response_id == response_a.pk
    fill_required(response_a, focal_point_a)

    response_submit(response=response_a, by=focal_point_a)

    assert Review.objects.get(pk=review_a.pk).status == Review.Status.SUBMITTED


def test_the_submitted_copy_keeps_the_evidence_of_its_answers(response_a, focal_point_a, version):
    from questionnaire import evidence

    fill_required(response_a, focal_point_a)
    q = question(version, "FP-5.1.a.status")
    evidence.answer_evidence_add(
        response=response_a, question=q, by=focal_point_a, citation=evidence.CitationData(title="Arms Act 2001")
    )

    response_submit(response=response_a, by=focal_point_a)

    copy = ResponseSnapshot.objects.get(response=response_a)
    assert [e["title"] for e in copy.data["evidence"][q.code]] == ["Arms Act 2001"]
    # The fingerprint covers the evidence too.
    import hashlib
    import json

    assert copy.sha256 == hashlib.sha256(json.dumps(copy.data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


# --- the autosave's unchanged save (answered from the request's own reads) -------


def _as_read(response_pk: int, q) -> tuple[Response, dict]:
    """The response and the answer as the autosave view reads them (one statement)."""
    from questionnaire.permissions import _minimal_response

    response = _minimal_response(response_pk, q.code)
    return response, {q.pk: response.answer_read}


def test_an_unchanged_save_is_answered_without_a_statement_or_a_transaction(response_a, focal_point_a, version):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from questionnaire.services import answers_save_detailed

    q = question(version, "FP-5.1.a.explanation")
    save(response_a, focal_point_a, {q: "Our wording."})
    response, read = _as_read(response_a.pk, q)

    with CaptureQueriesContext(connection) as queries:
        outcome = answers_save_detailed(
            response=response, by=focal_point_a, values={q: "Our wording."}, base_revisions={q.pk: 1}, answers_read=read
        )

    assert outcome.saved == [] and outcome.answers[q.pk].revision == 1
    assert [query["sql"] for query in queries] == []  # not even BEGIN / COMMIT
    assert stored(response_a) == {"FP-5.1.a.explanation": ("Our wording.", 1)}


@pytest.mark.parametrize("persona", ["focal_point_b", "reviewer", "secretariat"])
def test_an_unchanged_save_is_refused_to_anyone_not_answering_for_the_state(request, response_a, focal_point_a, version, persona):
    from questionnaire.services import answers_save_detailed

    q = question(version, "FP-5.1.a.explanation")
    save(response_a, focal_point_a, {q: "Our wording."})
    response, read = _as_read(response_a.pk, q)

    with pytest.raises(PermissionDenied):
        answers_save_detailed(
            response=response,
            by=request.getfixturevalue(persona),
            values={q: "Our wording."},
            base_revisions={q.pk: 1},
            answers_read=read,
        )


def test_an_unchanged_save_after_submission_is_refused_as_locked(response_a, focal_point_a, version):
    from questionnaire.services import answers_save_detailed

    fill_required(response_a, focal_point_a)
    q = question(version, "FP-5.1.a.explanation")
    save(response_a, focal_point_a, {q: "Our wording."})
    response_submit(response=response_a, by=focal_point_a)
    response, read = _as_read(response_a.pk, q)

    with pytest.raises(ResponseLocked):
        answers_save_detailed(
            response=response, by=focal_point_a, values={q: "Our wording."}, base_revisions={q.pk: 2}, answers_read=read
        )
