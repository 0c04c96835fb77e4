"""Review services: launching a cycle, the dialogue on answers, and background
jobs (dedupe, claim, finish, fail, and the documents they build)."""

from __future__ import annotations

import datetime
import io
import zipfile

import openpyxl
import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from parties.models import State, TreatyStatus
from questionnaire.models import Response
from questionnaire.services import response_submit
from reviews.models import Comment, Job, Review, ReviewCycle, ReviewerAssignment, Thread
from reviews.services import (
    ReviewError,
    add_months,
    comment_add,
    cycle_launch,
    draw_preview,
    job_claim,
    job_execute,
    job_fail,
    job_finish,
    job_request,
    thread_resolve,
    thread_start,
)
from tests.factories import StateFactory, fill_required, make_party, question, save

pytestmark = pytest.mark.django_db
Slot = ReviewerAssignment.Slot


def fresh(review: Review) -> Review:
    """The review as a view loads it, after services changed its response."""
    return Review.objects.select_related("response").get(pk=review.pk)


def result_bytes(job: Job) -> bytes:
    with job.result_file.open("rb") as f:
        return f.read()


def submit(response: Response, by, **overrides) -> Response:
    fill_required(response, by, overrides=overrides)
    return response_submit(response=response, by=by)


# --- cycle_launch ----------------------------------------------------------------


@pytest.mark.parametrize("persona", ["focal_point_a", "focal_point_b", "contributor_a", "anonymous"])
def test_it_lets_only_the_secretariat_launch_a_cycle(request, parties, version, persona):
    person = request.getfixturevalue(persona)

    with pytest.raises(PermissionDenied):
        cycle_launch(cluster=version.cluster, year=2026, states=parties[:2], by=person, seed="fixed")

    assert not ReviewCycle.objects.exists()
    assert not Response.objects.exists()


def test_it_launches_reviews_with_draft_responses_and_two_reviewing_states(parties, version, secretariat):
    reviewed = [parties[0], parties[3], parties[6]]  # African, Asia-Pacific, Eastern European

    cycle = cycle_launch(
        cluster=version.cluster, year=2026, states=reviewed, by=secretariat, seed="s1", launch_date=datetime.date(2026, 3, 15)
    )

    assert (cycle.year, cycle.draw_seed, cycle.draw_algorithm, cycle.launched_by) == (2026, "s1", "balanced-v1", secretariat)
    reviews = Review.objects.filter(cycle=cycle).select_related("state", "response")
    assert {r.state for r in reviews} == set(reviewed)
    groups = {s.pk: s.regional_group for s in parties}
    for review in reviews:
        assert review.status == Review.Status.LAUNCHED
        assert (review.response.state, review.response.version) == (review.state, version)
        assert review.response.status == Response.Status.DRAFT
        assert review.response.due_date == datetime.date(2026, 9, 15)
        slots = {a.slot: a.reviewing_state_id for a in review.assignments.all()}
        assert set(slots) == {Slot.SAME_GROUP, Slot.OTHER_GROUP}
        assert review.state_id not in slots.values()
        assert groups[slots[Slot.SAME_GROUP]] == review.state.regional_group
        assert groups[slots[Slot.OTHER_GROUP]] != review.state.regional_group


def test_it_records_a_draw_that_can_be_reproduced_from_its_seed(parties, version, secretariat):
    reviewed = parties[::2]
    cycle = cycle_launch(cluster=version.cluster, year=2026, states=reviewed, by=secretariat)

    replay = draw_preview(cluster=version.cluster, states=reviewed, seed=cycle.draw_seed)

    recorded = {
        r.state_id: (r.assignments.get(slot=Slot.SAME_GROUP).reviewing_state_id, r.assignments.get(slot=Slot.OTHER_GROUP).reviewing_state_id)
        for r in cycle.reviews.all()
    }
    assert recorded == {state_id: (pair.same_group, pair.other_group) for state_id, pair in replay.items()}
    assert len(cycle.draw_seed) >= 8


@pytest.mark.parametrize(
    "launched, due",
    [
        (datetime.date(2026, 3, 15), datetime.date(2026, 9, 15)),
        (datetime.date(2026, 8, 31), datetime.date(2027, 2, 28)),
        (datetime.date(2027, 8, 31), datetime.date(2028, 2, 29)),  # leap year
        (datetime.date(2026, 3, 31), datetime.date(2026, 9, 30)),
        (datetime.date(2026, 7, 31), datetime.date(2027, 1, 31)),
        (datetime.date(2026, 12, 1), datetime.date(2027, 6, 1)),
    ],
)
def test_it_adds_months_clamping_to_the_end_of_the_month(launched, due):
    assert add_months(launched, 6) == due


