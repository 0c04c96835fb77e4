"""Answering an article over HTTP: what the page shows, what a POST saves, and the
ways a POST is refused without saving anything."""

from __future__ import annotations

import re
import urllib.parse

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from questionnaire.models import Answer, Question
from tests.factories import question, save

from .conftest import (
    form_data,
    legislation_rows,
    messages_of,
    page_revisions,
    stored_answers,
    submit,
    ta_block,
    with_values,
)
from tests.signin import sign_in

pytestmark = pytest.mark.django_db


def article_url(response, number: int = 5) -> str:
    return reverse("questionnaire:article", args=[response.pk, number])


def codes_on_page(page) -> set[str]:
    return set(re.findall(r'<div class="question[^"]*" id="q-([^"]+)"', page.content.decode()))


# --- The page ----------------------------------------------------------------------


def test_it_shows_the_questions_of_that_article_only(as_user, focal_point_a, response_a, version):
    page = as_user(focal_point_a).get(article_url(response_a, 5))

    assert page.status_code == 200
    article_5 = set(Question.objects.filter(version=version, article__number=5).values_list("code", flat=True))
    assert len(article_5) == 16
    assert codes_on_page(page) == article_5
    assert 'name="FP-14.status"' not in page.content.decode()

    page = as_user(focal_point_a).get(article_url(response_a, 14))
    assert codes_on_page(page) == {"FP-14.status", "FP-14.legislation", "FP-14.explanation", "FP-14.challenges", "FP-14.ta"}


def test_it_answers_404_for_an_article_that_is_not_in_the_questionnaire(as_user, focal_point_a, response_a):
    # Article 8 exists in the content, but in cluster II only.
    assert as_user(focal_point_a).get(article_url(response_a, 8)).status_code == 404


# --- Saving ------------------------------------------------------------------------


def test_it_saves_posted_answers_with_revision_one(as_user, focal_point_a, response_a):
    client = as_user(focal_point_a)
    data = {
        "revisions": page_revisions(client.get(article_url(response_a))),
        "FP-5.1.a.status": "partially",
        "FP-5.1.a.q1": "other",
        "FP-5.1.a.q2": "Possession without a licence.",
        "FP-5.1.a.q3": "12",
        "FP-5.1.a.explanation": "  The police and customs apply it.  ",
        "FP-5.2.q1": "yes",
        **legislation_rows(
            "FP-5.1.a.legislation",
            [
                {"title": "Firearms Act 2020", "article": "s. 5", "link": "https://example.org/act"},
                {"title": "Penal Code", "article": "art. 201", "link": ""},
                {"title": "", "article": "", "link": ""},  # the empty row the page always adds
            ],
        ),
        **ta_block("FP-5.1.a.ta", needed="yes", categories=["training_customs", "marking_equipment"], priority="high",
                   details="Two marking machines."),
    }

    page = client.post(article_url(response_a), data)

    assert page.status_code == 302
    assert page["Location"] == article_url(response_a)
    assert stored_answers(response_a) == {
        "FP-5.1.a.status": ("partially", 1),
        "FP-5.1.a.q1": ("other", 1),
        "FP-5.1.a.q2": ("Possession without a licence.", 1),
        "FP-5.1.a.q3": (12, 1),
        "FP-5.1.a.explanation": ("The police and customs apply it.", 1),
        "FP-5.2.q1": ("yes", 1),
        "FP-5.1.a.legislation": (
            [
                {"title": "Firearms Act 2020", "article": "s. 5", "link": "https://example.org/act"},
                {"title": "Penal Code", "article": "art. 201", "link": ""},
            ],
            1,
        ),
        "FP-5.1.a.ta": (
            {"needed": True, "categories": ["training_customs", "marking_equipment"], "priority": "high",
             "details": "Two marking machines."},
            1,
        ),
    }
    assert set(Answer.objects.filter(response=response_a).values_list("updated_by", flat=True)) == {focal_point_a.pk}
    after = client.get(article_url(response_a))
    assert any(m.startswith("Saved at") for m in messages_of(after))
    assert "last saved by Ada Focal" in after.content.decode()


