"""Two people saving at the same moment, on real PostgreSQL transactions."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from questionnaire.models import Answer, Response
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


def test_a_save_of_another_answer_does_not_wait_for_a_save_in_progress(shared):
    """Saves share the response's lock: only the same answer makes them take turns."""
    from django.db import transaction

    from questionnaire.services import _answering_status

    response, ada, cora, version = shared
    q1, q2 = question(version, "FP-5.1.a.explanation"), question(version, "FP-5.1.a.q3")
    holding, release = threading.Event(), threading.Event()
    timings: dict[str, float] = {}

    def slow_save():
        try:
            with transaction.atomic():
                _answering_status(response.pk, lock=True)
                Answer.objects.select_for_update().filter(response=response, question=q1).first()
                holding.set()
                release.wait(10)
                answers_save(response=response, by=ada, values={q1: "Ada's text"}, base_revisions={})
        finally:
            connection.close()

    def quick_save():
        holding.wait(10)
        start = time.monotonic()
        try:
            return answers_save(response=response, by=cora, values={q2: 4}, base_revisions={})
        finally:
            timings["quick"] = time.monotonic() - start
            release.set()
            connection.close()

    slow = threading.Thread(target=slow_save)
    slow.start()
    result = quick_save()
    slow.join(20)

    assert result == [q2]
    assert timings["quick"] < 2, timings  # it did not wait for the 10 s release
    assert Answer.objects.get(response=response, question=q1).value == "Ada's text"


def test_a_submission_waits_for_a_save_in_progress_and_keeps_it_in_the_submitted_copy(shared):
    from django.db import transaction

    from questionnaire.services import _answering_status, response_submit
    from tests.factories import fill_required

    response, ada, cora, version = shared
    fill_required(response, ada)
    q = question(version, "FP-5.1.a.explanation")
    holding = threading.Event()
    order: list[str] = []

    def save_in_progress():
        try:
            with transaction.atomic():
                _answering_status(response.pk, lock=True)
                holding.set()
                time.sleep(1)
                answers_save(response=response, by=cora, values={q: "Saved just before submission"}, base_revisions={q.pk: Answer.objects.filter(response=response, question=q).values_list("revision", flat=True).first() or 0})
                order.append("saved")
        finally:
            connection.close()

    saver = threading.Thread(target=save_in_progress)
    saver.start()
    holding.wait(10)
    try:
        response_submit(response=response, by=ada)
        order.append("submitted")
    finally:
        saver.join(20)
        connection.close()

    assert order == ["saved", "submitted"]
    response.refresh_from_db()
    copy = {item["code"]: item["value"] for article in response.snapshot.data["articles"] for item in article["questions"]}
    assert copy[q.code] == "Saved just before submission"


def test_an_unchanged_save_takes_no_lock_and_does_not_wait_for_a_save_of_the_same_answer(shared):
    """The save a field sends when it loses focus after its typed save changes
    nothing: it is answered from plain reads, so neither a save of the same answer
    in progress nor a submission holding the response makes it wait."""
    from django.db import transaction

    response, ada, cora, version = shared
    q1 = question(version, "FP-5.1.a.explanation")
    answers_save(response=response, by=ada, values={q1: "Saved once"}, base_revisions={})
    holding, release = threading.Event(), threading.Event()
    timings: dict[str, float] = {}

    def holder():
        try:
            with transaction.atomic():
                Response.objects.select_for_update().get(pk=response.pk)  # what a submission holds
                Answer.objects.select_for_update().filter(response=response, question=q1).first()
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    holding.wait(10)
    start = time.monotonic()
    try:
        saved = answers_save(response=response, by=cora, values={q1: "Saved once"}, base_revisions={q1.pk: 1})
    finally:
        timings["unchanged"] = time.monotonic() - start
        release.set()
        thread.join(20)
        connection.close()

    assert saved == []
    assert timings["unchanged"] < 2, timings  # it did not wait for the 10 s release
    assert Answer.objects.get(response=response, question=q1).revision == 1
