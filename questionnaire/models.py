"""What is asked (instrument → cluster → questionnaire version → article →
provision → question → choice) and what a State answers (response → answer).

Everything below a QuestionnaireVersion belongs to that version and is never
changed once loaded: a changed content file becomes a new version, so a submitted
response always points at exactly the questions its State saw.
"""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition
from simple_history.models import HistoricalRecords

from parties.models import State


class Instrument(models.Model):
    code = models.SlugField(max_length=64, unique=True)
    title = models.CharField(_("title"), max_length=300)
    short_title = models.CharField(_("short title"), max_length=100)

    def __str__(self) -> str:
        return self.short_title


class Cluster(models.Model):
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="clusters")
    code = models.CharField(max_length=8)
    order = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(_("title"), max_length=300)
    review_period = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["instrument", "order"]
        constraints = [models.UniqueConstraint(fields=["instrument", "code"], name="unique_cluster_code")]

    def __str__(self) -> str:
        return _("Cluster %(code)s: %(title)s") % {"code": self.code, "title": self.title}


class QuestionnaireVersion(models.Model):
    """The frozen question set of one cluster of one instrument."""

    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    label = models.CharField(max_length=32, help_text=_("Edition label of the content file"))
    content_hash = models.CharField(max_length=64)
    source_file = models.CharField(max_length=200)
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["cluster", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["cluster", "number"], name="unique_version_number"),
        ]

    def __str__(self) -> str:
        return _("%(cluster)s — version %(number)s (%(label)s)") % {
            "cluster": self.cluster,
            "number": self.number,
            "label": self.label,
        }


class Article(models.Model):
    version = models.ForeignKey(QuestionnaireVersion, on_delete=models.CASCADE, related_name="articles")
    number = models.PositiveSmallIntegerField()
    title = models.CharField(_("title"), max_length=300)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["version", "order"]
        constraints = [models.UniqueConstraint(fields=["version", "number"], name="unique_article_in_version")]

    def __str__(self) -> str:
        return _("Article %(number)s. %(title)s") % {"number": self.number, "title": self.title}


class Provision(models.Model):
    class Obligation(models.TextChoices):
        MANDATORY = "mandatory", _("Mandatory")
        MANDATORY_QUALIFIED = "mandatory_qualified", _("Mandatory, qualified")
        OPTIONAL = "optional", _("Optional")

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="provisions")
    ref = models.CharField(max_length=32)
    code = models.CharField(max_length=64)
    obligation = models.CharField(max_length=24, choices=Obligation.choices)
    summary = models.TextField(_("summary"))
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["article", "order"]

    def __str__(self) -> str:
        return f"{self.ref}"


class Question(models.Model):
    """One thing asked. ``kind`` names an entry of the closed registry in
    ``questionnaire.kinds``, which knows how to ask, validate, show and export it."""

    version = models.ForeignKey(QuestionnaireVersion, on_delete=models.CASCADE, related_name="questions")
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="questions")
    provision = models.ForeignKey(Provision, on_delete=models.CASCADE, related_name="questions")
    code = models.CharField(max_length=80)
    kind = models.CharField(max_length=32)
    prompt = models.TextField(_("prompt"))
    help_text = models.TextField(_("help"), blank=True)
    required = models.BooleanField(default=False)
    order = models.PositiveIntegerField(default=0)
    # Asked only when the answer to `condition_question` is one of `condition_values`.
    condition_question = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="dependants"
    )
    condition_values = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["version", "order"]
        constraints = [models.UniqueConstraint(fields=["version", "code"], name="unique_question_code")]

    def __str__(self) -> str:
        return self.code


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    code = models.CharField(max_length=64)
    label = models.CharField(_("label"), max_length=300)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["question", "order"]
        constraints = [models.UniqueConstraint(fields=["question", "code"], name="unique_choice_code")]

    def __str__(self) -> str:
        return self.code


class Response(FSMModelMixin, models.Model):
    """A State's answers to one questionnaire version."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")

    state = models.ForeignKey(State, on_delete=models.PROTECT, related_name="responses")
    version = models.ForeignKey(QuestionnaireVersion, on_delete=models.PROTECT, related_name="responses")
    # Moved only by the transitions below, which only services call.
    status = FSMField(default=Status.DRAFT, choices=Status.choices, protected=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["version__cluster__order", "state__name"]
        constraints = [models.UniqueConstraint(fields=["state", "version"], name="one_response_per_version")]

    def __str__(self) -> str:
        return f"{self.state} — {self.version}"

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT

    @transition(field=status, source=Status.DRAFT, target=Status.SUBMITTED)
    def submit(self) -> None:
        """Guarded by the DRAFT source; the service checks completeness and the role."""


class Answer(models.Model):
    """One answer, one row: people editing different questions never collide.
    ``revision`` grows by one at every change and is the optimistic-lock token."""

    response = models.ForeignKey(Response, on_delete=models.PROTECT, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    value = models.JSONField(null=True, blank=True)
    revision = models.PositiveIntegerField(default=0)
    # Copied from the State's previous response; counts as answered only once a
    # person confirms it (saves it, changed or not).
    carried_over = models.BooleanField(default=False)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)
    # Who changed an answer is the answer's updated_by, also outside a web request
    # (services, jobs, imports).
    history = HistoricalRecords(get_user=lambda instance, **kwargs: instance.updated_by if instance else None)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["response", "question"], name="one_answer_per_question")]

    def __str__(self) -> str:
        return f"{self.response_id}/{self.question_id} r{self.revision}"


class ArticleAssignment(models.Model):
    """The focal point asks a contributor to draft the answers of one article."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="assignments")
    article = models.ForeignKey(Article, on_delete=models.PROTECT, related_name="+")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="article_assignments")
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assigned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["article__order", "assigned_at"]
        constraints = [
            models.UniqueConstraint(fields=["response", "article", "assignee"], name="one_assignment_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.assignee} drafts article {self.article.number} of {self.response}"


class ResponseSnapshot(models.Model):
    """The immutable copy of a response as it was submitted."""

    response = models.OneToOneField(Response, on_delete=models.PROTECT, related_name="snapshot")
    data = models.JSONField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValidationError(_("A submitted copy can never be changed."))
        self.sha256 = hashlib.sha256(
            json.dumps(self.data, sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(_("A submitted copy can never be deleted."))
from .models_evidence import *  # noqa
from .models_recommendations import *  # noqa
