"""The hostile-input corpus run against every form and upload (tests/security/corpus.py).

Every refusal is clear (the expected status, the message in the page or the page
it redirects to) and changes nothing (the database fingerprint and the files
under MEDIA_ROOT). Every POSTing form refuses a missing and a forged CSRF token.
Text that is legitimately accepted (markup, formulas, right-to-left and emoji) is
stored byte for byte and shown escaped everywhere it appears."""

from __future__ import annotations

import ast
import html
import inspect
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from . import corpus
from .corpus import CASES, FORM_EXCLUSIONS, POST_EXCLUSIONS, TARGETS, Ctx
from tests.views.conftest import client_for, db_fingerprint

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
APPS = ("questionnaire", "reviews", "parties")


def media_listing() -> list[str]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def page_text(page) -> str:
    return html.unescape(page.content.decode("utf-8", "replace"))


def visible(text: str) -> str:
    """A page's words without its markup, for failure messages."""
    main = text.split("<main", 1)[-1]
    return " ".join(re.sub(r"<[^>]+>", " ", main).split())[:3000]


def send(client, req: corpus.Req):
    if req.content_type is not None:
        return client.generic("POST", req.url, req.data, content_type=req.content_type)
    return client.post(req.url, req.data or {})


# --- The corpus ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=c.marks) for c in CASES])
def test_hostile_input(case: corpus.Case, request):
    ctx = Ctx(request)
    req = case.build(ctx)
    client = client_for(ctx.__getattr__(req.persona))
    before, files = db_fingerprint(), media_listing()

    page = send(client, req)

    assert page.status_code in case.status, (page.status_code, visible(page_text(page)))
    shown = page_text(page)
    if page.status_code == 302 and case.accepted is None:
        # The message is shown on the page the refusal leads back to.
        shown = page_text(client.get(page["Location"]))
    if case.says:
        assert case.says in shown, visible(shown)
    if case.accepted is not None:
        case.accepted(ctx, page)
    else:
        assert db_fingerprint() == before
        assert media_listing() == files


def test_the_corpus_has_at_least_60_distinct_cases():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 60
    # Many classes of attack, not one attack repeated.
    assert len({c.attack for c in CASES}) >= 40


def test_every_case_names_a_known_target_and_every_target_is_attacked():
    assert {c.target for c in CASES} - set(TARGETS) == set()
    # Targets without a case of their own are covered by the CSRF cases below and by
    # existing tests (carry-over, submission: no free input).
    untouched = set(TARGETS) - {c.target for c in CASES}
    assert untouched <= {"carry_over", "submit"}, untouched


def _form_classes() -> set[str]:
    """Every form class defined in the apps: classes whose bases name a Form."""
    found = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ClassDef):
                    bases = [ast.unparse(b) for b in node.bases]
                    if any(b.endswith(("Form", "ModelForm")) for b in bases):
                        found.add(f"{module}.{node.name}")
    return found


def test_every_form_class_of_the_project_is_in_the_corpus_or_excluded():
    named = {form for forms, _urls in TARGETS.values() for form in forms}
    classes = _form_classes()
    assert classes, "no form class found: the scan is broken"
    assert classes - named - set(FORM_EXCLUSIONS) == set()
    assert named - classes == set(), "the corpus names a form that no longer exists"


def _url_patterns(resolver=None, namespace=""):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin":
                continue  # Django's admin, for staff, with its own CSRF and validation
            yield from _url_patterns(entry, f"{entry.namespace}:" if entry.namespace else namespace)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", entry.callback


def _accepts_post(callback) -> bool:
    view = inspect.unwrap(callback)
    if not view.__module__.startswith(APPS):
        return callback.__module__.startswith("django.contrib.auth") or getattr(view, "__name__", "") == "set_language"
    return "POST" in inspect.getsource(view)


def post_urls() -> set[str]:
    return {name for name, callback in _url_patterns() if _accepts_post(callback)}


def test_every_view_accepting_post_is_a_target_or_excluded():
    targeted = {url for _forms, urls in TARGETS.values() for url in urls}
    posting = post_urls()
    assert len(posting) > 40, posting
    assert posting - targeted - set(POST_EXCLUSIONS) == set()


# --- CSRF: every POSTing form refuses a missing and a forged token --------------------------------


