"""Downloading a response as PDF or Word: who may, and what comes back
(questionnaire/views_documents.py). What is in the documents is tested in
tests/questionnaire/test_documents.py."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.urls import reverse

from questionnaire.models import Answer
from tests.factories import question, save

from .conftest import LOGIN_URL, client_for, submit

pytestmark = pytest.mark.django_db

PDF, DOCX = "questionnaire:document_pdf", "questionnaire:document_docx"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def url(name: str, response) -> str:
    return reverse(name, args=[response.pk])


def test_the_urls_are_the_documented_ones(response_a):
    assert url(PDF, response_a) == f"/responses/{response_a.pk}/document.pdf"
    assert url(DOCX, response_a) == f"/responses/{response_a.pk}/document.docx"


@pytest.mark.parametrize("persona", ["focal_point_a", "contributor_a"])
def test_the_states_people_download_the_draft_as_pdf(request, persona, response_a, state_a):
    page = client_for(request.getfixturevalue(persona)).get(url(PDF, response_a))

    assert page.status_code == 200
    assert page["Content-Type"] == "application/pdf"
    assert page["Content-Disposition"] == f'attachment; filename="response-{state_a.iso3}-cluster-I-draft.pdf"'
    assert "no-store" in page["Cache-Control"]
    assert page["X-Content-Type-Options"] == "nosniff"
    assert page.content.startswith(b"%PDF")


def test_the_focal_point_downloads_the_draft_as_docx(focal_point_a, response_a, state_a, version):
    save(response_a, focal_point_a, {question(version, "FP-5.2.explanation"): "Our answer."})

    page = client_for(focal_point_a).get(url(DOCX, response_a))

    assert page.status_code == 200
    assert page["Content-Type"] == DOCX_TYPE
    assert page["Content-Disposition"] == f'attachment; filename="response-{state_a.iso3}-cluster-I-draft.docx"'
    assert "no-store" in page["Cache-Control"]
    with zipfile.ZipFile(io.BytesIO(page.content)) as archive:
        assert "Our answer." in archive.read("word/document.xml").decode()


@pytest.mark.parametrize("name", [PDF, DOCX])
def test_outsiders_get_404_and_the_anonymous_the_login(name, focal_point_b, reviewer, anonymous, response_a):
    assert client_for(focal_point_b).get(url(name, response_a)).status_code == 404
    # Reviewers read a submitted response through the review pages, not here.
    assert client_for(reviewer).get(url(name, response_a)).status_code == 404
    page = client_for(anonymous).get(url(name, response_a))
    assert page.status_code == 302 and page["Location"].startswith(LOGIN_URL + "?next=")


@pytest.mark.parametrize("name", [PDF, DOCX])
def test_the_secretariat_gets_the_document_only_once_submitted(name, secretariat, focal_point_a, response_a, state_a):
    client = client_for(secretariat)
    assert client.get(url(name, response_a)).status_code == 404

    submit(response_a, focal_point_a)

    page = client.get(url(name, response_a))
    assert page.status_code == 200
    ext = "pdf" if name == PDF else "docx"
    assert page["Content-Disposition"] == f'attachment; filename="response-{state_a.iso3}-cluster-I-submitted.{ext}"'


def test_a_missing_response_answers_the_same_404(focal_point_b, response_a):
    client = client_for(focal_point_b)

    forbidden = client.get(url(PDF, response_a))
    missing = client.get(reverse(PDF, args=[response_a.pk + 1000]))

    assert forbidden.status_code == missing.status_code == 404
    assert forbidden.content == missing.content


@pytest.mark.parametrize("name", [PDF, DOCX])
def test_only_get_is_allowed(name, focal_point_a, response_a):
    assert client_for(focal_point_a).post(url(name, response_a)).status_code == 405


def test_the_submitted_documents_show_the_submitted_copy(focal_point_a, response_a):
    submitted = submit(response_a, focal_point_a)
    rows = Answer.objects.filter(response=submitted, question__code="FP-5.2.explanation")
    rows.update(value="Changed behind the copy.")

    page = client_for(focal_point_a).get(url(DOCX, submitted))

    with zipfile.ZipFile(io.BytesIO(page.content)) as archive:
        xml = archive.read("word/document.xml").decode()
    assert "Changed behind the copy." not in xml
    assert "Our police and customs apply the law every day." in xml  # what fill_required answered


def test_an_arabic_session_gets_a_right_to_left_document(focal_point_a, response_a):
    client = client_for(focal_point_a, HTTP_ACCEPT_LANGUAGE="ar")

    pdf = client.get(url(PDF, response_a))
    docx = client.get(url(DOCX, response_a))

    assert pdf.status_code == docx.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    with zipfile.ZipFile(io.BytesIO(docx.content)) as archive:
        assert "<w:bidi/>" in archive.read("word/document.xml").decode()
