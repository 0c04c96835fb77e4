"""Review cycles, the draw of reviewing States, the dialogue on answers, and the
background jobs that compile summaries and cluster reports."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import FSMField, FSMModelMixin, transition

from parties.models import State
from questionnaire.models import Cluster, Question, Response


class AppendOnlyError(Exception):
    """A record kept for the history of the review cannot be changed or deleted."""


class AppendOnly(models.Model):
    """Rows of record: written once, never updated or deleted (through the ORM)."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows are never changed")
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{type(self).__name__} rows are never deleted")


# Defaults of a cycle's deadlines and cap, read from the settings when a cycle is made.
def default_focal_point_due_weeks() -> int:
    return settings.FOCAL_POINT_DUE_WEEKS


def default_experts_due_weeks() -> int:
    return settings.EXPERTS_DUE_WEEKS


def default_self_assessment_due_months() -> int:
    return settings.SELF_ASSESSMENT_DUE_MONTHS


def default_written_feedback_due_months() -> int:
    return settings.WRITTEN_FEEDBACK_DUE_MONTHS


def default_max_reviews_per_state() -> int:
    return settings.MAX_REVIEWS_PER_STATE_PER_CYCLE


class ReviewGroup(models.Model):
    """One of the three groups of States parties, split by lot, that start their
    reviews in consecutive years (domain.md 1.5)."""

    number = models.PositiveSmallIntegerField(_("group"), unique=True)
    start_year = models.PositiveSmallIntegerField(_("first year of review"), unique=True)

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return _("Group %(number)s (from %(year)s)") % {"number": self.number, "year": self.start_year}


class ReviewGroupMember(models.Model):
    """A State's group: one group per State."""

    state = models.OneToOneField(State, on_delete=models.PROTECT, related_name="review_group_member")
    group = models.ForeignKey(ReviewGroup, on_delete=models.PROTECT, related_name="members")

    def __str__(self) -> str:
        return f"{self.state} in {self.group}"


class ReviewCycle(models.Model):
    """The review of one cluster, opened in one year for a set of States."""

    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="cycles", verbose_name=_("cluster"))
    year = models.PositiveSmallIntegerField(_("year"))
    launched_at = models.DateTimeField(_("launched at"), auto_now_add=True)
    launched_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The draw is reproducible: the same seed over the same States gives the same result.
    draw_seed = models.CharField(_("draw seed"), max_length=64)
    draw_algorithm = models.CharField(max_length=32, default="balanced-v1")
    group = models.ForeignKey(
        ReviewGroup, on_delete=models.PROTECT, null=True, blank=True, related_name="cycles", verbose_name=_("review group")
    )
    # T0 of every deadline of the cycle's reviews (the steps of domain.md 1.7).
    launch_date = models.DateField(_("launch date"), default=timezone.localdate)
    focal_point_due_weeks = models.PositiveSmallIntegerField(
        _("focal points appointed within (weeks)"), default=default_focal_point_due_weeks
    )
    experts_due_weeks = models.PositiveSmallIntegerField(
        _("experts appointed within (weeks)"), default=default_experts_due_weeks
    )
    self_assessment_due_months = models.PositiveSmallIntegerField(
        _("self-assessment submitted within (months)"), default=default_self_assessment_due_months
    )
    written_feedback_due_months = models.PositiveSmallIntegerField(
        _("written feedback within (months of the submission)"), default=default_written_feedback_due_months
    )
    max_reviews_per_state = models.PositiveSmallIntegerField(
        _("reviews one State carries at most"), default=default_max_reviews_per_state
    )

    class Meta:
        ordering = ["-year", "cluster__order"]
        constraints = [models.UniqueConstraint(fields=["cluster", "year"], name="one_cycle_per_cluster_year")]

    def __str__(self) -> str:
        return f"{self.cluster} — {self.year}"


def _may(perm: str):
    """A transition's permission: the rules predicate ``perm`` on the review (a
    callable, so that django-fsm never asks it without the review)."""

    def check(review, user) -> bool:
        return user.has_perm(perm, review)

    return check


