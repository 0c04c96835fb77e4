"""The history of an answer (every saved value, newest first, with a diff) and the
restoring of an earlier value as a new change, at the level of questionnaire.history."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from questionnaire.history import (
    DELETE,
    EQUAL,
    INSERT,
    UnknownRevision,
    answer_history,
    answer_restore,
    history_question,
    text_diff,
)
from questionnaire.models import Answer
from questionnaire.services import ResponseLocked, response_submit
from tests.factories import fill_required, question, save

pytestmark = pytest.mark.django_db


def ops(segments, op: str) -> list[str]:
    return [text for kind, text in segments if kind == op]


def history_rows(response, q) -> list[tuple]:
    """Every historical row of the answer, oldest first, as stored."""
    return list(
        Answer.history.filter(response_id=response.pk, question_id=q.pk)
        .order_by("history_id")
        .values_list("history_id", "revision", "value", "history_date", "history_user_id", "history_change_reason")
    )


def stored(response, q) -> tuple:
    return Answer.objects.filter(response=response, question=q).values_list("value", "revision").get()


@pytest.fixture
def explanation(version):
    return question(version, "FP-5.1.a.explanation")


@pytest.fixture
def three_versions(response_a, focal_point_a, contributor_a, explanation):
    """Revisions 1 and 3 by the focal point, 2 by the contributor."""
    save(response_a, focal_point_a, {explanation: "The police apply the law."})
    save(response_a, contributor_a, {explanation: "The police and customs apply the law."})
    save(response_a, focal_point_a, {explanation: "The customs apply the law."})
    return explanation


# --- text_diff ------------------------------------------------------------------------


def test_it_diffs_by_word_inside_a_changed_line():
    segments = text_diff("The police apply the law.", "The police and customs apply the law.")

    assert segments == [(EQUAL, "The police "), (INSERT, "and customs "), (EQUAL, "apply the law.")]


def test_it_keeps_unchanged_lines_whole_and_shows_added_and_removed_lines():
    old = "Firearms Act 2020, s. 5\nPenal Code, art. 201\nOld Decree\n"
    new = "Firearms Act 2020, s. 5\nPenal Code, art. 202\nCustoms Code, art. 9\n"

    segments = text_diff(old, new)

    assert segments[0] == (EQUAL, "Firearms Act 2020, s. 5\nPenal Code, art. ")
    assert ops(segments, DELETE) == ["201\nOld Decree\n"]
    assert ops(segments, INSERT) == ["202\nCustoms Code, art. 9\n"]


def test_it_groups_neighbouring_changed_words_and_shows_a_changed_comma():
    assert text_diff("quick brown fox", "slow red fox") == [(DELETE, "quick brown "), (INSERT, "slow red "), (EQUAL, "fox")]
    assert text_diff("yes, always", "yes; always") == [(EQUAL, "yes"), (DELETE, ", "), (INSERT, "; "), (EQUAL, "always")]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("", "First text."),
        ("Gone.", ""),
        ("a\nb\nc", "a\nB\nc\nd"),
        ("Line one.\n\nLine two, with   spaces.", "Line one!\nLine two, with spaces.\n"),
        ("même texte — été", "même texte – hiver"),
    ],
)
def test_it_loses_no_word_either_side(old, new):
    segments = text_diff(old, new)

    assert "".join(t for op, t in segments if op != DELETE) == new
    # The old text comes back too, but for spacing inside a changed line.
    assert "".join(t for op, t in segments if op != INSERT).split() == old.split()
    assert all(a.op != b.op for a, b in zip(segments, segments[1:]))
    assert all(text for _op, text in segments)


def test_it_shows_a_huge_rewrite_as_replaced_whole():
    old, new = " ".join(f"w{i}" for i in range(3000)), " ".join(f"x{i}" for i in range(3000))

    assert text_diff(old, new) == [(DELETE, old), (INSERT, new)]


# --- answer_history ---------------------------------------------------------------------


def test_it_lists_every_change_newest_first_with_who_and_the_diff(response_a, three_versions):
    entries = answer_history(response=response_a, question=three_versions)

    assert [e.revision for e in entries] == [3, 2, 1]
    assert [e.who for e in entries] == ["Ada Focal", "Cora Contributor", "Ada Focal"]
    assert [e.display for e in entries] == [
        "The customs apply the law.",
        "The police and customs apply the law.",
        "The police apply the law.",
    ]
    assert entries[0].when >= entries[1].when >= entries[2].when
    assert [e.is_current for e in entries] == [True, False, False]
    assert ops(entries[0].diff, DELETE) == ["police and "] and ops(entries[0].diff, INSERT) == []
    assert ops(entries[1].diff, INSERT) == ["and customs "] and ops(entries[1].diff, DELETE) == []
    # The first version is all new.
    assert entries[2].is_first
    assert entries[2].diff == [(INSERT, "The police apply the law.")]


def test_it_shows_values_as_their_kind_does(response_a, focal_point_a, version):
    q1 = question(version, "FP-5.1.a.q1")  # a choice: shown by its label
    save(response_a, focal_point_a, {q1: "single_offence"})
    save(response_a, focal_point_a, {q1: "several_offences"})

    newest, first = answer_history(response=response_a, question=history_question(response=response_a, code=q1.code))

    assert (newest.display, first.display) == ("Several offences", "One offence")
    assert newest.diff == [(DELETE, "One offence"), (INSERT, "Several offences")]


def test_it_shows_a_cleared_answer_as_everything_removed(response_a, focal_point_a, explanation):
    save(response_a, focal_point_a, {explanation: "Something."})
    save(response_a, focal_point_a, {explanation: None})

    cleared, _first = answer_history(response=response_a, question=explanation)

    assert cleared.display == ""
    assert cleared.diff == [(DELETE, "Something.")]


def test_it_lists_nothing_for_a_question_never_answered(response_a, explanation):
    assert answer_history(response=response_a, question=explanation) == []


def test_it_keeps_the_history_of_each_response_apart(response_a, focal_point_a, focal_point_b, state_b, version,
                                                      explanation):
    from questionnaire.services import response_get_or_create

    response_b = response_get_or_create(state=state_b, version=version, due_date=None)
    save(response_a, focal_point_a, {explanation: "A's text."})
    save(response_b, focal_point_b, {explanation: "B's text."})

    assert [e.display for e in answer_history(response=response_a, question=explanation)] == ["A's text."]


@pytest.mark.parametrize("changes", [2, 20])
def test_it_reads_the_history_in_one_query_however_long(response_a, focal_point_a, contributor_a, explanation,
                                                        changes, django_assert_num_queries):
    for i in range(changes):
        save(response_a, (focal_point_a, contributor_a)[i % 2], {explanation: f"Version number {i}."})
    q = history_question(response=response_a, code=explanation.code)  # with its choices

    with django_assert_num_queries(1):
        entries = answer_history(response=response_a, question=q)
        diffs = [e.diff for e in entries]

    assert len(entries) == len(diffs) == changes


# --- answer_restore ----------------------------------------------------------------------


def test_it_restores_an_old_value_as_a_new_revision_and_keeps_the_old_rows(response_a, focal_point_a, three_versions):
    before = history_rows(response_a, three_versions)

    saved = answer_restore(response=response_a, question=three_versions, revision=1, by=focal_point_a)

    assert saved == three_versions
    assert stored(response_a, three_versions) == ("The police apply the law.", 4)
    after = history_rows(response_a, three_versions)
    assert after[:3] == before  # not one old row touched
    [(_id, revision, value, _when, user_id, _reason)] = after[3:]
    assert (revision, value, user_id) == (4, "The police apply the law.", focal_point_a.pk)

    newest = answer_history(response=response_a, question=three_versions)[0]
    assert (newest.revision, newest.restored_from, newest.who) == (4, 1, "Ada Focal")
    assert (ops(newest.diff, DELETE), ops(newest.diff, INSERT)) == (["customs "], ["police "])


def test_a_contributor_of_the_state_may_restore(response_a, contributor_a, three_versions):
    answer_restore(response=response_a, question=three_versions, revision=2, by=contributor_a)

    assert stored(response_a, three_versions) == ("The police and customs apply the law.", 4)


@pytest.mark.parametrize("outsider", ["focal_point_b", "secretariat", "reviewer"])
def test_it_refuses_a_restore_by_someone_who_does_not_answer_for_the_state(request, outsider, response_a,
                                                                           three_versions):
    before = history_rows(response_a, three_versions)

    with pytest.raises(PermissionDenied):
        answer_restore(response=response_a, question=three_versions, revision=1, by=request.getfixturevalue(outsider))

    assert history_rows(response_a, three_versions) == before


def test_it_refuses_a_restore_once_the_response_is_submitted(response_a, focal_point_a, three_versions):
    fill_required(response_a, focal_point_a)
    submitted = response_submit(response=response_a, by=focal_point_a)
    before = (stored(submitted, three_versions), history_rows(submitted, three_versions))

    with pytest.raises(ResponseLocked):
        answer_restore(response=submitted, question=three_versions, revision=1, by=focal_point_a)

    assert (stored(submitted, three_versions), history_rows(submitted, three_versions)) == before


def test_it_refuses_an_unknown_revision_or_a_question_of_another_version(response_a, focal_point_a, three_versions,
                                                                          mini_versions):
    with pytest.raises(UnknownRevision):
        answer_restore(response=response_a, question=three_versions, revision=9, by=focal_point_a)
    with pytest.raises(UnknownRevision):
        answer_restore(
            response=response_a, question=question(mini_versions["II"], "FP-14.status"), revision=1, by=focal_point_a
        )
    assert stored(response_a, three_versions) == ("The customs apply the law.", 3)


def test_it_saves_nothing_when_the_version_restored_is_the_current_one(response_a, focal_point_a, three_versions):
    before = history_rows(response_a, three_versions)

    assert answer_restore(response=response_a, question=three_versions, revision=3, by=focal_point_a) is None

    assert history_rows(response_a, three_versions) == before


def _history_as_library_writes_it(answers, *, update: bool, by, when) -> list[dict]:
    """What simple-history's bulk writer makes of the same answers (unsaved rows)."""
    historical = Answer.history.model
    rows = []
    for answer in answers:
        row = historical(
            history_date=when, history_user=by, history_change_reason="", history_type="~" if update else "+",
            **{f.attname: getattr(answer, f.attname) for f in historical.tracked_fields},
        )
        rows.append({f.attname: getattr(row, f.attname) for f in historical._meta.concrete_fields if f.attname != "history_id"})
    return rows


