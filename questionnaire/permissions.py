"""Who may see and change a State's response, and the one helper every view uses
to load a response.

Drafts are seen by the State's own focal points and contributors alone. The
submitted copy is also seen by the secretariat (reviewers read it through the
reviews app, which knows who reviews whom)."""

from __future__ import annotations

import rules
from django.db import connection
from django.http import Http404
from django.core.exceptions import PermissionDenied

from config import prepared
from parties.models import Membership, State
from parties.permissions import is_secretariat, roles_of

from .models import Answer, Question, Response
from .rows import from_row

Role = Membership.Role
ANSWERING_ROLES = (Role.FOCAL_POINT, Role.CONTRIBUTOR)


@rules.predicate
def answers_for_state(user, response: Response) -> bool:
    return roles_of(user).has(response.state_id, *ANSWERING_ROLES)


@rules.predicate
def is_focal_point_of_state(user, response: Response) -> bool:
    return roles_of(user).has(response.state_id, Role.FOCAL_POINT)


@rules.predicate
def is_draft(user, response: Response) -> bool:
    return response.status == Response.Status.DRAFT


@rules.predicate
def is_submitted(user, response: Response) -> bool:
    return response.status == Response.Status.SUBMITTED


# After submission an answer may still be revised while the reviewers' questions on
# it are being discussed: the review (reviews app) says when, through this registry
# (questionnaire never imports reviews). Each entry: response id → bool. The
# submitted copy itself never changes; every revision enters the answer's history.
CLARIFICATION_WINDOWS: list = []


def clarification_open(response_id: int) -> bool:
    return any(window(response_id) for window in CLARIFICATION_WINDOWS)


@rules.predicate
def is_open_for_clarification(user, response: Response) -> bool:
    return response.status == Response.Status.SUBMITTED and clarification_open(response.pk)


can_view_response = answers_for_state | (is_secretariat & is_submitted)
# Drafts first: rules stops at the first true operand, so a draft costs no query.
can_edit_response = answers_for_state & (is_draft | is_open_for_clarification)
can_submit_response = is_focal_point_of_state & is_draft

rules.add_perm("questionnaire.view_response", can_view_response)
rules.add_perm("questionnaire.change_response", can_edit_response)
rules.add_perm("questionnaire.submit_response", can_submit_response)

ACTIONS = {
    "view": "questionnaire.view_response",
    "change": "questionnaire.change_response",
    "submit": "questionnaire.submit_response",
}


def _minimal_response(pk: int, answer_code: str | None = None) -> Response:
    """Only the columns the access rules read (the others deferred, as with
    ``.only()``): one line of SQL instead of the ORM's query compilation on the hot path.

    ``answer_code``: the answer to that question too, in the same statement, as
    ``response.answer_read`` (None when never answered), read without a lock. An
    autosave that changes nothing is then answered with no other read."""
    quote = connection.ops.quote_name
    if answer_code is None:
        sql = f"SELECT r.state_id, r.version_id, r.status FROM {Response._meta.db_table} r WHERE r.id = %s"
        params = [pk]
    else:
        columns = ", ".join(f"a.{quote(f.column)}" for f in _ANSWER_FIELDS)
        sql = (
            f"SELECT r.state_id, r.version_id, r.status, {columns} FROM {Response._meta.db_table} r "
            f"LEFT JOIN {Question._meta.db_table} q ON q.version_id = r.version_id AND q.code = %s "
            f"LEFT JOIN {Answer._meta.db_table} a ON a.response_id = r.id AND a.question_id = q.id "
            "WHERE r.id = %s"
        )
        params = [answer_code, pk]
    with connection.cursor() as cursor:
        prepared.execute(cursor, name="response_access" if answer_code is None else "response_answer", sql=sql, params=params)
        row = cursor.fetchone()
    if row is None:
        raise Response.DoesNotExist
    # from_db, as a queryset would: the other fields are deferred, never defaults.
    response = Response.from_db(connection.alias, ["id", "state_id", "version_id", "status"], [pk, *row[:3]])
    if answer_code is not None:
        response.answer_read = from_row(Answer, _ANSWER_FIELDS, row[3:]) if row[3] is not None else None
    return response


_ANSWER_FIELDS = Answer._meta.concrete_fields
_BIGINT_MAX = 2**63 - 1
_RESPONSE_FIELDS = Response._meta.concrete_fields
_STATE_FIELDS = State._meta.concrete_fields


def _response_with_context(pk: int) -> Response:
    """The response with its State (one line of SQL: the ORM's join of the State's
    six-language columns costs several times the query) and its version, cluster
    and instrument from the process's copy (selectors.version_with_cluster)."""
    from .selectors import version_with_cluster

    quote = connection.ops.quote_name
    columns = [f"r.{quote(f.column)}" for f in _RESPONSE_FIELDS] + [f"s.{quote(f.column)}" for f in _STATE_FIELDS]
    with connection.cursor() as cursor:
        prepared.execute(
            cursor,
            name="response_state",
            sql=f"SELECT {', '.join(columns)} FROM {Response._meta.db_table} r "
            f"JOIN {State._meta.db_table} s ON s.id = r.state_id WHERE r.id = %s",
            params=[pk],
        )
        row = cursor.fetchone()
    if row is None:
        raise Response.DoesNotExist
    split = len(_RESPONSE_FIELDS)
    response = from_row(Response, _RESPONSE_FIELDS, row[:split])
    response.state = from_row(State, _STATE_FIELDS, row[split:])
    response.version = version_with_cluster(response.version_id)
    return response


def get_response_for_user(
    user, pk: int, action: str = "view", *, minimal: bool = False, answer_code: str | None = None
) -> Response:
    """Load a response and check that ``user`` may perform ``action`` on it.

    A response the user may not even see answers 404, so that an outsider cannot
    tell which responses exist. A visible response on which the action is not
    allowed (a contributor submitting, an edit after submission) answers 403."""
    # ``minimal``: only what the access rules read (a hot path such as autosave does
    # not need the State's and the cluster's six-language columns); with
    # ``answer_code``, the answer it saves read in the same statement (_minimal_response).
    try:
        pk = int(pk)
        # Beyond a bigint no response exists (and a prepared statement's typed
        # parameter would refuse the value instead of finding nothing).
        if not 0 < pk <= _BIGINT_MAX:
            raise Response.DoesNotExist
        response = _minimal_response(pk, answer_code) if minimal else _response_with_context(pk)
    except (Response.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if not user.has_perm(ACTIONS["view"], response):
        raise Http404
    if action != "view" and not user.has_perm(ACTIONS[action], response):
        raise PermissionDenied
    return response