def test_it_sets_the_due_date_six_months_after_launch_at_the_end_of_february(parties, version, secretariat):
    cycle = cycle_launch(
        cluster=version.cluster, year=2027, states=[parties[0]], by=secretariat, launch_date=datetime.date(2027, 8, 31)
    )

    assert cycle.reviews.get().response.due_date == datetime.date(2028, 2, 29)


def test_it_defaults_the_due_date_to_six_months_after_the_launch_day(parties, version, secretariat, time_machine):
    time_machine.move_to(datetime.datetime(2026, 8, 31, 9, 30, tzinfo=datetime.UTC), tick=False)

    cycle = cycle_launch(cluster=version.cluster, year=2026, states=[parties[0]], by=secretariat)

    assert cycle.reviews.get().response.due_date == datetime.date(2027, 2, 28)


def test_it_reviews_the_draft_the_state_already_has(review_a, response_a, state_a):
    # Whichever was made first, a State has one response per questionnaire version.
    assert review_a.response_id == response_a.pk
    assert Response.objects.filter(state=state_a).count() == 1
    assert response_a.due_date == add_months(timezone.localdate(), 6)


def test_it_takes_the_time_to_answer_from_the_settings(parties, version, secretariat, settings):
    settings.SELF_ASSESSMENT_DUE_MONTHS = 4

    cycle = cycle_launch(
        cluster=version.cluster, year=2026, states=[parties[0]], by=secretariat, launch_date=datetime.date(2026, 1, 10)
    )

    assert cycle.reviews.get().response.due_date == datetime.date(2026, 5, 10)


def test_it_refuses_a_second_cycle_for_the_same_cluster_and_year(review_a, parties, version, secretariat):
    with pytest.raises(ReviewError):
        cycle_launch(cluster=version.cluster, year=2026, states=[parties[5]], by=secretariat)

    assert ReviewCycle.objects.count() == 1
    assert not Review.objects.filter(state=parties[5]).exists()


def test_it_refuses_to_review_a_state_twice_on_the_same_questionnaire(review_a, parties, version, secretariat):
    with pytest.raises(ReviewError, match="Arcadia is already under review"):
        cycle_launch(cluster=version.cluster, year=2027, states=[parties[5], parties[0]], by=secretariat)

    # The whole launch is undone, not only the second State.
    assert not ReviewCycle.objects.filter(year=2027).exists()
    assert not Review.objects.filter(state=parties[5]).exists()


@pytest.mark.parametrize("status", [None, TreatyStatus.Status.SIGNATORY, TreatyStatus.Status.NONE])
def test_it_refuses_to_review_a_state_that_is_not_a_party(parties, version, secretariat, status):
    outsider = StateFactory(name="Outland", regional_group=State.RegionalGroup.AFRICAN)
    if status:
        make_party(outsider, status=status)

    with pytest.raises(ReviewError, match="Outland is not a party"):
        cycle_launch(cluster=version.cluster, year=2026, states=[parties[0], outsider], by=secretariat)

    assert not ReviewCycle.objects.exists()
    assert not Response.objects.exists()


def test_it_never_draws_a_state_that_is_not_a_party_as_reviewer(parties, version, secretariat):
    # Genovia's only Eastern European fellows: a mere signatory and a party to
    # another instrument. Neither may review it, so no draw is possible.
    genovia, hyrkania = parties[6], parties[7]
    make_party(hyrkania, status=TreatyStatus.Status.SIGNATORY)
    make_party(StateFactory(name="Conventionia", regional_group=State.RegionalGroup.EASTERN_EUROPEAN), instrument="other")

    with pytest.raises(ReviewError, match=f"{genovia.iso3}: no other party to the instrument in its regional group"):
        cycle_launch(cluster=version.cluster, year=2026, states=[genovia], by=secretariat)


def test_it_refuses_a_draw_that_cannot_satisfy_the_rules(parties, version, secretariat):
    # Eastern European: Genovia and Hyrkania only. Both under review would review
    # each other.
    genovia, hyrkania = parties[6], parties[7]

    with pytest.raises(ReviewError, match="The draw cannot satisfy the rules"):
        cycle_launch(cluster=version.cluster, year=2026, states=[genovia, hyrkania], by=secretariat)