class Review(FSMModelMixin, models.Model):
    class Status(models.TextChoices):
        LAUNCHED = "launched", _("Launched")
        APPOINTED = "appointed", _("Focal points and experts appointed")
        IN_PREPARATION = "in_preparation", _("Self-assessment in preparation")
        SUBMITTED = "submitted", _("Self-assessment submitted")
        WRITTEN_FEEDBACK = "written_feedback", _("Written feedback")
        DIALOGUE = "dialogue", _("Dialogue")
        DRAFTING_OBSERVATIONS = "drafting_observations", _("Observations being drafted")
        AGREED = "agreed", _("Agreed")
        FINALIZED = "finalized", _("Finalized")

    cycle = models.ForeignKey(ReviewCycle, on_delete=models.PROTECT, related_name="reviews")
    state = models.ForeignKey(State, on_delete=models.PROTECT, related_name="reviews_as_reviewed", verbose_name=_("State under review"))
    response = models.OneToOneField(Response, on_delete=models.PROTECT, related_name="review")
    status = FSMField(default=Status.LAUNCHED, choices=Status.choices, protected=True)
    # The language the review is conducted in: its final documents are produced in it.
    language = models.CharField(
        _("language of the review"), max_length=8, choices=settings.LANGUAGES, default="en"
    )

    class Meta:
        ordering = ["cycle", "state__name"]
        constraints = [models.UniqueConstraint(fields=["cycle", "state"], name="one_review_per_state_per_cycle")]

    def __str__(self) -> str:
        return _("Review of %(state)s, %(cycle)s") % {"state": self.state, "cycle": self.cycle}

    # The workflow (services.review_transition moves it; who may is in permissions.py).
    # Callables the observations' code registers: review -> reasons it is not yet agreed.
    agreement_checks: ClassVar[list[Callable[[Review], list[str]]]] = []

    def appointments_missing(self) -> list[str]:
        """What keeps the appointments from being confirmed: a focal point for each
        of the three States, and experts for each reviewing State."""
        missing = []
        appointed = {a.state_id for a in self.focal_points.all() if a.ended_at is None}
        states = [self.state] + [a.reviewing_state for a in self.assignments.all()]
        for state in states:
            if state.pk not in appointed:
                missing.append(_("%(state)s has no focal point for this review.") % {"state": state.name})
        for assignment in self.assignments.all():
            if not any(e.ended_at is None for e in assignment.expert_appointments.all()):
                missing.append(
                    _("%(state)s has appointed no expert for this review.") % {"state": assignment.reviewing_state.name}
                )
        return missing

    def agreement_missing(self) -> list[str]:
        return [reason for check in self.agreement_checks for reason in check(self)]

    def blockers(self, target: str) -> list[str]:
        """Why the review cannot move to ``target`` yet (empty: nothing blocks it)."""
        if target == self.Status.APPOINTED:
            return self.appointments_missing()
        if target == self.Status.AGREED:
            return self.agreement_missing()
        return []

    @transition(
        field=status,
        source=Status.LAUNCHED,
        target=Status.APPOINTED,
        permission=_may("reviews.confirm_appointments"),
        conditions=[lambda review: not review.appointments_missing()],
    )
    def confirm_appointments(self) -> None:
        """The secretariat confirms that the three States appointed their people."""

    @transition(
        field=status, source=Status.APPOINTED, target=Status.IN_PREPARATION, permission=_may("reviews.prepare_self_assessment")
    )
    def start_preparation(self) -> None:
        """The State under review starts preparing its self-assessment."""

    @transition(
        field=status,
        source=[Status.LAUNCHED, Status.APPOINTED, Status.IN_PREPARATION],
        target=Status.SUBMITTED,
    )
    def mark_submitted(self) -> None:
        """The State under review submitted its self-assessment (the submission
        signal, never a person directly)."""

    @transition(field=status, source=Status.SUBMITTED, target=Status.WRITTEN_FEEDBACK, permission=_may("reviews.advance_review"))
    def start_written_feedback(self) -> None:
        """The reviewing States start their written feedback."""

    @transition(field=status, source=Status.WRITTEN_FEEDBACK, target=Status.DIALOGUE, permission=_may("reviews.advance_review"))
    def open_dialogue(self) -> None:
        """The written feedback is given; the dialogue follows."""

    @transition(
        field=status, source=Status.DIALOGUE, target=Status.DRAFTING_OBSERVATIONS, permission=_may("reviews.advance_review")
    )
    def start_drafting(self) -> None:
        """The reviewers draft the list of observations."""

    @transition(
        field=status,
        source=Status.DRAFTING_OBSERVATIONS,
        target=Status.AGREED,
        permission=_may("reviews.record_agreement"),
        conditions=[lambda review: not review.agreement_missing()],
    )
    def agree(self) -> None:
        """The three States agreed on the observations."""

    @transition(field=status, source=Status.AGREED, target=Status.FINALIZED, permission=_may("reviews.finalize"))
    def finalize(self) -> None:
        """The secretariat finalizes the review."""


