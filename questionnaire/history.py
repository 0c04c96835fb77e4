"""The history of an answer: every saved value (django-simple-history's rows of
``Answer.history``), shown with its question's kind and a diff against the value
before it, and the restoring of an earlier value as a new change.

Restoring goes through ``services.answers_save``, so the same rules apply as to
any edit: who may answer, the submitted lock and the revision check."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cached_property
from typing import NamedTuple

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Prefetch
from django.utils.translation import gettext as _

from .kinds import kind_of
from .models import Answer, Choice, Question, Response
from .permissions import answers_for_state, clarification_open
from .services import ResponseLocked, answers_save

# history_change_reason of a row written by a restore (language-neutral; shown translated).
RESTORED_REASON = "restored-from:{revision}"
_RESTORED = re.compile(r"^restored-from:(\d+)$")


class UnknownRevision(LookupError):
    """No saved version of this answer has that revision."""


# --- Diff ---------------------------------------------------------------------------


class DiffSegment(NamedTuple):
    """A run of text that is the same in both versions ("equal"), only in the
    newer one ("insert") or only in the older one ("delete")."""

    op: str
    text: str


EQUAL, INSERT, DELETE = "equal", "insert", "delete"
# A word or a run of punctuation, with the white space after it (and the white
# space that starts a text): a change of one word or one comma shows as that word
# or that comma, and an added phrase comes with its own trailing space.
_TOKEN = re.compile(r"\s+|\w+\s*|[^\w\s]+\s*")
# Above this many token pairs a changed block is shown as replaced whole: difflib
# is quadratic in the worst case, and such a block is a rewrite anyway.
WORD_DIFF_LIMIT = 1_000_000


def text_diff(old: str, new: str) -> list[DiffSegment]:
    """The change from ``old`` to ``new``: lines first, then words inside the lines
    that changed. Adjacent segments never share an op and none is empty; the
    "equal" and "insert" texts put together give ``new``; the "equal" and "delete"
    texts give ``old`` up to white space (inside a changed line, a change of spacing
    alone is not shown)."""
    segments: list[DiffSegment] = []

    def add(op: str, text: str) -> None:
        if not text:
            return
        if segments and segments[-1].op == op:
            segments[-1] = DiffSegment(op, segments[-1].text + text)
        else:
            segments.append(DiffSegment(op, text))

    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, old_lines, new_lines, autojunk=False).get_opcodes():
        before, after = "".join(old_lines[i1:i2]), "".join(new_lines[j1:j2])
        if tag == "equal":
            add(EQUAL, before)
        elif tag == "replace":
            for op, text in _word_diff(before, after):
                add(op, text)
        else:
            add(DELETE, before)
            add(INSERT, after)
    return segments


def _word_diff(old: str, new: str) -> list[tuple[str, str]]:
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    if len(a) * len(b) > WORD_DIFF_LIMIT:
        return [(DELETE, old), (INSERT, new)]
    # Tokens are compared without their trailing space ("law " matches "law\n").
    keys_a, keys_b = [t.rstrip() or " " for t in a], [t.rstrip() or " " for t in b]
    out: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, keys_a, keys_b, autojunk=False).get_opcodes():
        if tag == "equal":
            out.append((EQUAL, "".join(b[j1:j2])))
        else:
            out += [(DELETE, "".join(a[i1:i2])), (INSERT, "".join(b[j1:j2]))]
    return out


# --- Reading the history --------------------------------------------------------------


@dataclass
class HistoryEntry:
    """One saved version of an answer. ``previous_display`` is None for the first
    one; ``diff`` is computed when first read (a page shows only some entries)."""

    revision: int
    who: str
    when: datetime.datetime
    display: str
    previous_display: str | None
    restored_from: int | None = None
    is_current: bool = False

    @cached_property
    def diff(self) -> list[DiffSegment]:
        return text_diff(self.previous_display or "", self.display)

    @property
    def is_first(self) -> bool:
        return self.previous_display is None

    @property
    def changes_display(self) -> bool:
        """False when only the stored value changed, not what is shown of it."""
        return self.display != (self.previous_display or "")


def history_question(*, response: Response, code: str) -> Question:
    """The question ``code`` of the response's questionnaire version, with its
    article and choices: two queries. Raises Question.DoesNotExist."""
    return (
        Question.objects.select_related("article")
        .prefetch_related(Prefetch("choices", queryset=Choice.objects.order_by("order")))
        .get(version_id=response.version_id, code=code)
    )


def _history_rows(*, response: Response, question: Question):
    return Answer.history.filter(response_id=response.pk, question_id=question.pk)


def answer_history(*, response: Response, question: Question) -> list[HistoryEntry]:
    """Every saved version of the answer, newest first: one query (and one more for
    the choices unless ``question`` comes with them, as from history_question)."""
    labels = {c.code: c.label for c in question.choices.all()}
    kind = kind_of(question)
    rows = (
        _history_rows(response=response, question=question)
        .select_related("history_user")
        .order_by("history_date", "history_id")
    )
    entries: list[HistoryEntry] = []
    previous: str | None = None
    for row in rows:
        user = row.history_user
        display = kind.display(row.value, labels)
        restored = _RESTORED.match(row.history_change_reason or "")
        entries.append(
            HistoryEntry(
                revision=row.revision,
                who=(user.get_full_name() or user.username) if user else _("unknown"),
                when=row.history_date,
                display=display,
                previous_display=previous,
                restored_from=int(restored.group(1)) if restored else None,
            )
        )
        previous = display
    if entries:
        entries[-1].is_current = True
    entries.reverse()
    return entries


# --- Restoring ------------------------------------------------------------------------


@transaction.atomic
def answer_restore(*, response: Response, question: Question, revision: int, by) -> Question | None:
    """Save the value of ``revision`` again, as a new change by ``by``; return the
    question saved, or None when that value is the current one (nothing saved).

    Raises PermissionDenied for someone who cannot answer for the State,
    ResponseLocked once the response is submitted and UnknownRevision when no saved
    version of this answer has that revision."""
    # The same lock answers_save takes: the revision read below stays the current
    # one until the save, so a restore never meets an edit conflict.
    locked = Response.objects.select_for_update().get(pk=response.pk)
    if not answers_for_state(by, locked):
        raise PermissionDenied
    # As for any edit: a draft, or a submitted response while the reviewers' questions
    # are open (a restore is a change like the others, kept in the history).
    if locked.status != Response.Status.DRAFT and not (
        locked.status == Response.Status.SUBMITTED and clarification_open(locked.pk)
    ):
        raise ResponseLocked(_("This response has been submitted: earlier versions can no longer be restored."))
    rows = _history_rows(response=locked, question=question)
    old = None
    if question.version_id == locked.version_id:
        old = rows.filter(revision=revision).order_by("-history_date", "-history_id").only("value").first()
    if old is None:
        raise UnknownRevision(revision)
    current = Answer.objects.filter(response=locked, question=question).values_list("revision", flat=True).first()
    saved = answers_save(
        response=locked, by=by, values={question: old.value}, base_revisions={question.pk: current or 0}
    )
    if not saved:
        return None
    # Mark the row the save just wrote (never an older one) as a restore.
    newest = rows.order_by("-history_date", "-history_id").values_list("history_id", flat=True).first()
    Answer.history.filter(history_id=newest).update(history_change_reason=RESTORED_REASON.format(revision=revision))
    return question
