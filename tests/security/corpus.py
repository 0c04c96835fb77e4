"""The hostile-input corpus (issue 6, "Bad input"; issue 3's bad-input list), as data.

Each ``Case`` is one attack on one form or upload of the platform: an id, the
target it hits (a key of ``TARGETS``), the class of attack, a builder that
prepares whatever the attack needs (another State's objects, a filled workbook…)
and returns the request to send, and the expected outcome:

- a refusal (the default): the first response has one of ``status``; the message
  ``says`` is in its body, or in the page it redirects to; the database
  (tests/views/conftest.py's ``db_fingerprint``) and the files under MEDIA_ROOT
  are unchanged;
- or, for input that is legitimately accepted once neutralised (a traversal file
  name, a hostile title), ``accepted``: a check of what was stored.

tests/security/test_hostile_input.py runs every case, checks that there are at
least 60 of them and that every form class and every POSTing view of the
project is named here (or explicitly excluded below, with the reason).

Existing bad-input tests elsewhere (tests/views/test_evidence_views.py,
test_offline_views.py, test_autosave.py, test_answering.py, tests/ops/
test_scanning.py…) are not repeated: the cases here are other attacks or other
forms."""

from __future__ import annotations

import datetime
import io
import os
import urllib.parse
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

# --- Targets: every form and upload of the project ----------------------------------------

# target → (the form classes it posts, the URL names that receive it).
TARGETS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # questionnaire/
    "article_save": (("questionnaire.forms.ArticleAnswerForm",), ("questionnaire:article",)),
    "cluster_save": (("questionnaire.forms.ArticleAnswerForm",), ("questionnaire:cluster",)),
    "autosave": (("questionnaire.forms.ArticleAnswerForm",), ("questionnaire:answer_save",)),
    "delegation": ((), ("questionnaire:assign", "questionnaire:unassign")),
    "carry_over": ((), ("questionnaire:carry_over",)),
    "submit": ((), ("questionnaire:submit",)),
    "history_restore": ((), ("questionnaire:answer_restore",)),
    "evidence_upload": (("questionnaire.views_evidence.UploadForm",), ("questionnaire:evidence_library", "questionnaire:evidence_attach")),
    "evidence_cite": (("questionnaire.views_evidence.CitationForm",), ("questionnaire:evidence_library", "questionnaire:evidence_attach")),
    "evidence_existing": (("questionnaire.views_evidence.ExistingForm",), ("questionnaire:evidence_attach", "questionnaire:evidence_detach")),
    "evidence_edit": (("questionnaire.views_evidence.EditForm",), ("questionnaire:evidence_edit", "questionnaire:evidence_delete")),
    "offline_import": (("questionnaire.views_offline.OfflineUploadForm",), ("questionnaire:offline_upload", "questionnaire:offline_confirm")),
    # reviews/: the dialogue, observations and summary
    "thread_start": (("reviews.forms_dialogue.ThreadForm",), ("reviews:thread_create",)),
    "comment": (("reviews.forms_dialogue.CommentForm",), ("reviews:comment_create", "reviews:thread_resolve")),
    "thread_assign": (("reviews.forms_dialogue.AssignForm",), ("reviews:thread_assign",)),
    "observation": (("reviews.forms_dialogue.ObservationForm", "reviews.forms_dialogue.ObservationEditForm"), ("reviews:observation_create", "reviews:observation_edit", "reviews:observation_agree")),
    "observation_comment": ((), ("reviews:observation_comment",)),
    "summary": (("reviews.forms_dialogue.SummaryForm",), ("reviews:summary_save", "reviews:summary_clear", "reviews:summary_finalize", "reviews:final_documents_build")),
    "summary_comment": ((), ("reviews:summary_comment",)),
    "notifications": ((), ("reviews:notifications_read",)),
    # reviews/: the secretariat's forms and the review's workflow
    "cycle_launch": (("reviews.forms.CycleLaunchForm",), ("reviews:cycle_launch",)),
    "groups": (("reviews.forms.GroupsDrawForm", "reviews.forms.GroupMoveForm"), ("reviews:groups",)),
    "redraw": (("reviews.forms.RedrawForm", "reviews.forms.SwapForm"), ("reviews:assignment_change",)),
    "deadline_extension": (("reviews.forms.ExtensionForm",), ("reviews:deadline_extend",)),
    "transition": (("reviews.forms.TransitionForm",), ("reviews:review_transition",)),
    "focal_point": (("reviews.forms.FocalPointForm", "reviews.forms.ExpertsForm"), ("reviews:focal_point_appoint", "reviews:assignment")),
    "jobs": ((), ("reviews:job_create", "reviews:job_cancel", "reviews:general_report", "reviews:ta_report", "reviews:ta_refresh", "reviews:ta_state_refresh")),
    "expertise_offer": (("reviews.views_registry.OfferForm",), ("reviews:state_offers", "reviews:programme_offers", "reviews:offer_withdraw")),
    "ta_need": ((), ("reviews:ta_need_move",)),
    # parties/
    "invitation": (("parties.forms.InvitationForm",), ("parties:invite",)),
    "invitation_accept": (("parties.forms.AcceptInvitationForm",), ("parties:accept",)),
}

# Form classes that take no free input from a POST, so no hostile case applies.
FORM_EXCLUSIONS: dict[str, str] = {
    # GET filters of list pages: choices only, an unknown value is simply not applied.
    "reviews.forms.OverviewFilterForm": "GET filter of the overview (choices only)",
    "reviews.views_ta.NeedFilterForm": "GET filter of the needs list (choices only)",
    # The older dialogue forms in reviews/forms.py, kept for imports; the views post
    # reviews/forms_dialogue.py's forms of the same names (covered above).
    "reviews.forms.ThreadForm": "superseded by reviews.forms_dialogue.ThreadForm, posted by no view",
    "reviews.forms.CommentForm": "superseded by reviews.forms_dialogue.CommentForm, posted by no view",
}

# URL names that accept POST but are out of this corpus's scope.
POST_EXCLUSIONS: dict[str, str] = {
    # django-allauth's sign-in forms live under accounts/ (not in these apps): their
    # hostile cases are in tests/security/test_signin_input.py.
    # Django's language switch: a choice among settings.LANGUAGES, next= checked by Django.
    "set_language": "Django's own view (url_has_allowed_host_and_scheme on next)",
}


