"""Working offline: a State's response as an XLSX workbook to fill without a
connection, and the upload of that workbook back.

The round trip
--------------
1. ``response_workbook`` builds the workbook: the questions of the version with
   the current answers, and a hidden sheet recording, for every question, the
   revision of its answer at download time.
2. ``import_preview`` refuses an unsafe or foreign file before parsing it, then
   reads the answer cells, validates each one with the form field of its kind
   (exactly as the answering page does) and returns the plan of changes, or
   raises ImportRefused listing every problem by question. It stores nothing.
3. The view keeps the uploaded file server-side (``pending_keep``) and gives the
   browser only a signed token naming it; the browser never posts values back.
4. ``import_apply`` saves the planned changes in one transaction through
   ``services.answers_save``, unless an answer of the plan changed online since
   the preview (PlanOutdated: nothing saved, the preview is shown again).

The file format (format 1)
--------------------------
Sheets (the names are fixed, in every language):

- ``Instructions``: how to fill the file; never read back.
- ``Answers``: one sheet for the whole questionnaire, row 1 the column headers,
  then one row per question in questionnaire order, with the columns
  ``Article | Provision | Code | Question | Required | Answer type | Allowed values | Answer``.
  Only *Code* (C) and *Answer* (H) are read back; the sheet is protected and
  only the *Answer* column is unlocked. The headers are translated; a header is
  accepted in any of the platform's languages.
- ``Metadata``: hidden and protected (the workbook structure is locked too, so
  that it cannot be unhidden casually). Rows ``format``, ``response``,
  ``version``, ``exported_at``, ``signature``, a header row, then one row per
  question: ``code | revision at download | digest of the downloaded cell | truncated``.
  The signature (HMAC with the site's secret key) covers every value of the
  sheet: an edited metadata sheet is refused.

The *Answer* cell, by kind (the *Allowed values* column repeats it per question):

- implementation: ``yes``, ``no`` or ``partially``; yes_no: ``yes`` or ``no``;
  choice: one choice code (dropdowns list the codes);
- multi_choice: choice codes separated by ``;``;
- number: a number, 0 or more, at most 2 decimals;
- text / long_text: the text (500 characters / ANSWER_TEXT_MAX_LENGTH at most);
- legislation: one law per line, ``Title | Article | https://link | YYYY-MM-DD``
  (article, link and the date of adoption or entry into force may be left out;
  a law without a date is written as before dates existed, so older files read
  the same);
- technical_assistance: lines ``needed: yes|no``, ``categories: code; code``,
  ``priority: high|medium|low`` and last ``details: text`` (the details run to
  the end of the cell, over several lines if need be).

Reading rules: an empty cell changes nothing (the upload never erases an
answer); a cell left as it was downloaded changes nothing (its digest matches);
a formula is refused; a text that the export neutralised with a leading
apostrophe (it started with = + - @, tab or CR) gets it removed again. An
answer longer than an XLSX cell (32,767 characters) is cut in the file and can
be changed online only. A change to an answer whose online revision is newer
than the revision in the file is a *conflict*: shown, and applied only when the
person ticks "overwrite" for that question.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import logging
import re
import secrets
import warnings
import zipfile
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import openpyxl
from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.datavalidation import DataValidation

from reviews.exports.cells import EXCEL_CELL_LIMIT, FORMULA_PREFIXES, safe_cell, xlsx_cell

from . import services
from .kinds import IMPLEMENTATION_CHOICES, SHORT_TEXT, YES_NO_CHOICES, TACategory, TAPriority, kind_of
from .models import Answer, Article, Question, Response
from .permissions import answers_for_state
from .selectors import AskedWalk, version_questions
from .uploads import scan_upload

logger = logging.getLogger(__name__)

FORMAT = 1
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_INSTRUCTIONS = "Instructions"
SHEET_ANSWERS = "Answers"
SHEET_METADATA = "Metadata"

# Refused before parsing.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 50 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
MAX_ZIP_ENTRIES = 1000
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted XLSX and old .xls files
REQUIRED_PARTS = ("[Content_Types].xml", "xl/workbook.xml")

# Rows of the Answers sheet beyond the questions that are still read (people add
# rows); a row with content beyond them is refused.
SPARE_ROWS = 500
MAX_ERRORS = 200

# Uploaded files waiting for confirmation, under MEDIA_ROOT.
PENDING_DIR = "offline"
PENDING_MAX_AGE = 2 * 60 * 60
PENDING_NAME = re.compile(r"^[0-9a-f]{32}\.xlsx$")
TOKEN_SALT = "questionnaire.offline.pending"
METADATA_SALT = "questionnaire.offline.workbook"

# Short words that mean something else elsewhere ("Answer" is also a button) carry
# a context for translators.
COLUMNS = (
    ("article", pgettext_lazy("spreadsheet column", "Article")),
    ("provision", pgettext_lazy("spreadsheet column", "Provision")),
    ("code", pgettext_lazy("spreadsheet column", "Code")),
    ("question", pgettext_lazy("spreadsheet column", "Question")),
    ("required", pgettext_lazy("spreadsheet column", "Required")),
    ("kind", pgettext_lazy("spreadsheet column", "Answer type")),
    ("allowed", pgettext_lazy("spreadsheet column", "Allowed values")),
    ("answer", pgettext_lazy("spreadsheet column", "Answer")),
)
# The same headers as workbooks downloaded before they had a context were written
# (the translation of the bare word): still accepted on upload.
LEGACY_HEADERS = ("Article", "Provision", "Code", "Question", "Required", "Answer type", "Allowed values", "Answer")
CODE_COLUMN = 2  # 0-based: C
ANSWER_COLUMN = 7  # 0-based: H
METADATA_HEADER = ("code", "revision", "digest", "truncated")
METADATA_KEYS = ("format", "response", "version", "exported_at", "signature")

KIND_LABELS = {
    "implementation": gettext_lazy("Implementation status"),
    "yes_no": gettext_lazy("Yes or no"),
    "choice": gettext_lazy("One choice"),
    "multi_choice": gettext_lazy("Several choices"),
    "number": pgettext_lazy("answer type", "Number"),
    "text": pgettext_lazy("answer type", "Short text"),
    "long_text": pgettext_lazy("answer type", "Text"),
    "legislation": gettext_lazy("Laws cited"),
    "technical_assistance": gettext_lazy("Technical assistance"),
}
TA_KEYS = ("needed", "categories", "priority", "details")
# In the cell, in this order (the date came last so that files written before it
# existed read the same): ``Title | Article | https://link | YYYY-MM-DD``.
LEGISLATION_PARTS = ("title", "article", "link", "date")


# --- Results and refusals ------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """Why (part of) an upload is refused: for one question (``code``, ``row``) or
    for the whole file."""

    message: str
    code: str = ""
    row: int | None = None


class ImportRefused(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems[:5]))


def _refuse(message: str) -> ImportRefused:
    return ImportRefused([Problem(message)])


class PlanOutdated(Exception):
    """An answer of the plan changed online since the preview: nothing was saved."""


class PendingExpired(Exception):
    """The token of a previewed upload is invalid, expired, someone else's or its
    file is gone."""


@dataclass(frozen=True)
class Change:
    """One answer the file would change."""

    question: Question
    row: int
    current: Any
    new: Any
    current_revision: int
    file_revision: int
    changed_by: str = ""
    changed_at: datetime.datetime | None = None

    @property
    def conflict(self) -> bool:
        """Changed online since the download (and the file says something else)."""
        return self.current_revision > self.file_revision


@dataclass
class ImportPlan:
    response_id: int
    changes: list[Change] = field(default_factory=list)

    @property
    def updates(self) -> list[Change]:
        return [c for c in self.changes if not c.conflict]

    @property
    def conflicts(self) -> list[Change]:
        return [c for c in self.changes if c.conflict]

    def seen_revisions(self) -> dict[int, int]:
        """question id → the online revision the preview showed."""
        return {c.question.pk: c.current_revision for c in self.changes}


@dataclass(frozen=True)
class Pending:
    name: str
    data: bytes
    seen_revisions: dict[int, int]


# --- Cells ------------------------------------------------------------------------------


def _cell_text(value: Any) -> str | None:
    """A cell's value as the text a person typed (numbers without a spurious .0)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)


