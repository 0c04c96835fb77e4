"""Progress and completeness: what counts as required, what is missing, and the
fixed query budget of the progress shown on every page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from questionnaire.selectors import response_progress, responses_progress
from questionnaire.services import response_get_or_create
from tests.factories import StateFactory, fill_required, load_real_questionnaire, question, save

pytestmark = pytest.mark.django_db

# mini.yaml cluster I asks, unconditionally, status and explanation for each of its
# three provisions, plus FP-5.1.a.q1: 7 required questions on an empty response.
ALWAYS_REQUIRED = 7


def missing_codes(response) -> list[str]:
    return [q.code for _article, q in response_progress(response).missing]


def test_it_counts_only_the_required_questions_that_are_asked(response_a, focal_point_a, version):
    assert response_progress(response_a).required == ALWAYS_REQUIRED

    # "yes" and "partially" ask for the laws; "no" does not.
    save(response_a, focal_point_a, {question(version, "FP-5.1.a.status"): "yes"})
    assert response_progress(response_a).required == ALWAYS_REQUIRED + 1
    save(response_a, focal_point_a, {question(version, "FP-5.1.a.status"): "no"})
    assert response_progress(response_a).required == ALWAYS_REQUIRED

    # The required "describe the other definition" counts only once "other" is chosen.
    q1 = question(version, "FP-5.1.a.q1")
    save(response_a, focal_point_a, {q1: "other"})
    assert "FP-5.1.a.q2" in missing_codes(response_a)
    save(response_a, focal_point_a, {q1: "single_offence"})
    assert "FP-5.1.a.q2" not in missing_codes(response_a)


def test_it_ignores_answers_to_questions_that_are_no_longer_asked(response_a, focal_point_a, version):
    q1, q2 = question(version, "FP-5.1.a.q1"), question(version, "FP-5.1.a.q2")
    save(response_a, focal_point_a, {q1: "other", q2: "Our own definition."})
    with_other = response_progress(response_a)

    save(response_a, focal_point_a, {q1: "several_offences"})
    without = response_progress(response_a)

    assert (with_other.required, with_other.answered_required) == (ALWAYS_REQUIRED + 1, 2)
    assert (without.required, without.answered_required) == (ALWAYS_REQUIRED, 1)
    assert sum(a.answered for a in without.articles) == 1


def test_it_lists_what_is_missing_per_article_in_questionnaire_order(response_a, focal_point_a, version):
    save(
        response_a,
        focal_point_a,
        {question(version, "FP-5.1.a.status"): "partially", question(version, "FP-5.2.explanation"): "In practice…"},
    )

    progress = response_progress(response_a)

    five, fourteen = progress.articles
    assert (five.number, fourteen.number) == (5, 14)
    assert [q.code for q in five.missing] == [
        "FP-5.1.a.legislation",
        "FP-5.1.a.explanation",
        "FP-5.1.a.q1",
        "FP-5.2.status",
    ]
    assert [q.code for q in fourteen.missing] == ["FP-14.status", "FP-14.explanation"]
    assert (five.required, five.answered_required, five.percent) == (6, 2, 33)
    assert (fourteen.percent, progress.percent, progress.complete) == (0, 25, False)
    assert [(a.number, q.code) for a, q in progress.missing][-1] == (14, "FP-14.explanation")


def test_it_is_complete_once_every_asked_required_question_is_answered(response_a, focal_point_a):
    fill_required(response_a, focal_point_a)

    progress = response_progress(response_a)

    assert progress.complete
    assert progress.percent == 100
    assert progress.missing == []
    # Optional questions are not needed for completeness.
    assert progress.answered_required == progress.required < 21


def test_it_does_not_count_an_empty_technical_assistance_answer(response_a, focal_point_a, version):
    ta = question(version, "FP-14.ta")
    save(response_a, focal_point_a, {ta: {"needed": None, "categories": [], "priority": "", "details": "Maybe later."}})

    assert sum(a.answered for a in response_progress(response_a).articles) == 0


def _progress_queries(response) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response_progress(response)
    return len(ctx.captured_queries)


def test_it_computes_progress_in_a_fixed_number_of_queries(version, focal_point_a, response_a, django_assert_num_queries):
    fill_required(response_a, focal_point_a)
    real = load_real_questionnaire()["I"]
    assert real.questions.count() > 5 * version.questions.count()
    real_response = response_get_or_create(state=response_a.state, version=real, due_date=timezone.localdate())
    fill_required(real_response, focal_point_a)

    with django_assert_num_queries(3):
        response_progress(response_a)
    with django_assert_num_queries(3):
        response_progress(real_response)


def test_it_computes_the_progress_of_many_responses_in_a_fixed_number_of_queries(
    version, mini_versions, response_a, focal_point_a, django_assert_num_queries
):
    fill_required(response_a, focal_point_a)
    others = [
        response_get_or_create(state=StateFactory(), version=v, due_date=None)
        for v in (version, mini_versions["II"], version)
    ]

    with django_assert_num_queries(3):
        one = responses_progress([response_a])
    with django_assert_num_queries(3):
        many = responses_progress([response_a, *others])

    assert one[response_a.pk].complete and many[response_a.pk].complete
    for r in others:
        assert many[r.pk].required == response_progress(r).required
        assert not many[r.pk].complete
