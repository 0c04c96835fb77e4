"""Who gets what, for every URL of the project.

ACCESS has one entry per URL pattern (walked from the resolver, so that a new
view without an access rule fails ``test_it_has_an_access_rule_for_every_url_pattern``).
Each entry says how to build the URL from the fixtures and, per request method and
per state of A's response (draft, or submitted with a thread on it), what each
persona gets. A request that is refused (or merely shows a form again) must leave
the database exactly as it was. Every answer also carries a Content-Security-Policy
without 'unsafe-inline', and, for a signed-in persona, Cache-Control: no-store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from parties.models import Membership

from .conftest import LOGIN_URL, PERSONAS, client_for, db_fingerprint

pytestmark = pytest.mark.django_db

DRAFT, SUBMITTED = "draft", "submitted"

# Mounted apps that are not ours to rule here, and why.
SKIPPED_PREFIXES = {
    "admin/": "the Django admin: staff only, Django's own permission checks",
    "i18n/": "set_language: no data behind it",
    "accounts/": "django-allauth's sign-in, second factor, password reset and own sessions: "
    "tests/views/test_signin.py checks that each is public by name or asks to sign in",
}


# --- Expectations ------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    status: int
    # Where a redirect goes: a path prefix, or a function of the context.
    to: str | Callable[[Any], str] | None = None
    # The request may change the database (a successful action); otherwise the
    # database must be left exactly as it was.
    changes: bool = False

    def location(self, ctx) -> str | None:
        return self.to(ctx) if callable(self.to) else self.to

    def describe(self, ctx) -> str:
        where = self.location(ctx)
        return f"{self.status}" + (f" → {where}" if where else "")


@dataclass(frozen=True)
class AnyOf:
    """Either outcome is acceptable (both refuse and change nothing); the precise
    one is pinned by a dedicated test elsewhere."""

    options: tuple[Expect, ...]
    changes: bool = False

    def describe(self, ctx) -> str:
        return " or ".join(o.describe(ctx) for o in self.options)


OK = Expect(200)
LOGIN = Expect(302, LOGIN_URL + "?next=")
FORBIDDEN = Expect(403)
NOT_FOUND = Expect(404)
NOT_ALLOWED = Expect(405)


def done(to=None, status: int = 302) -> Expect:
    return Expect(status, to, changes=True)


def to_response(ctx) -> str:
    return reverse("questionnaire:response", args=[ctx.response.pk])


def to_submitted(ctx) -> str:
    return reverse("questionnaire:submitted", args=[ctx.response.pk])


def to_completeness(ctx) -> str:
    return reverse("questionnaire:completeness", args=[ctx.response.pk])


def to_review_article(ctx) -> str:
    return reverse("reviews:article", args=[ctx.review.pk, 5]) + "#q-FP-5.1.a.status"


# Editing a submitted response: nothing saved, back to a page of that response
# (its article or its overview) with a message; test_answering checks the message.
LOCKED = Expect(302, lambda ctx: to_response(ctx))


def who(**expectations) -> dict[str, Expect | AnyOf]:
    """One expectation per persona, all of them named."""
    missing = set(PERSONAS) - set(expectations)
    extra = set(expectations) - set(PERSONAS)
    assert not missing and not extra, f"missing {missing}, unknown {extra}"
    return expectations


def signed_in(expect, **overrides) -> dict[str, Expect | AnyOf]:
    """Anonymous → login; every signed-in persona → ``expect`` unless overridden."""
    return who(**{p: expect for p in PERSONAS if p != "anonymous"} | {"anonymous": LOGIN} | overrides)


def secretariat_only(expect=OK, others=FORBIDDEN) -> dict[str, Expect | AnyOf]:
    return signed_in(others, secretariat=expect)


# A's response: its own people always; the secretariat once submitted; nobody else,
# reviewers included (they read through reviews/*).
RESPONSE_DRAFT = signed_in(NOT_FOUND, focal_point_a=OK, contributor_a=OK)
RESPONSE_SUBMITTED = signed_in(NOT_FOUND, focal_point_a=OK, contributor_a=OK, secretariat=OK)
# A's review: the State under review (its observers too), its assigned reviewers and the secretariat.
REVIEW_VISIBLE = signed_in(
    NOT_FOUND, focal_point_a=OK, contributor_a=OK, reviewer=OK, secretariat=OK, observer_a=OK
)


@dataclass(frozen=True)
class Case:
    method: str
    phase: str
    expect: dict[str, Expect | AnyOf]
    data: Callable[[Any], dict] = field(default=lambda ctx: {})


@dataclass(frozen=True)
class Rule:
    url: Callable[[Any], str]
    cases: tuple[Case, ...]


def _article_post(ctx) -> dict:
    return {"FP-5.1.a.q3": "7", "revisions": "{}"}


def _thread_post(ctx) -> dict:
    return {"kind": "comment", "body": "A comment from the access matrix."}


def _reply_post(ctx) -> dict:
    return {"body": "A reply from the access matrix."}


def _cycle_post(ctx) -> dict:
    return {"cluster": ctx.version.cluster_id, "year": 2027, "states": [ctx.state_b.pk], "seed": "matrix"}


def _job_post(ctx) -> dict:
    return {"kind": "cluster_report", "cycle": ctx.cycle.pk}


def _invitation_post(ctx) -> dict:
    return {"email": "matrix@example.org", "role": Membership.Role.CONTRIBUTOR, "state": ctx.state_a.pk}


def _matrix_evidence(ctx):
    return __import__("tests.views.test_evidence_views", fromlist=["_"]).matrix_evidence(ctx)


def _to_library(ctx) -> str:
    return reverse("questionnaire:evidence_library", args=[ctx.state_a.iso3])


def _evidence_edit_post(ctx) -> dict:
    return {"title": "Matrix act (edited)", "article": "s. 1", "date": "2020-01-31", "revision": "1"}


ACCESS: dict[str, Rule] = {
    "home": Rule(lambda ctx: reverse("home"), (Case("GET", DRAFT, signed_in(OK)),)),
    # Everyone signed in gets their own token (tests/views/test_form_token.py).
    "form_token": Rule(lambda ctx: reverse("form_token"), (Case("GET", DRAFT, signed_in(OK)),)),
    # --- Answering (questionnaire/*) ---
    "questionnaire:response": Rule(
        lambda ctx: reverse("questionnaire:response", args=[ctx.response.pk]),
        (Case("GET", DRAFT, RESPONSE_DRAFT), Case("GET", SUBMITTED, RESPONSE_SUBMITTED)),
    ),
    "questionnaire:cluster": Rule(
        lambda ctx: reverse("questionnaire:cluster", args=[ctx.response.pk]),
        (
            Case("GET", DRAFT, RESPONSE_DRAFT),
            Case("GET", SUBMITTED, RESPONSE_SUBMITTED),
            Case(
                "POST",
                DRAFT,
                signed_in(
                    NOT_FOUND,
                    focal_point_a=done(lambda ctx: reverse("questionnaire:cluster", args=[ctx.response.pk])),
                    contributor_a=done(lambda ctx: reverse("questionnaire:cluster", args=[ctx.response.pk])),
                ),
                _article_post,
            ),
            Case(
                "POST",
                SUBMITTED,
                signed_in(NOT_FOUND, focal_point_a=LOCKED, contributor_a=LOCKED, secretariat=AnyOf((FORBIDDEN, LOCKED))),
                _article_post,
            ),
        ),
    ),
    "questionnaire:article": Rule(
        lambda ctx: reverse("questionnaire:article", args=[ctx.response.pk, 5]),
        (
            Case("GET", DRAFT, RESPONSE_DRAFT),
            Case("GET", SUBMITTED, RESPONSE_SUBMITTED),
            Case(
                "POST",
                DRAFT,
                signed_in(
                    NOT_FOUND,
                    focal_point_a=done(lambda ctx: reverse("questionnaire:article", args=[ctx.response.pk, 5])),
                    contributor_a=done(lambda ctx: reverse("questionnaire:article", args=[ctx.response.pk, 5])),
                ),
                _article_post,
            ),
            Case(
                "POST",
                SUBMITTED,
                # The secretariat never edits: a plain refusal, or the same redirect.
                signed_in(NOT_FOUND, focal_point_a=LOCKED, contributor_a=LOCKED, secretariat=AnyOf((FORBIDDEN, LOCKED))),
                _article_post,
            ),
        ),
    ),
    "questionnaire:answer_save": Rule(
        lambda ctx: reverse("questionnaire:answer_save", args=[ctx.response.pk, "FP-5.1.a.q3"]),
        (
            Case("GET", DRAFT, signed_in(NOT_ALLOWED)),
            Case("POST", DRAFT, signed_in(NOT_FOUND, focal_point_a=done(status=200), contributor_a=done(status=200)),
                 lambda ctx: {"FP-5.1.a.q3": "7", "rev-FP-5.1.a.q3": "0"}),
            Case("POST", SUBMITTED, signed_in(NOT_FOUND, focal_point_a=Expect(409), contributor_a=Expect(409),
                                              secretariat=Expect(409)),
                 lambda ctx: {"FP-5.1.a.q3": "7", "rev-FP-5.1.a.q3": "0"}),
        ),
    ),
    "questionnaire:carry_over": Rule(
        lambda ctx: reverse("questionnaire:carry_over", args=[ctx.response.pk]),
        (
            Case("GET", DRAFT, signed_in(NOT_ALLOWED)),
            # No earlier version answered: nothing to copy, back to the overview.
            Case("POST", DRAFT, signed_in(NOT_FOUND, focal_point_a=Expect(302, to_response),
                                          contributor_a=Expect(302, to_response))),
            Case("POST", SUBMITTED, signed_in(NOT_FOUND, focal_point_a=FORBIDDEN, contributor_a=FORBIDDEN,
                                              secretariat=FORBIDDEN)),
        ),
    ),
    "questionnaire:assign": Rule(
        lambda ctx: reverse("questionnaire:assign", args=[ctx.response.pk]),
        (
            Case("GET", DRAFT, signed_in(NOT_ALLOWED)),
            Case("POST", DRAFT, signed_in(NOT_FOUND, focal_point_a=done(to_response), contributor_a=FORBIDDEN),
                 lambda ctx: {"article": "5", "assignee": str(ctx.contributor.pk)}),
            Case("POST", SUBMITTED, signed_in(NOT_FOUND, focal_point_a=FORBIDDEN, contributor_a=FORBIDDEN,
                                              secretariat=FORBIDDEN),
                 lambda ctx: {"article": "5", "assignee": str(ctx.contributor.pk)}),
        ),
    ),
    "questionnaire:unassign": Rule(
        lambda ctx: reverse("questionnaire:unassign", args=[ctx.response.pk, ctx.assignment.pk]),
        (
            Case("GET", DRAFT, signed_in(NOT_ALLOWED)),
            Case("POST", DRAFT, signed_in(NOT_FOUND, focal_point_a=done(to_response), contributor_a=FORBIDDEN)),
        ),
    ),
    "questionnaire:completeness": Rule(
        lambda ctx: reverse("questionnaire:completeness", args=[ctx.response.pk]),
        (Case("GET", DRAFT, RESPONSE_DRAFT), Case("GET", SUBMITTED, RESPONSE_SUBMITTED)),
    ),
    "questionnaire:submit": Rule(
        lambda ctx: reverse("questionnaire:submit", args=[ctx.response.pk]),
        (
            Case("GET", DRAFT, signed_in(NOT_FOUND, focal_point_a=OK, contributor_a=FORBIDDEN)),
            # Incomplete: the focal point is sent to the completeness page, nothing changes.
            Case(
                "POST",
                DRAFT,
                signed_in(NOT_FOUND, focal_point_a=Expect(302, to_completeness), contributor_a=FORBIDDEN),
            ),
            Case(
                "GET",
                SUBMITTED,
                signed_in(
                    NOT_FOUND,
                    focal_point_a=Expect(302, to_submitted),
                    contributor_a=Expect(302, to_submitted),
                    secretariat=Expect(302, to_submitted),
                ),
            ),
            Case(
                "POST",
                SUBMITTED,
                signed_in(
                    NOT_FOUND,
                    focal_point_a=Expect(302, to_submitted),
                    contributor_a=Expect(302, to_submitted),
                    secretariat=Expect(302, to_submitted),
                ),
            ),
        ),
    ),
    "questionnaire:submitted": Rule(
        lambda ctx: reverse("questionnaire:submitted", args=[ctx.response.pk]),
        (
            Case(
                "GET",
                DRAFT,
                signed_in(NOT_FOUND, focal_point_a=Expect(302, to_response), contributor_a=Expect(302, to_response)),
            ),
            Case("GET", SUBMITTED, RESPONSE_SUBMITTED),
        ),
    ),
    # --- The response as documents (PDF, Word): whoever may view it ---
    "questionnaire:document_pdf": Rule(
        lambda ctx: reverse("questionnaire:document_pdf", args=[ctx.response.pk]),
        (Case("GET", DRAFT, RESPONSE_DRAFT), Case("GET", SUBMITTED, RESPONSE_SUBMITTED)),
    ),
    "questionnaire:document_docx": Rule(
        lambda ctx: reverse("questionnaire:document_docx", args=[ctx.response.pk]),
        (Case("GET", DRAFT, RESPONSE_DRAFT), Case("GET", SUBMITTED, RESPONSE_SUBMITTED)),
    ),
    # --- Working offline (XLSX round trip): download to whoever may view, import to editors of a draft ---
    "questionnaire:offline_download": Rule(
        lambda ctx: reverse("questionnaire:offline_download", args=[ctx.response.pk]),
        (Case("GET", DRAFT, RESPONSE_DRAFT), Case("GET", SUBMITTED, RESPONSE_SUBMITTED)),
    ),
    "questionnaire:offline_upload": Rule(
        lambda ctx: reverse("questionnaire:offline_upload", args=[ctx.response.pk]),
        (
            Case("GET", DRAFT, RESPONSE_DRAFT),
            Case("GET", SUBMITTED, signed_in(NOT_FOUND, focal_point_a=LOCKED, contributor_a=LOCKED, secretariat=LOCKED)),
            # No file: the form again with its error, nothing kept.
            Case("POST", DRAFT, signed_in(NOT_FOUND, focal_point_a=Expect(422), contributor_a=Expect(422))),
            Case("POST", SUBMITTED, signed_in(NOT_FOUND, focal_point_a=LOCKED, contributor_a=LOCKED, secretariat=LOCKED)),
        ),
    ),
    "questionnaire:offline_confirm": Rule(
        lambda ctx: reverse("questionnaire:offline_confirm", args=[ctx.response.pk]),
        (
            Case("GET", DRAFT, signed_in(NOT_ALLOWED)),
            # No valid token: back to the upload page, nothing saved.
            Case(
                "POST",
                DRAFT,
                signed_in(
                    NOT_FOUND,
                    focal_point_a=Expect(302, lambda ctx: reverse("questionnaire:offline_upload", args=[ctx.response.pk])),
                    contributor_a=Expect(302, lambda ctx: reverse("questionnaire:offline_upload", args=[ctx.response.pk])),
                ),
            ),
            Case("POST", SUBMITTED, signed_in(NOT_FOUND, focal_point_a=LOCKED, contributor_a=LOCKED, secretariat=LOCKED)),
        ),
    ),
    # --- Evidence: a State's library (its answering people), files (also the secretariat and the
    # assigned reviewers once a response using them is submitted), attachments frozen at submission.
    # The evidence used comes from tests/views/test_evidence_views.py:matrix_evidence.
    "questionnaire:evidence_library": Rule(
        lambda ctx: reverse("questionnaire:evidence_library", args=[ctx.state_a.iso3]),
        (
            Case("GET", DRAFT, signed_in(NOT_FOUND, focal_point_a=OK, contributor_a=OK)),
            Case(
                "POST",
                DRAFT,
                signed_in(
                    NOT_FOUND,
                    focal_point_a=done(lambda ctx: reverse("questionnaire:evidence_library", args=[ctx.state_a.iso3])),
                    contributor_a=done(lambda ctx: reverse("questionnaire:evidence_library", args=[ctx.state_a.iso3])),
                ),
                lambda ctx: {"action": "cite", "cite-title": "Firearms Act (matrix)", "cite-link": "https://example.org/a"},
            ),
        ),
    ),
    "questionnaire:evidence_download": Rule(
        lambda ctx: reverse(
            "questionnaire:evidence_download",
            args=[__import__("tests.views.test_evidence_views", fromlist=["_"]).matrix_evidence(ctx).pk],
        ),
        (
            Case("GET", DRAFT, RESPONSE_DRAFT),
            Case("GET", SUBMITTED, signed_in(NOT_FOUND, focal_point_a=OK, contributor_a=OK, reviewer=OK, secretariat=OK)),
        ),
    ),
    "questionnaire:evidence_attach": Rule(
        lambda ctx: reverse("questionnaire:evidence_attach", args=[ctx.response.pk, "FP-5.1.a.status"]),
        (
            Case("GET", DRAFT, RESPONSE_DRAFT),
            Case(
                "GET",
                SUBMITTED,
                signed_in(
                    NOT_FOUND,
                    focal_point_a=Expect(302, lambda ctx: reverse("questionnaire:article", args=[ctx.response.pk, 5])),
                    contributor_a=Expect(302, lambda ctx: reverse("questionnaire:article", args=[ctx.response.pk, 5])),
                    secretariat=FORBIDDEN,
                ),
            ),
            Case(
                "POST",
                DRAFT,
                signed_in(
                    NOT_FOUND,
                    focal_point_a=done(lambda ctx: reverse("questionnaire:article", args=[ctx.response.pk, 5])),
                    contributor_a=done(lambda ctx: reverse("questionnaire:article", args=[ctx.response.pk, 5])),
                ),
                lambda ctx: {"action": "cite", "cite-title": "Firearms Act (matrix)"},
            ),
            Case(
                "POST",
                SUBMITTED,
                signed_in(
                    NOT_FOUND,
                    focal_point_a=Expect(302, lambda ctx: reverse("questionnaire:article", args=[ctx.response.pk, 5])),
                    contributor_a=Expect(302, lambda ctx: reverse("questionnaire:article", args=[ctx.response.pk, 5])),
                    secretariat=FORBIDDEN,
                ),
                lambda ctx: {"action": "cite", "cite-title": "Firearms Act (matrix)"},
            ),
        ),
    ),
    "questionnaire:evidence_detach": Rule(
        lambda ctx: reverse(
            "questionnaire:evidence_detach",
            args=[
                ctx.response.pk,
                "FP-5.1.a.status",
                __import__("tests.views.test_evidence_views", fromlist=["_"]).matrix_evidence(ctx).pk,
            ],
        ),
        (
            Case("GET", DRAFT, signed_in(NOT_ALLOWED)),
            # The second detach finds nothing attached: the same redirect, nothing changes.
            Case(
                "POST",
                DRAFT,
                signed_in(
                    NOT_FOUND,
                    focal_point_a=done(
                        lambda ctx: reverse("questionnaire:evidence_attach", args=[ctx.response.pk, "FP-5.1.a.status"])
                    ),
                    contributor_a=done(
                        lambda ctx: reverse("questionnaire:evidence_attach", args=[ctx.response.pk, "FP-5.1.a.status"])
                    ),
                ),
            ),
            Case(
                "POST",
                SUBMITTED,
                signed_in(
                    NOT_FOUND,
                    focal_point_a=Expect(302, lambda ctx: reverse("questionnaire:article", args=[ctx.response.pk, 5])),
                    contributor_a=Expect(302, lambda ctx: reverse("questionnaire:article", args=[ctx.response.pk, 5])),
                    secretariat=FORBIDDEN,
                ),
            ),
        ),
    ),
    # --- Editing and deleting a library entry: its State's answering people, while no submitted
    # response uses it (then refused with a message, back to the library); the secretariat and the
    # assigned reviewers read a submitted response's evidence but may not change it (403).
    "questionnaire:evidence_edit": Rule(
        lambda ctx: reverse("questionnaire:evidence_edit", args=[_matrix_evidence(ctx).pk]),
        (
            Case("GET", DRAFT, RESPONSE_DRAFT),
            Case("GET", SUBMITTED, signed_in(NOT_FOUND, focal_point_a=Expect(302, _to_library),
                                             contributor_a=Expect(302, _to_library), reviewer=FORBIDDEN,
                                             secretariat=FORBIDDEN)),
            # Both post the same text: the second asks for what is stored, which is no conflict.
            Case("POST", DRAFT, signed_in(NOT_FOUND, focal_point_a=done(_to_library), contributor_a=done(_to_library)),
                 _evidence_edit_post),
            Case("POST", SUBMITTED, signed_in(NOT_FOUND, focal_point_a=Expect(302, _to_library),
                                              contributor_a=Expect(302, _to_library), reviewer=FORBIDDEN,
                                              secretariat=FORBIDDEN),
                 _evidence_edit_post),
        ),
    ),
    "questionnaire:evidence_delete": Rule(
        lambda ctx: reverse("questionnaire:evidence_delete", args=[_matrix_evidence(ctx).pk]),
        (
            Case("GET", DRAFT, RESPONSE_DRAFT),
            Case("GET", SUBMITTED, signed_in(NOT_FOUND, focal_point_a=Expect(302, _to_library),
                                             contributor_a=Expect(302, _to_library), reviewer=FORBIDDEN,
                                             secretariat=FORBIDDEN)),
            # A's focal point deletes it; for the contributor, who comes next, it is gone.
            Case("POST", DRAFT, signed_in(NOT_FOUND, focal_point_a=done(_to_library),
                                          contributor_a=AnyOf((done(_to_library), NOT_FOUND), changes=True)),
                 lambda ctx: {"revision": "1"}),
            Case("POST", SUBMITTED, signed_in(NOT_FOUND, focal_point_a=Expect(302, _to_library),
                                              contributor_a=Expect(302, _to_library), reviewer=FORBIDDEN,
                                              secretariat=FORBIDDEN),
                 lambda ctx: {"revision": "1"}),
        ),
    ),
    # --- Cycles (secretariat) ---
    "reviews:cycles": Rule(lambda ctx: reverse("reviews:cycles"), (Case("GET", DRAFT, secretariat_only()),)),
    "reviews:cycle_launch": Rule(
        lambda ctx: reverse("reviews:cycle_launch"),
        (
            Case("GET", DRAFT, secretariat_only()),
            Case("POST", DRAFT, secretariat_only(done("/reviews/cycles/")), _cycle_post),
        ),
    ),
    "reviews:cycle": Rule(
        lambda ctx: reverse("reviews:cycle", args=[ctx.cycle.pk]), (Case("GET", DRAFT, secretariat_only()),)
    ),
    # --- The review of A ---
    "reviews:review": Rule(
        lambda ctx: reverse("reviews:review", args=[ctx.review.pk]),
        (Case("GET", DRAFT, REVIEW_VISIBLE), Case("GET", SUBMITTED, REVIEW_VISIBLE)),
    ),
    "reviews:article": Rule(
        lambda ctx: reverse("reviews:article", args=[ctx.review.pk, 5]),
        (
            # Visible review, but no answers to read before submission.
            Case(
                "GET",
                DRAFT,
                signed_in(
                    NOT_FOUND, focal_point_a=FORBIDDEN, contributor_a=FORBIDDEN, reviewer=FORBIDDEN, secretariat=FORBIDDEN,
                    observer_a=FORBIDDEN,
                ),
            ),
            Case("GET", SUBMITTED, REVIEW_VISIBLE),
        ),
    ),
    "reviews:thread_create": Rule(
        lambda ctx: reverse("reviews:thread_create", args=[ctx.review.pk, "FP-5.1.a.status"]),
        (
            Case("GET", SUBMITTED, signed_in(NOT_ALLOWED)),
            Case(
                "POST",
                DRAFT,
                signed_in(
                    NOT_FOUND, focal_point_a=FORBIDDEN, contributor_a=FORBIDDEN, reviewer=FORBIDDEN, secretariat=FORBIDDEN,
                    observer_a=FORBIDDEN,
                ),
                _thread_post,
            ),
            Case(
                "POST",
                SUBMITTED,
                signed_in(
                    NOT_FOUND,
                    focal_point_a=FORBIDDEN,
                    contributor_a=FORBIDDEN,
                    reviewer=done(to_review_article),
                    secretariat=FORBIDDEN,
                    observer_a=FORBIDDEN,
                ),
                _thread_post,
            ),
        ),
    ),
    "reviews:comment_create": Rule(
        lambda ctx: reverse("reviews:comment_create", args=[ctx.thread.pk]),
        (
            Case("GET", SUBMITTED, signed_in(NOT_ALLOWED)),
            Case(
                "POST",
                SUBMITTED,
                signed_in(
                    NOT_FOUND,
                    focal_point_a=done(to_review_article),
                    contributor_a=done(to_review_article),
                    reviewer=done(to_review_article),
                    secretariat=FORBIDDEN,
                    observer_a=FORBIDDEN,
                ),
                _reply_post,
            ),
        ),
    ),
    "reviews:thread_resolve": Rule(
        lambda ctx: reverse("reviews:thread_resolve", args=[ctx.thread.pk]),
        (
            Case("GET", SUBMITTED, signed_in(NOT_ALLOWED)),
            Case(
                "POST",
                SUBMITTED,
                signed_in(
                    NOT_FOUND,
                    focal_point_a=FORBIDDEN,
                    contributor_a=FORBIDDEN,
                    reviewer=done(to_review_article),
                    secretariat=FORBIDDEN,
                    observer_a=FORBIDDEN,
                ),
            ),
        ),
    ),
    # --- Jobs (secretariat) ---
    "reviews:jobs": Rule(lambda ctx: reverse("reviews:jobs"), (Case("GET", DRAFT, secretariat_only()),)),
    "reviews:job_create": Rule(
        lambda ctx: reverse("reviews:job_create"),
        (
            Case("GET", DRAFT, signed_in(NOT_ALLOWED)),
            Case("POST", DRAFT, secretariat_only(done("/reviews/jobs/")), _job_post),
        ),
    ),
    "reviews:job": Rule(
        lambda ctx: reverse("reviews:job", args=[ctx.job.pk]),
        (Case("GET", DRAFT, secretariat_only(OK, NOT_FOUND)),),
    ),
    "reviews:job_download": Rule(
        lambda ctx: reverse("reviews:job_download", args=[ctx.job.pk]),
        (Case("GET", DRAFT, secretariat_only(OK, NOT_FOUND)),),
    ),
    # --- Reports, dashboards, job cancellation (secretariat; reviews/urls_reports.py) ---
    "reviews:dashboard": Rule(lambda ctx: reverse("reviews:dashboard"), (Case("GET", SUBMITTED, secretariat_only()),)),
    "reviews:cycle_csv": Rule(
        lambda ctx: reverse("reviews:cycle_csv", args=[ctx.cycle.pk]),
        (Case("GET", SUBMITTED, secretariat_only()),),
    ),
    "reviews:general_report": Rule(
        lambda ctx: reverse("reviews:general_report", args=[ctx.cycle.pk]),
        (
            Case("GET", DRAFT, signed_in(NOT_ALLOWED)),
            Case("POST", SUBMITTED, secretariat_only(done("/reviews/jobs/")), lambda ctx: {"format": "docx"}),
        ),
    ),
    "reviews:job_cancel": Rule(
        lambda ctx: reverse("reviews:job_cancel", args=[ctx.job.pk]),
        (
            Case("GET", DRAFT, signed_in(NOT_ALLOWED)),
            # A finished job: the secretariat is told it has ended, nothing changes.
            Case(
                "POST",
                DRAFT,
                secretariat_only(Expect(302, lambda ctx: reverse("reviews:job", args=[ctx.job.pk])), NOT_FOUND),
            ),
        ),
    ),
    # --- People ---
    "parties:invite": Rule(
        lambda ctx: reverse("parties:invite"),
        (
            Case("GET", DRAFT, signed_in(FORBIDDEN, focal_point_a=OK, focal_point_b=OK, secretariat=OK)),
            Case(
                "POST",
                DRAFT,
                signed_in(
                    FORBIDDEN,
                    focal_point_a=done("/people/invitations/"),
                    # B's focal point cannot pick State A: the form again, nothing sent.
                    focal_point_b=OK,
                    secretariat=done("/people/invitations/"),
                ),
                _invitation_post,
            ),
        ),
    ),
    # The one page for people who have no account yet.
    "parties:account": Rule(
        lambda ctx: reverse("parties:account"),
        (
            Case("GET", DRAFT, signed_in(OK)),
            Case("POST", DRAFT, signed_in(NOT_ALLOWED)),
        ),
    ),
    "parties:accept": Rule(
        lambda ctx: reverse("parties:accept", args=[ctx.token]),
        (
            Case("GET", DRAFT, who(**{p: OK for p in PERSONAS})),
            # An empty form: shown again with its errors, no account created.
            Case("POST", DRAFT, who(**{p: OK for p in PERSONAS})),
        ),
    ),
}


# --- The history of an answer (questionnaire/urls_history.py) ---


def _history_restore_url(ctx) -> str:
    """Restoring revision 1 of an answer of A. In a draft, A's focal point first saves
    FP-5.1.a.q3 twice (so revision 1 is an earlier version); once submitted,
    FP-5.1.a.status, which the submission's fill_required saved."""
    from tests.factories import question, save

    code = "FP-5.1.a.q3" if ctx.response.status == DRAFT else "FP-5.1.a.status"
    if ctx.response.status == DRAFT:
        focal_point = Membership.objects.get(state_id=ctx.response.state_id, role=Membership.Role.FOCAL_POINT).user
        for value in (1, 2):
            save(ctx.response, focal_point, {question(ctx.version, code): value})
    return reverse("questionnaire:answer_restore", args=[ctx.response.pk, code, 1])


