"""Read-side queries of the review, each a fixed number of queries."""

from __future__ import annotations

from collections import Counter, defaultdict

from django.db.models import Case, Prefetch, QuerySet, When

from parties.models import Membership
from parties.permissions import roles_of

from .models import Comment, Job, Review, ReviewCycle, ReviewerAssignment, Thread


def reviews_for_reviewer(user) -> QuerySet[Review]:
    """Reviews assigned to the States this user reviews for."""
    state_ids = roles_of(user).states_with(Membership.Role.REVIEWER)
    return (
        Review.objects.filter(assignments__reviewing_state_id__in=state_ids)
        .select_related("state", "response", "cycle__cluster")
        .prefetch_related("assignments__reviewing_state")
        .distinct()
        .order_by("cycle__year", "state__name")
    )


def reviews_of_states(user) -> QuerySet[Review]:
    """Reviews of the States this user answers for or observes."""
    roles = roles_of(user)
    state_ids = roles.states_with(Membership.Role.FOCAL_POINT, Membership.Role.CONTRIBUTOR, Membership.Role.OBSERVER)
    return (
        Review.objects.filter(state_id__in=state_ids)
        .select_related("state", "response", "cycle__cluster")
        .prefetch_related("assignments__reviewing_state")
        .order_by("cycle__year")
    )


def cycles_overview() -> QuerySet[ReviewCycle]:
    return ReviewCycle.objects.select_related("cluster__instrument", "launched_by").order_by("-year", "cluster__order")


def assignments_same_group_first() -> QuerySet[ReviewerAssignment]:
    return ReviewerAssignment.objects.select_related("reviewing_state").order_by(
        Case(When(slot=ReviewerAssignment.Slot.SAME_GROUP, then=0), default=1)
    )


def cycle_reviews(cycle: ReviewCycle) -> list[Review]:
    return list(
        Review.objects.filter(cycle=cycle)
        .select_related("state", "response")
        .prefetch_related(Prefetch("assignments", queryset=assignments_same_group_first()))
        .order_by("state__name")
    )


def workload(reviews: list[Review]) -> list[tuple[str, int]]:
    """How many reviews each reviewing State carries in these reviews."""
    load: Counter = Counter()
    for review in reviews:
        for assignment in review.assignments.all():
            load[assignment.reviewing_state.name] += 1
    return sorted(load.items(), key=lambda item: (-item[1], item[0]))


def threads_by_question(review: Review, question_ids: list[int]) -> dict[int, list[Thread]]:
    threads = defaultdict(list)
    for thread in (
        Thread.objects.filter(review=review, question_id__in=question_ids)
        .select_related("created_by")
        .prefetch_related(Prefetch("comments", queryset=Comment.objects.select_related("author", "author_state")))
    ):
        threads[thread.question_id].append(thread)
    return threads


def recent_jobs(limit: int = 50) -> QuerySet[Job]:
    return Job.objects.select_related("requested_by").order_by("-created_at")[:limit]
