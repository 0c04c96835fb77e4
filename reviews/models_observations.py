"""What the dialogue leads to: in-app notifications, the list of observations per
article, the agreement of the three States on each, the summary and its
clearance, and the final documents kept as immutable versions.

Imported at the end of reviews/models.py, so that Django sees these models as
the app's own."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition
from simple_history.models import HistoricalRecords

from parties.models import State
from questionnaire.kinds import TACategory, TAPriority
from questionnaire.models import Article

from .models import Review, Thread


class Notification(models.Model):
    """Something a person should look at, shown in the navigation until read."""

    class Kind(models.TextChoices):
        THREAD_STARTED = "thread_started", _("A reviewer commented on an answer")
        FOLLOW_UP = "follow_up", _("A reviewer followed up in a thread")
        STATE_REPLIED = "state_replied", _("The State under review replied")
        THREAD_RESOLVED = "thread_resolved", _("A thread was resolved")
        THREAD_ASSIGNED = "thread_assigned", _("A thread was assigned to you")
        OBSERVATION_COMMENTED = "observation_commented", _("An observation was commented on")

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="+")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    observation = models.ForeignKey("Observation", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.recipient_id}"

    @property
    def is_unread(self) -> bool:
        return self.read_at is None


class Observation(FSMModelMixin, models.Model):
    """One entry of the list of observations of a review, on one article."""

    class Kind(models.TextChoices):
        GAP = "gap", _("Gaps and challenges")
        GOOD_PRACTICE = "good_practice", _("Good practices")
        RECOMMENDATION = "recommendation", _("Recommendations")
        TA_NEED = "ta_need", _("Technical-assistance needs")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        AGREED = "agreed", _("Agreed by the three States")

    review = models.ForeignKey(Review, on_delete=models.PROTECT, related_name="observations")
    article = models.ForeignKey(Article, on_delete=models.PROTECT, related_name="+", verbose_name=_("article"))
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    text = models.TextField(_("observation"))
    # Only for technical-assistance needs, in the questionnaire's taxonomy.
    ta_category = models.CharField(_("category"), max_length=32, choices=TACategory.choices, blank=True)
    ta_priority = models.CharField(_("priority"), max_length=16, choices=TAPriority.choices, blank=True)
    status = FSMField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT, protected=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(get_user=lambda instance, **kwargs: instance.updated_by if instance else None)

    class Meta:
        ordering = ["article__order", "kind", "created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on article {self.article_id} of review {self.review_id}"

    @transition(field=status, source=Status.DRAFT, target=Status.AGREED)
    def agree(self) -> None:
        """The three States agreed on this text; it can no longer change."""


class ObservationAgreement(models.Model):
    """One State's agreement on the current text of an observation (deleted by
    any edit of the text)."""

    observation = models.ForeignKey(Observation, on_delete=models.CASCADE, related_name="agreements")
    state = models.ForeignKey(State, on_delete=models.PROTECT, related_name="+")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at"]
        constraints = [models.UniqueConstraint(fields=["observation", "state"], name="one_agreement_per_state")]


class ObservationComment(models.Model):
    observation = models.ForeignKey(Observation, on_delete=models.PROTECT, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    author_state = models.ForeignKey(State, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    body = models.TextField(_("comment"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]


class Summary(FSMModelMixin, models.Model):
    """The summary of the list of observations: drafted by the reviewers once
    every observation is agreed, cleared by each State, finalized by the
    secretariat."""

    class Status(models.TextChoices):
        DRAFTING = "drafting", _("Being drafted")
        CLEARED = "cleared", _("Cleared by the three States")
        FINALIZED = "finalized", _("Finalized")

    review = models.OneToOneField(Review, on_delete=models.PROTECT, related_name="summary")
    text = models.TextField(_("summary"))
    status = FSMField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFTING, protected=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)
    finalized_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    finalized_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(get_user=lambda instance, **kwargs: instance.updated_by if instance else None)

    class Meta:
        verbose_name_plural = _("summaries")

    def __str__(self) -> str:
        return f"Summary of review {self.review_id}"

    @transition(field=status, source=Status.DRAFTING, target=Status.CLEARED)
    def mark_cleared(self) -> None:
        """Each of the three States cleared its side."""

    @transition(field=status, source=Status.CLEARED, target=Status.FINALIZED)
    def finalize(self) -> None:
        """The secretariat finalized the summary."""


class SummaryClearance(models.Model):
    summary = models.ForeignKey(Summary, on_delete=models.CASCADE, related_name="clearances")
    state = models.ForeignKey(State, on_delete=models.PROTECT, related_name="+")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at"]
        constraints = [models.UniqueConstraint(fields=["summary", "state"], name="one_clearance_per_state")]


class SummaryComment(models.Model):
    summary = models.ForeignKey(Summary, on_delete=models.PROTECT, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    author_state = models.ForeignKey(State, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    body = models.TextField(_("comment"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]


class FinalDocument(models.Model):
    """One file of one build of a review's final documents. A build makes version
    n + 1 of every document; a row is written once and never changed or deleted."""

    class Kind(models.TextChoices):
        OBSERVATIONS = "observations", _("List of observations")
        SUMMARY = "summary", _("Summary")

    class Format(models.TextChoices):
        DOCX = "docx", "Word (DOCX)"
        PDF = "pdf", "PDF"

    review = models.ForeignKey(Review, on_delete=models.PROTECT, related_name="final_documents")
    version = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    format = models.CharField(max_length=8, choices=Format.choices)
    language = models.CharField(max_length=8, choices=settings.LANGUAGES)
    file = models.FileField(upload_to="final/%Y/%m/")
    filename = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    job = models.ForeignKey("reviews.Job", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version", "kind", "format"]
        constraints = [
            models.UniqueConstraint(fields=["review", "version", "kind", "format"], name="one_file_per_document_version")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.version} ({self.format})"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValidationError(_("A final document can never be changed; build a new version."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(_("A final document can never be deleted."))

    def get_absolute_url(self) -> str:
        return reverse("reviews:final_document", args=[self.pk])


def observations_agreement_missing(review: Review) -> list[str]:
    """Why the review's list of observations is not agreed yet: the workflow's
    check before a review becomes "agreed" (registered below)."""
    from django.utils.translation import gettext

    statuses = list(Observation.objects.filter(review=review).values_list("status", flat=True))
    if not statuses:
        return [gettext("The list of observations is empty.")]
    waiting = sum(1 for s in statuses if s != Observation.Status.AGREED)
    if waiting:
        return [gettext("%(n)s observation(s) not yet agreed by the three States.") % {"n": waiting}]
    return []


if observations_agreement_missing not in getattr(Review, "agreement_checks", [observations_agreement_missing]):
    Review.agreement_checks.append(observations_agreement_missing)
