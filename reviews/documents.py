"""The final documents of a review: the list of observations and its summary, each
as Word (python-docx) and PDF (WeasyPrint), in the language of the review.

A build is a background job (Job.Kind.FINAL_DOCUMENTS, run by tasks.run_job
through services.job_execute). Each build is version n + 1 of the review's
documents: four FinalDocument rows (two documents, two formats) with the SHA-256
of their bytes, written together with the job's result (a ZIP of the four) in
one transaction, so that a task delivered twice makes one version, never two."""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from questionnaire.documents import _FONTS, _FONTS_CJK, clean_xml_text, text_direction
from questionnaire.documents import _write as write_text
from questionnaire.kinds import TACategory, TAPriority

from .exports.summary_docx import safe_filename
from .models import FinalDocument, Job, Observation, Review, Summary

Kind, Format = FinalDocument.Kind, FinalDocument.Format


@dataclass
class DocObservation:
    kind_label: str
    text: str
    ta: str = ""

    @property
    def direction(self) -> str:
        return text_direction(self.text) or ""


@dataclass
class DocArticle:
    heading: str
    groups: list[tuple[str, list[DocObservation]]] = field(default_factory=list)


@dataclass
class FinalData:
    version: int
    language: str
    state: str
    reviewers: str
    cluster: str
    year: int
    finalized: str
    articles: list[DocArticle]
    summary: str

    def title(self, kind: str) -> str:
        if kind == Kind.OBSERVATIONS:
            return _("List of observations: %(state)s") % {"state": self.state}
        return _("Summary of the list of observations: %(state)s") % {"state": self.state}

    def cover(self) -> list[tuple[str, str]]:
        return [
            (_("State under review"), self.state),
            (_("Reviewing States"), self.reviewers),
            (_("Cluster"), self.cluster),
            (_("Year"), str(self.year)),
            (_("Finalized"), self.finalized),
            (_("Version"), str(self.version)),
        ]


def final_data(review: Review, summary: Summary, version: int) -> FinalData:
    """Everything the documents show, read in the active language (five queries)."""
    reviewers = ", ".join(a.reviewing_state.name for a in review.assignments.select_related("reviewing_state"))
    categories, priorities = dict(TACategory.choices), dict(TAPriority.choices)
    articles: dict[int, DocArticle] = {}
    observations = Observation.objects.filter(review=review).select_related("article").order_by(
        "article__order", "created_at", "pk"
    )
    for o in observations:
        article = articles.setdefault(
            o.article_id, DocArticle(_("Article %(n)s. %(title)s") % {"n": o.article.number, "title": o.article.title})
        )
        ta = ""
        if o.kind == Observation.Kind.TA_NEED:
            ta = str(categories.get(o.ta_category, o.ta_category))
            if o.ta_priority:
                ta += " · " + _("priority: %(p)s") % {"p": priorities.get(o.ta_priority, o.ta_priority)}
        item = DocObservation(kind_label=str(o.get_kind_display()), text=o.text, ta=ta)
        for label, items in article.groups:
            if label == item.kind_label:
                items.append(item)
                break
        else:
            article.groups.append((item.kind_label, [item]))
    # Groups in the order of the four kinds.
    order = {str(label): i for i, (_v, label) in enumerate(Observation.Kind.choices)}
    for article in articles.values():
        article.groups.sort(key=lambda g: order.get(g[0], 99))
    finalized_at = summary.finalized_at or timezone.now()
    return FinalData(
        version=version,
        language=translation.get_language() or settings.LANGUAGE_CODE,
        state=review.state.name,
        reviewers=reviewers,
        cluster=str(review.cycle.cluster),
        year=review.cycle.year,
        finalized=finalized_at.strftime("%Y-%m-%d"),
        articles=list(articles.values()),
        summary=summary.text,
    )


# --- Rendering ----------------------------------------------------------------------