# --- Dialogue --------------------------------------------------------------------


def test_it_lets_an_assigned_reviewer_start_a_thread_on_a_submitted_response(review_a, focal_point_a, reviewer, version):
    submit(review_a.response, focal_point_a)
    q = question(version, "FP-5.1.a.explanation")

    thread = thread_start(review=fresh(review_a), question=q, kind=Thread.Kind.CLARIFICATION, body="  Which agency?  ", by=reviewer)

    assert (thread.status, thread.kind, thread.question, thread.created_by) == (
        Thread.Status.OPEN,
        Thread.Kind.CLARIFICATION,
        q,
        reviewer,
    )
    [comment] = thread.comments.all()
    assert comment.body == "Which agency?"
    assert comment.author_state == reviewer.memberships.get().state


@pytest.mark.parametrize("persona", ["unassigned_reviewer", "focal_point_b", "secretariat", "anonymous"])
def test_it_refuses_threads_by_anyone_but_an_assigned_reviewer(request, review_a, focal_point_a, version, persona):
    submit(review_a.response, focal_point_a)
    person = request.getfixturevalue(persona)

    with pytest.raises(PermissionDenied):
        thread_start(review=fresh(review_a), question=question(version, "FP-5.1.a.q1"), kind="comment", body="Hi", by=person)

    assert not Thread.objects.exists()


def test_it_refuses_threads_before_the_state_submits(review_a, reviewer, version):
    with pytest.raises(PermissionDenied):
        thread_start(review=fresh(review_a), question=question(version, "FP-5.1.a.q1"), kind="comment", body="Hi", by=reviewer)


def test_it_refuses_a_thread_on_a_question_of_another_questionnaire(review_a, focal_point_a, reviewer, mini_versions):
    submit(review_a.response, focal_point_a)
    elsewhere = question(mini_versions["II"], "FP-8.1.a.q1")

    with pytest.raises(ReviewError):
        thread_start(review=fresh(review_a), question=elsewhere, kind="comment", body="Hi", by=reviewer)


@pytest.fixture
def thread(review_a, focal_point_a, reviewer, version):
    submit(review_a.response, focal_point_a)
    return thread_start(
        review=fresh(review_a), question=question(version, "FP-5.1.a.q1"), kind="comment", body="Why one offence?", by=reviewer
    )


def test_it_marks_a_thread_answered_when_the_state_replies_and_open_when_the_reviewer_writes(
    thread, contributor_a, reviewer, state_a
):
    reply = comment_add(thread=thread, body="Because our code is short.", by=contributor_a)

    assert Thread.objects.get(pk=thread.pk).status == Thread.Status.ANSWERED
    assert reply.author_state == state_a

    comment_add(thread=Thread.objects.get(pk=thread.pk), body="Please cite the article.", by=reviewer)

    assert Thread.objects.get(pk=thread.pk).status == Thread.Status.OPEN
    assert list(thread.comments.values_list("body", flat=True)) == [
        "Why one offence?",
        "Because our code is short.",
        "Please cite the article.",
    ]


@pytest.mark.parametrize("persona", ["focal_point_b", "unassigned_reviewer", "secretariat"])
def test_it_refuses_replies_by_outsiders(request, thread, persona):
    with pytest.raises(PermissionDenied):
        comment_add(thread=thread, body="Let me in.", by=request.getfixturevalue(persona))

    assert thread.comments.count() == 1


def test_it_refuses_a_reply_to_a_resolved_thread(thread, reviewer, focal_point_a):
    thread_resolve(thread=thread, by=reviewer)

    with pytest.raises(ReviewError):
        comment_add(thread=Thread.objects.get(pk=thread.pk), body="One more thing.", by=focal_point_a)

    assert Thread.objects.get(pk=thread.pk).status == Thread.Status.RESOLVED
    assert Comment.objects.filter(thread=thread).count() == 1


def test_it_refuses_to_resolve_a_thread_twice(thread, reviewer):
    thread_resolve(thread=thread, by=reviewer)

    with pytest.raises(ReviewError):
        thread_resolve(thread=thread, by=reviewer)


# --- Jobs ------------------------------------------------------------------------