def _digest(text: str | None) -> str:
    return hashlib.sha256((text or "").encode("utf-8")).hexdigest()[:32]


def _unneutralise(text: str) -> str:
    """Remove the apostrophe that safe_cell put before a formula-like text."""
    if text.startswith("'") and text[1:].startswith(FORMULA_PREFIXES):
        return text[1:]
    return text


def _same(a: Any, b: Any) -> bool:
    """Equal, ignoring how line ends are written (a browser posts CR LF, a
    spreadsheet program may keep LF only)."""

    def norm(v):
        if isinstance(v, str):
            return v.replace("\r\n", "\n").replace("\r", "\n")
        if isinstance(v, list):
            return [norm(x) for x in v]
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items()}
        return v

    return norm(a) == norm(b)


def answer_text(question: Question, value: Any) -> str | int | float | None:
    """A stored value in the cell format of its kind (what the export writes and
    the upload reads back)."""
    if value in (None, "", [], {}):
        return None
    kind = question.kind
    try:
        if kind == "number":
            return value if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)
        if kind == "multi_choice":
            return "; ".join(str(code) for code in value)
        if kind == "legislation":
            lines = []
            for row in value:
                parts = [str(row.get(part) or "") for part in LEGISLATION_PARTS]
                while len(parts) > 1 and not parts[-1]:
                    parts.pop()
                lines.append(" | ".join(parts))
            return "\n".join(lines)
        if kind == "technical_assistance":
            lines = []
            if value.get("needed") is True:
                lines.append("needed: yes")
            elif value.get("needed") is False:
                lines.append("needed: no")
            if value.get("categories"):
                lines.append("categories: " + "; ".join(value["categories"]))
            if value.get("priority"):
                lines.append(f"priority: {value['priority']}")
            if value.get("details"):
                lines.append(f"details: {value['details']}")
            return "\n".join(lines) or None
    except (AttributeError, TypeError):
        pass  # an unexpected stored shape: written as plain text below
    return str(value)


