"""The composite "legislation" kind (questionnaire.kinds.Legislation): rows of
title, article, an optional date of adoption or entry into force and an optional
link, as the answering page posts them, validated, stored and shown."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from questionnaire.field_render import render_answer_field
from questionnaire.forms import ArticleAnswerForm
from questionnaire.kinds import REGISTRY
from questionnaire.models import Answer
from questionnaire.selectors import version_questions
from tests.factories import question

pytestmark = pytest.mark.django_db

CODE = "FP-5.1.a.legislation"
KIND = REGISTRY["legislation"]


def posted(rows: list[dict[str, str]]) -> dict[str, str]:
    return {f"{CODE}-{i}-{part}": value for i, row in enumerate(rows) for part, value in row.items()}


def clean(version, rows):
    field = KIND.form_field(question(version, CODE), [])
    return KIND.to_value(field.clean(field.widget.value_from_datadict(posted(rows), {}, CODE)))


def test_a_row_keeps_its_date_and_a_row_without_one_keeps_the_old_shape(version):
    assert clean(version, [
        {"title": "Firearms Act", "article": "s. 5", "date": "2020-01-31", "link": "https://example.org/a"},
        {"title": "Penal Code", "article": "", "date": "", "link": ""},
        {"title": "", "article": "", "date": "", "link": ""},  # the empty row the page adds
    ]) == [
        {"title": "Firearms Act", "article": "s. 5", "date": "2020-01-31", "link": "https://example.org/a"},
        {"title": "Penal Code", "article": "", "link": ""},
    ]


def test_a_page_that_posts_no_date_field_stores_what_it_stored_before(version):
    assert clean(version, [{"title": "Act", "article": "s. 1", "link": ""}]) == [{"title": "Act", "article": "s. 1", "link": ""}]


@pytest.mark.parametrize("date", ["31/01/2020", "2020-02-30", "2020-13-01", "2020-1-5", "20200131", "soon", "2020-01-31T10:00"])
def test_a_malformed_date_is_refused_with_a_clear_message(version, date):
    with pytest.raises(ValidationError) as refused:
        clean(version, [{"title": "Act", "article": "", "date": date, "link": ""}])
    assert refused.value.messages == [f"“{date}” is not a date: write it as YYYY-MM-DD, for example 2020-01-31."]


def test_a_date_alone_is_not_a_law(version):
    with pytest.raises(ValidationError, match="Each cited law needs a title"):
        clean(version, [{"title": "", "article": "", "date": "2020-01-31", "link": ""}])


def test_it_shows_the_date_and_old_values_as_before():
    assert KIND.display(
        [{"title": "Firearms Act", "article": "s. 5", "date": "2020-01-31", "link": "https://example.org/a"},
         {"title": "Penal Code", "article": "art. 2", "link": ""}],
        {},
    ) == "Firearms Act, s. 5, dated 2020-01-31, https://example.org/a\nPenal Code, art. 2"


def test_the_page_renders_a_labelled_date_input_per_row(response_a, version):
    article = question(version, CODE).article
    questions = version_questions(version.pk, article)
    law = question(version, CODE)
    stored = Answer(question=law, value=[{"title": "Firearms Act", "article": "s. 5", "date": "2020-01-31", "link": ""}],
                    revision=1)
    form = ArticleAnswerForm(questions=questions, answers={law.pk: stored})
    html = str(render_answer_field(form[CODE]))

    assert f'<label class="form-label small mb-0" for="id_{CODE}-0-date">Date of adoption or entry into force</label>' in html
    assert f'<input type="date" class="form-control form-control-sm" id="id_{CODE}-0-date" name="{CODE}-0-date" value="2020-01-31"' in html
    assert f'id="id_{CODE}-1-date" name="{CODE}-1-date" value=""' in html  # the spare row
    # The widget's template (used where the page does not render in Python) agrees.
    template_html = form[CODE].as_widget()
    assert f'type="date" class="form-control form-control-sm" id="id_{CODE}-0-date" name="{CODE}-0-date" value="2020-01-31"' in template_html
