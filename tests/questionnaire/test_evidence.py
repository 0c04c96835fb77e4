"""Evidence rules (questionnaire.evidence): what a file is, where it is stored,
who may read it, and attaching it to answers.

Sample files are built here, in memory: a minimal PDF, a DOCX made with
python-docx, an ODT zip, a PNG and a JPEG, and hostile ones (programs and pages
under document names, a plain zip named .docx, zip bombs, encrypted and corrupt
archives)."""

from __future__ import annotations

import datetime
import io
import re
import struct
import zipfile
import zlib
from pathlib import Path

import docx
import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile

from questionnaire import evidence as ev
from questionnaire.models import AnswerEvidence, Evidence, Response
from questionnaire.services import ResponseLocked, response_submit
from tests.factories import fill_required, question

pytestmark = pytest.mark.django_db

CODE = "FP-5.1.a.status"
STORED_NAME = re.compile(r"^evidence/[A-Z]{3}/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


# --- Sample files -------------------------------------------------------------------


def pdf_bytes(text: str = "Firearms Act") -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
        b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n% " + text.encode() + b"\ntrailer <</Root 1 0 R>>\n%%EOF\n"
    )


def docx_bytes(text: str = "Firearms Act, section 5") -> bytes:
    document = docx.Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def odt_bytes(text: str = "Loi sur les armes", mimetype: str = "application/vnd.oasis.opendocument.text") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), mimetype, compress_type=zipfile.ZIP_STORED)
        archive.writestr(
            "content.xml",
            '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
            'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
            'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text>'
            f"<text:p>{text}</text:p></office:text></office:body></office:document-content>",
            compress_type=zipfile.ZIP_DEFLATED,
        )
        archive.writestr(
            "META-INF/manifest.xml",
            '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
            'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>',
            compress_type=zipfile.ZIP_DEFLATED,
        )
    return out.getvalue()


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b"")


def jpeg_bytes() -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"


def exe_bytes() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 48 + b"This program cannot be run in DOS mode."


def html_bytes() -> bytes:
    return b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


def zip_bytes(entries: dict[str, bytes], *, encrypted: bool = False) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    data = bytearray(out.getvalue())
    if encrypted:
        # zipfile cannot encrypt: set the "encrypted" flag of every local and
        # central header, as a password-protected archive has it.
        for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            at = data.find(signature)
            while at != -1:
                data[at + offset] |= 0x1
                at = data.find(signature, at + 4)
    return bytes(data)


def docx_shell(extra: dict[str, bytes] | None = None) -> dict[str, bytes]:
    return {
        "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
        "word/document.xml": b"<w:document/>",
        **(extra or {}),
    }


