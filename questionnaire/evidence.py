"""Evidence: the rules for a State's library of cited laws and documents and for
attaching them to answers.

- **File checks** (``inspect_upload``): the type of a file is read from its
  content, never from its name or the browser's content type. Accepted: PDF
  (``%PDF-``), DOCX (a sound zip holding ``[Content_Types].xml`` and
  ``word/document.xml``, without macros), ODT (a zip whose first entry
  ``mimetype`` says ``application/vnd.oasis.opendocument.text``), PNG and JPEG;
  20 MB at most. Zips are refused when encrypted, corrupt or a bomb (more than
  200 MB uncompressed, or compressed more than 100 times). Anything else is
  refused with a message naming what it was found to be. The magic-byte checks
  are written here rather than taken from a library: five types and a zip
  inspection need a few dozen lines, and a refusal must name the detected type in
  the user's language.
- **Storage**: MEDIA_ROOT/evidence/<ISO3>/<uuid4>, a name generated here; the
  uploader's file name is kept, sanitised, as metadata only.
- **Access** (``can_read_evidence``): the State's focal points and contributors;
  the secretariat once the evidence is attached to a submitted response; and
  whatever predicate another app registers in ``EXTRA_READERS`` (reviews
  registers its assigned reviewers: questionnaire never imports reviews).
- **Services** (``evidence_upload``, ``evidence_cite``, ``answer_evidence_add``,
  ``answer_evidence_remove``, ``evidence_update``, ``evidence_delete``):
  keyword-only, one transaction each, checking who acts. Attachments are frozen
  once the response is submitted, and so is every library entry that a
  submitted response uses (the submitted copy must stay what it was): such an
  entry is neither edited nor deleted. An entry used only by drafts can be
  edited (every answer using it shows the new text; a stale edit is refused,
  version-checked on ``Evidence.revision`` like answers) or deleted, which
  detaches it from those answers and removes its file from disk after commit.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import unicodedata
import uuid
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import quote

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from parties.models import State
from parties.permissions import roles_of

from .models import Question, Response
from .models_evidence import AnswerEvidence, Evidence, http_url
from .permissions import ANSWERING_ROLES
from .services import ResponseLocked
from .uploads import scan_upload

MB = 1024 * 1024
MAX_FILE_SIZE = 20 * MB
MAX_ZIP_UNCOMPRESSED = 200 * MB
MAX_ZIP_RATIO = 100
MAX_ZIP_ENTRIES = 10_000
MAX_NAME_LENGTH = 200
STORAGE_DIR = "evidence"

# Who else may read a piece of evidence: predicates (user, evidence) → bool that
# other apps register at start-up (reviews: the assigned reviewers of a submitted
# response's review). Settings-free on purpose: the registration lives in code.
EXTRA_READERS: list[Callable[[Any, Evidence], bool]] = []

FileType = Evidence.FileType


@dataclass(frozen=True)
class FileKind:
    code: str
    content_type: str
    extensions: tuple[str, ...]

    @property
    def label(self) -> str:
        return str(FileType(self.code).label)


FILE_KINDS: dict[str, FileKind] = {
    k.code: k
    for k in (
        FileKind(FileType.PDF, "application/pdf", ("pdf",)),
        FileKind(
            FileType.DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ("docx",)
        ),
        FileKind(FileType.ODT, "application/vnd.oasis.opendocument.text", ("odt",)),
        FileKind(FileType.PNG, "image/png", ("png",)),
        FileKind(FileType.JPEG, "image/jpeg", ("jpg", "jpeg")),
    )
}
ACCEPTED = gettext_lazy("PDF, Word (DOCX), OpenDocument text (ODT), PNG or JPEG")
ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"


class EvidenceRefused(Exception):
    """The file or citation is not accepted; the message says why, for the user."""


@dataclass(frozen=True)
class Stored:
    evidence: Evidence
    # False: the same file (or citation) was already in the State's library and
    # that row is reused.
    created: bool


# --- What a file is ------------------------------------------------------------------


def _too_big_message(size: int | None = None) -> str:
    return _("The file is larger than %(limit)s MB, the largest accepted. Nothing was stored.") % {
        "limit": MAX_FILE_SIZE // MB
    }


def _refuse(detected: str) -> EvidenceRefused:
    return EvidenceRefused(
        _("This file is %(detected)s, which is not accepted (accepted: %(accepted)s). Nothing was stored.")
        % {"detected": detected, "accepted": ACCEPTED}
    )


_TEXT_MARKUP = (
    (re.compile(rb"^\s*<(!doctype\s+html|html|head|body|script|iframe|meta|a\s|div|p>|title)", re.I), gettext_lazy("an HTML page")),
    (re.compile(rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<svg", re.I | re.S), gettext_lazy("an SVG image")),
    (re.compile(rb"^\s*<\?xml", re.I), gettext_lazy("an XML document")),
)
_MAGIC = (
    (b"MZ", gettext_lazy("a Windows program (EXE or DLL)")),
    (b"\x7fELF", gettext_lazy("a Linux program (ELF)")),
    (b"\xcf\xfa\xed\xfe", gettext_lazy("a macOS program")),
    (b"#!", gettext_lazy("a script")),
    (b"GIF8", gettext_lazy("a GIF image")),
    (b"BM", gettext_lazy("a BMP image")),
    (b"II*\x00", gettext_lazy("a TIFF image")),
    (b"MM\x00*", gettext_lazy("a TIFF image")),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", gettext_lazy("an old Microsoft Office document (DOC, XLS or PPT)")),
    (b"{\\rtf", gettext_lazy("an RTF document")),
    (b"%!PS", gettext_lazy("a PostScript document")),
    (b"Rar!", gettext_lazy("a RAR archive")),
    (b"7z\xbc\xaf\x27\x1c", gettext_lazy("a 7-Zip archive")),
    (b"\x1f\x8b", gettext_lazy("a gzip archive")),
)


def _describe_other(head: bytes) -> str:
    """A name for a refused file's content, for the message."""
    if not head:
        return str(_("an empty file"))
    body = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    for pattern, label in _TEXT_MARKUP:
        if pattern.match(body):
            return str(label)
    if head[8:12] == b"WEBP" and head.startswith(b"RIFF"):
        return str(_("a WebP image"))
    for magic, label in _MAGIC:
        if head.startswith(magic):
            return str(label)
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # not merely a character cut at the end
                return str(_("unknown binary data"))
        return str(_("plain text"))
    return str(_("unknown binary data"))


