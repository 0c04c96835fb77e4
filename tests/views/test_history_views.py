"""The history page of an answer and the restore button, over HTTP: what the page
shows (newest first, who, the diff, escaped), who may restore, and what a refused
restore leaves untouched."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from questionnaire.models import Answer
from tests.factories import question, save

from .conftest import client_for, messages_of, stored_answers, submit

pytestmark = pytest.mark.django_db

CODE = "FP-5.1.a.explanation"  # long text, article 5
# measured: 5 (1 for the request: the session with its user and their roles — re-saved only
# every SESSION_REFRESH_SECONDS; 4 for the page: the response, the question
# with its article, its choices, the history rows with their users)
HISTORY_PAGE_QUERIES = 5


def history_url(response, code: str = CODE) -> str:
    return reverse("questionnaire:answer_history", args=[response.pk, code])


def restore_url(response, revision: int, code: str = CODE) -> str:
    return reverse("questionnaire:answer_restore", args=[response.pk, code, revision])


def article_anchor(response, number: int = 5, code: str = CODE) -> str:
    return reverse("questionnaire:article", args=[response.pk, number]) + f"#q-{code}"


def marked(page, tag: str) -> list[str]:
    """The texts inside <ins> or <del> on the page, unescaped."""
    return [html.unescape(t) for t in re.findall(rf"<{tag}[^>]*>(.*?)</{tag}>", page.content.decode(), re.S)]


def version_headings(page) -> list[str]:
    return re.findall(r'<h2 class="h5" id="v-\d+-title">(Version \d+)', page.content.decode())


def history_rows(response) -> list[tuple]:
    return list(
        Answer.history.filter(response_id=response.pk).order_by("history_id").values_list("history_id", "revision", "value")
    )


@pytest.fixture
def three_versions(response_a, focal_point_a, contributor_a, version):
    """Revisions 1 and 3 by the focal point, 2 by the contributor."""
    q = question(version, CODE)
    save(response_a, focal_point_a, {q: "The police apply the law."})
    save(response_a, contributor_a, {q: "The police and customs apply the law."})
    save(response_a, focal_point_a, {q: "The customs apply the law."})
    return q


# --- The page ------------------------------------------------------------------------


def test_it_lists_every_change_newest_first_with_who_and_what_changed(as_user, focal_point_a, response_a,
                                                                       three_versions):
    page = as_user(focal_point_a).get(history_url(response_a))

    assert page.status_code == 200
    content = page.content.decode()
    assert version_headings(page) == ["Version 3", "Version 2", "Version 1"]
    assert content.index("saved by Ada Focal") < content.index("saved by Cora Contributor")
    assert marked(page, "ins") == ["and customs "]
    assert marked(page, "del") == ["police and "]
    # The first version is shown whole.
    assert "The police apply the law." in content


def test_it_names_the_question_and_leads_back_to_its_article(as_user, contributor_a, response_a, three_versions):
    page = as_user(contributor_a).get(history_url(response_a))
    content = page.content.decode()

    assert re.search(r"<h1[^>]*>History of the answer</h1>", content)
    assert three_versions.prompt in content
    breadcrumb = re.search(r'<nav aria-label="Breadcrumb">(.*?)</nav>', content, re.S).group(1)
    assert f'href="{html.escape(article_anchor(response_a))}"' in breadcrumb
    assert 'aria-current="page">History of FP-5.1.a.explanation<' in breadcrumb


def test_it_offers_to_restore_each_earlier_version_to_those_who_may_edit(as_user, focal_point_a, response_a,
                                                                          three_versions):
    content = as_user(focal_point_a).get(history_url(response_a)).content.decode()

    # Not the current version: restoring it would change nothing.
    assert re.findall(r'action="[^"]*/history/(\d+)/restore/"', content) == ["2", "1"]
    assert content.count("Restore this version") == 2


def test_it_offers_no_restore_once_the_response_is_submitted(as_user, focal_point_a, secretariat, response_a,
                                                            three_versions):
    submitted = submit(response_a, focal_point_a)

    for user in (focal_point_a, secretariat):
        page = as_user(user).get(history_url(submitted))
        assert page.status_code == 200
        assert version_headings(page)[:3] == ["Version 3", "Version 2", "Version 1"]
        assert "Restore this version" not in page.content.decode()


def test_it_says_so_when_nothing_was_saved_yet(as_user, focal_point_a, response_a):
    page = as_user(focal_point_a).get(history_url(response_a))

    assert page.status_code == 200
    assert "No answer has been saved for this question yet." in page.content.decode()


def test_it_shows_hostile_text_as_text(as_user, focal_point_a, response_a, version):
    q = question(version, CODE)
    save(response_a, focal_point_a, {q: "Safe text."})
    save(response_a, focal_point_a, {q: 'Safe text. <script>alert("x")</script> <b onmouseover=alert(1)>bold</b>'})

    content = as_user(focal_point_a).get(history_url(response_a)).content.decode()

    assert "<script>alert" not in content
    assert "<b onmouseover" not in content
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in content
    assert "&lt;b onmouseover=alert(1)&gt;bold&lt;/b&gt;" in content


def test_it_pages_a_long_history(as_user, focal_point_a, response_a, version):
    q = question(version, CODE)
    for i in range(1, 31):
        save(response_a, focal_point_a, {q: f"Wording number {i}."})
    client = as_user(focal_point_a)

    first, second = client.get(history_url(response_a)), client.get(history_url(response_a) + "?page=2")

    assert version_headings(first) == [f"Version {n}" for n in range(30, 5, -1)]
    assert version_headings(second) == [f"Version {n}" for n in range(5, 0, -1)]
    assert marked(second, "ins")[0] == "5"  # diffed against version 4, which is on no page
    assert client.get(history_url(response_a) + "?page=nonsense").status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        lambda r: history_url(r, "FP-0.unknown"),
        lambda r: history_url(r, "FP-8.1.a.q1"),  # a question of cluster II, not of this response's version
    ],
    ids=["unknown code", "question of another version"],
)
def test_it_answers_404_for_a_question_that_is_not_in_the_response(as_user, focal_point_a, response_a, mini_versions,
                                                                   url):
    assert question(mini_versions["II"], "FP-8.1.a.q1")  # it does exist, elsewhere
    assert as_user(focal_point_a).get(url(response_a)).status_code == 404


@pytest.mark.parametrize("changes", [2, 20])
def test_it_renders_the_history_in_the_same_queries_however_long(focal_point_a, contributor_a, response_a, version,
                                                                 changes, django_assert_num_queries):
    q = question(version, CODE)
    for i in range(changes):
        save(response_a, (focal_point_a, contributor_a)[i % 2], {q: f"Version number {i} of the text."})
    client = client_for(focal_point_a)
    assert client.get(history_url(response_a)).status_code == 200  # warm the caches

    with django_assert_num_queries(HISTORY_PAGE_QUERIES):
        page = client.get(history_url(response_a))

    assert len(version_headings(page)) == changes


# --- Restoring ---------------------------------------------------------------------------


def test_it_restores_a_version_as_a_new_change_and_says_so(as_user, focal_point_a, response_a, three_versions):
    before = history_rows(response_a)

    page = as_user(focal_point_a).post(restore_url(response_a, 1), follow=True)

    [(where, status)] = page.redirect_chain
    assert (where, status) == (article_anchor(response_a), 302)
    assert "Restored version 1." in messages_of(page)
    assert stored_answers(response_a)[CODE] == ("The police apply the law.", 4)
    after = history_rows(response_a)
    assert after[:3] == before
    assert [(revision, value) for _id, revision, value in after[3:]] == [(4, "The police apply the law.")]
    history = as_user(focal_point_a).get(history_url(response_a)).content.decode()
    assert "restored from version 1" in history


def test_a_contributor_of_the_state_may_restore(as_user, contributor_a, response_a, three_versions):
    page = as_user(contributor_a).post(restore_url(response_a, 2))

    assert page.status_code == 302
    assert page["Location"] == article_anchor(response_a)
    assert stored_answers(response_a)[CODE] == ("The police and customs apply the law.", 4)
    assert Answer.objects.get(response=response_a, question=three_versions).updated_by == contributor_a


def test_it_answers_404_to_the_focal_point_of_another_state_and_changes_nothing(as_user, focal_point_b, response_a,
                                                                                three_versions):
    before = history_rows(response_a)
    client = as_user(focal_point_b)

    assert client.get(history_url(response_a)).status_code == 404
    assert client.post(restore_url(response_a, 1)).status_code == 404
    assert history_rows(response_a) == before


def test_it_refuses_a_restore_after_submission_with_a_message(as_user, focal_point_a, contributor_a, response_a,
                                                               three_versions):
    submitted = submit(response_a, focal_point_a)
    before = (stored_answers(submitted), history_rows(submitted))

    for user in (focal_point_a, contributor_a):
        page = as_user(user).post(restore_url(submitted, 1), follow=True)

        [(where, status)] = page.redirect_chain
        assert (where, status) == (history_url(submitted), 302)
        assert any("has been submitted" in m for m in messages_of(page))
    assert (stored_answers(submitted), history_rows(submitted)) == before


def test_it_answers_404_for_an_unknown_revision_and_405_to_a_get(as_user, focal_point_a, response_a, three_versions):
    client = as_user(focal_point_a)
    before = history_rows(response_a)

    assert client.post(restore_url(response_a, 99)).status_code == 404
    assert client.post(restore_url(response_a, 1, code="FP-0.unknown")).status_code == 404
    assert client.get(restore_url(response_a, 1)).status_code == 405
    assert history_rows(response_a) == before


def test_it_says_so_when_the_version_restored_is_already_the_current_one(as_user, focal_point_a, response_a,
                                                                          three_versions):
    before = history_rows(response_a)

    page = as_user(focal_point_a).post(restore_url(response_a, 3), follow=True)

    assert any("already the current answer" in m for m in messages_of(page))
    assert history_rows(response_a) == before