def document_pdf(data: FinalData, kind: str) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    html = render_to_string(
        "reviews/documents/final.html",
        {
            "data": data,
            "kind": kind,
            "title": data.title(kind),
            "cover": data.cover(),
            "lang": data.language,
            "rtl": translation.get_language_bidi(),
            "fonts": mark_safe(_FONTS_CJK if data.language.startswith("zh") else _FONTS),
            "summary_dir": text_direction(data.summary) or "",
        },
    )
    # Nothing is fetched by URL, from anywhere (the texts are escaped; a second fence).
    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=frozenset())).write_pdf()


def document_docx(data: FinalData, kind: str) -> bytes:
    from docx import Document
    from docx.shared import Pt

    default = "rtl" if translation.get_language_bidi() else "ltr"
    word = Document()
    word.styles["Normal"].font.size = Pt(10)
    properties = word.core_properties
    properties.title = clean_xml_text(data.title(kind))
    properties.author = clean_xml_text(_("Firearms Protocol review"))
    properties.last_modified_by = ""
    properties.revision = data.version
    write_text(word.add_heading(level=0), data.title(kind), default=default)
    table = word.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, value in data.cover():
        cells = table.add_row().cells
        write_text(cells[0].paragraphs[0], label, default=default, bold=True)
        write_text(cells[1].paragraphs[0], value, default=default)
    if kind == Kind.SUMMARY:
        write_text(word.add_heading(level=1), _("Summary"), default=default)
        for paragraph in data.summary.split("\n\n"):
            write_text(word.add_paragraph(), paragraph, default=default)
    else:
        for article in data.articles:
            write_text(word.add_heading(level=1), article.heading, default=default)
            for label, items in article.groups:
                write_text(word.add_heading(level=2), label, default=default)
                for item in items:
                    write_text(word.add_paragraph(style="List Bullet"), item.text, default=default)
                    if item.ta:
                        write_text(word.add_paragraph(), item.ta, default=default, italic=True)
        if not data.articles:
            write_text(word.add_paragraph(), _("No observation."), default=default, italic=True)
    buffer = io.BytesIO()
    word.save(buffer)
    return buffer.getvalue()


def _filename(review: Review, kind: str, version: int, ext: str) -> str:
    return safe_filename(
        "final", kind, review.state.iso3, f"cluster-{review.cycle.cluster.code}", str(review.cycle.year), f"v{version}", ext=ext
    )


def final_documents_execute(*, job: Job, progress) -> bool:
    """Build version n + 1 of the review's final documents and record it with the
    job's result; False (and nothing written) when the job is finished already."""
    from .services import ReviewError, job_finish

    review = Review.objects.select_related("state", "cycle__cluster").get(pk=int(job.params["review"]))
    summary = Summary.objects.filter(review=review, status=Summary.Status.FINALIZED).first()
    if summary is None:
        raise ReviewError(_("The final documents are produced once the summary is finalized."))
    version = (FinalDocument.objects.filter(review=review).aggregate(v=Max("version"))["v"] or 0) + 1
    files: list[tuple[str, str, bytes]] = []
    with translation.override(review.language or settings.LANGUAGE_CODE):
        data = final_data(review, summary, version)
        progress(20)
        for kind in (Kind.OBSERVATIONS, Kind.SUMMARY):
            files.append((kind, Format.DOCX, document_docx(data, kind)))
            files.append((kind, Format.PDF, document_pdf(data, kind)))
            progress(20 + 35 * len(files) // 2)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for kind, fmt, content in files:
            zf.writestr(_filename(review, kind, version, fmt), content)
    with transaction.atomic():
        Review.objects.select_for_update(of=("self",)).filter(pk=review.pk).first()
        latest = FinalDocument.objects.filter(review=review).aggregate(v=Max("version"))["v"] or 0
        if latest != version - 1:
            raise ReviewError(_("Another build of these documents finished meanwhile; ask for a new one."))
        if not job_finish(job=job, content=archive.getvalue(), filename=_filename(review, "documents", version, "zip")):
            return False
        for kind, fmt, content in files:
            name = _filename(review, kind, version, fmt)
            document = FinalDocument(
                review=review, version=version, kind=kind, format=fmt, language=review.language,
                filename=name, sha256=hashlib.sha256(content).hexdigest(), size=len(content), job=job,
                created_by=job.requested_by,
            )
            document.file.save(name, ContentFile(content), save=False)
            document.save()
    return True