def test_it_leaves_answers_that_were_not_posted_alone(as_user, focal_point_a, response_a, version):
    save(response_a, focal_point_a, {question(version, "FP-5.2.explanation"): "Kept as it is."})
    client = as_user(focal_point_a)

    page = client.post(article_url(response_a), {"revisions": page_revisions(client.get(article_url(response_a))),
                                                 "FP-5.1.a.q3": "4"})

    assert page.status_code == 302
    assert stored_answers(response_a) == {"FP-5.2.explanation": ("Kept as it is.", 1), "FP-5.1.a.q3": (4, 1)}


INVALID = {
    "unknown choice code": ({"FP-5.1.a.q1": "bogus"}, "bogus is not one of the available choices"),
    "javascript link": (
        legislation_rows("FP-5.1.a.legislation", [{"title": "Act", "article": "", "link": "javascript:alert(1)"}]),
        "javascript:alert(1)” is not a web address",
    ),
    "text over the limit": (
        {"FP-5.1.a.explanation": "x" * (settings.ANSWER_TEXT_MAX_LENGTH + 1)},
        f"This answer is {settings.ANSWER_TEXT_MAX_LENGTH + 1} characters long; the limit is {settings.ANSWER_TEXT_MAX_LENGTH}.",
    ),
    "unknown assistance category": (
        ta_block("FP-5.1.a.ta", needed="yes", categories=["weapons_please"]),
        "Unknown category: weapons_please.",
    ),
}


@pytest.mark.parametrize("case", INVALID.values(), ids=INVALID.keys())
def test_it_refuses_an_invalid_value_with_422_and_saves_nothing(case, as_user, focal_point_a, response_a, version):
    invalid, message = case
    save(response_a, focal_point_a, {question(version, "FP-5.2.q1"): "no"})
    before = stored_answers(response_a)
    client = as_user(focal_point_a)
    data = {
        "revisions": page_revisions(client.get(article_url(response_a))),
        # Valid answers in the same POST, one of them changing a stored answer.
        "FP-5.1.a.status": "yes",
        "FP-5.1.a.q3": "3",
        "FP-5.2.q1": "yes",
        **invalid,
    }

    page = client.post(article_url(response_a), data)

    assert page.status_code == 422
    body = page.content.decode()
    assert message in body
    assert "Nothing was saved: please correct the answers marked below." in body
    assert stored_answers(response_a) == before


def test_it_answers_400_to_an_unknown_question_code_and_saves_nothing(as_user, focal_point_a, response_a):
    client = as_user(focal_point_a)

    # A question of article 14 posted to article 5, with a valid answer beside it.
    page = client.post(article_url(response_a, 5), {"revisions": "{}", "FP-5.1.a.q3": "4", "FP-14.status": "yes"})

    assert page.status_code == 400
    assert "Nothing was saved" in page.content.decode()
    assert stored_answers(response_a) == {}


def test_it_names_the_unknown_question_code(as_user, focal_point_a, response_a):
    page = as_user(focal_point_a).post(article_url(response_a, 5), {"revisions": "{}", "FP-14.status": "yes"})

    assert page.status_code == 400
    assert "FP-14.status" in page.content.decode()


def test_it_does_not_reflect_an_unknown_field_name_as_markup(as_user, focal_point_a, response_a):
    page = as_user(focal_point_a).post(article_url(response_a, 5), {"revisions": "{}", "<script>alert(1)</script>": "x"})

    assert page.status_code == 400
    assert stored_answers(response_a) == {}
    # Either plain text, or HTML with the name escaped: never markup from the client.
    if page["Content-Type"].startswith("text/plain"):
        assert "<script>alert(1)</script>" in page.content.decode()
    else:
        assert "<script>alert(1)</script>" not in page.content.decode()
        assert "&lt;script&gt;" in page.content.decode()


# --- Two people on one article ---------------------------------------------------------


