"""Deadlines of a review (reviews/deadlines.py), extensions by the secretariat,
reminder e-mails before and after each deadline (safe to run twice), and the list
of what each person must do next."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import PermissionDenied

from parties.models import Membership
from questionnaire.models import Response
from questionnaire.services import response_submit
from reviews import services_workflow as workflow
from reviews.deadlines import deadline_of, next_deadline, review_deadlines
from reviews.models import DeadlineExtension, ReminderSent, Review, ReviewerAssignment, Step
from reviews.selectors import next_steps, with_deadline_data
from reviews.services import cycle_launch
from reviews.tasks import send_deadline_reminders
from tests.factories import MembershipFactory, fill_required

pytestmark = pytest.mark.django_db
Role = Membership.Role
LAUNCH = datetime.date(2026, 1, 15)


def loaded(review: Review) -> Review:
    return with_deadline_data(Review.objects.filter(pk=review.pk)).get()


@pytest.fixture
def launched(parties, version, secretariat, time_machine):
    """A's review launched on 15 January 2026 (the clock set to that day)."""
    time_machine.move_to(datetime.datetime(2026, 1, 15, 9, 0, tzinfo=datetime.UTC), tick=False)
    cycle = cycle_launch(cluster=version.cluster, year=2026, states=[parties[0]], by=secretariat, seed="fixed",
                         launch_date=LAUNCH)
    return cycle.reviews.get()


def due(review, step):
    return deadline_of(loaded(review), step).due


def expert_of(review, slot=ReviewerAssignment.Slot.OTHER_GROUP):
    """A reviewer (governmental expert) of the State in ``slot`` of the review."""
    return MembershipFactory(role=Role.REVIEWER, state=review.assignments.get(slot=slot).reviewing_state).user


def submit(review, by):
    fill_required(review.response, by)
    response_submit(response=Response.objects.get(pk=review.response_id), by=by)


# --- Deadlines ----------------------------------------------------------------------------------


def test_it_computes_each_steps_deadline_from_the_launch_date(launched):
    deadlines = {d.step: d for d in review_deadlines(loaded(launched))}

    assert deadlines[Step.FOCAL_POINTS].due == datetime.date(2026, 1, 29)  # 2 weeks
    assert deadlines[Step.EXPERTS].due == datetime.date(2026, 2, 12)  # 4 weeks
    assert deadlines[Step.SELF_ASSESSMENT].due == datetime.date(2026, 7, 15)  # 6 months
    assert deadlines[Step.WRITTEN_FEEDBACK].due is None  # runs from the submission
    assert launched.response.due_date == datetime.date(2026, 7, 15)
    assert next_deadline(loaded(launched)).step == Step.FOCAL_POINTS


def test_it_uses_the_periods_of_the_cycle(parties, version, secretariat):
    cycle = cycle_launch(cluster=version.cluster, year=2026, states=[parties[0]], by=secretariat, seed="f",
                         launch_date=LAUNCH, periods={"focal_point_due_weeks": 1, "experts_due_weeks": 3,
                                                      "self_assessment_due_months": 9})
    review = cycle.reviews.get()

    assert due(review, Step.FOCAL_POINTS) == datetime.date(2026, 1, 22)
    assert due(review, Step.EXPERTS) == datetime.date(2026, 2, 5)
    assert due(review, Step.SELF_ASSESSMENT) == datetime.date(2026, 10, 15)
    assert review.response.due_date == datetime.date(2026, 10, 15)


def test_it_gives_the_reviewers_six_months_from_the_submission(launched, focal_point_a, time_machine):
    time_machine.move_to(datetime.datetime(2026, 3, 31, 12, 0, tzinfo=datetime.UTC), tick=False)
    submit(launched, focal_point_a)

    feedback = deadline_of(loaded(launched), Step.WRITTEN_FEEDBACK)
    assert (feedback.due, feedback.done) == (datetime.date(2026, 9, 30), False)
    assert deadline_of(loaded(launched), Step.SELF_ASSESSMENT).done