class ReviewerAssignment(models.Model):
    """One of the two reviewing States of a review."""

    class Slot(models.TextChoices):
        SAME_GROUP = "same_group", _("Same regional group")
        OTHER_GROUP = "other_group", _("Other regional group")

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="assignments")
    reviewing_state = models.ForeignKey(State, on_delete=models.PROTECT, related_name="review_assignments")
    slot = models.CharField(max_length=16, choices=Slot.choices)

    class Meta:
        ordering = ["review", "slot"]
        constraints = [
            models.UniqueConstraint(fields=["review", "slot"], name="one_reviewer_per_slot"),
            models.UniqueConstraint(fields=["review", "reviewing_state"], name="reviewer_once_per_review"),
        ]

    def __str__(self) -> str:
        return f"{self.reviewing_state} reviews {self.review.state} ({self.slot})"


class FocalPointAppointment(models.Model):
    """A State's focal point for one review: one at a time, replaceable. A
    replacement ends the current row, so who appointed whom and when stays."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="focal_points")
    state = models.ForeignKey(State, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="focal_point_appointments")
    appointed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    appointed_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["review", "state", "appointed_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["review", "state"], condition=Q(ended_at__isnull=True), name="one_focal_point_per_state_per_review"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} for {self.state} on review {self.review_id}"


class ExpertAppointment(models.Model):
    """A governmental expert a reviewing State appointed for one review."""

    assignment = models.ForeignKey(ReviewerAssignment, on_delete=models.CASCADE, related_name="expert_appointments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="expert_appointments")
    appointed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    appointed_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["assignment", "appointed_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["assignment", "user"], condition=Q(ended_at__isnull=True), name="one_active_expert_appointment"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} on assignment {self.assignment_id}"


class Step(models.TextChoices):
    """The steps of a review that have a deadline (domain.md 1.7)."""

    FOCAL_POINTS = "focal_points", _("Focal points appointed")
    EXPERTS = "experts", _("Governmental experts appointed")
    SELF_ASSESSMENT = "self_assessment", _("Self-assessment submitted")
    WRITTEN_FEEDBACK = "written_feedback", _("Written feedback given")


class DeadlineExtension(AppendOnly):
    """An extension the secretariat granted; the latest one of a step is its deadline."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="extensions")
    step = models.CharField(_("step"), max_length=32, choices=Step.choices)
    previous_due_date = models.DateField()
    due_date = models.DateField(_("new deadline"))
    reason = models.TextField(_("reason"))
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["review", "step", "granted_at", "pk"]

    def __str__(self) -> str:
        return f"{self.step} of review {self.review_id} to {self.due_date}"


class ReminderSent(models.Model):
    """One reminder e-mail: the unique constraint makes sending twice impossible,
    however often (or however many times at once) the periodic task runs."""

    class Kind(models.TextChoices):
        BEFORE = "before", _("Before the deadline")
        AFTER = "after", _("After the deadline")

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="reminders")
    step = models.CharField(max_length=32, choices=Step.choices)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    due_date = models.DateField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["review", "step", "kind", "recipient", "due_date"], name="one_reminder_per_deadline_and_person"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.step} of review {self.review_id} to {self.recipient_id}"


