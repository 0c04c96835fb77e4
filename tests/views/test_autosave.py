"""Autosave: one answer, one request, as people type (htmx posts to answer_save)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from questionnaire.models import Answer
from tests.factories import question, save

from .conftest import client_for, stored_answers


def autosave(client, response, code, **data):
    return client.post(reverse("questionnaire:answer_save", args=[response.pk, code]), data)


def test_it_saves_one_answer_and_hands_back_its_new_revision(response_a, focal_point_a):
    page = autosave(client_for(focal_point_a), response_a, "FP-5.1.a.explanation",
                    **{"FP-5.1.a.explanation": "Saved as I type", "rev-FP-5.1.a.explanation": "0"})

    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="rev-FP-5.1.a.explanation" value="1"' in html and "Saved at" in html
    assert stored_answers(response_a)["FP-5.1.a.explanation"] == ("Saved as I type", 1)


def test_it_saves_only_what_changed(response_a, focal_point_a):
    client = client_for(focal_point_a)
    data = {"FP-5.1.a.explanation": "Once", "rev-FP-5.1.a.explanation": "0"}
    autosave(client, response_a, "FP-5.1.a.explanation", **data)
    again = autosave(client, response_a, "FP-5.1.a.explanation", **{**data, "rev-FP-5.1.a.explanation": "1"})

    assert again.status_code == 200
    assert Answer.objects.get(response=response_a, question__code="FP-5.1.a.explanation").revision == 1


def test_it_stops_a_stale_save_and_shows_the_newer_answer_with_who_and_when(response_a, focal_point_a, contributor_a, version):
    save(response_a, contributor_a, {question(version, "FP-5.1.a.explanation"): "Cora's newer text"})

    page = autosave(client_for(focal_point_a), response_a, "FP-5.1.a.explanation",
                    **{"FP-5.1.a.explanation": "Ada's older text", "rev-FP-5.1.a.explanation": "0"})

    assert page.status_code == 409
    html = page.content.decode()
    assert "Cora&#x27;s newer text" in html and "Cora Contributor" in html
    # The next save starts from their revision: saving again keeps mine, knowingly.
    assert 'name="rev-FP-5.1.a.explanation" value="1"' in html
    # The two choices, as buttons that answer.js acts on (the page's script, no inline code).
    assert "data-conflict" in html
    assert '<button type="button" class="btn btn-sm btn-outline-primary me-2" data-keep-mine>Keep my version</button>' in html
    assert "data-take-theirs>Take their version</button>" in html
    assert stored_answers(response_a)["FP-5.1.a.explanation"] == ("Cora's newer text", 1)
    kept = autosave(client_for(focal_point_a), response_a, "FP-5.1.a.explanation",
                    **{"FP-5.1.a.explanation": "Ada's older text", "rev-FP-5.1.a.explanation": "1"})
    assert kept.status_code == 200
    assert stored_answers(response_a)["FP-5.1.a.explanation"] == ("Ada's older text", 2)


def test_it_refuses_an_invalid_value_with_a_message_and_keeps_the_saved_one(response_a, focal_point_a, version, settings):
    save(response_a, focal_point_a, {question(version, "FP-5.1.a.explanation"): "Good text"})
    too_long = "x" * (settings.ANSWER_TEXT_MAX_LENGTH + 1)

    page = autosave(client_for(focal_point_a), response_a, "FP-5.1.a.explanation",
                    **{"FP-5.1.a.explanation": too_long, "rev-FP-5.1.a.explanation": "1"})

    assert page.status_code == 422
    assert "Not saved" in page.content.decode()
    assert stored_answers(response_a)["FP-5.1.a.explanation"] == ("Good text", 1)


def test_it_refuses_a_save_to_a_submitted_response(submitted_a, focal_point_a):
    before = stored_answers(submitted_a)

    page = autosave(client_for(focal_point_a), submitted_a, "FP-5.1.a.explanation",
                    **{"FP-5.1.a.explanation": "Too late", "rev-FP-5.1.a.explanation": "1"})

    assert page.status_code == 409
    assert "submitted" in page.content.decode()
    assert stored_answers(submitted_a) == before


@pytest.mark.parametrize("persona", ["focal_point_b", "reviewer", "secretariat"])
def test_it_hides_a_draft_from_others(request, response_a, review_a, persona):
    page = autosave(client_for(request.getfixturevalue(persona)), response_a, "FP-5.1.a.explanation",
                    **{"FP-5.1.a.explanation": "Intrusion", "rev-FP-5.1.a.explanation": "0"})

    assert page.status_code == 404
    assert not Answer.objects.filter(response=response_a).exists()


def test_it_answers_404_for_a_question_of_another_questionnaire(response_a, focal_point_a):
    page = autosave(client_for(focal_point_a), response_a, "FP-99.status", **{"FP-99.status": "yes"})

    assert page.status_code == 404


def test_it_costs_the_same_queries_for_any_answer(response_a, focal_point_a, django_assert_max_num_queries):
    client = client_for(focal_point_a)
    autosave(client, response_a, "FP-5.1.a.explanation", **{"FP-5.1.a.explanation": "warm", "rev-FP-5.1.a.explanation": "0"})
    # measured: 11 on a first save (the request: the user with their roles; the
    # response with the answer; in the transaction: the response's share lock, the
    # answer locked, a savepoint around the insert, the insert, the history row, the
    # audit event; BEGIN/COMMIT). An unchanged save stops after the first two.
    with django_assert_max_num_queries(11):
        page = autosave(client, response_a, "FP-5.1.a.legislation", **{
            "FP-5.1.a.legislation-0-title": "Arms Act", "FP-5.1.a.legislation-0-article": "s. 2",
            "FP-5.1.a.legislation-0-link": "https://example.org/a", "rev-FP-5.1.a.legislation": "0"})
    assert page.status_code == 200


def test_it_shows_who_else_is_editing_the_article(response_a, focal_point_a, contributor_a):
    client_for(contributor_a).get(reverse("questionnaire:article", args=[response_a.pk, 5]))

    page = client_for(focal_point_a).get(reverse("questionnaire:article", args=[response_a.pk, 5]))

    assert "Also editing this article now: Cora Contributor" in page.content.decode()


def test_the_whole_cluster_page_shows_who_else_is_editing_which_article(response_a, focal_point_a, contributor_a):
    client_for(contributor_a).get(reverse("questionnaire:article", args=[response_a.pk, 5]))
    client_for(contributor_a).get(reverse("questionnaire:article", args=[response_a.pk, 14]))

    page = client_for(focal_point_a).get(reverse("questionnaire:cluster", args=[response_a.pk]))

    assert "Also editing this cluster now: Cora Contributor (articles 5, 14)" in page.content.decode()
    # Nobody is told about themselves.
    alone = client_for(contributor_a).get(reverse("questionnaire:cluster", args=[response_a.pk]))
    assert "Also editing" not in alone.content.decode()


def test_an_unchanged_autosave_reads_two_statements_and_writes_nothing(response_a, focal_point_a, django_assert_num_queries):
    """The hottest path: a pause in typing that changed nothing."""
    client = client_for(focal_point_a)
    data = {"FP-5.1.a.explanation": "Once", "rev-FP-5.1.a.explanation": "0"}
    autosave(client, response_a, "FP-5.1.a.explanation", **data)
    # the user with their roles; the response with the answer (plain reads, no row
    # locks: nothing is written), and no transaction (not even an empty BEGIN/COMMIT)
    with django_assert_num_queries(2):
        again = autosave(client, response_a, "FP-5.1.a.explanation", **{**data, "rev-FP-5.1.a.explanation": "1"})
    assert again.status_code == 200 and 'value="1"' in again.content.decode()