def _written(value: str | int | float | None) -> tuple[str | int | float | None, bool]:
    """What a cell will hold: neutralised, cut to the cell limit, without the
    control characters XML cannot carry; and whether it was cut."""
    if value is None or isinstance(value, (int, float)):
        return value, False
    truncated = len(safe_cell(value)) > EXCEL_CELL_LIMIT
    text = ILLEGAL_CHARACTERS_RE.sub("", xlsx_cell(value))
    return text, truncated


def _put(ws, row: int, column: int, value: Any):
    """Write a value that can never become a formula."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", xlsx_cell(value))
    cell = ws.cell(row=row, column=column, value=value)
    if cell.data_type == "f":  # unreachable after xlsx_cell; never let it happen
        cell.data_type = "s"
    return cell


# --- Export ---------------------------------------------------------------------------------


def _choices(question: Question) -> list[tuple[str, str]]:
    if question.kind == "implementation":
        return [(code, str(label)) for code, label in IMPLEMENTATION_CHOICES]
    if question.kind == "yes_no":
        return [(code, str(label)) for code, label in YES_NO_CHOICES]
    return [(c.code, c.label) for c in question.choices.all()]


def _allowed_text(question: Question) -> str:
    kind = question.kind
    if kind in ("implementation", "yes_no", "choice", "multi_choice"):
        text = "\n".join(f"{code} = {label}" for code, label in _choices(question))
        if kind == "multi_choice":
            text += "\n" + _("Several codes may be given, separated by ;")
        return text
    if kind == "number":
        return _("A number, 0 or more, with at most 2 decimals.")
    if kind == "text":
        return _("Text of at most %(n)s characters.") % {"n": SHORT_TEXT}
    if kind == "long_text":
        return _("Text of at most %(n)s characters.") % {"n": settings.ANSWER_TEXT_MAX_LENGTH}
    if kind == "legislation":
        return _(
            "One law per line: Title | Article | https://link | date of adoption or entry into force as YYYY-MM-DD "
            "(article, link and date may be left out)."
        )
    if kind == "technical_assistance":
        return "\n".join(
            [
                "needed: yes | no",
                "categories: " + _("category codes separated by ; (see Instructions)"),
                "priority: " + " | ".join(TAPriority.values),
                "details: " + _("free text, last"),
            ]
        )
    return ""


def _validation(question: Question) -> tuple[str, dict[str, Any]] | None:
    """(key, DataValidation arguments) of the dropdown or check of a closed kind."""
    kind = question.kind
    if kind in ("implementation", "yes_no", "choice"):
        formula = '"' + ",".join(code for code, _label in _choices(question)) + '"'
        if len(formula) > 255:  # Excel's limit for a literal list; the upload still checks
            return None
        return formula, {"type": "list", "formula1": formula}
    if kind == "number":
        return "number", {"type": "decimal", "operator": "greaterThanOrEqual", "formula1": "0"}
    if kind == "text":
        return "text", {"type": "textLength", "operator": "lessThanOrEqual", "formula1": str(SHORT_TEXT)}
    return None


def _instructions(ws, response: Response, exported_at: datetime.datetime) -> None:
    version = response.version
    title = Font(bold=True, size=14)
    bold = Font(bold=True)
    rows: list[tuple[str, Font | None]] = [
        (_("Self-assessment to answer offline"), title),
        (f"{response.state.name} — {version.cluster} — {version.cluster.instrument.short_title}", bold),
        (
            _("Questionnaire version %(number)s (%(label)s), downloaded %(when)s UTC.")
            % {"number": version.number, "label": version.label, "when": exported_at.strftime("%Y-%m-%d %H:%M")},
            None,
        ),
        ("", None),
        (_("How to use this file"), bold),
        (_("1. Write your answers in the column “Answer” of the sheet “Answers”. Only that column is read back."), None),
        (_("2. Upload the file on the platform (Answer offline → Upload). You will see every change before anything is saved."), None),
        (_("3. An empty cell changes nothing: to erase an answer, do it online."), None),
        (_("4. Do not rename or delete the sheets or columns, do not change the codes and do not use formulas: such files are refused."), None),
        (
            _("5. If someone changes an answer online after you downloaded this file, the upload shows it as a conflict and keeps the online answer unless you choose to overwrite it."),
            None,
        ),
        (
            _("6. A text that starts with = + - or @ is shown with an apostrophe (') in front, so that spreadsheet programs do not run it; the upload removes that apostrophe again."),
            None,
        ),
        (
            _("7. A cell holds at most 32,767 characters: a longer answer is cut in this file and can only be changed online."),
            None,
        ),
        ("", None),
        (_("How to write each kind of answer"), bold),
        (f"{KIND_LABELS['implementation']}: yes, no, partially", None),
        (f"{KIND_LABELS['yes_no']}: yes, no", None),
        (f"{KIND_LABELS['choice']}: " + _("one code of the column “Allowed values”, e.g. other"), None),
        (f"{KIND_LABELS['multi_choice']}: " + _("codes of the column “Allowed values” separated by ;, e.g. manufacturer; country"), None),
        (f"{KIND_LABELS['number']}: " + _("a number, 0 or more, with at most 2 decimals, e.g. 12 or 3.5"), None),
        (f"{KIND_LABELS['text']}, {KIND_LABELS['long_text']}: " + _("the text; line breaks are kept"), None),
        (
            f"{KIND_LABELS['legislation']}: "
            + _(
                "one law per line: Title | Article | https://link | date (YYYY-MM-DD) — e.g. Firearms Act 2020 | s. 5 | "
                "https://example.org/act | 2020-01-31, or without a link: Firearms Act 2020 | s. 5 | | 2020-01-31"
            ),
            None,
        ),
        (
            f"{KIND_LABELS['technical_assistance']}: "
            + _("one line each, in English words: needed: yes or no; categories: codes separated by ; (only when needed); priority: high, medium or low (only when needed); details: your text, always last. Example:"),
            None,
        ),
        ("needed: yes\ncategories: training_customs; marking_equipment\npriority: high\ndetails: …", None),
        ("", None),
        (_("Technical assistance categories"), bold),
        *[(f"{code} = {label}", None) for code, label in TACategory.choices],
        ("", None),
        (_("Technical assistance priorities"), bold),
        *[(f"{code} = {label}", None) for code, label in TAPriority.choices],
    ]
    if not response.is_editable:
        rows.insert(4, (_("This response has been submitted: this file can be read but no longer uploaded."), bold))
    ws.column_dimensions["A"].width = 110
    for index, (text, font) in enumerate(rows, start=1):
        cell = _put(ws, index, 1, text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if font is not None:
            cell.font = font


def response_workbook(*, response: Response) -> bytes:
    """The questionnaire with the response's current answers, as XLSX."""
    questions = version_questions(response.version_id)
    articles = dict(Article.objects.filter(version_id=response.version_id).values_list("pk", "number"))
    answers = {a.question_id: a for a in Answer.objects.filter(response=response).only("question_id", "value", "revision")}
    exported_at = timezone.now().replace(microsecond=0)
    by_id = {q.pk: q for q in questions}

    book = openpyxl.Workbook()
    instructions = book.active
    instructions.title = SHEET_INSTRUCTIONS
    sheet = book.create_sheet(SHEET_ANSWERS)
    meta = book.create_sheet(SHEET_METADATA)
    rtl = translation.get_language_bidi()
    instructions.sheet_view.rightToLeft = sheet.sheet_view.rightToLeft = rtl
    _instructions(instructions, response, exported_at)

    header_font = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    for column, (_key, label) in enumerate(COLUMNS, start=1):
        cell = _put(sheet, 1, column, str(label))
        cell.font, cell.alignment = header_font, wrap
    for letter, width in zip("ABCDEFGH", (8, 10, 22, 60, 9, 16, 34, 60)):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "D2"
    editable = PatternFill("solid", fgColor="FFF8DC")
    unlocked = Protection(locked=False)
    validations: dict[str, DataValidation] = {}
    yes, no = pgettext("question is required", "Yes"), pgettext("question is required", "No")

    metadata_rows: list[list[Any]] = []
    # A follow-up that its status does not ask (challenges kept from before the status
    # became "yes") is not exported as answered: its cell is empty, as the online page
    # hides it, and an empty cell never erases what is stored. Its revision is still
    # recorded, so that an answer typed there is no conflict with the hidden one.
    walk = AskedWalk(questions)
    for row, q in enumerate(questions, start=2):
        answer = answers.get(q.pk)
        asked_value = answer.value if answer is not None and walk.asked(response.pk, q.pk, answer.value) else None
        prompt = q.prompt
        target = by_id.get(q.condition_question_id)
        if target is not None:
            shown = ", ".join(
                str(kind_of(target).display(v, dict(_choices(target))) or v) for v in q.condition_values
            )
            prompt += "\n" + _("(Asked only when the answer to %(code)s is %(values)s.)") % {
                "code": target.code,
                "values": shown,
            }
        values = [
            articles.get(q.article_id),
            q.provision.ref,
            q.code,
            prompt,
            yes if q.required else no,
            str(KIND_LABELS.get(q.kind, q.kind)),
            _allowed_text(q),
        ]
        for column, value in enumerate(values, start=1):
            _put(sheet, row, column, value).alignment = wrap
        written, truncated = _written(answer_text(q, asked_value))
        cell = _put(sheet, row, ANSWER_COLUMN + 1, written)
        cell.alignment, cell.fill, cell.protection = wrap, editable, unlocked
        if q.kind == "number" and isinstance(written, str):
            cell.data_type = "s"
        rule = _validation(q)
        if rule is not None:
            key, kwargs = rule
            if key not in validations:
                validations[key] = DataValidation(
                    allow_blank=True,
                    showErrorMessage=True,
                    errorTitle=pgettext("spreadsheet cell value", "Not accepted")[:32],
                    error=_("Use a value of the column “Allowed values”.")[:225],
                    **kwargs,
                )
                sheet.add_data_validation(validations[key])
            validations[key].add(cell.coordinate)
        metadata_rows.append(
            [q.code, answer.revision if answer else 0, _digest(_cell_text(written)), int(truncated)]
        )
    # Only the Answer column can be edited; columns and rows may still be resized.
    sheet.protection.sheet = True
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False

    signature = _metadata_signature(response.pk, response.version_id, metadata_rows)
    for index, (key, value) in enumerate(
        [
            ("format", FORMAT),
            ("response", response.pk),
            ("version", response.version_id),
            ("exported_at", exported_at.isoformat()),
            ("signature", signature),
        ],
        start=1,
    ):
        _put(meta, index, 1, key)
        _put(meta, index, 2, value)
    for column, key in enumerate(METADATA_HEADER, start=1):
        _put(meta, len(METADATA_KEYS) + 1, column, key)
    for index, values in enumerate(metadata_rows, start=len(METADATA_KEYS) + 2):
        for column, value in enumerate(values, start=1):
            _put(meta, index, column, value)
    meta.sheet_state = "hidden"
    meta.protection.sheet = True
    book.security = WorkbookProtection(lockStructure=True)
    book.active = 0

    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def workbook_filename(*, response: Response) -> str:
    """A safe ASCII file name: offline-<ISO3>-cluster-<code>-v<number>.xlsx."""
    parts = ["offline", response.state.iso3, "cluster", response.version.cluster.code, f"v{response.version.number}"]
    stem = "-".join(filter(None, (re.sub(r"[^A-Za-z0-9]+", "-", str(p)).strip("-") for p in parts)))
    return f"{stem or 'offline'}.xlsx"


