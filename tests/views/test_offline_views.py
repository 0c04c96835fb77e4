"""Working offline over HTTP: the download, the upload page, the preview of the
changes and their confirmation, and every way an upload is refused without
saving anything. The rules themselves are tested in tests/questionnaire/test_offline.py."""

from __future__ import annotations

import html
import io
import os
import random
import re
import string
import zipfile
from pathlib import Path

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from questionnaire import offline
from questionnaire.models import Response
from questionnaire.services import response_get_or_create
from tests.factories import question, save

from .conftest import db_fingerprint, messages_of, stored_answers, submit
from tests.signin import sign_in

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "questionnaire" / "fixtures" / "offline"


# --- Helpers -------------------------------------------------------------------------


def url(name: str, response) -> str:
    return reverse(f"questionnaire:{name}", args=[response.pk])


def download(client, response) -> bytes:
    page = client.get(url("offline_download", response))
    assert page.status_code == 200, page.status_code
    return page.content


def fill(data: bytes, answers: dict[str, object] | None = None, change=None) -> bytes:
    """The workbook with Answer cells set as a person would type them."""
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book["Answers"]
    rows = {sheet.cell(r, 3).value: r for r in range(2, sheet.max_row + 1)}
    for code, value in (answers or {}).items():
        sheet.cell(rows[code], 8).value = value
    if change is not None:
        change(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, response, data: bytes, name: str = "answers.xlsx"):
    return client.post(url("offline_upload", response), {"file": SimpleUploadedFile(name, data, "application/octet-stream")})


def token_of(page) -> str:
    found = re.search(r'<input type="hidden" name="token" value="([^"]+)"', page.content.decode())
    assert found, "the preview has no confirmation form"
    return html.unescape(found.group(1))


def confirm(client, response, token: str, **extra):
    return client.post(url("offline_confirm", response), {"token": token, "action": "confirm", **extra}, follow=True)


def pending_files(settings) -> list[str]:
    folder = Path(settings.MEDIA_ROOT) / offline.PENDING_DIR
    return sorted(os.listdir(folder)) if folder.exists() else []


def text(page) -> str:
    """The page's text with entities decoded (messages contain quotes)."""
    return html.unescape(page.content.decode())


# --- Download ----------------------------------------------------------------------------


def test_the_download_is_an_xlsx_attachment_with_a_safe_name(as_user, focal_point_a, contributor_a, response_a, version):
    save(response_a, focal_point_a, {question(version, "FP-5.1.a.explanation"): "=cmd|' /C calc'!A0"})

    for person in (focal_point_a, contributor_a):
        page = as_user(person).get(url("offline_download", response_a))

        assert page.status_code == 200
        assert page["Content-Type"] == offline.XLSX_CONTENT_TYPE
        assert page["Content-Disposition"] == f'attachment; filename="offline-{response_a.state.iso3}-cluster-I-v{version.number}.xlsx"'
        assert "no-store" in page["Cache-Control"]
        book = openpyxl.load_workbook(io.BytesIO(page.content))
        answers = {r[2]: r[7] for r in book["Answers"].iter_rows(min_row=2, values_only=True)}
        assert answers["FP-5.1.a.explanation"] == "'=cmd|' /C calc'!A0"


def test_outsiders_get_404_and_the_secretariat_cannot_see_a_draft(as_user, focal_point_b, secretariat, response_a):
    for person in (focal_point_b, secretariat):
        client = as_user(person)
        assert client.get(url("offline_download", response_a)).status_code == 404
        assert client.get(url("offline_upload", response_a)).status_code == 404
        assert client.post(url("offline_confirm", response_a), {"token": "x"}).status_code == 404


