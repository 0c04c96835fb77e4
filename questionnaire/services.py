"""Business rules for answering: saving answers, the completeness check and
submission. Each service is one transaction and checks who may act."""

from __future__ import annotations

import datetime
import functools
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditEvent
from audit.services import Change, audit_record, audit_record_changes
from config import prepared
from config.sql import json_param
from parties.models import State

from parties.permissions import roles_of

from .kinds import kind_of
from .models import Answer, Article, ArticleAssignment, Choice, Question, QuestionnaireVersion, Response, ResponseSnapshot
from .permissions import ANSWERING_ROLES, answers_for_state, clarification_open, is_focal_point_of_state
from .rows import from_row
from .selectors import previous_response, response_document, response_progress
from .signals import response_submitted


class ResponseLocked(Exception):
    """The response is submitted: nobody may change it any more."""


@dataclass(frozen=True)
class Conflict:
    question: Question
    yours: Any
    theirs: Any
    theirs_revision: int
    changed_by: str
    changed_at: datetime.datetime


class EditConflict(Exception):
    def __init__(self, conflicts: list[Conflict], *, kept: list[Question] | None = None):
        self.conflicts = conflicts
        # Answers changed by someone else that this editor posted as they first saw
        # them (keep_untouched): not conflicts, their newer value stays.
        self.kept = kept or []
        super().__init__(f"{len(conflicts)} answer(s) changed by someone else")


class AssignmentError(Exception):
    pass


class Incomplete(Exception):
    def __init__(self, missing):
        self.missing = missing
        super().__init__(f"{len(missing)} required answer(s) missing")


def response_get_or_create(*, state: State, version: QuestionnaireVersion, due_date: datetime.date | None) -> Response:
    response, created = Response.objects.get_or_create(state=state, version=version, defaults={"due_date": due_date})
    if not created and due_date and response.due_date != due_date:
        response.due_date = due_date
        response.save(update_fields=["due_date"])
    return response


