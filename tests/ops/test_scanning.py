"""The virus-scanner hook against ClamAV's real daemon (clamd, with the EICAR test
signature): every evidence file and offline workbook is streamed to it before
anything is stored; an infected file is refused; a configured scanner that does
not answer refuses the upload (fail closed); no scanner configured, no scan."""

from __future__ import annotations

import logging

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from questionnaire import evidence as ev
from questionnaire import offline, scanning
from questionnaire.models import Evidence
from tests.questionnaire.test_evidence import pdf_bytes, stored_files
from tests.views.conftest import client_for, db_fingerprint
from tests.views.test_evidence_views import library_url, post_upload, snapshot
from tests.views.test_offline_views import download, fill, pending_files, text, upload

from .conftest import EICAR, free_port, start_clamd, stop

pytestmark = pytest.mark.django_db

INFECTED = "contains a virus or other malware (Eicar-Test-Signature"
UNAVAILABLE = "cannot be checked for viruses right now"


@pytest.fixture
def via_socket(settings, clamd):
    settings.CLAMD_SOCKET, settings.CLAMD_HOST = clamd.socket_path, ""
    return clamd


@pytest.fixture
def via_tcp(settings, clamd):
    settings.CLAMD_SOCKET, settings.CLAMD_HOST, settings.CLAMD_PORT = "", "127.0.0.1", clamd.port
    return clamd


def pdf_upload(content: bytes, name: str = "act.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, "application/pdf")


def test_a_clean_file_is_scanned_then_stored(via_socket, state_a, focal_point_a):
    before = len(via_socket.scanned())

    stored = ev.evidence_upload(state=state_a, upload=pdf_upload(pdf_bytes()), by=focal_point_a, title="Act")

    assert stored.created and stored.evidence.file.read() == pdf_bytes()
    assert via_socket.scanned()[before:] == ["OK"]


@pytest.mark.parametrize("transport", ["via_socket", "via_tcp"])
def test_an_infected_file_is_refused_and_nothing_is_stored(request, transport, state_a, focal_point_a):
    clamd = request.getfixturevalue(transport)
    before = len(clamd.scanned())

    with pytest.raises(ev.EvidenceRefused, match=r"contains a virus") as refused:
        ev.evidence_upload(state=state_a, upload=pdf_upload(pdf_bytes(EICAR.decode())), by=focal_point_a, title="Act")

    assert "Nothing was stored" in str(refused.value)
    assert Evidence.objects.count() == 0 and stored_files() == []
    assert clamd.scanned()[before:] == ["Eicar-Test-Signature.UNOFFICIAL FOUND"]


def test_a_large_file_is_streamed_whole(via_socket, state_a, focal_point_a):
    # The signature at the very end of an 19 MB file: every chunk reached clamd.
    content = pdf_bytes() + b"\n" * (19 * ev.MB) + EICAR

    with pytest.raises(ev.EvidenceRefused, match="contains a virus"):
        ev.evidence_upload(state=state_a, upload=pdf_upload(content), by=focal_point_a, title="Act")
    assert stored_files() == []


def test_the_library_page_shows_the_refusal(via_socket, state_a, focal_point_a):
    page = post_upload(client_for(focal_point_a), library_url(state_a), "act.pdf", pdf_bytes(EICAR.decode()), title="Act")

    assert page.status_code == 422
    assert INFECTED in text(page)
    assert snapshot() == ([], [], [])


def test_an_infected_offline_workbook_is_refused_before_it_is_read(via_socket, focal_point_a, response_a, settings):
    client = client_for(focal_point_a)
    # The test string typed into an answer: inside the workbook's compressed XML,
    # which clamd unpacks.
    data = fill(download(client, response_a), {"FP-5.1.a.explanation": EICAR.decode()})
    before, scanned = db_fingerprint(), len(via_socket.scanned())

    page = upload(client, response_a, data)

    assert page.status_code == 422
    assert INFECTED in text(page) and "Nothing was imported" in text(page)
    assert db_fingerprint() == before and pending_files(settings) == []
    assert via_socket.scanned()[scanned:] == ["Eicar-Test-Signature.UNOFFICIAL FOUND"]


def test_a_clean_offline_workbook_is_scanned_and_previewed(via_socket, focal_point_a, response_a):
    client = client_for(focal_point_a)
    data = fill(download(client, response_a), {"FP-5.1.a.explanation": "Licensing since 2019."})
    scanned = len(via_socket.scanned())

    page = upload(client, response_a, data)

    assert page.status_code == 200, text(page)[:500]
    assert "Licensing since 2019." in text(page)
    assert via_socket.scanned()[scanned:] == ["OK"]


@pytest.mark.parametrize("where", ["missing socket", "closed port"])
def test_a_configured_scanner_that_does_not_answer_refuses_the_upload(where, settings, tmp_path, state_a, focal_point_a, caplog):
    if where == "missing socket":
        settings.CLAMD_SOCKET = str(tmp_path / "no-clamd.sock")
    else:
        settings.CLAMD_SOCKET, settings.CLAMD_HOST, settings.CLAMD_PORT = "", "127.0.0.1", free_port()

    with caplog.at_level(logging.ERROR, logger="questionnaire.scanning"):
        page = post_upload(client_for(focal_point_a), library_url(state_a), "act.pdf", pdf_bytes(), title="Act")

    assert page.status_code == 422
    assert UNAVAILABLE in text(page) and "try again later" in text(page)
    assert snapshot() == ([], [], [])
    assert any("virus scanner unreachable" in r.getMessage() for r in caplog.records)


def test_an_unreachable_scanner_refuses_an_offline_workbook(settings, tmp_path, focal_point_a, response_a):
    settings.CLAMD_SOCKET = str(tmp_path / "no-clamd.sock")
    client = client_for(focal_point_a)
    data = fill(download(client, response_a), {"FP-5.1.a.explanation": "Licensing since 2019."})
    before = db_fingerprint()

    page = upload(client, response_a, data)

    assert page.status_code == 422
    assert UNAVAILABLE in text(page)
    assert db_fingerprint() == before and pending_files(settings) == []


def test_a_scanner_error_reply_fails_closed(settings, tmp_path, state_a, focal_point_a):
    # A clamd whose stream limit is below the file's size answers
    # "INSTREAM size limit exceeded. ERROR" (or drops the connection): refused.
    small = start_clamd(tmp_path / "small", stream_max="1M", tcp=False)
    try:
        settings.CLAMD_SOCKET = small.socket_path
        with pytest.raises(ev.EvidenceRefused, match=UNAVAILABLE):
            ev.evidence_upload(
                state=state_a, upload=pdf_upload(pdf_bytes() + b" " * (2 * ev.MB)), by=focal_point_a, title="Act"
            )
        assert stored_files() == []
    finally:
        stop(small.process)


def test_without_a_scanner_uploads_are_not_scanned(settings, state_a, focal_point_a):
    settings.CLAMD_SOCKET, settings.CLAMD_HOST = "", ""
    assert not scanning.scanner_configured()

    stored = ev.evidence_upload(state=state_a, upload=pdf_upload(pdf_bytes(EICAR.decode())), by=focal_point_a, title="Act")

    assert stored.created


def test_offline_read_upload_uses_the_hook(via_socket):
    with pytest.raises(offline.ImportRefused) as refused:
        offline.read_upload(SimpleUploadedFile("a.xlsx", b"PK\x03\x04" + EICAR))
    assert INFECTED in refused.value.problems[0].message