def _assignment(ctx):
    return ctx.review_a.assignments.first()


FP = "focal_point_a"
# URL name → (persona, ctx → (URL, data a valid form would post)); fixtures are made lazily.
CSRF_REQUESTS = {
    "questionnaire:article": (FP, lambda c: (corpus.article_url(c.response_a), {"revisions": "{}", "FP-5.1.a.q3": "1"})),
    "questionnaire:cluster": (FP, lambda c: (corpus.cluster_url(c.response_a), {"revisions": "{}", "FP-14.explanation": "x"})),
    "questionnaire:answer_save": (FP, lambda c: (corpus.autosave_url(c.response_a, "FP-5.1.a.q3"), {"FP-5.1.a.q3": "1"})),
    "questionnaire:assign": (FP, lambda c: (reverse("questionnaire:assign", args=[c.response_a.pk]), {"article": "5", "assignee": str(c.contributor_a.pk)})),
    "questionnaire:carry_over": (FP, lambda c: (reverse("questionnaire:carry_over", args=[c.response_a.pk]), {})),
    "questionnaire:submit": (FP, lambda c: (reverse("questionnaire:submit", args=[c.response_a.pk]), {})),
    "questionnaire:evidence_attach": (FP, lambda c: (corpus.attach_url(c.response_a), {"action": "existing", "existing-evidence": str(corpus.cite_a(c).pk)})),
    "questionnaire:evidence_edit": (FP, lambda c: (reverse("questionnaire:evidence_edit", args=[corpus.cite_a(c).pk]), {"title": "New", "revision": "1"})),
    "questionnaire:evidence_delete": (FP, lambda c: (reverse("questionnaire:evidence_delete", args=[corpus.cite_a(c).pk]), {"revision": "1"})),
    "questionnaire:answer_restore": (FP, lambda c: (reverse("questionnaire:answer_restore", args=[c.response_a.pk, "FP-5.1.a.q3", 1]), {})),
    "reviews:thread_create": ("reviewer", lambda c: (reverse("reviews:thread_create", args=[c.thread_a.review_id, "FP-14.explanation"]), {"kind": "clarification", "body": "Why?"})),
    "reviews:comment_create": (FP, lambda c: (reverse("reviews:comment_create", args=[c.thread_a.pk]), {"body": "Because."})),
    "reviews:thread_resolve": ("reviewer", lambda c: (reverse("reviews:thread_resolve", args=[c.thread_a.pk]), {})),
    "reviews:thread_assign": ("reviewer", lambda c: (reverse("reviews:thread_assign", args=[c.thread_a.pk]), {"assignee": str(c.focal_point_a.pk)})),
    "reviews:notifications_read": (FP, lambda c: (reverse("reviews:notifications_read"), {})),
    "reviews:cycle_launch": ("secretariat", lambda c: (reverse("reviews:cycle_launch"), {"cluster": str(c.version.cluster_id), "year": "2027", "states": [str(c.state_b.pk)]})),
    "reviews:groups": ("secretariat", lambda c: (reverse("reviews:groups"), {"action": "draw", "first_year": "2026"})),
    "reviews:assignment_change": ("secretariat", lambda c: (reverse("reviews:assignment_change", args=[_assignment(c).pk]), {"action": "redraw", "reason": "Conflict"})),
    "reviews:deadline_extend": ("secretariat", lambda c: (reverse("reviews:deadline_extend", args=[c.review_a.pk]), {"step": "self_assessment", "due_date": "2031-01-01", "reason": "Late"})),
    "reviews:review_transition": ("secretariat", lambda c: (reverse("reviews:review_transition", args=[c.review_a.pk]), {"to": "written_feedback"})),
    "reviews:focal_point_appoint": ("secretariat", lambda c: (reverse("reviews:focal_point_appoint", args=[c.review_a.pk]), {"state": str(c.state_a.pk), "user": str(c.focal_point_a.pk)})),
    "reviews:assignment": ("secretariat", lambda c: (reverse("reviews:assignment", args=[_assignment(c).pk]), {"action": "experts", "users": []})),
    "reviews:job_create": ("secretariat", lambda c: (reverse("reviews:job_create"), {"kind": "cluster_report", "cycle": str(c.review_a.cycle_id)})),
    "reviews:general_report": ("secretariat", lambda c: (reverse("reviews:general_report", args=[c.review_a.cycle_id]), {"format": "pdf"})),
    "reviews:ta_refresh": ("secretariat", lambda c: (reverse("reviews:ta_refresh"), {})),
    "reviews:ta_report": ("secretariat", lambda c: (reverse("reviews:ta_report"), {"format": "xlsx"})),
    "reviews:ta_state_refresh": (FP, lambda c: (reverse("reviews:ta_state_refresh", args=[c.state_a.iso3]), {})),
    "reviews:state_offers": (FP, lambda c: (reverse("reviews:state_offers", args=[c.state_a.iso3]), {"article_number": "5", "category": "legislative", "description": "d", "contact": "c"})),
    "reviews:programme_offers": ("secretariat", lambda c: (reverse("reviews:programme_offers"), {"programme": "P", "article_number": "5", "category": "legislative", "description": "d", "contact": "c"})),
    "reviews:summary_save": ("reviewer", lambda c: (reverse("reviews:summary_save", args=[c.observation_a.review_id]), {"text": "Summary"})),
    "parties:invite": ("secretariat", lambda c: (reverse("parties:invite"), {"email": "csrf@example.org", "role": "contributor", "state": str(c.state_a.pk)})),
    "parties:accept": ("anonymous", lambda c: (reverse("parties:accept", args=[c.invitation_token]), {"first_name": "A", "last_name": "B", "password": "Corr3ct-Horse-Battery", "password_again": "Corr3ct-Horse-Battery"})),
}