# --- The shape of a case ------------------------------------------------------------------


class Ctx:
    """The test's fixtures by attribute, created on first use (``ctx.response_a``)."""

    def __init__(self, request):
        self._request = request

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return self._request.getfixturevalue(name)


@dataclass
class Req:
    url: str
    data: Any = None
    persona: str = "focal_point_a"
    # A raw body (bytes) with its content type, for what a browser's form cannot send.
    content_type: str | None = None


@dataclass(frozen=True)
class Case:
    id: str
    target: str
    attack: str
    build: Callable[[Ctx], Req]
    status: tuple[int, ...] = (422,)
    says: str = ""
    # For legitimately accepted input: the check of what was stored (instead of "unchanged").
    accepted: Callable[[Ctx, Any], None] | None = None
    marks: tuple = field(default_factory=tuple)


CASES: list[Case] = []


def case(id: str, target: str, attack: str, *, status=(422,), says: str = "", accepted=None, marks=()):
    def register(build):
        CASES.append(Case(id, target, attack, build, tuple(status), says, accepted, tuple(marks)))
        return build

    return register


# --- Payloads (built lazily, when a case runs) ----------------------------------------------

SCRIPT = '<script>alert("xss")</script><img src=x onerror=alert(1)>'
RTL_OVERRIDE = "invoice\u202efdp.exe"
MEGABYTE = 1024 * 1024


def one_megabyte(char: str = "A") -> str:
    return char * MEGABYTE


def pdf() -> bytes:
    from tests.questionnaire.test_evidence import pdf_bytes

    return pdf_bytes()


def svg_with_script() -> bytes:
    return b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'


def pdf_prefix_then_html() -> bytes:
    """A polyglot: the PDF magic, then an HTML page (a browser sniffing it would run the script)."""
    return b"%PDF-1.4\n<html><body><script>alert(document.domain)</script></body></html>\n"


def zip_bomb_odt(expanded: int = 30 * MEGABYTE) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text", compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", b"\0" * expanded, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def xlsx_renamed_docx() -> bytes:
    import openpyxl

    out = io.BytesIO()
    openpyxl.Workbook().save(out)
    return out.getvalue()