def test_it_marks_the_appointment_steps_done_once_everyone_is_appointed(launched, secretariat):
    review = loaded(launched)
    for state in [review.state] + [a.reviewing_state for a in review.assignments.all()]:
        user = MembershipFactory(role=Role.FOCAL_POINT, state=state).user
        workflow.focal_point_appoint(review=review, state=state, user=user, by=secretariat)

    assert deadline_of(loaded(launched), Step.FOCAL_POINTS).done
    assert not deadline_of(loaded(launched), Step.EXPERTS).done
    for a in review.assignments.all():
        workflow.experts_appoint(assignment=a, users=[MembershipFactory(role=Role.REVIEWER, state=a.reviewing_state).user],
                                 by=secretariat)
    assert deadline_of(loaded(launched), Step.EXPERTS).done


# --- Extensions ------------------------------------------------------------------------------


def test_it_extends_a_deadline_with_a_reason_on_record(launched, secretariat):
    extension = workflow.deadline_extend(review=launched, step=Step.SELF_ASSESSMENT, due_date=datetime.date(2026, 9, 1),
                                         reason="Elections in the State", by=secretariat)

    assert (extension.previous_due_date, extension.due_date, extension.granted_by) == (
        datetime.date(2026, 7, 15), datetime.date(2026, 9, 1), secretariat
    )
    deadline = deadline_of(loaded(launched), Step.SELF_ASSESSMENT)
    assert (deadline.due, deadline.extended) == (datetime.date(2026, 9, 1), True)
    # The State's own pages show the new due date.
    assert Response.objects.get(pk=launched.response_id).due_date == datetime.date(2026, 9, 1)
    # A second extension replaces the first.
    workflow.deadline_extend(review=launched, step=Step.SELF_ASSESSMENT, due_date=datetime.date(2026, 10, 1),
                             reason="More time", by=secretariat)
    assert due(launched, Step.SELF_ASSESSMENT) == datetime.date(2026, 10, 1)


@pytest.mark.parametrize(
    ("new_due", "reason", "message"),
    [
        (datetime.date(2026, 1, 14), "late", "must be in the future"),
        (datetime.date(2026, 1, 15), "late", "must be in the future"),
        (datetime.date(2026, 1, 20), "sooner", "later than 2026-01-29"),
        (datetime.date(2026, 3, 1), "   ", "reason"),
    ],
)
def test_it_refuses_an_extension_in_the_past_earlier_or_without_a_reason(launched, secretariat, new_due, reason,
                                                                        message):
    from reviews.services import ReviewError

    with pytest.raises(ReviewError, match=message):
        workflow.deadline_extend(review=launched, step=Step.FOCAL_POINTS, due_date=new_due, reason=reason,
                                 by=secretariat)

    assert not DeadlineExtension.objects.exists()
    assert due(launched, Step.FOCAL_POINTS) == datetime.date(2026, 1, 29)


def test_it_lets_only_the_secretariat_extend_a_deadline(launched, focal_point_a):
    for someone in (focal_point_a, expert_of(launched)):
        with pytest.raises(PermissionDenied):
            workflow.deadline_extend(review=launched, step=Step.SELF_ASSESSMENT, due_date=datetime.date(2026, 9, 1),
                                     reason="please", by=someone)
    assert not DeadlineExtension.objects.exists()


def test_it_refuses_to_extend_a_step_that_has_not_started_or_is_done(launched, secretariat, focal_point_a):
    from reviews.services import ReviewError

    with pytest.raises(ReviewError, match="no deadline yet"):
        workflow.deadline_extend(review=launched, step=Step.WRITTEN_FEEDBACK, due_date=datetime.date(2026, 9, 1),
                                 reason="r", by=secretariat)
    submit(launched, focal_point_a)
    with pytest.raises(ReviewError, match="done"):
        workflow.deadline_extend(review=launched, step=Step.SELF_ASSESSMENT, due_date=datetime.date(2026, 9, 1),
                                 reason="r", by=secretariat)
    assert not DeadlineExtension.objects.exists()


# --- Reminders -------------------------------------------------------------------------------------


