"""Two people saving at the same moment, on real PostgreSQL transactions."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from questionnaire.models import Answer
from questionnaire.services import EditConflict, answers_save
from tests.factories import question


def race(*calls):
    """Run the calls in threads that start together; return their outcomes."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            outcomes[i] = call()
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test asserts
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return outcomes


@pytest.fixture
def shared(transactional_db, response_a, focal_point_a, contributor_a, version):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (make test)")
    return response_a, focal_point_a, contributor_a, version


def test_it_lets_exactly_one_of_two_simultaneous_edits_of_one_answer_win(shared):
    response, ada, cora, version = shared
    q = question(version, "FP-5.1.a.explanation")

    outcomes = race(
        lambda: answers_save(response=response, by=ada, values={q: "Ada's text"}, base_revisions={}),
        lambda: answers_save(response=response, by=cora, values={q: "Cora's text"}, base_revisions={}),
    )

    conflicts = [o for o in outcomes if isinstance(o, EditConflict)]
    saved = [o for o in outcomes if isinstance(o, list)]
    assert len(conflicts) == 1 and len(saved) == 1, outcomes
    answer = Answer.objects.get(response=response, question=q)
    assert answer.revision == 1
    # The loser is told what the winner wrote.
    assert conflicts[0].conflicts[0].theirs == answer.value
    assert answer.history.count() == 1


def test_it_saves_both_of_two_simultaneous_edits_of_different_answers(shared):
    response, ada, cora, version = shared
    q1, q2 = question(version, "FP-5.1.a.explanation"), question(version, "FP-5.1.a.q3")

    outcomes = race(
        lambda: answers_save(response=response, by=ada, values={q1: "Ada's text"}, base_revisions={}),
        lambda: answers_save(response=response, by=cora, values={q2: 4}, base_revisions={}),
    )

    assert all(isinstance(o, list) for o in outcomes), outcomes
    assert Answer.objects.get(response=response, question=q1).value == "Ada's text"
    assert Answer.objects.get(response=response, question=q2).value == 4
