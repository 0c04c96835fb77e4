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
