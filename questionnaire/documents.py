"""A State's response as documents for internal clearance: a PDF (WeasyPrint) and a
Word file (python-docx).

Both are built from one plain-data source, ``document_data``: the immutable
snapshot for a submitted response, ``selectors.response_document`` read live for a
draft. Under each answer the evidence attached to it is listed (citations, and
files by title, type and name): the snapshot's own list when it has one, else
``evidence.evidence_document_data`` — for a submitted response that is the
evidence as submitted, since a submitted response's attachments and the library
entries it uses can no longer change. Every answer is kept exactly as stored (only the control characters XML
forbids are dropped from the Word file, which Word would otherwise refuse), with
its line breaks; questions not answered show "—" so that the clearing official
sees the gaps. Right-to-left answers (Arabic, Hebrew) run right to left in both.
"""

from __future__ import annotations

import datetime
import io
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from django.template.defaultfilters import filesizeformat

from .evidence import evidence_document_data
from .models import Response
from .models_evidence import Evidence
from .selectors import response_document

UNANSWERED = "—"
PDF_CONTENT_TYPE = "application/pdf"
DOCX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

Direction = Literal["ltr", "rtl"]


# --- Writing direction --------------------------------------------------------------


def _strong(char: str) -> Direction | None:
    bidi = unicodedata.bidirectional(char)
    if bidi in ("R", "AL"):
        return "rtl"
    if bidi == "L":
        return "ltr"
    return None


def text_direction(text: str) -> Direction | None:
    """The direction of the first strongly directional character (what HTML's
    dir="auto" does), None when there is none."""
    for char in text:
        direction = _strong(char)
        if direction:
            return direction
    return None


# A cheap test before looking at characters one by one: Hebrew, Arabic, Syriac,
# Thaana, N'Ko, Samaritan, Mandaic and their presentation forms, and the RTL planes.
_MAYBE_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefe\U00010800-\U00010fff\U0001e800-\U0001efff]")


def bidi_runs(text: str) -> list[tuple[str, bool]]:
    """Split text into (segment, is_rtl) where the direction changes: neutral
    characters (spaces, digits, punctuation) stay with the run before them, or
    with the first strong run."""
    if not _MAYBE_RTL.search(text):
        return [(text, False)] if text else []
    runs: list[tuple[str, bool]] = []
    start, current = 0, None
    for i, char in enumerate(text):
        direction = _strong(char)
        if direction is None:
            continue
        if current is not None and direction != current:
            runs.append((text[start:i], current == "rtl"))
            start = i
        current = direction
    runs.append((text[start:], current == "rtl"))
    return runs


# --- The one data source ----------------------------------------------------------


@dataclass(frozen=True)
class DocEvidence:
    """One citation or file attached to an answer, as plain text."""

    kind: str
    title: str
    article: str = ""
    date: str = ""
    link: str = ""
    description: str = ""
    file_type: str = ""
    original_name: str = ""
    size: int | None = None

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> DocEvidence:
        return cls(**{name: data.get(name) or default for name, default in _EVIDENCE_DEFAULTS.items()})

    @property
    def is_file(self) -> bool:
        return self.kind == Evidence.Kind.FILE

    @property
    def text(self) -> str:
        """``Title, article, date — PDF document, 1.2 MB, file “act.pdf” — link``,
        then the description on its own line."""
        text = ", ".join(part for part in (self.title, self.article, self.date) if part)
        if self.is_file:
            kind = Evidence.FileType(self.file_type).label if self.file_type in Evidence.FileType.values else ""
            details = [str(kind)] if kind else []
            if self.size is not None:
                details.append(str(filesizeformat(self.size)).replace("\xa0", " "))
            if self.original_name and self.original_name != self.title:
                details.append(_("file “%(name)s”") % {"name": self.original_name})
            if details:
                text += " — " + ", ".join(details)
        if self.link:
            text += " — " + self.link
        if self.description:
            text += "\n" + self.description
        return text

    @property
    def text_dir(self) -> str:
        return text_direction(self.text) or ""


_EVIDENCE_DEFAULTS: dict[str, Any] = {
    "kind": "",
    "title": "",
    "article": "",
    "date": "",
    "link": "",
    "description": "",
    "file_type": "",
    "original_name": "",
    "size": None,
}


