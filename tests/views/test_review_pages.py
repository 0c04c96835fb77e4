"""The review over HTTP: the reviewer reads the submitted answers and the dialogue
runs thread by thread between the reviewing States and the State under review."""

from __future__ import annotations

import pytest
from django.urls import reverse

from reviews.models import Comment, Thread

from .conftest import db_fingerprint, messages_of

pytestmark = pytest.mark.django_db

CODE = "FP-5.1.a.explanation"


def article_url(review, number: int = 5) -> str:
    return reverse("reviews:article", args=[review.pk, number])


def start_thread(client, review, code: str = CODE, kind: str = "clarification", body: str = "Which court decides?"):
    return client.post(reverse("reviews:thread_create", args=[review.pk, code]), {"kind": kind, "body": body})


def test_it_shows_the_reviewer_the_review_and_the_submitted_answers(as_user, reviewer, review_a, submitted_a):
    client = as_user(reviewer)

    review = client.get(reverse("reviews:review", args=[review_a.pk]))
    assert review.status_code == 200
    body = review.content.decode()
    assert f'href="{article_url(review_a, 5)}"' in body
    assert f'href="{article_url(review_a, 14)}"' in body
    assert "Illyria" in body and "Borduria" in body  # the two reviewing States

    article = client.get(article_url(review_a, 5))
    assert article.status_code == 200
    body = article.content.decode()
    assert "Submitted answers of Arcadia" in body
    assert "Our police and customs apply the law every day." in body
    assert "Firearms Act 2020, s. 5, https://example.org/firearms-act" in body
    assert 'id="q-FP-14.status"' not in body  # article 14 is on its own page
    assert "Comment on this answer" in body


def test_it_tells_the_reviewer_the_answers_are_not_submitted_yet(as_user, reviewer, review_a):
    client = as_user(reviewer)

    page = client.get(reverse("reviews:review", args=[review_a.pk]))

    assert page.status_code == 200
    assert "has not submitted its self-assessment yet" in page.content.decode()
    assert f'href="{article_url(review_a, 5)}"' not in page.content.decode()
    assert client.get(article_url(review_a, 5)).status_code == 403


def test_it_lets_the_reviewer_start_a_thread(as_user, reviewer, review_a, submitted_a):
    client = as_user(reviewer)

    page = start_thread(client, review_a, body="Which court decides on confiscation?")

    assert page.status_code == 302
    assert page["Location"] == f"{article_url(review_a)}#q-{CODE}"
    thread = Thread.objects.get(review=review_a)
    assert (thread.question.code, thread.kind, thread.status, thread.created_by) == (
        CODE, Thread.Kind.CLARIFICATION, Thread.Status.OPEN, reviewer
    )
    [comment] = thread.comments.all()
    assert (comment.author, comment.author_state, comment.body) == (
        reviewer, reviewer.memberships.get().state, "Which court decides on confiscation?"
    )
    shown = client.get(article_url(review_a)).content.decode()
    assert "Which court decides on confiscation?" in shown
    assert "Request for clarification" in shown


def test_it_refuses_an_empty_comment_and_creates_no_thread(as_user, reviewer, review_a, submitted_a):
    client = as_user(reviewer)

    page = start_thread(client, review_a, body="")
    assert page.status_code == 302
    assert not Thread.objects.exists()
    assert any(m.startswith("The comment was not posted") for m in messages_of(client.get(page["Location"])))


def test_it_runs_the_dialogue_from_question_to_resolution(as_user, reviewer, focal_point_a, review_a, submitted_a):
    reviewer_client, state_client = as_user(reviewer), as_user(focal_point_a)
    start_thread(reviewer_client, review_a)
    thread = Thread.objects.get(review=review_a)
    reply_url = reverse("reviews:comment_create", args=[thread.pk])

    # The focal point of A sees the thread and replies: the thread is answered.
    assert "Which court decides?" in state_client.get(article_url(review_a)).content.decode()
    page = state_client.post(reply_url, {"body": "The regional court."})
    assert page.status_code == 302
    thread.refresh_from_db()
    assert thread.status == Thread.Status.ANSWERED
    reply = thread.comments.last()
    assert (reply.author, reply.author_state_id, reply.body) == (focal_point_a, review_a.state_id, "The regional court.")

    # The reviewer resolves it.
    page = reviewer_client.post(reverse("reviews:thread_resolve", args=[thread.pk]))
    assert page.status_code == 302
    thread.refresh_from_db()
    assert thread.status == Thread.Status.RESOLVED
    assert "Mark resolved" not in reviewer_client.get(article_url(review_a)).content.decode()

    # A reply after the resolution is refused with a message; nothing is added.
    page = state_client.post(reply_url, {"body": "One more thing."}, follow=True)
    assert "This thread is resolved; start a new one to raise something else." in messages_of(page)
    assert thread.comments.count() == 2
    thread.refresh_from_db()
    assert thread.status == Thread.Status.RESOLVED


