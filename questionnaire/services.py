"""Business rules for answering: saving answers, the completeness check and
submission. Each service is one transaction and checks who may act."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from parties.models import State

from parties.permissions import roles_of

from .models import Answer, Article, ArticleAssignment, Question, QuestionnaireVersion, Response, ResponseSnapshot
from .permissions import ANSWERING_ROLES, answers_for_state, is_focal_point_of_state
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
    def __init__(self, conflicts: list[Conflict]):
        self.conflicts = conflicts
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


@transaction.atomic
def answers_save(
    *,
    response: Response,
    by,
    values: dict[Question, Any],
    base_revisions: dict[int, int],
) -> list[Question]:
    """Save the answers that changed; return the questions saved.

    ``base_revisions`` maps question id → the answer revision the editor started
    from. If someone else saved a newer revision of an answer this editor changed,
    nothing at all is saved and EditConflict lists both values, so the editor can
    choose: saving again from the newer revision keeps theirs deliberately.
    """
    # Lock the response row: a submission cannot slip in between the status check
    # and the writes, and concurrent saves on one response take turns (briefly).
    locked = Response.objects.select_for_update().get(pk=response.pk)
    if not answers_for_state(by, locked):
        raise PermissionDenied
    if locked.status != Response.Status.DRAFT:
        raise ResponseLocked(_("This response has been submitted and can no longer be changed."))
    question_ids = [q.pk for q in values]
    current = {
        a.question_id: a
        for a in Answer.objects.filter(response=locked, question_id__in=question_ids).select_related("updated_by")
    }
    changed: list[tuple[Question, Any]] = []
    conflicts: list[Conflict] = []
    for question, value in values.items():
        answer = current.get(question.pk)
        stored = answer.value if answer else None
        # Saving a carried-over answer unchanged is how a person confirms it.
        if value == stored and not (answer and answer.carried_over):
            continue
        base = base_revisions.get(question.pk, 0)
        if answer and answer.revision != base:
            conflicts.append(
                Conflict(
                    question=question,
                    yours=value,
                    theirs=stored,
                    theirs_revision=answer.revision,
                    changed_by=answer.updated_by.get_full_name() or answer.updated_by.username,
                    changed_at=answer.updated_at,
                )
            )
            continue
        changed.append((question, value))
    if conflicts:
        raise EditConflict(conflicts)
    for question, value in changed:
        answer = current.get(question.pk)
        if answer is None:
            answer = Answer(response=locked, question=question, value=value, revision=1, updated_by=by)
        else:
            answer.value, answer.revision, answer.updated_by = value, answer.revision + 1, by
            answer.carried_over = False
        answer.save()
    return [q for q, _v in changed]


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
    data["submitted_at"] = locked.submitted_at.isoformat()
    data["submitted_by"] = by.get_full_name() or by.username
    ResponseSnapshot.objects.create(response=locked, data=data, created_by=by)
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
    copies = [
        Answer(response=locked, question=q, value=old[q.code][1], revision=1, carried_over=True, updated_by=by)
        for q in Question.objects.filter(version_id=locked.version_id).only("pk", "code", "kind")
        if q.code in old and q.code not in answered and old[q.code][0] == q.kind
    ]
    # One by one (not bulk_create) so that each copy enters the answer's history.
    for answer in copies:
        answer.save()
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