def to_article_anchor(ctx, code: str) -> str:
    return reverse("questionnaire:article", args=[ctx.response.pk, 5]) + f"#q-{code}"


def to_history(ctx, code: str) -> str:
    return reverse("questionnaire:answer_history", args=[ctx.response.pk, code])


ACCESS.update(
    {
        "questionnaire:answer_history": Rule(
            lambda ctx: reverse("questionnaire:answer_history", args=[ctx.response.pk, "FP-5.1.a.status"]),
            (Case("GET", DRAFT, RESPONSE_DRAFT), Case("GET", SUBMITTED, RESPONSE_SUBMITTED)),
        ),
        "questionnaire:answer_restore": Rule(
            _history_restore_url,
            (
                Case("GET", DRAFT, signed_in(NOT_ALLOWED)),
                Case(
                    "POST",
                    DRAFT,
                    signed_in(
                        NOT_FOUND,
                        focal_point_a=done(lambda ctx: to_article_anchor(ctx, "FP-5.1.a.q3")),
                        contributor_a=done(lambda ctx: to_article_anchor(ctx, "FP-5.1.a.q3")),
                    ),
                ),
                # Submitted: back to the history with a message (test_history_views checks it).
                Case(
                    "POST",
                    SUBMITTED,
                    signed_in(
                        NOT_FOUND,
                        focal_point_a=Expect(302, lambda ctx: to_history(ctx, "FP-5.1.a.status")),
                        contributor_a=Expect(302, lambda ctx: to_history(ctx, "FP-5.1.a.status")),
                        secretariat=FORBIDDEN,
                    ),
                ),
            ),
        ),
    }
)