def _read_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    with archive.open(info) as member:
        data = member.read(cap + 1)
    if len(data) > cap:
        raise _refuse(_("a damaged or unusual archive"))
    return data


def _inspect_zip(stream: IO[bytes], size: int) -> str:
    """The kind of a zip (DOCX or ODT), or EvidenceRefused naming what it is."""
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise _refuse(_("a damaged ZIP archive")) from None
    with archive:
        infos = archive.infolist()
        if not infos:
            raise _refuse(_("an empty ZIP archive"))
        if len(infos) > MAX_ZIP_ENTRIES:
            raise _refuse(_("a ZIP archive with too many files"))
        if any(info.flag_bits & 0x1 for info in infos):
            raise _refuse(_("an encrypted (password-protected) archive or document"))
        declared = sum(info.file_size for info in infos)
        if declared > MAX_ZIP_UNCOMPRESSED or declared > MAX_ZIP_RATIO * max(size, 1):
            raise _refuse(_("a ZIP bomb (it expands to far more than its size)"))
        for info in infos:
            if info.file_size > MB and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
                raise _refuse(_("a ZIP bomb (it expands to far more than its size)"))
        # Declared sizes can lie: decompress everything, counting, which also checks
        # every entry's CRC (a corrupt document is refused here, not by the reader).
        total = 0
        try:
            for info in infos:
                with archive.open(info) as member:
                    while chunk := member.read(64 * 1024):
                        total += len(chunk)
                        if total > MAX_ZIP_UNCOMPRESSED or total > MAX_ZIP_RATIO * max(size, 1):
                            raise _refuse(_("a ZIP bomb (it expands to far more than its size)"))
        except EvidenceRefused:
            raise
        except Exception:  # zlib.error, BadZipFile (CRC), EOFError, unsupported methods…
            raise _refuse(_("a damaged ZIP archive")) from None

        names = {info.filename for info in infos}
        first = infos[0]
        if first.filename == "mimetype":
            mimetype = _read_capped(archive, first, 200).strip()
            if mimetype == ODT_MIMETYPE:
                return FileType.ODT
            if mimetype.startswith(b"application/vnd.oasis.opendocument."):
                raise _refuse(
                    _("an OpenDocument file that is not a text document (%(type)s)")
                    % {"type": mimetype[:80].decode("ascii", "replace")}
                )
        if "[Content_Types].xml" in names and "word/document.xml" in names:
            content_types = _read_capped(archive, archive.getinfo("[Content_Types].xml"), MB)
            if b"macroEnabled" in content_types or any(n.lower().endswith("vbaproject.bin") for n in names):
                raise _refuse(_("a Word document with macros (DOCM)"))
            return FileType.DOCX
        if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
            raise _refuse(_("an Excel workbook (XLSX)"))
        if "[Content_Types].xml" in names and any(n.startswith("ppt/") for n in names):
            raise _refuse(_("a PowerPoint presentation (PPTX)"))
        raise _refuse(_("a ZIP archive"))