def _metadata_signature(response_id: int, version_id: int, rows: list[list[Any]]) -> str:
    return signing.Signer(salt=METADATA_SALT).sign(_metadata_digest(response_id, version_id, rows))


def _metadata_digest(response_id: int, version_id: int, rows: list[list[Any]]) -> str:
    canonical = json.dumps([FORMAT, response_id, version_id, rows], ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- Upload: refusals before parsing ---------------------------------------------------------


def read_upload(upload) -> bytes:
    """The bytes of an uploaded file, refused when over MAX_UPLOAD_BYTES."""
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        raise too_big()
    data = upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise too_big()
    scan_upload(io.BytesIO(data), refuse=_refuse)  # clamd, when configured, before the file is opened
    return data


def too_big() -> ImportRefused:
    """The refusal of a file over MAX_UPLOAD_BYTES."""
    return _refuse(
        _("The file is larger than %(mb)s MB. Upload the workbook downloaded from the platform.")
        % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)}
    )


def check_container(data: bytes) -> None:
    """Refuse what is too big, not an XLSX by content, encrypted, corrupt or a zip
    bomb — before any XML of it is parsed."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise too_big()
    if not data:
        raise _refuse(_("The file is empty."))
    if data.startswith(OLE_MAGIC):
        raise _refuse(
            _("This file is password-protected (encrypted) or an old .xls file. Save it as an Excel workbook (.xlsx) without a password and upload it again.")
        )
    not_xlsx = _("This file is not an Excel workbook (.xlsx), whatever its name. Upload the workbook downloaded from the platform.")
    if not data.startswith(ZIP_MAGIC):
        raise _refuse(not_xlsx)
    damaged = _("The file is damaged and cannot be read. Download the workbook again or save it again from your spreadsheet program.")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise _refuse(damaged) from None
    if len(entries) > MAX_ZIP_ENTRIES:
        raise _refuse(damaged)
    if any(info.flag_bits & 0x1 for info in entries):
        raise _refuse(_("This file is encrypted. Save it without a password and upload it again."))
    total = sum(info.file_size for info in entries)
    compressed = sum(info.compress_size for info in entries)
    too_expanding = total > MAX_UNCOMPRESSED_BYTES or total > MAX_COMPRESSION_RATIO * max(compressed, 1) or any(
        info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1) and info.file_size > 1024 * 1024
        for info in entries
    )
    if too_expanding:
        raise _refuse(
            _("This file would expand to too much data when opened (more than %(mb)s MB, or compressed more than %(ratio)s times). It is not a workbook of this platform.")
            % {"mb": MAX_UNCOMPRESSED_BYTES // (1024 * 1024), "ratio": MAX_COMPRESSION_RATIO}
        )
    names = {info.filename for info in entries}
    if not all(part in names for part in REQUIRED_PARTS):
        raise _refuse(not_xlsx)


# --- Upload: reading the workbook ---------------------------------------------------------


@dataclass(frozen=True)
class _FileAnswer:
    revision: int
    digest: str
    truncated: bool


def _header_texts() -> list[set[str]]:
    """Each column's header in every language of the platform."""
    texts = [set() for _c in COLUMNS]
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            for index, (_key, label) in enumerate(COLUMNS):
                texts[index].add(str(label).strip().casefold())
                texts[index].add(translation.gettext(LEGACY_HEADERS[index]).strip().casefold())
    return texts


