"""Laws cited with their date on the answering page: the date is posted with its
row, saved, shown read-only once submitted and in the documents; a malformed date
is refused with its message tied to the answer and nothing is saved."""

from __future__ import annotations

import pytest
from django.urls import reverse

from questionnaire import documents
from questionnaire.models import Response
from tests.factories import question, save

from .conftest import client_for, page_revisions, stored_answers, submit

pytestmark = pytest.mark.django_db

CODE = "FP-5.1.a.legislation"


def article_url(response) -> str:
    return reverse("questionnaire:article", args=[response.pk, 5])


def rows(*laws: dict[str, str]) -> dict[str, str]:
    return {f"{CODE}-{i}-{part}": value for i, law in enumerate(laws) for part, value in law.items()}


def test_a_law_is_saved_with_its_date_and_shown_everywhere(review_a, response_a, focal_point_a, secretariat):
    client = client_for(focal_point_a)
    page = client.post(article_url(response_a), {
        "revisions": page_revisions(client.get(article_url(response_a))),
        "FP-5.1.a.status": "yes",
        **rows({"title": "Firearms Act 2020", "article": "s. 5", "date": "2020-01-31", "link": "https://example.org/act"},
               {"title": "", "article": "", "date": "", "link": ""}),
    })

    assert page.status_code == 302
    assert stored_answers(response_a)[CODE] == (
        [{"title": "Firearms Act 2020", "article": "s. 5", "date": "2020-01-31", "link": "https://example.org/act"}], 1
    )
    form = client.get(article_url(response_a)).content.decode()
    assert f'type="date" class="form-control form-control-sm" id="id_{CODE}-0-date" name="{CODE}-0-date" value="2020-01-31"' in form

    submitted = submit(response_a, focal_point_a)
    shown = "Firearms Act 2020, s. 5, dated 2020-01-31, https://example.org/act"
    assert shown in client_for(secretariat).get(article_url(response_a)).content.decode()
    assert shown in client_for(secretariat).get(reverse("reviews:article", args=[review_a.pk, 5])).content.decode()
    submitted = Response.objects.select_related("state", "version__cluster__instrument").get(pk=submitted.pk)
    assert shown in [q.display for q in documents.document_data(submitted).questions if q.code == CODE]


@pytest.mark.parametrize("date", ["31/01/2020", "2020-02-30", "next year"])
def test_a_malformed_date_is_refused_with_its_message_and_nothing_is_saved(response_a, focal_point_a, version, date):
    save(response_a, focal_point_a, {question(version, "FP-5.1.a.status"): "yes",
                                     question(version, CODE): [{"title": "Old Act", "article": "", "link": ""}]})
    before = stored_answers(response_a)
    client = client_for(focal_point_a)

    page = client.post(article_url(response_a), {
        "revisions": page_revisions(client.get(article_url(response_a))),
        "FP-5.1.a.q3": "4",
        **rows({"title": "Old Act", "article": "", "date": date, "link": ""}),
    })

    assert page.status_code == 422
    body = page.content.decode()
    assert f"“{date}” is not a date: write it as YYYY-MM-DD" in body
    assert f'id="id_{CODE}_error"' in body and f'aria-describedby="id_{CODE}_error' in body
    assert stored_answers(response_a) == before