_MARKUP_IN_HEAD = re.compile(rb"<\s*(?:html|head|body|script|svg|iframe|object|embed|!doctype)\b", re.IGNORECASE)


def detect_file_type(stream: IO[bytes], size: int) -> str:
    """The accepted kind of a file's content (a FileType value); EvidenceRefused
    otherwise. ``stream`` must be seekable; it is left at its start."""
    stream.seek(0)
    head = stream.read(8192)
    stream.seek(0)
    try:
        if head.startswith(b"%PDF-"):
            if _MARKUP_IN_HEAD.search(head):
                # A polyglot: a browser sniffing it would run the page.
                raise _refuse(_("a web page (HTML) behind a PDF header"))
            return FileType.PDF
        if head.startswith(b"\x89PNG\r\n\x1a\n"):
            return FileType.PNG
        if head.startswith(b"\xff\xd8\xff"):
            return FileType.JPEG
        if head.startswith(b"PK\x03\x04"):
            return _inspect_zip(stream, size)
        if head.startswith((b"PK\x05\x06", b"PK\x07\x08")):
            raise _refuse(_("an empty or split ZIP archive"))
        raise _refuse(_describe_other(head))
    finally:
        stream.seek(0)


@dataclass(frozen=True)
class Inspected:
    kind: FileKind
    sha256: str
    size: int
    original_name: str


def inspect_upload(*, upload) -> Inspected:
    """Check an uploaded file (a Django UploadedFile, or any object with ``name``,
    ``size`` and a seekable ``file``/``open``) before anything is stored. The size
    is checked first, from ``upload.size``, before any of the content is read."""
    size = upload.size
    if size is None or size > MAX_FILE_SIZE:
        raise EvidenceRefused(_too_big_message(size))
    stream = upload.file if hasattr(upload, "file") else upload
    code = detect_file_type(stream, size)
    digest = hashlib.sha256()
    stream.seek(0)
    read = 0
    while chunk := stream.read(1024 * 1024):
        read += len(chunk)
        if read > MAX_FILE_SIZE:  # the size told was wrong
            raise EvidenceRefused(_too_big_message())
        digest.update(chunk)
    scan_upload(stream, refuse=EvidenceRefused)  # clamd, when configured (questionnaire/scanning.py)
    stream.seek(0)
    return Inspected(kind=FILE_KINDS[code], sha256=digest.hexdigest(), size=read, original_name=sanitise_filename(upload.name))


# --- File names ----------------------------------------------------------------------

_UNSAFE_IN_NAME = re.compile(r'[<>:"/\\|?*]')