def test_it_reminds_the_state_a_week_before_its_focal_point_is_due_and_once_only(launched, focal_point_a, state_a):
    assert workflow.reminders_send(today=datetime.date(2026, 1, 21)) == 0  # 8 days before: nothing yet

    sent = workflow.reminders_send(today=datetime.date(2026, 1, 22))  # 7 days before
    again = workflow.reminders_send(today=datetime.date(2026, 1, 23))

    mine = [m for m in mail.outbox if focal_point_a.email in m.to]
    assert sent >= 1 and again == 0
    assert len(mine) == 1
    assert "Focal points appointed" in mine[0].subject and "Reminder" in mine[0].subject
    assert f"/reviews/{launched.pk}/" in mine[0].body
    assert ReminderSent.objects.filter(recipient=focal_point_a, step=Step.FOCAL_POINTS,
                                       kind=ReminderSent.Kind.BEFORE).count() == 1


def test_it_tells_the_late_and_the_secretariat_once_a_deadline_has_passed(launched, focal_point_a, secretariat):
    workflow.reminders_send(today=datetime.date(2026, 1, 30))
    workflow.reminders_send(today=datetime.date(2026, 2, 2))

    overdue = [m for m in mail.outbox if "Overdue" in m.subject and "Focal points" in m.subject]
    recipients = sorted(r for m in overdue for r in m.to)
    assert focal_point_a.email in recipients and secretariat.email in recipients
    assert len(recipients) == len(set(recipients))  # once each


def test_it_reminds_nobody_of_a_step_that_is_done(launched, focal_point_a, secretariat):
    workflow.focal_point_appoint(review=launched, state=launched.state, user=focal_point_a, by=focal_point_a)

    workflow.reminders_send(today=datetime.date(2026, 1, 22))

    assert not any(focal_point_a.email in m.to and "Focal points" in m.subject for m in mail.outbox)


def test_it_sends_a_new_reminder_for_an_extended_deadline(launched, focal_point_a, secretariat):
    workflow.reminders_send(today=datetime.date(2026, 1, 22))
    first = len([m for m in mail.outbox if focal_point_a.email in m.to and "Focal points" in m.subject])
    workflow.deadline_extend(review=launched, step=Step.FOCAL_POINTS, due_date=datetime.date(2026, 2, 20),
                             reason="Holidays", by=secretariat)

    workflow.reminders_send(today=datetime.date(2026, 2, 13))

    assert len([m for m in mail.outbox if focal_point_a.email in m.to and "Focal points" in m.subject]) == first + 1


def test_it_reminds_the_appointed_experts_of_their_written_feedback(launched, focal_point_a, secretariat):
    slot = launched.assignments.get(slot=ReviewerAssignment.Slot.OTHER_GROUP)
    reviewer = expert_of(launched)
    other_reviewer = MembershipFactory(role=Role.REVIEWER, state=slot.reviewing_state).user
    workflow.experts_appoint(assignment=slot, users=[reviewer], by=secretariat)
    submit(launched, focal_point_a)  # on 15 January 2026: feedback due 15 July 2026
    mail.outbox.clear()

    workflow.reminders_send(today=datetime.date(2026, 7, 10))

    feedback = [m for m in mail.outbox if "Written feedback" in m.subject]
    recipients = {r for m in feedback for r in m.to}
    assert reviewer.email in recipients and other_reviewer.email not in recipients


def test_it_writes_the_reminder_in_the_language_of_the_review(launched, focal_point_a):
    Review.objects.filter(pk=launched.pk).update(language="fr")

    workflow.reminders_send(today=datetime.date(2026, 1, 22))

    message = next(m for m in mail.outbox if focal_point_a.email in m.to)
    assert message.subject  # rendered under the French locale (the catalogue may lag behind)
    assert f"/reviews/{launched.pk}/" in message.body


def test_it_runs_the_reminders_from_a_task_on_the_beat_schedule(launched, focal_point_a, time_machine):
    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "reviews.tasks.send_deadline_reminders")
    assert entry["schedule"] <= 24 * 60 * 60
    time_machine.move_to(datetime.datetime(2026, 1, 22, 6, 0, tzinfo=datetime.UTC), tick=False)

    first, second = send_deadline_reminders(), send_deadline_reminders()

    assert first >= 1 and second == 0


