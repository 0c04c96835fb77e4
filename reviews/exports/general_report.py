"""The general-review report of a cycle: what the States answered, counted per
choice question and answer by regional group, naming no State.

Only SUBMITTED responses count (a draft is its State's alone). Nothing in the
document is taken from a State row but its regional group: no name, no ISO code,
no free text (free text could name a State). Built as DOCX (python-docx) or PDF
(WeasyPrint) by a background job; a fixed number of queries."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from parties.models import State
from questionnaire.kinds import IMPLEMENTATION_CHOICES, YES_NO_CHOICES
from questionnaire.models import Answer, Article, Response
from questionnaire.selectors import AskedWalk, version_questions

from ..models import Review, ReviewCycle
from .summary_docx import _clean, safe_filename

CHOICE_KINDS = ("choice", "multi_choice", "implementation", "yes_no")
FORMATS = ("docx", "pdf")


@dataclass
class QuestionCounts:
    code: str
    prompt: str
    kind: str
    # (answer label, [count per group in GROUPS order], total)
    rows: list[tuple[str, list[int], int]] = field(default_factory=list)


@dataclass
class GeneralReport:
    title: str
    subtitle: str
    compiled: str
    groups: list[str]
    submitted: list[int]
    articles: list[tuple[str, list[QuestionCounts]]]


def general_report_data(*, cycle_id: int, progress=lambda p: None) -> GeneralReport:
    cycle = ReviewCycle.objects.select_related("cluster__instrument").get(pk=cycle_id)
    group_codes = [code for code, _label in State.RegionalGroup.choices]
    groups = [str(label) for _code, label in State.RegionalGroup.choices]
    version_id = Review.objects.filter(cycle=cycle).values_list("response__version_id", flat=True).first()
    submitted: Counter = Counter(
        Review.objects.filter(cycle=cycle, response__status=Response.Status.SUBMITTED).values_list(
            "state__regional_group", flat=True
        )
    )
    counts: Counter = Counter()
    questions = []
    articles = []
    if version_id is not None:
        every = version_questions(version_id)
        questions = [q for q in every if q.kind in CHOICE_KINDS]
        articles = list(Article.objects.filter(version_id=version_id).order_by("order"))
        walk = AskedWalk(every)
        counted = {q.pk for q in questions}
        # The counted answers and those their conditions read, in question order per
        # response: an answer whose question was not asked is not counted.
        answers = (
            Answer.objects.filter(
                response__review__cycle=cycle,
                response__status=Response.Status.SUBMITTED,
                question_id__in=counted | walk.targets,
            )
            .order_by("response_id", "question__order")
            .values_list("response_id", "question_id", "value", "response__state__regional_group")
            .iterator(chunk_size=5000)
        )
        for response_id, question_id, value, group in answers:
            if not walk.asked(response_id, question_id, value) or question_id not in counted:
                continue
            for code in value if isinstance(value, list) else [value]:
                if code not in (None, ""):
                    counts[(question_id, code, group)] += 1
    progress(50)
    fixed = {"implementation": IMPLEMENTATION_CHOICES, "yes_no": YES_NO_CHOICES}
    by_article: dict[int, list[QuestionCounts]] = {}
    for q in questions:
        options = fixed.get(q.kind) or [(c.code, c.label) for c in q.choices.all()]
        item = QuestionCounts(code=q.code, prompt=q.prompt, kind=q.kind)
        for code, label in options:
            per_group = [counts[(q.pk, code, g)] for g in group_codes]
            item.rows.append((str(label), per_group, sum(per_group)))
        by_article.setdefault(q.article_id, []).append(item)
    sections = [
        (_("Article %(n)s. %(title)s") % {"n": a.number, "title": a.title}, by_article[a.pk])
        for a in articles
        if a.pk in by_article
    ]
    return GeneralReport(
        title=_("General review: %(cluster)s, %(year)s") % {"cluster": cycle.cluster, "year": cycle.year},
        subtitle=str(cycle.cluster.instrument.short_title),
        compiled=timezone.now().strftime("%Y-%m-%d %H:%M"),
        groups=groups,
        submitted=[submitted[g] for g in group_codes],
        articles=sections,
    )


def general_report_docx(data: GeneralReport) -> bytes:
    from docx import Document
    from docx.shared import Pt

    doc = Document()
    doc.styles["Normal"].font.size = Pt(9)
    doc.add_heading(_clean(data.title), level=0)
    doc.add_paragraph(_clean(data.subtitle))
    doc.add_paragraph(
        _clean(_("Counts of the answers of the submitted self-assessments, by regional group. Compiled %(when)s UTC.") % {"when": data.compiled})
    )
    header = [_("Answer"), *data.groups, _("Total")]
    table = doc.add_table(rows=2, cols=len(header))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, [_("Regional group"), *data.groups, _("Total")]):
        cell.text = _clean(text)
    for cell, text in zip(table.rows[1].cells, [_("Submitted self-assessments"), *map(str, data.submitted), str(sum(data.submitted))]):
        cell.text = text
    for title, questions in data.articles:
        doc.add_heading(_clean(title), level=1)
        for q in questions:
            doc.add_paragraph(_clean(f"{q.code} — {q.prompt}"), style="Heading 3")
            table = doc.add_table(rows=1, cols=len(header))
            table.style = "Table Grid"
            for cell, text in zip(table.rows[0].cells, header):
                cell.text = _clean(text)
            for label, per_group, total in q.rows:
                cells = table.add_row().cells
                cells[0].text = _clean(label)
                for cell, count in zip(cells[1:], [*per_group, total]):
                    cell.text = str(count)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def general_report_html(data: GeneralReport) -> str:
    from questionnaire.documents import _FONTS

    return render_to_string(
        "reviews/reports/general_report_pdf.html",
        {
            "data": data,
            "lang": translation.get_language() or settings.LANGUAGE_CODE,
            "rtl": translation.get_language_bidi(),
            "fonts": mark_safe(_FONTS),
        },
    )


def general_report_pdf(data: GeneralReport) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    html = general_report_html(data)
    # Nothing is fetched by URL, from anywhere (the texts are escaped; a second fence).
    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=frozenset())).write_pdf()


def general_report(*, cycle_id: int, fmt: str, progress) -> tuple[bytes, str]:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt}")
    data = general_report_data(cycle_id=cycle_id, progress=progress)
    content = general_report_docx(data) if fmt == "docx" else general_report_pdf(data)
    progress(95)
    cycle = ReviewCycle.objects.select_related("cluster").get(pk=cycle_id)
    return content, safe_filename("general-review", f"cluster-{cycle.cluster.code}", str(cycle.year), ext=fmt)