# --- Round trip ---------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["focal_point_a", "contributor_a"])
def test_download_fill_upload_preview_confirm(request, as_user, persona, response_a, focal_point_a, version, settings):
    person = request.getfixturevalue(persona)
    save(response_a, focal_point_a, {question(version, "FP-5.1.a.status"): "no", question(version, "FP-5.1.a.q3"): 4})
    client = as_user(person)
    page = client.get(url("offline_upload", response_a))
    assert page.status_code == 200
    assert url("offline_download", response_a) in page.content.decode()
    filled = fill(
        download(client, response_a),
        {"FP-5.1.a.status": "yes", "FP-5.1.a.q3": 5, "FP-5.1.a.legislation": "Firearms Act 2020 | s. 5 | https://example.org/act"},
    )

    preview = upload(client, response_a, filled)

    assert preview.status_code == 200
    content = text(preview)
    assert "Answers that will be saved" in content
    for shown in ("FP-5.1.a.status", "FP-5.1.a.q3", "FP-5.1.a.legislation", "Firearms Act 2020, s. 5, https://example.org/act"):
        assert shown in content
    assert stored_answers(response_a) == {"FP-5.1.a.status": ("no", 1), "FP-5.1.a.q3": (4, 1)}  # nothing yet
    assert len(pending_files(settings)) == 1

    done = confirm(client, response_a, token_of(preview))

    assert done.redirect_chain == [(url("response", response_a), 302)]
    assert "3 answers saved from the file." in messages_of(done)
    assert stored_answers(response_a) == {
        "FP-5.1.a.status": ("yes", 2),
        "FP-5.1.a.q3": (5, 2),
        "FP-5.1.a.legislation": ([{"title": "Firearms Act 2020", "article": "s. 5", "link": "https://example.org/act"}], 1),
    }
    assert pending_files(settings) == []
    # The token was used up.
    again = confirm(client, response_a, token_of(preview))
    assert "This upload has expired or was already used" in " ".join(messages_of(again))


def test_a_file_without_changes_says_so_and_keeps_nothing(as_user, focal_point_a, response_a, settings):
    client = as_user(focal_point_a)

    page = upload(client, response_a, download(client, response_a))

    assert page.status_code == 200
    assert "No answer in this file differs from the answers saved online" in text(page)
    assert pending_files(settings) == []


# --- Refusals ----------------------------------------------------------------------------------


def _huge_cell(data: bytes, code: str, content: str) -> bytes:
    marker = "HUGE-CELL-MARKER"
    data = fill(data, {code: marker})
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, source.read(info.filename).replace(marker.encode(), content.encode()))
    return out.getvalue()


def _bomb(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, source.read(info.filename))
        target.writestr("xl/media/image1.bin", b"\0" * (60 * 1024 * 1024))
    return out.getvalue()


def _delete_answers(book):
    del book["Answers"]


def _unknown_row(book):
    book["Answers"].append([5, "5(9)", "FP-5.9.q1", "Invented", "", "", "", "An answer"])


def _other_response_workbook(ctx) -> bytes:
    other = response_get_or_create(state=ctx["state_b"], version=ctx["response"].version, due_date=None)
    return offline.response_workbook(response=other)