def test_it_makes_one_job_of_the_same_request_made_twice(review_a, focal_point_a, secretariat):
    first = job_request(kind=Job.Kind.CLUSTER_REPORT, params={"cycle": review_a.cycle_id}, by=secretariat)
    second = job_request(kind=Job.Kind.CLUSTER_REPORT, params={"cycle": review_a.cycle_id}, by=secretariat)
    submit(review_a.response, focal_point_a)
    other = job_request(kind=Job.Kind.REVIEW_SUMMARY, params={"review": review_a.pk}, by=secretariat)

    assert first.created and not second.created
    assert second.job.pk == first.job.pk
    assert other.created and other.job.pk != first.job.pk
    assert (first.job.status, first.job.requested_by) == (Job.Status.QUEUED, secretariat)
    assert Job.objects.count() == 2


def test_it_makes_a_new_job_once_the_previous_one_finished(review_a, secretariat):
    first = job_request(kind=Job.Kind.CLUSTER_REPORT, params={"cycle": review_a.cycle_id}, by=secretariat).job
    job_claim(job_id=first.pk)
    # Still the same job while it runs.
    running = job_request(kind=Job.Kind.CLUSTER_REPORT, params={"cycle": review_a.cycle_id}, by=secretariat)
    assert (running.created, running.job.pk, running.job.status) == (False, first.pk, Job.Status.RUNNING)
    job_fail(job_id=first.pk, error="boom")

    again = job_request(kind=Job.Kind.CLUSTER_REPORT, params={"cycle": review_a.cycle_id}, by=secretariat)

    assert again.created and again.job.pk != first.pk


@pytest.mark.parametrize("persona", ["focal_point_a", "reviewer", "anonymous"])
def test_it_lets_only_the_secretariat_request_jobs(request, review_a, persona):
    with pytest.raises(PermissionDenied):
        job_request(kind=Job.Kind.CLUSTER_REPORT, params={"cycle": review_a.cycle_id}, by=request.getfixturevalue(persona))

    assert not Job.objects.exists()


def test_it_refuses_an_unknown_job(secretariat):
    with pytest.raises(ReviewError):
        job_request(kind="everything", params={}, by=secretariat)


@pytest.fixture
def queued_job(review_a, secretariat):
    return job_request(kind=Job.Kind.CLUSTER_REPORT, params={"cycle": review_a.cycle_id}, by=secretariat).job


def test_it_claims_a_job_and_never_again_once_finished(queued_job):
    claimed = job_claim(job_id=queued_job.pk)
    assert (claimed.status, claimed.attempts) == (Job.Status.RUNNING, 1)
    assert claimed.started_at is not None

    assert job_finish(job=claimed, content=b"result", filename="result.txt")

    assert job_claim(job_id=queued_job.pk) is None
    assert Job.objects.get(pk=queued_job.pk).status == Job.Status.SUCCEEDED


def test_it_stores_one_result_when_a_job_is_finished_twice(queued_job):
    job = job_claim(job_id=queued_job.pk)

    assert job_finish(job=job, content=b"first", filename="summary.docx") is True
    assert job_finish(job=job, content=b"second", filename="summary.docx") is False

    job.refresh_from_db()
    assert (job.status, job.progress, job.result_name) == (Job.Status.SUCCEEDED, 100, "summary.docx")
    assert result_bytes(job) == b"first"
    stored = [p for p in (settings.MEDIA_ROOT / "jobs").rglob("*") if p.is_file()]
    assert len(stored) == 1


def test_it_marks_a_failed_job_with_its_error(queued_job):
    job_claim(job_id=queued_job.pk)

    job_fail(job_id=queued_job.pk, error="ValueError: this cycle has no reviews")

    job = Job.objects.get(pk=queued_job.pk)
    assert (job.status, job.error) == (Job.Status.FAILED, "ValueError: this cycle has no reviews")
    assert job.finished_at is not None
    assert job_claim(job_id=job.pk) is None


def test_it_does_not_fail_a_job_that_already_succeeded(queued_job):
    job_finish(job=job_claim(job_id=queued_job.pk), content=b"ok", filename="ok.txt")

    job_fail(job_id=queued_job.pk, error="late failure from a duplicate delivery")

    job = Job.objects.get(pk=queued_job.pk)
    assert (job.status, job.error) == (Job.Status.SUCCEEDED, "")