@dataclass(frozen=True)
class DocQuestion:
    code: str
    prompt: str
    # The kind-aware display text; "" when the question is not answered.
    display: str
    evidence: tuple[DocEvidence, ...] = ()

    @property
    def answered(self) -> bool:
        return bool(self.display)

    @property
    def prompt_dir(self) -> str:
        return text_direction(self.prompt) or ""

    @property
    def answer_dir(self) -> str:
        return text_direction(self.display) or ""


@dataclass(frozen=True)
class DocProvision:
    ref: str
    questions: list[DocQuestion]

    @property
    def ref_dir(self) -> str:
        # A reference such as "5(2)" has no direction of its own; it reads left to
        # right in every language (right to left, it would show as "(2)5").
        return text_direction(self.ref) or "ltr"


@dataclass(frozen=True)
class DocArticle:
    number: int
    title: str
    provisions: list[DocProvision]

    @property
    def heading(self) -> str:
        return _("Article %(number)s. %(title)s") % {"number": self.number, "title": self.title}

    @property
    def heading_dir(self) -> str:
        return text_direction(self.heading) or ""


@dataclass(frozen=True)
class ResponseDocument:
    state_name: str
    state_iso3: str
    instrument_title: str
    cluster_code: str
    cluster_title: str
    version_number: int
    version_label: str
    submitted: bool
    submitted_at: datetime.datetime | None
    submitted_by: str
    fingerprint: str
    due_date: datetime.date | None
    generated_at: datetime.datetime
    articles: list[DocArticle]

    @property
    def questions(self) -> list[DocQuestion]:
        return [q for a in self.articles for p in a.provisions for q in p.questions]

    @property
    def status_label(self) -> str:
        return pgettext("document marking", "SUBMITTED") if self.submitted else pgettext("document marking", "DRAFT")

    @property
    def title(self) -> str:
        return _("Self-assessment response of %(state)s") % {"state": self.state_name}

    @property
    def marking(self) -> str:
        """What the running header says: the status of a draft, loud."""
        if self.submitted:
            return self.status_label
        return _("%(status)s — not submitted") % {"status": self.status_label}

    def cover_rows(self) -> list[tuple[str, str]]:
        """(label, value) of the cover block, the same in both documents."""
        if self.submitted:
            status = _("%(status)s on %(when)s UTC by %(who)s") % {
                "status": self.status_label,
                "when": _utc(self.submitted_at),
                "who": self.submitted_by,
            }
        else:
            status = _("%(status)s — not submitted, answers may still change") % {"status": self.status_label}
        rows = [
            (_("State"), f"{self.state_name} ({self.state_iso3})"),
            (_("Instrument"), self.instrument_title),
            (_("Cluster"), f"{self.cluster_code}: {self.cluster_title}"),
            (_("Questionnaire version"), f"{self.version_number} ({self.version_label})"),
            (_("Status"), status),
        ]
        if not self.submitted and self.due_date:
            rows.append((_("Due date"), self.due_date.isoformat()))
        if self.fingerprint:
            rows.append((_("Fingerprint of the submitted copy (SHA-256)"), self.fingerprint))
        questions = self.questions
        rows.append(
            (
                _("Questions answered"),
                _("%(answered)s of %(total)s (unanswered questions are shown as “—”)")
                % {"answered": sum(q.answered for q in questions), "total": len(questions)},
            )
        )
        rows.append((pgettext("document cover: when the file was made", "Generated"), f"{_utc(self.generated_at)} UTC"))
        return rows


