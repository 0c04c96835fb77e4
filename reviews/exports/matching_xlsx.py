"""The matching of technical-assistance needs with expertise offers as a
spreadsheet (XlsxWriter): one row per pair, and a row for a need without offer.
Every text cell goes through cells.xlsx_cell, so nothing typed can run as a formula."""

from __future__ import annotations

import io

from django.utils.translation import gettext as _

from parties.models import State

from .cells import workbook, xlsx_cell

GROUPS = dict(State.RegionalGroup.choices)


def build_matching_xlsx(matched) -> bytes:
    out = io.BytesIO()
    book = workbook(out)
    sheet = book.add_worksheet(xlsx_cell(_("Matching"))[:31])
    bold = book.add_format({"bold": True})
    headers = [
        _("State in need"), _("Regional group"), _("Article"), _("Category"), _("Priority"), _("Need"),
        _("Offered by"), _("Regional group of the offer"), _("Same regional group"), _("South-South"),
        _("Expertise offered"), _("Contact"),
    ]
    for col, header in enumerate(headers):
        sheet.write_string(0, col, xlsx_cell(header), bold)
    row = 1
    for item in matched:
        need = item.need
        head = [
            need.state_name, str(GROUPS.get(need.regional_group, "")), str(need.article_number),
            str(need.category_label), str(need.priority_label), need.text,
        ]
        pairs = item.matches or [None]
        for match in pairs:
            if match is None:
                tail = [_("No offer yet"), "", "", "", "", ""]
            else:
                offer = match.offer
                tail = [
                    offer.offered_by,
                    str(GROUPS.get(offer.state.regional_group, "")) if offer.state_id else _("Secretariat programme"),
                    _("Yes") if match.same_group else _("No"),
                    _("Yes") if match.south_south else _("No"),
                    offer.description, offer.contact,
                ]
            for col, value in enumerate(head + tail):
                sheet.write_string(row, col, xlsx_cell(value))
            row += 1
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(row - 1, 0), len(headers) - 1)
    book.close()
    return out.getvalue()
