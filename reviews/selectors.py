"""Read-side queries of the review, each a fixed number of queries."""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.db.models import Case, Count, Prefetch, Q, QuerySet, When

from parties.models import Membership
from parties.permissions import roles_of

from .models import (
    Comment,
    DrawEvent,
    ExpertAppointment,
    FocalPointAppointment,
    Job,
    Review,
    ReviewCycle,
    ReviewerAssignment,
    Thread,
)


def reviews_for_reviewer(user) -> QuerySet[Review]:
    """Reviews assigned to the States this user reviews for (or observes for: an
    observer designated by a reviewing State reads those reviews)."""
    state_ids = roles_of(user).states_with(Membership.Role.REVIEWER, Membership.Role.OBSERVER)
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
        .select_related("created_by", "assignee")
        .prefetch_related(Prefetch("comments", queryset=Comment.objects.select_related("author", "author_state")))
    ):
        threads[thread.question_id].append(thread)
    return threads


def recent_jobs(limit: int = 50) -> QuerySet[Job]:
    return Job.objects.select_related("requested_by").order_by("-created_at")[:limit]


# --- The workflow: deadlines, next steps, overview, workload ------------------------------


def with_deadline_data(queryset: QuerySet[Review]) -> QuerySet[Review]:
    """What reviews.deadlines and the workflow read, in a fixed number of queries
    whatever the number of reviews: the review with its State, cycle and response
    (1), its focal points (1), assignments with their States (1), their experts (1),
    its extensions (1)."""
    return queryset.select_related(
        "state", "cycle__cluster", "cycle__group", "response", "state__review_group_member__group"
    ).prefetch_related(
        Prefetch("focal_points", queryset=FocalPointAppointment.objects.select_related("user")),
        Prefetch("assignments", queryset=assignments_same_group_first()),
        Prefetch("assignments__expert_appointments", queryset=ExpertAppointment.objects.select_related("user")),
        "extensions",
    )


@dataclass(frozen=True)
class OverviewFilters:
    cluster: int | None = None
    cycle: int | None = None
    group: int | None = None
    regional_group: str = ""


@dataclass(frozen=True)
class OverviewRow:
    review: Review
    deadlines: list
    next: object  # deadlines.Deadline | None
    overdue: list

    @property
    def group(self):
        member = getattr(self.review.state, "review_group_member", None)
        return member.group if member else None


def reviews_overview(filters: OverviewFilters, today: datetime.date | None = None) -> list[OverviewRow]:
    """Every review with its status, next deadline and overdue steps (the
    secretariat's overview and its export): six queries whatever the number."""
    from django.utils import timezone

    from .deadlines import next_deadline, review_deadlines

    today = today or timezone.localdate()
    queryset = Review.objects.all()
    if filters.cluster:
        queryset = queryset.filter(cycle__cluster_id=filters.cluster)
    if filters.cycle:
        queryset = queryset.filter(cycle_id=filters.cycle)
    if filters.group:
        queryset = queryset.filter(state__review_group_member__group_id=filters.group)
    if filters.regional_group:
        queryset = queryset.filter(state__regional_group=filters.regional_group)
    rows = []
    for review in with_deadline_data(queryset.order_by("-cycle__year", "cycle__cluster__order", "state__name")):
        deadlines = review_deadlines(review)
        rows.append(
            OverviewRow(
                review=review,
                deadlines=deadlines,
                next=next_deadline(review),
                overdue=[d for d in deadlines if d.is_overdue(today)],
            )
        )
    return rows


@dataclass(frozen=True)
class NextStep:
    """One thing a person must do next: what, for which review, by when, where."""

    text: str
    url: str
    due: datetime.date | None = None
    overdue: bool = False


