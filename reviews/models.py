"""Review cycles, the draw of reviewing States, the dialogue on answers, and the
background jobs that compile summaries and cluster reports."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import FSMField, FSMModelMixin, transition

from parties.models import State
from questionnaire.models import Cluster, Question, Response


class ReviewCycle(models.Model):
    """The review of one cluster, opened in one year for a set of States."""

    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="cycles", verbose_name=_("cluster"))
    year = models.PositiveSmallIntegerField(_("year"))
    launched_at = models.DateTimeField(_("launched at"), auto_now_add=True)
    launched_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The draw is reproducible: the same seed over the same States gives the same result.
    draw_seed = models.CharField(_("draw seed"), max_length=64)
    draw_algorithm = models.CharField(max_length=32, default="balanced-v1")

    class Meta:
        ordering = ["-year", "cluster__order"]
        constraints = [models.UniqueConstraint(fields=["cluster", "year"], name="one_cycle_per_cluster_year")]

    def __str__(self) -> str:
        return f"{self.cluster} — {self.year}"


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

    @transition(
        field=status,
        source=[Status.LAUNCHED, Status.APPOINTED, Status.IN_PREPARATION],
        target=Status.SUBMITTED,
    )
    def mark_submitted(self) -> None:
        """The State under review submitted its self-assessment."""


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

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

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