def _is_formula(cell) -> bool:
    return getattr(cell, "data_type", None) == "f" or type(getattr(cell, "value", None)).__name__ in (
        "ArrayFormula",
        "DataTableFormula",
    )


def _read_metadata(book, response: Response, codes: Collection[str]) -> dict[str, _FileAnswer]:
    damaged = _("The hidden sheet “%(sheet)s” of this file was changed or damaged. Download a fresh copy of the workbook and copy your answers into it.") % {
        "sheet": SHEET_METADATA
    }
    if SHEET_METADATA not in book.sheetnames:
        raise _refuse(
            _("The sheet “%(sheet)s” is missing or was renamed: this is not a workbook downloaded from the platform, or its layout was changed.")
            % {"sheet": SHEET_METADATA}
        )
    rows = book[SHEET_METADATA].iter_rows(max_col=len(METADATA_HEADER), values_only=True)
    head: dict[str, Any] = {}
    for key in METADATA_KEYS:
        row = next(rows, None)
        if not row or row[0] != key:
            raise _refuse(damaged)
        head[key] = row[1]
    if next(rows, None) != METADATA_HEADER:
        raise _refuse(damaged)
    if head["format"] != FORMAT:
        raise _refuse(_("This workbook was made for another edition of the platform. Download a fresh copy."))
    if head["response"] != response.pk:
        raise _refuse(
            _("This file is the workbook of another response. Download the workbook of this response and copy your answers into it.")
        )
    if head["version"] != response.version_id:
        raise _refuse(
            _("This file was made for another version of the questionnaire. Download the workbook of this response and copy your answers into it.")
        )
    table: dict[str, _FileAnswer] = {}
    plain: list[list[Any]] = []
    for count, row in enumerate(rows):
        if count > len(codes) + SPARE_ROWS:
            raise _refuse(damaged)
        if not row or all(v is None for v in row):
            continue
        code, revision, digest, truncated = row
        if not isinstance(code, str) or not isinstance(revision, int) or revision < 0 or not isinstance(digest, str) or truncated not in (0, 1):
            raise _refuse(damaged)
        table[code] = _FileAnswer(revision=revision, digest=digest, truncated=bool(truncated))
        plain.append([code, revision, digest, truncated])
    try:
        signed = signing.Signer(salt=METADATA_SALT).unsign(str(head["signature"] or ""))
    except signing.BadSignature:
        raise _refuse(damaged) from None
    if signed != _metadata_digest(response.pk, response.version_id, plain):
        raise _refuse(damaged)
    return table