# --- The review's workflow (reviews/services_workflow.py): groups, draw changes, status,
# appointments, deadlines, overview. Assignment pages use the other-group slot of A's
# review (the ``reviewer`` persona's State, never an African one like B).


def _other_slot(ctx):
    from reviews.models import ReviewerAssignment

    return ReviewerAssignment.objects.get(review=ctx.review, slot=ReviewerAssignment.Slot.OTHER_GROUP)


def to_review(ctx) -> str:
    return reverse("reviews:review", args=[ctx.review.pk])


def to_assignment(ctx) -> str:
    return reverse("reviews:assignment", args=[_other_slot(ctx).pk])


def _tomorrow_next_year() -> str:
    import datetime

    return (datetime.date.today() + datetime.timedelta(days=400)).isoformat()


# Seen by the reviewing State's people (its reviewers here) and the secretariat.
ASSIGNMENT_VISIBLE = signed_in(NOT_FOUND, reviewer=OK, secretariat=OK)
# A review visible to the user, but a move the user is not entitled to: 403.
REVIEW_REFUSED = signed_in(
    NOT_FOUND, focal_point_a=FORBIDDEN, contributor_a=FORBIDDEN, reviewer=FORBIDDEN, secretariat=FORBIDDEN,
    observer_a=FORBIDDEN,
)

