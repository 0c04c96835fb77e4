"""The cluster report of a review cycle as XLSX.

One sheet per article (States in rows, questions in columns), a sheet of
technical-assistance needs counted by article, category and regional group, and a
progress sheet. Only submitted responses contribute answers: drafts are the
State's alone. The number of queries does not depend on the number of States."""

from __future__ import annotations

import io
from collections import Counter, defaultdict

from django.utils.translation import gettext as _

from parties.models import State
from questionnaire.kinds import TACategory, kind_of
from questionnaire.models import Answer, Article, Response
from questionnaire.selectors import compute_progress, is_applicable, version_questions

from ..models import Review, ReviewCycle
from .cells import workbook, xlsx_cell
from .summary_docx import safe_filename


def cluster_report_xlsx(*, cycle_id: int, progress) -> tuple[bytes, str]:
    cycle = ReviewCycle.objects.select_related("cluster__instrument").get(pk=cycle_id)
    reviews = list(
        Review.objects.filter(cycle=cycle).select_related("state", "response").order_by("state__name")
    )
    if not reviews:
        raise ValueError("this cycle has no reviews")
    version_id = reviews[0].response.version_id
    articles = list(Article.objects.filter(version_id=version_id).order_by("order"))
    questions = version_questions(version_id)
    labels = {q.pk: {c.code: c.label for c in q.choices.all()} for q in questions}
    submitted_ids = [r.response_id for r in reviews if r.response.status == Response.Status.SUBMITTED]
    values: dict[int, dict[int, object]] = defaultdict(dict)
    for response_id, question_id, value in (
        Answer.objects.filter(response_id__in=[r.response_id for r in reviews]).values_list("response_id", "question_id", "value").iterator(chunk_size=5000)
    ):
        values[response_id][question_id] = value
    progress(40)

    buffer = io.BytesIO()
    book = workbook(buffer, streaming=True)
    bold = book.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    groups = dict(State.RegionalGroup.choices)

    by_article = defaultdict(list)
    for q in questions:
        by_article[q.article_id].append(q)
    ta_counts: Counter = Counter()
    for index, article in enumerate(articles):
        sheet = book.add_worksheet(f"Art {article.number}")
        header = [_("State"), _("ISO code"), _("Regional group")] + [q.code for q in by_article[article.pk]]
        prompts = ["", "", ""] + [q.prompt for q in by_article[article.pk]]
        for col, text in enumerate(header):
            sheet.write_string(0, col, xlsx_cell(text), bold)
        for col, text in enumerate(prompts):
            sheet.write_string(1, col, xlsx_cell(text), wrap)
        sheet.set_column(0, 0, 28)
        sheet.set_column(3, len(header), 30)
        sheet.freeze_panes(2, 1)
        row = 2
        for review in reviews:
            if review.response_id not in submitted_ids:
                continue
            answers = values[review.response_id]
            applicable: dict[int, bool] = {}
            # Conditions may point at any earlier question of the version.
            for q in questions:
                applicable[q.pk] = is_applicable(q, answers, applicable)
            sheet.write_string(row, 0, xlsx_cell(review.state.name))
            sheet.write_string(row, 1, review.state.iso3)
            sheet.write_string(row, 2, xlsx_cell(groups.get(review.state.regional_group, "")))
            for col, q in enumerate(by_article[article.pk], start=3):
                if not applicable[q.pk]:
                    continue
                value = answers.get(q.pk)
                sheet.write_string(row, col, xlsx_cell(kind_of(q).display(value, labels[q.pk])), wrap)
                if q.kind == "technical_assistance" and isinstance(value, dict) and value.get("needed"):
                    for category in value.get("categories") or [TACategory.OTHER]:
                        ta_counts[(article.number, category, review.state.regional_group)] += 1
            row += 1
        progress(40 + int(50 * (index + 1) / len(articles)))

    sheet = book.add_worksheet(_("TA needs"))
    for col, text in enumerate([_("Article"), _("Category"), _("Regional group"), _("States expressing the need")]):
        sheet.write_string(0, col, text, bold)
    categories = dict(TACategory.choices)
    for row, ((number, category, group), count) in enumerate(sorted(ta_counts.items()), start=1):
        sheet.write_number(row, 0, number)
        sheet.write_string(row, 1, str(categories.get(category, category)))
        sheet.write_string(row, 2, str(groups.get(group, group)))
        sheet.write_number(row, 3, count)
    sheet.set_column(0, 3, 30)

    sheet = book.add_worksheet(_("Progress"))
    for col, text in enumerate([_("State"), _("Status"), _("Due date"), _("Required answers given (%)")]):
        sheet.write_string(0, col, text, bold)
    for row, review in enumerate(reviews, start=1):
        done = compute_progress(articles, questions, values[review.response_id]).percent
        sheet.write_string(row, 0, xlsx_cell(review.state.name))
        sheet.write_string(row, 1, str(review.response.get_status_display()))
        sheet.write_string(row, 2, review.response.due_date.isoformat() if review.response.due_date else "")
        sheet.write_number(row, 3, done)
    sheet.set_column(0, 3, 26)
    book.close()
    name = safe_filename("cluster-report", f"cluster-{cycle.cluster.code}", str(cycle.year), ext="xlsx")
    return buffer.getvalue(), name