def test_it_builds_the_review_summary_as_a_word_document(review_a, focal_point_a, reviewer, secretariat, version):
    submit(review_a.response, focal_point_a, **{"FP-5.1.a.explanation": "The police register every firearm."})
    thread_start(
        review=fresh(review_a), question=question(version, "FP-5.1.a.explanation"), kind="comment", body="Which police?", by=reviewer
    )
    requested = job_request(kind=Job.Kind.REVIEW_SUMMARY, params={"review": review_a.pk}, by=secretariat).job

    job = job_execute(job_id=requested.pk)

    assert (job.status, job.progress) == (Job.Status.SUCCEEDED, 100)
    assert job.result_name.endswith(".docx") and "cluster-I-2026" in job.result_name
    data = result_bytes(job)
    assert data[:2] == b"PK"
    document = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode()
    assert "Arcadia" in document
    assert "The police register every firearm." in document
    assert "Which police?" in document
    # A duplicate delivery of the task makes nothing more.
    assert job_execute(job_id=requested.pk) is None


def test_it_builds_the_cluster_report_as_a_spreadsheet_of_submitted_answers(
    parties, version, secretariat, focal_point_a, focal_point_b
):
    state_a, state_b = parties[0], parties[1]
    cycle = cycle_launch(cluster=version.cluster, year=2026, states=[state_a, state_b], by=secretariat, seed="fixed")
    response_a = cycle.reviews.get(state=state_a).response
    response_b = cycle.reviews.get(state=state_b).response
    ta = {"needed": True, "categories": ["training_customs"], "priority": "high", "details": "Scanners."}
    save(response_a, focal_point_a, {question(version, "FP-14.ta"): ta})
    submit(response_a, focal_point_a, **{"FP-5.1.a.explanation": "=HYPERLINK(\"http://evil.example\")", "FP-5.1.a.q1": "several_offences"})
    # B's draft is B's alone: it must not reach the report.
    save(response_b, focal_point_b, {question(version, "FP-5.1.a.explanation"): "Borduria's unfinished draft."})
    requested = job_request(kind=Job.Kind.CLUSTER_REPORT, params={"cycle": cycle.pk}, by=secretariat).job

    job = job_execute(job_id=requested.pk)

    assert job.status == Job.Status.SUCCEEDED and job.result_name.endswith(".xlsx")
    book = openpyxl.load_workbook(io.BytesIO(result_bytes(job)))
    assert book.sheetnames == ["Art 5", "Art 14", "TA needs", "Progress"]

    art5 = [list(row) for row in book["Art 5"].iter_rows(values_only=True)]
    header = art5[0]
    rows = {row[0]: dict(zip(header, row)) for row in art5[2:]}
    assert list(rows) == ["Arcadia"]
    arcadia = rows["Arcadia"]
    assert (arcadia["ISO code"], arcadia["Regional group"]) == (state_a.iso3, "African States")
    assert arcadia["FP-5.1.a.q1"] == "Several offences"
    assert arcadia["FP-5.1.a.status"] == "Yes"
    # A formula typed as an answer is text in the report, never a formula.
    assert arcadia["FP-5.1.a.explanation"] == "'=HYPERLINK(\"http://evil.example\")"
    cell = book["Art 5"].cell(row=3, column=header.index("FP-5.1.a.explanation") + 1)
    assert cell.data_type == "s"
    assert all("Borduria's unfinished draft." not in str(v) for row in art5 for v in row)

    assert list(book["TA needs"].iter_rows(min_row=2, values_only=True)) == [
        (14, "Training of customs and border officials", "African States", 1)
    ]
    progress = {row[0]: row for row in book["Progress"].iter_rows(min_row=2, values_only=True)}
    assert progress["Arcadia"][1:] == ("Submitted", response_a.due_date.isoformat(), 100)
    assert progress["Borduria"][1] == "Draft"
    assert progress["Borduria"][3] < 100


def test_it_keeps_draft_answers_out_of_the_review_summary(review_a, focal_point_a, secretariat, version):
    save(review_a.response, focal_point_a, {question(version, "FP-5.1.a.explanation"): "Unfinished draft of Arcadia."})

    try:
        requested = job_request(kind=Job.Kind.REVIEW_SUMMARY, params={"review": review_a.pk}, by=secretariat).job
    except (ReviewError, PermissionDenied):
        return  # refusing the summary before submission is a fine fix too
    job = job_execute(job_id=requested.pk)

    document = zipfile.ZipFile(io.BytesIO(result_bytes(job))).read("word/document.xml").decode()
    assert "Unfinished draft of Arcadia." not in document
