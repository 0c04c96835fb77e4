"""Evidence: a State's library of cited laws and uploaded documents, and the
links that attach them to answers.

A law is cited or uploaded once per State (``Evidence``) and reused from many
answers (``AnswerEvidence``). An entry's descriptive fields (title, article,
date, link, description) can be edited, and the entry deleted, only while no
submitted response uses it (``questionnaire.evidence.evidence_update`` /
``evidence_delete``); ``revision`` grows at each edit and is the optimistic-lock
token, as for answers. The stored file itself never changes; it lives under MEDIA_ROOT/evidence/<iso3>/<uuid4> (never served directly) and
is read only through ``questionnaire.views_evidence.evidence_download``, which
checks access. Business rules are in ``questionnaire.evidence``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from parties.models import State

__all__ = ["AnswerEvidence", "Evidence"]

http_url = URLValidator(schemes=["http", "https"])


class Evidence(models.Model):
    class Kind(models.TextChoices):
        CITATION = "citation", _("Citation of a law")
        FILE = "file", _("Document")

    class FileType(models.TextChoices):
        # The type detected from the file's content, never from its name.
        PDF = "pdf", _("PDF document")
        DOCX = "docx", _("Word document (DOCX)")
        ODT = "odt", _("OpenDocument text (ODT)")
        PNG = "png", _("PNG image")
        JPEG = "jpeg", _("JPEG image")

    state = models.ForeignKey(State, on_delete=models.PROTECT, related_name="evidence", verbose_name=_("State"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=500)
    article = models.CharField(_("article or section"), max_length=200, blank=True)
    date = models.DateField(_("date"), null=True, blank=True)
    link = models.CharField(_("link"), max_length=500, blank=True, validators=[http_url])
    description = models.TextField(_("description"), max_length=2000, blank=True)
    # Files only. ``file`` is a generated name (evidence/<iso3>/<uuid4>);
    # ``original_name`` is the sanitised name the uploader's computer gave it,
    # kept as metadata and never used to build a path.
    file = models.FileField(_("file"), max_length=200, blank=True)
    original_name = models.CharField(_("original file name"), max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    file_type = models.CharField(_("file type"), max_length=8, choices=FileType.choices, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # Grows by one at every edit: a stale edit (made from an older revision) is refused.
    revision = models.PositiveIntegerField(default=1)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["state", "title", "pk"]
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        constraints = [
            # The same file is stored once per State (uploading it again reuses it).
            models.UniqueConstraint(
                fields=["state", "sha256"], condition=Q(kind="file"), name="evidence_file_once_per_state"
            ),
            models.CheckConstraint(
                condition=Q(kind="citation", file="", sha256="", file_type="")
                | Q(kind="file", size__isnull=False) & ~Q(file="") & ~Q(sha256="") & ~Q(file_type=""),
                name="evidence_kind_fields",
            ),
            models.CheckConstraint(
                condition=Q(link="") | Q(link__startswith="http://") | Q(link__startswith="https://"),
                name="evidence_link_http",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_file(self) -> bool:
        return self.kind == self.Kind.FILE


class AnswerEvidence(models.Model):
    """One piece of evidence attached to the answer to one question of a response.
    Frozen with the response: attached and detached only while it is a draft."""

    response = models.ForeignKey("questionnaire.Response", on_delete=models.PROTECT, related_name="evidence_links")
    question = models.ForeignKey("questionnaire.Question", on_delete=models.PROTECT, related_name="evidence_links")
    evidence = models.ForeignKey(Evidence, on_delete=models.PROTECT, related_name="uses")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["response", "question", "added_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["response", "question", "evidence"], name="evidence_once_per_answer")
        ]

    def __str__(self) -> str:
        return f"{self.response_id}/{self.question_id}: {self.evidence_id}"
