"""The review summary as a Word document: per article, the answers, the dialogue
and the technical-assistance needs the State expressed."""

from __future__ import annotations

import io
import re
from collections import defaultdict

from django.utils import timezone
from django.utils.translation import gettext as _
from docx import Document
from docx.shared import Pt

from questionnaire.kinds import TACategory, TAPriority
from questionnaire.models import Response
from questionnaire.selectors import response_document

from ..models import Review, Thread

# XML 1.0 forbids most control characters; Word refuses a file that has them.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _XML_INVALID.sub("", text or "")


def safe_filename(*parts: str, ext: str) -> str:
    stem = "-".join(re.sub(r"[^A-Za-z0-9]+", "-", p).strip("-") for p in parts if p)
    return f"{stem or 'document'}.{ext}"


def review_summary_docx(*, review_id: int, progress) -> tuple[bytes, str]:
    review = Review.objects.select_related("state", "cycle__cluster__instrument", "response__version__cluster__instrument").get(
        pk=review_id
    )
    if review.response.status != Response.Status.SUBMITTED:
        raise ValueError("a review summary is compiled only from a submitted response")
    reviewers = [a.reviewing_state.name for a in review.assignments.select_related("reviewing_state")]
    data = response_document(review.response)
    progress(30)
    threads_by_code = defaultdict(list)
    for thread in Thread.objects.filter(review=review).select_related("question").prefetch_related(
        "comments__author", "comments__author_state"
    ):
        threads_by_code[thread.question.code].append(thread)
    progress(50)

    doc = Document()
    doc.styles["Normal"].font.size = Pt(10)
    doc.add_heading(_clean(_("Review summary: %(state)s") % {"state": review.state.name}), level=0)
    doc.add_paragraph(_clean(f"{review.cycle.cluster.instrument.short_title} — {review.cycle.cluster} — {review.cycle.year}"))
    doc.add_paragraph(_clean(_("Reviewing States: %(states)s") % {"states": ", ".join(reviewers)}))
    doc.add_paragraph(_clean(_("Status: %(status)s. Compiled %(when)s UTC.") % {
        "status": review.get_status_display(), "when": timezone.now().strftime("%Y-%m-%d %H:%M")}))

    categories, priorities = dict(TACategory.choices), dict(TAPriority.choices)
    for article in data["articles"]:
        doc.add_heading(_clean(_("Article %(n)s. %(title)s") % {"n": article["number"], "title": article["title"]}), level=1)
        needs = []
        for q in article["questions"]:
            doc.add_paragraph(_clean(f"{q['provision']} — {q['prompt']}"), style="Heading 3")
            doc.add_paragraph(_clean(q["display"] or _("(no answer)")))
            for thread in threads_by_code.get(q["code"], []):
                doc.add_paragraph(
                    _clean(f"{thread.get_kind_display()} ({thread.get_status_display()})"), style="Intense Quote"
                )
                for comment in thread.comments.all():
                    who = comment.author_state.name if comment.author_state else _("Secretariat")
                    doc.add_paragraph(_clean(f"{who}: {comment.body}"), style="List Bullet")
            value = q["value"]
            if q["kind"] == "technical_assistance" and isinstance(value, dict) and value.get("needed"):
                needs.append((q["provision"], value))
        if needs:
            doc.add_heading(_("Technical-assistance needs"), level=2)
            table = doc.add_table(rows=1, cols=4)
            table.style = "Table Grid"
            for cell, text in zip(table.rows[0].cells, [_("Provision"), _("Categories"), _("Priority"), _("Details")]):
                cell.text = text
            for provision, value in needs:
                row = table.add_row().cells
                row[0].text = _clean(provision)
                row[1].text = _clean("; ".join(str(categories.get(c, c)) for c in value.get("categories", [])))
                row[2].text = _clean(str(priorities.get(value.get("priority"), "")))
                row[3].text = _clean(value.get("details", ""))
    progress(90)
    buffer = io.BytesIO()
    doc.save(buffer)
    name = safe_filename("summary", review.state.iso3, f"cluster-{review.cycle.cluster.code}", str(review.cycle.year), ext="docx")
    return buffer.getvalue(), name
