"""Working offline (questionnaire/offline.py): the workbook a focal point
downloads, and what the upload of that workbook accepts, refuses and saves.

HTTP-level behaviour (pages, messages, access) is in tests/views/test_offline_views.py."""

from __future__ import annotations

import datetime
import io
import os
import random
import string
import zipfile
from pathlib import Path

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage

from questionnaire import offline
from questionnaire.forms import ArticleAnswerForm
from questionnaire.models import Answer, Response
from questionnaire.offline import ImportRefused, PendingExpired, PlanOutdated
from questionnaire.selectors import version_questions
from questionnaire.services import ResponseLocked, response_get_or_create
from tests.factories import fill_required, question, save

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "offline"


# --- Helpers ---------------------------------------------------------------------------


def stored(response) -> dict[str, tuple[object, int]]:
    """question code → (value, revision) as stored."""
    return {
        code: (value, revision)
        for code, value, revision in Answer.objects.filter(response=response).values_list(
            "question__code", "value", "revision"
        )
    }


def download(response) -> bytes:
    return offline.response_workbook(response=Response.objects.get(pk=response.pk))


def open_book(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def answer_rows(book) -> dict[str, int]:
    sheet = book["Answers"]
    return {sheet.cell(r, 3).value: r for r in range(2, sheet.max_row + 1)}


def edit(data: bytes, answers: dict[str, object] | None = None, change=None) -> bytes:
    """The workbook with the Answer cells of ``answers`` set (as a person typing
    in a spreadsheet program), and ``change(book)`` applied."""
    book = open_book(data)
    rows = answer_rows(book)
    for code, value in (answers or {}).items():
        book["Answers"].cell(rows[code], 8).value = value
    if change is not None:
        change(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def preview(response, by, data: bytes) -> offline.ImportPlan:
    return offline.import_preview(response=Response.objects.get(pk=response.pk), by=by, data=data)


def apply(response, by, plan, overwrite=()) -> list:
    return offline.import_apply(
        response=Response.objects.get(pk=response.pk),
        by=by,
        plan=plan,
        seen_revisions=plan.seen_revisions(),
        overwrite=overwrite,
    )


def refused(response, by, data: bytes) -> str:
    """Upload ``data``, expect a refusal; return its messages as one text
    ("code: message" lines) after checking that nothing was stored."""
    before = stored(response)
    with pytest.raises(ImportRefused) as caught:
        preview(response, by, data)
    assert stored(response) == before
    assert not default_storage.exists(offline.PENDING_DIR) or not default_storage.listdir(offline.PENDING_DIR)[1]
    return "\n".join(f"{p.code}: {p.message}" if p.code else p.message for p in caught.value.problems)


def with_zip_entry(data: bytes, name: str, payload: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, source.read(info.filename))
        target.writestr(name, payload)
    return out.getvalue()


def with_huge_cell(data: bytes, code: str, text: str) -> bytes:
    """The workbook with ``text`` in the Answer cell of ``code``, however long:
    spreadsheet programs (and openpyxl) cut a cell at 32,767 characters, so the
    XML is rewritten, as a hostile or careless tool could."""
    marker = "HUGE-CELL-MARKER"
    data = edit(data, {code: marker})
    out = io.BytesIO()
    replaced = 0
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            replaced += content.count(marker.encode())
            target.writestr(info, content.replace(marker.encode(), text.encode()))
    assert replaced == 1
    return out.getvalue()


def random_text(n: int, seed: int = 1) -> str:
    """Text that does not compress much (unlike "a" * n, which looks like a zip bomb)."""
    return "A" + "".join(random.Random(seed).choices(string.ascii_letters + "     ", k=n - 2)) + "."


# --- The workbook --------------------------------------------------------------------------


def test_it_exports_one_row_per_question_with_the_current_answers(response_a, focal_point_a, version):
    save(
        response_a,
        focal_point_a,
        {
            question(version, "FP-5.1.a.status"): "partially",
            question(version, "FP-5.1.a.q1"): "other",
            question(version, "FP-5.1.a.q3"): 12,
            question(version, "FP-5.1.a.legislation"): [
                {"title": "Firearms Act 2020", "article": "s. 5", "link": "https://example.org/act"},
                {"title": "Penal Code", "article": "", "link": ""},
            ],
            question(version, "FP-5.1.a.ta"): {
                "needed": True,
                "categories": ["legislative", "training_customs"],
                "priority": "high",
                "details": "Two marking machines.\nAnd training.",
            },
            question(version, "FP-5.2.q1"): "no",
        },
    )

    book = open_book(download(response_a))

    assert book.sheetnames == ["Instructions", "Answers", "Metadata"]
    sheet = book["Answers"]
    assert [c.value for c in sheet[1]] == [
        "Article", "Provision", "Code", "Question", "Required", "Answer type", "Allowed values", "Answer",
    ]
    rows = {r[2]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert list(rows) == [q.code for q in version_questions(version.pk)]
    assert rows["FP-5.1.a.status"][:3] == (5, "5(1)(a)", "FP-5.1.a.status")
    assert rows["FP-5.1.a.status"][4] == "Yes"  # required
    assert rows["FP-5.1.a.status"][6] == "yes = Yes\nno = No\npartially = Partially"
    assert rows["FP-5.1.a.status"][7] == "partially"
    assert rows["FP-5.1.a.q1"][6] == "single_offence = One offence\nseveral_offences = Several offences\nother = Other"
    assert rows["FP-5.1.a.q1"][7] == "other"
    assert rows["FP-5.1.a.q3"][7] == 12
    assert rows["FP-5.1.a.legislation"][7] == "Firearms Act 2020 | s. 5 | https://example.org/act\nPenal Code"
    assert rows["FP-5.1.a.ta"][7] == (
        "needed: yes\ncategories: legislative; training_customs\npriority: high\n"
        "details: Two marking machines.\nAnd training."
    )
    assert rows["FP-5.2.q1"][7] == "no"
    assert rows["FP-5.1.a.explanation"][7] is None  # not answered: an empty cell
    assert "Asked only when the answer to FP-5.1.a.q1 is Other" in rows["FP-5.1.a.q2"][3]
    assert rows["FP-14.status"][0] == 14


def test_a_follow_up_its_status_no_longer_asks_is_exported_empty_and_answerable_without_conflict(
    response_a, focal_point_a, version
):
    save(response_a, focal_point_a, {question(version, "FP-5.1.a.status"): "no",
                                     question(version, "FP-5.1.a.challenges"): "Kept from when the status was no"})
    save(response_a, focal_point_a, {question(version, "FP-5.1.a.status"): "yes"})

    data = download(response_a)

    rows = answer_rows(book := open_book(data))
    assert book["Answers"].cell(rows["FP-5.1.a.status"], 8).value == "yes"
    assert book["Answers"].cell(rows["FP-5.1.a.challenges"], 8).value is None
    # Offline, the status goes back to "no" and the challenges are written anew.
    plan = preview(response_a, focal_point_a, edit(data, {"FP-5.1.a.status": "no", "FP-5.1.a.challenges": "New text"}))
    assert {c.question.code: c.conflict for c in plan.changes} == {"FP-5.1.a.status": False, "FP-5.1.a.challenges": False}
    apply(response_a, focal_point_a, plan)
    assert stored(response_a)["FP-5.1.a.challenges"] == ("New text", 2)


def test_it_records_the_revisions_in_a_hidden_protected_signed_sheet(response_a, focal_point_a, version):
    status = question(version, "FP-5.1.a.status")
    save(response_a, focal_point_a, {status: "yes"})
    save(response_a, focal_point_a, {status: "no"})

    book = open_book(download(response_a))

    meta = book["Metadata"]
    assert meta.sheet_state == "hidden"
    assert meta.protection.sheet
    assert book.security.lockStructure  # cannot be unhidden, renamed or deleted casually
    rows = list(meta.iter_rows(values_only=True))
    head = {row[0]: row[1] for row in rows[:5]}
    assert head["format"] == 1
    assert head["response"] == response_a.pk
    assert head["version"] == version.pk
    assert head["signature"]
    assert rows[5] == ("code", "revision", "digest", "truncated")
    revisions = {row[0]: row[1] for row in rows[6:]}
    assert revisions["FP-5.1.a.status"] == 2
    assert revisions["FP-5.1.a.q1"] == 0
    assert len(revisions) == 21


def test_it_unlocks_only_the_answer_column_and_offers_dropdowns_for_closed_kinds(response_a):
    book = open_book(download(response_a))
    sheet = book["Answers"]
    rows = answer_rows(book)

    assert sheet.protection.sheet
    assert not sheet.cell(rows["FP-5.1.a.q1"], 8).protection.locked
    assert sheet.cell(rows["FP-5.1.a.q1"], 3).protection.locked
    lists = {}
    for validation in sheet.data_validations.dataValidation:
        for cell_range in validation.sqref.ranges:
            for (row, _column) in cell_range.cells:
                lists[row] = (validation.type, validation.formula1)
    assert lists[rows["FP-5.1.a.status"]] == ("list", '"yes,no,partially"')
    assert lists[rows["FP-5.2.q1"]] == ("list", '"yes,no"')
    assert lists[rows["FP-5.1.a.q1"]] == ("list", '"single_offence,several_offences,other"')
    assert lists[rows["FP-5.1.a.q3"]] == ("decimal", "0")
    assert rows["FP-5.1.a.explanation"] not in lists


def test_it_explains_the_formats_on_an_instructions_sheet(response_a):
    book = open_book(download(response_a))
    text = "\n".join(str(c.value) for c in book["Instructions"]["A"] if c.value)

    assert "Title | Article | https://link" in text
    assert "needed: yes" in text and "categories:" in text and "priority:" in text and "details:" in text
    assert "training_customs = Training of customs and border officials" in text
    assert "An empty cell changes nothing" in text
    assert book.active.title == "Instructions"


def test_it_neutralises_answers_that_a_spreadsheet_would_run(response_a, focal_point_a, version):
    save(
        response_a,
        focal_point_a,
        {
            question(version, "FP-5.1.a.explanation"): '=cmd|" /C calc"!A0',
            question(version, "FP-5.1.a.examples"): "+1+1",
            question(version, "FP-5.2.explanation"): "@SUM(1)",
            question(version, "FP-14.explanation"): "- a bulleted list",
            question(version, "FP-5.1.a.q1"): "other",  # which asks q2
            question(version, "FP-5.1.a.q2"): "plain",
        },
    )
    data = download(response_a)

    sheet = open_book(data)["Answers"]
    rows = answer_rows(sheet.parent)
    for code, text in [
        ("FP-5.1.a.explanation", '\'=cmd|" /C calc"!A0'),
        ("FP-5.1.a.examples", "'+1+1"),
        ("FP-5.2.explanation", "'@SUM(1)"),
        ("FP-14.explanation", "'- a bulleted list"),
        ("FP-5.1.a.q2", "plain"),
    ]:
        cell = sheet.cell(rows[code], 8)
        assert (cell.value, cell.data_type) == (text, "s")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert not any(b"<f>" in archive.read(name) or b"<f " in archive.read(name) for name in archive.namelist())


def test_it_names_the_file_in_ascii(response_a):
    response_a.state.iso3 = "ÅR/"
    assert offline.workbook_filename(response=response_a) == f"offline-R-cluster-I-v{response_a.version.number}.xlsx"


# --- Round trip -----------------------------------------------------------------------------


def test_a_workbook_uploaded_as_downloaded_changes_nothing(response_a, focal_point_a, version):
    fill_required(response_a, focal_point_a)
    save(response_a, focal_point_a, {question(version, "FP-5.1.a.explanation"): "=cmd", question(version, "FP-5.1.a.q3"): 2.5})

    plan = preview(response_a, focal_point_a, download(response_a))

    assert plan.changes == []


def test_it_reads_every_kind_as_the_answering_page_would_store_it(response_a, focal_point_a, version):
    cells = {
        "FP-5.1.a.status": " Partially ",
        "FP-5.1.a.legislation": "Firearms Act 2020 | s. 5 | https://example.org/act\n\nPenal Code | art. 201\n",
        "FP-5.1.a.explanation": "  The police and customs apply it.\nEvery day.  ",
        "FP-5.1.a.q1": "other",
        "FP-5.1.a.q2": "Possession without a licence.",
        "FP-5.1.a.q3": 12,
        "FP-5.2.q1": "yes",
        "FP-5.2.q2": "3.5",
        "FP-5.1.a.ta": "needed: yes\ncategories: marking_equipment; training_customs\npriority: High\ndetails: Two machines.\nAnd a course.",
        "FP-5.2.ta": "Needed: no",
    }
    # The same answers as the answering page posts them.
    posted = {
        "FP-5.1.a.status": "partially",
        "FP-5.1.a.legislation-0-title": "Firearms Act 2020",
        "FP-5.1.a.legislation-0-article": "s. 5",
        "FP-5.1.a.legislation-0-link": "https://example.org/act",
        "FP-5.1.a.legislation-1-title": "Penal Code",
        "FP-5.1.a.legislation-1-article": "art. 201",
        "FP-5.1.a.legislation-1-link": "",
        "FP-5.1.a.explanation": "  The police and customs apply it.\nEvery day.  ",
        "FP-5.1.a.q1": "other",
        "FP-5.1.a.q2": "Possession without a licence.",
        "FP-5.1.a.q3": "12",
        "FP-5.2.q1": "yes",
        "FP-5.2.q2": "3.5",
        "FP-5.1.a.ta-needed": "yes",
        "FP-5.1.a.ta-categories": ["training_customs", "marking_equipment"],  # in the order of the boxes
        "FP-5.1.a.ta-priority": "high",
        "FP-5.1.a.ta-details": "Two machines.\nAnd a course.",
        "FP-5.2.ta-needed": "no",
        "FP-5.2.ta-categories": [],
        "FP-5.2.ta-priority": "",
        "FP-5.2.ta-details": "",
    }
    questions = version_questions(version.pk, question(version, "FP-5.1.a.status").article)
    form = ArticleAnswerForm(posted, questions=questions, answers={})
    assert form.is_valid(), form.errors
    expected = {q.code: v for q, v in form.answer_values().items() if v is not None}

    plan = preview(response_a, focal_point_a, edit(download(response_a), cells))

    assert {c.question.code: c.new for c in plan.changes} == expected
    assert expected["FP-5.1.a.ta"]["categories"] == ["training_customs", "marking_equipment"]


def test_it_saves_the_changes_in_one_go_and_moves_each_revision_on(response_a, focal_point_a, version):
    save(response_a, focal_point_a, {question(version, "FP-5.1.a.status"): "no", question(version, "FP-5.1.a.q3"): 1})
    data = download(response_a)

    plan = preview(response_a, focal_point_a, edit(data, {"FP-5.1.a.status": "yes", "FP-5.1.a.q3": 2, "FP-5.2.q1": "no"}))
    saved = apply(response_a, focal_point_a, plan)

    assert sorted(q.code for q in saved) == ["FP-5.1.a.q3", "FP-5.1.a.status", "FP-5.2.q1"]
    assert stored(response_a) == {"FP-5.1.a.status": ("yes", 2), "FP-5.1.a.q3": (2, 2), "FP-5.2.q1": ("no", 1)}
    assert Answer.objects.get(response=response_a, question__code="FP-5.2.q1").updated_by == focal_point_a


def test_an_empty_cell_never_erases_an_answer(response_a, focal_point_a, version):
    save(response_a, focal_point_a, {question(version, "FP-5.1.a.explanation"): "Kept.", question(version, "FP-5.1.a.q1"): "other"})

    plan = preview(response_a, focal_point_a, edit(download(response_a), {"FP-5.1.a.explanation": None, "FP-5.1.a.q1": "   "}))

    assert plan.changes == []


def test_it_removes_the_apostrophe_the_export_added_and_keeps_text_as_text(response_a, focal_point_a, version):
    save(response_a, focal_point_a, {question(version, "FP-5.1.a.explanation"): "=old"})
    data = edit(
        download(response_a),
        {"FP-5.1.a.explanation": "'=new", "FP-5.1.a.examples": "'-  a list", "FP-5.2.explanation": "'quoted'"},
    )

    apply(response_a, focal_point_a, preview(response_a, focal_point_a, data))

    assert stored(response_a)["FP-5.1.a.explanation"] == ("=new", 2)
    assert stored(response_a)["FP-5.1.a.examples"] == ("-  a list", 1)
    assert stored(response_a)["FP-5.2.explanation"] == ("'quoted'", 1)


def test_hostile_markup_is_stored_as_plain_text(response_a, focal_point_a):
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'

    apply(response_a, focal_point_a, preview(response_a, focal_point_a, edit(download(response_a), {"FP-5.1.a.explanation": hostile})))

    assert stored(response_a)["FP-5.1.a.explanation"] == (hostile, 1)


def test_right_to_left_text_and_emoji_round_trip_intact(response_a, focal_point_a, version):
    text = "التشريع الوطني 🇯🇴 — חוק כלי הירייה 🔫👍🏽 \u200f(مادة ٥)"
    save(response_a, focal_point_a, {question(version, "FP-5.2.explanation"): text})
    data = download(response_a)
    rows = answer_rows(open_book(data))
    assert open_book(data)["Answers"].cell(rows["FP-5.2.explanation"], 8).value == text

    apply(response_a, focal_point_a, preview(response_a, focal_point_a, edit(data, {"FP-5.1.a.explanation": text + " ✅"})))

    assert stored(response_a)["FP-5.1.a.explanation"] == (text + " ✅", 1)
    assert stored(response_a)["FP-5.2.explanation"] == (text, 1)


def test_an_answer_too_long_for_a_cell_is_cut_in_the_file_and_changed_online_only(response_a, focal_point_a, version):
    long = random_text(40_000)
    save(response_a, focal_point_a, {question(version, "FP-5.1.a.explanation"): long})
    data = download(response_a)
    rows = answer_rows(open_book(data))
    cut = open_book(data)["Answers"].cell(rows["FP-5.1.a.explanation"], 8).value
    assert len(cut) == 32_767 and cut.endswith(" […]")

    assert preview(response_a, focal_point_a, data).changes == []  # left as downloaded
    problems = refused(response_a, focal_point_a, edit(data, {"FP-5.1.a.explanation": "Edited. " + cut[:1000]}))
    assert "FP-5.1.a.explanation: This answer is too long for a spreadsheet cell" in problems


# --- Conflicts --------------------------------------------------------------------------------


def test_an_answer_changed_online_since_the_download_is_a_conflict_kept_unless_overwritten(
    response_a, focal_point_a, contributor_a, version
):
    explanation, status = question(version, "FP-5.1.a.explanation"), question(version, "FP-5.1.a.status")
    save(response_a, focal_point_a, {explanation: "Before the download."})
    data = download(response_a)
    save(response_a, contributor_a, {explanation: "Saved online after the download.", status: "yes"})
    filled = edit(data, {"FP-5.1.a.explanation": "Written offline.", "FP-5.1.a.status": "no", "FP-5.2.q1": "yes"})

    plan = preview(response_a, focal_point_a, filled)

    assert {c.question.code for c in plan.conflicts} == {"FP-5.1.a.explanation", "FP-5.1.a.status"}
    assert [c.question.code for c in plan.updates] == ["FP-5.2.q1"]
    conflict = next(c for c in plan.conflicts if c.question == explanation)
    assert (conflict.current, conflict.new, conflict.current_revision, conflict.file_revision) == (
        "Saved online after the download.", "Written offline.", 2, 1,
    )
    assert conflict.changed_by == "Cora Contributor"

    apply(response_a, focal_point_a, plan)  # nothing ticked
    assert stored(response_a) == {
        "FP-5.1.a.explanation": ("Saved online after the download.", 2),
        "FP-5.1.a.status": ("yes", 1),
        "FP-5.2.q1": ("yes", 1),
    }

    plan = preview(response_a, focal_point_a, filled)
    apply(response_a, focal_point_a, plan, overwrite={"FP-5.1.a.explanation"})
    assert stored(response_a)["FP-5.1.a.explanation"] == ("Written offline.", 3)
    assert stored(response_a)["FP-5.1.a.status"] == ("yes", 1)


def test_a_cell_left_as_downloaded_is_no_conflict_when_the_answer_changed_online(
    response_a, focal_point_a, contributor_a, version
):
    explanation = question(version, "FP-5.1.a.explanation")
    save(response_a, focal_point_a, {explanation: "Before."})
    data = download(response_a)
    save(response_a, contributor_a, {explanation: "After."})

    assert preview(response_a, focal_point_a, data).changes == []


def test_an_answer_given_online_to_an_unanswered_question_is_a_conflict(response_a, focal_point_a, contributor_a, version):
    data = download(response_a)
    save(response_a, contributor_a, {question(version, "FP-5.1.a.q1"): "single_offence"})

    plan = preview(response_a, focal_point_a, edit(data, {"FP-5.1.a.q1": "other"}))

    assert [(c.question.code, c.file_revision, c.current_revision) for c in plan.conflicts] == [("FP-5.1.a.q1", 0, 1)]
    # The same value as online is no change at all.
    assert preview(response_a, focal_point_a, edit(data, {"FP-5.1.a.q1": "single_offence"})).changes == []


def test_nothing_is_saved_when_an_answer_of_the_plan_changed_after_the_preview(
    response_a, focal_point_a, contributor_a, version
):
    data = edit(download(response_a), {"FP-5.1.a.q3": 5, "FP-5.1.a.explanation": "Offline."})
    plan = preview(response_a, focal_point_a, data)
    seen = plan.seen_revisions()
    save(response_a, contributor_a, {question(version, "FP-5.1.a.q3"): 9})

    fresh = preview(response_a, focal_point_a, data)
    with pytest.raises(PlanOutdated):
        offline.import_apply(response=response_a, by=focal_point_a, plan=fresh, seen_revisions=seen)
    # Even with the old plan (a race between the check and the save).
    with pytest.raises(PlanOutdated):
        offline.import_apply(response=response_a, by=focal_point_a, plan=plan, seen_revisions=seen)

    assert stored(response_a) == {"FP-5.1.a.q3": (9, 1)}
    assert [c.question.code for c in fresh.conflicts] == ["FP-5.1.a.q3"]


# --- Refused before parsing --------------------------------------------------------------------


def test_it_refuses_a_file_over_5_mb(response_a, focal_point_a):
    big = download(response_a) + b"\0" * (5 * 1024 * 1024)

    assert "larger than 5 MB" in refused(response_a, focal_point_a, big)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pdf-named.xlsx", "not an Excel workbook (.xlsx), whatever its name"),
        ("opendocument-named.xlsx", "not an Excel workbook (.xlsx), whatever its name"),
        ("encrypted.xlsx", "password-protected (encrypted)"),
        ("truncated.xlsx", "damaged"),
    ],
)
def test_it_refuses_what_is_not_an_xlsx_by_content(response_a, focal_point_a, name, expected):
    assert expected in refused(response_a, focal_point_a, (FIXTURES / name).read_bytes())


def test_it_refuses_an_empty_file_and_a_cut_download(response_a, focal_point_a):
    assert "empty" in refused(response_a, focal_point_a, b"")
    data = download(response_a)
    assert "damaged" in refused(response_a, focal_point_a, data[: len(data) // 2])


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (60 * 1024 * 1024, "more than 50 MB"),  # expands beyond the total limit
        (8 * 1024 * 1024, "compressed more than 100 times"),  # small, but a bomb's ratio
    ],
)
def test_it_refuses_a_zip_bomb_without_expanding_it(response_a, focal_point_a, size, expected):
    bomb = with_zip_entry(download(response_a), "xl/media/padding.bin", b"\0" * size)
    assert len(bomb) < offline.MAX_UPLOAD_BYTES

    assert expected in refused(response_a, focal_point_a, bomb)


def test_it_refuses_an_encrypted_zip_entry(response_a, focal_point_a):
    data = bytearray(download(response_a))
    # Set the "encrypted" flag of every entry in the central directory.
    index = data.find(b"PK\x01\x02")
    while index != -1:
        data[index + 8] |= 0x1
        index = data.find(b"PK\x01\x02", index + 4)

    assert "encrypted" in refused(response_a, focal_point_a, bytes(data))


# --- Refused: another response, wrong layout -----------------------------------------------------


def test_it_refuses_the_workbook_of_another_response(response_a, focal_point_a, state_a, state_b, mini_versions):
    other_version = response_get_or_create(state=state_a, version=mini_versions["II"], due_date=None)
    other_state = response_get_or_create(state=state_b, version=response_a.version, due_date=None)

    for other in (other_version, other_state):
        problems = refused(response_a, focal_point_a, download(other))
        assert "This file is the workbook of another response" in problems


def test_it_refuses_a_workbook_made_for_another_questionnaire_version(response_a, focal_point_a):
    def other_version(book):
        book["Metadata"]["B3"] = response_a.version_id + 1

    assert "another version of the questionnaire" in refused(response_a, focal_point_a, edit(download(response_a), change=other_version))


def test_it_refuses_edited_metadata(response_a, focal_point_a, contributor_a, version):
    # Raising the recorded revision would hide a conflict: the signature catches it.
    data = download(response_a)
    save(response_a, contributor_a, {question(version, "FP-5.1.a.q1"): "single_offence"})

    def hide_conflict(book):
        meta = book["Metadata"]
        row = next(r for r in range(7, meta.max_row + 1) if meta.cell(r, 1).value == "FP-5.1.a.q1")
        meta.cell(row, 2).value = 1

    problems = refused(response_a, focal_point_a, edit(data, {"FP-5.1.a.q1": "other"}, change=hide_conflict))
    assert "hidden sheet “Metadata” of this file was changed or damaged" in problems


@pytest.mark.parametrize("sheet", ["Answers", "Metadata"])
def test_it_refuses_a_workbook_with_a_deleted_sheet(response_a, focal_point_a, sheet):
    def delete(book):
        del book[sheet]

    problems = refused(response_a, focal_point_a, edit(download(response_a), {"FP-5.2.q1": "yes"} if sheet != "Answers" else {}, change=delete))
    assert f"The sheet “{sheet}” is missing or was renamed" in problems


def test_it_refuses_a_renamed_sheet_and_changed_columns(response_a, focal_point_a):
    def rename(book):
        book["Answers"].title = "Réponses"

    def move(book):
        book["Answers"].insert_cols(3)

    assert "The sheet “Answers” is missing or was renamed" in refused(response_a, focal_point_a, edit(download(response_a), change=rename))
    assert "The columns of the sheet “Answers” were changed" in refused(response_a, focal_point_a, edit(download(response_a), change=move))


def test_it_accepts_the_headers_in_another_language(response_a, focal_point_a, settings):
    from django.utils import translation

    with translation.override("fr"):
        data = download(response_a)

    plan = preview(response_a, focal_point_a, edit(data, {"FP-5.2.q1": "no"}))
    assert [c.question.code for c in plan.changes] == ["FP-5.2.q1"]


def _french_catalog(monkeypatch, entries: dict[str, str]) -> None:
    """Translations added to the French catalog for the test (``context\x04msgid``
    for a message with a context)."""
    from django.utils.translation import trans_real

    catalog = trans_real.translation("fr")._catalog._catalogs[0]
    for key, value in entries.items():
        monkeypatch.setitem(catalog, key, value)


def test_the_answer_column_is_translated_as_a_column_not_as_the_button(response_a, focal_point_a, monkeypatch):
    from django.utils import translation

    _french_catalog(monkeypatch, {"spreadsheet column\x04Answer": "Réponse", "Answer": "Répondre"})
    with translation.override("fr"):
        data = download(response_a)
        button = translation.gettext("Answer")

    header = [cell.value for cell in open_book(data)["Answers"][1]]
    assert header[7] == "Réponse" and button == "Répondre"
    plan = preview(response_a, focal_point_a, edit(data, {"FP-5.2.q1": "no"}))
    assert [c.question.code for c in plan.changes] == ["FP-5.2.q1"]


def test_a_workbook_downloaded_before_the_column_context_is_still_accepted(response_a, focal_point_a, monkeypatch):
    """Its header is the translation of the bare word (in French, the button's "Répondre")."""
    from django.utils import translation

    _french_catalog(monkeypatch, {"Answer": "Répondre"})

    def old_header(book):
        book["Answers"].cell(1, 8).value = "Répondre"

    with translation.override("fr"):
        data = edit(download(response_a), {"FP-5.2.q1": "no"}, change=old_header)
    plan = preview(response_a, focal_point_a, data)
    assert [c.question.code for c in plan.changes] == ["FP-5.2.q1"]


# --- Refused: cells --------------------------------------------------------------------------------


def test_it_refuses_formulas(response_a, focal_point_a):
    data = edit(download(response_a), {"FP-5.1.a.q3": "=1+1", "FP-5.2.q1": "yes"})

    problems = refused(response_a, focal_point_a, data)

    assert "FP-5.1.a.q3: Formulas are not accepted" in problems


def test_it_refuses_a_row_of_an_unknown_question(response_a, focal_point_a):
    def add_rows(book):
        sheet = book["Answers"]
        sheet.append([5, "5(1)", "FP-5.9.q1", "Invented", "", "", "", "an answer"])
        sheet.append([None, None, None, None, None, None, None, "an answer without a code"])

    problems = refused(response_a, focal_point_a, edit(download(response_a), {"FP-5.2.q1": "yes"}, change=add_rows))

    assert "FP-5.9.q1: Unknown question code" in problems
    assert "Row 24 has an answer but no question code" in problems


def test_it_refuses_a_question_given_twice(response_a, focal_point_a):
    def duplicate(book):
        book["Answers"].append([5, "5(2)", "FP-5.2.q1", "", "", "", "", "no"])

    assert "FP-5.2.q1: This question appears twice in the file (rows 14 and 23)" in refused(
        response_a, focal_point_a, edit(download(response_a), {"FP-5.2.q1": "yes"}, change=duplicate)
    )


def test_it_lists_every_invalid_answer_by_question_and_saves_none(response_a, focal_point_a, settings):
    data = edit(
        download(response_a),
        {
            "FP-5.1.a.status": "maybe",
            "FP-5.1.a.q1": "several",
            "FP-5.1.a.q2": "x" * 600,
            "FP-5.1.a.q3": "twelve",
            "FP-5.1.a.legislation": "Firearms Act | s. 5 | ftp://example.org\n | art. 3",
            "FP-5.2.legislation": "A | B | https://example.org | 2020-01-31 | extra",
            "FP-14.legislation": "Arms Act | s. 1 | | 31/01/2020",
            "FP-5.1.a.ta": "needed: no\ncategories: legislative, weapons",
            "FP-5.2.ta": "wanted: yes",
            "FP-14.ta": "needed: yes\npriority: urgent",
            "FP-5.2.q1": "yes",  # valid, and still not saved
        },
    )

    problems = refused(response_a, focal_point_a, with_huge_cell(data, "FP-5.1.a.explanation", random_text(1_000_000)))

    for expected in [
        "FP-5.1.a.status: Select a valid choice. maybe is not one of the available choices.",
        "FP-5.1.a.q1: Select a valid choice. several is not one of the available choices.",
        "FP-5.1.a.q2: Ensure this value has at most 500 characters (it has 600).",
        "FP-5.1.a.q3: Enter a number.",
        "FP-5.1.a.explanation: This answer is 1000000 characters long; the limit is 50000.",
        "FP-5.1.a.legislation: “ftp://example.org” is not a web address",
        "FP-5.2.legislation: Line 1: write a law as Title | Article | https://link | YYYY-MM-DD",
        "FP-14.legislation: “31/01/2020” is not a date: write it as YYYY-MM-DD, for example 2020-01-31.",
        "FP-5.1.a.ta: Unknown category: weapons.",
        "FP-5.2.ta: Line 1: start each line with needed:, categories:, priority: or details:",
        "FP-14.ta: Unknown priority: urgent.",
    ]:
        assert expected in problems, problems
    assert "FP-5.2.q1" not in problems


def test_it_reads_a_number_typed_in_a_text_answer_as_its_text(response_a, focal_point_a):
    plan = preview(response_a, focal_point_a, edit(download(response_a), {"FP-5.2.q2": -3, "FP-5.1.a.q2": 2.5}))

    assert {c.question.code: c.new for c in plan.changes} == {"FP-5.2.q2": "-3", "FP-5.1.a.q2": "2.5"}


def test_it_refuses_a_negative_number_and_too_many_decimals(response_a, focal_point_a):
    problems = refused(response_a, focal_point_a, edit(download(response_a), {"FP-5.1.a.q3": -1}))
    assert "FP-5.1.a.q3: Ensure this value is greater than or equal to 0." in problems
    problems = refused(response_a, focal_point_a, edit(download(response_a), {"FP-5.1.a.q3": "1.234"}))
    assert "FP-5.1.a.q3: Ensure that there are no more than 2 decimal places." in problems


# --- Who may import --------------------------------------------------------------------------------


def test_only_the_states_people_may_import_and_only_into_a_draft(response_a, focal_point_a, contributor_a, focal_point_b):
    data = edit(download(response_a), {"FP-5.2.q1": "yes"})

    with pytest.raises(PermissionDenied):
        preview(response_a, focal_point_b, data)
    plan = preview(response_a, contributor_a, data)
    with pytest.raises(PermissionDenied):
        apply(response_a, focal_point_b, plan)
    apply(response_a, contributor_a, plan)
    assert stored(response_a) == {"FP-5.2.q1": ("yes", 1)}


def test_a_submitted_response_is_refused(response_a, focal_point_a):
    fill_required(response_a, focal_point_a)
    data = edit(download(response_a), {"FP-5.2.q1": "no"})
    plan = preview(response_a, focal_point_a, data)
    from questionnaire.services import response_submit

    response_submit(response=Response.objects.get(pk=response_a.pk), by=focal_point_a)
    before = stored(response_a)

    with pytest.raises(ResponseLocked):
        preview(response_a, focal_point_a, data)
    with pytest.raises(ResponseLocked):
        apply(response_a, focal_point_a, plan)
    assert stored(response_a) == before


# --- The uploaded file between preview and confirmation -------------------------------------------------


def test_a_pending_upload_is_kept_under_media_and_opened_only_by_its_owner(response_a, focal_point_a, contributor_a, settings):
    data = edit(download(response_a), {"FP-5.2.q1": "yes"})
    plan = preview(response_a, focal_point_a, data)

    token = offline.pending_keep(response=response_a, by=focal_point_a, data=data, plan=plan)

    files = os.listdir(Path(settings.MEDIA_ROOT) / "offline")
    assert len(files) == 1 and files[0].endswith(".xlsx")
    pending = offline.pending_open(response=response_a, by=focal_point_a, token=token)
    assert pending.data == data
    assert pending.seen_revisions == plan.seen_revisions()
    for who, what in [(contributor_a, token), (focal_point_a, token[:-2] + "xx"), (focal_point_a, "")]:
        with pytest.raises(PendingExpired):
            offline.pending_open(response=response_a, by=who, token=what)
    offline.pending_discard(pending=pending)
    with pytest.raises(PendingExpired):
        offline.pending_open(response=response_a, by=focal_point_a, token=token)


def test_pending_uploads_are_forgotten_after_two_hours(response_a, focal_point_a, settings):
    data = edit(download(response_a), {"FP-5.2.q1": "yes"})
    plan = preview(response_a, focal_point_a, data)
    offline.pending_keep(response=response_a, by=focal_point_a, data=data, plan=plan)
    folder = Path(settings.MEDIA_ROOT) / "offline"
    (old,) = folder.iterdir()
    three_hours_ago = (datetime.datetime.now() - datetime.timedelta(hours=3)).timestamp()
    os.utime(old, (three_hours_ago, three_hours_ago))

    offline.pending_keep(response=response_a, by=focal_point_a, data=data, plan=plan)

    assert old.name not in os.listdir(folder)
    assert len(os.listdir(folder)) == 1


def _pending_files(settings, names_and_ages: dict[str, float]) -> Path:
    """Files under MEDIA_ROOT/offline, each ``age`` hours old."""
    folder = Path(settings.MEDIA_ROOT) / offline.PENDING_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for name, hours in names_and_ages.items():
        path = folder / name
        path.write_bytes(b"PK\x03\x04 pending")
        moment = (datetime.datetime.now() - datetime.timedelta(hours=hours)).timestamp()
        os.utime(path, (moment, moment))
    return folder


def test_the_cleanup_deletes_only_pending_uploads_older_than_two_hours_and_can_run_twice(settings):
    old, older, fresh, nearly = ("a" * 32 + ".xlsx", "b" * 32 + ".xlsx", "c" * 32 + ".xlsx", "d" * 32 + ".xlsx")
    folder = _pending_files(
        settings, {old: 2.5, older: 50, fresh: 0.1, nearly: 1.9, "notes.txt": 30, "readme.xlsx": 30}
    )

    assert offline.pending_cleanup() == 2
    assert sorted(os.listdir(folder)) == sorted([fresh, nearly, "notes.txt", "readme.xlsx"])
    assert offline.pending_cleanup() == 0  # a second run (or two at once) finds nothing more
    assert sorted(os.listdir(folder)) == sorted([fresh, nearly, "notes.txt", "readme.xlsx"])
    # Two hours later, what was fresh is old.
    assert offline.pending_cleanup(now=offline.timezone.now() + datetime.timedelta(hours=2)) == 2


def test_the_cleanup_has_nothing_to_do_before_any_upload(settings):
    assert not (Path(settings.MEDIA_ROOT) / offline.PENDING_DIR).exists()
    assert offline.pending_cleanup() == 0


def test_the_cleanup_skips_a_file_that_vanished_meanwhile(settings, monkeypatch):
    name = "e" * 32 + ".xlsx"
    folder = _pending_files(settings, {name: 3})
    listdir = default_storage.listdir

    def listdir_then_vanish(path):
        found = listdir(path)
        (folder / name).unlink()  # another run deleted it first
        return found

    monkeypatch.setattr(default_storage, "listdir", listdir_then_vanish)
    assert offline.pending_cleanup() == 0


def test_the_periodic_task_runs_the_cleanup_and_is_scheduled(settings):
    from django.conf import settings as django_settings

    from config.celery import app
    from reviews.tasks import cleanup_offline_uploads

    folder = _pending_files(settings, {"f" * 32 + ".xlsx": 3, "0" * 32 + ".xlsx": 0})

    assert cleanup_offline_uploads.delay().get() == 1
    assert cleanup_offline_uploads.delay().get() == 0
    assert os.listdir(folder) == ["0" * 32 + ".xlsx"]
    scheduled = [entry for entry in django_settings.CELERY_BEAT_SCHEDULE.values() if entry["task"] == cleanup_offline_uploads.name]
    assert len(scheduled) == 1 and scheduled[0]["schedule"] <= offline.PENDING_MAX_AGE
    assert cleanup_offline_uploads.name in app.tasks


# --- Laws cited with a date ------------------------------------------------------------------


LAWS = [
    {"title": "Firearms Act 2020", "article": "s. 5", "link": "https://example.org/act", "date": "2020-01-31"},
    {"title": "Penal Code", "article": "art. 201", "link": "", "date": "1998-07-01"},
    {"title": "Old Decree", "article": "", "link": ""},  # stored before dates existed
]


def test_laws_with_a_date_round_trip_and_an_old_value_without_one_is_unchanged(response_a, focal_point_a, version):
    law = question(version, "FP-5.1.a.legislation")
    save(response_a, focal_point_a, {question(version, "FP-5.1.a.status"): "yes", law: LAWS})

    data = download(response_a)
    cell = open_book(data)["Answers"].cell(answer_rows(open_book(data))["FP-5.1.a.legislation"], 8).value

    assert cell == (
        "Firearms Act 2020 | s. 5 | https://example.org/act | 2020-01-31\nPenal Code | art. 201 |  | 1998-07-01\nOld Decree"
    )
    assert preview(response_a, focal_point_a, data).changes == []  # as downloaded
    # Typed again by hand, the same laws are the same answer: nothing to change.
    assert preview(response_a, focal_point_a, edit(data, {"FP-5.1.a.legislation": cell + "\n"})).changes == []


def test_a_date_typed_offline_is_saved_with_the_law(response_a, focal_point_a, version):
    law = question(version, "FP-5.1.a.legislation")
    save(response_a, focal_point_a, {question(version, "FP-5.1.a.status"): "yes", law: [LAWS[2]]})

    plan = preview(response_a, focal_point_a, edit(download(response_a), {
        "FP-5.1.a.legislation": "Old Decree | | | 1975-12-01\nArms Regulation | r. 4 | https://example.org/r",
    }))
    apply(response_a, focal_point_a, plan)

    assert stored(response_a)["FP-5.1.a.legislation"] == (
        [{"title": "Old Decree", "article": "", "link": "", "date": "1975-12-01"},
         {"title": "Arms Regulation", "article": "r. 4", "link": "https://example.org/r"}],
        2,
    )


@pytest.mark.parametrize("date", ["31/01/2020", "2020-02-30", "2020-1-5", "tomorrow", "=TODAY()"])
def test_a_malformed_date_in_a_cell_is_refused_by_question_and_saves_nothing(response_a, focal_point_a, version, date):
    save(response_a, focal_point_a, {question(version, "FP-5.1.a.status"): "yes",
                                     question(version, "FP-5.1.a.legislation"): [LAWS[0]]})
    data = edit(download(response_a), {"FP-5.1.a.legislation": f"Firearms Act 2020 | s. 5 | | {date}", "FP-5.2.q1": "yes"})

    problems = refused(response_a, focal_point_a, data)

    assert f"FP-5.1.a.legislation: “{date}” is not a date: write it as YYYY-MM-DD" in problems
    assert stored(response_a)["FP-5.1.a.legislation"] == ([LAWS[0]], 1)