def test_it_shows_a_stale_edit_as_a_conflict_and_saves_nothing(as_user, focal_point_a, contributor_a, response_a, version):
    client = as_user(focal_point_a)
    opened = page_revisions(client.get(article_url(response_a)))
    # Meanwhile, the contributor saves the same answer.
    save(response_a, contributor_a, {question(version, "FP-5.1.a.explanation"): "Text by the contributor"})

    page = client.post(
        article_url(response_a),
        {"revisions": opened, "FP-5.1.a.explanation": "Text by the focal point", "FP-5.1.a.q3": "5"},
    )

    assert page.status_code == 409
    body = page.content.decode()
    conflict = body[body.index('id="conflicts"'):body.index('id="answer-form"')]
    assert "Someone else changed these answers while you were editing" in conflict
    assert "Text by the contributor" in conflict
    assert "Text by the focal point" in conflict
    assert "changed by Cora Contributor" in conflict
    # What the focal point typed is still in the form.
    assert re.search(r"<textarea[^>]*name=\"FP-5.1.a.explanation\"[^>]*>\s*Text by the focal point</textarea>", body)
    assert stored_answers(response_a) == {"FP-5.1.a.explanation": ("Text by the contributor", 1)}


def test_it_saves_a_deliberate_overwrite_from_the_conflict_page(as_user, focal_point_a, contributor_a, response_a, version):
    client = as_user(focal_point_a)
    opened = page_revisions(client.get(article_url(response_a)))
    save(response_a, contributor_a, {question(version, "FP-5.1.a.explanation"): "Text by the contributor"})
    data = {"FP-5.1.a.explanation": "Text by the focal point", "FP-5.1.a.q3": "5"}
    conflict = client.post(article_url(response_a), {"revisions": opened, **data})
    assert conflict.status_code == 409

    # Saving again from the conflict page keeps the focal point's version.
    page = client.post(article_url(response_a), {"revisions": page_revisions(conflict), **data})

    assert page.status_code == 302
    assert stored_answers(response_a) == {
        "FP-5.1.a.explanation": ("Text by the focal point", 2),
        "FP-5.1.a.q3": (5, 1),
    }
    assert Answer.objects.get(response=response_a, question__code="FP-5.1.a.explanation").updated_by == focal_point_a


def _opened_then_changed_by_a_colleague(as_user, focal_point_a, contributor_a, response_a, version, changes):
    """The focal point answered two questions and opened article 5; then the
    contributor saved ``changes`` (code -> text). Returns the focal point's client and
    the form as their page shows it."""
    save(response_a, focal_point_a, {question(version, "FP-5.1.a.explanation"): "First explanation",
                                     question(version, "FP-5.1.a.q2"): "First offence"})
    client = as_user(focal_point_a)
    shown = form_data(client.get(article_url(response_a)))
    save(response_a, contributor_a, {question(version, code): text for code, text in changes.items()})
    return client, shown


def test_a_whole_page_save_keeps_an_answer_someone_else_changed_that_this_editor_did_not_touch(
    as_user, focal_point_a, contributor_a, response_a, version
):
    # Meanwhile, the contributor improves the explanation.
    client, shown = _opened_then_changed_by_a_colleague(
        as_user, focal_point_a, contributor_a, response_a, version, {"FP-5.1.a.explanation": "The contributor's explanation"}
    )

    # The focal point changes only the offence and saves the whole page, which also
    # posts the explanation as it was when the page was opened.
    page = client.post(article_url(response_a), with_values(shown, **{"FP-5.1.a.q2": "Possession without a licence"}),
                       follow=True)

    assert page.redirect_chain[0][1] == 302
    stored = stored_answers(response_a)
    assert stored["FP-5.1.a.explanation"] == ("The contributor's explanation", 2)
    assert stored["FP-5.1.a.q2"] == ("Possession without a licence", 2)
    assert any("1 answer that you did not change had been changed by someone else meanwhile" in m
               for m in messages_of(page))


