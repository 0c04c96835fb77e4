"""The deadlines of a review, computed (domain.md 1.7), never stored twice.

Each step's deadline runs from the cycle's launch date with the cycle's own
periods (copied from the settings when the cycle was launched): focal points
appointed within 2 weeks, experts within 4 weeks, the self-assessment within 6
months; the reviewers' written feedback within 6 months of the submission. The
latest extension the secretariat granted for a step replaces its deadline.

``review_deadlines`` reads only what ``selectors.with_deadline_data`` prefetches, so
computing the deadlines of many reviews costs a fixed number of queries.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from questionnaire.models import Response

from .models import Review, Step

BEYOND_APPOINTMENTS = {
    Review.Status.APPOINTED,
    Review.Status.IN_PREPARATION,
    Review.Status.SUBMITTED,
    Review.Status.WRITTEN_FEEDBACK,
    Review.Status.DIALOGUE,
    Review.Status.DRAFTING_OBSERVATIONS,
    Review.Status.AGREED,
    Review.Status.FINALIZED,
}
FEEDBACK_GIVEN = {
    Review.Status.DIALOGUE,
    Review.Status.DRAFTING_OBSERVATIONS,
    Review.Status.AGREED,
    Review.Status.FINALIZED,
}


@dataclass(frozen=True)
class Deadline:
    step: str
    due: datetime.date | None  # None: the step has not started (no submission yet)
    done: bool
    extended: bool

    @property
    def label(self) -> str:
        return Step(self.step).label

    def is_overdue(self, today: datetime.date) -> bool:
        return not self.done and self.due is not None and today > self.due

    def is_pending(self) -> bool:
        return not self.done and self.due is not None


def add_weeks(day: datetime.date, weeks: int) -> datetime.date:
    return day + datetime.timedelta(weeks=weeks)


def default_due(review: Review, step: str) -> datetime.date | None:
    """A step's deadline before any extension."""
    from .services import add_months

    cycle = review.cycle
    if step == Step.FOCAL_POINTS:
        return add_weeks(cycle.launch_date, cycle.focal_point_due_weeks)
    if step == Step.EXPERTS:
        return add_weeks(cycle.launch_date, cycle.experts_due_weeks)
    if step == Step.SELF_ASSESSMENT:
        return add_months(cycle.launch_date, cycle.self_assessment_due_months)
    if step == Step.WRITTEN_FEEDBACK:
        submitted_at = review.response.submitted_at
        if submitted_at is None:
            return None
        return add_months(submitted_at.date(), cycle.written_feedback_due_months)
    raise ValueError(step)


def focal_points_missing(review: Review) -> list:
    """The States (of the three) without a focal point for this review."""
    appointed = {a.state_id for a in review.focal_points.all() if a.ended_at is None}
    states = [review.state] + [a.reviewing_state for a in review.assignments.all()]
    return [s for s in states if s.pk not in appointed]


def experts_missing(review: Review) -> list:
    """The assignments whose reviewing State appointed no expert yet."""
    return [a for a in review.assignments.all() if not any(e.ended_at is None for e in a.expert_appointments.all())]


def _done(review: Review, step: str) -> bool:
    if review.status == Review.Status.FINALIZED:
        return True
    if step == Step.FOCAL_POINTS:
        return review.status in BEYOND_APPOINTMENTS or not focal_points_missing(review)
    if step == Step.EXPERTS:
        return review.status in BEYOND_APPOINTMENTS or not experts_missing(review)
    if step == Step.SELF_ASSESSMENT:
        return review.response.status == Response.Status.SUBMITTED
    if step == Step.WRITTEN_FEEDBACK:
        return review.status in FEEDBACK_GIVEN
    raise ValueError(step)


def review_deadlines(review: Review) -> list[Deadline]:
    """Every step's deadline, in the order of the review."""
    latest: dict[str, datetime.date] = {}
    for extension in sorted(review.extensions.all(), key=lambda e: (e.granted_at, e.pk)):
        latest[extension.step] = extension.due_date
    deadlines = []
    for step in Step.values:
        extended = step in latest and not (step == Step.WRITTEN_FEEDBACK and review.response.submitted_at is None)
        due = latest[step] if extended else default_due(review, step)
        deadlines.append(Deadline(step=step, due=due, done=_done(review, step), extended=extended))
    return deadlines


def next_deadline(review: Review) -> Deadline | None:
    """The earliest deadline still to meet."""
    pending = [d for d in review_deadlines(review) if d.is_pending()]
    return min(pending, key=lambda d: d.due) if pending else None


def deadline_of(review: Review, step: str) -> Deadline:
    return next(d for d in review_deadlines(review) if d.step == step)