ACCESS.update(
    {
        "reviews:groups": Rule(
            lambda ctx: reverse("reviews:groups"),
            (
                Case("GET", DRAFT, secretariat_only()),
                Case("POST", DRAFT, secretariat_only(done("/reviews/groups/")),
                     lambda ctx: {"action": "draw", "first_year": 2020, "seed": "matrix"}),
            ),
        ),
        "reviews:workload": Rule(lambda ctx: reverse("reviews:workload"), (Case("GET", DRAFT, secretariat_only()),)),
        "reviews:overview": Rule(lambda ctx: reverse("reviews:overview"), (Case("GET", DRAFT, secretariat_only()),)),
        "reviews:overview_xlsx": Rule(
            lambda ctx: reverse("reviews:overview_xlsx"), (Case("GET", DRAFT, secretariat_only()),)
        ),
        "reviews:assignment": Rule(
            lambda ctx: to_assignment(ctx),
            (
                Case("GET", DRAFT, ASSIGNMENT_VISIBLE),
                # Its reviewers see the page but only its focal points (or the secretariat) appoint.
                Case(
                    "POST",
                    DRAFT,
                    signed_in(NOT_FOUND, reviewer=FORBIDDEN, secretariat=done(to_assignment)),
                    lambda ctx: {"action": "experts", "users": [ctx._request.getfixturevalue("reviewer").pk]},
                ),
            ),
        ),
        "reviews:assignment_change": Rule(
            lambda ctx: reverse("reviews:assignment_change", args=[_other_slot(ctx).pk]),
            (
                Case("GET", DRAFT, secretariat_only()),
                Case("POST", DRAFT, secretariat_only(done("/reviews/cycles/")),
                     lambda ctx: {"action": "redraw", "reason": "Asked to be replaced", "seed": "matrix"}),
            ),
        ),
        "reviews:review_transition": Rule(
            lambda ctx: reverse("reviews:review_transition", args=[ctx.review.pk]),
            (
                Case("GET", DRAFT, signed_in(NOT_ALLOWED)),
                # Nobody appointed yet: the secretariat is told what is missing, nothing moves.
                Case("POST", DRAFT, REVIEW_REFUSED | {"secretariat": Expect(302, to_review)},
                     lambda ctx: {"to": "appointed"}),
                Case("POST", SUBMITTED, REVIEW_REFUSED | {"reviewer": done(to_review)},
                     lambda ctx: {"to": "written_feedback"}),
            ),
        ),
        "reviews:focal_point_appoint": Rule(
            lambda ctx: reverse("reviews:focal_point_appoint", args=[ctx.review.pk]),
            (
                Case("GET", DRAFT, signed_in(NOT_ALLOWED)),
                Case(
                    "POST",
                    DRAFT,
                    REVIEW_REFUSED | {"focal_point_a": done(to_review), "secretariat": done(to_review)},
                    lambda ctx: {"state": ctx.state_a.pk, "user": ctx._request.getfixturevalue("focal_point_a").pk},
                ),
            ),
        ),
        "reviews:deadline_extend": Rule(
            lambda ctx: reverse("reviews:deadline_extend", args=[ctx.review.pk]),
            (
                Case("GET", DRAFT, signed_in(NOT_ALLOWED)),
                Case(
                    "POST",
                    DRAFT,
                    REVIEW_REFUSED | {"secretariat": done(to_review)},
                    lambda ctx: {"step": "self_assessment", "due_date": _tomorrow_next_year(), "reason": "Elections"},
                ),
            ),
        ),
    }
)