class DrawEvent(AppendOnly):
    """Every draw and every change to it, on record: who, when, seed, reason."""

    class Kind(models.TextChoices):
        LAUNCH = "launch", _("Draw at launch")
        REDRAW = "redraw", _("Redraw of one reviewer")
        SWAP = "swap", _("Reviewer swapped by the secretariat")
        GROUPS = "groups", _("Lots of the three review groups")
        GROUP_CHANGE = "group_change", _("State moved to another group")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    cycle = models.ForeignKey(ReviewCycle, on_delete=models.PROTECT, null=True, blank=True, related_name="draw_events")
    review = models.ForeignKey(Review, on_delete=models.PROTECT, null=True, blank=True, related_name="draw_events")
    slot = models.CharField(max_length=16, choices=ReviewerAssignment.Slot.choices, blank=True)
    previous_state = models.ForeignKey(State, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    new_state = models.ForeignKey(State, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    seed = models.CharField(max_length=64, blank=True)
    reason = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at}"


class StatusChange(AppendOnly):
    """Every move of a review's status: from, to, who (None: the system), when, why."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="status_changes")
    source = models.CharField(max_length=32, choices=Review.Status.choices)
    target = models.CharField(max_length=32, choices=Review.Status.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.review_id}: {self.source} → {self.target}"


class Thread(FSMModelMixin, models.Model):
    """A conversation on one answer of a review.

    Its status moves only through the transitions below (services call them):
    the State under review replying answers it, a reviewer following up opens it
    again, a reviewer resolves it; a resolved thread takes no more replies."""

    class Kind(models.TextChoices):
        COMMENT = "comment", _("Comment")
        CLARIFICATION = "clarification", _("Request for clarification")
        ADDITIONAL_INFORMATION = "additional_information", _("Request for additional information")

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("thread status", "Open")
        ANSWERED = "answered", _("Answered")
        RESOLVED = "resolved", _("Resolved")

    review = models.ForeignKey(Review, on_delete=models.PROTECT, related_name="threads")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("type"), max_length=32, choices=Kind.choices, default=Kind.COMMENT)
    status = FSMField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN, protected=True)
    # Who is expected to act next: a person of the State under review or of a
    # reviewing State (checked by the service).
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("assignee")
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["question__order", "created_at"]
        indexes = [models.Index(fields=["review", "status"], name="thread_review_status")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.question.code}"

    @transition(field=status, source=Status.OPEN, target=Status.ANSWERED)
    def mark_answered(self) -> None:
        """The State under review replied."""

    @transition(field=status, source=[Status.OPEN, Status.ANSWERED], target=Status.OPEN)
    def reopen(self) -> None:
        """A reviewer followed up: the thread waits for the State again."""

    @transition(field=status, source=[Status.OPEN, Status.ANSWERED], target=Status.RESOLVED)
    def resolve(self) -> None:
        """A reviewer closed the thread; nothing more can be posted in it."""


class Comment(models.Model):
    thread = models.ForeignKey(Thread, on_delete=models.PROTECT, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The State the author spoke for (None for the secretariat), kept as it was.
    author_state = models.ForeignKey(State, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    body = models.TextField(_("comment"))
    created_at = models.DateTimeField(auto_now_add=True)
    # Written by the State under review (a reply) rather than by a reviewer: the
    # baseline of "what changed since the reviewers commented".
    by_state_under_review = models.BooleanField(default=False)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.author} on {self.thread_id}"


class Job(models.Model):
    """A background job as a row: who asked for what, how far it got, its result.

    The row, not Celery's result backend, is the source of truth. A job is claimed
    with a conditional UPDATE and its result is recorded together with the final
    status, so a task delivered twice (acks_late after a worker died) cannot
    produce a second result."""

    class Kind(models.TextChoices):
        REVIEW_SUMMARY = "review_summary", _("Review summary (DOCX)")
        CLUSTER_REPORT = "cluster_report", _("Cluster report (XLSX)")
        FINAL_DOCUMENTS = "final_documents", _("Final documents of a review (DOCX and PDF)")
        TA_REPORT = "ta_report", _("Technical-assistance needs compiled (XLSX or PDF)")
        GENERAL_REPORT = "general_report", _("General-review report naming no State (DOCX or PDF)")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    kind = models.CharField(max_length=32, choices=Kind.choices)
    params = models.JSONField(default=dict)
    # Same kind + same parameters while one is queued or running = the same job.
    dedupe_key = models.CharField(max_length=200)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    result_file = models.FileField(upload_to="jobs/%Y/%m/", blank=True)
    result_name = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    # Set by the secretariat on a running job: it stops at its next progress step.
    cancel_requested = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key"], condition=Q(status__in=["queued", "running"]), name="one_active_job_per_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"


from .models_observations import *  # noqa: E402,F401,F403  (observations, summary, notifications, final documents)
from .models_ta import *  # noqa: E402,F401,F403  (technical-assistance needs)
from .models_registry import *  # noqa: E402,F401,F403  (expertise offers)
