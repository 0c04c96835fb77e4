"""The audit log as the services write it: one event per business fact, in the
transaction of the fact, append-only in the model and in the database."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory

from audit.models import AppendOnlyError, AuditEvent
from audit.services import MAX_TEXT, TRUNCATED, Change, audit_record, audit_record_changes
from parties.models import Membership
from questionnaire.content import content_load
from questionnaire.history import answer_restore
from questionnaire.models import Answer, Response
from questionnaire.services import EditConflict, answers_save, response_carry_over, response_get_or_create
from reviews import services_dialogue as dialogue
from reviews import services_observations as observations
from reviews import services_workflow as workflow
from reviews.models import DrawEvent, ReviewerAssignment, Summary
from tests.factories import MINI, MembershipFactory, question, save

from .conftest import fresh_review

pytestmark = pytest.mark.django_db
Event = AuditEvent.Event
Slot = ReviewerAssignment.Slot


def events(kind: str):
    return list(AuditEvent.objects.filter(event=kind).order_by("pk"))


# --- audit_record ---------------------------------------------------------------------


def test_it_records_who_what_when_where_and_the_values(focal_point_a, state_a, response_a):
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.7", HTTP_X_FORWARDED_FOR="203.0.113.9")

    event = audit_record(event=Event.RESPONSE_SUBMITTED, actor=focal_point_a, state=state_a, obj=response_a,
                         old={"status": "draft"}, new={"status": "submitted"}, request=request, extra={"n": 1})

    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.actor, stored.actor_label, stored.state, stored.object_type, stored.object_id) == (
        focal_point_a, focal_point_a.email, state_a, "questionnaire.response", str(response_a.pk))
    assert (stored.old, stored.new, stored.extra) == ({"status": "draft"}, {"status": "submitted"}, {"n": 1})
    # The address the connection came from; a header any client can write is not trusted.
    assert stored.ip == "192.0.2.7"
    assert stored.at.utcoffset().total_seconds() == 0


def test_it_keeps_the_login_name_of_the_time_after_a_rename(focal_point_a):
    event = audit_record(event=Event.SIGN_IN, actor=focal_point_a)
    focal_point_a.email = "renamed@example.org"
    focal_point_a.save()

    assert AuditEvent.objects.get(pk=event.pk).actor_label != "renamed@example.org"


def test_it_stores_values_as_json_data_and_cuts_long_texts(focal_point_a):
    long = "x" * (MAX_TEXT * 3)
    hostile = "=HYPERLINK(\"http://evil\")\r\nINFO forged log line"

    event = audit_record(event=Event.ANSWER_CHANGED, actor=focal_point_a, old=long, new={"a": [hostile, 1.5, None]})

    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.old == "x" * MAX_TEXT + TRUNCATED
    # Stored as it was typed, as data: nothing is interpreted or joined into a line.
    assert stored.new == {"a": [hostile, 1.5, None]}


def test_it_refuses_an_unknown_event_code(focal_point_a):
    before = AuditEvent.objects.count()
    with pytest.raises(ValueError):
        audit_record(event="made_up", actor=focal_point_a)
    assert AuditEvent.objects.count() == before


COLUMNS = ("event", "actor_id", "actor_label", "state_id", "object_type", "object_id", "object_repr",
           "old", "new", "ip", "extra")


def test_the_changes_of_one_action_are_stored_as_audit_record_stores_each(focal_point_a, state_a, response_a):
    request = RequestFactory().post("/", REMOTE_ADDR="192.0.2.8")
    changes = [
        Change(obj=response_a, old=None, new="x" * (MAX_TEXT + 5), obj_repr="FP-1\x00<script>", extra={"n": 1}),
        Change(obj=response_a, old={"a": [1.5, None]}, new=float("nan")),  # no repr given: str(obj)
    ]

    assert audit_record_changes(event=Event.ANSWER_CHANGED, actor=focal_point_a, state=state_a,
                                changes=changes, request=request) == 2

    answer_events = AuditEvent.objects.filter(event=Event.ANSWER_CHANGED).order_by("pk")
    bulk = list(answer_events.values(*COLUMNS))
    for change in changes:
        audit_record(event=Event.ANSWER_CHANGED, actor=focal_point_a, state=state_a, obj=change.obj,
                     old=change.old, new=change.new, obj_repr=change.obj_repr, extra=change.extra, request=request)
    one_by_one = list(answer_events.values(*COLUMNS))[2:]
    assert bulk == one_by_one
    assert bulk[0]["new"] == "x" * MAX_TEXT + TRUNCATED and bulk[0]["ip"] == "192.0.2.8"
    assert bulk[0]["object_repr"] == "FP-1\ufffd<script>"


def test_changes_with_an_unknown_event_code_are_refused_whole(focal_point_a, response_a):
    before = AuditEvent.objects.count()
    with pytest.raises(ValueError):
        audit_record_changes(event="made_up", actor=focal_point_a, state=None,
                             changes=[Change(obj=response_a, old=None, new=1)])
    assert AuditEvent.objects.count() == before


# --- Append-only ----------------------------------------------------------------------


def test_the_model_refuses_to_change_or_delete_an_event(focal_point_a):
    event = audit_record(event=Event.SIGN_IN, actor=focal_point_a)
    event.actor_label = "someone else"

    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(actor_label="someone else")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).actor_label == focal_point_a.email


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL trigger")
@pytest.mark.parametrize("sql", [
    "UPDATE audit_auditevent SET actor_label = 'forged' WHERE id = %s",
    "DELETE FROM audit_auditevent WHERE id = %s",
])
def test_the_database_refuses_to_change_or_delete_an_event_even_by_raw_sql(focal_point_a, sql):
    event = audit_record(event=Event.SIGN_IN, actor=focal_point_a)

    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [event.pk])

    assert AuditEvent.objects.filter(pk=event.pk, actor_label=focal_point_a.email).exists()


# --- Answers --------------------------------------------------------------------------


def test_it_records_each_changed_answer_with_its_old_and_new_value(response_a, focal_point_a, version, state_a):
    explanation, status = question(version, "FP-5.1.a.explanation"), question(version, "FP-5.1.a.status")
    save(response_a, focal_point_a, {explanation: "First", status: "yes"})
    # The whole-page path: two answers updated in one statement, one unchanged.
    save(response_a, focal_point_a, {explanation: "Second", status: "no", question(version, "FP-5.1.a.q3"): None})

    changed = events(Event.ANSWER_CHANGED)
    assert [(e.object_repr, e.old, e.new, e.extra["revision"]) for e in changed] == [
        ("FP-5.1.a.explanation", None, "First", 1),
        ("FP-5.1.a.status", None, "yes", 1),
        ("FP-5.1.a.explanation", "First", "Second", 2),
        ("FP-5.1.a.status", "yes", "no", 2),
    ]
    answer = Answer.objects.get(response=response_a, question=explanation)
    assert {(e.actor, e.state, e.object_type, e.object_id) for e in changed[::2]} == {
        (focal_point_a, state_a, "questionnaire.answer", str(answer.pk))}


def test_an_unchanged_save_records_nothing(response_a, focal_point_a, version):
    explanation = question(version, "FP-5.1.a.explanation")
    save(response_a, focal_point_a, {explanation: "Same"})
    before = AuditEvent.objects.count()

    save(response_a, focal_point_a, {explanation: "Same"})

    assert AuditEvent.objects.count() == before


def test_a_rolled_back_save_leaves_no_event(response_a, focal_point_a, version):
    explanation = question(version, "FP-5.1.a.explanation")

    with pytest.raises(RuntimeError), transaction.atomic():
        save(response_a, focal_point_a, {explanation: "Never kept"})
        raise RuntimeError("the business operation fails after the save")

    assert not Answer.objects.filter(response=response_a).exists()
    assert not events(Event.ANSWER_CHANGED)


def test_a_refused_save_records_nothing(response_a, focal_point_a, contributor_a, version):
    explanation = question(version, "FP-5.1.a.explanation")
    save(response_a, focal_point_a, {explanation: "Mine"})
    before = AuditEvent.objects.count()

    with pytest.raises(EditConflict):  # the contributor started from before the focal point's save
        answers_save(response=response_a, by=contributor_a, values={explanation: "Theirs"}, base_revisions={})

    assert AuditEvent.objects.count() == before


def test_it_records_a_restored_value_as_a_change(response_a, focal_point_a, version):
    explanation = question(version, "FP-5.1.a.explanation")
    save(response_a, focal_point_a, {explanation: "One"})
    save(response_a, focal_point_a, {explanation: "Two"})

    answer_restore(response=response_a, question=explanation, revision=1, by=focal_point_a)

    last = events(Event.ANSWER_CHANGED)[-1]
    assert (last.old, last.new, last.extra["revision"]) == ("Two", "One", 3)


def test_it_records_the_answers_carried_over(tmp_path, response_a, focal_point_a, version):
    save(response_a, focal_point_a, {question(version, "FP-5.1.a.explanation"): "Answered in 2026"})
    text = Path(MINI).read_text().replace("How many convictions last year?", "How many convictions in the last year?")
    (tmp_path / "v2.yaml").write_text(text)
    newer = next(v for v in content_load(path=tmp_path / "v2.yaml").created if v.cluster_id == version.cluster_id)
    response = response_get_or_create(state=response_a.state, version=newer, due_date=None)

    assert response_carry_over(response=response, by=focal_point_a) == 1

    carried = events(Event.ANSWER_CHANGED)[-1]
    assert (carried.object_repr, carried.old, carried.new, carried.extra["carried_over_from"]) == (
        "FP-5.1.a.explanation", None, "Answered in 2026", response_a.pk)
    assert carried.object_id == str(Answer.objects.get(response=response).pk)


# --- Submission, comments ---------------------------------------------------------------


def test_it_records_the_submission(submitted_a, focal_point_a, state_a):
    (event,) = events(Event.RESPONSE_SUBMITTED)

    assert (event.actor, event.state, event.object_id, event.old, event.new) == (
        focal_point_a, state_a, str(submitted_a.pk), {"status": "draft"}, {"status": Response.Status.SUBMITTED})
    assert event.extra["sha256"] == submitted_a.snapshot.sha256


def test_it_records_every_kind_of_comment(thread_a, review_a, reviewer, focal_point_a, summary_a, observation_a):
    dialogue.comment_add(thread=thread_a, body="The police.", by=focal_point_a)
    observations.observation_comment(observation=observation_a, body="Agreed in substance.", by=focal_point_a)
    observations.summary_comment(summary=Summary.objects.select_related("review").get(pk=summary_a.pk),
                                 body="One word more.", by=reviewer)

    comments = events(Event.COMMENT_ADDED)
    assert [(e.actor, e.new, e.object_type) for e in comments] == [
        (reviewer, "Which authority enforces this?", "reviews.comment"),
        (focal_point_a, "The police.", "reviews.comment"),
        (focal_point_a, "Agreed in substance.", "reviews.observationcomment"),
        (reviewer, "One word more.", "reviews.summarycomment"),
    ]
    assert {e.state_id for e in comments} == {review_a.state_id}
    assert comments[0].extra["thread"] == thread_a.pk


# --- Draws and appointments ---------------------------------------------------------------


def _slot(review):
    return ReviewerAssignment.objects.select_related("review__cycle", "review__state", "reviewing_state").get(
        review=review, slot=Slot.OTHER_GROUP)


def test_it_records_the_draw_at_launch(review_a, secretariat):
    (event,) = events(Event.DRAW)

    draw = DrawEvent.objects.get(cycle=review_a.cycle)
    assert (event.actor, event.object_type, event.object_id, event.extra["seed"]) == (
        secretariat, "reviews.drawevent", str(draw.pk), "fixed")
    assert event.new["pairs"] == draw.details["pairs"]


def test_it_records_a_redraw_and_a_swap_with_the_states_before_and_after(review_a, secretariat):
    before = _slot(review_a).reviewing_state
    workflow.reviewer_redraw(assignment=_slot(review_a), by=secretariat, reason="Asked to be replaced", seed="r1")
    middle = _slot(review_a).reviewing_state
    candidate = workflow.swap_candidates(_slot(review_a))[0]
    workflow.reviewer_swap(assignment=_slot(review_a), new_state=candidate, by=secretariat, reason="Conflict")

    redraw, swap = events(Event.DRAW)[1:]
    assert (redraw.state_id, redraw.old["reviewing_state"], redraw.new["reviewing_state"], redraw.extra["reason"]) == (
        review_a.state_id, before.iso3, middle.iso3, "Asked to be replaced")
    assert (swap.old["reviewing_state"], swap.new["reviewing_state"], swap.extra["kind"]) == (
        middle.iso3, candidate.iso3, DrawEvent.Kind.SWAP)


def test_it_records_the_draw_of_the_review_groups(parties, secretariat):
    workflow.review_groups_draw(first_year=2020, seed="lots", by=secretariat)

    (event,) = events(Event.DRAW)
    assert (event.extra["kind"], event.new["first_year"]) == (DrawEvent.Kind.GROUPS, 2020)


def test_a_refused_redraw_records_nothing(review_a, focal_point_a):
    before = AuditEvent.objects.count()
    with pytest.raises(Exception):
        workflow.reviewer_redraw(assignment=_slot(review_a), by=focal_point_a, reason="I prefer another")
    assert AuditEvent.objects.count() == before


def test_it_records_the_appointment_and_release_of_experts_and_focal_points(review_a, secretariat, focal_point_a):
    slot = _slot(review_a)
    expert = MembershipFactory(role=Membership.Role.REVIEWER, state=slot.reviewing_state).user
    granted_before = len(events(Event.ROLE_GRANTED))

    (appointment,) = workflow.experts_appoint(assignment=slot, users=[expert], by=secretariat)
    workflow.expert_release(appointment=appointment, by=secretariat)
    workflow.focal_point_appoint(review=fresh_review(review_a), state=review_a.state, user=focal_point_a,
                                 by=secretariat)

    granted = events(Event.ROLE_GRANTED)[granted_before:]
    (removed,) = events(Event.ROLE_REMOVED)
    assert [(e.new["role"], e.new["user"], e.state_id) for e in granted] == [
        ("expert", expert.pk, slot.reviewing_state_id), ("review_focal_point", focal_point_a.pk, review_a.state_id)]
    assert (removed.old["role"], removed.old["user"], removed.actor) == ("expert", expert.pk, secretariat)


def test_it_records_the_answers_an_offline_workbook_imports(response_a, focal_point_a, version):
    from tests.questionnaire.test_offline import apply, download, edit, preview

    save(response_a, focal_point_a, {question(version, "FP-5.1.a.q3"): 4})
    data = edit(download(response_a), {"FP-5.1.a.q3": 5, "FP-5.1.a.explanation": "Offline."})

    apply(response_a, focal_point_a, preview(response_a, focal_point_a, data))

    imported = {e.object_repr: (e.old, e.new) for e in events(Event.ANSWER_CHANGED)[1:]}
    assert imported == {"FP-5.1.a.q3": (4, 5), "FP-5.1.a.explanation": (None, "Offline.")}


def test_the_test_runners_flush_still_empties_the_table(transactional_db, focal_point_a):
    """TRUNCATE fires no row trigger: this test's rows go at teardown like any other
    (a flush refused by the trigger would error here, and every later test would see them)."""
    audit_record(event=Event.SIGN_IN, actor=focal_point_a)
    assert AuditEvent.objects.filter(actor=focal_point_a).exists()
