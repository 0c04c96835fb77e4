"""What people do in the browser, end to end, on the demo data (see conftest.py).

Each journey asserts what its user relies on, found the way a user (or a screen
reader) finds it: roles, accessible names and labels. The database is read only to
learn what the demo drew (the reviewer) and to complete, through the service layer,
the articles that are not under test (answering ~160 questions by hand would be slow).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import FOCAL_POINT_GHANA, FOCAL_POINT_MEXICO, sign_in

pytestmark = pytest.mark.e2e

CLUSTER_I = "Cluster I: Criminalization and jurisdiction"
STATUS_PROMPT = "Has your country adopted measures that put this provision into effect?"
EXPLANATION_PROMPT = "How do these measures work in practice? If the provision is not implemented, why not?"
CHALLENGES_PROMPT = "What difficulties has your country faced in implementing this provision?"
# The six provisions of article 5, as their section headings name them.
ARTICLE_5_PROVISIONS = ["5(1)(a)", "5(1)(b)", "5(1)(c)", "5(1)", "5(2)(a)", "5(2)(b)"]


def provision(page: Page, ref: str):
    """The section of one provision on an article page (headed "Article 5(1)(a) Mandatory")."""
    return page.get_by_role("region", name=re.compile(r"^Article " + re.escape(ref) + r"(\s|$)"))


def status_group(section):
    return section.get_by_role("group", name=STATUS_PROMPT)


def assert_no_console_errors(*pages: Page) -> None:
    errors = [e for p in pages for e in p.console_errors]
    assert not errors, "console errors (a CSP violation shows here):\n" + "\n".join(errors)


# --- 1. Answer, save, check completeness and submit ----------------------------------


def test_focal_point_answers_and_submits(open_page, demo):
    from django.contrib.auth import get_user_model
    from django.utils import translation
    from django.utils.formats import date_format

    from questionnaire.models import Response
    from reviews.demo import answer_all_required

    response = Response.objects.get(pk=demo.ghana_response)
    with translation.override("en"):
        due = date_format(response.due_date, "DATE_FORMAT")

    page = open_page()
    sign_in(page, FOCAL_POINT_GHANA)

    # Home: the State's self-assessment, with its due date.
    section = page.get_by_role("region", name="Self-assessments of my State")
    expect(section.get_by_role("heading", name="Self-assessments of my State")).to_be_visible()
    row = section.get_by_role("row").filter(has_text=CLUSTER_I)
    expect(row).to_contain_text("Ghana")
    expect(row).to_contain_text("Draft")
    expect(row).to_contain_text(due)
    row.get_by_role("link", name=f"Answer {CLUSTER_I}").click()

    # The response: its articles.
    expect(page.get_by_role("heading", level=1, name="Ghana: Firearms Protocol")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(due)
    page.get_by_role("link", name="Article 5. Criminalization").click()
    expect(page.get_by_role("heading", level=1, name="Article 5. Criminalization")).to_be_visible()

    # One provision, answered by hand.
    p5_1_a = provision(page, "5(1)(a)")
    status_group(p5_1_a).get_by_role("radio", name="Yes", exact=True).check()
    p5_1_a.get_by_label("Title of the law").first.fill("Arms and Ammunition Act, 1962 (Act 118)")
    p5_1_a.get_by_label("Article or section").first.fill("Section 3")
    p5_1_a.get_by_label("Link").first.fill("https://example.org/gh/act-118")
    p5_1_a.get_by_label(EXPLANATION_PROMPT).fill("The Ghana Arms and Ammunition Commission licenses manufacturers.")
    p5_1_a.get_by_role("checkbox", name="Manufacture or assembly without a licence or authorization").check()
    p5_1_a.get_by_role("group", name="What state of mind must be proved for this offence?").get_by_role(
        "radio", name="Intent only"
    ).check()
    p5_1_a.get_by_label("What are the minimum and maximum penalties").fill("5 to 15 years of imprisonment")
    page.get_by_role("button", name="Save answers").click()
    expect(page.get_by_role("status").filter(has_text="Saved at")).to_be_visible()

    # Kept after a reload.
    page.reload()
    p5_1_a = provision(page, "5(1)(a)")
    expect(status_group(p5_1_a).get_by_role("radio", name="Yes", exact=True)).to_be_checked()
    expect(p5_1_a.get_by_label("Title of the law").first).to_have_value("Arms and Ammunition Act, 1962 (Act 118)")
    expect(p5_1_a.get_by_label("Article or section").first).to_have_value("Section 3")
    expect(p5_1_a.get_by_label("Link").first).to_have_value("https://example.org/gh/act-118")
    expect(p5_1_a.get_by_label(EXPLANATION_PROMPT)).to_have_value(
        "The Ghana Arms and Ammunition Commission licenses manufacturers."
    )
    no_licence = p5_1_a.get_by_role("checkbox", name="Manufacture or assembly without a licence or authorization")
    expect(no_licence).to_be_checked()
    expect(p5_1_a.get_by_role("radio", name="Intent only")).to_be_checked()
    penalties = p5_1_a.get_by_label("What are the minimum and maximum penalties")
    expect(penalties).to_have_value("5 to 15 years of imprisonment")
    expect(p5_1_a).to_contain_text("last saved by Ama Mensah")

    # Completeness: what is still missing, and not what was answered.
    page.get_by_role("link", name="Check completeness").click()
    main = page.get_by_role("main")
    expect(page.get_by_role("heading", level=1, name="Completeness check")).to_be_visible()
    expect(main).to_contain_text(re.compile(r"\d+ required answers are still missing"))
    expect(page.get_by_role("heading", name="Article 1. Relation with the United Nations Convention")).to_be_visible()
    expect(page.get_by_role("heading", name="Article 5. Criminalization")).to_be_visible()
    expect(main.get_by_role("link", name="FP-5.1.b.status", exact=True)).to_be_visible()
    expect(main.get_by_role("link", name="FP-5.1.b.explanation", exact=True)).to_be_visible()
    expect(main.get_by_role("link", name="FP-5.1.a.status", exact=True)).to_have_count(0)
    expect(main.get_by_role("link", name="FP-5.1.a.explanation", exact=True)).to_have_count(0)

    # The rest of article 5 in the browser too: following a missing answer's link.
    main.get_by_role("link", name="FP-5.1.b.status", exact=True).click()
    expect(page.get_by_role("heading", level=1, name="Article 5. Criminalization")).to_be_visible()
    for ref in ARTICLE_5_PROVISIONS[1:]:
        section = provision(page, ref)
        status_group(section).get_by_role("radio", name="No", exact=True).check()
        section.get_by_label(EXPLANATION_PROMPT).fill(f"No specific offence yet for article {ref}; a bill is drafted.")
        section.get_by_label(CHALLENGES_PROMPT).fill("Drafting capacity in the Attorney-General's Department.")
    page.get_by_role("button", name="Save answers").click()
    expect(page.get_by_role("status").filter(has_text="Saved at")).to_be_visible()
    page.get_by_role("link", name="Check completeness").click()
    expect(page.get_by_role("heading", level=1, name="Completeness check")).to_be_visible()
    expect(page.get_by_role("heading", name="Article 1. Relation with the United Nations Convention")).to_be_visible()
    expect(page.get_by_role("heading", name="Article 5. Criminalization")).to_have_count(0)

    # The other articles through the service layer (article 5 is complete: untouched).
    answer_all_required(response, get_user_model().objects.get(username=FOCAL_POINT_GHANA))

    page.reload()
    expect(page.get_by_role("status").filter(has_text="Every required question is answered.")).to_be_visible()
    page.get_by_role("link", name="Back to the response").click()
    page.get_by_role("link", name="Submit the response").click()
    expect(page.get_by_role("heading", level=1, name="Submit the response")).to_be_visible()
    page.get_by_role("button", name="Submit now").click()

    # The submitted copy, with the answers given in the browser.
    expect(page.get_by_role("heading", level=1, name="Response of Ghana as submitted")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Your response has been submitted")).to_be_visible()
    copy = page.get_by_role("region", name="Article 5. Criminalization")
    expect(copy).to_contain_text("Arms and Ammunition Act, 1962 (Act 118), Section 3, https://example.org/gh/act-118")
    expect(copy).to_contain_text("The Ghana Arms and Ammunition Commission licenses manufacturers.")
    expect(page.get_by_role("main")).to_contain_text(re.compile(r"Fingerprint \(SHA-256\):\s*[0-9a-f]{64}"))

    # The response is locked: the article is read only.
    page.get_by_role("link", name=CLUSTER_I).click()
    expect(page.get_by_role("main")).to_contain_text("Submitted")
    expect(page.get_by_role("link", name="Submit the response")).to_have_count(0)
    page.get_by_role("link", name="Article 5. Criminalization").click()
    expect(page.get_by_role("heading", level=1, name="Article 5. Criminalization")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("read only")
    expect(page.get_by_role("main")).to_contain_text("Arms and Ammunition Act, 1962 (Act 118)")
    expect(page.get_by_role("button", name="Save answers")).to_have_count(0)
    expect(page.get_by_role("radio")).to_have_count(0)

    assert_no_console_errors(page)


# --- 2. Conditional questions ---------------------------------------------------------


def test_follow_up_questions_follow_the_status(open_page, demo):
    page = open_page()
    sign_in(page, FOCAL_POINT_GHANA)
    page.goto(f"/responses/{demo.ghana_response}/articles/5/")
    section = provision(page, "5(1)(b)")
    status = status_group(section)
    legislation = section.get_by_label("Title of the law")
    challenges = section.get_by_label(CHALLENGES_PROMPT)

    # Not answered yet: neither follow-up is asked.
    expect(status.get_by_role("radio")).to_have_count(3)
    expect(legislation).to_be_hidden()
    expect(challenges).to_be_hidden()

    status.get_by_role("radio", name="No", exact=True).check()
    expect(challenges).to_be_visible()
    expect(legislation).to_be_hidden()

    status.get_by_role("radio", name="Yes", exact=True).check()
    expect(legislation).to_be_visible()
    expect(section.get_by_label("Article or section")).to_be_visible()
    expect(section.get_by_label("Link")).to_be_visible()
    expect(challenges).to_be_hidden()

    status.get_by_role("radio", name="Partially", exact=True).check()
    expect(legislation).to_be_visible()
    expect(challenges).to_be_visible()

    # The other provisions are not affected.
    expect(provision(page, "5(1)(a)").get_by_label("Title of the law")).to_be_hidden()
    assert_no_console_errors(page)


# --- 3. The dialogue between reviewer and reviewed State ------------------------------


def test_reviewer_asks_and_state_replies(open_page, demo):
    review_name = re.compile(r"^Review of Mexico, " + re.escape(CLUSTER_I))
    question = re.compile(r"^FP-5\.1\.a\.status\b")
    body = "Does the offence also cover the assembly of firearms from parts bought online?"
    reply = "Yes: section 7 of the Federal Firearms Act covers assembly from any parts."

    reviewer = open_page()
    sign_in(reviewer, demo.reviewer)
    to_do = reviewer.get_by_role("region", name="Reviews assigned to my State")
    expect(to_do.get_by_text("Ready to review")).to_be_visible()
    to_do.get_by_role("link", name=review_name).click()
    expect(reviewer.get_by_role("heading", level=1, name=review_name)).to_be_visible()
    reviewer.get_by_role("link", name="Article 5. Criminalization").click()
    expect(reviewer.get_by_role("main")).to_contain_text("Submitted answers of Mexico")
    answer = reviewer.get_by_role("article", name=question)
    expect(answer).to_contain_text("Yes")
    answer.get_by_text("Comment on this answer").click()
    answer.get_by_label("Type").select_option(label="Request for clarification")
    answer.get_by_label("Comment", exact=True).fill(body)
    answer.get_by_role("button", name="Post the comment").click()
    expect(reviewer.get_by_role("status").filter(has_text="Your comment is posted")).to_be_visible()
    answer = reviewer.get_by_role("article", name=question)
    expect(answer).to_contain_text(body)
    expect(answer).to_contain_text("Request for clarification · Open")
    expect(answer).to_contain_text(demo.reviewing_state)

    mexico = open_page()
    sign_in(mexico, FOCAL_POINT_MEXICO)
    mine = mexico.get_by_role("region", name="Reviews of my State")
    mine.get_by_role("link", name=review_name).click()
    article_5 = mexico.get_by_role("listitem").filter(has_text="Article 5. Criminalization")
    expect(article_5).to_contain_text("1 open thread")
    mexico.get_by_role("link", name="Article 5. Criminalization").click()
    answer = mexico.get_by_role("article", name=question)
    expect(answer).to_contain_text(body)
    expect(answer).to_contain_text("Request for clarification · Open")
    # The State under review replies; it cannot open threads of its own.
    expect(answer.get_by_text("Comment on this answer")).to_have_count(0)
    answer.get_by_label("Reply").fill(reply)
    answer.get_by_role("button", name="Post", exact=True).click()
    expect(mexico.get_by_role("status").filter(has_text="Your reply is posted")).to_be_visible()
    answer = mexico.get_by_role("article", name=question)
    expect(answer).to_contain_text(reply)
    expect(answer).to_contain_text("Request for clarification · Answered")

    reviewer.reload()
    answer = reviewer.get_by_role("article", name=question)
    expect(answer).to_contain_text(reply)
    expect(answer).to_contain_text("Mexico")
    expect(answer).to_contain_text("Request for clarification · Answered")
    assert_no_console_errors(reviewer, mexico)


# --- 4. Arabic, right to left ---------------------------------------------------------


def test_arabic_is_right_to_left(open_page, demo):
    page = open_page()
    sign_in(page, FOCAL_POINT_GHANA)
    html = page.locator("html")
    expect(html).to_have_attribute("dir", "ltr")
    expect(html).to_have_attribute("lang", "en")

    # Django's own name for Arabic in Arabic is written with a shadda: "العربيّة".
    language = page.get_by_label("Language")
    expect(language.get_by_role("option", name=re.compile("^العربي"))).to_have_count(1)
    language.select_option(label="العربيّة")
    page.get_by_role("button", name="Change").click()
    expect(html).to_have_attribute("dir", "rtl")
    expect(html).to_have_attribute("lang", "ar")
    expect(page.get_by_label(re.compile("Language|اللغة"))).to_have_value("ar")

    # The choice sticks for the next pages.
    page.goto(f"/responses/{demo.ghana_response}/")
    expect(html).to_have_attribute("dir", "rtl")
    expect(html).to_have_attribute("lang", "ar")
    assert_no_console_errors(page)


# --- 5. Confidentiality ---------------------------------------------------------------


def test_other_state_cannot_open_a_response(open_page, demo):
    page = open_page()
    sign_in(page, FOCAL_POINT_MEXICO)
    for path in (
        f"/responses/{demo.ghana_response}/",
        f"/responses/{demo.ghana_response}/articles/5/",
        f"/responses/{demo.ghana_response}/completeness/",
    ):
        result = page.goto(path)
        assert result is not None and result.status == 404, f"{path}: HTTP {result and result.status}"
        expect(page.locator("body")).not_to_contain_text("Ghana")
    # Its own response still opens.
    result = page.goto(f"/responses/{demo.mexico_response}/")
    assert result is not None and result.status == 200
    expect(page.get_by_role("heading", level=1, name="Mexico: Firearms Protocol")).to_be_visible()


# --- 6. Autosave: answers save as they are typed, and survive a failed request -------


def test_answers_save_as_they_are_typed_and_retry_after_a_failure(open_page, demo):
    from questionnaire.models import Answer

    page = open_page()
    sign_in(page, FOCAL_POINT_GHANA)
    page.goto(f"/responses/{demo.ghana_response}/articles/5/")
    section = provision(page, "5(1)(a)")

    # The first save attempt is lost on the way (a dropped connection).
    failures = {"left": 1}

    def flaky(route):
        if failures["left"]:
            failures["left"] -= 1
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/answers/FP-5.1.a.explanation/", flaky)
    section.get_by_label(EXPLANATION_PROMPT).fill("Typed, never submitted with the button.")
    expect(section.get_by_text("Not saved — retrying")).to_be_visible()
    expect(section.get_by_text(re.compile(r"^Saved at \d\d:\d\d$"))).to_be_visible(timeout=15_000)

    answer = Answer.objects.get(response_id=demo.ghana_response, question__code="FP-5.1.a.explanation")
    assert (answer.value, answer.revision) == ("Typed, never submitted with the button.", 1)

    page.reload()
    expect(provision(page, "5(1)(a)").get_by_label(EXPLANATION_PROMPT)).to_have_value(
        "Typed, never submitted with the button."
    )
    # The dropped request is the only error the page logged: no CSP violation.
    assert not [e for e in page.console_errors if "Content Security Policy" in e], page.console_errors


def test_leaving_a_field_after_its_typed_save_sends_nothing_more(open_page, demo):
    """One save per edit: the "change" a field fires when it loses focus after its
    typed save would send the same values again (an unchanged save per edit)."""
    page = open_page()
    sign_in(page, FOCAL_POINT_GHANA)
    page.goto(f"/responses/{demo.ghana_response}/articles/5/")
    section = provision(page, "5(1)(a)")
    saves = []
    page.on("request", lambda request: saves.append(request.url) if "/answers/FP-5.1.a.explanation/" in request.url else None)

    field = section.get_by_label(EXPLANATION_PROMPT)
    field.fill("One edit, one save.")
    expect(section.get_by_text(re.compile(r"^Saved at \d\d:\d\d$"))).to_be_visible(timeout=15_000)
    field.blur()
    page.wait_for_timeout(1500)  # longer than the typing delay: any further save would have gone

    assert len(saves) == 1, saves
    # A real change afterwards is sent as usual.
    with page.expect_response(lambda r: "/answers/FP-5.1.a.explanation/" in r.url and r.status == 200):
        field.fill("One edit, one save. And another.")
    assert len(saves) == 2, saves


def test_leaving_the_page_with_an_edit_not_saved_yet_asks_first(open_page, demo):
    page = open_page()
    sign_in(page, FOCAL_POINT_GHANA)
    article = f"/responses/{demo.ghana_response}/articles/5/"
    page.goto(article)
    # The save never arrives (a connection that hangs): the edit stays unsaved.
    page.route("**/answers/FP-5.1.a.explanation/", lambda route: None)
    provision(page, "5(1)(a)").get_by_label(EXPLANATION_PROMPT).fill("Not saved yet")
    asked = []

    def answer(dialog):
        asked.append(dialog.type)
        dialog.dismiss()  # "Stay on page"

    page.on("dialog", answer)
    try:
        page.goto("/", timeout=3000)
    except Exception:  # noqa: BLE001 - the navigation is cancelled by staying
        pass

    assert asked == ["beforeunload"]
    assert page.url.endswith(article)
    expect(provision(page, "5(1)(a)").get_by_label(EXPLANATION_PROMPT)).to_have_value("Not saved yet")


def _colleague_saves(response_id: int, code: str, text: str) -> None:
    """A contributor of Ghana saves one answer from a page of their own (services)."""
    from django.contrib.auth import get_user_model

    from parties.models import Membership
    from questionnaire.models import Question, Response
    from tests.factories import save

    response = Response.objects.get(pk=response_id)
    colleague, _ = get_user_model().objects.get_or_create(
        username="kofi.colleague", defaults={"email": "kofi@demo.test", "first_name": "Kofi", "last_name": "Colleague"}
    )
    Membership.objects.get_or_create(user=colleague, state_id=response.state_id, role=Membership.Role.CONTRIBUTOR)
    save(response, colleague, {Question.objects.get(version_id=response.version_id, code=code): text})


def test_an_autosave_stopped_by_a_colleagues_newer_save_waits_for_the_persons_choice(open_page, demo):
    from questionnaire.models import Answer

    page = open_page()
    sign_in(page, FOCAL_POINT_GHANA)
    page.goto(f"/responses/{demo.ghana_response}/articles/5/")
    section = provision(page, "5(1)(a)")
    _colleague_saves(demo.ghana_response, "FP-5.1.a.explanation", "Kofi's explanation")
    saves = []
    page.on("request", lambda r: saves.append(r.url) if "/answers/FP-5.1.a.explanation/" in r.url else None)

    field = section.get_by_label(EXPLANATION_PROMPT)
    field.fill("The focal point's explanation")
    expect(section.get_by_text(re.compile(r"Kofi Colleague changed this answer at"))).to_be_visible(timeout=15_000)
    expect(section.get_by_text("Kofi's explanation")).to_be_visible()
    # Leaving the field fires "change" with the text that was stopped: nothing is sent.
    field.blur()
    page.wait_for_timeout(1500)
    assert len(saves) == 1, saves
    stored = Answer.objects.get(response_id=demo.ghana_response, question__code="FP-5.1.a.explanation")
    assert (stored.value, stored.revision) == ("Kofi's explanation", 1)

    # The person chooses: their version, over Kofi's, on purpose.
    section.get_by_role("button", name="Keep my version").click()
    expect(section.get_by_text(re.compile(r"^Saved at \d\d:\d\d$"))).to_be_visible(timeout=15_000)
    stored.refresh_from_db()
    assert (stored.value, stored.revision) == ("The focal point's explanation", 2)
    # The 409 is the browser's only complaint: the notice's buttons break no CSP rule.
    assert not [e for e in page.console_errors if "409" not in e], page.console_errors


def test_take_their_version_shows_the_colleagues_answer_in_the_field(open_page, demo):
    page = open_page()
    sign_in(page, FOCAL_POINT_GHANA)
    page.goto(f"/responses/{demo.ghana_response}/articles/5/")
    _colleague_saves(demo.ghana_response, "FP-5.1.a.explanation", "Kofi's explanation")
    section = provision(page, "5(1)(a)")
    section.get_by_label(EXPLANATION_PROMPT).fill("The focal point's explanation")
    expect(section.get_by_text(re.compile(r"Kofi Colleague changed this answer at"))).to_be_visible(timeout=15_000)

    section.get_by_role("button", name="Take their version").click()

    expect(provision(page, "5(1)(a)").get_by_label(EXPLANATION_PROMPT)).to_have_value("Kofi's explanation")
    assert page.url.endswith("#q-FP-5.1.a.explanation")


def test_an_autosave_refused_for_a_replaced_form_token_takes_the_new_token_and_saves(open_page, demo):
    """Signing in again (in another tab, after "you are signed out") replaces the form
    token: the open page's saves would all be refused."""
    from questionnaire.models import Answer

    page = open_page()
    sign_in(page, FOCAL_POINT_GHANA)
    page.goto(f"/responses/{demo.ghana_response}/articles/5/")
    page.evaluate("document.querySelector('#answer-form [name=csrfmiddlewaretoken]').value = 'x'.repeat(64)")
    refused = []
    page.on("response", lambda r: refused.append(r.status) if "/answers/FP-5.1.a.explanation/" in r.url else None)
    section = provision(page, "5(1)(a)")

    section.get_by_label(EXPLANATION_PROMPT).fill("Saved with the new token")

    expect(section.get_by_text(re.compile(r"^Saved at \d\d:\d\d$"))).to_be_visible(timeout=15_000)
    assert refused == [403, 200], refused
    stored = Answer.objects.get(response_id=demo.ghana_response, question__code="FP-5.1.a.explanation")
    assert stored.value == "Saved with the new token"