def _raw_input(question: Question, text: str, order: dict[str, int]) -> Any:
    """The cell's text in the shape the kind's form field receives from the page."""
    kind = question.kind
    if kind in ("implementation", "yes_no", "choice"):
        return text.strip().lower()
    if kind == "multi_choice":
        codes = list(dict.fromkeys(c.strip().lower() for c in re.split(r"[;,\n]", text) if c.strip()))
        # The page posts ticked boxes in the order of the choices.
        return sorted(codes, key=lambda c: order.get(c, len(order)))
    if kind == "number":
        return text.strip()
    if kind == "legislation":
        rows = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split("|")]
            if len(parts) > len(LEGISLATION_PARTS):
                raise ValidationError(
                    _("Line %(n)s: write a law as Title | Article | https://link | YYYY-MM-DD (at most three | per line)."),
                    params={"n": number},
                )
            parts += [""] * (len(LEGISLATION_PARTS) - len(parts))
            rows.append(dict(zip(LEGISLATION_PARTS, parts)))
        return rows
    if kind == "technical_assistance":
        return _technical_assistance_input(text)
    return text


def _technical_assistance_input(text: str) -> dict[str, Any]:
    value: dict[str, Any] = {"needed": "", "categories": [], "priority": "", "details": ""}
    lines = text.splitlines()
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        key, colon, rest = line.partition(":")
        key = key.strip().lower()
        if not colon or key not in TA_KEYS:
            raise ValidationError(
                _("Line %(n)s: start each line with needed:, categories:, priority: or details: (details last)."),
                params={"n": number},
            )
        if key in seen:
            raise ValidationError(_("Line %(n)s: “%(key)s:” is given twice."), params={"n": number, "key": key})
        seen.add(key)
        if key == "details":
            value["details"] = "\n".join([rest, *lines[number:]]).strip()
            break
        rest = rest.strip()
        if key == "categories":
            codes = list(dict.fromkeys(c.strip().lower() for c in re.split(r"[;,]", rest) if c.strip()))
            order = {code: i for i, code in enumerate(TACategory.values)}
            # The page posts ticked boxes in the order of the categories.
            value["categories"] = sorted(codes, key=lambda c: order.get(c, len(order)))
        else:
            value[key] = rest.lower()
    return value


def _messages(error: ValidationError) -> list[str]:
    return [str(m) for m in error.messages]