def test_the_conflict_page_shows_the_newer_untouched_answers_so_that_saving_again_keeps_them(
    as_user, focal_point_a, contributor_a, response_a, version
):
    client, shown = _opened_then_changed_by_a_colleague(
        as_user, focal_point_a, contributor_a, response_a, version,
        {"FP-5.1.a.explanation": "The contributor's explanation", "FP-5.1.a.q2": "The contributor's offence"},
    )

    # Both changed the offence: a conflict. The explanation the focal point did not touch.
    conflict = client.post(article_url(response_a), with_values(shown, **{"FP-5.1.a.q2": "The focal point's offence"}))

    assert conflict.status_code == 409
    body = conflict.content.decode()
    conflicts = body[body.index('id="conflicts"'):body.index('id="answer-form"')]
    assert re.findall(r'<a href="#q-([^"]+)">', conflicts) == ["FP-5.1.a.q2"]
    assert "The contributor&#x27;s offence" in conflicts
    assert re.search(r'<textarea[^>]*name="FP-5.1.a.explanation"[^>]*>\s*The contributor&#x27;s explanation</textarea>',
                     body)
    assert re.search(r'name="FP-5.1.a.q2"[^>]*value="The focal point&#x27;s offence"|'
                     r'<textarea[^>]*name="FP-5.1.a.q2"[^>]*>\s*The focal point&#x27;s offence</textarea>', body)

    # Saving the conflict page as it is shown keeps the focal point's offence, on
    # purpose, and the contributor's explanation.
    page = client.post(article_url(response_a), with_values(form_data(conflict)))

    assert page.status_code == 302
    stored = stored_answers(response_a)
    assert stored["FP-5.1.a.q2"] == ("The focal point's offence", 3)
    assert stored["FP-5.1.a.explanation"] == ("The contributor's explanation", 2)


def test_a_whole_page_save_still_stops_on_an_answer_both_changed(as_user, focal_point_a, contributor_a, response_a,
                                                                 version):
    explanation = question(version, "FP-5.1.a.explanation")
    save(response_a, focal_point_a, {explanation: "First explanation"})
    client = as_user(focal_point_a)
    shown = form_data(client.get(article_url(response_a)))
    save(response_a, contributor_a, {explanation: "The contributor's explanation"})

    page = client.post(article_url(response_a), with_values(shown, **{"FP-5.1.a.explanation": "The focal point's"}))

    assert page.status_code == 409
    assert stored_answers(response_a)["FP-5.1.a.explanation"] == ("The contributor's explanation", 2)


# --- A post too large to read ----------------------------------------------------------


