"""The Working Group recommendations registry with, per recommendation, the States
whose submitted answers on its articles say "no" or "partially" (XlsxWriter; every
text cell through cells.xlsx_cell)."""

from __future__ import annotations

import io

from django.utils.translation import gettext as _

from .cells import workbook, xlsx_cell


def build_registry_xlsx(recommendations, counts) -> bytes:
    out = io.BytesIO()
    book = workbook(out)
    sheet = book.add_worksheet(xlsx_cell(_("Recommendations"))[:31])
    bold = book.add_format({"bold": True})
    headers = [
        _("Series"), _("Number"), _("Source"), _("Section"), _("Text"), _("Articles"),
        _("States not implementing"), _("of which “no”"), _("only “partially”"),
    ]
    for col, header in enumerate(headers):
        sheet.write_string(0, col, xlsx_cell(header), bold)
    for row, rec in enumerate(recommendations, start=1):
        count = counts[rec.code]
        texts = [rec.series_title_localized, None, rec.source, rec.section_localized, rec.text_localized,
                 ", ".join(str(n) for n in rec.articles)]
        for col, value in enumerate(texts):
            if value is not None:
                sheet.write_string(row, col, xlsx_cell(value))
        sheet.write_number(row, 1, rec.number)
        for col, value in enumerate((count.states, count.no, count.partially), start=6):
            sheet.write_number(row, col, value)
    sheet.freeze_panes(1, 0)
    book.close()
    return out.getvalue()
