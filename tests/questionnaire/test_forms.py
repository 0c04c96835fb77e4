"""The answering form: the validation-only form that autosave and the whole-page save
use checks exactly what the shown form checks."""

from __future__ import annotations

import pytest

from questionnaire.forms import ArticleAnswerForm
from questionnaire.selectors import version_questions
from tests.factories import question

pytestmark = pytest.mark.django_db

POSTS = [
    # Every kind of the article with a valid value.
    {
        "FP-5.1.a.status": "partially",
        "FP-5.1.a.legislation-0-title": "Firearms Act 2001",
        "FP-5.1.a.legislation-0-article": "s. 5",
        "FP-5.1.a.legislation-0-link": "https://example.org/act",
        "FP-5.1.a.explanation": "  The police and customs apply it.\nEvery day.  ",
        "FP-5.1.a.q1": "other",
        "FP-5.1.a.q3": "12",
        "FP-5.2.q2": "3.5",
        "FP-5.1.a.ta-needed": "yes",
        "FP-5.1.a.ta-categories": ["training_customs", "marking_equipment"],
        "rev-FP-5.1.a.explanation": "3",
    },
    # Wrong choices, a negative number, a formula-like text, a broken link, a bad revision map.
    {
        "FP-5.1.a.status": "maybe",
        "FP-5.1.a.q3": "-4",
        "FP-5.2.q2": "many",
        "FP-5.1.a.legislation-0-title": "Act",
        "FP-5.1.a.legislation-0-link": "javascript:alert(1)",
        "FP-5.1.a.explanation": "<script>alert(1)</script> ٢٠٢٦ 🙂",
        "revisions": "[not a map",
    },
]


@pytest.mark.parametrize(("posted", "valid"), [(POSTS[0], True), (POSTS[1], False)])
def test_the_validation_only_form_accepts_refuses_and_cleans_as_the_shown_form(version, posted, valid):
    questions = version_questions(version.pk, question(version, "FP-5.1.a.status").article)
    shown = ArticleAnswerForm(posted, questions=questions, answers={})
    checking = ArticleAnswerForm.for_validation(posted, questions=questions)

    assert shown.is_valid() is valid
    assert checking.is_valid() is valid
    assert checking.errors == shown.errors
    assert checking.unknown_codes() == shown.unknown_codes()
    if shown.is_valid():
        assert checking.answer_values() == shown.answer_values()
        assert checking.cleaned_data["revisions"] == shown.cleaned_data["revisions"]


def test_only_the_shown_form_carries_the_question_texts(version):
    questions = version_questions(version.pk, question(version, "FP-5.1.a.status").article)
    shown = ArticleAnswerForm({}, questions=questions, answers={})
    checking = ArticleAnswerForm.for_validation({}, questions=questions)

    assert shown.fields["FP-5.1.a.status"].label == questions[0].prompt
    assert not checking.fields["FP-5.1.a.status"].label


def _form(version, posted):
    questions = version_questions(version.pk, question(version, "FP-5.1.a.status").article)
    return ArticleAnswerForm.for_validation(posted, questions=questions)


def test_it_names_the_posted_fields_that_are_no_question_or_part_of_one(version):
    form = _form(version, {
        "FP-5.1.a.status": "yes",
        "FP-5.1.a.legislation-3-title": "Act",  # a part of a question
        "FP-5.1.a.ta-needed": "no",
        "rev-FP-5.1.a.status": "1",
        "FP-5.1.a": "x",  # a prefix of codes, not a code
        "FP-5.1.a.statu-s": "x",
        "FP-9.9-0-title": "x",  # another article's code
        "csrfmiddlewaretoken": "t",
    })

    assert form.unknown_codes() == ["FP-5.1.a", "FP-5.1.a.statu-s", "FP-9.9-0-title"]


def test_legislation_rows_are_read_in_row_order_whatever_the_gaps_and_odd_numbers(version):
    name = "FP-5.1.a.legislation"
    form = _form(version, {
        f"{name}-7-title": "Later Act", f"{name}-7-article": "s. 2",
        f"{name}-0-title": "First Act",
        f"{name}-3-title": "   ",  # an empty row is dropped
        f"{name}-²-title": "not a row number", f"{name}-01-title": "nor this", f"{name}--1-title": "nor this",
        f"{name}-99-title": "beyond the last row there can be",
    })

    assert form.is_valid(), form.errors
    assert [row["title"] for row in form.cleaned_data[name]] == ["First Act", "Later Act"]


def test_more_legislation_rows_than_may_be_kept_are_refused_not_cut(version):
    from questionnaire.kinds import MAX_ROWS

    name = "FP-5.1.a.legislation"
    form = _form(version, {f"{name}-{i}-title": f"Act {i}" for i in range(MAX_ROWS + 1)})

    assert not form.is_valid()
    assert str(MAX_ROWS) in str(form.errors[name])
