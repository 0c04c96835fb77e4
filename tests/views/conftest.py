"""Fixtures and helpers of the HTTP-level tests.

The personas and the data come from tests/conftest.py; this file adds what only
HTTP tests need: a client per persona, the states of A's response (submitted, with
a thread), a finished job, an invitation link, form data built the way the
answering page posts it, and a fingerprint of the database to prove that a refused
request changed nothing."""

from __future__ import annotations

import functools
import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from parties import services as party_services
from questionnaire import content
from parties.models import Invitation, Membership
from questionnaire.models import Answer, Response, ResponseSnapshot
from questionnaire.services import response_submit
from reviews import services as review_services
from reviews.models import Comment, Job, Review, ReviewCycle, ReviewerAssignment, Thread
from reviews.models import (
    FinalDocument,
    Notification,
    Observation,
    ObservationAgreement,
    ObservationComment,
    Summary,
    SummaryClearance,
    SummaryComment,
)
from tests.factories import MINI, fill_required, make_questionnaire
from tests.signin import sign_in

PERSONAS = (
    "anonymous",
    "focal_point_a",
    "contributor_a",
    "focal_point_b",
    "reviewer",
    "unassigned_reviewer",
    "secretariat",
    "observer_a",
)
LOGIN_URL = "/accounts/login/"


# --- Speed -------------------------------------------------------------------------

_parse = content.parse_content


@functools.cache
def _parsed(path: str, mtime: float):
    return _parse(path)


@pytest.fixture
def mini_versions(db):
    """tests/conftest.py's mini_versions, with mini.yaml parsed once per session
    (as load_real_questionnaire does for the real file): almost every test here
    loads it, and parsing is most of the cost. The rows are still created by the
    real loader in each test; an edited file (new mtime) is parsed again."""

    def cached(path):
        path = Path(path)
        return _parsed(str(path), path.stat().st_mtime)

    with mock.patch.object(content, "parse_content", cached):
        return make_questionnaire(MINI)


# --- Clients ------------------------------------------------------------------------


def client_for(user, **kwargs) -> Client:
    """A fresh client signed in as ``user`` (password and second factor), or anonymous."""
    client = Client(**kwargs)
    if user is not None and user.is_authenticated:
        sign_in(client, user)
    return client


@pytest.fixture
def as_user():
    return client_for


# --- States of A's response ----------------------------------------------------------


def submit(response: Response, by) -> Response:
    """Answer every required question and submit, through the services."""
    fill_required(response, by)
    response_submit(response=Response.objects.get(pk=response.pk), by=by)
    return Response.objects.get(pk=response.pk)


@pytest.fixture
def submitted_a(review_a, response_a, focal_point_a) -> Response:
    """A's response (the one under review_a), complete and submitted."""
    assert review_a.response_id == response_a.pk
    return submit(response_a, focal_point_a)


def fresh_review(review: Review) -> Review:
    """The review re-read as a view reads it (its response may have changed)."""
    return Review.objects.select_related("state", "response__version", "cycle__cluster").get(pk=review.pk)


@pytest.fixture
def thread_a(submitted_a, review_a, reviewer, version) -> Thread:
    """An open thread started by the reviewer on A's first status answer."""
    from tests.factories import question

    return review_services.thread_start(
        review=fresh_review(review_a),
        question=question(version, "FP-5.1.a.status"),
        kind=Thread.Kind.CLARIFICATION,
        body="Which authority enforces this?",
        by=reviewer,
    )


@pytest.fixture
def succeeded_job(review_a, secretariat, django_capture_on_commit_callbacks) -> Job:
    """A cluster report of review_a's cycle, built by the (eager) task after commit."""
    with django_capture_on_commit_callbacks(execute=True):
        result = review_services.job_request(
            kind=Job.Kind.CLUSTER_REPORT, params={"cycle": review_a.cycle_id}, by=secretariat
        )
    job = Job.objects.get(pk=result.job.pk)
    assert job.status == Job.Status.SUCCEEDED, job.error
    return job


def invite(*, email: str, role: str, state, by) -> tuple[Invitation, str]:
    """Create an invitation through the service; return it with its secret token."""
    tokens: list[str] = []

    def accept_url_for(token: str) -> str:
        tokens.append(token)
        return f"http://testserver/people/invitations/{token}/"

    invitation = party_services.invitation_create(email=email, role=role, state=state, by=by, accept_url_for=accept_url_for)
    return invitation, tokens[0]


@pytest.fixture
def invitation_token(secretariat, state_a) -> str:
    _invitation, token = invite(email="new.person@example.org", role=Membership.Role.CONTRIBUTOR, state=state_a, by=secretariat)
    return token


# --- The answering form as the page posts it -------------------------------------------