def import_preview(*, response: Response, by, data: bytes) -> ImportPlan:
    """Check an uploaded workbook and return the changes it would make (stores
    nothing). Raises ImportRefused with every problem found."""
    if not answers_for_state(by, response):
        raise PermissionDenied
    if response.status != Response.Status.DRAFT:
        raise services.ResponseLocked(_("This response has been submitted and can no longer be changed."))
    check_container(data)
    questions = version_questions(response.version_id)
    by_code = {q.code: q for q in questions}
    damaged = _("The file is damaged and cannot be read. Download the workbook again or save it again from your spreadsheet program.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
    except Exception:  # an untrusted file through a third-party parser: any failure is "damaged"
        logger.info("offline upload refused: unreadable workbook", exc_info=True)
        raise _refuse(damaged) from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            file_answers = _read_metadata(book, response, by_code)
            cells = _read_answer_cells(book, by_code)
    except ImportRefused:
        raise
    except Exception:
        logger.info("offline upload refused: unreadable sheet", exc_info=True)
        raise _refuse(damaged) from None
    finally:
        book.close()
    return _plan(response, by_code, file_answers, cells)


def _read_answer_cells(book, by_code: dict[str, Question]) -> list[tuple[int, str, Any]]:
    """(row, code, cell value) of the rows with an answer; problems of layout,
    formulas, unknown or repeated codes raise ImportRefused."""
    if SHEET_ANSWERS not in book.sheetnames:
        raise _refuse(
            _("The sheet “%(sheet)s” is missing or was renamed. Download the workbook again and copy your answers into it.")
            % {"sheet": SHEET_ANSWERS}
        )
    problems: list[Problem] = []
    found: list[tuple[int, str, Any]] = []
    seen: dict[str, int] = {}
    limit = len(by_code) + 1 + SPARE_ROWS
    rows = book[SHEET_ANSWERS].iter_rows(max_col=len(COLUMNS))
    header = next(rows, ())
    expected = _header_texts()
    texts = [(_cell_text(c.value) or "").strip().casefold() for c in header]
    if len(texts) != len(COLUMNS) or any(text not in expected[i] for i, text in enumerate(texts)):
        raise _refuse(
            _("The columns of the sheet “%(sheet)s” were changed: row 1 must read %(headers)s. Download the workbook again and copy your answers into it.")
            % {"sheet": SHEET_ANSWERS, "headers": " | ".join(str(label) for _key, label in COLUMNS)}
        )
    for number, cells in enumerate(rows, start=2):
        code_cell, answer_cell = cells[CODE_COLUMN], cells[ANSWER_COLUMN]
        if code_cell.value is None and answer_cell.value is None:
            continue
        if number > limit:
            problems.append(
                Problem(
                    _("Row %(row)s: the sheet has more rows than the questionnaire has questions; delete the extra rows.")
                    % {"row": number},
                    row=number,
                )
            )
            break
        if _is_formula(code_cell):
            problems.append(Problem(_("Row %(row)s: formulas are not accepted.") % {"row": number}, row=number))
            continue
        code = (_cell_text(code_cell.value) or "").strip()
        if _is_formula(answer_cell):
            problems.append(Problem(_("Formulas are not accepted: type the answer itself."), code=code, row=number))
            continue
        if not code:
            problems.append(Problem(_("Row %(row)s has an answer but no question code.") % {"row": number}, row=number))
            continue
        if code not in by_code:
            problems.append(
                Problem(
                    _("Unknown question code: this row is not a question of this questionnaire."), code=code[:100], row=number
                )
            )
            continue
        if code in seen:
            problems.append(
                Problem(
                    _("This question appears twice in the file (rows %(first)s and %(row)s).")
                    % {"first": seen[code], "row": number},
                    code=code,
                    row=number,
                )
            )
            continue
        seen[code] = number
        found.append((number, code, answer_cell.value))
        if len(problems) >= MAX_ERRORS:
            break
    if problems:
        raise ImportRefused(problems)
    return found


def _plan(
    response: Response, by_code: dict[str, Question], file_answers: dict[str, _FileAnswer], cells: list[tuple[int, str, Any]]
) -> ImportPlan:
    current = {
        a.question_id: a
        for a in Answer.objects.filter(response=response).select_related("updated_by").only(
            "question_id", "value", "revision", "updated_at", "updated_by__username", "updated_by__first_name", "updated_by__last_name"
        )
    }
    plan = ImportPlan(response_id=response.pk)
    problems: list[Problem] = []
    for row, code, value in cells:
        text = _cell_text(value)
        if text is None or not text.strip():
            continue  # an empty cell never erases
        question = by_code[code]
        recorded = file_answers.get(code)
        if recorded is not None and recorded.digest == _digest(text):
            continue  # as downloaded
        if recorded is not None and recorded.truncated:
            problems.append(
                Problem(
                    _("This answer is too long for a spreadsheet cell and was cut in the file: change it online."),
                    code=code,
                    row=row,
                )
            )
            continue
        choices = [(c.code, c.label) for c in question.choices.all()]
        order = {c: i for i, (c, _label) in enumerate(choices)}
        kind = kind_of(question)
        try:
            raw = _raw_input(question, _unneutralise(text), order)
            new = kind.to_value(kind.form_field(question, choices).clean(raw))
        except ValidationError as error:
            problems.extend(Problem(message, code=code, row=row) for message in _messages(error))
            continue
        if new is None:
            continue
        answer = current.get(question.pk)
        stored = answer.value if answer else None
        if _same(new, stored):
            continue
        plan.changes.append(
            Change(
                question=question,
                row=row,
                current=stored,
                new=new,
                current_revision=answer.revision if answer else 0,
                file_revision=recorded.revision if recorded else 0,
                changed_by=(answer.updated_by.get_full_name() or answer.updated_by.username) if answer else "",
                changed_at=answer.updated_at if answer else None,
            )
        )
    if problems:
        raise ImportRefused(problems[:MAX_ERRORS])
    return plan


# --- Confirmation ---------------------------------------------------------------------------


@transaction.atomic
def import_apply(
    *, response: Response, by, plan: ImportPlan, seen_revisions: dict[int, int], overwrite: Collection[str] = ()
) -> list[Question]:
    """Save the plan's changes, and its conflicts whose code is in ``overwrite``,
    in one transaction. ``seen_revisions`` are the online revisions the person saw
    in the preview: if any answer of the plan changed since, nothing is saved and
    PlanOutdated is raised. Returns the questions saved."""
    locked = Response.objects.select_for_update().get(pk=response.pk)
    if not answers_for_state(by, locked):
        raise PermissionDenied
    if locked.status != Response.Status.DRAFT:
        raise services.ResponseLocked(_("This response has been submitted and can no longer be changed."))
    if plan.response_id != locked.pk or plan.seen_revisions() != seen_revisions:
        raise PlanOutdated
    now = dict(
        Answer.objects.filter(response=locked, question_id__in=list(seen_revisions)).values_list("question_id", "revision")
    )
    if any(now.get(question_id, 0) != revision for question_id, revision in seen_revisions.items()):
        raise PlanOutdated
    overwrite = set(overwrite)
    values = {c.question: c.new for c in plan.changes if not c.conflict or c.question.code in overwrite}
    if not values:
        return []
    return services.answers_save(response=locked, by=by, values=values, base_revisions=seen_revisions)


# --- The uploaded file between preview and confirmation --------------------------------------


def pending_cleanup(*, now: datetime.datetime | None = None) -> int:
    """Delete the uploads kept for a confirmation that never came: those older than
    PENDING_MAX_AGE, whose token has expired anyway. Returns how many were deleted.

    Idempotent and safe beside another run or a confirmation: a file that vanished
    meanwhile is skipped; a file younger than the limit, or not named as this
    module names pending uploads, is never touched. Run periodically by
    ``reviews.tasks.cleanup_offline_uploads`` (CELERY_BEAT_SCHEDULE), and before
    each new upload is kept (the embedded mode has no beat)."""
    try:
        _dirs, files = default_storage.listdir(PENDING_DIR)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    limit = (now or timezone.now()) - datetime.timedelta(seconds=PENDING_MAX_AGE)
    deleted = 0
    for name in files:
        path = f"{PENDING_DIR}/{name}"
        try:
            if PENDING_NAME.match(name) and default_storage.get_modified_time(path) < limit:
                default_storage.delete(path)
                deleted += 1
        except OSError:  # gone meanwhile (another run, a confirmation), or unreadable
            continue
    return deleted


def pending_keep(*, response: Response, by, data: bytes, plan: ImportPlan) -> str:
    """Keep an uploaded file server-side for its confirmation; return the signed
    token that names it (with the revisions the preview shows)."""
    pending_cleanup()
    saved = default_storage.save(f"{PENDING_DIR}/{secrets.token_hex(16)}.xlsx", ContentFile(data))
    return pending_token(response=response, by=by, name=saved.rsplit("/", 1)[-1], plan=plan)


def pending_token(*, response: Response, by, name: str, plan: ImportPlan) -> str:
    payload = {
        "r": response.pk,
        "u": by.pk,
        "f": name,
        "s": {str(k): v for k, v in plan.seen_revisions().items()},
    }
    return signing.dumps(payload, salt=TOKEN_SALT, compress=True)


def pending_open(*, response: Response, by, token: str) -> Pending:
    try:
        payload = signing.loads(token or "", salt=TOKEN_SALT, max_age=PENDING_MAX_AGE)
        name = payload["f"]
        seen = {int(k): int(v) for k, v in payload["s"].items()}
        mine = payload["r"] == response.pk and payload["u"] == by.pk
    except (signing.BadSignature, KeyError, TypeError, ValueError, AttributeError):
        raise PendingExpired from None
    if not mine or not isinstance(name, str) or not PENDING_NAME.match(name):
        raise PendingExpired
    try:
        with default_storage.open(f"{PENDING_DIR}/{name}", "rb") as handle:
            data = handle.read(MAX_UPLOAD_BYTES + 1)
    except OSError:
        raise PendingExpired from None
    return Pending(name=name, data=data, seen_revisions=seen)


def pending_discard(*, pending: Pending) -> None:
    default_storage.delete(f"{PENDING_DIR}/{pending.name}")