def test_it_shows_hostile_comments_escaped(as_user, reviewer, focal_point_a, review_a, submitted_a):
    start_thread(as_user(reviewer), review_a, body="<img src=x onerror=alert(1)> ما هو القانون؟ 🔫")
    thread = Thread.objects.get()
    as_user(focal_point_a).post(reverse("reviews:comment_create", args=[thread.pk]), {"body": "<script>alert(2)</script>"})

    for user in (reviewer, focal_point_a):
        body = as_user(user).get(article_url(review_a)).content.decode()
        assert "<img src=x onerror=alert(1)>" not in body
        assert "&lt;img src=x onerror=alert(1)&gt; ما هو القانون؟ 🔫" in body
        assert "<script>alert(2)</script>" not in body
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in body


def test_it_reopens_an_answered_thread_when_the_reviewer_follows_up(as_user, reviewer, focal_point_a, review_a, submitted_a):
    start_thread(as_user(reviewer), review_a)
    thread = Thread.objects.get()
    reply_url = reverse("reviews:comment_create", args=[thread.pk])
    as_user(focal_point_a).post(reply_url, {"body": "The regional court."})

    as_user(reviewer).post(reply_url, {"body": "Which one, exactly?"})

    thread.refresh_from_db()
    assert thread.status == Thread.Status.OPEN
    assert thread.comments.count() == 3


@pytest.mark.parametrize(("persona", "status"), [("unassigned_reviewer", 404), ("focal_point_b", 404),
                                                 ("focal_point_a", 403), ("contributor_a", 403), ("secretariat", 403)])
def test_it_lets_only_assigned_reviewers_start_threads(request, as_user, persona, status, review_a, submitted_a):
    client = as_user(request.getfixturevalue(persona))
    before = db_fingerprint()

    page = start_thread(client, review_a)

    assert page.status_code == status
    assert not Thread.objects.exists()
    assert not Comment.objects.exists()
    assert db_fingerprint() == before


def test_it_refuses_a_thread_on_a_question_of_another_questionnaire(as_user, reviewer, review_a, submitted_a, mini_versions):
    # FP-8.1.a.q1 exists, but in cluster II: not part of the response under review.
    page = start_thread(as_user(reviewer), review_a, code="FP-8.1.a.q1")

    assert page.status_code == 404
    assert not Thread.objects.exists()


def test_it_refuses_a_thread_on_a_question_that_was_not_asked(as_user, reviewer, focal_point_a, review_a, submitted_a):
    # FP-5.1.a.q2 is asked only when FP-5.1.a.q1 is "other"; A answered "single_offence".
    assert "FP-5.1.a.q2" not in {q["code"] for a in submitted_a.snapshot.data["articles"] for q in a["questions"]}

    page = start_thread(as_user(reviewer), review_a, code="FP-5.1.a.q2", body="Nobody will ever see this")

    assert page.status_code in (302, 404)
    assert not Thread.objects.exists()
    overview = as_user(focal_point_a).get(reverse("reviews:review", args=[review_a.pk])).content.decode()
    assert "1 open thread" not in overview


def test_it_hides_the_threads_of_a_review_from_an_unassigned_reviewer(as_user, unassigned_reviewer, thread_a):
    client = as_user(unassigned_reviewer)
    before = db_fingerprint()

    assert client.post(reverse("reviews:comment_create", args=[thread_a.pk]), {"body": "Me too"}).status_code == 404
    assert client.post(reverse("reviews:thread_resolve", args=[thread_a.pk])).status_code == 404
    assert db_fingerprint() == before