def _utc(moment: datetime.datetime | None) -> str:
    if moment is None:
        return "—"
    if timezone.is_aware(moment):
        moment = moment.astimezone(datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def document_data(response: Response, *, now: datetime.datetime | None = None) -> ResponseDocument:
    """What both documents show. A submitted response is read from its immutable
    snapshot only (the copy is what was submitted, whatever the answer rows say
    since); a draft from its current answers."""
    submitted = response.status == Response.Status.SUBMITTED
    fingerprint = ""
    if submitted:
        snapshot = response.snapshot  # written in the same transaction as the submission
        data: dict[str, Any] = snapshot.data
        fingerprint = snapshot.sha256
    else:
        data = response_document(response)
    evidence = data["evidence"] if isinstance(data.get("evidence"), dict) else evidence_document_data(response=response)
    submitted_at = response.submitted_at
    if data.get("submitted_at"):
        submitted_at = datetime.datetime.fromisoformat(data["submitted_at"])

    articles = []
    for article in data.get("articles", []):
        provisions: list[DocProvision] = []
        for q in article.get("questions", []):
            ref = _text(q.get("provision"))
            if not provisions or provisions[-1].ref != ref:
                provisions.append(DocProvision(ref=ref, questions=[]))
            code = _text(q.get("code"))
            provisions[-1].questions.append(
                DocQuestion(
                    code=code,
                    prompt=_text(q.get("prompt")),
                    display=_text(q.get("display")),
                    evidence=tuple(DocEvidence.from_data(e) for e in evidence.get(code, [])),
                )
            )
        articles.append(DocArticle(number=article["number"], title=_text(article.get("title")), provisions=provisions))

    version = response.version
    state = data.get("state") or {}
    version_data = data.get("version") or {}
    return ResponseDocument(
        state_name=_text(state.get("name") or response.state.name),
        state_iso3=_text(state.get("iso3") or response.state.iso3),
        instrument_title=_text(version.cluster.instrument.title),
        cluster_code=_text(data.get("cluster") or version.cluster.code),
        cluster_title=_text(version.cluster.title),
        version_number=version_data.get("number", version.number),
        version_label=_text(version_data.get("label", version.label)),
        submitted=submitted,
        submitted_at=submitted_at if submitted else None,
        submitted_by=_text(data.get("submitted_by")),
        fingerprint=fingerprint,
        due_date=response.due_date,
        generated_at=now or timezone.now(),
        articles=articles,
    )


def document_filename(*, response: Response, ext: str) -> str:
    """A safe ASCII file name: ``response-GHA-cluster-I-draft.pdf``."""
    parts = ["response", response.state.iso3, f"cluster-{response.version.cluster.code}", response.status]
    stem = "-".join(filter(None, (re.sub(r"[^A-Za-z0-9]+", "-", p).strip("-") for p in parts)))
    return f"{stem or 'response'}.{ext}"


# --- PDF ------------------------------------------------------------------------------

# The font stack: Latin, Cyrillic and Greek, then Arabic, Hebrew and CJK (Pango falls
# back through fontconfig for anything else).
_FONTS = (
    '"Noto Sans", "Noto Naskh Arabic", "Noto Sans Arabic", "Noto Sans Hebrew", "Noto Sans CJK SC", '
    '"DejaVu Sans", sans-serif'
)
_FONTS_CJK = '"Noto Sans", "Noto Sans CJK SC", "Noto Naskh Arabic", "Noto Sans Hebrew", "DejaVu Sans", sans-serif'


def _css_string(text: str) -> str:
    """A CSS string literal that nothing in ``text`` can break out of."""
    out = []
    for char in text:
        out.append(char if char.isalnum() or char in " .,:;-—·()" else f"\\{ord(char):x} ")
    return '"' + "".join(out) + '"'


def _page_template() -> list[str]:
    """The translated "Page X of Y" split around its two numbers: literal text,
    and the markers "%(page)s" and "%(pages)s"."""
    return [part for part in re.split(r"(%\(pages?\)s)", _("Page %(page)s of %(pages)s")) if part]


def _css_page_counter() -> SafeString:
    counters = {"%(page)s": "counter(page)", "%(pages)s": "counter(pages)"}
    return mark_safe(" ".join(counters.get(part) or _css_string(part) for part in _page_template()))


def response_html(doc: ResponseDocument) -> str:
    """The PDF's HTML (never served to a browser: it carries its own stylesheet)."""
    language = translation.get_language() or "en"
    # WeasyPrint does not resolve dir="auto" (it lays such text out in the
    # direction of its parent): each block also gets the direction dir="auto"
    # stands for, that of its first strong character, as a class (dir-rtl, dir-ltr).
    cover = [(label, value, text_direction(value) or "") for label, value in doc.cover_rows()]
    return render_to_string(
        "questionnaire/documents/response.html",
        {
            "doc": doc,
            "cover": cover,
            "lang": language,
            "rtl": translation.get_language_bidi(),
            "fonts": mark_safe(_FONTS_CJK if language.startswith("zh") else _FONTS),
            # Text of the page margins, as CSS strings (escaped by _css_string).
            "css_page": _css_page_counter(),
            "css_header": mark_safe(_css_string(doc.marking)),
            "css_confidential": mark_safe(_css_string(pgettext("document marking", "Confidential"))),
            "css_footer": mark_safe(_css_string(f"{doc.state_name} · {_('Cluster')} {doc.cluster_code}")),
        },
    )


def response_pdf(*, response: Response) -> bytes:
    # Imported when used: WeasyPrint loads Pango and the fonts.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    doc = document_data(response)
    # The document loads nothing by URL, from anywhere: no protocol is allowed (the
    # answers are escaped text; this is a second fence against fetching).
    no_fetching = URLFetcher(allowed_protocols=frozenset())
    return HTML(string=response_html(doc), url_fetcher=no_fetching).write_pdf()


# --- DOCX -----------------------------------------------------------------------------

# XML 1.0 forbids most control characters (and lone surrogates cannot be written at
# all); Word refuses a file that has them.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# One line break, however it was typed (browsers post CRLF).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")

# The schema fixes the order of the children of w:pPr, w:rPr and w:sectPr (Word
# refuses a file that mixes it up): a new child goes before those that follow it.
_PPR_ORDER = (
    "w:pStyle", "w:keepNext", "w:keepLines", "w:pageBreakBefore", "w:framePr", "w:widowControl", "w:numPr",
    "w:suppressLineNumbers", "w:pBdr", "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap",
    "w:overflowPunct", "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd",
    "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc",
    "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle",
    "w:rPr", "w:sectPr", "w:pPrChange",
)
_RPR_ORDER = (
    "w:rStyle", "w:rFonts", "w:b", "w:bCs", "w:i", "w:iCs", "w:caps", "w:smallCaps", "w:strike", "w:dstrike",
    "w:outline", "w:shadow", "w:emboss", "w:imprint", "w:noProof", "w:snapToGrid", "w:vanish", "w:webHidden",
    "w:color", "w:spacing", "w:w", "w:kern", "w:position", "w:sz", "w:szCs", "w:highlight", "w:u", "w:effect",
    "w:bdr", "w:shd", "w:fitText", "w:vertAlign", "w:rtl", "w:cs", "w:em", "w:lang", "w:eastAsianLayout",
    "w:specVanish", "w:oMath",
)
_SECTPR_AFTER_BIDI = ("w:rtlGutter", "w:docGrid", "w:printerSettings", "w:sectPrChange")


def clean_xml_text(text: str) -> str:
    return _XML_INVALID.sub("", text or "")


def _qn(tag: str) -> str:
    from docx.oxml.ns import qn

    return qn(tag)


def _element(tag: str, **attrs: str):
    from docx.oxml import OxmlElement

    element = OxmlElement(tag)
    for name, value in attrs.items():
        element.set(_qn(f"w:{name}"), value)
    return element


def _add_child(parent, tag: str, order: tuple[str, ...], **attrs: str) -> None:
    """Add ``<tag>`` to ``parent`` in schema order, unless it is already there."""
    if parent.find(_qn(tag)) is None:
        parent.insert_element_before(_element(tag, **attrs), *order[order.index(tag) + 1 :])


def _set_paragraph_rtl(paragraph) -> None:
    _add_child(paragraph._p.get_or_add_pPr(), "w:bidi", _PPR_ORDER)


def _set_run_rtl(run) -> None:
    rpr = run._r.get_or_add_rPr()
    _add_child(rpr, "w:rtl", _RPR_ORDER)
    # Complex-script text is bold or italic only with w:bCs / w:iCs.
    if run.bold:
        _add_child(rpr, "w:bCs", _RPR_ORDER)
    if run.italic:
        _add_child(rpr, "w:iCs", _RPR_ORDER)


def _write(paragraph, text: str, *, default: Direction, bold: bool = False, italic: bool = False) -> None:
    """Append ``text`` to a paragraph exactly: line breaks become w:br, tabs w:tab;
    the paragraph runs right to left when its first strong character is RTL (or
    when it has none and ``default`` is RTL), and RTL segments are w:rtl runs."""
    text = clean_xml_text(text)
    if (text_direction(text) or default) == "rtl":
        _set_paragraph_rtl(paragraph)
    for segment, rtl in bidi_runs(text):
        for i, line in enumerate(_LINE_BREAK.split(segment)):
            if i:
                paragraph.add_run().add_break()
            if not line:
                continue
            run = paragraph.add_run(line)
            run.bold = bold or None
            run.italic = italic or None
            if rtl:
                _set_run_rtl(run)


def _add_page_numbers(paragraph) -> None:
    fields = {"%(page)s": "PAGE", "%(pages)s": "NUMPAGES"}
    for part in _page_template():
        if part in fields:
            field = _element("w:fldSimple", instr=f" {fields[part]} ")
            run = _element("w:r")
            placeholder = _element("w:t")
            placeholder.text = "1"
            run.append(placeholder)
            field.append(run)
            paragraph._p.append(field)
        else:
            paragraph.add_run(clean_xml_text(part))


def response_docx(*, response: Response) -> bytes:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt, RGBColor

    doc = document_data(response)
    default: Direction = "rtl" if translation.get_language_bidi() else "ltr"

    word = Document()
    normal = word.styles["Normal"]
    normal.font.size = Pt(10)
    # Complex-script (Arabic, Hebrew) text takes its size from w:szCs.
    _add_child(normal.element.get_or_add_rPr(), "w:szCs", _RPR_ORDER, val="20")

    properties = word.core_properties
    properties.title = clean_xml_text(doc.title)
    properties.subject = clean_xml_text(f"{doc.instrument_title} — {_('Cluster')} {doc.cluster_code}")
    properties.author = clean_xml_text(_("Firearms Protocol review"))
    properties.last_modified_by = ""
    properties.comments = ""
    properties.keywords = clean_xml_text(pgettext("document marking", "Confidential"))
    properties.revision = 1
    properties.created = properties.modified = doc.generated_at.replace(tzinfo=None)

    section = word.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(20)
    section.top_margin = section.bottom_margin = Mm(22)
    if default == "rtl":
        section._sectPr.insert_element_before(_element("w:bidi"), *_SECTPR_AFTER_BIDI)

    header = section.header.paragraphs[0]
    header.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _write(header, f"{doc.marking} · {_('Confidential')}", default=default, bold=True)
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _write(footer, f"{_('Confidential')} · {doc.state_name} · {_('Cluster')} {doc.cluster_code} · ", default=default)
    _add_page_numbers(footer)

    _write(word.add_paragraph(), pgettext("document marking", "Confidential"), default=default, bold=True)
    _write(word.add_heading(level=0), doc.title, default=default)
    table = word.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, value in doc.cover_rows():
        cells = table.add_row().cells
        _write(cells[0].paragraphs[0], label, default=default, bold=True)
        _write(cells[1].paragraphs[0], value, default=default)
    _write(
        word.add_paragraph(),
        _(
            "Prepared for internal clearance. Answers are reproduced exactly as entered; "
            "questions that do not apply given earlier answers are left out."
        ),
        default=default,
        italic=True,
    )

    grey = RGBColor(0x59, 0x59, 0x59)
    for article in doc.articles:
        _write(word.add_heading(level=1), article.heading, default=default)
        if not article.provisions:
            _write(word.add_paragraph(), _("No question of this article applies."), default=default, italic=True)
        for provision in article.provisions:
            ref = word.add_heading(level=2)
            _write(ref, provision.ref, default=provision.ref_dir)
            if default == "rtl" and provision.ref_dir == "ltr":
                ref.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            for q in provision.questions:
                prompt = word.add_paragraph()
                prompt.paragraph_format.keep_with_next = True
                prompt.paragraph_format.space_after = Pt(2)
                _write(prompt, q.prompt, default=default, bold=True)
                answer = word.add_paragraph()
                if q.answered:
                    _write(answer, q.display, default=default)
                else:
                    _write(answer, UNANSWERED, default=default)
                    for run in answer.runs:
                        run.font.color.rgb = grey
                if q.evidence:
                    label = word.add_paragraph()
                    label.paragraph_format.keep_with_next = True
                    label.paragraph_format.space_after = Pt(0)
                    _write(label, _("Evidence"), default=default, italic=True)
                    for item in q.evidence:
                        _write(word.add_paragraph(style="List Bullet"), item.text, default=default)

    buffer = io.BytesIO()
    word.save(buffer)
    return buffer.getvalue()