def legislation_rows(code: str, rows: list[dict[str, str]]) -> dict[str, str]:
    """``<code>-<i>-title|article|link`` as the rows widget posts them."""
    data = {}
    for i, row in enumerate(rows):
        for part in ("title", "article", "link"):
            data[f"{code}-{i}-{part}"] = row.get(part, "")
    return data


def ta_block(code: str, *, needed: str = "", categories: list[str] = (), priority: str = "", details: str = "") -> dict:
    """The technical-assistance block: ``<code>-needed|categories|priority|details``."""
    return {
        f"{code}-needed": needed,
        f"{code}-categories": list(categories),
        f"{code}-priority": priority,
        f"{code}-details": details,
    }


_REVISIONS_INPUT = re.compile(r'<input type="hidden" name="revisions" value="([^"]*)"')


def page_revisions(page) -> str:
    """The ``revisions`` hidden field of a rendered answering page, as a browser
    would post it back."""
    found = _REVISIONS_INPUT.search(page.content.decode())
    assert found, "the page has no revisions field"
    return html.unescape(found.group(1))


class _FormFields(HTMLParser):
    """The fields a browser posts from one form: named inputs (checked ones only
    for radios and checkboxes; no buttons), textareas and selected options."""

    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside, self.fields = form_id, False, []
        self._textarea: str | None = None
        self._select: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
            return
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name and a.get("type", "text") not in ("submit", "button", "file"):
            if a.get("type") in ("radio", "checkbox") and "checked" not in a:
                return
            self.fields.append((name, a.get("value") or ("on" if a.get("type") == "checkbox" else "")))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.fields.append((self._select, a.get("value", "")))

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea" and self._textarea is not None:
            text = "".join(self._text)
            # As browsers do: the one newline after <textarea> is not part of the value.
            self.fields.append((self._textarea, text[1:] if text.startswith("\n") else text))
            self._textarea = None
        elif tag == "select":
            self._select = None


def form_data(page, form_id: str = "answer-form") -> list[tuple[str, str]]:
    """Everything a browser without JavaScript posts when this page's form is saved
    as it is shown (every answer, every revision)."""
    parser = _FormFields(form_id)
    parser.feed(page.content.decode())
    assert parser.fields, f"no form {form_id!r} on the page"
    return parser.fields


def with_values(fields: list[tuple[str, str]], **changes: str) -> dict[str, list[str]]:
    """``fields`` as POST data, with the fields named in ``changes`` replaced (names
    with dots and hyphens: ``with_values(fields, **{"FP-5.1.a.q2": "…"})``)."""
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    for name, value in changes.items():
        data[name] = [value]
    return data


def stored_answers(response) -> dict[str, tuple[Any, int]]:
    """question code → (value, revision) as stored."""
    return {
        code: (value, revision)
        for code, value, revision in Answer.objects.filter(response=response).values_list(
            "question__code", "value", "revision"
        )
    }


def messages_of(page) -> list[str]:
    return [str(m) for m in page.context["messages"]] if page.context else []


# --- What a refused request must leave untouched --------------------------------------


def db_fingerprint() -> dict[str, list]:
    """Every row a request of this project could create or change (sessions and
    history tables aside), small enough to compare whole."""
    User = get_user_model()
    return {
        "users": list(User.objects.order_by("pk").values_list("pk", "username", "is_active")),
        "memberships": list(Membership.objects.order_by("pk").values_list("pk", "user_id", "state_id", "role", "is_active")),
        "invitations": list(Invitation.objects.order_by("pk").values_list("pk", "email", "accepted_at")),
        "responses": list(Response.objects.order_by("pk").values_list("pk", "status", "submitted_at", "due_date")),
        "answers": [
            (pk, json.dumps(value, sort_keys=True), revision)
            for pk, value, revision in Answer.objects.order_by("pk").values_list("pk", "value", "revision")
        ],
        "snapshots": list(ResponseSnapshot.objects.order_by("pk").values_list("pk", "sha256")),
        "cycles": list(ReviewCycle.objects.order_by("pk").values_list("pk", "year", "draw_seed")),
        "reviews": list(Review.objects.order_by("pk").values_list("pk", "status")),
        "assignments": list(ReviewerAssignment.objects.order_by("pk").values_list("pk", "reviewing_state_id")),
        "threads": list(Thread.objects.order_by("pk").values_list("pk", "status", "assignee_id")),
        "comments": list(Comment.objects.order_by("pk").values_list("pk", "body")),
        "jobs": list(Job.objects.order_by("pk").values_list("pk", "status", "result_name")),
        # The dialogue's notifications, the observations and the summary (reviews/models_observations.py).
        "notifications": list(Notification.objects.order_by("pk").values_list("pk", "read_at")),
        "observations": list(Observation.objects.order_by("pk").values_list("pk", "status", "kind", "text")),
        "agreements": list(ObservationAgreement.objects.order_by("pk").values_list("pk", "state_id")),
        "observation_comments": list(ObservationComment.objects.order_by("pk").values_list("pk", "body")),
        "summaries": list(Summary.objects.order_by("pk").values_list("pk", "status", "text")),
        "clearances": list(SummaryClearance.objects.order_by("pk").values_list("pk", "state_id")),
        "summary_comments": list(SummaryComment.objects.order_by("pk").values_list("pk", "body")),
        "final_documents": list(FinalDocument.objects.order_by("pk").values_list("pk", "version", "sha256")),
        # Evidence, delegation, the secretariat's draw and deadlines, offers and needs (tests/security).
        **_more_fingerprint(),
    }


