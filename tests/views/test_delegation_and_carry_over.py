"""Delegation of articles to contributors, and answers carried over from the
State's previous response (confirmed one by one)."""

from __future__ import annotations

from pathlib import Path

from django.urls import reverse

from questionnaire.content import content_load
from questionnaire.models import Answer, ArticleAssignment, Response
from questionnaire.selectors import response_progress
from questionnaire.services import response_get_or_create
from tests.factories import MINI, question, save

from .conftest import client_for, form_data, messages_of, with_values


def test_it_lets_the_focal_point_assign_an_article_and_shows_it_first_to_the_contributor(
    response_a, focal_point_a, contributor_a
):
    page = client_for(focal_point_a).post(
        reverse("questionnaire:assign", args=[response_a.pk]), {"article": "14", "assignee": contributor_a.pk}
    )
    assert page.status_code == 302
    assignment = ArticleAssignment.objects.get()
    assert (assignment.article.number, assignment.assignee, assignment.assigned_by) == (14, contributor_a, focal_point_a)

    overview = client_for(contributor_a).get(reverse("questionnaire:response", args=[response_a.pk])).content.decode()
    assert "Assigned to you" in overview
    assert overview.index("Article 14.") < overview.index("Article 5.")


def test_it_refuses_to_assign_to_someone_of_another_state(response_a, focal_point_a, focal_point_b):
    page = client_for(focal_point_a).post(
        reverse("questionnaire:assign", args=[response_a.pk]), {"article": "5", "assignee": focal_point_b.pk}, follow=True
    )

    assert not ArticleAssignment.objects.exists()
    assert "Choose an article and a person of your State." in messages_of(page)


def test_it_lets_only_the_focal_point_remove_an_assignment(response_a, focal_point_a, contributor_a, assignment_a):
    url = reverse("questionnaire:unassign", args=[response_a.pk, assignment_a.pk])
    assert client_for(contributor_a).post(url).status_code == 403
    assert ArticleAssignment.objects.exists()
    assert client_for(focal_point_a).post(url).status_code == 302
    assert not ArticleAssignment.objects.exists()


def _second_version(tmp_path, version):
    """The same questionnaire with one prompt changed: a new version of cluster I."""
    text = Path(MINI).read_text().replace("How many convictions last year?", "How many convictions in the last year?")
    changed = tmp_path / "mini-v2.yaml"
    changed.write_text(text)
    created = content_load(path=changed).created
    return next(v for v in created if v.cluster_id == version.cluster_id)


def test_it_carries_over_previous_answers_to_be_confirmed(tmp_path, response_a, focal_point_a, version):
    save(response_a, focal_point_a, {question(version, "FP-5.1.a.explanation"): "Answered in 2026",
                                     question(version, "FP-5.1.a.status"): "yes"})
    newer = _second_version(tmp_path, version)
    response = response_get_or_create(state=response_a.state, version=newer, due_date=None)
    before = response_progress(response).answered_required

    page = client_for(focal_point_a).post(reverse("questionnaire:carry_over", args=[response.pk]))

    assert page.status_code == 302
    copied = Answer.objects.get(response=response, question__code="FP-5.1.a.explanation")
    assert (copied.value, copied.carried_over) == ("Answered in 2026", True)
    # Carried over is not answered until a person confirms it.
    assert response_progress(response).answered_required == before
    article = client_for(focal_point_a).get(reverse("questionnaire:article", args=[response.pk, 5])).content.decode()
    assert "carried over — please confirm" in article

    confirm = client_for(focal_point_a).post(
        reverse("questionnaire:answer_save", args=[response.pk, "FP-5.1.a.explanation"]),
        {"FP-5.1.a.explanation": "Answered in 2026", "rev-FP-5.1.a.explanation": "1"},
    )
    assert confirm.status_code == 200
    copied.refresh_from_db()
    assert (copied.carried_over, copied.revision) == (False, 2)
    assert response_progress(response).answered_required == before + 1


def test_it_carries_over_only_choices_the_newer_questionnaire_still_offers(tmp_path, response_a, focal_point_a, version):
    save(response_a, focal_point_a, {question(version, "FP-5.1.a.status"): "yes",
                                     question(version, "FP-5.1.a.q1"): "several_offences",
                                     question(version, "FP-14.status"): "no"})
    # Codes the newer version does not offer (a choice withdrawn, a status renamed).
    Answer.objects.filter(response=response_a, question__code="FP-5.1.a.q1").update(value="withdrawn")
    Answer.objects.filter(response=response_a, question__code="FP-14.status").update(value="maybe")
    newer = _second_version(tmp_path, version)
    response = response_get_or_create(state=response_a.state, version=newer, due_date=None)

    client_for(focal_point_a).post(reverse("questionnaire:carry_over", args=[response.pk]))

    copied = dict(Answer.objects.filter(response=response).values_list("question__code", "value"))
    assert copied["FP-5.1.a.status"] == "yes"
    assert "FP-5.1.a.q1" not in copied and "FP-14.status" not in copied


def test_it_never_overwrites_an_answer_when_carrying_over(tmp_path, response_a, focal_point_a, version):
    save(response_a, focal_point_a, {question(version, "FP-5.1.a.explanation"): "Old"})
    newer = _second_version(tmp_path, version)
    response = response_get_or_create(state=response_a.state, version=newer, due_date=None)
    save(response, focal_point_a, {question(newer, "FP-5.1.a.explanation"): "New"})

    client_for(focal_point_a).post(reverse("questionnaire:carry_over", args=[response.pk]))

    kept = Answer.objects.get(response=response, question__code="FP-5.1.a.explanation")
    assert (kept.value, kept.carried_over, kept.revision) == ("New", False, 1)
    assert Response.objects.count() == 2


def test_saving_the_page_confirms_only_the_carried_over_answers_ticked_or_changed(tmp_path, response_a, focal_point_a, version):
    """A whole page posts every answer it shows, looked at or not: a carried-over
    answer saved as it is stays "please confirm" unless its box was ticked."""
    save(response_a, focal_point_a, {question(version, "FP-5.1.a.status"): "yes",
                                     question(version, "FP-5.1.a.explanation"): "Answered in 2026",
                                     question(version, "FP-5.2.status"): "no"})
    newer = _second_version(tmp_path, version)
    response = response_get_or_create(state=response_a.state, version=newer, due_date=None)
    client = client_for(focal_point_a)
    client.post(reverse("questionnaire:carry_over", args=[response.pk]))
    url = reverse("questionnaire:article", args=[response.pk, 5])
    page = client.get(url)
    html = page.content.decode()
    for code in ("FP-5.1.a.status", "FP-5.1.a.explanation", "FP-5.2.status"):
        assert f'name="confirm-{code}"' in html
        assert f'<label class="form-check-label" for="confirm-{code}">' in html
    fields = form_data(page)
    assert not [name for name, _v in fields if name.startswith("confirm-")]  # nothing ticked as shown

    saved = client.post(url, with_values(fields, **{"confirm-FP-5.1.a.status": "1",
                                                    "FP-5.1.a.explanation": "Answered in 2026, and still so"}))

    assert saved.status_code == 302
    state = dict(
        Answer.objects.filter(response=response).values_list("question__code", "carried_over")
    )
    assert state == {"FP-5.1.a.status": False, "FP-5.1.a.explanation": False, "FP-5.2.status": True}
    again = client.get(url).content.decode()
    assert 'name="confirm-FP-5.2.status"' in again and 'name="confirm-FP-5.1.a.status"' not in again