def zip_bomb_docx(uncompressed: int) -> bytes:
    """A DOCX-looking zip with one entry of ``uncompressed`` zero bytes, streamed
    so that the test never holds it in memory."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in docx_shell().items():
            archive.writestr(name, data)
        with archive.open("word/media/padding.bin", "w", force_zip64=True) as member:
            block = b"\x00" * (1024 * 1024)
            left = uncompressed
            while left:
                n = min(left, len(block))
                member.write(block[:n])
                left -= n
    return out.getvalue()


def corrupt_docx() -> bytes:
    data = bytearray(docx_bytes("A long enough paragraph to be compressed. " * 50))
    # Flip bytes inside the compressed data of word/document.xml: its CRC fails.
    start = data.find(b"word/document.xml") + len("word/document.xml")
    for i in range(start + 20, start + 60):
        data[i] ^= 0xFF
    return bytes(data)


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


ACCEPTED = [
    ("act.pdf", pdf_bytes, "pdf", "application/pdf"),
    ("act.docx", docx_bytes, "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("loi.odt", odt_bytes, "odt", "application/vnd.oasis.opendocument.text"),
    ("register.png", png_bytes, "png", "image/png"),
    ("stamp.jpg", jpeg_bytes, "jpeg", "image/jpeg"),
]


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "evidence"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# --- Accepted files -------------------------------------------------------------------


@pytest.mark.parametrize(("name", "build", "file_type", "content_type"), ACCEPTED, ids=[a[2] for a in ACCEPTED])
def test_it_stores_each_accepted_type_under_a_generated_name_outside_static(
    state_a, focal_point_a, name, build, file_type, content_type
):
    content = build()
    # The browser's content type is ignored: only the content counts.
    stored = ev.evidence_upload(state=state_a, upload=upload(name, content, "text/html"), by=focal_point_a, title="Firearms Act")

    evidence = Evidence.objects.get()
    assert stored.created and stored.evidence == evidence
    assert evidence.kind == Evidence.Kind.FILE
    assert evidence.file_type == file_type
    assert ev.file_kind(evidence).content_type == content_type
    assert evidence.original_name == name
    assert evidence.size == len(content)
    assert evidence.sha256 == __import__("hashlib").sha256(content).hexdigest()
    assert evidence.uploaded_by == focal_point_a
    assert evidence.title == "Firearms Act"
    assert STORED_NAME.match(evidence.file.name), evidence.file.name
    assert evidence.file.name.split("/")[1] == state_a.iso3
    path = Path(evidence.file.path).resolve()
    assert path.is_relative_to(Path(settings.MEDIA_ROOT).resolve())
    for static in [settings.STATIC_ROOT, *settings.STATICFILES_DIRS]:
        assert not path.is_relative_to(Path(static).resolve())
    assert name not in str(path) and "act" not in path.name
    assert path.read_bytes() == content
    assert stored_files() == [path]


def test_it_keeps_the_upload_metadata_and_defaults_the_title_to_the_file_name(state_a, contributor_a):
    stored = ev.evidence_upload(
        state=state_a, upload=upload("Firearms Act 2020.pdf", pdf_bytes()), by=contributor_a, article="s. 5",
        date=datetime.date(2020, 3, 1),
    )

    assert stored.evidence.title == "Firearms Act 2020.pdf"
    assert (stored.evidence.article, stored.evidence.date) == ("s. 5", datetime.date(2020, 3, 1))


# --- Refused files ------------------------------------------------------------------


HOSTILE = [
    ("report.pdf", exe_bytes, "a Windows program"),
    ("photo.png", html_bytes, "an HTML page"),
    ("law.docx", lambda: zip_bytes({"law.txt": b"not a document"}), "a ZIP archive"),
    ("law.docx", lambda: zip_bytes({"[Content_Types].xml": b"<Types/>", "docProps/app.xml": b"<x/>"}), "a ZIP archive"),
    ("law.docx", lambda: zip_bomb_docx(30 * 1024 * 1024), "ZIP bomb"),
    ("law.docx", lambda: zip_bomb_docx(201 * 1024 * 1024), "ZIP bomb"),
    ("law.docx", lambda: zip_bytes(docx_shell(), encrypted=True), "encrypted"),
    ("law.docx", corrupt_docx, "damaged"),
    ("law.docx", lambda: zip_bytes(docx_shell({"word/vbaProject.bin": b"\x00" * 10})), "macros"),
    ("law.odt", lambda: odt_bytes(mimetype="application/vnd.oasis.opendocument.spreadsheet"), "not a text document"),
    ("law.xlsx", lambda: zip_bytes({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<w/>"}), "Excel"),
    ("image.png", lambda: b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>', "SVG"),
    ("law.pdf", lambda: b"Just some text pretending to be a PDF.", "plain text"),
    ("law.pdf", lambda: b"GIF89a\x01\x00\x01\x00", "GIF image"),
]


@pytest.mark.parametrize(("name", "build", "detected"), HOSTILE, ids=[f"{h[0]}-{h[2]}" for h in HOSTILE])
def test_it_refuses_a_file_whose_content_is_not_accepted_and_stores_nothing(state_a, focal_point_a, name, build, detected):
    with pytest.raises(ev.EvidenceRefused) as refused:
        ev.evidence_upload(state=state_a, upload=upload(name, build(), "application/pdf"), by=focal_point_a)

    message = str(refused.value)
    assert detected in message
    assert "not accepted" in message and "Nothing was stored" in message
    assert not Evidence.objects.exists()
    assert stored_files() == []


def test_it_refuses_a_file_over_20_mb_from_its_size_before_reading_it(state_a, focal_point_a):
    class Unreadable(io.BytesIO):
        def read(self, *args):
            raise AssertionError("the content was read")

    big = SimpleUploadedFile("big.pdf", b"")
    big.file = Unreadable()
    big.size = ev.MAX_FILE_SIZE + 1

    with pytest.raises(ev.EvidenceRefused, match="larger than 20 MB"):
        ev.evidence_upload(state=state_a, upload=big, by=focal_point_a)
    assert not Evidence.objects.exists()


def test_it_accepts_exactly_20_mb_and_refuses_one_byte_more(state_a, focal_point_a):
    content = pdf_bytes()
    exact = content + b"\x00" * (ev.MAX_FILE_SIZE - len(content))

    ev.evidence_upload(state=state_a, upload=upload("exact.pdf", exact), by=focal_point_a)
    with pytest.raises(ev.EvidenceRefused, match="larger than 20 MB"):
        ev.evidence_upload(state=state_a, upload=upload("over.pdf", exact + b"\x00"), by=focal_point_a)

    assert Evidence.objects.get().size == ev.MAX_FILE_SIZE


# --- Names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\windows\\system32\\law.pdf", "law.pdf"),
        ("law\x00.exe.pdf", "law.exe.pdf"),
        ("law\r\nContent-Type: text/html.pdf", "html.pdf"),
        ("law\r\nX-Injected: yes.pdf", "lawX-Injected_ yes.pdf"),
        ("law\u202efdp.exe", "lawfdp.exe"),
        ('quote"and;semicolon.pdf', "quote_and;semicolon.pdf"),
        ("...", "file"),
        ("Loi n° 2020-15 sur les armes.pdf", "Loi n° 2020-15 sur les armes.pdf"),
        ("قانون الأسلحة.pdf", "قانون الأسلحة.pdf"),
    ],
)
def test_it_sanitises_the_original_name(name, kept):
    assert ev.sanitise_filename(name) == kept


def test_it_stores_a_traversal_name_safely_and_names_the_download_safely(state_a, focal_point_a):
    stored = ev.evidence_upload(state=state_a, upload=upload("../../etc/passwd\u202e.pdf", pdf_bytes()), by=focal_point_a)

    evidence = stored.evidence
    assert STORED_NAME.match(evidence.file.name)
    assert evidence.original_name == "passwd.pdf"
    header = ev.content_disposition(ev.download_name(evidence), fallback="evidence.pdf")
    assert header == "attachment; filename=\"passwd.pdf\"; filename*=UTF-8''passwd.pdf"


def test_it_gives_the_download_the_extension_of_the_detected_type():
    evidence = Evidence(pk=7, kind=Evidence.Kind.FILE, file_type="pdf", original_name="law.exe")
    assert ev.download_name(evidence) == "law.exe.pdf"
    evidence.original_name = "photo.JPG"
    evidence.file_type = "jpeg"
    assert ev.download_name(evidence) == "photo.JPG"


@pytest.mark.parametrize(
    "name", ["Loi sur les armes à feu.pdf", "قانون الأسلحة.pdf", 'a"b\\c.pdf', "x\r\ny.pdf", "\u202etxt.pdf", "法律.pdf"]
)
def test_it_builds_a_content_disposition_with_an_ascii_name_and_the_encoded_original(name):
    header = ev.content_disposition(name, fallback="evidence-1.pdf")

    assert header.isascii()
    assert not any(ch in header for ch in "\r\n\x00")
    match = re.fullmatch(r"attachment; filename=\"([A-Za-z0-9._()\- ]+)\"; filename\*=UTF-8''([A-Za-z0-9%._~\-]+)", header)
    assert match, header
    from urllib.parse import unquote

    assert unquote(match.group(2)) == ev.sanitise_filename(name)


# --- The library --------------------------------------------------------------------


def test_it_stores_the_same_file_once_per_state_and_says_so(state_a, state_b, focal_point_a, contributor_a, focal_point_b):
    first = ev.evidence_upload(state=state_a, upload=upload("act.pdf", pdf_bytes()), by=focal_point_a)
    again = ev.evidence_upload(state=state_a, upload=upload("copy of act.pdf", pdf_bytes()), by=contributor_a)
    other_state = ev.evidence_upload(state=state_b, upload=upload("act.pdf", pdf_bytes()), by=focal_point_b)

    assert first.created and not again.created and other_state.created
    assert again.evidence == first.evidence
    assert Evidence.objects.filter(state=state_a).count() == 1
    assert len(stored_files()) == 2


def test_it_cites_a_law_with_an_optional_date_and_an_http_link(state_a, focal_point_a):
    cited = ev.evidence_cite(
        state=state_a,
        citation=ev.CitationData(title="Firearms Act", article="s. 5", date=datetime.date(2020, 1, 31), link="https://example.org/act"),
        by=focal_point_a,
    )
    undated = ev.evidence_cite(state=state_a, citation=ev.CitationData(title="Arms Decree", link="http://example.org/d"), by=focal_point_a)
    again = ev.evidence_cite(
        state=state_a,
        citation=ev.CitationData(title="Firearms Act", article="s. 5", date=datetime.date(2020, 1, 31), link="https://example.org/act"),
        by=focal_point_a,
    )

    assert cited.created and undated.created and not again.created
    assert undated.evidence.date is None
    assert cited.evidence.kind == Evidence.Kind.CITATION and not cited.evidence.file
    assert Evidence.objects.count() == 2


@pytest.mark.parametrize(
    "link", ["javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<script>x</script>", "ftp://example.org/a", "example"]
)
def test_it_refuses_a_link_that_is_not_http(state_a, focal_point_a, link):
    with pytest.raises(ev.EvidenceRefused, match="http:// or https://"):
        ev.evidence_cite(state=state_a, citation=ev.CitationData(title="Act", link=link), by=focal_point_a)
    assert not Evidence.objects.exists()


def test_it_refuses_a_citation_without_a_title(state_a, focal_point_a):
    with pytest.raises(ev.EvidenceRefused):
        ev.evidence_cite(state=state_a, citation=ev.CitationData(title=" \u202e "), by=focal_point_a)


def test_only_the_states_answering_people_manage_its_library(state_a, focal_point_b, secretariat, reviewer):
    for outsider in (focal_point_b, secretariat, reviewer):
        with pytest.raises(PermissionDenied):
            ev.evidence_upload(state=state_a, upload=upload("act.pdf", pdf_bytes()), by=outsider)
        with pytest.raises(PermissionDenied):
            ev.evidence_cite(state=state_a, citation=ev.CitationData(title="Act"), by=outsider)
    assert not Evidence.objects.exists() and stored_files() == []


# --- Attaching ------------------------------------------------------------------------


def _submit(response, by) -> Response:
    fill_required(response, by)
    response_submit(response=Response.objects.get(pk=response.pk), by=by)
    return Response.objects.get(pk=response.pk)


def test_it_attaches_library_evidence_new_files_and_citations_to_an_answer(response_a, focal_point_a, contributor_a, version):
    q = question(version, CODE)
    cited = ev.evidence_cite(state=response_a.state, citation=ev.CitationData(title="Firearms Act"), by=focal_point_a).evidence

    existing = ev.answer_evidence_add(response=response_a, question=q, evidence=cited, by=contributor_a)
    again = ev.answer_evidence_add(response=response_a, question=q, evidence=cited, by=focal_point_a)
    new_file = ev.answer_evidence_add(response=response_a, question=q, upload=upload("act.pdf", pdf_bytes()), by=contributor_a)
    new_citation = ev.answer_evidence_add(
        response=response_a, question=q, citation=ev.CitationData(title="Decree 12"), by=contributor_a
    )

    assert existing.attached and not existing.stored
    assert not again.attached
    assert new_file.stored and new_file.attached and new_file.evidence.is_file
    assert new_citation.stored and new_citation.attached
    panel = ev.answer_evidence(response=response_a, questions=[q])[q.pk]
    assert [e.title for e in panel.evidence] == ["Firearms Act", "act.pdf", "Decree 12"]
    assert AnswerEvidence.objects.get(evidence=cited).added_by == contributor_a
    assert ev.evidence_by_code(response=response_a) == {CODE: panel.evidence}


def test_it_refuses_evidence_of_another_state(response_a, state_b, focal_point_a, focal_point_b, version):
    theirs = ev.evidence_cite(state=state_b, citation=ev.CitationData(title="Their act"), by=focal_point_b).evidence

    with pytest.raises(PermissionDenied):
        ev.answer_evidence_add(response=response_a, question=question(version, CODE), evidence=theirs, by=focal_point_a)
    with pytest.raises(PermissionDenied):
        ev.answer_evidence_add(
            response=response_a, question=question(version, CODE), citation=ev.CitationData(title="X"), by=focal_point_b
        )
    assert not AnswerEvidence.objects.exists()


def test_it_freezes_attachments_once_the_response_is_submitted(response_a, focal_point_a, contributor_a, version):
    q = question(version, CODE)
    attached = ev.answer_evidence_add(response=response_a, question=q, upload=upload("act.pdf", pdf_bytes()), by=focal_point_a).evidence
    cited = ev.evidence_cite(state=response_a.state, citation=ev.CitationData(title="Decree"), by=focal_point_a).evidence
    submitted = _submit(response_a, focal_point_a)
    before = (list(Evidence.objects.values_list("pk", flat=True)), list(AnswerEvidence.objects.values_list("pk", flat=True)))

    with pytest.raises(ResponseLocked):
        ev.answer_evidence_add(response=submitted, question=q, evidence=cited, by=contributor_a)
    with pytest.raises(ResponseLocked):
        ev.answer_evidence_add(response=submitted, question=q, upload=upload("new.pdf", pdf_bytes("new")), by=focal_point_a)
    with pytest.raises(ResponseLocked):
        ev.answer_evidence_add(response=submitted, question=q, citation=ev.CitationData(title="New"), by=focal_point_a)
    with pytest.raises(ResponseLocked):
        ev.answer_evidence_remove(response=submitted, question=q, evidence=attached, by=focal_point_a)

    after = (list(Evidence.objects.values_list("pk", flat=True)), list(AnswerEvidence.objects.values_list("pk", flat=True)))
    assert after == before
    assert len(stored_files()) == 1


def test_it_refuses_even_a_stale_draft_copy_of_a_submitted_response(response_a, focal_point_a, version):
    """The service locks and re-reads the response: a view holding an old draft row changes nothing."""
    q = question(version, CODE)
    stale = Response.objects.get(pk=response_a.pk)
    _submit(response_a, focal_point_a)

    with pytest.raises(ResponseLocked):
        ev.answer_evidence_add(response=stale, question=q, upload=upload("act.pdf", pdf_bytes()), by=focal_point_a)
    assert not Evidence.objects.exists() and stored_files() == []


def test_it_detaches_but_keeps_the_evidence_in_the_library(response_a, focal_point_a, version):
    q = question(version, CODE)
    cited = ev.answer_evidence_add(response=response_a, question=q, citation=ev.CitationData(title="Act"), by=focal_point_a).evidence

    assert ev.answer_evidence_remove(response=response_a, question=q, evidence=cited, by=focal_point_a) is True
    assert ev.answer_evidence_remove(response=response_a, question=q, evidence=cited, by=focal_point_a) is False
    assert not AnswerEvidence.objects.exists() and Evidence.objects.filter(pk=cited.pk).exists()


# --- Who reads a file -----------------------------------------------------------------


@pytest.fixture
def reviewers_read_evidence():
    """The registration reviews/apps.py makes (reviews.evidence_access.register)."""
    from reviews import evidence_access

    registered = evidence_access.assigned_reviewer_reads_evidence in ev.EXTRA_READERS
    evidence_access.register()
    yield
    if not registered:
        ev.EXTRA_READERS.remove(evidence_access.assigned_reviewer_reads_evidence)


def test_it_lets_the_secretariat_and_reviewers_read_only_what_a_submitted_response_uses(
    review_a, response_a, focal_point_a, contributor_a, focal_point_b, secretariat, reviewer, unassigned_reviewer,
    version, reviewers_read_evidence,
):
    q = question(version, CODE)
    used = ev.answer_evidence_add(response=response_a, question=q, upload=upload("act.pdf", pdf_bytes()), by=focal_point_a).evidence
    unused = ev.evidence_upload(state=response_a.state, upload=upload("other.png", png_bytes()), by=focal_point_a).evidence

    def readers(evidence):
        people = {
            "focal_point_a": focal_point_a,
            "contributor_a": contributor_a,
            "focal_point_b": focal_point_b,
            "secretariat": secretariat,
            "reviewer": reviewer,
            "unassigned_reviewer": unassigned_reviewer,
        }
        return {name for name, user in people.items() if ev.can_read_evidence(user, Evidence.objects.get(pk=evidence.pk))}

    assert readers(used) == readers(unused) == {"focal_point_a", "contributor_a"}
    _submit(response_a, focal_point_a)
    assert readers(used) == {"focal_point_a", "contributor_a", "secretariat", "reviewer"}
    assert readers(unused) == {"focal_point_a", "contributor_a"}


def test_the_reviewers_hook_registers_once(reviewers_read_evidence):
    from reviews import evidence_access

    evidence_access.register()
    evidence_access.register()
    assert ev.EXTRA_READERS.count(evidence_access.assigned_reviewer_reads_evidence) == 1


# --- Editing and deleting library entries -------------------------------------------------


def _row(evidence) -> tuple:
    """What an edit or a deletion could change of an entry (None: gone)."""
    row = Evidence.objects.filter(pk=evidence.pk).values_list(
        "title", "article", "date", "link", "description", "revision", "file", "sha256"
    ).first()
    return row


@pytest.fixture
def draft_b_cluster(state_a, mini_versions):
    """A second draft of State A (cluster II), to share library entries with response_a."""
    from questionnaire.services import response_get_or_create

    return response_get_or_create(state=state_a, version=mini_versions["II"], due_date=None)


def test_editing_a_citation_shows_the_new_text_in_every_draft_answer_using_it(
    response_a, draft_b_cluster, focal_point_a, contributor_a, version, mini_versions
):
    q1, q2 = question(version, CODE), question(mini_versions["II"], "FP-14.status")
    cited = ev.answer_evidence_add(
        response=response_a, question=q1, citation=ev.CitationData(title="Firearms Act", link="https://example.org/a"),
        by=focal_point_a,
    ).evidence
    ev.answer_evidence_add(response=draft_b_cluster, question=q2, evidence=cited, by=focal_point_a)

    edited = ev.evidence_update(
        evidence=cited,
        by=contributor_a,
        changes=ev.EvidenceChanges(
            title="Firearms Act 2020", article="s. 5", date=datetime.date(2020, 3, 1), link="https://example.org/act",
            description="Consolidated version.\r\nIn force since March.",
        ),
        base_revision=1,
    )

    assert (edited.revision, edited.updated_by) == (2, contributor_a)
    assert _row(cited)[:6] == (
        "Firearms Act 2020", "s. 5", datetime.date(2020, 3, 1), "https://example.org/act",
        "Consolidated version.\nIn force since March.", 2,
    )
    for response, q in ((response_a, q1), (draft_b_cluster, q2)):
        panel = ev.answer_evidence(response=response, questions=[q])[q.pk]
        assert [(e.title, e.article) for e in panel.evidence] == [("Firearms Act 2020", "s. 5")]


def test_editing_a_file_changes_its_description_never_its_file(state_a, focal_point_a):
    stored = ev.evidence_upload(state=state_a, upload=upload("act.pdf", pdf_bytes()), by=focal_point_a).evidence
    files = [(p, p.read_bytes()) for p in stored_files()]

    ev.evidence_update(
        evidence=stored, by=focal_point_a, base_revision=1,
        changes=ev.EvidenceChanges(title="Firearms Act", article="art. 2", description="Official gazette copy",
                                   link="https://example.org/ignored"),
    )

    title, article, _date, link, description, revision, name, sha = _row(stored)
    assert (title, article, link, description, revision) == ("Firearms Act", "art. 2", "", "Official gazette copy", 2)
    assert (name, sha) == (stored.file.name, stored.sha256)
    assert [(p, p.read_bytes()) for p in stored_files()] == files


def test_an_entry_used_by_a_submitted_response_can_be_neither_edited_nor_deleted(
    response_a, draft_b_cluster, focal_point_a, version, mini_versions, django_capture_on_commit_callbacks
):
    attached = ev.answer_evidence_add(
        response=response_a, question=question(version, CODE), upload=upload("act.pdf", pdf_bytes()), by=focal_point_a
    ).evidence
    # Used by a draft too: the submitted use is enough to freeze it.
    ev.answer_evidence_add(
        response=draft_b_cluster, question=question(mini_versions["II"], "FP-14.status"), evidence=attached, by=focal_point_a
    )
    _submit(response_a, focal_point_a)
    before, links, files = _row(attached), AnswerEvidence.objects.count(), stored_files()

    with pytest.raises(ev.EvidenceFrozen) as refused:
        ev.evidence_update(evidence=attached, by=focal_point_a, changes=ev.EvidenceChanges(title="Changed"), base_revision=1)
    assert "submitted response" in str(refused.value) and "Nothing was changed" in str(refused.value)
    assert "Cluster I" in str(refused.value)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(ev.EvidenceFrozen):
        ev.evidence_delete(evidence=attached, by=focal_point_a, base_revision=1)

    assert callbacks == []
    assert (_row(attached), AnswerEvidence.objects.count(), stored_files()) == (before, links, files)
    assert [r.pk for r in ev.frozen_by(evidence=attached)] == [response_a.pk]
    library = {e.pk: e for e in ev.state_library(state=response_a.state)}
    assert (library[attached.pk].use_count, library[attached.pk].submitted_uses) == (2, 1)


def test_a_stale_edit_is_refused_and_leaves_the_newer_text(state_a, focal_point_a, contributor_a):
    cited = ev.evidence_cite(state=state_a, citation=ev.CitationData(title="Arms Act"), by=focal_point_a).evidence
    ev.evidence_update(evidence=cited, by=contributor_a, changes=ev.EvidenceChanges(title="Arms Act 1999"), base_revision=1)
    newer = _row(cited)

    with pytest.raises(ev.EvidenceStale) as refused:
        ev.evidence_update(evidence=cited, by=focal_point_a, changes=ev.EvidenceChanges(title="Arms Act 2001"), base_revision=1)
    assert refused.value.current.title == "Arms Act 1999" and refused.value.current.revision == 2
    assert "Cora Contributor" in str(refused.value) and "were not saved" in str(refused.value)
    with pytest.raises(ev.EvidenceStale):
        ev.evidence_delete(evidence=cited, by=focal_point_a, base_revision=1)
    assert _row(cited) == newer
    # Asking for what is already stored is no conflict: nothing to save.
    same = ev.evidence_update(evidence=cited, by=focal_point_a, changes=ev.EvidenceChanges(title="Arms Act 1999"), base_revision=1)
    assert same.revision == 2 and _row(cited) == newer


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (ev.EvidenceChanges(title="  \u202e "), "needs a title"),
        (ev.EvidenceChanges(title="Act", link="javascript:alert(1)"), "http:// or https://"),
        (ev.EvidenceChanges(title="Act", date="2020-02-30"), "must be a date"),
    ],
)
def test_a_bad_edit_is_refused_and_changes_nothing(state_a, focal_point_a, changes, message):
    cited = ev.evidence_cite(state=state_a, citation=ev.CitationData(title="Arms Act"), by=focal_point_a).evidence
    before = _row(cited)

    with pytest.raises(ev.EvidenceRefused, match=message):
        ev.evidence_update(evidence=cited, by=focal_point_a, changes=changes, base_revision=1)
    assert _row(cited) == before


def test_deleting_detaches_it_from_the_drafts_and_removes_the_file_after_commit(
    response_a, draft_b_cluster, focal_point_a, contributor_a, version, mini_versions, django_capture_on_commit_callbacks
):
    attached = ev.answer_evidence_add(
        response=response_a, question=question(version, CODE), upload=upload("act.pdf", pdf_bytes()), by=focal_point_a
    ).evidence
    ev.answer_evidence_add(
        response=draft_b_cluster, question=question(mini_versions["II"], "FP-14.status"), evidence=attached, by=focal_point_a
    )
    kept = ev.answer_evidence_add(
        response=response_a, question=question(version, CODE), citation=ev.CitationData(title="Kept"), by=focal_point_a
    ).evidence
    path = Path(attached.file.path)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        deleted = ev.evidence_delete(evidence=attached, by=contributor_a, base_revision=1)
        assert path.exists()  # not before the commit
    for callback in callbacks:
        callback()

    assert (deleted.title, deleted.detached) == ("act.pdf", 2)
    assert _row(attached) is None and not path.exists()
    assert list(AnswerEvidence.objects.values_list("evidence_id", flat=True)) == [kept.pk]
    assert stored_files() == []


def test_a_deletion_rolled_back_keeps_the_file(state_a, focal_point_a, django_capture_on_commit_callbacks):
    from django.db import transaction

    stored = ev.evidence_upload(state=state_a, upload=upload("act.pdf", pdf_bytes()), by=focal_point_a).evidence

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        with transaction.atomic():
            ev.evidence_delete(evidence=stored, by=focal_point_a, base_revision=1)
            raise RuntimeError("the surrounding work failed")

    assert callbacks == [] and _row(stored) is not None and len(stored_files()) == 1


def test_only_the_states_answering_people_edit_or_delete_its_entries(
    state_a, focal_point_a, focal_point_b, secretariat, reviewer
):
    cited = ev.evidence_cite(state=state_a, citation=ev.CitationData(title="Arms Act"), by=focal_point_a).evidence
    before = _row(cited)

    for outsider in (focal_point_b, secretariat, reviewer):
        with pytest.raises(PermissionDenied):
            ev.evidence_update(evidence=cited, by=outsider, changes=ev.EvidenceChanges(title="Theirs"), base_revision=1)
        with pytest.raises(PermissionDenied):
            ev.evidence_delete(evidence=cited, by=outsider, base_revision=1)
    assert _row(cited) == before


def test_a_change_to_an_entry_deleted_meanwhile_is_refused_with_a_message(state_a, focal_point_a, contributor_a):
    cited = ev.evidence_cite(state=state_a, citation=ev.CitationData(title="Arms Act"), by=focal_point_a).evidence
    loaded = Evidence.objects.get(pk=cited.pk)  # what the other person's page loaded
    ev.evidence_delete(evidence=cited, by=focal_point_a, base_revision=1)

    for change in (
        lambda: ev.evidence_update(evidence=loaded, by=contributor_a, changes=ev.EvidenceChanges(title="X"), base_revision=1),
        lambda: ev.evidence_delete(evidence=loaded, by=contributor_a, base_revision=1),
    ):
        with pytest.raises(ev.EvidenceRefused, match="no longer in your State's library"):
            change()
    assert not Evidence.objects.exists()
