"""Read-side queries of the dialogue, each a fixed number of queries: the threads
a person may read (filtered by article, status, type and State under review),
what changed in an answer since the reviewers last wrote, and notifications."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Max, Q, QuerySet

from parties.models import Membership
from parties.permissions import roles_of
from questionnaire.history import DiffSegment, text_diff
from questionnaire.kinds import kind_of
from questionnaire.models import Answer, Question, Response

from .models import Notification, Review, Thread

Role = Membership.Role


def reviews_readable_by(user) -> QuerySet[Review]:
    """Reviews whose submitted answers and dialogue ``user`` may read: the same
    people as the ``reviews.read_answers`` rule, as one query."""
    qs = Review.objects.filter(response__status=Response.Status.SUBMITTED)
    roles = roles_of(user)
    if roles.secretariat:
        return qs
    own = roles.states_with(Role.FOCAL_POINT, Role.CONTRIBUTOR, Role.OBSERVER)
    reviewing = roles.states_with(Role.REVIEWER, Role.OBSERVER)
    return qs.filter(Q(state_id__in=own) | Q(assignments__reviewing_state_id__in=reviewing)).distinct()


@dataclass(frozen=True)
class ThreadFilters:
    article: int | None = None
    status: str = ""
    kind: str = ""
    state: int | None = None

    @classmethod
    def from_query(cls, params) -> ThreadFilters:
        def number(name):
            try:
                return int(params.get(name, ""))
            except (TypeError, ValueError):
                return None

        status = params.get("status", "")
        kind = params.get("kind", "")
        return cls(
            article=number("article"),
            status=status if status in Thread.Status.values else "",
            kind=kind if kind in Thread.Kind.values else "",
            state=number("state"),
        )


def threads_filtered(reviews: QuerySet[Review], filters: ThreadFilters) -> QuerySet[Thread]:
    """The threads of ``reviews`` that match, with what a list shows: one query."""
    qs = Thread.objects.filter(review__in=reviews)
    if filters.article is not None:
        qs = qs.filter(question__article__number=filters.article)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.state is not None:
        qs = qs.filter(review__state_id=filters.state)
    return (
        qs.select_related("review__state", "review__cycle__cluster", "question__article", "created_by", "assignee")
        .annotate(comment_count=Count("comments"), last_activity=Max("comments__created_at"))
        .order_by("review__state__name", "question__article__order", "question__order", "created_at")
    )


# --- What changed in the answer since the reviewers wrote ----------------------------


@dataclass(frozen=True)
class AnswerChange:
    since: object  # the datetime of the reviewers' last comment
    before: str
    after: str
    diff: list[DiffSegment]


def answer_changes(review: Review, threads: list[Thread], questions: dict[int, Question]) -> dict[int, AnswerChange]:
    """For each thread whose answer changed after the reviewers last wrote in it,
    the word diff between the answer then and now. One query (the history rows of
    the discussed answers); the threads come with their comments prefetched and
    ``questions`` with their choices."""
    if not threads:
        return {}
    rows: dict[int, list] = {}
    history = (
        Answer.history.filter(response_id=review.response_id, question_id__in={t.question_id for t in threads})
        .order_by("history_date", "history_id")
        .values_list("question_id", "history_date", "value")
    )
    for question_id, when, value in history:
        rows.setdefault(question_id, []).append((when, value))
    changes: dict[int, AnswerChange] = {}
    for thread in threads:
        question = questions.get(thread.question_id)
        versions = rows.get(thread.question_id)
        reviewer_times = [c.created_at for c in thread.comments.all() if not c.by_state_under_review]
        if question is None or not versions or not reviewer_times:
            continue
        since = max(reviewer_times)
        then = None
        for when, value in versions:
            if when <= since:
                then = value
        now = versions[-1][1]
        labels = {c.code: c.label for c in question.choices.all()}
        kind = kind_of(question)
        before, after = kind.display(then, labels) if then is not None else "", kind.display(now, labels)
        if before != after:
            changes[thread.pk] = AnswerChange(since=since, before=before, after=after, diff=text_diff(before, after))
    return changes


def notifications_for(user, limit: int = 100) -> list[Notification]:
    return list(
        Notification.objects.filter(recipient=user)
        .select_related("review__state", "review__cycle__cluster", "thread__question__article", "actor", "observation")
        .order_by("-created_at", "-pk")[:limit]
    )