def _more_fingerprint() -> dict[str, list]:
    from questionnaire.models import AnswerEvidence, ArticleAssignment, Evidence
    from reviews.models import (
        DeadlineExtension,
        DrawEvent,
        ExpertAppointment,
        ExpertiseOffer,
        FocalPointAppointment,
        ReviewGroupMember,
        TechnicalAssistanceNeed,
    )

    return {
        "evidence": list(Evidence.objects.order_by("pk").values_list("pk", "title", "link", "revision", "file")),
        "answer_evidence": list(AnswerEvidence.objects.order_by("pk").values_list("pk", "evidence_id")),
        "article_assignments": list(ArticleAssignment.objects.order_by("pk").values_list("pk", "assignee_id")),
        "deadline_extensions": list(DeadlineExtension.objects.order_by("pk").values_list("pk", "due_date")),
        "draw_events": list(DrawEvent.objects.order_by("pk").values_list("pk")),
        "focal_point_appointments": list(FocalPointAppointment.objects.order_by("pk").values_list("pk", "user_id", "ended_at")),
        "expert_appointments": list(ExpertAppointment.objects.order_by("pk").values_list("pk", "user_id", "ended_at")),
        "group_members": list(ReviewGroupMember.objects.order_by("pk").values_list("pk", "group_id", "state_id")),
        "offers": list(ExpertiseOffer.objects.order_by("pk").values_list("pk", "description")),
        "ta_needs": list(TechnicalAssistanceNeed.objects.order_by("pk").values_list("pk", "status")),
    }


@pytest.fixture
def assignment_a(response_a, focal_point_a, contributor_a):
    """Article 5 of response_a, assigned by the focal point to the contributor."""
    from questionnaire.models import Article
    from questionnaire.services import article_assign

    article = Article.objects.get(version_id=response_a.version_id, number=5)
    return article_assign(response=response_a, article=article, assignee=contributor_a, by=focal_point_a)


# --- Observations, summary and final documents of A's review (tests/views/test_observation_views.py) ---


@pytest.fixture
def observation_a(submitted_a, review_a, reviewer, version):
    """A draft observation on article 5 of A's review, by the reviewer, once the
    review has moved on to "observations being drafted"."""
    from questionnaire.models import Article
    from reviews.services_observations import observation_create
    from tests.factories import review_to_drafting_observations

    review_to_drafting_observations(fresh_review(review_a), reviewer)
    review = fresh_review(review_a)
    return observation_create(
        review=review,
        article=Article.objects.get(version=version, number=5),
        kind="gap",
        text="No offence covers the conversion of blank-firing weapons.",
        by=reviewer,
    )


@pytest.fixture
def summary_a(observation_a, review_a, focal_point_a, reviewer):
    """A's observation agreed by the three States, the review agreed, the summary drafted."""
    from reviews.services_observations import summary_save
    from reviews.services_workflow import review_transition
    from tests.factories import agree_by_all, second_reviewer

    agree_by_all(observation_a, [focal_point_a, reviewer, second_reviewer(review_a)])
    review_transition(review=fresh_review(review_a), to=Review.Status.AGREED, by=focal_point_a)
    return summary_save(review=fresh_review(review_a), text="Arcadia criminalizes most conduct.", by=reviewer)


@pytest.fixture
def final_document_a(summary_a, review_a, focal_point_a, reviewer, secretariat, django_capture_on_commit_callbacks):
    """The summary cleared and finalized, and version 1 of the final documents built."""
    from reviews.models import FinalDocument, Summary
    from reviews.services_observations import final_documents_request, summary_clear, summary_finalize

    same_group = review_a.assignments.get(slot=ReviewerAssignment.Slot.SAME_GROUP).reviewing_state
    expert_b = Membership.objects.get(role=Membership.Role.REVIEWER, state=same_group, is_active=True).user
    for person in (focal_point_a, reviewer, expert_b):
        summary_clear(summary=Summary.objects.select_related("review").get(pk=summary_a.pk), by=person)
    summary_finalize(summary=Summary.objects.select_related("review").get(pk=summary_a.pk), by=secretariat)
    with django_capture_on_commit_callbacks(execute=True):
        final_documents_request(review=fresh_review(review_a), by=secretariat)
    return FinalDocument.objects.filter(review=review_a, kind="summary", format="pdf").get()