def test_a_save_writes_the_history_rows_that_the_history_library_itself_writes(response_a, focal_point_a, contributor_a, version):
    """On PostgreSQL the answers and their history rows are written by one statement
    (questionnaire.services); the rows must be the library's, field for field, for new
    answers ('+') and changed ones ('~'), carried-over flag and user included."""
    from django.db import connection

    from questionnaire import services

    if connection.vendor == "postgresql":
        assert services._history_copy_columns() is not None  # the one-statement copy is in use
    first, second, third = (question(version, c) for c in ("FP-5.1.a.explanation", "FP-5.1.a.status", "FP-5.2.explanation"))
    save(response_a, focal_point_a, {first: "Text <b>one</b> ✓ نص", second: "partially"})
    Answer.objects.filter(response=response_a, question=second).update(carried_over=True)
    save(response_a, contributor_a, {first: "Text two", second: "partially", third: "A new one"})

    historical = Answer.history.model
    fields = [f.attname for f in historical._meta.concrete_fields if f.attname != "history_id"]
    written = list(
        historical.objects.filter(response_id=response_a.pk).order_by("history_id").values(*fields)
    )
    assert len(written) == 5
    answers = {a.question_id: a for a in Answer.objects.filter(response=response_a)}
    # The last save: first and second changed (second was carried over: saving it
    # unchanged confirms it), third new; each row equals the answer row as now stored.
    last = [r for r in written if r["history_user_id"] == contributor_a.pk]
    when = last[0]["history_date"]
    expected = _history_as_library_writes_it(
        [answers[first.pk], answers[second.pk]], update=True, by=contributor_a, when=when
    ) + _history_as_library_writes_it([answers[third.pk]], update=False, by=contributor_a, when=when)
    key = lambda r: (r["question_id"], r["history_type"])  # noqa: E731
    assert sorted(last, key=key) == sorted(expected, key=key)
    assert answers[second.pk].carried_over is False and all(r["carried_over"] is False for r in last)
    assert [r["history_type"] for r in written[:2]] == ["+", "+"]
    assert {r["value"] for r in written[:2]} == {"Text <b>one</b> ✓ نص", "partially"}
