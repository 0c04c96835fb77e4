"""The secretariat's technical-assistance report (XLSX and PDF).

Counts per State, cluster, article, category, regional group, priority and status
(reviews/services_ta.py ta_compile) and the list of needs. The XLSX is written in
constant memory, every text cell neutralised (cells.xlsx_cell); the PDF by
WeasyPrint with no URL fetched."""

from __future__ import annotations

import io

from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from parties.models import State
from questionnaire.documents import _FONTS, _FONTS_CJK
from questionnaire.kinds import TACategory

from ..selectors_ta import needs_for
from .cells import workbook, xlsx_cell


def _rows():
    """The needs listed, one tuple each (streamed, one query)."""
    groups = dict(State.RegionalGroup.choices)
    categories = dict(TACategory.choices)
    model = needs_for().model
    priorities = dict(model._meta.get_field("priority").choices)
    statuses = dict(model.Status.choices)
    sources = dict(model.Source.choices)
    for name, iso3, group, cluster, number, category, priority, status, source, text in needs_for().values_list(
        "state__name",
        "state__iso3",
        "state__regional_group",
        "article__version__cluster__code",
        "article__number",
        "category",
        "priority",
        "status",
        "source",
        "text",
    ).iterator(chunk_size=2000):
        yield (
            name,
            iso3,
            str(groups.get(group, group)),
            cluster,
            number,
            str(categories.get(category, category)),
            str(priorities.get(priority, "")) if priority else "",
            str(statuses.get(status, status)),
            str(sources.get(source, source)),
            text,
        )


def _headers() -> list[str]:
    return [
        _("State"), _("ISO code"), _("Regional group"), _("Cluster"), _("Article"), _("Category"),
        _("Priority"), _("Status"), _("Source"), _("Details"),
    ]


def ta_report_xlsx(*, compilation, progress) -> tuple[bytes, str]:
    buffer = io.BytesIO()
    book = workbook(buffer, streaming=True)
    bold = book.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})

    summary = book.add_worksheet(_("Counts")[:31])
    summary.set_column(0, 0, 50)
    summary.set_column(1, 3, 14)
    row = 0
    summary.write_string(row, 0, xlsx_cell(_("Technical-assistance needs")), bold)
    summary.write_number(row, 1, compilation.total)
    row += 2
    sections = [
        (_("By category"), compilation.by_category),
        (_("By regional group"), compilation.by_group),
        (_("By cluster"), compilation.by_cluster),
        (_("By article"), [(_("Article %(number)s: %(title)s") % {"number": n, "title": t}, c) for n, t, c in compilation.by_article]),
        (_("By priority"), compilation.by_priority),
        (_("By status"), compilation.by_status),
    ]
    for title, pairs in sections:
        summary.write_string(row, 0, xlsx_cell(title), bold)
        row += 1
        for label, count in pairs:
            summary.write_string(row, 0, xlsx_cell(label))
            summary.write_number(row, 1, count)
            row += 1
        row += 1
    summary.write_string(row, 0, xlsx_cell(_("By State")), bold)
    row += 1
    for name, iso3, group, count in compilation.by_state:
        summary.write_string(row, 0, xlsx_cell(name))
        summary.write_string(row, 1, xlsx_cell(iso3))
        summary.write_string(row, 2, xlsx_cell(group))
        summary.write_number(row, 3, count)
        row += 1

    matrix = book.add_worksheet(_("Category by region")[:31])
    group_labels = [str(label) for label in State.RegionalGroup.labels]
    matrix.set_column(0, 0, 45)
    matrix.set_column(1, len(group_labels), 18)
    matrix.write_string(0, 0, xlsx_cell(_("Category")), bold)
    for col, label in enumerate(group_labels, start=1):
        matrix.write_string(0, col, xlsx_cell(label), bold)
    for r, (category, counter) in enumerate(compilation.category_by_group.items(), start=1):
        matrix.write_string(r, 0, xlsx_cell(category))
        for col, label in enumerate(group_labels, start=1):
            matrix.write_number(r, col, counter.get(label, 0))
    progress(75)

    sheet = book.add_worksheet(_("Needs")[:31])
    sheet.set_column(0, 0, 28)
    sheet.set_column(1, 8, 16)
    sheet.set_column(9, 9, 80)
    sheet.freeze_panes(1, 1)
    for col, text in enumerate(_headers()):
        sheet.write_string(0, col, xlsx_cell(text), bold)
    for r, values in enumerate(_rows(), start=1):
        for col, value in enumerate(values):
            if isinstance(value, int):
                sheet.write_number(r, col, value)
            else:
                sheet.write_string(r, col, xlsx_cell(value), wrap if col == 9 else None)
    book.close()
    progress(95)
    return buffer.getvalue(), f"technical-assistance-needs-{timezone.localdate():%Y-%m-%d}.xlsx"


def ta_report_html(*, compilation) -> str:
    language = translation.get_language() or "en"
    return render_to_string(
        "reviews/ta/report_pdf.html",
        {
            "c": compilation,
            "rows": _rows(),
            "headers": _headers(),
            "group_labels": [str(label) for label in State.RegionalGroup.labels],
            "matrix": [
                (category, [counter.get(str(label), 0) for label in State.RegionalGroup.labels])
                for category, counter in compilation.category_by_group.items()
            ],
            "lang": language,
            "rtl": translation.get_language_bidi(),
            "fonts": mark_safe(_FONTS_CJK if language.startswith("zh") else _FONTS),
            "date": timezone.localdate().isoformat(),
        },
    )


def ta_report_pdf(*, compilation, progress) -> tuple[bytes, str]:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    html = ta_report_html(compilation=compilation)
    progress(80)
    # Nothing is fetched by URL, from anywhere (the texts are escaped; a second fence).
    content = HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=frozenset())).write_pdf()
    return content, f"technical-assistance-needs-{timezone.localdate():%Y-%m-%d}.pdf"
