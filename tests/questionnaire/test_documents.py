"""The response as documents for internal clearance (questionnaire/documents.py):
one data source for the PDF and the Word file, answers kept exactly, gaps shown,
long answers over many pages, right-to-left text, and a submitted response read
from its snapshot only."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import subprocess
import zipfile
import zlib

import pytest
from django.utils import translation
from lxml import etree

from questionnaire import documents
from questionnaire.models import Answer, Response
from questionnaire.services import response_get_or_create, response_submit
from tests.factories import fill_required, load_real_questionnaire, question, save, valid_value

pytestmark = pytest.mark.django_db

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
EXPLANATION = "FP-5.2.explanation"  # long_text, always asked
ARABIC = "تطبق الشرطة والجمارك القانون كل يوم.\nالسطر الثاني"
EMOJI = "Seized 12 🔫 and 3 💣 — 👍🏽 family: 👨‍👩‍👧"


# --- Reading the documents back -------------------------------------------------------


def pdf_text(pdf: bytes, response: Response | None = None) -> str:
    """The PDF's text in the order it is drawn, a line of text a line, with
    pdftotext (poppler-utils); without it, the lines of WeasyPrint's own layout of
    the same HTML."""
    if shutil.which("pdftotext"):
        command = ["pdftotext", "-raw", "-enc", "UTF-8", "-", "-"]
        return subprocess.run(command, input=pdf, capture_output=True, check=True).stdout.decode()
    assert response is not None, "without pdftotext, pass the response to lay it out again"
    from weasyprint import HTML
    from weasyprint.formatting_structure.boxes import LineBox, TextBox

    rendered = HTML(string=documents.response_html(documents.document_data(response))).render()
    return "\n".join(
        "".join(box.text for box in line.descendants() if isinstance(box, TextBox))
        for page in rendered.pages
        for line in page._page_box.descendants()
        if isinstance(line, LineBox)
    )


def words(text: str) -> str:
    """Text with every run of white space made one space: what both ways of
    reading a PDF agree on."""
    return " ".join(text.split())


def pdf_pages(pdf: bytes) -> int:
    """The /Count of the PDF's page tree (in a compressed object stream or not)."""
    chunks = [pdf]
    for stream in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            chunks.append(zlib.decompress(stream.group(1)))
        except zlib.error:
            continue
    for chunk in chunks:
        for tree in re.finditer(rb"<<[^<>]*/Type\s*/Pages\b[^<>]*>>", chunk):
            return int(re.search(rb"/Count\s+(\d+)", tree.group(0)).group(1))
    raise AssertionError("no page tree in the PDF")