# POSTing views whose CSRF refusal is tested elsewhere, or that need objects this
# fixture set does not build together (an observation or a summary in a later
# stage, a job, a need, an offer): their CSRF protection is Django's middleware,
# the same for every view; the list below shows none of them is csrf_exempt.
CSRF_TESTED_ELSEWHERE = {
    "questionnaire:evidence_library": "tests/views/test_evidence_views.py::test_uploads_and_citations_need_the_csrf_token",
    "questionnaire:offline_upload": "tests/views/test_offline_views.py::test_upload_and_confirmation_require_the_csrf_token",
    "questionnaire:offline_confirm": "tests/views/test_offline_views.py::test_upload_and_confirmation_require_the_csrf_token",
}
CSRF_BY_MIDDLEWARE_ONLY = {
    "questionnaire:unassign", "questionnaire:evidence_detach",
    "reviews:observation_create", "reviews:observation_edit", "reviews:observation_comment", "reviews:observation_agree",
    "reviews:summary_comment", "reviews:summary_clear", "reviews:summary_finalize", "reviews:final_documents_build",
    "reviews:offer_withdraw", "reviews:ta_need_move", "reviews:job_cancel",
}
CSRF_NAMES = list(CSRF_REQUESTS)


def test_the_csrf_list_covers_every_posting_view():
    listed = set(CSRF_NAMES) | set(CSRF_TESTED_ELSEWHERE) | CSRF_BY_MIDDLEWARE_ONLY | set(POST_EXCLUSIONS)
    assert post_urls() - listed == set()
    # No view of the apps opts out of the CSRF check (evidence and offline uploads
    # are csrf_exempt only to install the size limit, then csrf_protect inside).
    for name, callback in _url_patterns():
        if name in post_urls() and name not in POST_EXCLUSIONS and getattr(callback, "csrf_exempt", False):
            assert "csrf_protect" in inspect.getsource(inspect.getmodule(inspect.unwrap(callback))), name


@pytest.mark.parametrize("forged", [False, True], ids=["missing-token", "forged-token"])
@pytest.mark.parametrize("name", CSRF_NAMES)
def test_a_post_without_a_valid_csrf_token_is_refused_and_changes_nothing(name, forged, request, mailoutbox):
    ctx = Ctx(request)
    persona, build = CSRF_REQUESTS[name]
    url, data = build(ctx)
    client = client_for(ctx.__getattr__(persona), enforce_csrf_checks=True)
    if forged:
        client.cookies["csrftoken"] = "A" * 32
        data = {**data, "csrfmiddlewaretoken": "B" * 32}
    before, files = db_fingerprint(), media_listing()

    page = client.post(url, data)

    assert page.status_code == 403
    assert "CSRF" in page.content.decode()
    assert db_fingerprint() == before and media_listing() == files
    assert mailoutbox == []
