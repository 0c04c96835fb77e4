"""Evidence where the answers are read after submission: the reviewer's article
page (reviews:article) lists the citations and files attached to each answer,
and the files download through the access-checked view."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from questionnaire import evidence as ev
from tests.factories import question
from tests.questionnaire.test_evidence import CODE, pdf_bytes

from .conftest import client_for, submit
from .test_evidence_views import reviewers_read_evidence  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def evidenced_submission(review_a, response_a, focal_point_a, version, reviewers_read_evidence):  # noqa: F811
    """A's response submitted with a file and a hostile-looking citation on CODE."""
    q = question(version, CODE)
    document = ev.answer_evidence_add(
        response=response_a, question=q, upload=SimpleUploadedFile("act.pdf", pdf_bytes()), by=focal_point_a,
        title="Firearms Act (gazette)",
    ).evidence
    citation = ev.answer_evidence_add(
        response=response_a,
        question=q,
        citation=ev.CitationData(
            title="<script>alert(1)</script> Decree", article="art. 3", date=datetime.date(2019, 5, 2),
            link="https://example.org/decree",
        ),
        by=focal_point_a,
    ).evidence
    submit(response_a, focal_point_a)
    return document, citation


def review_article_url(review) -> str:
    return reverse("reviews:article", args=[review.pk, 5])


def test_the_reviewer_reads_each_answers_evidence_and_downloads_its_files(review_a, reviewer, evidenced_submission):
    document, citation = evidenced_submission
    client = client_for(reviewer)

    page = client.get(review_article_url(review_a))

    assert page.status_code == 200
    text = page.content.decode()
    answer = text[text.index(f'id="q-{CODE}"'):]
    answer = answer[: answer.index("</article>")]
    download = reverse("questionnaire:evidence_download", args=[document.pk])
    assert "Firearms Act (gazette)" in answer and download in answer
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Decree" in answer and "<script>alert" not in text
    assert "art. 3" in answer and 'datetime="2019-05-02"' in answer and 'href="https://example.org/decree"' in answer
    # Read only: nothing to attach or detach from here.
    assert reverse("questionnaire:evidence_attach", args=[review_a.response_id, CODE]) not in text
    # Other answers say they have none.
    assert "No evidence attached." in text
    assert b"".join(client.get(download).streaming_content) == pdf_bytes()


def test_the_state_under_review_and_the_secretariat_see_the_same_evidence(
    review_a, focal_point_a, secretariat, evidenced_submission
):
    document, _citation = evidenced_submission
    for person in (focal_point_a, secretariat):
        page = client_for(person).get(review_article_url(review_a))
        assert page.status_code == 200
        assert reverse("questionnaire:evidence_download", args=[document.pk]) in page.content.decode()


def test_an_unassigned_reviewer_gets_neither_the_page_nor_the_file(review_a, unassigned_reviewer, evidenced_submission):
    document, _citation = evidenced_submission
    client = client_for(unassigned_reviewer)

    assert client.get(review_article_url(review_a)).status_code == 404
    assert client.get(reverse("questionnaire:evidence_download", args=[document.pk])).status_code == 404