def sanitise_filename(name: str | None) -> str:
    """The uploader's file name as harmless text: no directories, no control or
    invisible formatting characters (NUL, new lines, right-to-left overrides), no
    characters that file systems or headers treat specially, at most 200 characters.
    Only ever metadata: no path is built from it."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # Cc: control characters (NUL, CR, LF, TAB…); Cf: formatting (U+202E and the
    # other bidirectional overrides, zero-width characters, BOM); Zl/Zp: separators.
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co"))
    name = _UNSAFE_IN_NAME.sub("_", name)
    name = re.sub(r"\s+", " ", name).strip(" .")
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: MAX_NAME_LENGTH - len(ext) - 1].rstrip(" .") + "." + ext
        else:
            name = name[:MAX_NAME_LENGTH].rstrip(" .")
    return name or "file"


def download_name(evidence: Evidence) -> str:
    """The name a download is saved under: the sanitised original name, ending in
    the extension of the detected type (``law.exe`` holding a PDF → ``law.exe.pdf``)."""
    kind = FILE_KINDS[evidence.file_type]
    name = sanitise_filename(evidence.original_name) if evidence.original_name else f"evidence-{evidence.pk}"
    ext = name.rpartition(".")[2].lower() if "." in name else ""
    if ext not in kind.extensions:
        name = f"{name}.{kind.extensions[0]}"
    return name


def ascii_filename(name: str, fallback: str) -> str:
    """An ASCII-only stand-in for ``name`` for old clients' ``filename=``;
    ``fallback`` when nothing readable is left (a name in Arabic or Chinese)."""

    def ascii_part(text: str) -> str:
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
        text = re.sub(r"[^A-Za-z0-9._()\- ]+", "_", text)
        return re.sub(r"_+", "_", text).strip(" ._")

    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    ascii_stem, ascii_ext = ascii_part(stem), ascii_part(ext)
    if not re.search(r"[A-Za-z0-9]", ascii_stem):
        return fallback
    return f"{ascii_stem}.{ascii_ext}" if ascii_ext else ascii_stem


def content_disposition(name: str, fallback: str) -> str:
    """``attachment; filename="<safe ascii>"; filename*=UTF-8''<percent-encoded>``."""
    safe = sanitise_filename(name)
    return "attachment; filename=\"{}\"; filename*=UTF-8''{}".format(
        ascii_filename(safe, fallback), quote(safe, safe="")
    )


def _storage_name(state: State) -> str:
    iso3 = state.iso3
    if not re.fullmatch(r"[A-Z]{3}", iso3 or ""):
        raise ValueError(f"unexpected ISO code {iso3!r}")
    return f"{STORAGE_DIR}/{iso3}/{uuid.uuid4()}"


# --- Who may do what ---------------------------------------------------------------


def can_manage_library(user, state_id: int) -> bool:
    """The State's focal points and contributors manage its library."""
    return roles_of(user).has(state_id, *ANSWERING_ROLES)


def can_read_evidence(user, evidence: Evidence) -> bool:
    if can_manage_library(user, evidence.state_id):
        return True
    if roles_of(user).secretariat and AnswerEvidence.objects.filter(
        evidence=evidence, response__status=Response.Status.SUBMITTED
    ).exists():
        return True
    return any(reader(user, evidence) for reader in list(EXTRA_READERS))


def get_library_state_for_user(user, iso3: str) -> State:
    """The State whose library ``user`` manages; 404 for anyone else (nothing tells
    an outsider whether a State has a library)."""
    state = State.objects.filter(iso3=str(iso3).upper()[:3]).first() if re.fullmatch(r"[A-Za-z]{3}", str(iso3)) else None
    if state is None or not can_manage_library(user, state.pk):
        raise Http404
    return state