# --- The dialogue (reviews/urls_dialogue.py) and the observations, summary and final
# documents (reviews/urls_observations.py). Observers (observer_a) read what the
# review's people read once submitted, and are refused every POST (403).


def to_observations(ctx) -> str:
    return reverse("reviews:observations", args=[ctx.review.pk])


def to_thread(ctx) -> str:
    return reverse("reviews:article", args=[ctx.review.pk, 5]) + f"#thread-{ctx.thread.pk}"


def _with(ctx, fixture: str, url: str) -> str:
    """``url``, once the fixture exists (only after the submission: before it, none can)."""
    if ctx.response.status == SUBMITTED:
        getattr(ctx, fixture)
    return url


# Visible review, no answers to read before submission: 403 to its people, 404 to others.
READ_BEFORE_SUBMISSION = signed_in(
    NOT_FOUND, focal_point_a=FORBIDDEN, contributor_a=FORBIDDEN, reviewer=FORBIDDEN, secretariat=FORBIDDEN,
    observer_a=FORBIDDEN,
)
# A write by the review's people who may not make it: 403; outsiders 404.
REFUSED_TO_VISIBLE = READ_BEFORE_SUBMISSION


def _refused_but(**allowed) -> dict:
    refused = {p: FORBIDDEN for p in ("focal_point_a", "contributor_a", "reviewer", "secretariat", "observer_a")}
    return signed_in(NOT_FOUND, **(refused | allowed))