def next_steps(user, today: datetime.date | None = None) -> list[NextStep]:
    """What ``user`` must do next, across every role they hold; a fixed number of
    queries whatever the number of reviews (the roles are cached on the user)."""
    from django.urls import reverse
    from django.utils import timezone
    from django.utils.translation import gettext as _
    from django.utils.translation import ngettext

    from .deadlines import deadline_of, experts_missing, focal_points_missing, review_deadlines
    from .models import Step

    today = today or timezone.localdate()
    roles = roles_of(user)
    leads = roles.states_with(Membership.Role.FOCAL_POINT)
    reviews_for = roles.states_with(Membership.Role.REVIEWER)
    steps: list[NextStep] = []

    def add(text, url, deadline=None):
        due = deadline.due if deadline else None
        steps.append(NextStep(text, url, due, bool(deadline and deadline.is_overdue(today))))

    if leads or reviews_for:
        involved = Q(state_id__in=leads) | Q(assignments__reviewing_state_id__in=leads | reviews_for)
        reviews = with_deadline_data(
            Review.objects.filter(involved).exclude(status=Review.Status.FINALIZED).distinct()
        ).annotate(waiting=Count("threads", filter=Q(threads__status="open"), distinct=True))
        for review in reviews.order_by("cycle__year", "state__name"):
            url = reverse("reviews:review", args=[review.pk])
            if review.state_id in leads:
                missing = {s.pk for s in focal_points_missing(review)}
                if review.state_id in missing:
                    add(_("Appoint your focal point for the %(review)s") % {"review": review}, url,
                        deadline_of(review, Step.FOCAL_POINTS))
                sa = deadline_of(review, Step.SELF_ASSESSMENT)
                if not sa.done:
                    add(_("Answer and submit the self-assessment of the %(review)s") % {"review": review},
                        reverse("questionnaire:response", args=[review.response_id]), sa)
                if review.waiting:
                    add(ngettext("Reply to %(count)s open thread in the %(review)s",
                                 "Reply to %(count)s open threads in the %(review)s", review.waiting)
                        % {"count": review.waiting, "review": review}, url)
            for assignment in review.assignments.all():
                state_id = assignment.reviewing_state_id
                page = reverse("reviews:assignment", args=[assignment.pk])
                if state_id in leads:
                    if state_id in {s.pk for s in focal_points_missing(review)}:
                        add(_("Appoint %(state)s's focal point for the %(review)s")
                            % {"state": assignment.reviewing_state.name, "review": review}, page,
                            deadline_of(review, Step.FOCAL_POINTS))
                    if assignment in experts_missing(review):
                        add(_("Appoint %(state)s's experts for the %(review)s")
                            % {"state": assignment.reviewing_state.name, "review": review}, page,
                            deadline_of(review, Step.EXPERTS))
                if state_id in reviews_for and review.status in (Review.Status.SUBMITTED, Review.Status.WRITTEN_FEEDBACK):
                    add(_("Give your written feedback on the %(review)s") % {"review": review}, url,
                        deadline_of(review, Step.WRITTEN_FEEDBACK))
    if roles.secretariat:
        overview = reverse("reviews:overview")
        # One pass over the open reviews: what to confirm, finalize, and what is late.
        overdue = 0
        open_reviews = with_deadline_data(Review.objects.exclude(status=Review.Status.FINALIZED))
        for review in open_reviews.order_by("cycle__year", "state__name"):
            url = reverse("reviews:review", args=[review.pk])
            if review.status == Review.Status.LAUNCHED and not review.appointments_missing():
                add(_("Confirm the appointments of the %(review)s") % {"review": review}, url)
            elif review.status == Review.Status.AGREED:
                add(_("Finalize the %(review)s") % {"review": review}, url)
            overdue += any(d.is_overdue(today) for d in review_deadlines(review))
        if overdue:
            steps.append(NextStep(ngettext("%(count)s review is overdue", "%(count)s reviews are overdue", overdue)
                                  % {"count": overdue}, overview + "?overdue=on", None, True))
    return sorted(steps, key=lambda s: (s.due is None, s.due or datetime.date.max))


def state_workload() -> list[dict]:
    """Per State: the reviews it carries as reviewing State, per cycle, and the
    cycle's cap (2 queries whatever the number of States and cycles)."""
    cycles = {c.pk: c for c in cycles_overview()}
    counts = (
        ReviewerAssignment.objects.values("reviewing_state_id", "reviewing_state__name", "reviewing_state__iso3",
                                          "review__cycle_id")
        .annotate(n=Count("pk"))
        .order_by("reviewing_state__name")
    )
    by_state: dict[int, dict] = {}
    for row in counts:
        entry = by_state.setdefault(
            row["reviewing_state_id"],
            {"name": row["reviewing_state__name"], "iso3": row["reviewing_state__iso3"], "cycles": [], "total": 0},
        )
        cycle = cycles[row["review__cycle_id"]]
        entry["cycles"].append({"cycle": cycle, "count": row["n"], "at_cap": row["n"] >= cycle.max_reviews_per_state})
        entry["total"] += row["n"]
    return list(by_state.values())


def draw_events(cycle: ReviewCycle) -> QuerySet[DrawEvent]:
    return cycle.draw_events.select_related("by", "review__state", "previous_state", "new_state").order_by("at", "pk")
