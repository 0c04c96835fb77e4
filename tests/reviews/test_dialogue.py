"""The dialogue on answers, through its services: typed threads whose status moves
only by guarded transitions, assignees, the notifications to the State under
review (e-mail to its focal points, in app to whoever must act), the word diff
of what changed in an answer since the reviewers wrote, and the filtered lists."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied

from parties.models import Membership
from questionnaire.models import Answer, Question
from reviews import selectors_dialogue as selectors
from reviews.models import Comment, Notification, Review, Thread
from reviews.services import ReviewError
from reviews.services_dialogue import (
    comment_add,
    notification_mark_read,
    thread_assign,
    thread_resolve,
    thread_start,
    unread_count,
)
from tests.factories import MembershipFactory, question
from tests.views.conftest import fresh_review, submit

pytestmark = pytest.mark.django_db
Role = Membership.Role


@pytest.fixture
def submitted(review_a, response_a, focal_point_a):
    submit(response_a, focal_point_a)
    return fresh_review(review_a)


def start(review, reviewer, version, code="FP-5.1.a.status", kind=Thread.Kind.CLARIFICATION, **kwargs):
    return thread_start(review=review, question=question(version, code), kind=kind, body="Which authority?", by=reviewer, **kwargs)


def reload(thread: Thread) -> Thread:
    fresh = Thread.objects.select_related("review", "question").get(pk=thread.pk)
    fresh.review = fresh_review(fresh.review)
    return fresh


def revise(response, code: str, value, by) -> None:
    """The State revises an answer. The questionnaire decides when its response can
    change; the reviewers' diff reads the answer's history whatever made the change."""
    answer = Answer.objects.get(response=response, question__code=code)
    answer.value, answer.revision, answer.updated_by = value, answer.revision + 1, by
    answer.save()


# --- Threads and their states ---------------------------------------------------------


def test_it_e_mails_the_focal_points_and_notifies_them_in_app_when_a_thread_starts(
    submitted, reviewer, focal_point_a, contributor_a, version, django_capture_on_commit_callbacks
):
    other_focal_point = MembershipFactory(role=Role.FOCAL_POINT, state=submitted.state).user

    with django_capture_on_commit_callbacks(execute=True):
        thread = start(submitted, reviewer, version)

    [message] = mail.outbox
    assert sorted(message.to) == sorted([focal_point_a.email, other_focal_point.email])
    assert "FP-5.1.a.status" in message.body and f"#thread-{thread.pk}" in message.body
    notified = set(Notification.objects.filter(thread=thread).values_list("recipient_id", "kind"))
    assert notified == {
        (focal_point_a.pk, Notification.Kind.THREAD_STARTED),
        (other_focal_point.pk, Notification.Kind.THREAD_STARTED),
    }
    assert unread_count(focal_point_a) == 1 and unread_count(contributor_a) == 0


def test_it_sends_nothing_when_the_thread_is_refused(submitted, reviewer, version, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ReviewError):
        thread_start(review=submitted, question=question(version, "FP-5.1.a.status"), kind="comment", body="  ", by=reviewer)

    assert mail.outbox == [] and not Notification.objects.exists() and not Thread.objects.exists()


def test_it_refuses_an_unknown_type_of_thread(submitted, reviewer, version):
    with pytest.raises(ReviewError):
        start(submitted, reviewer, version, kind="gossip")
    assert not Thread.objects.exists()


def test_it_moves_a_thread_open_answered_open_resolved(submitted, reviewer, contributor_a, version):
    thread = start(submitted, reviewer, version)
    assert thread.status == Thread.Status.OPEN

    comment_add(thread=reload(thread), body="The police.", by=contributor_a)
    assert reload(thread).status == Thread.Status.ANSWERED
    assert Comment.objects.get(body="The police.").by_state_under_review

    comment_add(thread=reload(thread), body="Which police?", by=reviewer)
    assert reload(thread).status == Thread.Status.OPEN

    resolved = thread_resolve(thread=reload(thread), by=reviewer)
    assert resolved.status == Thread.Status.RESOLVED
    assert (resolved.resolved_by, reload(thread).status) == (reviewer, Thread.Status.RESOLVED)


def test_it_never_lets_code_set_the_status_directly(submitted, reviewer, version):
    thread = reload(start(submitted, reviewer, version))
    with pytest.raises(AttributeError):
        thread.status = Thread.Status.RESOLVED


@pytest.mark.parametrize("persona", ["focal_point_a", "contributor_a", "reviewer"])
def test_it_refuses_a_reply_to_a_resolved_thread_and_changes_nothing(request, submitted, reviewer, version, persona):
    thread = start(submitted, reviewer, version)
    thread_resolve(thread=reload(thread), by=reviewer)
    before = (list(Comment.objects.values_list("pk", flat=True)), Notification.objects.count())

    with pytest.raises(ReviewError, match="resolved"):
        comment_add(thread=reload(thread), body="One more thing.", by=request.getfixturevalue(persona))

    assert reload(thread).status == Thread.Status.RESOLVED
    assert (list(Comment.objects.values_list("pk", flat=True)), Notification.objects.count()) == before


def test_it_refuses_to_resolve_a_thread_twice_or_by_the_state(submitted, reviewer, focal_point_a, version):
    thread = start(submitted, reviewer, version)
    with pytest.raises(PermissionDenied):
        thread_resolve(thread=reload(thread), by=focal_point_a)
    assert reload(thread).status == Thread.Status.OPEN

    thread_resolve(thread=reload(thread), by=reviewer)
    with pytest.raises(ReviewError, match="already resolved"):
        thread_resolve(thread=reload(thread), by=reviewer)


@pytest.mark.parametrize("persona", ["observer_a", "observer_of_reviewer", "focal_point_b", "unassigned_reviewer", "secretariat"])
def test_it_refuses_threads_and_replies_by_people_who_do_not_take_part(request, submitted, reviewer, version, persona):
    person = request.getfixturevalue(persona)
    thread = start(submitted, reviewer, version)
    with pytest.raises(PermissionDenied):
        start(submitted, person, version)
    with pytest.raises(PermissionDenied):
        comment_add(thread=reload(thread), body="Let me in.", by=person)
    assert Thread.objects.count() == 1 and Comment.objects.count() == 1


def test_it_tells_the_reviewers_when_the_state_replies(submitted, reviewer, focal_point_a, contributor_a, version):
    thread = start(submitted, reviewer, version)
    comment_add(thread=reload(thread), body="The police.", by=contributor_a)

    assert Notification.objects.filter(recipient=reviewer, kind=Notification.Kind.STATE_REPLIED, thread=thread).count() == 1
    # The author of a reply is not notified of it.
    assert not Notification.objects.filter(recipient=contributor_a).exists()


# --- Assignees ------------------------------------------------------------------------


def test_it_assigns_a_thread_to_a_person_of_the_state_under_review_and_tells_them(submitted, reviewer, contributor_a, version):
    thread = start(submitted, reviewer, version, assignee=contributor_a)
    assert thread.assignee == contributor_a
    assert Notification.objects.filter(recipient=contributor_a, kind=Notification.Kind.THREAD_STARTED).exists()

    thread_assign(thread=reload(thread), assignee=reviewer, by=contributor_a)
    assert reload(thread).assignee == reviewer
    assert Notification.objects.filter(recipient=reviewer, kind=Notification.Kind.THREAD_ASSIGNED).exists()


@pytest.mark.parametrize("persona", ["focal_point_b", "unassigned_reviewer", "observer_a", "secretariat"])
def test_it_refuses_an_assignee_who_takes_no_part_in_the_dialogue(request, submitted, reviewer, contributor_a, version, persona):
    thread = start(submitted, reviewer, version, assignee=contributor_a)
    with pytest.raises(ReviewError, match="assigned only"):
        thread_assign(thread=reload(thread), assignee=request.getfixturevalue(persona), by=reviewer)
    with pytest.raises(ReviewError, match="assigned only"):
        start(submitted, reviewer, version, code="FP-5.1.a.q1", assignee=request.getfixturevalue(persona))
    assert reload(thread).assignee == contributor_a and Thread.objects.count() == 1


def test_it_refuses_to_assign_a_resolved_thread(submitted, reviewer, contributor_a, version):
    thread = start(submitted, reviewer, version)
    thread_resolve(thread=reload(thread), by=reviewer)
    with pytest.raises(ReviewError, match="resolved"):
        thread_assign(thread=reload(thread), assignee=contributor_a, by=reviewer)
    assert reload(thread).assignee is None


# --- What changed since the reviewers wrote ---------------------------------------------


def changes_of(review, version, threads):
    questions = {q.pk: q for q in Question.objects.filter(version=version).prefetch_related("choices")}
    threads = list(Thread.objects.filter(pk__in=[t.pk for t in threads]).prefetch_related("comments"))
    return selectors.answer_changes(review, threads, questions)


def test_it_shows_the_reviewers_exactly_what_changed_in_the_answer_since_they_commented(
    submitted, reviewer, focal_point_a, version
):
    thread = start(submitted, reviewer, version)
    assert changes_of(submitted, version, [thread]) == {}

    comment_add(thread=reload(thread), body="We will update it.", by=focal_point_a)
    revise(submitted.response, "FP-5.1.a.status", "partially", focal_point_a)

    change = changes_of(submitted, version, [thread])[thread.pk]
    assert (change.before, change.after) == ("Yes", "Partially")
    assert [(s.op, s.text) for s in change.diff] == [("delete", "Yes"), ("insert", "Partially")]


def test_it_measures_the_change_from_the_reviewers_last_comment(submitted, reviewer, focal_point_a, version):
    thread = start(submitted, reviewer, version)
    revise(submitted.response, "FP-5.1.a.status", "partially", focal_point_a)
    comment_add(thread=reload(thread), body="Thank you, noted.", by=reviewer)

    # The reviewer wrote after the change: nothing new since.
    assert changes_of(submitted, version, [thread]) == {}

    revise(submitted.response, "FP-5.1.a.status", "no", focal_point_a)
    assert changes_of(submitted, version, [thread])[thread.pk].diff[-1].text == "No"


# --- Lists and notifications ------------------------------------------------------------


def test_it_filters_threads_by_article_status_type_and_state(submitted, reviewer, focal_point_a, version):
    a = start(submitted, reviewer, version, code="FP-5.1.a.status")
    b = start(submitted, reviewer, version, code="FP-5.1.a.q1", kind=Thread.Kind.COMMENT)
    comment_add(thread=reload(b), body="Answered.", by=focal_point_a)
    reviews = selectors.reviews_readable_by(reviewer)

    def ids(**filters):
        return [t.pk for t in selectors.threads_filtered(reviews, selectors.ThreadFilters(**filters))]

    assert sorted(ids()) == sorted([a.pk, b.pk])
    assert ids(status=Thread.Status.ANSWERED) == [b.pk]
    assert ids(kind=Thread.Kind.CLARIFICATION) == [a.pk]
    assert ids(article=14) == []
    assert sorted(ids(article=5, state=submitted.state_id)) == sorted([a.pk, b.pk])
    assert ids(state=submitted.state_id + 999) == []
    assert selectors.ThreadFilters.from_query({"status": "bogus", "article": "x", "kind": "comment"}) == selectors.ThreadFilters(
        kind="comment"
    )


@pytest.mark.parametrize(
    ("persona", "sees"),
    [
        ("reviewer", True),
        ("focal_point_a", True),
        ("observer_a", True),
        ("observer_of_reviewer", True),
        ("secretariat", True),
        ("unassigned_reviewer", False),
    ],
)
def test_it_lists_the_reviews_whose_dialogue_a_person_reads(request, submitted, persona, sees):
    assert selectors.reviews_readable_by(request.getfixturevalue(persona)).filter(pk=submitted.pk).exists() is sees


def test_it_lists_no_review_before_the_submission(review_a, reviewer, observer_a):
    assert not selectors.reviews_readable_by(reviewer).exists()
    assert not selectors.reviews_readable_by(observer_a).exists()


def test_it_marks_only_ones_own_notifications_read(submitted, reviewer, focal_point_a, version):
    other_focal_point = MembershipFactory(role=Role.FOCAL_POINT, state=submitted.state).user
    start(submitted, reviewer, version)
    start(submitted, reviewer, version, code="FP-5.1.a.q1")
    theirs = Notification.objects.filter(recipient=other_focal_point).first()
    assert unread_count(focal_point_a) == 2

    assert notification_mark_read(user=focal_point_a, notification_ids=[theirs.pk]) == 0
    assert unread_count(other_focal_point) == 2
    assert notification_mark_read(user=focal_point_a) == 2
    assert unread_count(focal_point_a) == 0 and unread_count(other_focal_point) == 2


def test_it_keeps_the_review_status_out_of_the_dialogue(submitted, reviewer, focal_point_a, version):
    thread = start(submitted, reviewer, version)
    comment_add(thread=reload(thread), body="Here.", by=focal_point_a)
    assert Review.objects.get(pk=submitted.pk).status == Review.Status.SUBMITTED
