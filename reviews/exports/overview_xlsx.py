"""The secretariat's overview of every review as a spreadsheet (XlsxWriter).
Every text cell goes through cells.xlsx_cell, so nothing a State typed can run as
a formula."""

from __future__ import annotations

import datetime
import io

from django.utils.translation import gettext as _

from .cells import workbook, xlsx_cell


def build_overview_xlsx(rows, *, today: datetime.date) -> bytes:
    out = io.BytesIO()
    book = workbook(out)
    sheet = book.add_worksheet(xlsx_cell(_("Reviews"))[:31])
    bold = book.add_format({"bold": True})
    dates = book.add_format({"num_format": "yyyy-mm-dd"})
    headers = [
        _("State under review"), _("ISO code"), _("Cluster"), _("Cycle"), _("Group"), _("Regional group"),
        _("Status"), _("Next deadline"), _("Next deadline (date)"), _("Overdue"), _("Overdue steps"),
    ]
    for col, header in enumerate(headers):
        sheet.write_string(0, col, xlsx_cell(header), bold)
    for i, row in enumerate(rows, start=1):
        review = row.review
        values = [
            review.state.name, review.state.iso3, str(review.cycle.cluster), str(review.cycle),
            str(row.group.number) if row.group else "", review.state.get_regional_group_display(),
            review.get_status_display(), str(row.next.label) if row.next else "",
        ]
        for col, value in enumerate(values):
            sheet.write_string(i, col, xlsx_cell(value))
        if row.next:
            sheet.write_datetime(i, 8, datetime.datetime.combine(row.next.due, datetime.time()), dates)
        else:
            sheet.write_string(i, 8, "")
        sheet.write_string(i, 9, xlsx_cell(_("Yes") if row.overdue else _("No")))
        sheet.write_string(i, 10, xlsx_cell(", ".join(str(d.label) for d in row.overdue)))
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(rows), 1), len(headers) - 1)
    book.close()
    return out.getvalue()