def docx_xml(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return archive.read("word/document.xml").decode()


def docx_paragraphs(content: bytes) -> list[etree._Element]:
    return etree.fromstring(docx_xml(content).encode()).iter(f"{W}p")


def paragraph_text(p) -> str:
    return "".join(
        t.text or "" if t.tag == f"{W}t" else "\n" if t.tag == f"{W}br" else "\t"
        for t in p.iter(f"{W}t", f"{W}br", f"{W}tab")
    )


def paragraph_with(content: bytes, needle: str):
    found = [p for p in docx_paragraphs(content) if needle in paragraph_text(p)]
    assert found, f"no paragraph contains {needle!r}"
    return found[0]


def answer(response, by, version, code: str, value) -> None:
    save(response, by, {question(version, code): value})


# --- The PDF ---------------------------------------------------------------------------


def test_the_pdf_of_a_draft_has_the_cover_the_answers_the_gaps_and_page_numbers(response_a, focal_point_a, version):
    answer(response_a, focal_point_a, version, EXPLANATION, "Our police and customs apply the law every day.")

    pdf = documents.response_pdf(response=response_a)

    assert pdf.startswith(b"%PDF")
    text = words(pdf_text(pdf, response_a))
    assert "Self-assessment response of Arcadia" in text
    assert "Our police and customs apply the law every day." in text
    assert "5(2) Is this provision implemented? — How does it work in practice?" in text  # reference, prompt
    assert re.search(r"Page 1 of \d+", text)
    assert "DRAFT — not submitted" in text and "CONFIDENTIAL" in text
    assert "Cluster I: Criminalization" in text
    assert "Which laws give effect to it?" not in text  # not asked: the status is not answered
    assert "How many convictions last year? —" in text  # asked, not answered: shown as a gap
    asked = len(documents.document_data(response_a).questions)
    assert f"Questions answered 1 of {asked} (unanswered questions" in text


def test_a_one_megabyte_answer_runs_over_many_pages_and_is_kept_whole(response_a, focal_point_a, version):
    paragraph = "The registry records every firearm, its marking and its owner. " * 25 + "\n\n"
    text = (paragraph * (1_000_000 // len(paragraph) + 1))[:999_980] + " END-OF-ANSWER"
    answer(response_a, focal_point_a, version, EXPLANATION, text)

    pdf = documents.response_pdf(response=response_a)

    assert pdf.startswith(b"%PDF")
    assert pdf_pages(pdf) > 100
    extracted = pdf_text(pdf, response_a)
    assert "END-OF-ANSWER" in extracted  # nothing cut at a page end
    # Every sentence is there once the page furniture (header, footer, watermark)
    # between two pages is taken out.
    body = words(extracted)
    furniture = (r"DRAFT — not submitted ", r"CONFIDENTIAL ", r"Arcadia · Cluster I ", r"Page \d+ of \d+ ", r"DRAFT ")
    for pattern in furniture:
        body = re.sub(pattern, "", body)
    sentence = "The registry records every firearm, its marking and its owner."
    assert body.count(sentence) == text.count(sentence)
    assert "Page 2 of" in extracted


def test_markup_in_an_answer_is_shown_as_text(response_a, focal_point_a, version):
    answer(response_a, focal_point_a, version, EXPLANATION, '<script>alert("x")</script> <b>not bold</b> & <img src=x>')

    html = documents.response_html(documents.document_data(response_a))
    pdf_extracted = pdf_text(documents.response_pdf(response=response_a), response_a)
    word = docx_xml(documents.response_docx(response=response_a))

    assert "<script>" not in html and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert '<script>alert("x")</script> <b>not bold</b> & <img src=x>' in pdf_extracted
    assert "&lt;script&gt;alert(\"x\")&lt;/script&gt; &lt;b&gt;not bold&lt;/b&gt; &amp; &lt;img src=x&gt;" in word


def test_line_breaks_are_kept_and_each_answer_runs_in_its_own_direction(response_a, focal_point_a, version):
    answer(response_a, focal_point_a, version, EXPLANATION, "First line\n  indented second line")
    answer(response_a, focal_point_a, version, "FP-5.1.a.examples", ARABIC)

    html = documents.response_html(documents.document_data(response_a))

    # dir="auto" for any reader of the HTML, and the direction it stands for as a
    # class, because WeasyPrint does not resolve dir="auto".
    assert '<div class="answer dir-ltr" dir="auto">First line\n  indented second line</div>' in html
    assert f'<div class="answer dir-rtl" dir="auto">{ARABIC}</div>' in html
    assert "white-space: pre-wrap" in html
    assert "break-inside: avoid" not in html  # long answers may break across pages
    assert '<html lang="en" dir="ltr">' in html
    text = pdf_text(documents.response_pdf(response=response_a), response_a)
    assert re.search(r"First line\n *indented second line", text)  # (pdftotext drops the indent)


def test_the_whole_pdf_runs_right_to_left_in_arabic(response_a, focal_point_a, version):
    answer(response_a, focal_point_a, version, "FP-5.1.a.examples", ARABIC)

    with translation.override("ar"):
        html = documents.response_html(documents.document_data(response_a))
        pdf = documents.response_pdf(response=response_a)

    assert '<html lang="ar" dir="rtl">' in html
    assert pdf.startswith(b"%PDF")
    # The Arabic answer is laid out with a font that has Arabic glyphs.
    assert b"Arabic" in pdf or "تطبق" in pdf_text(pdf, response_a)


def test_the_page_footer_cannot_be_broken_out_of_by_a_translation():
    assert documents._css_string('a"b\\c</style>') == '"a\\22 b\\5c c\\3c \\2f style\\3e "'


# --- The Word file -------------------------------------------------------------------------


def test_the_docx_keeps_arabic_and_emoji_intact_and_marks_arabic_right_to_left(response_a, focal_point_a, version):
    answer(response_a, focal_point_a, version, "FP-5.1.a.examples", ARABIC)
    answer(response_a, focal_point_a, version, EXPLANATION, EMOJI)

    content = documents.response_docx(response=response_a)

    xml = docx_xml(content)
    assert "تطبق الشرطة والجمارك القانون كل يوم." in xml and "السطر الثاني" in xml
    assert EMOJI in xml
    arabic = paragraph_with(content, "تطبق الشرطة")
    assert paragraph_text(arabic) == ARABIC  # the line break is a w:br, nothing else changed
    assert arabic.find(f"{W}pPr/{W}bidi") is not None
    assert all(r.find(f"{W}rPr/{W}rtl") is not None for r in arabic.iter(f"{W}r") if r.find(f"{W}t") is not None)
    latin = paragraph_with(content, "Seized 12")
    assert latin.find(f"{W}pPr/{W}bidi") is None
    assert not list(latin.iter(f"{W}rtl"))


def test_a_latin_answer_quoting_arabic_keeps_left_to_right_with_an_rtl_run(response_a, focal_point_a, version):
    answer(response_a, focal_point_a, version, EXPLANATION, "The Act (قانون الأسلحة) of 2020 applies.")

    paragraph = paragraph_with(documents.response_docx(response=response_a), "The Act")

    assert paragraph.find(f"{W}pPr/{W}bidi") is None
    runs = [(r.findtext(f"{W}t"), r.find(f"{W}rPr/{W}rtl") is not None) for r in paragraph.iter(f"{W}r")]
    assert runs == [("The Act (", False), ("قانون الأسلحة) ", True), ("of 2020 applies.", False)]


def test_the_docx_drops_only_the_characters_xml_forbids(response_a, focal_point_a, version):
    answer(response_a, focal_point_a, version, EXPLANATION, "bell\x07 vtab\x0b ff\x0c esc\x1b\ttab\r\nnext ½ ünï")

    content = documents.response_docx(response=response_a)

    paragraph = paragraph_with(content, "bell")
    assert paragraph_text(paragraph) == "bell vtab ff esc\ttab\nnext ½ ünï"
    # The PDF takes the same answer without failing.
    assert documents.response_pdf(response=response_a).startswith(b"%PDF")


def test_the_docx_has_the_cover_the_gaps_the_draft_header_and_page_fields(response_a, focal_point_a, version):
    answer(response_a, focal_point_a, version, EXPLANATION, "Done.")

    content = documents.response_docx(response=response_a)

    texts = [paragraph_text(p) for p in docx_paragraphs(content)]
    assert "Self-assessment response of Arcadia" in texts
    assert "Confidential" in texts
    assert "Article 5. Criminalization" in texts and "5(2)" in texts
    assert "How does it work in practice?" in texts and "Done." in texts
    unanswered = [q for q in documents.document_data(response_a).questions if not q.answered]
    assert texts.count("—") == len(unanswered) > 5
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        parts = {name: archive.read(name).decode() for name in archive.namelist() if name.endswith(".xml")}
    header = next(v for k, v in parts.items() if k.startswith("word/header"))
    footer = next(v for k, v in parts.items() if k.startswith("word/footer"))
    assert "DRAFT — not submitted" in header
    assert 'w:instr=" PAGE "' in footer and 'w:instr=" NUMPAGES "' in footer
    assert "Page " in footer and " of " in footer


def test_the_docx_of_an_arabic_session_runs_right_to_left(response_a):
    with translation.override("ar"):
        content = documents.response_docx(response=response_a)

    xml = docx_xml(content)
    assert re.search(r"<w:sectPr\b.*<w:bidi/>", xml, re.S)
    # "—" has no direction of its own: it follows the document.
    gap = next(p for p in docx_paragraphs(content) if paragraph_text(p) == "—")
    assert gap.find(f"{W}pPr/{W}bidi") is not None


# --- One source: the snapshot of a submitted response ------------------------------------


def test_a_submitted_response_is_documented_from_its_snapshot(response_a, focal_point_a, version):
    fill_required(response_a, focal_point_a, {EXPLANATION: "The value as submitted."})
    response_submit(response=Response.objects.get(pk=response_a.pk), by=focal_point_a)
    # Behind the snapshot's back (no service would allow it): the row changes.
    Answer.objects.filter(response=response_a, question__code=EXPLANATION).update(value="Changed after submission.")
    submitted = Response.objects.select_related("state", "version__cluster__instrument").get(pk=response_a.pk)

    pdf = pdf_text(documents.response_pdf(response=submitted), submitted)
    word = docx_xml(documents.response_docx(response=submitted))

    for text in (words(pdf), word):
        assert "The value as submitted." in text
        assert "Changed after submission." not in text
        assert "SUBMITTED" in text and "by Ada Focal" in text
        assert submitted.snapshot.sha256 in text.replace(" ", "")
    assert "DRAFT" not in pdf


def test_a_draft_is_documented_from_its_current_answers(response_a, focal_point_a, version):
    answer(response_a, focal_point_a, version, EXPLANATION, "First version.")
    Answer.objects.filter(response=response_a, question__code=EXPLANATION).update(value="Second version.")

    data = documents.document_data(response_a)

    assert [q.display for q in data.questions if q.code == EXPLANATION] == ["Second version."]
    assert not data.submitted and not data.fingerprint


def test_questions_not_asked_are_left_out_and_unanswered_ones_kept(response_a, focal_point_a, version):
    answer(response_a, focal_point_a, version, "FP-5.1.a.q1", "single_offence")

    data = documents.document_data(response_a)
    codes = [q.code for q in data.questions]

    assert "FP-5.1.a.q2" not in codes  # asked only when q1 is "other"
    assert "FP-5.1.a.q3" in codes and not next(q for q in data.questions if q.code == "FP-5.1.a.q3").answered
    assert [p.ref for p in data.articles[0].provisions] == ["5(1)(a)", "5(2)"]
    assert next(q for q in data.questions if q.code == "FP-5.1.a.q1").display == "One offence"


# --- Small parts --------------------------------------------------------------------------


def test_the_file_name_is_safe_ascii(response_a):
    response_a.state.iso3 = "G/H"
    assert documents.document_filename(response=response_a, ext="pdf") == "response-G-H-cluster-I-draft.pdf"


@pytest.mark.parametrize(
    ("text", "direction"),
    [
        ("Hello", "ltr"),
        ("مرحبا", "rtl"),
        ("שלום", "rtl"),
        ("2020 — قانون", "rtl"),
        ("12 — 34", None),
        ("", None),
    ],
)
def test_the_direction_is_that_of_the_first_strong_character(text, direction):
    assert documents.text_direction(text) == direction


def test_bidi_runs_split_where_the_direction_changes():
    assert documents.bidi_runs("abc") == [("abc", False)]
    assert documents.bidi_runs("«قانون» 5, law") == [("«قانون» 5, ", True), ("law", False)]
    assert "".join(s for s, _ in documents.bidi_runs("a ب c د")) == "a ب c د"


# --- A whole real cluster -----------------------------------------------------------------


def test_a_whole_real_cluster_answered_in_full_makes_both_documents(focal_point_a, state_a):
    real = load_real_questionnaire()["I"]
    response = response_get_or_create(state=state_a, version=real, due_date=None)
    questions = list(real.questions.order_by("order"))
    long_text = "A full answer, as a ministry would write it.\n" * 20
    save(
        response,
        focal_point_a,
        {q: long_text if q.kind == "long_text" else valid_value(q) for q in questions},
    )
    data = documents.document_data(response)
    assert len(data.questions) > 100

    pdf = documents.response_pdf(response=response)
    word = documents.response_docx(response=response)

    assert pdf_pages(pdf) > 10
    text = pdf_text(pdf, response)
    for article in data.articles:
        assert f"Article {article.number}." in text
    assert word.startswith(b"PK")


# --- Evidence under the answers -----------------------------------------------------------


def _attach_evidence(response, by, version):
    import datetime

    from django.core.files.uploadedfile import SimpleUploadedFile

    from questionnaire import evidence as ev
    from tests.questionnaire.test_evidence import pdf_bytes

    q = question(version, "FP-5.1.a.status")
    ev.answer_evidence_add(
        response=response, question=q, upload=SimpleUploadedFile("gazette-2020.pdf", pdf_bytes()), by=by,
        title="Firearms Act (gazette)",
    )
    cited = ev.answer_evidence_add(
        response=response,
        question=q,
        citation=ev.CitationData(title="<b>Decree</b> 12", article="art. 3", date=datetime.date(2019, 5, 2),
                                 link="https://example.org/decree"),
        by=by,
    ).evidence
    ev.evidence_update(
        evidence=cited, by=by, base_revision=1,
        changes=ev.EvidenceChanges(title=cited.title, article=cited.article, date=cited.date, link=cited.link,
                                   description="Amended in 2021."),
    )
    ev.answer_evidence_add(
        response=response, question=question(version, EXPLANATION), citation=ev.CitationData(title="قانون الأسلحة"), by=by
    )


def test_both_documents_list_each_answers_evidence(response_a, focal_point_a, version):
    answer(response_a, focal_point_a, version, "FP-5.1.a.status", "yes")
    _attach_evidence(response_a, focal_point_a, version)

    data = documents.document_data(response_a)
    by_code = {q.code: q for q in data.questions}
    texts = [e.text for e in by_code["FP-5.1.a.status"].evidence]
    assert texts[0].startswith("Firearms Act (gazette) — PDF document, ") and "file “gazette-2020.pdf”" in texts[0]
    assert texts[1] == "<b>Decree</b> 12, art. 3, 2019-05-02 — https://example.org/decree\nAmended in 2021."
    assert by_code[EXPLANATION].evidence[0].text_dir == "rtl"

    html = documents.response_html(data)
    assert "&lt;b&gt;Decree&lt;/b&gt; 12" in html and "<b>Decree" not in html
    pdf = words(pdf_text(documents.response_pdf(response=response_a), response_a))
    word = documents.response_docx(response=response_a)
    for needle in ("Firearms Act (gazette) — PDF document", "gazette-2020.pdf", "<b>Decree</b> 12, art. 3, 2019-05-02",
                   "https://example.org/decree", "Amended in 2021."):
        assert needle in pdf, needle
    assert "Amended in 2021." in paragraph_text(paragraph_with(word, "<b>Decree</b> 12"))
    assert paragraph_with(word, "قانون الأسلحة").find(f"{W}pPr/{W}bidi") is not None


def test_a_submitted_responses_documents_list_its_evidence_as_submitted(response_a, focal_point_a, version):
    _attach_evidence(response_a, focal_point_a, version)
    fill_required(response_a, focal_point_a)
    response_submit(response=Response.objects.get(pk=response_a.pk), by=focal_point_a)
    submitted = Response.objects.select_related("state", "version__cluster__instrument").get(pk=response_a.pk)

    word = docx_xml(documents.response_docx(response=submitted))
    assert "Firearms Act (gazette)" in word and "Decree" in word

    # A snapshot that keeps its own list of evidence is read from that list.
    from questionnaire.models import ResponseSnapshot

    snapshot = dict(submitted.snapshot.data)
    snapshot["evidence"] = {"FP-5.1.a.status": [{"kind": "citation", "title": "As kept in the snapshot"}]}
    with _submitted_copy_writable():
        ResponseSnapshot.objects.filter(pk=submitted.snapshot.pk).update(data=snapshot)
    submitted = Response.objects.select_related("state", "version__cluster__instrument", "snapshot").get(pk=response_a.pk)
    data = documents.document_data(submitted)
    assert [e.text for q in data.questions for e in q.evidence] == ["As kept in the snapshot"]


@contextlib.contextmanager
def _submitted_copy_writable():
    """For a test that plants an older form of stored data: the database refuses any
    change to a submitted copy (migration questionnaire 0006) unless its trigger is
    off, which only the table's owner may do, inside this test's transaction."""
    from django.db import connection

    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        # Django's foreign keys are checked at commit: run those checks now, since a
        # table with checks pending cannot be altered.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE questionnaire_responsesnapshot DISABLE TRIGGER fp_submitted_copy_immutable")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE questionnaire_responsesnapshot ENABLE TRIGGER fp_submitted_copy_immutable")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def test_old_stored_evidence_data_without_the_newer_fields_is_still_documented():
    item = documents.DocEvidence.from_data({"kind": "file", "title": "Act", "file_type": "pdf"})
    assert item.text == "Act — PDF document"
    assert documents.DocEvidence.from_data({"title": "Act", "file_type": "exe", "kind": "file"}).text == "Act"
