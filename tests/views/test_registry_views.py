"""The recommendations registry page, the recommendations panel of the article
pages, expertise offers and the secretariat's matching (reviews/views_registry.py)."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.urls import reverse

from parties.models import Membership
from questionnaire import recommendations as recs
from questionnaire.models import Question
from questionnaire.services import answers_save
from reviews import services_registry as registry
from reviews.models import ExpertiseOffer
from reviews.services_ta import ta_needs_refresh
from tests.factories import MembershipFactory

from .conftest import client_for, submit

pytestmark = pytest.mark.django_db
Role = Membership.Role


@pytest.fixture(autouse=True)
def loaded(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        recs.recommendations_load()
    yield
    recs.registry_changed()


def offer_data(**kw):
    return {"article_number": "5", "category": "record_keeping", "description": "Registry advice.",
            "contact": "registry@example.org"} | kw


def test_the_registry_lists_every_recommendation_with_counts_for_the_secretariat_only(
    focal_point_a, secretariat, submitted_a
):
    mine = client_for(focal_point_a).get(reverse("reviews:registry"))
    assert mine.status_code == 200
    assert mine.content.decode().count('id="rec-') == 35
    assert "States not implementing" not in mine.content.decode()

    theirs = client_for(secretariat).get(reverse("reviews:registry") + "?article=15")
    html = theirs.content.decode()
    assert "States not implementing" in html
    assert 'id="rec-topics2021-4"' in html and html.count('id="rec-') == 1


def test_the_article_pages_show_the_recommendations_of_that_article(focal_point_a, response_a, reviewer, review_a,
                                                                      submitted_a):
    answering = client_for(focal_point_a).get(reverse("questionnaire:article", args=[response_a.pk, 14]))
    html = answering.content.decode()
    assert '<details class="recommendations' in html and "Working Group recommendations on this article" in html
    assert "necessary technical and financial assistance to support developing countries" in html  # rec. 24, art. 14
    assert "joint investigative teams" not in html  # rec. 14 concerns article 13

    reviewing = client_for(reviewer).get(reverse("reviews:article", args=[review_a.pk, 5]))
    assert 'id="recommendations-5"' in reviewing.content.decode()


def test_a_focal_point_records_its_states_offer(focal_point_a, state_a):
    client = client_for(focal_point_a)
    url = reverse("reviews:state_offers", args=[state_a.iso3])

    page = client.post(url, offer_data())

    assert page.status_code == 302 and page["Location"] == url
    made = ExpertiseOffer.objects.get()
    assert (made.state, made.article_number, made.category) == (state_a, 5, "record_keeping")
    assert "Registry advice." in client.get(url).content.decode()


def test_a_bad_offer_shows_its_errors_tied_to_the_fields_and_saves_nothing(focal_point_a, state_a):
    page = client_for(focal_point_a).post(reverse("reviews:state_offers", args=[state_a.iso3]),
                                          offer_data(article_number="40", description=""))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'aria-describedby="id_description_error"' in html and 'id="id_article_number_error"' in html
    assert not ExpertiseOffer.objects.exists()


def test_another_states_offers_are_not_found_and_others_of_the_state_may_not_record(
    focal_point_b, contributor_a, state_a
):
    url = reverse("reviews:state_offers", args=[state_a.iso3])
    assert client_for(focal_point_b).get(url).status_code == 404
    assert client_for(focal_point_b).post(url, offer_data()).status_code == 404
    assert client_for(contributor_a).get(url).status_code == 200
    assert client_for(contributor_a).post(url, offer_data()).status_code == 403
    assert not ExpertiseOffer.objects.exists()


def test_an_offer_is_withdrawn_by_its_state_and_hidden_from_others(focal_point_a, focal_point_b, contributor_a, state_a):
    made = registry.expertise_offer_create(by=focal_point_a, state=state_a, article_number=5, category="destruction",
                                           description="d", contact="c")
    url = reverse("reviews:offer_withdraw", args=[made.pk])
    assert client_for(focal_point_b).post(url).status_code == 404
    assert client_for(contributor_a).post(url).status_code == 403
    assert ExpertiseOffer.objects.filter(pk=made.pk).exists()
    assert client_for(focal_point_a).post(url).status_code == 302
    assert not ExpertiseOffer.objects.exists()


def test_the_secretariat_records_programme_offers_and_matches_them_as_xlsx(
    secretariat, focal_point_a, focal_point_b, state_a, state_b, response_a, review_a
):
    # A needs record-keeping help on article 5 (submitted); B, same group, offers it.
    ta = Question.objects.get(version=response_a.version, code="FP-5.1.a.ta")
    answers_save(response=response_a, by=focal_point_a, base_revisions={},
                 values={ta: {"needed": True, "categories": ["record_keeping"], "priority": "high", "details": "=HYPERLINK(1)"}})
    submit(response_a, focal_point_a)
    ta_needs_refresh(state=state_a)  # the needs as rows (reviews/services_ta.py)
    registry.expertise_offer_create(by=focal_point_b, state=state_b, article_number=5, category="record_keeping",
                                    description="+SUM(A1)", contact="b@example.org")
    client = client_for(secretariat)
    assert client.post(reverse("reviews:programme_offers"), offer_data(programme="Global Firearms Programme")).status_code == 302

    page = client.get(reverse("reviews:matching"))
    html = page.content.decode()
    assert page.status_code == 200
    assert state_a.name in html and "Global Firearms Programme" in html and "South-South" in html

    sheet = openpyxl.load_workbook(io.BytesIO(client.get(reverse("reviews:matching_xlsx")).content)).active
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [r[6] for r in rows] == [state_b.name, "Global Firearms Programme"]  # same group first
    assert rows[0][8:10] == ("Yes", "Yes")
    assert rows[0][5] == "'=HYPERLINK(1)" and rows[0][10] == "'+SUM(A1)"  # neutralised


def test_matching_and_programmes_are_the_secretariats(focal_point_a, reviewer):
    for user in (focal_point_a, reviewer):
        client = client_for(user)
        for name in ("reviews:matching", "reviews:matching_xlsx", "reviews:programme_offers"):
            assert client.get(reverse(name)).status_code == 403
        assert client.post(reverse("reviews:programme_offers"), offer_data(programme="P")).status_code == 403
    assert not ExpertiseOffer.objects.exists()


def test_the_matching_page_costs_the_same_queries_whatever_the_number_of_offers(secretariat, parties):
    client = client_for(secretariat)
    url = reverse("reviews:matching")
    client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for state in parties:
        fp = MembershipFactory(role=Role.FOCAL_POINT, state=state).user
        registry.expertise_offer_create(by=fp, state=state, article_number=5, category="destruction",
                                        description="d", contact="c")
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)


def test_the_secretariat_downloads_the_registry_with_its_counts(secretariat, focal_point_a, submitted_a):
    assert client_for(focal_point_a).get(reverse("reviews:registry_xlsx")).status_code == 403
    page = client_for(secretariat).get(reverse("reviews:registry_xlsx"))
    sheet = openpyxl.load_workbook(io.BytesIO(page.content)).active
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 35
    counts = registry.recommendation_counts(recs.all_recommendations())
    assert [r[6] for r in rows] == [counts[r.code].states for r in recs.all_recommendations()]


def test_the_registry_page_costs_the_same_queries_however_many_states_answered(
    secretariat, focal_point_a, submitted_a, parties, version
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from questionnaire.services import response_get_or_create

    client = client_for(secretariat)
    url = reverse("reviews:registry")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for state in parties[2:6]:
        fp = MembershipFactory(role=Role.FOCAL_POINT, state=state).user
        submit(response_get_or_create(state=state, version=version, due_date=None), fp)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few) <= 8  # the request's 3-6, the counts, the user's States for their offers