def test_it_never_records_a_reminder_twice_even_at_the_database(launched, focal_point_a):
    from django.db import IntegrityError, transaction

    ReminderSent.objects.create(review=launched, step=Step.FOCAL_POINTS, kind="before", recipient=focal_point_a,
                                due_date=datetime.date(2026, 1, 29))
    with pytest.raises(IntegrityError), transaction.atomic():
        ReminderSent.objects.create(review=launched, step=Step.FOCAL_POINTS, kind="before", recipient=focal_point_a,
                                    due_date=datetime.date(2026, 1, 29))


# --- What I must do next ------------------------------------------------------------------------


def texts(user, today=datetime.date(2026, 1, 20)):
    return [s.text for s in next_steps(user, today)]


def test_it_tells_the_focal_point_to_appoint_answer_and_submit(launched, focal_point_a):
    steps = next_steps(focal_point_a, datetime.date(2026, 2, 1))

    assert [s.text.split(" ")[0] for s in steps] == ["Appoint", "Answer"]
    assert steps[0].due == datetime.date(2026, 1, 29) and steps[0].overdue
    assert steps[1].due == datetime.date(2026, 7, 15) and not steps[1].overdue
    assert steps[1].url == f"/responses/{launched.response_id}/"


def test_it_tells_a_reviewing_states_focal_point_to_appoint_its_people(launched):
    slot = launched.assignments.select_related("reviewing_state").get(slot=ReviewerAssignment.Slot.OTHER_GROUP)
    leader = MembershipFactory(role=Role.FOCAL_POINT, state=slot.reviewing_state).user

    steps = texts(leader)

    assert any("focal point" in t for t in steps) and any("experts" in t for t in steps)
    assert all(slot.reviewing_state.name in t for t in steps)


def test_it_tells_the_reviewer_to_give_feedback_once_submitted(launched, focal_point_a):
    reviewer = expert_of(launched)
    assert texts(reviewer) == []
    submit(launched, focal_point_a)

    steps = next_steps(reviewer, datetime.date(2026, 2, 1))

    assert [s.text.split(" ")[0] for s in steps] == ["Give"]
    assert steps[0].due == datetime.date(2026, 7, 15)


def test_it_tells_the_secretariat_what_to_confirm_and_what_is_late(launched, secretariat):
    steps = texts(secretariat, datetime.date(2026, 2, 1))
    assert steps == ["1 review is overdue"]
    assert next_steps(secretariat, datetime.date(2026, 2, 1))[0].url == "/reviews/overview/?overdue=on"

    review = loaded(launched)
    for state in [review.state] + [a.reviewing_state for a in review.assignments.all()]:
        workflow.focal_point_appoint(review=review, state=state,
                                     user=MembershipFactory(role=Role.FOCAL_POINT, state=state).user, by=secretariat)
    for a in review.assignments.all():
        workflow.experts_appoint(assignment=a, users=[MembershipFactory(role=Role.REVIEWER, state=a.reviewing_state).user],
                                 by=secretariat)

    assert texts(secretariat, datetime.date(2026, 2, 1)) == [f"Confirm the appointments of the {launched}"]


def test_it_tells_nothing_to_someone_without_a_role(launched):
    from tests.factories import UserFactory

    assert next_steps(UserFactory()) == []


# --- Two runs at once (real PostgreSQL transactions) ---------------------------------------------


def test_it_sends_each_reminder_once_when_two_runs_race(transactional_db, review_a, focal_point_a):
    """Two beat schedulers (or a task redelivered while the first still runs): the
    unique ReminderSent row lets only one of them send each reminder."""
    from django.db import connection

    from tests.questionnaire.test_concurrency import race

    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions need PostgreSQL (make test)")
    day = review_a.cycle.launch_date + datetime.timedelta(days=8)  # 6 days before the focal point is due

    outcomes = race(lambda: workflow.reminders_send(today=day), lambda: workflow.reminders_send(today=day))

    assert all(isinstance(o, int) for o in outcomes), outcomes
    to_focal_point = [m for m in mail.outbox if focal_point_a.email in m.to]
    assert sum(outcomes) == ReminderSent.objects.count() >= 1
    assert len(to_focal_point) == 1