REFUSALS = {
    "too big": (lambda ctx: os.urandom(5 * 1024 * 1024 + 10), "The file is larger than 5 MB"),
    "not xlsx content, xlsx name": (lambda ctx: (FIXTURES / "pdf-named.xlsx").read_bytes(), "This file is not an Excel workbook (.xlsx), whatever its name"),
    "encrypted": (lambda ctx: (FIXTURES / "encrypted.xlsx").read_bytes(), "password-protected (encrypted)"),
    "zip bomb": (lambda ctx: _bomb(ctx["data"]), "This file would expand to too much data when opened"),
    "another response": (_other_response_workbook, "This file is the workbook of another response"),
    "deleted sheet": (lambda ctx: fill(ctx["data"], change=_delete_answers), "The sheet “Answers” is missing or was renamed"),
    "formula": (lambda ctx: fill(ctx["data"], {"FP-5.1.a.q3": "=1+1"}), "Formulas are not accepted"),
    "unknown code": (lambda ctx: fill(ctx["data"], {"FP-5.2.q1": "yes"}, change=_unknown_row), "Unknown question code"),
    "wrong choice": (lambda ctx: fill(ctx["data"], {"FP-5.1.a.q1": "several"}), "Select a valid choice. several is not one of the available choices."),
    "1 MB text": (
        lambda ctx: _huge_cell(
            ctx["data"], "FP-5.1.a.explanation", "A" + "".join(random.Random(2).choices(string.ascii_letters + " ", k=1_000_000 - 2)) + "."
        ),
        "This answer is 1000000 characters long; the limit is 50000.",
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_refused_upload_says_why_and_changes_nothing(as_user, focal_point_a, response_a, state_b, version, settings, case):
    save(response_a, focal_point_a, {question(version, "FP-5.1.a.q1"): "other", question(version, "FP-5.1.a.q3"): 1})
    client = as_user(focal_point_a)
    build, expected = REFUSALS[case]
    data = build({"data": download(client, response_a), "response": response_a, "state_b": state_b})
    before = db_fingerprint()

    page = upload(client, response_a, data)

    assert page.status_code == 422
    content = text(page)
    assert "Nothing was imported: correct the file and upload it again" in content
    assert expected in content
    assert db_fingerprint() == before
    assert pending_files(settings) == []


def test_problems_are_listed_by_question_with_the_row_and_prompt(as_user, focal_point_a, response_a):
    client = as_user(focal_point_a)
    data = fill(download(client, response_a), {"FP-5.1.a.q1": "several", "FP-5.1.a.q3": "twelve"})

    page = upload(client, response_a, data)

    content = text(page)
    assert re.search(r"FP-5\.1\.a\.q1</span> <span[^>]*>\(row 5\)</span> — <span[^>]*>How is the offence defined\?", content)
    assert re.search(r"FP-5\.1\.a\.q3</span> <span[^>]*>\(row 7\)</span>.*?<dd[^>]*>Enter a number\.</dd>", content, re.S)


def test_an_upload_without_a_file_shows_the_form_again(as_user, focal_point_a, response_a):
    page = as_user(focal_point_a).post(url("offline_upload", response_a), {})

    assert page.status_code == 422
    assert "This field is required." in text(page)


# --- What is shown, what is stored --------------------------------------------------------------


def test_hostile_markup_is_stored_as_text_and_shown_escaped(as_user, focal_point_a, response_a):
    hostile = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'
    client = as_user(focal_point_a)

    preview = upload(client, response_a, fill(download(client, response_a), {"FP-5.1.a.explanation": hostile}))

    raw = preview.content.decode()
    assert "<script>alert" not in raw and "<img src=x" not in raw
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in raw
    confirm(client, response_a, token_of(preview))
    assert stored_answers(response_a)["FP-5.1.a.explanation"] == (hostile, 1)


def test_right_to_left_text_and_emoji_round_trip(as_user, focal_point_a, response_a):
    words = "نص عربي من اليمين إلى اليسار 🇸🇦 — עברית 👍🏽 — 中文 ✅"
    client = as_user(focal_point_a)

    preview = upload(client, response_a, fill(download(client, response_a), {"FP-5.2.explanation": words}))
    assert words in text(preview)
    confirm(client, response_a, token_of(preview))

    assert stored_answers(response_a)["FP-5.2.explanation"] == (words, 1)
    book = openpyxl.load_workbook(io.BytesIO(download(client, response_a)))
    assert {r[2]: r[7] for r in book["Answers"].iter_rows(min_row=2, values_only=True)}["FP-5.2.explanation"] == words


def test_the_workbook_speaks_the_users_language_and_right_to_left(focal_point_a, response_a):
    client = Client(HTTP_ACCEPT_LANGUAGE="ar")
    sign_in(client, focal_point_a)

    book = openpyxl.load_workbook(io.BytesIO(download(client, response_a)))

    assert book["Answers"].sheet_view.rightToLeft
    assert book["Instructions"].sheet_view.rightToLeft


# --- Conflicts -------------------------------------------------------------------------------------


def test_an_answer_changed_online_after_the_download_is_flagged_and_kept_unless_ticked(
    as_user, focal_point_a, contributor_a, response_a, version
):
    explanation = question(version, "FP-5.1.a.explanation")
    save(response_a, focal_point_a, {explanation: "Downloaded text."})
    client = as_user(focal_point_a)
    data = download(client, response_a)
    save(response_a, contributor_a, {explanation: "Saved online by Cora."})
    filled = fill(data, {"FP-5.1.a.explanation": "Written offline.", "FP-5.2.q1": "yes"})

    preview = upload(client, response_a, filled)

    content = text(preview)
    assert "Changed online since your download" in content
    assert "Saved online by Cora." in content and "Written offline." in content
    assert 'name="overwrite" value="FP-5.1.a.explanation"' in content
    assert 'value="FP-5.2.q1"' not in content  # not a conflict: nothing to tick
    done = confirm(client, response_a, token_of(preview))  # nothing ticked
    assert "1 answer saved from the file." in messages_of(done)
    assert stored_answers(response_a) == {"FP-5.1.a.explanation": ("Saved online by Cora.", 2), "FP-5.2.q1": ("yes", 1)}

    preview = upload(client, response_a, filled)
    done = confirm(client, response_a, token_of(preview), overwrite=["FP-5.1.a.explanation"])
    assert "1 answer saved from the file." in messages_of(done)
    assert stored_answers(response_a)["FP-5.1.a.explanation"] == ("Written offline.", 3)


def test_a_change_online_between_preview_and_confirmation_shows_the_preview_again(
    as_user, focal_point_a, contributor_a, response_a, version, settings
):
    client = as_user(focal_point_a)
    preview = upload(client, response_a, fill(download(client, response_a), {"FP-5.1.a.q3": 7, "FP-5.2.q1": "no"}))
    save(response_a, contributor_a, {question(version, "FP-5.1.a.q3"): 9})
    before = db_fingerprint()

    again = client.post(url("offline_confirm", response_a), {"token": token_of(preview), "action": "confirm"})

    assert again.status_code == 409
    assert "Answers were changed online while you were checking this file. Nothing was saved." in text(again)
    assert 'name="overwrite" value="FP-5.1.a.q3"' in text(again)
    assert db_fingerprint() == before
    done = confirm(client, response_a, token_of(again))
    assert stored_answers(response_a) == {"FP-5.1.a.q3": (9, 1), "FP-5.2.q1": ("no", 1)}
    assert "1 answer saved from the file." in messages_of(done)
    assert pending_files(settings) == []


# --- Tokens, cancel, forged posts, CSRF ------------------------------------------------------------


def test_the_confirmation_trusts_only_the_server_side_file(as_user, focal_point_a, contributor_a, response_a):
    client = as_user(focal_point_a)
    preview = upload(client, response_a, fill(download(client, response_a), {"FP-5.2.q1": "yes"}))
    token = token_of(preview)

    # Someone else's token, or a forged one: nothing saved.
    for other_client, other_token in [(as_user(contributor_a), token), (client, token[:-3] + "abc")]:
        page = confirm(other_client, response_a, other_token)
        assert "This upload has expired or was already used" in " ".join(messages_of(page))
    # Values posted with the token are ignored.
    confirm(client, response_a, token, **{"FP-5.1.a.q3": "999", "FP-5.2.q1": "no", "overwrite": ["FP-5.1.a.q3"]})

    assert stored_answers(response_a) == {"FP-5.2.q1": ("yes", 1)}


def test_cancel_forgets_the_file_and_saves_nothing(as_user, focal_point_a, response_a, settings):
    client = as_user(focal_point_a)
    preview = upload(client, response_a, fill(download(client, response_a), {"FP-5.2.q1": "yes"}))

    page = client.post(url("offline_confirm", response_a), {"token": token_of(preview), "action": "cancel"}, follow=True)

    assert "Import cancelled. Nothing was saved." in messages_of(page)
    assert stored_answers(response_a) == {}
    assert pending_files(settings) == []


def test_upload_and_confirmation_require_the_csrf_token(focal_point_a, response_a):
    client = Client(enforce_csrf_checks=True)
    sign_in(client, focal_point_a)
    data = fill(offline.response_workbook(response=response_a), {"FP-5.2.q1": "yes"})

    assert upload(client, response_a, data).status_code == 403
    assert client.post(url("offline_confirm", response_a), {"token": "x"}).status_code == 403
    assert stored_answers(response_a) == {}


# --- A submitted response ---------------------------------------------------------------------------


def test_a_submitted_response_cannot_be_imported_into(as_user, focal_point_a, response_a, settings):
    client = as_user(focal_point_a)
    filled = fill(download(client, response_a), {"FP-5.2.q1": "yes"})
    preview = upload(client, response_a, filled)
    submit(response_a, focal_point_a)
    before = db_fingerprint()

    for page in (
        client.get(url("offline_upload", response_a), follow=True),
        client.post(url("offline_upload", response_a), {"file": SimpleUploadedFile("a.xlsx", filled)}, follow=True),
        confirm(client, response_a, token_of(preview)),
    ):
        assert page.redirect_chain == [(url("response", response_a), 302)]
        assert "This response has been submitted and can no longer be changed. Nothing was imported." in messages_of(page)
    assert db_fingerprint() == before
    # It can still be downloaded, to read.
    assert Response.objects.get(pk=response_a.pk).status == "submitted"
    assert client.get(url("offline_download", response_a)).status_code == 200
