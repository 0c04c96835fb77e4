"""Loading questionnaire content files: the real file, versioning, and the errors
an author sees (file line and reason) when a file is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import translation

from questionnaire.content import ContentError, content_load
from questionnaire.models import Article, Choice, Cluster, Instrument, Provision, Question, QuestionnaireVersion
from tests.factories import MINI, load_real_questionnaire, make_questionnaire

pytestmark = pytest.mark.django_db

CONTENT_MODELS = (Instrument, Cluster, QuestionnaireVersion, Article, Provision, Question, Choice)
MARK = "# DEFECT"


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in CONTENT_MODELS}


def mini_copy(tmp_path: Path, *replacements: tuple[str, str], name: str = "copy.yaml") -> Path:
    """mini.yaml with each ``old`` (which must occur exactly once) replaced by ``new``."""
    text = MINI.read_text(encoding="utf-8")
    for old, new in replacements:
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in mini.yaml"
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def marked_line(path: Path) -> int:
    """The 1-based line carrying the '# DEFECT' comment: where the author erred."""
    lines = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if MARK in line]
    assert len(lines) == 1
    return lines[0]


def test_it_loads_the_real_questionnaire_with_every_cluster():
    versions = load_real_questionnaire()

    assert set(versions) == {"I", "II", "III", "IV"}
    for code, version in versions.items():
        assert version.questions.count() > 0, f"cluster {code} has no questions"
        numbers = set(version.articles.values_list("number", flat=True))
        assert 14 in numbers, f"article 14 is missing from cluster {code}"


def test_it_freezes_articles_provisions_questions_choices_and_conditions():
    versions = make_questionnaire()

    one, two = versions["I"], versions["II"]
    assert list(one.articles.values_list("number", flat=True)) == [5, 14]
    assert list(two.articles.values_list("number", flat=True)) == [8, 14]
    assert one.questions.count() == 21 and two.questions.count() == 11
    q1 = one.questions.get(code="FP-5.1.a.q1")
    assert list(q1.choices.values_list("code", flat=True)) == ["single_offence", "several_offences", "other"]
    q2 = one.questions.get(code="FP-5.1.a.q2")
    assert (q2.condition_question, q2.condition_values, q2.required) == (q1, ["other"], True)
    legislation = one.questions.get(code="FP-5.1.a.legislation")
    assert legislation.condition_question.code == "FP-5.1.a.status"
    assert legislation.condition_values == ["yes", "partially"]
    # Every language of the file is stored.
    assert q1.prompt_en == "How is the offence defined?"
    assert q1.prompt_fr == "Comment l'infraction est-elle définie ?"
    # Questions are numbered in file order, standard ones around the specific ones.
    assert list(one.questions.filter(provision__code="FP-5.1.a").values_list("code", flat=True)) == [
        "FP-5.1.a.status",
        "FP-5.1.a.legislation",
        "FP-5.1.a.explanation",
        "FP-5.1.a.q1",
        "FP-5.1.a.q2",
        "FP-5.1.a.q3",
        "FP-5.1.a.examples",
        "FP-5.1.a.challenges",
        "FP-5.1.a.ta",
    ]


def test_it_creates_nothing_when_the_same_file_is_loaded_twice():
    first = content_load(path=MINI)
    before = row_counts()

    second = content_load(path=MINI)

    assert row_counts() == before
    assert second.created == []
    assert {v.pk for v in second.unchanged} == {v.pk for v in first.created}


def test_it_makes_a_new_version_only_for_the_cluster_whose_content_changed(tmp_path):
    old = make_questionnaire()
    old_rows = list(old["I"].questions.order_by("order").values("pk", "code", "prompt", "prompt_fr"))
    edited = mini_copy(
        tmp_path,
        ('prompt: {en: "How many convictions last year?"', 'prompt: {en: "How many convictions in 2025?"'),
    )

    result = content_load(path=edited)

    assert [(v.cluster.code, v.number) for v in result.created] == [("I", 2)]
    assert [(v.cluster.code, v.number) for v in result.unchanged] == [("II", 1)]
    new = result.created[0]
    assert new.questions.get(code="FP-5.1.a.q3").prompt == "How many convictions in 2025?"
    # The version States may already have answered is untouched.
    assert list(old["I"].questions.order_by("order").values("pk", "code", "prompt", "prompt_fr")) == old_rows
    assert old["I"].questions.get(code="FP-5.1.a.q3").prompt == "How many convictions last year?"


def test_it_makes_new_versions_of_every_cluster_sharing_a_changed_article(tmp_path):
    make_questionnaire()
    edited = mini_copy(
        tmp_path,
        ('summary: {en: "States cooperate on training and assistance."', 'summary: {en: "States cooperate on training."'),
    )

    result = content_load(path=edited)

    assert sorted((v.cluster.code, v.number) for v in result.created) == [("I", 2), ("II", 2)]


INVALID = {
    "unknown key": (
        [("        examples: true\n", f"        examples: true\n        colour: red  {MARK}\n")],
        "unknown key 'colour' in a provision of article 5",
    ),
    "duplicate code": (
        [('- code: "FP-5.1.a.q3"', f'- code: "FP-5.1.a.q1"  {MARK}')],
        "duplicate code 'FP-5.1.a.q1' (also used by question FP-5.1.a.q1)",
    ),
    "condition on an unknown question": (
        [('condition: {question: "FP-5.1.a.q1", in: [other]}', f'condition: {{question: "FP-5.1.a.q9", in: [other]}}  {MARK}')],
        "question FP-5.1.a.q2: condition names 'FP-5.1.a.q9', which is not an earlier question of the same article",
    ),
    "condition on a later question": (
        [('condition: {question: "FP-5.1.a.q1", in: [other]}', f'condition: {{question: "FP-5.1.a.q3", in: [other]}}  {MARK}')],
        "question FP-5.1.a.q2: condition names 'FP-5.1.a.q3', which is not an earlier question of the same article",
    ),
    "condition value not a choice": (
        [('condition: {question: "FP-5.1.a.q1", in: [other]}', f'condition: {{question: "FP-5.1.a.q1", in: [another]}}  {MARK}')],
        "question FP-5.1.a.q2: condition values must be a non-empty list among single_offence, several_offences, other",
    ),
    "condition value not allowed for yes/no": (
        [('condition: {question: "FP-5.2.q1", in: ["yes"]}', f'condition: {{question: "FP-5.2.q1", in: ["maybe"]}}  {MARK}')],
        "question FP-5.2.q2: condition values must be a non-empty list among yes, no",
    ),
    "missing required translation": (
        [
            ("required_languages: [en]", "required_languages: [en, fr]"),
            (
                'prompt: {en: "Is an attempt punishable?", fr: "La tentative est-elle punissable ?"}',
                f'prompt: {{en: "Is an attempt punishable?"}}  {MARK}',
            ),
        ],
        "missing 'fr' translation of question FP-5.2.q1.prompt",
    ),
    "cluster names an undefined article": (
        [("    articles: [8, 14]\n", f"    articles: [8, 14, 99]  {MARK}\n")],
        "cluster II names article 99, which the file does not define",
    ),
    "duplicate key": (
        [("            kind: number\n", f"            kind: number\n            kind: text  {MARK}\n")],
        'not valid YAML: found duplicate key "kind" with value "text" (original value: "number")',
    ),
    "invalid YAML": (
        [("        examples: true\n", f"        examples: true\n\tcolour: red  {MARK}\n")],
        "not valid YAML: found character '\\t' that cannot start any token",
    ),
}


@pytest.mark.parametrize("case", INVALID.keys())
def test_it_refuses_an_invalid_file_naming_the_line_and_the_reason(tmp_path, case):
    replacements, reason = INVALID[case]
    path = mini_copy(tmp_path, *replacements)

    with pytest.raises(ContentError) as caught:
        content_load(path=path)

    assert caught.value.errors == [(marked_line(path), reason)]
    assert f"copy.yaml:{marked_line(path)}: {reason}" in str(caught.value)
    assert row_counts() == dict.fromkeys(row_counts(), 0)


def test_it_writes_nothing_when_a_file_with_real_changes_has_one_error(tmp_path):
    make_questionnaire()
    before = row_counts()
    # A changed prompt (would be a new version of cluster I) and, further down, a defect.
    path = mini_copy(
        tmp_path,
        ('prompt: {en: "How many convictions last year?"', 'prompt: {en: "How many convictions in 2025?"'),
        ("    articles: [8, 14]\n", f"    articles: [8, 14, 99]  {MARK}\n"),
    )

    with pytest.raises(ContentError):
        content_load(path=path)

    assert row_counts() == before
    assert not QuestionnaireVersion.objects.filter(number=2).exists()


def test_it_lists_every_error_of_a_file_at_once(tmp_path):
    path = mini_copy(
        tmp_path,
        ("        examples: true\n", "        examples: true\n        colour: red\n"),
        ("    articles: [8, 14]\n", "    articles: [8, 14, 99]\n"),
    )

    with pytest.raises(ContentError) as caught:
        content_load(path=path)

    assert [reason for _line, reason in caught.value.errors] == [
        "cluster II names article 99, which the file does not define",
        "unknown key 'colour' in a provision of article 5",
    ]


def test_it_stores_no_french_text_for_a_prompt_that_has_none_whatever_the_active_language(tmp_path):
    path = mini_copy(
        tmp_path,
        (
            'prompt: {en: "How is the offence defined?", fr: "Comment l\'infraction est-elle définie ?"}',
            'prompt: {en: "How is the offence defined?"}',
        ),
    )

    with translation.override("fr"):
        content_load(path=path)

    q1 = Question.objects.get(code="FP-5.1.a.q1")
    assert q1.prompt_en == "How is the offence defined?"
    assert q1.prompt_fr in (None, "")


def test_it_names_the_line_of_an_article_that_belongs_to_no_cluster(tmp_path):
    path = mini_copy(
        tmp_path,
        ("    articles: [8, 14]\n", "    articles: [14]\n"),
        ("  - number: 8\n", f"  - number: 8  {MARK}\n"),
    )

    with pytest.raises(ContentError) as caught:
        content_load(path=path)

    assert caught.value.errors == [(marked_line(path), "article 8 belongs to no cluster")]


def test_it_serves_the_file_content_again_after_an_edit_is_reverted(tmp_path):
    from questionnaire.selectors import latest_version

    original = make_questionnaire()
    edited = mini_copy(
        tmp_path,
        ('prompt: {en: "How many convictions last year?"', 'prompt: {en: "How many convictions in 2025?"'),
    )
    content_load(path=edited)

    content_load(path=MINI)  # the edit is reverted

    current = latest_version(original["I"].cluster_id)
    assert current.questions.get(code="FP-5.1.a.q3").prompt == "How many convictions last year?"
