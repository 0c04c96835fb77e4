"""The whole cluster on one page, and the cache of rendered question blocks that
the answering pages share (questionnaire/answer_page.py): a block shown is always
the current one — after a save, an evidence edit, a submission, in another language."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import translation

from questionnaire import evidence as evidence_services
from questionnaire.models import Answer, Question
from tests.factories import question, save

from .conftest import page_revisions, stored_answers, submit

pytestmark = pytest.mark.django_db


def cluster_url(response) -> str:
    return reverse("questionnaire:cluster", args=[response.pk])


def article_url(response, number: int = 5) -> str:
    return reverse("questionnaire:article", args=[response.pk, number])


def codes_on_page(page) -> list[str]:
    return re.findall(r'<div class="question[^"]*" id="q-([^"]+)"', page.content.decode())


def test_the_cluster_page_shows_every_question_of_every_article_in_order(as_user, focal_point_a, response_a, version):
    page = as_user(focal_point_a).get(cluster_url(response_a))

    assert page.status_code == 200
    expected = list(Question.objects.filter(version=version).order_by("order").values_list("code", flat=True))
    assert codes_on_page(page) == expected
    html = page.content.decode()
    # One h1, the articles as h2 and their provisions below them.
    assert html.count("<h1") == 1
    assert 'id="article-5"' in html and 'id="article-14"' in html
    assert re.search(r'<h3 class="h4" id="prov-', html)


def test_the_cluster_page_saves_answers_of_several_articles_in_one_post(as_user, focal_point_a, response_a):
    client = as_user(focal_point_a)
    revisions = page_revisions(client.get(cluster_url(response_a)))

    page = client.post(
        cluster_url(response_a),
        {"revisions": revisions, "FP-5.1.a.q3": "12", "FP-14.explanation": "Cooperation through INTERPOL."},
    )

    assert page.status_code == 302 and page["Location"] == cluster_url(response_a)
    stored = stored_answers(response_a)
    assert stored["FP-5.1.a.q3"] == (12, 1)
    assert stored["FP-14.explanation"] == ("Cooperation through INTERPOL.", 1)


def test_the_cluster_page_refuses_an_invalid_post_whole_and_shows_the_errors(as_user, focal_point_a, response_a):
    client = as_user(focal_point_a)
    revisions = page_revisions(client.get(cluster_url(response_a)))

    page = client.post(
        cluster_url(response_a),
        {"revisions": revisions, "FP-5.1.a.q3": "not a number", "FP-14.explanation": "Kept only if all is valid."},
    )

    assert page.status_code == 422
    assert stored_answers(response_a) == {}
    # The posted text is still in the field, and the error is tied to its field.
    assert "Kept only if all is valid." in page.content.decode()
    assert 'aria-describedby="' in page.content.decode()


def test_a_block_shown_after_a_save_is_the_new_one(as_user, focal_point_a, contributor_a, response_a, version):
    client = as_user(focal_point_a)
    q = question(version, "FP-5.1.a.explanation")
    save(response_a, focal_point_a, {q: "First text"})
    assert "First text" in client.get(article_url(response_a)).content.decode()  # cached now

    save(response_a, contributor_a, {q: "Second text, by a colleague"})

    for url in (article_url(response_a), cluster_url(response_a)):
        html = client.get(url).content.decode()
        assert "Second text, by a colleague" in html and "First text" not in html
        assert f'name="rev-{q.code}" value="2"' in html


def test_a_block_shows_an_edited_evidence_title(as_user, focal_point_a, response_a, state_a, version):
    client = as_user(focal_point_a)
    q = question(version, "FP-5.1.a.explanation")
    attached = evidence_services.answer_evidence_add(
        response=response_a, question=q, by=focal_point_a,
        citation=evidence_services.CitationData(title="Firearms Act 2001"),
    )
    assert "Firearms Act 2001" in client.get(article_url(response_a)).content.decode()

    evidence_services.evidence_update(
        evidence=attached.evidence, by=focal_point_a, base_revision=attached.evidence.revision,
        changes=evidence_services.EvidenceChanges(title="Firearms Act 2001, as amended in 2019"),
    )

    assert "Firearms Act 2001, as amended in 2019" in client.get(article_url(response_a)).content.decode()


def test_a_block_cached_for_an_editor_is_never_shown_to_a_reader(
    as_user, focal_point_a, contributor_a, response_a, review_a, secretariat
):
    editable = as_user(contributor_a).get(article_url(response_a)).content.decode()
    assert 'name="FP-5.1.a.q3"' in editable and "hx-post" in editable
    save(response_a, focal_point_a, {Question.objects.get(version=response_a.version, code="FP-5.1.a.q3"): 3})
    from tests.factories import fill_required

    fill_required(response_a, focal_point_a)
    submit(response_a, focal_point_a)

    for reader in (contributor_a, secretariat):
        html = as_user(reader).get(article_url(response_a)).content.decode()
        assert 'name="FP-5.1.a.q3"' not in html and "hx-post" not in html
        assert "read only" in html


def test_a_block_is_rendered_in_the_language_of_the_page(as_user, focal_point_a, response_a):
    client = as_user(focal_point_a)
    english = client.get(article_url(response_a)).content.decode()
    assert "required" in english

    with translation.override("fr"):
        french = client.get(article_url(response_a), HTTP_ACCEPT_LANGUAGE="fr").content.decode()

    assert french != english
    assert "obligatoire" in french


def test_a_stale_whole_page_post_on_the_cluster_page_saves_nothing(as_user, focal_point_a, contributor_a, response_a, version):
    client = as_user(focal_point_a)
    revisions = page_revisions(client.get(cluster_url(response_a)))
    q = question(version, "FP-5.1.a.explanation")
    save(response_a, contributor_a, {q: "Cora's text"})

    page = client.post(cluster_url(response_a), {"revisions": revisions, q.code: "Ada's text", "FP-5.1.a.q3": "4"})

    assert page.status_code == 409
    assert Answer.objects.get(response=response_a, question=q).value == "Cora's text"
    assert not Answer.objects.filter(response=response_a, question__code="FP-5.1.a.q3").exists()
    assert "Cora&#x27;s text" in page.content.decode() or "Cora's text" in page.content.decode()


@pytest.fixture
def registry(db, django_capture_on_commit_callbacks):
    from questionnaire import recommendations as recs

    with django_capture_on_commit_callbacks(execute=True):
        recs.recommendations_load()
    yield recs
    recs.registry_changed()


def test_the_cluster_page_shows_the_recommendations_of_each_article_under_its_heading(
    as_user, focal_point_a, response_a, registry
):
    on_5 = registry.recommendations_for_article(5)
    assert on_5, "the registry links recommendations to article 5"

    html = as_user(focal_point_a).get(cluster_url(response_a)).content.decode()

    # Under the article's h2, as an h3 inside a collapsible panel; the article page keeps its h2.
    heading_at = html.index('id="article-5"')
    panel_at = html.index('id="recommendations-5"')
    assert heading_at < panel_at < html.index('id="prov-', heading_at)
    assert re.search(r'id="recommendations-5">\s*<summary><h3 ', html)
    assert on_5[0].text_localized[:40] in html
    article_page = as_user(focal_point_a).get(article_url(response_a, 5)).content.decode()
    assert re.search(r'id="recommendations-5">\s*<summary><h2 ', article_page)