def get_evidence_for_user(user, pk: int, *, state: State | None = None) -> Evidence:
    """A piece of evidence ``user`` may read (of ``state`` when given); 404 otherwise."""
    try:
        evidence = Evidence.objects.select_related("state").get(pk=pk)
    except (Evidence.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if state is not None and evidence.state_id != state.pk:
        raise Http404
    if not can_read_evidence(user, evidence):
        raise Http404
    return evidence


# --- Reading -------------------------------------------------------------------------


def state_library(*, state: State) -> QuerySet[Evidence]:
    """A State's library, with how many answers use each entry: one query."""
    return (
        Evidence.objects.filter(state=state)
        .select_related("uploaded_by")
        .annotate(
            use_count=Count("uses"),
            # Used by a submitted response: frozen (neither edited nor deleted).
            submitted_uses=Count("uses", filter=Q(uses__response__status=Response.Status.SUBMITTED)),
        )
        .order_by("title", "pk")
    )


@dataclass
class AnswerEvidencePanel:
    """What the answering page shows under one question."""

    code: str
    links: list[AnswerEvidence] = field(default_factory=list)

    @property
    def evidence(self) -> list[Evidence]:
        return [link.evidence for link in self.links]


def answer_evidence(*, response: Response, questions: Iterable[Question]) -> dict[int, AnswerEvidencePanel]:
    """question id → the evidence attached to its answer: one query."""
    panels = {q.pk: AnswerEvidencePanel(code=q.code) for q in questions}
    # All the response's links, filtered here: an IN list of a whole cluster's
    # question ids costs more to build than the few extra rows of another article.
    for link in AnswerEvidence.objects.filter(response=response).select_related("evidence").order_by("added_at", "pk"):
        if link.question_id in panels:
            panels[link.question_id].links.append(link)
    return panels


def evidence_by_code(*, response: Response) -> dict[str, list[Evidence]]:
    """question code → evidence attached, for documents and exports: one query."""
    by_code: dict[str, list[Evidence]] = defaultdict(list)
    for link in AnswerEvidence.objects.filter(response=response).select_related("evidence", "question").order_by(
        "question__order", "added_at", "pk"
    ):
        by_code[link.question.code].append(link.evidence)
    return dict(by_code)


def evidence_plain(evidence: Evidence) -> dict[str, Any]:
    """One entry as plain data (what a document lists, what a submitted copy
    would keep): no ids, no paths."""
    return {
        "kind": evidence.kind,
        "title": evidence.title,
        "article": evidence.article,
        "date": evidence.date.isoformat() if evidence.date else "",
        "link": evidence.link,
        "description": evidence.description,
        "file_type": evidence.file_type,
        "original_name": evidence.original_name,
        "size": evidence.size,
    }


def evidence_document_data(*, response: Response) -> dict[str, list[dict[str, Any]]]:
    """question code → the evidence attached to its answer, as plain data, for the
    response's documents: one query. For a submitted response this is what was
    submitted: its attachments are frozen, and so are the entries it uses."""
    return {code: [evidence_plain(e) for e in items] for code, items in evidence_by_code(response=response).items()}


# --- Writing -------------------------------------------------------------------------


@dataclass(frozen=True)
class CitationData:
    title: str
    article: str = ""
    date: datetime.date | None = None
    link: str = ""


def _clean(text: str, limit: int) -> str:
    text = "".join(ch for ch in str(text or "") if unicodedata.category(ch) not in ("Cc", "Cf") or ch == " ")
    return re.sub(r"\s+", " ", text).strip()[:limit]


def clean_citation(citation: CitationData) -> CitationData:
    title = _clean(citation.title, 500)
    if not title:
        raise EvidenceRefused(_("A cited law needs a title."))
    link = _clean(citation.link, 500)
    if link:
        try:
            http_url(link)
        except ValidationError:
            raise EvidenceRefused(
                _("“%(link)s” is not a web address (it must start with http:// or https://).") % {"link": link[:100]}
            ) from None
    if citation.date is not None and not isinstance(citation.date, datetime.date):
        raise EvidenceRefused(_("The date must be a date (YYYY-MM-DD)."))
    return CitationData(title=title, article=_clean(citation.article, 200), date=citation.date, link=link)


def _cite(*, state: State, citation: CitationData, by) -> Stored:
    # Citing the same law twice reuses the first entry (no unique constraint: the
    # same text may legitimately be cited with different dates or links).
    fields = {
        "state": state,
        "kind": Evidence.Kind.CITATION,
        "title": citation.title,
        "article": citation.article,
        "date": citation.date,
        "link": citation.link,
    }
    existing = Evidence.objects.filter(**fields).first()
    if existing is not None:
        return Stored(evidence=existing, created=False)
    return Stored(evidence=Evidence.objects.create(**fields, uploaded_by=by), created=True)


def _store(
    *, state: State, upload, inspected: Inspected, title: str, written: list[str], by, article: str = "", date=None
) -> Stored:
    """Inside a transaction: reuse the State's row for the same content, or write
    the file under a generated name and record it (``written`` collects the names
    written, so that a failed transaction can delete them)."""
    existing = Evidence.objects.filter(state=state, kind=Evidence.Kind.FILE, sha256=inspected.sha256).first()
    if existing is not None:
        return Stored(evidence=existing, created=False)
    stream = upload.file if hasattr(upload, "file") else upload
    stream.seek(0)
    name = default_storage.save(_storage_name(state), upload if hasattr(upload, "chunks") else File(stream))
    written.append(name)
    try:
        with transaction.atomic():
            evidence = Evidence.objects.create(
                state=state,
                kind=Evidence.Kind.FILE,
                title=_clean(title, 500) or inspected.original_name,
                article=_clean(article, 200),
                date=date if isinstance(date, datetime.date) else None,
                file=name,
                original_name=inspected.original_name,
                sha256=inspected.sha256,
                size=inspected.size,
                file_type=inspected.kind.code,
                uploaded_by=by,
            )
    except IntegrityError:
        # The same file, uploaded at the same moment by someone else of the State.
        existing = Evidence.objects.filter(state=state, kind=Evidence.Kind.FILE, sha256=inspected.sha256).first()
        if existing is None:
            raise
        default_storage.delete(name)
        written.remove(name)
        return Stored(evidence=existing, created=False)
    return Stored(evidence=evidence, created=True)


def _run_atomic(body: Callable[[list[str]], Any]) -> Any:
    """Run ``body(written)`` in one transaction; the files it wrote are deleted if
    it fails. (A caller's own enclosing transaction that rolls back later leaves
    an unreferenced file behind: harmless, and no service here does that.)"""
    written: list[str] = []
    try:
        with transaction.atomic():
            return body(written)
    except BaseException:
        for name in written:
            default_storage.delete(name)
        raise


def evidence_upload(*, state: State, upload, by, title: str = "", article: str = "", date=None) -> Stored:
    """Add a file to a State's library (or find the same file already there)."""
    if not can_manage_library(by, state.pk):
        raise PermissionDenied
    inspected = inspect_upload(upload=upload)
    return _run_atomic(
        lambda written: _store(
            state=state, upload=upload, inspected=inspected, title=title, article=article, date=date, written=written, by=by
        )
    )


def evidence_cite(*, state: State, citation: CitationData, by) -> Stored:
    """Add a law's citation to a State's library (or find the same one there)."""
    if not can_manage_library(by, state.pk):
        raise PermissionDenied
    citation = clean_citation(citation)
    return _run_atomic(lambda written: _cite(state=state, citation=citation, by=by))


@dataclass(frozen=True)
class Attached:
    evidence: Evidence
    # The evidence was new to the State's library / new to this answer.
    stored: bool
    attached: bool


def _lock_draft(*, response: Response, by) -> Response:
    locked = Response.objects.select_for_update().select_related("state").get(pk=response.pk)
    if not roles_of(by).has(locked.state_id, *ANSWERING_ROLES):
        raise PermissionDenied
    if locked.status != Response.Status.DRAFT:
        raise ResponseLocked(
            _("This response has been submitted: its evidence can no longer be changed. Nothing was changed.")
        )
    return locked


def answer_evidence_add(
    *,
    response: Response,
    question: Question,
    by,
    evidence: Evidence | None = None,
    upload=None,
    citation: CitationData | None = None,
    title: str = "",
) -> Attached:
    """Attach to the answer of ``question`` one piece of evidence: an entry of the
    State's library, a new file or a new citation (added to the library too).
    Nothing at all changes if the response is no longer a draft."""
    if sum(x is not None for x in (evidence, upload, citation)) != 1:
        raise ValueError("give exactly one of evidence, upload, citation")
    if question.version_id != response.version_id:
        raise PermissionDenied
    # Checks that need no lock come first, so that the response is locked briefly.
    if not roles_of(by).has(response.state_id, *ANSWERING_ROLES):
        raise PermissionDenied
    if response.status != Response.Status.DRAFT:
        _lock_draft(response=response, by=by)  # raises ResponseLocked
    if evidence is not None and evidence.state_id != response.state_id:
        raise PermissionDenied
    inspected = inspect_upload(upload=upload) if upload is not None else None
    cleaned = clean_citation(citation) if citation is not None else None

    def body(written: list[str]) -> Attached:
        locked = _lock_draft(response=response, by=by)
        if inspected is not None:
            stored = _store(state=locked.state, upload=upload, inspected=inspected, title=title, written=written, by=by)
        elif cleaned is not None:
            stored = _cite(state=locked.state, citation=cleaned, by=by)
        else:
            stored = Stored(evidence=evidence, created=False)
        _link, created = AnswerEvidence.objects.get_or_create(
            response=locked, question=question, evidence=stored.evidence, defaults={"added_by": by}
        )
        return Attached(evidence=stored.evidence, stored=stored.created, attached=created)

    return _run_atomic(body)


def answer_evidence_remove(*, response: Response, question: Question, evidence: Evidence, by) -> bool:
    """Detach evidence from an answer (it stays in the library). False when it was
    not attached."""

    def body(written: list[str]) -> bool:
        locked = _lock_draft(response=response, by=by)
        deleted, _rows = AnswerEvidence.objects.filter(response=locked, question=question, evidence=evidence).delete()
        return bool(deleted)

    if not roles_of(by).has(response.state_id, *ANSWERING_ROLES):
        raise PermissionDenied
    return _run_atomic(body)


# --- Editing and deleting a library entry -----------------------------------------------


class EvidenceFrozen(EvidenceRefused):
    """The entry is used by a submitted response: it can no longer change."""


class EvidenceStale(EvidenceRefused):
    """The entry was edited by someone else since the editor opened it."""

    def __init__(self, message: str, *, current: Evidence):
        super().__init__(message)
        self.current = current


@dataclass(frozen=True)
class EvidenceChanges:
    """What an edit may change: the descriptive fields, never the file. ``link``
    applies to citations only (a file entry keeps its own)."""

    title: str
    article: str = ""
    date: datetime.date | None = None
    link: str = ""
    description: str = ""


@dataclass(frozen=True)
class Deleted:
    title: str
    # How many answers it was detached from.
    detached: int


EDITABLE_FIELDS = ("title", "article", "date", "link", "description")
MAX_DESCRIPTION = 2000


def _clean_description(text: str) -> str:
    # Line breaks are kept; other control and formatting characters are not.
    text = "".join(ch for ch in str(text or "") if ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cf"))
    text = "\n".join(re.sub(r"[^\S\n]+", " ", line).strip() for line in text.replace("\r\n", "\n").split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()[:MAX_DESCRIPTION]


def evidence_uses(*, evidence: Evidence) -> list[AnswerEvidence]:
    """The answers an entry is attached to, with their response and question (for
    the confirmation of a deletion and the edit page): one query."""
    return list(
        AnswerEvidence.objects.filter(evidence=evidence)
        .select_related("response__version__cluster", "question__article")
        .order_by("response__version__cluster__order", "response__version__number", "question__order", "pk")
    )


def frozen_by(*, evidence: Evidence) -> list[Response]:
    """The submitted responses that use an entry (empty: it may be edited or deleted)."""
    return list(
        Response.objects.filter(
            pk__in=AnswerEvidence.objects.filter(evidence=evidence).values("response_id"),
            status=Response.Status.SUBMITTED,
        )
        .select_related("version__cluster")
        .order_by("version__cluster__order", "version__number")
    )


def frozen_message(evidence: Evidence, responses: Iterable[Response]) -> str:
    names = "; ".join(
        _("%(cluster)s, version %(number)s") % {"cluster": r.version.cluster, "number": r.version.number} for r in responses
    )
    return _(
        "“%(title)s” is used by a submitted response (%(responses)s): it can no longer be changed or deleted, "
        "so that the submitted copy stays as it was. Nothing was changed. To correct it, add a new entry to the library."
    ) % {"title": evidence.title, "responses": names}


def _linked_response_ids(evidence_id: int) -> set[int]:
    return set(AnswerEvidence.objects.filter(evidence_id=evidence_id).values_list("response_id", flat=True))


def _lock_response_ids(ids: Iterable[int]) -> None:
    """SHARE-lock these responses until commit: a submission (FOR UPDATE) waits for
    the change and the change for a submission in flight, while saves of answers
    (which share the lock too) go on. Django's select_for_update has no FOR SHARE,
    hence the SQL; SQLite (one writer at a time) needs no lock."""
    ids = sorted(ids)
    if not ids or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {Response._meta.db_table} WHERE id = ANY(%s) ORDER BY id FOR SHARE", [ids])
        cursor.fetchall()


def _lock_for_change(*, evidence: Evidence, by) -> Evidence:
    """Inside a transaction: the entry, locked, once it is certain that no
    submitted response uses it (EvidenceFrozen otherwise).

    The responses that use it are locked first — a submission locks its response
    too, so it cannot slip in between this check and the change — then the entry
    (FOR UPDATE: no answer can be attached to it until the change commits), then
    the responses of links made meanwhile."""
    if not can_manage_library(by, evidence.state_id):
        raise PermissionDenied
    seen = _linked_response_ids(evidence.pk)
    _lock_response_ids(seen)
    try:
        locked = Evidence.objects.select_for_update().get(pk=evidence.pk)
    except Evidence.DoesNotExist:
        raise EvidenceRefused(
            _("This entry is no longer in your State's library (someone deleted it). Nothing was changed.")
        ) from None
    if locked.state_id != evidence.state_id:  # never: the State of an entry does not change
        raise PermissionDenied
    late = _linked_response_ids(locked.pk) - seen
    if late:
        _lock_response_ids(late)
    frozen = frozen_by(evidence=locked)
    if frozen:
        raise EvidenceFrozen(frozen_message(locked, frozen))
    return locked


def _stale(current: Evidence) -> EvidenceStale:
    who = (current.updated_by.get_full_name() or current.updated_by.username) if current.updated_by else ""
    when = current.updated_at.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M") if current.updated_at else ""
    return EvidenceStale(
        _(
            "“%(title)s” was changed by %(who)s at %(when)s UTC since you opened it. Your changes were not saved: "
            "compare them with the current text below, then save again to replace it, or leave."
        )
        % {"title": current.title, "who": who or "?", "when": when or "?"},
        current=current,
    )


@transaction.atomic
def evidence_update(*, evidence: Evidence, by, changes: EvidenceChanges, base_revision: int) -> Evidence:
    """Edit an entry's descriptive fields (never its file): every answer that uses
    it shows the new text. Refused (EvidenceFrozen) when a submitted response uses
    it, and (EvidenceStale) when it changed since ``base_revision`` — unless the
    edit asks for exactly what is already stored, which changes nothing."""
    title = _clean(changes.title, 500)
    if not title:
        raise EvidenceRefused(_("An entry of the library needs a title. Nothing was changed."))
    if changes.date is not None and not isinstance(changes.date, datetime.date):
        raise EvidenceRefused(_("The date must be a date (YYYY-MM-DD)."))
    locked = _lock_for_change(evidence=evidence, by=by)
    link = locked.link
    if not locked.is_file:
        link = clean_citation(CitationData(title=title, link=changes.link)).link
    wanted = {
        "title": title,
        "article": _clean(changes.article, 200),
        "date": changes.date,
        "link": link,
        "description": _clean_description(changes.description),
    }
    if all(getattr(locked, name) == value for name, value in wanted.items()):
        return locked
    if locked.revision != base_revision:
        raise _stale(Evidence.objects.select_related("updated_by").get(pk=locked.pk))
    for name, value in wanted.items():
        setattr(locked, name, value)
    locked.revision += 1
    locked.updated_by = by
    locked.updated_at = timezone.now()
    locked.save(update_fields=[*EDITABLE_FIELDS, "revision", "updated_by", "updated_at"])
    return locked


@transaction.atomic
def evidence_delete(*, evidence: Evidence, by, base_revision: int) -> Deleted:
    """Delete an entry used by drafts only (or by nothing): it is detached from
    every answer, and its file is removed from disk once the deletion commits.
    Refused when a submitted response uses it (EvidenceFrozen) or when it was
    edited since the person confirmed (EvidenceStale)."""
    locked = _lock_for_change(evidence=evidence, by=by)
    if locked.revision != base_revision:
        raise _stale(Evidence.objects.select_related("updated_by").get(pk=locked.pk))
    detached, _rows = AnswerEvidence.objects.filter(evidence=locked).delete()
    name = locked.file.name if locked.is_file and locked.file else ""
    title = locked.title
    locked.delete()
    if name:
        # Only once the rows are gone for good: a rolled-back deletion keeps its file.
        transaction.on_commit(lambda: default_storage.delete(name))
    return Deleted(title=title, detached=detached)


def open_evidence_file(evidence: Evidence) -> IO[bytes]:
    if not evidence.is_file or not evidence.file:
        raise Http404
    try:
        return default_storage.open(evidence.file.name, "rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None


def file_kind(evidence: Evidence) -> FileKind:
    return FILE_KINDS[evidence.file_type]


__all__ = [
    "ACCEPTED",
    "EXTRA_READERS",
    "MAX_FILE_SIZE",
    "Attached",
    "CitationData",
    "Deleted",
    "EvidenceChanges",
    "EvidenceFrozen",
    "EvidenceRefused",
    "EvidenceStale",
    "Stored",
    "answer_evidence",
    "answer_evidence_add",
    "answer_evidence_remove",
    "can_manage_library",
    "can_read_evidence",
    "content_disposition",
    "detect_file_type",
    "download_name",
    "evidence_cite",
    "evidence_delete",
    "evidence_update",
    "evidence_upload",
    "evidence_uses",
    "frozen_by",
    "get_evidence_for_user",
    "get_library_state_for_user",
    "inspect_upload",
    "sanitise_filename",
    "state_library",
]
