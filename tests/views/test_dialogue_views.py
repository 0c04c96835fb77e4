"""The dialogue over HTTP: the State under review is notified (e-mail, and a count
in the navigation), replies and finds the link to revise its answer; the
reviewers see what changed in the answer since they wrote; threads are assigned;
the lists of threads filter by article, status, type and State; a reply to a
resolved thread is refused with a message and changes nothing."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from parties.models import Membership
from questionnaire.models import Answer
from reviews.models import Notification, Thread
from tests.factories import MembershipFactory

from .conftest import client_for, db_fingerprint, messages_of

pytestmark = pytest.mark.django_db


def article_url(review, number: int = 5) -> str:
    return reverse("reviews:article", args=[review.pk, number])


def post_thread(client, review, code="FP-5.1.a.status", **data):
    return client.post(
        reverse("reviews:thread_create", args=[review.pk, code]),
        {"kind": "clarification", "body": "Which authority enforces this?"} | data,
    )


def test_it_notifies_the_state_by_e_mail_and_in_the_navigation(
    as_user, reviewer, focal_point_a, review_a, submitted_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        page = post_thread(as_user(reviewer), review_a)
    assert page.status_code == 302

    [message] = mail.outbox
    assert message.to == [focal_point_a.email]
    client = as_user(focal_point_a)
    home = client.get(reverse("home")).content.decode()
    assert 'href="/reviews/notifications/">Notifications <span class="badge text-bg-light">1' in home

    listing = client.get(reverse("reviews:notifications")).content.decode()
    thread = Thread.objects.get()
    assert f"#thread-{thread.pk}" in listing and "A reviewer commented on an answer" in listing

    assert client.post(reverse("reviews:notifications_read")).status_code == 302
    assert "text-bg-light" not in client.get(reverse("home")).content.decode()
    assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_it_lets_the_state_reply_and_shows_it_where_to_revise_the_answer(as_user, reviewer, focal_point_a, thread_a, review_a):
    client = as_user(focal_point_a)
    page = client.get(article_url(review_a)).content.decode()
    revise = reverse("questionnaire:article", args=[review_a.response_id, 5]) + "#q-FP-5.1.a.status"
    assert f'href="{revise}"' in page
    assert "Revise this answer on the answering page" in page
    assert "Revise this answer" not in as_user(reviewer).get(article_url(review_a)).content.decode()

    client.post(reverse("reviews:comment_create", args=[thread_a.pk]), {"body": "The national police."})
    assert Thread.objects.get(pk=thread_a.pk).status == Thread.Status.ANSWERED


def test_it_shows_the_reviewer_what_changed_in_the_answer_since_the_thread(as_user, reviewer, focal_point_a, thread_a, review_a):
    client = as_user(reviewer)
    assert "The answer changed since the reviewers last wrote" not in client.get(article_url(review_a)).content.decode()

    # The State revises its answer (the questionnaire decides when it can; the
    # history keeps the change either way).
    answer = Answer.objects.get(response_id=review_a.response_id, question__code="FP-5.1.a.status")
    answer.value, answer.revision, answer.updated_by = "partially", answer.revision + 1, focal_point_a
    answer.save()

    page = client.get(article_url(review_a)).content.decode()
    assert "The answer changed since the reviewers last wrote" in page
    assert '<del><span class="visually-hidden">removed: </span>Yes</del>' in page
    assert '<ins><span class="visually-hidden">added: </span>Partially</ins>' in page


def test_it_refuses_a_reply_to_a_resolved_thread_with_a_message(as_user, reviewer, focal_point_a, thread_a):
    as_user(reviewer).post(reverse("reviews:thread_resolve", args=[thread_a.pk]))
    before = db_fingerprint()

    page = as_user(focal_point_a).post(reverse("reviews:comment_create", args=[thread_a.pk]), {"body": "Late."}, follow=True)

    assert "This thread is resolved; start a new one to raise something else." in messages_of(page)
    assert db_fingerprint() == before


def test_it_assigns_a_thread_when_it_starts_and_later(as_user, reviewer, contributor_a, focal_point_a, review_a, submitted_a):
    post_thread(as_user(reviewer), review_a, assignee=str(contributor_a.pk))
    thread = Thread.objects.get()
    assert thread.assignee == contributor_a
    assert "assigned to Cora Contributor" in as_user(reviewer).get(article_url(review_a)).content.decode()

    page = as_user(focal_point_a).post(reverse("reviews:thread_assign", args=[thread.pk]), {"assignee": str(focal_point_a.pk)})
    assert page.status_code == 302 and page["Location"].endswith(f"#thread-{thread.pk}")
    assert Thread.objects.get().assignee == focal_point_a


@pytest.mark.parametrize("persona", ["focal_point_b", "unassigned_reviewer", "secretariat"])
def test_it_refuses_an_assignee_from_outside_the_review(request, as_user, reviewer, review_a, thread_a, persona):
    outsider = request.getfixturevalue(persona)
    before = db_fingerprint()

    page = as_user(reviewer).post(reverse("reviews:thread_assign", args=[thread_a.pk]), {"assignee": str(outsider.pk)}, follow=True)

    assert any("assigned only" in m or "Choose someone" in m for m in messages_of(page))
    assert db_fingerprint() == before


@pytest.mark.parametrize(("persona", "status"), [("observer_a", 403), ("secretariat", 403), ("focal_point_b", 404)])
def test_it_refuses_to_assign_by_people_outside_the_dialogue(request, as_user, contributor_a, thread_a, persona, status):
    client = as_user(request.getfixturevalue(persona))
    before = db_fingerprint()
    page = client.post(reverse("reviews:thread_assign", args=[thread_a.pk]), {"assignee": str(contributor_a.pk)})
    assert page.status_code == status and db_fingerprint() == before


# --- Lists of threads ----------------------------------------------------------------------


def test_it_filters_a_reviews_threads_by_article_status_and_type(as_user, reviewer, focal_point_a, review_a, submitted_a):
    client = as_user(reviewer)
    post_thread(client, review_a, code="FP-5.1.a.status")
    post_thread(client, review_a, code="FP-5.1.a.q1", kind="comment")
    answered = Thread.objects.get(question__code="FP-5.1.a.q1")
    as_user(focal_point_a).post(reverse("reviews:comment_create", args=[answered.pk]), {"body": "Done."})
    url = reverse("reviews:review_threads", args=[review_a.pk])

    def codes(query):
        page = client.get(url + query)
        assert page.status_code == 200
        return sorted(t.question.code for t in page.context["threads"])

    assert codes("") == ["FP-5.1.a.q1", "FP-5.1.a.status"]
    assert codes("?status=answered") == ["FP-5.1.a.q1"]
    assert codes("?kind=clarification") == ["FP-5.1.a.status"]
    assert codes("?article=14") == []
    assert codes("?article=nonsense&status=bogus") == ["FP-5.1.a.q1", "FP-5.1.a.status"]


def test_it_lists_a_reviewers_threads_across_reviews_filterable_by_state(
    as_user, reviewer, review_a, submitted_a, thread_a, state_a, unassigned_reviewer
):
    client = as_user(reviewer)
    page = client.get(reverse("reviews:my_threads"))
    assert [t.pk for t in page.context["threads"]] == [thread_a.pk]
    assert [s.pk for s in page.context["states"]] == [state_a.pk]
    assert [t.pk for t in client.get(reverse("reviews:my_threads") + f"?state={state_a.pk + 999}").context["threads"]] == []

    # Someone who does not review A sees none of its threads.
    assert list(as_user(unassigned_reviewer).get(reverse("reviews:my_threads")).context["threads"]) == []


@pytest.mark.parametrize(("persona", "status"), [("focal_point_b", 404), ("unassigned_reviewer", 404), ("anonymous", 302)])
def test_it_hides_a_reviews_thread_list_from_outsiders(request, review_a, submitted_a, persona, status):
    page = client_for(request.getfixturevalue(persona)).get(reverse("reviews:review_threads", args=[review_a.pk]))
    assert page.status_code == status


def test_it_keeps_others_notifications_unread(as_user, reviewer, focal_point_a, review_a, submitted_a):
    other = MembershipFactory(role=Membership.Role.FOCAL_POINT, state=review_a.state).user
    post_thread(as_user(reviewer), review_a)
    theirs = Notification.objects.get(recipient=other)

    as_user(focal_point_a).post(reverse("reviews:notifications_read"), {"notification": str(theirs.pk)})

    assert Notification.objects.get(pk=theirs.pk).read_at is None
    assert Notification.objects.get(recipient=focal_point_a).read_at is None


def test_it_never_redirects_elsewhere_after_marking_read(as_user, focal_point_a):
    page = as_user(focal_point_a).post(reverse("reviews:notifications_read"), {"next": "https://evil.example/"})
    assert page["Location"] == reverse("reviews:notifications")


def test_it_lets_an_observer_read_the_dialogue_but_not_take_part(as_user, observer_a, review_a, thread_a):
    client = as_user(observer_a)
    page = client.get(article_url(review_a)).content.decode()
    assert "Which authority enforces this?" in page
    assert "Comment on this answer" not in page and "Mark resolved" not in page and 'name="body"' not in page
    before = db_fingerprint()
    assert client.post(reverse("reviews:comment_create", args=[thread_a.pk]), {"body": "Hello"}).status_code == 403
    assert db_fingerprint() == before