ACCESS.update(
    {
        "reviews:review_threads": Rule(
            lambda ctx: reverse("reviews:review_threads", args=[ctx.review.pk]) + "?article=5&status=open",
            (Case("GET", DRAFT, READ_BEFORE_SUBMISSION), Case("GET", SUBMITTED, REVIEW_VISIBLE)),
        ),
        "reviews:my_threads": Rule(
            lambda ctx: reverse("reviews:my_threads") + "?status=open",
            (Case("GET", DRAFT, signed_in(OK)), Case("GET", SUBMITTED, signed_in(OK))),
        ),
        "reviews:thread_assign": Rule(
            lambda ctx: reverse("reviews:thread_assign", args=[ctx.thread.pk]),
            (
                Case("GET", SUBMITTED, signed_in(NOT_ALLOWED)),
                Case(
                    "POST",
                    SUBMITTED,
                    _refused_but(focal_point_a=done(to_thread), contributor_a=done(to_thread), reviewer=done(to_thread)),
                    lambda ctx: {"assignee": str(ctx.contributor.pk)},
                ),
            ),
        ),
        "reviews:notifications": Rule(
            lambda ctx: reverse("reviews:notifications"), (Case("GET", SUBMITTED, signed_in(OK)),)
        ),
        "reviews:notifications_read": Rule(
            lambda ctx: reverse("reviews:notifications_read"),
            (
                Case("GET", SUBMITTED, signed_in(NOT_ALLOWED)),
                # Only one's own notifications (test_dialogue_views checks others' stay unread).
                Case("POST", SUBMITTED, signed_in(done("/reviews/notifications/"))),
            ),
        ),
        "reviews:observations": Rule(
            lambda ctx: _with(ctx, "observation", to_observations(ctx)),
            (Case("GET", DRAFT, READ_BEFORE_SUBMISSION), Case("GET", SUBMITTED, REVIEW_VISIBLE)),
        ),
        "reviews:observation_create": Rule(
            lambda ctx: reverse("reviews:observation_create", args=[ctx.review.pk]),
            (
                Case("GET", SUBMITTED, signed_in(NOT_ALLOWED)),
                Case("POST", DRAFT, REFUSED_TO_VISIBLE, lambda ctx: {"article": "5", "kind": "gap", "text": "Matrix."}),
                Case(
                    "POST",
                    SUBMITTED,
                    _refused_but(reviewer=done(to_observations)),
                    lambda ctx: {"article": "5", "kind": "gap", "text": "Matrix."},
                ),
            ),
        ),
        "reviews:observation_edit": Rule(
            lambda ctx: reverse("reviews:observation_edit", args=[ctx.observation.pk]),
            (
                Case("GET", SUBMITTED, _refused_but(reviewer=OK)),
                Case(
                    "POST",
                    SUBMITTED,
                    _refused_but(reviewer=done(to_observations)),
                    lambda ctx: {"kind": "gap", "text": "Edited in the matrix."},
                ),
            ),
        ),
        "reviews:observation_comment": Rule(
            lambda ctx: reverse("reviews:observation_comment", args=[ctx.observation.pk]),
            (
                Case("GET", SUBMITTED, signed_in(NOT_ALLOWED)),
                Case(
                    "POST",
                    SUBMITTED,
                    _refused_but(
                        focal_point_a=done(to_observations), contributor_a=done(to_observations), reviewer=done(to_observations)
                    ),
                    lambda ctx: {"body": "A comment from the matrix."},
                ),
            ),
        ),
        "reviews:observation_agree": Rule(
            lambda ctx: reverse("reviews:observation_agree", args=[ctx.observation.pk]),
            (
                Case("GET", SUBMITTED, signed_in(NOT_ALLOWED)),
                Case("POST", SUBMITTED, _refused_but(focal_point_a=done(to_observations), reviewer=done(to_observations))),
            ),
        ),
        "reviews:observation_history": Rule(
            lambda ctx: reverse("reviews:observation_history", args=[ctx.observation.pk]),
            (Case("GET", SUBMITTED, REVIEW_VISIBLE),),
        ),
        "reviews:summary_save": Rule(
            lambda ctx: _with(ctx, "summary", reverse("reviews:summary_save", args=[ctx.review.pk])),
            (
                Case("GET", SUBMITTED, signed_in(NOT_ALLOWED)),
                Case("POST", DRAFT, REFUSED_TO_VISIBLE, lambda ctx: {"text": "Matrix."}),
                Case("POST", SUBMITTED, _refused_but(reviewer=done(to_observations)), lambda ctx: {"text": "Matrix."}),
            ),
        ),
        "reviews:summary_comment": Rule(
            lambda ctx: _with(ctx, "summary", reverse("reviews:summary_comment", args=[ctx.review.pk])),
            (
                Case("GET", SUBMITTED, signed_in(NOT_ALLOWED)),
                Case(
                    "POST",
                    SUBMITTED,
                    _refused_but(
                        focal_point_a=done(to_observations), contributor_a=done(to_observations), reviewer=done(to_observations)
                    ),
                    lambda ctx: {"body": "A comment from the matrix."},
                ),
            ),
        ),
        "reviews:summary_clear": Rule(
            lambda ctx: _with(ctx, "summary", reverse("reviews:summary_clear", args=[ctx.review.pk])),
            (
                Case("GET", SUBMITTED, signed_in(NOT_ALLOWED)),
                Case("POST", SUBMITTED, _refused_but(focal_point_a=done(to_observations), reviewer=done(to_observations))),
            ),
        ),
        "reviews:summary_finalize": Rule(
            lambda ctx: _with(ctx, "summary", reverse("reviews:summary_finalize", args=[ctx.review.pk])),
            (
                Case("GET", SUBMITTED, signed_in(NOT_ALLOWED)),
                # Not cleared yet: the secretariat is told so, nothing changes.
                Case("POST", SUBMITTED, _refused_but(secretariat=Expect(302, to_observations))),
            ),
        ),
        "reviews:final_documents_build": Rule(
            lambda ctx: reverse("reviews:final_documents_build", args=[ctx.review.pk]),
            (
                Case("GET", SUBMITTED, signed_in(NOT_ALLOWED)),
                Case("POST", DRAFT, REFUSED_TO_VISIBLE),
                # No finalized summary: the secretariat is told so, nothing queued.
                Case("POST", SUBMITTED, _refused_but(secretariat=Expect(302, to_observations))),
            ),
        ),
        "reviews:final_document": Rule(
            lambda ctx: reverse("reviews:final_document", args=[ctx.final_document.pk]),
            (Case("GET", SUBMITTED, REVIEW_VISIBLE),),
        ),
    }
)