def test_ticking_confirm_on_a_carried_over_answer_saves_it_as_confirmed(open_page, demo):
    from questionnaire.models import Answer

    _colleague_saves(demo.ghana_response, "FP-5.1.a.explanation", "Copied from 2024")
    Answer.objects.filter(response_id=demo.ghana_response, question__code="FP-5.1.a.explanation").update(carried_over=True)
    page = open_page()
    sign_in(page, FOCAL_POINT_GHANA)
    page.goto(f"/responses/{demo.ghana_response}/articles/5/")
    section = provision(page, "5(1)(a)")
    expect(section.get_by_text("carried over — please confirm")).to_be_visible()

    with page.expect_response(lambda r: "/answers/FP-5.1.a.explanation/" in r.url and r.status == 200):
        section.get_by_label("I have checked this answer: confirm it").check()

    stored = Answer.objects.get(response_id=demo.ghana_response, question__code="FP-5.1.a.explanation")
    assert (stored.value, stored.carried_over, stored.revision) == ("Copied from 2024", False, 2)
    page.reload()
    expect(provision(page, "5(1)(a)").get_by_text("carried over — please confirm")).to_have_count(0)


# --- 7. The whole cluster on one page ---------------------------------------------------


def test_the_whole_cluster_answers_on_one_page(open_page, demo):
    from questionnaire.models import Answer

    page = open_page()
    sign_in(page, FOCAL_POINT_GHANA)
    page.goto(f"/responses/{demo.ghana_response}/articles/5/")
    page.get_by_role("link", name="All articles on one page").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("All articles of")
    expect(page.get_by_role("heading", level=2, name=re.compile(r"^Article 14\."))).to_be_visible()

    # Answers of two articles save as they are typed, each on its own.
    provision(page, "1(1)").get_by_label(EXPLANATION_PROMPT).fill("Definitions follow the Protocol.")
    provision(page, "14").get_by_label(EXPLANATION_PROMPT).fill("Training with UNODC.")
    for ref in ("1(1)", "14"):
        expect(provision(page, ref).get_by_text(re.compile(r"^Saved at \d\d:\d\d$"))).to_be_visible(timeout=15_000)
    # Follow-up questions follow their status on this page too.
    section = provision(page, "5(1)(b)")
    status_group(section).get_by_role("radio", name="No", exact=True).check()
    expect(section.get_by_label(CHALLENGES_PROMPT)).to_be_visible()

    saved = dict(
        Answer.objects.filter(response_id=demo.ghana_response, question__code__endswith=".explanation")
        .values_list("question__provision__ref", "value")
    )
    assert saved["1(1)"] == "Definitions follow the Protocol."
    assert saved["14"] == "Training with UNODC."
    # Reopened, the page shows what was saved (from its cache of question blocks, renewed by the save).
    page.reload()
    expect(provision(page, "14").get_by_label(EXPLANATION_PROMPT)).to_have_value("Training with UNODC.")
    assert_no_console_errors(page)