def test_a_post_over_the_size_limit_says_what_happened_and_saves_nothing(as_user, focal_point_a, response_a, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    client = as_user(focal_point_a)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ar"
    body = urllib.parse.urlencode({"revisions": "{}", "FP-5.1.a.explanation": "ع" * 200_000}).encode()

    page = client.generic("POST", article_url(response_a), body, content_type="application/x-www-form-urlencoded")

    assert page.status_code == 413
    text = page.content.decode()
    assert '<html lang="ar" dir="rtl">' in text and "<h1" in text and 'role="alert"' in text
    # In the person's language, with both limits.
    assert "لم يُحفظ أي شيء: أرسلت هذه الصفحة أكثر من 1 ميغابايت" in text and "50000" in text
    assert stored_answers(response_a) == {}


def test_an_autosave_over_the_size_limit_gets_the_words_as_plain_text(as_user, focal_point_a, response_a, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    body = urllib.parse.urlencode({"FP-5.1.a.explanation": "x" * 1_100_000, "rev-FP-5.1.a.explanation": "0"}).encode()

    page = as_user(focal_point_a).generic(
        "POST", reverse("questionnaire:answer_save", args=[response_a.pk, "FP-5.1.a.explanation"]), body,
        content_type="application/x-www-form-urlencoded", headers={"HX-Request": "true"},
    )

    assert page.status_code == 413
    assert page["Content-Type"].startswith("text/plain")
    assert "Nothing was saved: this page sent more than 1 MB at once" in page.content.decode()
    assert stored_answers(response_a) == {}


# --- A submitted response -------------------------------------------------------------


def test_it_redirects_with_a_message_when_someone_posts_to_a_submitted_response(as_user, contributor_a, focal_point_a,
                                                                                response_a):
    submitted = submit(response_a, focal_point_a)
    before = stored_answers(submitted)

    for user in (focal_point_a, contributor_a):
        page = as_user(user).post(article_url(submitted), {"revisions": "{}", "FP-5.1.a.explanation": "Too late"},
                                  follow=True)

        # Back to a page of that response (the article or the overview), told why.
        [(where, status)] = page.redirect_chain
        assert status == 302
        assert where in (article_url(submitted), reverse("questionnaire:response", args=[submitted.pk]))
        assert page.status_code == 200
        assert any("has been submitted and can no longer be changed" in m for m in messages_of(page))
    assert stored_answers(submitted) == before


# --- CSRF and hostile text ------------------------------------------------------------


def test_it_refuses_a_post_without_a_csrf_token(focal_point_a, response_a):
    client = Client(enforce_csrf_checks=True)
    sign_in(client, focal_point_a)
    form = client.get(article_url(response_a)).content.decode()

    page = client.post(article_url(response_a), {"revisions": "{}", "FP-5.1.a.q3": "4"})

    assert page.status_code == 403
    assert stored_answers(response_a) == {}
    # The same POST with the page's token goes through: the 403 was the token's.
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    page = client.post(article_url(response_a), {"csrfmiddlewaretoken": token, "revisions": "{}", "FP-5.1.a.q3": "4"})
    assert page.status_code == 302
    assert stored_answers(response_a) == {"FP-5.1.a.q3": (4, 1)}


HOSTILE = "<script>alert(1)</script> مرحبا بالعالم — שלום 🔫🇺🇳 \u202eevil"
HOSTILE_TITLE = '"><script>alert(2)</script>'


def test_it_saves_hostile_and_rtl_text_verbatim_and_shows_it_escaped(
    as_user, focal_point_a, reviewer, review_a, response_a
):
    client = as_user(focal_point_a)
    page = client.post(
        article_url(response_a),
        {
            "revisions": "{}",
            "FP-5.1.a.status": "yes",
            "FP-5.1.a.explanation": HOSTILE,
            **legislation_rows("FP-5.1.a.legislation", [{"title": HOSTILE_TITLE, "article": "§ 3", "link": ""}]),
        },
    )
    assert page.status_code == 302
    stored = stored_answers(response_a)
    assert stored["FP-5.1.a.explanation"] == (HOSTILE, 1)
    assert stored["FP-5.1.a.legislation"] == ([{"title": HOSTILE_TITLE, "article": "§ 3", "link": ""}], 1)

    def assert_escaped(page):
        assert page.status_code == 200
        body = page.content.decode()
        assert "<script>alert(1)</script>" not in body
        assert "<script>alert(2)</script>" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
        assert "مرحبا بالعالم — שלום 🔫🇺🇳" in body

    assert_escaped(client.get(article_url(response_a)))  # the form
    submitted = submit(response_a, focal_point_a)
    assert_escaped(client.get(article_url(submitted)))  # read only
    assert_escaped(client.get(reverse("questionnaire:submitted", args=[submitted.pk])))  # the submitted copy
    assert_escaped(as_user(reviewer).get(reverse("reviews:article", args=[review_a.pk, 5])))  # the reviewer's page


def test_it_explains_a_damaged_page_and_saves_nothing(as_user, focal_point_a, response_a):
    page = as_user(focal_point_a).post(article_url(response_a), {"revisions": "[not json", "FP-5.1.a.q3": "4"})

    assert page.status_code == 422
    assert stored_answers(response_a) == {}
    assert "The page was damaged in transit" in page.content.decode()


@pytest.mark.parametrize("language", ["en", "fr", "es", "ru", "zh-hans", "ar"])
def test_the_saved_at_time_is_what_django_formats_in_every_language(language):
    """The status fragment writes hh:mm itself (views._hh_mm): the same as Django's
    time_format(…, "H:i") in each of the six languages."""
    import datetime

    from django.utils import translation
    from django.utils.formats import time_format

    from questionnaire.views import _hh_mm

    with translation.override(language):
        for moment in (datetime.time(0, 0), datetime.time(9, 5), datetime.time(12, 30), datetime.time(23, 59)):
            assert _hh_mm(moment) == time_format(moment, "H:i")