# --- Technical-assistance needs (reviews/urls_ta.py): the secretariat's list, refresh and report;
# a State's needs for its people, its assigned reviewers once submitted, and the secretariat;
# moves of a need by the State's focal point or the secretariat. The need comes from
# tests/views/test_ta_views.py:matrix_ta_need.


def _ta_need(ctx):
    return __import__("tests.views.test_ta_views", fromlist=["_"]).matrix_ta_need(ctx)


def to_ta_state(ctx) -> str:
    return reverse("reviews:ta_state", args=[ctx.state_a.iso3])


TA_STATE_VISIBLE = signed_in(NOT_FOUND, focal_point_a=OK, contributor_a=OK, observer_a=OK, secretariat=OK)
TA_STATE_ACT_DRAFT = signed_in(
    NOT_FOUND, focal_point_a=done(to_ta_state), contributor_a=FORBIDDEN, observer_a=FORBIDDEN, secretariat=done(to_ta_state)
)

ACCESS.update(
    {
        "reviews:ta_needs": Rule(lambda ctx: reverse("reviews:ta_needs"), (Case("GET", DRAFT, secretariat_only()),)),
        "reviews:ta_refresh": Rule(
            lambda ctx: reverse("reviews:ta_refresh"),
            (
                Case("GET", DRAFT, signed_in(NOT_ALLOWED)),
                Case("POST", SUBMITTED, secretariat_only(done("/reviews/ta/"))),
            ),
        ),
        "reviews:ta_report": Rule(
            lambda ctx: reverse("reviews:ta_report"),
            (
                Case("GET", DRAFT, signed_in(NOT_ALLOWED)),
                Case("POST", SUBMITTED, secretariat_only(done("/reviews/jobs/")), lambda ctx: {"format": "xlsx"}),
            ),
        ),
        "reviews:ta_state": Rule(
            to_ta_state,
            (Case("GET", DRAFT, TA_STATE_VISIBLE), Case("GET", SUBMITTED, TA_STATE_VISIBLE | {"reviewer": OK})),
        ),
        "reviews:ta_state_refresh": Rule(
            lambda ctx: reverse("reviews:ta_state_refresh", args=[ctx.state_a.iso3]),
            (
                Case("GET", DRAFT, signed_in(NOT_ALLOWED)),
                Case("POST", DRAFT, TA_STATE_ACT_DRAFT),
                Case("POST", SUBMITTED, TA_STATE_ACT_DRAFT | {"reviewer": FORBIDDEN}),
            ),
        ),
        "reviews:ta_need_move": Rule(
            lambda ctx: reverse("reviews:ta_need_move", args=[_ta_need(ctx).pk]),
            (
                Case("GET", DRAFT, signed_in(NOT_ALLOWED)),
                Case("POST", DRAFT, TA_STATE_ACT_DRAFT, lambda ctx: {"to": "requested"}),
                Case("POST", SUBMITTED, TA_STATE_ACT_DRAFT | {"reviewer": FORBIDDEN}, lambda ctx: {"to": "requested"}),
            ),
        ),
    }
)


# --- The recommendations registry, expertise offers and matching (reviews/views_registry.py) ---


def _to_offers_a(ctx) -> str:
    return reverse("reviews:state_offers", args=[ctx.state_a.iso3])


def _matrix_offer(ctx):
    from reviews.services_registry import expertise_offer_create

    fp = ctx._request.getfixturevalue("focal_point_a")
    return expertise_offer_create(by=fp, state=ctx.state_a, article_number=5, category="destruction",
                                  description="Matrix offer.", contact="matrix@example.org")


def _offer_post(ctx) -> dict:
    return {"article_number": "5", "category": "record_keeping", "description": "Matrix.", "contact": "m@example.org",
            "programme": "Matrix programme"}


# A State's offers: read by its people and the secretariat, recorded and withdrawn by its focal points.
OFFERS_OF_A = signed_in(NOT_FOUND, focal_point_a=OK, contributor_a=OK, observer_a=OK, secretariat=OK)
OFFERS_OF_A_REFUSED = signed_in(
    NOT_FOUND, focal_point_a=FORBIDDEN, contributor_a=FORBIDDEN, observer_a=FORBIDDEN, secretariat=FORBIDDEN
)

ACCESS.update(
    {
        "reviews:registry": Rule(lambda ctx: reverse("reviews:registry"), (Case("GET", SUBMITTED, signed_in(OK)),)),
        "reviews:registry_xlsx": Rule(
            lambda ctx: reverse("reviews:registry_xlsx"), (Case("GET", SUBMITTED, secretariat_only()),)
        ),
        "reviews:state_offers": Rule(
            _to_offers_a,
            (
                Case("GET", DRAFT, OFFERS_OF_A),
                Case("POST", DRAFT, OFFERS_OF_A_REFUSED | {"focal_point_a": done(_to_offers_a)}, _offer_post),
            ),
        ),
        "reviews:programme_offers": Rule(
            lambda ctx: reverse("reviews:programme_offers"),
            (
                Case("GET", DRAFT, secretariat_only()),
                Case("POST", DRAFT, secretariat_only(done("/reviews/expertise/programmes/")), _offer_post),
            ),
        ),
        "reviews:offer_withdraw": Rule(
            lambda ctx: reverse("reviews:offer_withdraw", args=[_matrix_offer(ctx).pk]),
            (
                Case("GET", DRAFT, signed_in(NOT_ALLOWED)),
                Case("POST", DRAFT, OFFERS_OF_A_REFUSED | {"focal_point_a": done(_to_offers_a)}),
            ),
        ),
        "reviews:matching": Rule(lambda ctx: reverse("reviews:matching"), (Case("GET", SUBMITTED, secretariat_only()),)),
        "reviews:matching_xlsx": Rule(
            lambda ctx: reverse("reviews:matching_xlsx"), (Case("GET", SUBMITTED, secretariat_only()),)
        ),
    }
)