def _answering_status(response_id: int, *, lock: bool) -> tuple[str, int]:
    """Read the response's status and State (``lock``: under a SHARE lock, held
    until commit).

    A share lock, not FOR UPDATE: saves of different answers of one response run
    side by side (each then locks only its own answer rows), while a submission,
    which takes FOR UPDATE, waits for the saves in flight and every later save
    waits for it and then sees "submitted". Django's select_for_update has no
    FOR SHARE, hence the one line of SQL; SQLite (one writer at a time) needs none.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            prepared.execute(
                cursor,
                name="response_status",
                sql=f"SELECT status, state_id FROM {Response._meta.db_table} WHERE id = %s" + (" FOR SHARE" if lock else ""),
                params=[response_id],
            )
            row = cursor.fetchone()
    else:
        row = Response.objects.filter(pk=response_id).values_list("status", "state_id").first()
    if row is None:
        raise Response.DoesNotExist
    return row


_ANSWER_FIELDS = [f for f in Answer._meta.concrete_fields]


def _lock_answers(*, response_id: int, question_ids: list[int], lock: bool = True) -> dict[int, Answer]:
    """The answers of these questions, locked FOR UPDATE in question order (or,
    ``lock=False``, read as they are).

    On PostgreSQL one line of SQL and ``from_db`` (with the JSON value decoded as the
    field does): this runs on every autosave, and building the same query with the
    ORM costs several times the query itself."""
    if connection.vendor != "postgresql":
        queryset = Answer.objects.filter(response_id=response_id, question_id__in=question_ids).order_by("question_id")
        return {a.question_id: a for a in (queryset.select_for_update() if lock else queryset)}
    columns = ", ".join(connection.ops.quote_name(f.column) for f in _ANSWER_FIELDS)
    with connection.cursor() as cursor:
        prepared.execute(
            cursor,
            name="answers_lock",
            sql=f"SELECT {columns} FROM {Answer._meta.db_table} WHERE response_id = %s AND question_id = ANY(%s) "
            "ORDER BY question_id" + (" FOR UPDATE" if lock else ""),
            params=[response_id, list(question_ids)],
        )
        rows = cursor.fetchall()
    answers = (from_row(Answer, _ANSWER_FIELDS, row) for row in rows)
    return {answer.question_id: answer for answer in answers}


@dataclass(frozen=True)
class SaveOutcome:
    saved: list[Question]
    # The answers of the questions posted, as they are after the save (None: never answered).
    answers: dict[int, Answer | None]
    # Answers someone else changed that this editor posted untouched (keep_untouched).
    kept: list[Question] = field(default_factory=list)


def answers_save_detailed(
    *,
    response: Response,
    by,
    values: dict[Question, Any],
    base_revisions: dict[int, int],
    answers_read: dict[int, Answer | None] | None = None,
    keep_untouched: bool = False,
    confirmed: Collection[int] | None = None,
) -> SaveOutcome:
    """Save the answers that changed; return the questions saved and the answers as
    they now are.

    ``base_revisions`` maps question id → the answer revision the editor started
    from. If someone else saved a newer revision of an answer this editor changed,
    nothing at all is saved and EditConflict lists both values, so the editor can
    choose: saving again from the newer revision keeps theirs deliberately.

    ``answers_read``: the answers of every posted question (question id → answer or
    None) as the caller read them in this request, without a lock, together with
    ``response.status`` and ``response.state_id``: a save that changes none of them is
    then answered with no further read. Anything else is decided under the locks,
    in one transaction; a save that changes nothing opens none (it writes nothing,
    and each of its reads is one statement).

    ``keep_untouched`` (a whole page posted at once, which sends every answer it
    shows): an answer someone else changed since ``base_revisions`` is no conflict
    when the value posted is the one it had at that base revision (read from its
    history), i.e. this editor did not touch it. It is left as the other person saved
    it and listed in ``kept``. Without it (autosave, which sends only what was edited)
    every such answer is a conflict.

    ``confirmed``: the question ids whose carried-over answer, posted as it is, this
    editor confirms (a whole page sends every answer, looked at or not: only those
    whose box was ticked). None: every posted one (an autosave is sent by an edit or
    by the answer's own "confirm" control).
    """
    question_ids = [q.pk for q in values]
    # Nothing to write when every posted value is the stored one (the save a field
    # sends when it loses focus after its typed save, a retry, a page saved as it
    # is): answered from plain reads. The locking reads below would make even such
    # a save a write transaction (row locks take a transaction id and a commit).
    # For one question (an autosave) only: a whole page is rarely saved unchanged,
    # and a question the editor has never seen answered (base revision 0) and now
    # answers is a change: those saves go straight to the locks, with no extra read.
    if len(values) == 1 and all(base_revisions.get(q.pk, 0) > 0 or v in EMPTY_VALUES for q, v in values.items()):
        known = answers_read is not None and set(answers_read) == set(question_ids)
        if known:
            current = {pk: answer for pk, answer in answers_read.items() if answer is not None}
        else:
            current = _lock_answers(response_id=response.pk, question_ids=question_ids, lock=False)
        if not any(
            _differs(value, current.get(question.pk), confirms=confirmed is None or question.pk in confirmed)
            for question, value in values.items()
        ):
            status, state_id = (response.status, response.state_id) if known else _answering_status(response.pk, lock=False)
            _check_may_answer(by=by, response_id=response.pk, status=status, state_id=state_id)
            return SaveOutcome(saved=[], answers={q.pk: current.get(q.pk) for q in values})
    return _answers_save_locked(
        response=response, by=by, values=values, base_revisions=base_revisions, keep_untouched=keep_untouched,
        confirmed=confirmed,
    )


@transaction.atomic
def _answers_save_locked(
    *,
    response: Response,
    by,
    values: dict[Question, Any],
    base_revisions: dict[int, int],
    keep_untouched: bool = False,
    confirmed: Collection[int] | None = None,
) -> SaveOutcome:
    question_ids = [q.pk for q in values]
    status, state_id = _answering_status(response.pk, lock=True)
    _check_may_answer(by=by, response_id=response.pk, status=status, state_id=state_id)
    # The answer rows are locked (in question order, so that two whole-page saves
    # never deadlock): two saves of the same answer take turns and the second one
    # sees the first one's revision.
    current = _lock_answers(response_id=response.pk, question_ids=question_ids)
    changed: list[tuple[Question, Any]] = []
    stale: list[tuple[Question, Any, Answer, int]] = []
    for question, value in values.items():
        answer = current.get(question.pk)
        if not _differs(value, answer, confirms=confirmed is None or question.pk in confirmed):
            continue
        base = base_revisions.get(question.pk, 0)
        if answer and answer.revision != base:
            stale.append((question, value, answer, base))
            continue
        changed.append((question, value))
    conflicts: list[Conflict] = []
    kept: list[Question] = []
    if stale:
        # Rare (someone else saved meanwhile), so the history is read only then.
        seen = _values_at_revisions([(answer, base) for _q, _v, answer, base in stale]) if keep_untouched else {}
        for question, value, answer, base in stale:
            if answer.pk in seen and _same_value(value, seen[answer.pk]):
                kept.append(question)
            else:
                conflicts.append(_conflict(question=question, yours=value, answer=answer))
    if conflicts:
        raise EditConflict(conflicts, kept=kept)
    if changed:
        _write_answers(response_id=response.pk, state_id=state_id, changed=changed, current=current, by=by)
    return SaveOutcome(saved=[q for q, _v in changed], answers={q.pk: current.get(q.pk) for q in values}, kept=kept)


def _values_at_revisions(pairs: list[tuple[Answer, int]]) -> dict[int, Any]:
    """answer id -> its value at the given revision (None at revision 0: not yet
    answered), from the answers' history. An answer whose revision is not in its
    history (a forged or damaged base) is left out: the caller treats it as a conflict."""
    wanted = {answer.pk: base for answer, base in pairs}
    found: dict[int, Any] = {pk: None for pk, base in wanted.items() if base == 0}
    rows = (
        _answer_history()
        .filter(id__in=[pk for pk, base in wanted.items() if base > 0], revision__in={b for b in wanted.values() if b > 0})
        .exclude(history_type="-")
        .order_by("history_date", "history_id")
        .values_list("id", "revision", "value")
    )
    for pk, revision, value in rows:
        if wanted.get(pk) == revision:
            found[pk] = value  # the last row of that revision wins
    return found


def _same_value(posted: Any, stored: Any) -> bool:
    return posted == stored or (posted in EMPTY_VALUES and stored in EMPTY_VALUES)


EMPTY_VALUES = (None, "", [], {})


def _differs(value: Any, answer: Answer | None, *, confirms: bool = True) -> bool:
    """Whether saving ``value`` changes ``answer``. Saving a carried-over answer
    unchanged is how a person confirms it (``confirms``), so that is a change."""
    stored = answer.value if answer else None
    return value != stored or bool(confirms and answer and answer.carried_over)


def _check_may_answer(*, by, response_id: int, status: str, state_id: int) -> None:
    if not roles_of(by).has(state_id, *ANSWERING_ROLES):
        raise PermissionDenied
    if status != Response.Status.DRAFT and not (
        status == Response.Status.SUBMITTED and clarification_open(response_id)
    ):
        raise ResponseLocked(_("This response has been submitted and can no longer be changed."))


def answers_save(
    *,
    response: Response,
    by,
    values: dict[Question, Any],
    base_revisions: dict[int, int],
) -> list[Question]:
    """answers_save_detailed, returning only the questions saved."""
    return answers_save_detailed(response=response, by=by, values=values, base_revisions=base_revisions).saved


def _conflict(*, question: Question, yours: Any, answer: Answer) -> Conflict:
    editor = answer.updated_by  # one query, only when there is a conflict to explain
    return Conflict(
        question=question,
        yours=yours,
        theirs=answer.value,
        theirs_revision=answer.revision,
        changed_by=editor.get_full_name() or editor.username,
        changed_at=answer.updated_at,
    )


def _update_many(answers: list[Answer], *, by) -> None:
    """Several answers in one statement, off PostgreSQL (bulk_update's CASE WHEN per
    row and field)."""
    Answer.objects.bulk_update(answers, ["value", "revision", "carried_over", "updated_by", "updated_at"])


# The history rows a save writes are simple-history's own (its model, table and
# reading API: diffs, restore), but on PostgreSQL they are copied by the statement
# that writes the answers, from the rows as written (RETURNING), not built as model
# instances in Python: bulk_history_create's per-row instances and value preparation
# were a sixth of a whole-page save (52 answers). The columns come from the
# historical model; a model with fields this copy does not know (history_relation,
# extra fields) keeps the library's own writer.
_HISTORY_OWN_FIELDS = {"history_id", "history_date", "history_change_reason", "history_type", "history_user"}


@functools.cache
def _history_copy_columns() -> tuple[str, ...] | None:
    historical = Answer.history.model
    tracked = [f.column for f in historical.tracked_fields]
    own = {f.name for f in historical._meta.concrete_fields} - {f.name for f in historical.tracked_fields}
    if own != _HISTORY_OWN_FIELDS or hasattr(historical, "history_relation"):
        return None
    return tuple(tracked)


def _answers_write_postgresql(*, response_id: int, updated: list[Answer], new: list[Answer], by, now) -> dict[int, int]:
    """Write the updated and the new answers and their history rows in one statement.
    Returns question id → id of each new answer that was inserted; a new answer that
    someone else saved first is left out (ON CONFLICT DO NOTHING: no error, so the
    caller can read theirs in the same transaction and refuse the whole save)."""
    quote = connection.ops.quote_name
    value_field = Answer._meta.get_field("value")
    params: list[Any] = []
    parts = []
    if updated:
        rows = ", ".join(["(%s, %s::jsonb, %s)"] * len(updated))
        parts.append(
            f"upd AS (UPDATE {quote(Answer._meta.db_table)} AS a SET value = v.value, revision = v.revision, "
            f"carried_over = false, updated_by_id = %s, updated_at = %s FROM (VALUES {rows}) AS v(id, value, revision) "
            f"WHERE a.id = v.id RETURNING a.*)"
        )
        params += [by.pk, now]
        for answer in updated:
            params += [answer.pk, json_param(value_field, answer.value), answer.revision]
    if new:
        rows = ", ".join(["(%s, %s, %s::jsonb, 1, false, %s, %s)"] * len(new))
        parts.append(
            f"ins AS (INSERT INTO {quote(Answer._meta.db_table)} (response_id, question_id, value, revision, carried_over, "
            f"updated_by_id, updated_at) VALUES {rows} ON CONFLICT DO NOTHING RETURNING *)"
        )
        for answer in new:
            params += [response_id, answer.question_id, json_param(value_field, answer.value), by.pk, now]
    history_on = getattr(settings, "SIMPLE_HISTORY_ENABLED", True)
    columns = _history_copy_columns() if history_on else None
    if columns is not None:
        listed = ", ".join(quote(c) for c in columns)
        sources = []
        for source, history_type, rows_written in (("upd", "~", updated), ("ins", "+", new)):
            if rows_written:
                sources.append(f"SELECT {listed}, %s, '', '{history_type}', %s FROM {source}")
                params += [now, by.pk]
        parts.append(
            f"hist AS (INSERT INTO {quote(_answer_history().model._meta.db_table)} ({listed}, history_date, "
            f"history_change_reason, history_type, history_user_id) {' UNION ALL '.join(sources)})"
        )
    final = "SELECT question_id, id FROM ins" if new else "SELECT NULL, NULL WHERE false"
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(parts)} {final}", params)
        inserted = dict(cursor.fetchall())
    if columns is None and history_on:
        for answer in new:
            answer.pk = inserted.get(answer.question_id)
        if updated:
            _answer_history().bulk_history_create(updated, update=True, default_user=by, default_date=now)
        if new:
            _answer_history().bulk_history_create([a for a in new if a.pk], default_user=by, default_date=now)
    return inserted


@functools.cache
def _answer_history():
    # simple-history builds a new manager class (with inspect.getmembers) at every
    # access of Answer.history: a seventh of an autosave that writes. The model's
    # manager (not an instance's) holds no state, so one is kept.
    return Answer.history


def _answer_changes(*, answers: list[tuple[Answer, str, Any]], **extra) -> list[Change]:
    """What the audit log records of each answer changed (answer, question code,
    value before): its value before and after, its revision."""
    return [
        Change(
            obj=answer, obj_repr=code, old=old, new=answer.value,
            extra={"response": answer.response_id, "question": code, "revision": answer.revision, **extra},
        )
        for answer, code, old in answers
    ]


def _saved_first_by_others(*, response_id: int, new: list[Answer]) -> EditConflict:
    """The conflict of new answers that someone else saved first: theirs, read in
    this transaction, beside the editor's."""
    yours = {a.question_id: a.value for a in new}
    others = Answer.objects.filter(response_id=response_id, question_id__in=list(yours))
    return EditConflict([_conflict(question=a.question, yours=yours[a.question_id], answer=a) for a in others])


def _write_answers_portable(*, response_id: int, updated: list[Answer], new: list[Answer], by, now) -> None:
    """The answers and their history rows through the ORM and simple-history's bulk
    writer (SQLite, the embedded default)."""
    if len(updated) == 1:  # a plain UPDATE compiles faster than bulk_update's CASE
        answer = updated[0]
        Answer.objects.filter(pk=answer.pk).update(
            value=answer.value, revision=answer.revision, carried_over=False, updated_by=by, updated_at=now
        )
    elif updated:
        _update_many(updated, by=by)
    if new:
        try:
            # A savepoint: an answer first saved by someone else meanwhile (the
            # unique constraint) must not abort the whole transaction.
            with transaction.atomic():
                Answer.objects.bulk_create(new)
        except IntegrityError:
            raise _saved_first_by_others(response_id=response_id, new=new) from None
    if updated:
        _answer_history().bulk_history_create(updated, update=True, default_user=by, default_date=now)
    if new:
        _answer_history().bulk_history_create(new, default_user=by, default_date=now)


def _write_answers(
    *, response_id: int, state_id: int, changed: list[tuple[Question, Any]], current: dict[int, Answer], by
) -> None:
    """Write the changed answers, their history rows and their audit events in two
    statements on PostgreSQL (answers and history in one, audit events in the other),
    whatever their number. Runs inside the caller's transaction, which an EditConflict
    rolls back. ``current`` is updated in place with the rows as saved."""
    now = timezone.now()
    new: list[Answer] = []
    updated: list[Answer] = []
    before: dict[int, tuple[str, Any]] = {}
    for question, value in changed:
        answer = current.get(question.pk)
        before[question.pk] = (question.code, answer.value if answer is not None else None)
        if answer is None:
            answer = Answer(response_id=response_id, question=question, value=value, revision=1, updated_by=by, updated_at=now)
            new.append(answer)
        else:
            answer.value, answer.revision, answer.updated_by, answer.updated_at = value, answer.revision + 1, by, now
            answer.carried_over = False
            updated.append(answer)
    if connection.vendor == "postgresql":
        inserted = _answers_write_postgresql(response_id=response_id, updated=updated, new=new, by=by, now=now)
        lost = [a for a in new if a.question_id not in inserted]
        if lost:
            # Someone else saved these answers first, meanwhile: the whole save is
            # refused (the caller's transaction rolls back what this one wrote).
            raise _saved_first_by_others(response_id=response_id, new=lost)
        for answer in new:
            answer.pk = inserted[answer.question_id]
    else:
        _write_answers_portable(response_id=response_id, updated=updated, new=new, by=by, now=now)
    audit_record_changes(
        event=AuditEvent.Event.ANSWER_CHANGED, actor=by, state=state_id, at=now,
        changes=_answer_changes(answers=[(a, *before[a.question_id]) for a in new + updated]),
    )
    for answer in new + updated:
        current[answer.question_id] = answer


@transaction.atomic
def response_submit(*, response: Response, by) -> Response:
    """Submit a complete response: lock it for good and keep an immutable copy."""
    locked = Response.objects.select_for_update().select_related("state", "version__cluster__instrument").get(pk=response.pk)
    if not is_focal_point_of_state(by, locked):
        raise PermissionDenied
    if locked.status != Response.Status.DRAFT:
        raise ResponseLocked(_("This response has already been submitted."))
    progress = response_progress(locked)
    if not progress.complete:
        raise Incomplete(progress.missing)
    locked.submit()
    locked.submitted_at = timezone.now()
    locked.submitted_by = by
    locked.save()
    data = response_document(locked)
    # The evidence as submitted, inside the copy its SHA-256 covers. A local import:
    # evidence imports this module.
    from .evidence import evidence_document_data

    data["evidence"] = evidence_document_data(response=locked)
    data["submitted_at"] = locked.submitted_at.isoformat()
    data["submitted_by"] = by.get_full_name() or by.username
    snapshot = ResponseSnapshot.objects.create(response=locked, data=data, created_by=by)
    audit_record(
        event=AuditEvent.Event.RESPONSE_SUBMITTED, actor=by, state=locked.state_id, obj=locked,
        old={"status": Response.Status.DRAFT}, new={"status": locked.status},
        extra={"snapshot": snapshot.pk, "sha256": snapshot.sha256},
    )
    response_submitted.send(sender=Response, response=locked, by=by)
    return locked


@transaction.atomic
def response_carry_over(*, response: Response, by) -> int:
    """Copy into an unanswered draft the answers the State gave to the same
    question codes in its previous response to this cluster, each marked
    "carried over — please confirm". Returns the number of answers copied."""
    locked = Response.objects.select_for_update().select_related("version").get(pk=response.pk)
    if not answers_for_state(by, locked):
        raise PermissionDenied
    if locked.status != Response.Status.DRAFT:
        raise ResponseLocked(_("This response has been submitted and can no longer be changed."))
    previous = previous_response(locked)
    if previous is None:
        return 0
    answered = set(Answer.objects.filter(response=locked).values_list("question__code", flat=True))
    old = {
        code: (kind, value)
        for code, kind, value in Answer.objects.filter(response=previous, carried_over=False)
        .exclude(value__isnull=True)
        .values_list("question__code", "question__kind", "value")
    }
    # Only what the new question can hold: a choice the new version no longer
    # offers is not copied (it would show as no choice and export as a stray code).
    codes: dict[int, set[str]] = defaultdict(set)
    for question_id, code in Choice.objects.filter(question__version_id=locked.version_id).values_list("question_id", "code"):
        codes[question_id].add(code)
    copies = [
        Answer(response=locked, question=q, value=old[q.code][1], revision=1, carried_over=True, updated_by=by)
        for q in Question.objects.filter(version_id=locked.version_id).only("pk", "code", "kind")
        if q.code in old and q.code not in answered and old[q.code][0] == q.kind
        and kind_of(q).accepts(old[q.code][1], codes[q.pk])
    ]
    # One by one (not bulk_create) so that each copy enters the answer's history.
    for answer in copies:
        answer.save()
    audit_record_changes(
        event=AuditEvent.Event.ANSWER_CHANGED, actor=by, state=locked.state_id,
        changes=_answer_changes(answers=[(a, a.question.code, None) for a in copies], carried_over_from=previous.pk),
    )
    return len(copies)


@transaction.atomic
def article_assign(*, response: Response, article: Article, assignee, by) -> ArticleAssignment:
    """The focal point asks a contributor (or another focal point) of the State to
    draft one article. Assigning twice changes nothing."""
    if not is_focal_point_of_state(by, response):
        raise PermissionDenied
    if article.version_id != response.version_id:
        raise AssignmentError(_("This article is not part of this questionnaire."))
    if not roles_of(assignee).has(response.state_id, *ANSWERING_ROLES):
        raise AssignmentError(_("Only people who answer for this State can be given an article."))
    assignment, _created = ArticleAssignment.objects.get_or_create(
        response=response, article=article, assignee=assignee, defaults={"assigned_by": by}
    )
    return assignment


@transaction.atomic
def article_unassign(*, assignment: ArticleAssignment, by) -> None:
    if not is_focal_point_of_state(by, assignment.response):
        raise PermissionDenied
    assignment.delete()