def upload(name: str, content: bytes, content_type: str = "application/pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type)


# --- URLs ---------------------------------------------------------------------------------------


def article_url(response, number: int = 5) -> str:
    return reverse("questionnaire:article", args=[response.pk, number])


def cluster_url(response) -> str:
    return reverse("questionnaire:cluster", args=[response.pk])


def autosave_url(response, code: str) -> str:
    return reverse("questionnaire:answer_save", args=[response.pk, code])


def library_url(state) -> str:
    return reverse("questionnaire:evidence_library", args=[state.iso3])


def attach_url(response, code: str = "FP-5.1.a.status") -> str:
    return reverse("questionnaire:evidence_attach", args=[response.pk, code])


def offline_url(name: str, response) -> str:
    return reverse(f"questionnaire:{name}", args=[response.pk])


def cite_b(ctx):
    """A citation in State B's library, by B's focal point."""
    from questionnaire import evidence as ev

    return ev.evidence_cite(
        state=ctx.state_b, citation=ev.CitationData(title="Borduria Arms Act"), by=ctx.focal_point_b
    ).evidence


def cite_a(ctx, title: str = "Arcadia Arms Act"):
    from questionnaire import evidence as ev

    return ev.evidence_cite(state=ctx.state_a, citation=ev.CitationData(title=title), by=ctx.focal_point_a).evidence


def stored_evidence_names() -> list[tuple[str, str]]:
    from questionnaire.models import Evidence

    return list(Evidence.objects.order_by("pk").values_list("original_name", "file"))


# ============================================================================================
# Answering: the article page and the whole-cluster page (no-JS POST), autosave (htmx POST)
# ============================================================================================


@case("cluster-1mb-answer", "cluster_save", "1 MB text", says="the limit is 50000")
def _(ctx):
    return Req(cluster_url(ctx.response_a), {"revisions": "{}", "FP-14.explanation": one_megabyte("é")})


@case("cluster-1mb-arabic-as-a-browser-posts-it", "cluster_save", "1 MB text (Arabic, urlencoded: ~6 MB on the wire)",
      says="the limit is 50000")
def _(ctx):
    # A browser's form sends each of these characters as "%D8%B9" (six bytes): over
    # Django's default 2.5 MB this was a bare "Bad Request" instead of the message.
    body = urllib.parse.urlencode({"revisions": "{}", "FP-14.explanation": one_megabyte("ع")}).encode()
    return Req(cluster_url(ctx.response_a), body, content_type="application/x-www-form-urlencoded")


@case("cluster-markup-in-field-name", "cluster_save", "script and HTML injection (field names)", status=(400,),
      says="these fields are not questions of this page")
def _(ctx):
    return Req(cluster_url(ctx.response_a), {"revisions": "{}", "FP-14.explanation": "ok", f"FP-99.{SCRIPT}": "x"})


@case("cluster-forged-choice", "cluster_save", "forged choice value", says="Select a valid choice")
def _(ctx):
    return Req(cluster_url(ctx.response_a), {"revisions": "{}", "FP-14.explanation": "ok", "FP-14.status": '"><script>alert(1)</script>'})


@case("article-negative-revision", "article_save", "forged revision number", says="The page was damaged in transit")
def _(ctx):
    return Req(article_url(ctx.response_a), {"revisions": '{"FP-5.1.a.q3": -1}', "FP-5.1.a.q3": "4"})


@case("article-revisions-not-a-map", "article_save", "forged revisions (JSON of another shape)", says="The page was damaged in transit")
def _(ctx):
    return Req(article_url(ctx.response_a), {"revisions": '[["FP-5.1.a.q3", 1]]', "FP-5.1.a.q3": "4"})


def _save_one(ctx, code: str, value):
    from tests.factories import question, save

    save(ctx.response_a, ctx.focal_point_a, {question(ctx.version, code): value})


@case("article-stale-version-number", "article_save", "stale version number (a revision behind)", status=(409,),
      says="Someone else changed these answers while you were editing")
def _(ctx):
    _save_one(ctx, "FP-5.1.a.explanation", "First")
    _save_one(ctx, "FP-5.1.a.explanation", "Second, by someone else")
    return Req(article_url(ctx.response_a), {"revisions": '{"FP-5.1.a.explanation": 1}', "FP-5.1.a.explanation": "Mine, from an old page"})


@case("article-legislation-javascript-link", "article_save", "javascript: link", says="is not a web address")
def _(ctx):
    from tests.views.conftest import legislation_rows

    return Req(article_url(ctx.response_a), {"revisions": "{}", **legislation_rows(
        "FP-5.1.a.legislation", [{"title": "Act", "link": "javascript:alert(document.cookie)"}])})


@case("article-legislation-21-rows", "article_save", "more rows than the widget offers", says="At most 20 laws")
def _(ctx):
    data = {"revisions": "{}"}
    for i in range(25):
        data[f"FP-5.1.a.legislation-{i}-title"] = f"Act {i}"
    # The widget reads 21 rows at most: the 21st makes the refusal.
    return Req(article_url(ctx.response_a), data)


@case("article-legislation-overlong-title", "article_save", "over-long field", says="limited to 500 characters")
def _(ctx):
    from tests.views.conftest import legislation_rows

    return Req(article_url(ctx.response_a), {"revisions": "{}", **legislation_rows("FP-5.1.a.legislation", [{"title": "T" * 501}])})


@case("article-ta-forged-category", "article_save", "forged choice value (TA need)", says="Unknown category")
def _(ctx):
    from tests.views.conftest import ta_block

    return Req(article_url(ctx.response_a), {"revisions": "{}", **ta_block("FP-5.1.a.ta", needed="yes", categories=["bribes"], priority="high")})


@case("article-ta-forged-priority", "article_save", "forged choice value (TA priority)", says="Unknown priority")
def _(ctx):
    from tests.views.conftest import ta_block

    return Req(article_url(ctx.response_a), {"revisions": "{}", **ta_block("FP-5.1.a.ta", needed="yes", priority="urgent!!")})


@case("article-ta-1mb-details", "article_save", "1 MB text (TA details)", says="the limit is 50000")
def _(ctx):
    from tests.views.conftest import ta_block

    return Req(article_url(ctx.response_a), {"revisions": "{}", **ta_block("FP-5.1.a.ta", needed="yes", details=one_megabyte())})


@case("autosave-number-nan", "autosave", "invalid type (NaN)", says="Not saved")
def _(ctx):
    return Req(autosave_url(ctx.response_a, "FP-5.1.a.q3"), {"FP-5.1.a.q3": "NaN", "rev-FP-5.1.a.q3": "0"})


@case("autosave-number-overflow", "autosave", "invalid type (huge number)", says="Not saved")
def _(ctx):
    return Req(autosave_url(ctx.response_a, "FP-5.1.a.q3"), {"FP-5.1.a.q3": "9" * 400, "rev-FP-5.1.a.q3": "0"})


@case("autosave-nul-in-short-text", "autosave", "NUL byte in text", says="Null characters are not allowed")
def _(ctx):
    return Req(autosave_url(ctx.response_a, "FP-5.1.a.q2"), {"FP-5.1.a.q2": "Arms\x00Act", "rev-FP-5.1.a.q2": "0"})


@case("autosave-overlong-short-text", "autosave", "over-long field (short text)", says="at most 500 characters")
def _(ctx):
    return Req(autosave_url(ctx.response_a, "FP-5.1.a.q2"), {"FP-5.1.a.q2": "x" * 501, "rev-FP-5.1.a.q2": "0"})


@case("autosave-revision-not-a-number", "autosave", "forged revision number", says="damaged in transit")
def _(ctx):
    return Req(autosave_url(ctx.response_a, "FP-5.1.a.explanation"), {"FP-5.1.a.explanation": "x", "rev-FP-5.1.a.explanation": "1 OR 1=1"})


@case("autosave-other-states-response", "autosave", "forged id of another State's object", status=(404,))
def _(ctx):
    return Req(autosave_url(ctx.response_a, "FP-5.1.a.explanation"), {"FP-5.1.a.explanation": "Borduria was here", "rev-FP-5.1.a.explanation": "0"},
               persona="focal_point_b")


@case("article-id-overflow", "article_save", "forged id (integer overflow)", status=(404,))
def _(ctx):
    ctx.response_a
    return Req("/responses/99999999999999999999999/articles/5/", {"revisions": "{}", "FP-5.1.a.q3": "1"})


@case("cluster-submitted-response", "cluster_save", "save to a submitted response", status=(302,),
      says="can no longer be changed. Nothing was saved")
def _(ctx):
    return Req(cluster_url(ctx.submitted_a), {"revisions": "{}", "FP-14.explanation": "Changed after submission"})


# ============================================================================================
# Delegation and history
# ============================================================================================


@case("delegation-forged-article", "delegation", "forged id (article of no version)", status=(302,), says="Choose an article and a person")
def _(ctx):
    return Req(reverse("questionnaire:assign", args=[ctx.response_a.pk]), {"article": "9999", "assignee": str(ctx.contributor_a.pk)})


@case("delegation-assign-on-other-states-response", "delegation", "forged id of another State's object", status=(404,))
def _(ctx):
    from parties.models import Membership
    from tests.factories import MembershipFactory

    b_contributor = MembershipFactory(role=Membership.Role.CONTRIBUTOR, state=ctx.state_b).user
    return Req(reverse("questionnaire:assign", args=[ctx.response_a.pk]), {"article": "5", "assignee": str(b_contributor.pk)},
               persona="focal_point_b")


@case("unassign-other-responses-assignment", "delegation", "forged id of another response's object", status=(404,))
def _(ctx):
    from questionnaire.services import response_get_or_create

    other = response_get_or_create(state=ctx.state_b, version=ctx.version, due_date=None)
    return Req(reverse("questionnaire:unassign", args=[other.pk, ctx.assignment_a.pk]), {}, persona="focal_point_b")


@case("restore-other-responses-history", "history_restore", "forged id of another State's object", status=(404,))
def _(ctx):
    _save_one(ctx, "FP-5.1.a.explanation", "Version 1")
    _save_one(ctx, "FP-5.1.a.explanation", "Version 2")
    return Req(reverse("questionnaire:answer_restore", args=[ctx.response_a.pk, "FP-5.1.a.explanation", 1]), {}, persona="focal_point_b")


@case("restore-revision-of-another-answer", "history_restore", "forged revision of another answer", status=(404,))
def _(ctx):
    _save_one(ctx, "FP-5.1.a.explanation", "Version 1")
    _save_one(ctx, "FP-5.1.a.explanation", "Version 2")
    # FP-5.1.a.q2 has no revision 2: the explanation's must not be borrowed.
    _save_one(ctx, "FP-5.1.a.q2", "Only one")
    return Req(reverse("questionnaire:answer_restore", args=[ctx.response_a.pk, "FP-5.1.a.q2", 2]), {})


# ============================================================================================
# Evidence: uploads (disguised files, names), citations, the library's entries
# ============================================================================================


@case("upload-svg-script-as-pdf", "evidence_upload", "disguised file (SVG with script named .pdf)", says="not accepted")
def _(ctx):
    return Req(library_url(ctx.state_a), {"action": "upload", "upload-file": upload("law.pdf", svg_with_script())})


@case("upload-pdf-magic-then-html", "evidence_upload", "disguised file (PDF magic followed by HTML)", says="not accepted")
def _(ctx):
    return Req(library_url(ctx.state_a), {"action": "upload", "upload-file": upload("law.pdf", pdf_prefix_then_html())})


@case("upload-empty-file", "evidence_upload", "empty file", says="The submitted file is empty")
def _(ctx):
    return Req(library_url(ctx.state_a), {"action": "upload", "upload-file": upload("law.pdf", b"")})


@case("upload-zip-bomb-as-odt", "evidence_upload", "zip bomb disguised as ODT", says="ZIP bomb")
def _(ctx):
    return Req(library_url(ctx.state_a), {"action": "upload", "upload-file": upload("law.odt", zip_bomb_odt())})


@case("upload-xlsx-as-docx", "evidence_upload", "disguised file (a workbook named .docx)", says="an Excel workbook")
def _(ctx):
    return Req(library_url(ctx.state_a), {"action": "upload", "upload-file": upload("law.docx", xlsx_renamed_docx())})


@case("attach-upload-over-20mb", "evidence_upload", "oversized file (25 MB, on the answer's page)", status=(413,), says="larger than 20 MB")
def _(ctx):
    # A sparse file on disk: no 25 MB string is built in Python (the test client reads it once to frame the body).
    path = ctx.tmp_path / "sparse.pdf"
    with open(path, "wb") as handle:
        handle.write(pdf())
        handle.truncate(25 * MEGABYTE)
    return Req(attach_url(ctx.response_a), {"action": "upload", "upload-file": open(path, "rb")})


@case("upload-title-over-500", "evidence_upload", "over-long field (title)", says="at most 500 characters")
def _(ctx):
    return Req(library_url(ctx.state_a), {"action": "upload", "upload-file": upload("act.pdf", pdf()), "upload-title": "T" * 501})


@case("upload-impossible-date", "evidence_upload", "invalid date (30 February)", says="Enter a valid date")
def _(ctx):
    return Req(library_url(ctx.state_a), {"action": "upload", "upload-file": upload("act.pdf", pdf()), "upload-date": "2021-02-30"})


@case("upload-to-other-states-library", "evidence_upload", "forged id of another State's object", status=(404,))
def _(ctx):
    ctx.state_b
    return Req(library_url(ctx.state_b), {"action": "upload", "upload-file": upload("act.pdf", pdf())})


@case("upload-forged-action", "evidence_upload", "forged action value", status=(400,), says="Unknown action")
def _(ctx):
    return Req(library_url(ctx.state_a), {"action": "../../delete", "upload-file": upload("act.pdf", pdf())})


def _traversal_stored(expected_name: str):
    def check(ctx, page):
        from pathlib import Path

        from django.conf import settings

        [(original, stored)] = stored_evidence_names()
        assert original == expected_name
        assert stored.startswith(f"evidence/{ctx.state_a.iso3}/") and ".." not in stored and "\\" not in stored
        root = Path(settings.MEDIA_ROOT).resolve()
        files = [p.resolve() for p in root.rglob("*") if p.is_file()]
        assert files == [(root / stored).resolve()]

    return check


@case("upload-name-traversal-unix", "evidence_upload", "path traversal in the file name", status=(302,),
      accepted=_traversal_stored("passwd.pdf"))
def _(ctx):
    return Req(library_url(ctx.state_a), {"action": "upload", "upload-file": upload("../../etc/passwd.pdf", pdf())})


@case("upload-name-traversal-windows", "evidence_upload", "path traversal in the file name (backslashes)", status=(302,),
      accepted=_traversal_stored("x.pdf"))
def _(ctx):
    return Req(library_url(ctx.state_a), {"action": "upload", "upload-file": upload("..\\..\\x.pdf", pdf())})


@case("upload-name-rtl-override", "evidence_upload", "right-to-left override in the file name", status=(302,),
      accepted=_traversal_stored("invoicefdp.exe"))
def _(ctx):
    return Req(library_url(ctx.state_a), {"action": "upload", "upload-file": upload(RTL_OVERRIDE, pdf())})


@case("upload-name-nul-byte", "evidence_upload", "NUL byte in the file name", status=(302,),
      accepted=_traversal_stored("law.exe.pdf"))
def _(ctx):
    return Req(library_url(ctx.state_a), {"action": "upload", "upload-file": upload("law.exe\x00.pdf", pdf())})


def _name_of_200(ctx, page):
    [(original, _stored)] = stored_evidence_names()
    assert len(original) == 200 and original.endswith(".pdf")


@case("upload-name-300-chars", "evidence_upload", "300-character file name", status=(302,), accepted=_name_of_200)
def _(ctx):
    return Req(library_url(ctx.state_a), {"action": "upload", "upload-file": upload("n" * 296 + ".pdf", pdf())})


@case("cite-javascript-link", "evidence_cite", "javascript: link", says="starts with http:// or https://")
def _(ctx):
    return Req(library_url(ctx.state_a), {"action": "cite", "cite-title": "Act", "cite-link": "javascript:alert(document.cookie)"})


@case("cite-data-link", "evidence_cite", "data: link", says="starts with http:// or https://")
def _(ctx):
    return Req(library_url(ctx.state_a), {"action": "cite", "cite-title": "Act",
                                          "cite-link": "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="})


@case("cite-link-breaking-out-of-href", "evidence_cite", "HTML injection (link with a quote)", says="starts with http:// or https://")
def _(ctx):
    return Req(library_url(ctx.state_a), {"action": "cite", "cite-title": "Act", "cite-link": 'https://example.org/" onmouseover="alert(1)'})


@case("cite-overlong-link", "evidence_cite", "over-long field (link)", says="at most 500 characters")
def _(ctx):
    return Req(library_url(ctx.state_a), {"action": "cite", "cite-title": "Act", "cite-link": "https://example.org/" + "a" * 600})


@case("cite-year-10000", "evidence_cite", "invalid date (year 10000)", says="Enter a valid date")
def _(ctx):
    return Req(library_url(ctx.state_a), {"action": "cite", "cite-title": "Act", "cite-date": "10000-01-01"})


@case("cite-title-only-invisible", "evidence_cite", "title of invisible characters only (RTL override, zero width)",
      says="A cited law needs a title")
def _(ctx):
    return Req(library_url(ctx.state_a), {"action": "cite", "cite-title": "\u202e\u200b\u2066"})


def _script_title_stored(ctx, page):
    from questionnaire.models import Evidence

    assert Evidence.objects.get().title == SCRIPT
    body = ctx.as_user(ctx.focal_point_a).get(library_url(ctx.state_a)).content.decode()
    assert "<script>alert" not in body and "&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;" in body


@case("cite-script-title", "evidence_cite", "script and HTML injection (title)", status=(302,), accepted=_script_title_stored)
def _(ctx):
    return Req(library_url(ctx.state_a), {"action": "cite", "cite-title": SCRIPT})


@case("attach-cite-javascript-link", "evidence_cite", "javascript: link (on the answer's page)", says="starts with http:// or https://")
def _(ctx):
    return Req(attach_url(ctx.response_a), {"action": "cite", "cite-title": "Act", "cite-link": "JaVaScRiPt:alert(1)"})


@case("detach-other-states-evidence", "evidence_existing", "forged id of another State's object", status=(404,))
def _(ctx):
    evidence = cite_b(ctx)
    return Req(reverse("questionnaire:evidence_detach", args=[ctx.response_a.pk, "FP-5.1.a.status", evidence.pk]), {})


@case("attach-existing-forged-id", "evidence_existing", "forged id (no such entry)", says="Select a valid choice")
def _(ctx):
    cite_a(ctx)  # the library has an entry: the choice is offered
    return Req(attach_url(ctx.response_a), {"action": "existing", "existing-evidence": "99999999999999999999"})


@case("edit-javascript-link", "evidence_edit", "javascript: link (editing an entry)", says="starts with http:// or https://")
def _(ctx):
    entry = cite_a(ctx)
    return Req(reverse("questionnaire:evidence_edit", args=[entry.pk]),
               {"title": "Act", "link": "javascript:alert(1)", "revision": str(entry.revision)})


@case("edit-description-1mb", "evidence_edit", "1 MB text (description)", says="at most 2000 characters")
def _(ctx):
    entry = cite_a(ctx)
    return Req(reverse("questionnaire:evidence_edit", args=[entry.pk]),
               {"title": "Act", "description": one_megabyte(), "revision": str(entry.revision)})


@case("edit-forged-revision", "evidence_edit", "forged revision number", says="The form is incomplete: open the page again")
def _(ctx):
    entry = cite_a(ctx)
    return Req(reverse("questionnaire:evidence_edit", args=[entry.pk]), {"title": "Act", "revision": "-5"})


@case("delete-other-states-entry", "evidence_edit", "forged id of another State's object", status=(404,))
def _(ctx):
    entry = cite_b(ctx)
    return Req(reverse("questionnaire:evidence_delete", args=[entry.pk]), {"revision": str(entry.revision)})


# ============================================================================================
# The offline XLSX import
# ============================================================================================


def _workbook(ctx, response=None) -> bytes:
    from questionnaire import offline

    return offline.response_workbook(response=response or ctx.response_a)


def _fill(ctx, answers: dict[str, Any], change=None) -> bytes:
    from tests.views.test_offline_views import fill

    return fill(_workbook(ctx), answers, change)


def _xlsx(data: bytes, name: str = "answers.xlsx"):
    return {"file": SimpleUploadedFile(name, data, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}


NOTHING_IMPORTED = "Nothing was imported"


@case("xlsx-random-bytes", "offline_import", "malformed spreadsheet (random bytes named .xlsx)", says="is not an Excel workbook")
def _(ctx):
    return Req(offline_url("offline_upload", ctx.response_a), _xlsx(os.urandom(64 * 1024)))


@case("xlsx-truncated", "offline_import", "malformed spreadsheet (a workbook cut in half)", says="The file is damaged")
def _(ctx):
    data = _workbook(ctx)
    return Req(offline_url("offline_upload", ctx.response_a), _xlsx(data[: len(data) // 2]))


@case("xlsx-empty", "offline_import", "empty file", says="The submitted file is empty")
def _(ctx):
    return Req(offline_url("offline_upload", ctx.response_a), _xlsx(b""))


@case("xlsx-other-version", "offline_import", "a spreadsheet from another questionnaire version",
      says="This file is the workbook of another response")
def _(ctx):
    from questionnaire.services import response_get_or_create

    cluster_ii = response_get_or_create(state=ctx.state_a, version=ctx.mini_versions["II"], due_date=None)
    return Req(offline_url("offline_upload", ctx.response_a), _xlsx(_workbook(ctx, cluster_ii)))


def _forge_metadata(book):
    sheet = book["Metadata"]
    for row in sheet.iter_rows():
        if row[0].value == "version":
            row[1].value = row[1].value + 1


@case("xlsx-forged-metadata", "offline_import", "forged hidden metadata (version number edited)", says="made for another version of the questionnaire")
def _(ctx):
    return Req(offline_url("offline_upload", ctx.response_a), _xlsx(_fill(ctx, {}, _forge_metadata)))


def _swap_columns(book):
    sheet = book["Answers"]
    for row in range(1, sheet.max_row + 1):
        a, b = sheet.cell(row, 3), sheet.cell(row, 8)
        a.value, b.value = b.value, a.value


@case("xlsx-wrong-layout", "offline_import", "wrong sheet layout (columns swapped)", says=NOTHING_IMPORTED)
def _(ctx):
    return Req(offline_url("offline_upload", ctx.response_a), _xlsx(_fill(ctx, {}, _swap_columns)))


@case("xlsx-date-in-number", "offline_import", "invalid type (a date in a number cell)", says="Enter a number")
def _(ctx):
    return Req(offline_url("offline_upload", ctx.response_a), _xlsx(_fill(ctx, {"FP-5.1.a.q3": datetime.datetime(2024, 1, 1)})))


@case("xlsx-overlong-short-text", "offline_import", "over-long text (short answer)", says="at most 500 characters")
def _(ctx):
    return Req(offline_url("offline_upload", ctx.response_a), _xlsx(_fill(ctx, {"FP-5.1.a.q2": "x" * 600})))


@case("xlsx-javascript-link", "offline_import", "javascript: link in a legislation cell", says="is not a web address")
def _(ctx):
    return Req(offline_url("offline_upload", ctx.response_a),
               _xlsx(_fill(ctx, {"FP-5.1.a.legislation": "Arms Act | s. 3 | javascript:alert(1)"})))


@case("xlsx-wrong-status-value", "offline_import", "wrong choice value (implementation status)", says="Select a valid choice")
def _(ctx):
    return Req(offline_url("offline_upload", ctx.response_a), _xlsx(_fill(ctx, {"FP-5.1.a.status": "maybe"})))


BOMB_MARKER = "ENTITY-BOMB-MARKER"


def _billion_laughs(data: bytes) -> bytes:
    """An XML entity bomb (10^9 "lol"s) in the answer cell of the Answers sheet."""
    dtd = (
        b'<!DOCTYPE worksheet [<!ENTITY lol0 "lol">'
        + b"".join(b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10) for i in range(1, 10))
        + b"]>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if BOMB_MARKER.encode() in content:
                declaration, _sep, rest = content.partition(b"?>") if content.startswith(b"<?xml") else (b"", b"", content)
                content = declaration + _sep + dtd + rest.replace(BOMB_MARKER.encode(), b"&lol9;")
            target.writestr(info, content)
    return out.getvalue()


@case("xlsx-xml-entity-bomb", "offline_import", "XML entity expansion (billion laughs) in a workbook", says=NOTHING_IMPORTED)
def _(ctx):
    return Req(offline_url("offline_upload", ctx.response_a), _xlsx(_billion_laughs(_fill(ctx, {"FP-5.1.a.explanation": BOMB_MARKER}))))


@case("xlsx-confirm-forged-token", "offline_import", "forged pending-file token (path traversal)", status=(302,),
      says="This upload has expired or was already used")
def _(ctx):
    return Req(offline_url("offline_confirm", ctx.response_a), {"token": "../../../etc/passwd", "action": "confirm"})


@case("xlsx-to-other-states-response", "offline_import", "forged id of another State's object", status=(404,))
def _(ctx):
    return Req(offline_url("offline_upload", ctx.response_a), _xlsx(_workbook(ctx)), persona="focal_point_b")


# ============================================================================================
# The dialogue, the observations and the summary
# ============================================================================================


def _thread_url(ctx, code: str = "FP-5.1.a.explanation") -> str:
    ctx.thread_a  # A's response submitted, the review open for comments
    return reverse("reviews:thread_create", args=[ctx.review_a.pk, code])


@case("thread-1mb-body", "thread_start", "1 MB text", status=(302,), says="The comment was not posted")
def _(ctx):
    return Req(_thread_url(ctx), {"kind": "clarification", "body": one_megabyte()}, persona="reviewer")


@case("thread-forged-kind", "thread_start", "forged choice value (kind)", status=(302,), says="Select a valid choice")
def _(ctx):
    return Req(_thread_url(ctx), {"kind": "approved_by_secretariat", "body": "Please clarify."}, persona="reviewer")


@case("thread-assign-other-state", "thread_start", "forged id: assignee of another State", status=(302,), says="Select a valid choice")
def _(ctx):
    return Req(_thread_url(ctx), {"kind": "clarification", "body": "Please clarify.", "assignee": str(ctx.focal_point_b.pk)},
               persona="reviewer")


@case("thread-on-question-of-other-version", "thread_start", "forged question code (another version's)", status=(404,))
def _(ctx):
    return Req(_thread_url(ctx, "FP-8.1.a.q1"), {"kind": "clarification", "body": "Hi"}, persona="reviewer")


@case("comment-1mb", "comment", "1 MB text", status=(302,), says="The reply was not posted")
def _(ctx):
    return Req(reverse("reviews:comment_create", args=[ctx.thread_a.pk]), {"body": one_megabyte()})


@case("comment-nul-byte", "comment", "NUL byte in text", status=(302,), says="Null characters are not allowed")
def _(ctx):
    return Req(reverse("reviews:comment_create", args=[ctx.thread_a.pk]), {"body": "Reply\x00with NUL"})


@case("comment-on-other-states-thread", "comment", "forged id of another State's object", status=(404,))
def _(ctx):
    return Req(reverse("reviews:comment_create", args=[ctx.thread_a.pk]), {"body": "Borduria butts in"}, persona="focal_point_b")


def _utf8_replaced(ctx, page):
    from reviews.models import Comment

    body = Comment.objects.order_by("-pk").values_list("body", flat=True).first()
    assert body == "Caf\ufffd \ufffd\ufffd ok"  # the invalid bytes became U+FFFD, nothing else changed
    body.encode("utf-8")


@case("comment-invalid-utf8", "comment", "invalid UTF-8 bytes in the POST body", status=(302,), accepted=_utf8_replaced)
def _(ctx):
    return Req(reverse("reviews:comment_create", args=[ctx.thread_a.pk]), b"body=Caf%E9+%FF%FE+ok",
               content_type="application/x-www-form-urlencoded")


@case("thread-assign-forged-id", "thread_assign", "forged id: assignee of another State", status=(302,), says="Choose someone from the list")
def _(ctx):
    return Req(reverse("reviews:thread_assign", args=[ctx.thread_a.pk]), {"assignee": str(ctx.unassigned_reviewer.pk)})


@case("observation-1mb-text", "observation", "1 MB text", status=(302,), says="The observation was not saved")
def _(ctx):
    return Req(reverse("reviews:observation_create", args=[ctx.observation_a.review_id]),
               {"article": "5", "kind": "gap", "text": one_megabyte()}, persona="reviewer")


@case("observation-forged-article", "observation", "forged id (article of no version)", status=(302,), says="Select a valid choice")
def _(ctx):
    return Req(reverse("reviews:observation_create", args=[ctx.observation_a.review_id]),
               {"article": "8", "kind": "gap", "text": "On article 8"}, persona="reviewer")


@case("observation-forged-kind", "observation", "forged choice value (kind)", status=(302,), says="Select a valid choice")
def _(ctx):
    return Req(reverse("reviews:observation_create", args=[ctx.observation_a.review_id]),
               {"article": "5", "kind": "agreed", "text": "Forged"}, persona="reviewer")


@case("observation-edit-forged-ta-category", "observation", "forged choice value (TA category on edit)", status=(422,),
      says="Select a valid choice")
def _(ctx):
    return Req(reverse("reviews:observation_edit", args=[ctx.observation_a.pk]),
               {"kind": "ta_need", "text": "Needs help", "ta_category": "cash", "ta_priority": "high"}, persona="reviewer")


@case("observation-comment-nul", "observation_comment", "NUL byte in text (a POST without a form class)", status=(302,),
      says="Null characters are not allowed")
def _(ctx):
    return Req(reverse("reviews:observation_comment", args=[ctx.observation_a.pk]), {"body": "We agree\x00"})


@case("observation-comment-1mb", "observation_comment", "1 MB text", status=(302,), says="The text is too long")
def _(ctx):
    return Req(reverse("reviews:observation_comment", args=[ctx.observation_a.pk]), {"body": one_megabyte()})


@case("summary-over-limit", "summary", "1 MB text", status=(302,), says="The summary was not saved")
def _(ctx):
    return Req(reverse("reviews:summary_save", args=[ctx.observation_a.review_id]), {"text": one_megabyte()}, persona="reviewer")


@case("summary-comment-rtl-only", "summary_comment", "right-to-left override only (blank text)", status=(302,),
      says="Write a comment first")
def _(ctx):
    return Req(reverse("reviews:summary_comment", args=[ctx.summary_a.review_id]), {"body": " \u202e\u200f "})


@case("summary-comment-nul", "summary_comment", "NUL byte in text (a POST without a form class)", status=(302,),
      says="Null characters are not allowed")
def _(ctx):
    return Req(reverse("reviews:summary_comment", args=[ctx.summary_a.review_id]), {"body": "\x00"})


@case("notification-forged-id", "notifications", "forged id (not a number)", status=(302,))
def _(ctx):
    ctx.thread_a
    return Req(reverse("reviews:notifications_read"), {"notification": "1' OR '1'='1"})


# ============================================================================================
# The secretariat's forms and the review's workflow
# ============================================================================================


def _launch(ctx, **overrides) -> Req:
    data = {"cluster": str(ctx.version.cluster_id), "year": "2027", "states": [str(ctx.parties[0].pk)], "seed": "s"}
    data.update(overrides)
    return Req(reverse("reviews:cycle_launch"), data, persona="secretariat")


@case("launch-forged-cluster", "cycle_launch", "forged id (no such cluster)", status=(200,), says="Select a valid choice")
def _(ctx):
    return _launch(ctx, cluster="999999")


@case("launch-year-out-of-range", "cycle_launch", "invalid value (year 99999)", status=(200,), says="less than or equal to 2100")
def _(ctx):
    return _launch(ctx, year="99999")


@case("launch-forged-language", "cycle_launch", "forged choice value (language)", status=(200,), says="Select a valid choice")
def _(ctx):
    return _launch(ctx, language="xx-evil")


@case("launch-seed-1mb", "cycle_launch", "1 MB text (seed)", status=(200,), says="at most 64 characters")
def _(ctx):
    return _launch(ctx, seed=one_megabyte())


@case("launch-negative-period", "cycle_launch", "invalid value (negative period)", status=(200,), says="greater than or equal to 1")
def _(ctx):
    return _launch(ctx, self_assessment_due_months="-3")


@case("extension-forged-step", "deadline_extension", "forged choice value (step)", says="Select a valid choice")
def _(ctx):
    return Req(reverse("reviews:deadline_extend", args=[ctx.review_a.pk]),
               {"step": "the_end", "due_date": "2030-01-01", "reason": "Because"}, persona="secretariat")


@case("extension-impossible-date", "deadline_extension", "invalid date", says="Enter a valid date")
def _(ctx):
    return Req(reverse("reviews:deadline_extend", args=[ctx.review_a.pk]),
               {"step": "self_assessment", "due_date": "2030-02-31", "reason": "Because"}, persona="secretariat")


@case("extension-1mb-reason", "deadline_extension", "1 MB text (reason)", says="at most 2000 characters")
def _(ctx):
    return Req(reverse("reviews:deadline_extend", args=[ctx.review_a.pk]),
               {"step": "self_assessment", "due_date": "2030-01-01", "reason": one_megabyte()}, persona="secretariat")


def _other_group_assignment(ctx):
    from reviews.models import ReviewerAssignment

    return ctx.review_a.assignments.get(slot=ReviewerAssignment.Slot.OTHER_GROUP)


@case("redraw-1mb-reason", "redraw", "1 MB text (reason)", says="at most 2000 characters")
def _(ctx):
    return Req(reverse("reviews:assignment_change", args=[_other_group_assignment(ctx).pk]),
               {"action": "redraw", "reason": one_megabyte()}, persona="secretariat")


@case("swap-in-the-state-under-review", "redraw", "forged value (the State reviews itself)", says="A State never reviews itself")
def _(ctx):
    return Req(reverse("reviews:assignment_change", args=[_other_group_assignment(ctx).pk]),
               {"action": "swap", "state": str(ctx.state_a.pk), "reason": "Forged"}, persona="secretariat")


@case("groups-forged-group", "groups", "forged id (no such group)", says="Select a valid choice")
def _(ctx):
    from reviews.services_workflow import review_groups_draw

    ctx.parties
    review_groups_draw(first_year=2026, by=ctx.secretariat, seed="groups")
    return Req(reverse("reviews:groups"), {"action": "move", "state": str(ctx.state_a.pk), "group": "424242", "reason": "x"},
               persona="secretariat")


@case("transition-forged-status", "transition", "forged state value", status=(302,), says="Unknown status")
def _(ctx):
    return Req(reverse("reviews:review_transition", args=[ctx.review_a.pk]), {"to": "finalized'; --"}, persona="secretariat")


@case("focal-point-of-another-state", "focal_point", "forged id: a person of another State", status=(302,), says="Choose a focal point of")
def _(ctx):
    return Req(reverse("reviews:focal_point_appoint", args=[ctx.review_a.pk]),
               {"state": str(ctx.state_a.pk), "user": str(ctx.focal_point_b.pk)}, persona="secretariat")


@case("focal-point-forged-state", "focal_point", "forged hidden field (another State)", status=(302,), says="Choose a focal point of")
def _(ctx):
    return Req(reverse("reviews:focal_point_appoint", args=[ctx.review_a.pk]),
               {"state": str(ctx.state_b.pk), "user": str(ctx.focal_point_a.pk)}, persona="secretariat")


@case("experts-of-another-state", "focal_point", "forged id: an expert of another State", says="Select a valid choice")
def _(ctx):
    return Req(reverse("reviews:assignment", args=[_other_group_assignment(ctx).pk]),
               {"action": "experts", "users": [str(ctx.unassigned_reviewer.pk)]}, persona="secretariat")


@case("job-id-overflow", "jobs", "forged id (integer overflow)", status=(404,))
def _(ctx):
    ctx.review_a
    return Req(reverse("reviews:job_create"), {"kind": "cluster_report", "cycle": "9" * 30}, persona="secretariat")


@case("general-report-forged-format", "jobs", "forged choice value (format)", status=(302,), says="Unknown job or parameters")
def _(ctx):
    return Req(reverse("reviews:general_report", args=[ctx.review_a.cycle_id]), {"format": "../../exe"}, persona="secretariat")


# --- Expertise offers and TA needs ----------------------------------------------------------


def _offer(**overrides):
    data = {"article_number": "5", "category": "legislative", "description": "Drafting help", "contact": "help@example.org"}
    data.update(overrides)
    return data


@case("offer-1mb-description", "expertise_offer", "1 MB text", status=(200,), says="at most 5000 characters")
def _(ctx):
    return Req(reverse("reviews:state_offers", args=[ctx.state_a.iso3]), _offer(description=one_megabyte()))


@case("offer-forged-category", "expertise_offer", "forged choice value (category)", status=(200,), says="Select a valid choice")
def _(ctx):
    return Req(reverse("reviews:state_offers", args=[ctx.state_a.iso3]), _offer(category="weapons_sales"))


@case("offer-forged-article", "expertise_offer", "forged choice value (article 999)", status=(200,), says="Select a valid choice")
def _(ctx):
    return Req(reverse("reviews:state_offers", args=[ctx.state_a.iso3]), _offer(article_number="999"))


@case("offer-for-other-state", "expertise_offer", "forged id of another State's object", status=(404,))
def _(ctx):
    return Req(reverse("reviews:state_offers", args=[ctx.state_b.iso3]), _offer())


@case("offer-withdraw-other-states", "expertise_offer", "forged id of another State's object (withdraw)", status=(404,))
def _(ctx):
    from reviews import services_registry as registry

    offer = registry.expertise_offer_create(by=ctx.focal_point_b, state=ctx.state_b, programme="", article_number=5,
                                            category="legislative", description="B's offer", contact="b@example.org")
    return Req(reverse("reviews:offer_withdraw", args=[offer.pk]), {})


@case("ta-need-forged-status", "ta_need", "forged state value", status=(302,), says="Unknown status")
def _(ctx):
    from tests.views.test_ta_views import TA

    _save_one(ctx, "FP-14.ta", TA)
    from tests.views.conftest import submit
    from reviews.services_ta import ta_needs_refresh
    from reviews.models import TechnicalAssistanceNeed

    ctx.review_a
    submit(ctx.response_a, ctx.focal_point_a)
    ta_needs_refresh(state=ctx.state_a)
    need = TechnicalAssistanceNeed.objects.filter(state=ctx.state_a).first()
    return Req(reverse("reviews:ta_need_move", args=[need.pk]), {"to": "<script>delivered</script>"})


# ============================================================================================
# Invitations
# ============================================================================================


@case("invite-header-injection", "invitation", "e-mail header injection", status=(200,), says="Enter a valid email address")
def _(ctx):
    return Req(reverse("parties:invite"), {"email": "a@b.c\r\nBcc: x@y.z", "role": "contributor", "state": str(ctx.state_a.pk)},
               persona="secretariat")


@case("invite-forged-role", "invitation", "forged role value", status=(200,), says="Select a valid choice")
def _(ctx):
    return Req(reverse("parties:invite"), {"email": "new@example.org", "role": "superuser", "state": str(ctx.state_a.pk)},
               persona="secretariat")


@case("invite-forged-state", "invitation", "forged state id", status=(200,), says="Select a valid choice")
def _(ctx):
    ctx.secretariat
    return Req(reverse("parties:invite"), {"email": "new@example.org", "role": "contributor", "state": "987654"}, persona="secretariat")


@case("invite-rtl-in-address", "invitation", "right-to-left override in an e-mail address", status=(200,), says="Enter a valid email address")
def _(ctx):
    return Req(reverse("parties:invite"), {"email": "moc.live\u202e@evil.example", "role": "contributor", "state": str(ctx.state_a.pk)},
               persona="focal_point_a")


@case("accept-1mb-name", "invitation_accept", "1 MB text (name)", status=(200,), says="at most 150 characters")
def _(ctx):
    return Req(reverse("parties:accept", args=[ctx.invitation_token]),
               {"first_name": one_megabyte(), "last_name": "X", "password": "Corr3ct-Horse-Battery", "password_again": "Corr3ct-Horse-Battery"},
               persona="anonymous")