# --- The audit log (audit/urls.py): the secretariat's alone ---
ACCESS.update(
    {
        "audit:list": Rule(lambda ctx: reverse("audit:list"), (Case("GET", SUBMITTED, secretariat_only()),)),
        "audit:export": Rule(lambda ctx: reverse("audit:export"), (Case("GET", SUBMITTED, secretariat_only()),)),
    }
)


# --- The URL patterns of the project ------------------------------------------------


def project_patterns() -> tuple[dict[str, str], dict[str, str]]:
    """(name → route) of every pattern to rule, (route → reason) of those skipped."""
    ruled: dict[str, str] = {}
    skipped: dict[str, str] = {}

    def walk(patterns, prefix: str, namespace: str | None) -> None:
        for p in patterns:
            route = prefix + str(p.pattern)
            if not prefix:
                reason = next((why for skip, why in SKIPPED_PREFIXES.items() if route.startswith(skip)), None)
                if reason:
                    skipped[route] = reason
                    continue
            if isinstance(p, URLResolver):
                ns = ":".join(filter(None, [namespace, p.namespace])) or None
                walk(p.url_patterns, route, ns)
            else:
                assert isinstance(p, URLPattern)
                name = f"{namespace}:{p.name}" if namespace and p.name else p.name
                ruled[name or f"<unnamed {route}>"] = route

    walk(get_resolver().url_patterns, "", None)
    return ruled, skipped


def test_it_has_an_access_rule_for_every_url_pattern():
    ruled, skipped = project_patterns()

    without_rule = sorted(f"{name} ({route})" for name, route in ruled.items() if name not in ACCESS)
    stale = sorted(set(ACCESS) - set(ruled))
    assert not without_rule, f"URL patterns with no entry in ACCESS: {without_rule}"
    assert not stale, f"ACCESS entries for URL patterns that no longer exist: {stale}"
    # The allow-list is not stale either: each prefix still skips something.
    assert {skip for skip in SKIPPED_PREFIXES if any(route.startswith(skip) for route in skipped)} == set(SKIPPED_PREFIXES)


def test_it_tests_every_pattern_at_least_once_and_post_only_views_by_post():
    for name, rule in ACCESS.items():
        assert rule.cases, name
        methods = {case.method for case in rule.cases}
        assert methods <= {"GET", "POST"}, name
        if any(case.expect == signed_in(NOT_ALLOWED) for case in rule.cases if case.method == "GET"):
            assert "POST" in methods, f"{name} is POST-only but has no POST case"


# --- The matrix ---------------------------------------------------------------------

CASES = [
    pytest.param(name, i, id=f"{name}-{case.method}-{case.phase}")
    for name, rule in ACCESS.items()
    for i, case in enumerate(rule.cases)
]


def _matches(expect, page, ctx) -> bool:
    if isinstance(expect, AnyOf):
        return any(_matches(option, page, ctx) for option in expect.options)
    if page.status_code != expect.status:
        return False
    where = expect.location(ctx)
    if where is None:
        return True
    return page.status_code in (301, 302, 303) and page["Location"].startswith(where)


def _outcome(page) -> str:
    location = page.get("Location")
    return f"{page.status_code}" + (f" → {location}" if location else "")


class LazyContext:
    """The fixtures a URL or a POST needs, set up only when asked for."""

    FIXTURES = {
        "response": "response_a",
        "review": "review_a",
        "thread": "thread_a",
        "job": "succeeded_job",
        "token": "invitation_token",
        "version": "version",
        "state_a": "state_a",
        "state_b": "state_b",
        "contributor": "contributor_a",
        "assignment": "assignment_a",
        "observation": "observation_a",
        "summary": "summary_a",
        "final_document": "final_document_a",
    }

    def __init__(self, request):
        self._request = request

    def __getattr__(self, name):
        if name == "cycle":
            return self.review.cycle
        return self._request.getfixturevalue(self.FIXTURES[name])


@pytest.mark.parametrize(("name", "index"), CASES)
def test_it_gives_each_persona_what_the_access_table_says(request, name, index, review_a, response_a):
    rule = ACCESS[name]
    case = rule.cases[index]
    users = {persona: request.getfixturevalue(persona) for persona in PERSONAS}
    if case.phase == SUBMITTED:
        request.getfixturevalue("submitted_a")
    response_a.refresh_from_db()
    assert response_a.status == case.phase
    ctx = LazyContext(request)
    url = rule.url(ctx)
    data = case.data(ctx)

    # Refusals first, so that an allowed action cannot hide a refusal's changes.
    order = sorted(PERSONAS, key=lambda persona: case.expect[persona].changes)
    wrong = []
    before = db_fingerprint()
    for persona in order:
        expect = case.expect[persona]
        client = client_for(users[persona])
        page = client.get(url) if case.method == "GET" else client.post(url, data)
        if not _matches(expect, page, ctx):
            wrong.append(f"{persona}: expected {expect.describe(ctx)}, got {_outcome(page)}")
        if persona != "anonymous" and "no-store" not in page.get("Cache-Control", ""):
            wrong.append(f"{persona}: {_outcome(page)} without no-store (Cache-Control: {page.get('Cache-Control')!r})")
        csp = page.get("Content-Security-Policy", "")
        if not csp or "'unsafe-inline'" in csp:
            wrong.append(f"{persona}: {_outcome(page)} with Content-Security-Policy {csp!r}")
        if page.streaming:  # a download: read it, which closes its file
            b"".join(page.streaming_content)
        # A POST is checked request by request; a GET changes nothing for anyone,
        # which is checked once at the end.
        if case.method == "POST":
            after = db_fingerprint()
            if not expect.changes and after != before:
                changed = sorted(key for key in after if after[key] != before[key])
                wrong.append(f"{persona}: {_outcome(page)} but the database changed: {changed}")
            before = after

    assert not wrong, f"{case.method} {url} ({case.phase}):\n" + "\n".join(wrong)
    if case.method == "GET":
        after = db_fingerprint()
        changed = sorted(key for key in after if after[key] != before[key])
        assert not changed, f"GET {url} changed the database: {changed}"


# --- Around the table ------------------------------------------------------------------


def test_it_answers_the_same_404_for_a_missing_response_as_for_someone_elses(focal_point_b, response_a):
    client = client_for(focal_point_b)

    forbidden = client.get(reverse("questionnaire:response", args=[response_a.pk]))
    missing = client.get(reverse("questionnaire:response", args=[response_a.pk + 1000]))

    assert forbidden.status_code == missing.status_code == 404
    assert forbidden.content == missing.content  # nothing tells an outsider that it exists


def test_it_forgets_a_deactivated_membership_at_the_next_request(contributor_a, response_a):
    client = client_for(contributor_a)
    url = reverse("questionnaire:article", args=[response_a.pk, 5])
    assert client.get(url).status_code == 200

    Membership.objects.filter(user=contributor_a).update(is_active=False)

    assert client.get(url).status_code == 404
    assert client.post(url, {"revisions": "{}", "FP-5.1.a.q3": "1"}).status_code == 404
    assert not response_a.answers.exists()


def test_it_treats_a_deactivated_account_as_signed_out(focal_point_a, response_a):
    client = client_for(focal_point_a)
    focal_point_a.is_active = False
    focal_point_a.save(update_fields=["is_active"])

    page = client.get(reverse("questionnaire:response", args=[response_a.pk]))

    assert page.status_code == 302
    assert page["Location"].startswith(LOGIN_URL)
