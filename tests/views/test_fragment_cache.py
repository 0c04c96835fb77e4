"""Fragments of pages kept per process ({% cache ... using="fragments" %}: the
navigation, the language choice, the articles' list of the answering pages) are
kept per language, roles and response, so that nobody sees another person's,
another language's or another response's links."""

from __future__ import annotations

import re

import pytest
from django.core.cache import caches
from django.urls import reverse

from questionnaire.services import response_get_or_create

from .conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def kept_fragments():
    # The fragments are kept between the requests of a test (what is tested); not
    # from one test to the next.
    caches["fragments"].clear()
    yield caches["fragments"]
    caches["fragments"].clear()


def _nav(page) -> str:
    return re.search(r'<ul class="navbar-nav me-auto">.*?</ul>', page.content.decode(), re.S).group(0)


def test_the_navigation_is_kept_per_roles(secretariat, focal_point_a, kept_fragments):
    as_secretariat = _nav(client_for(secretariat).get(reverse("home")))
    as_focal_point = _nav(client_for(focal_point_a).get(reverse("home")))
    again = _nav(client_for(secretariat).get(reverse("home")))

    assert "Audit log" in as_secretariat and "Audit log" in again
    assert "Audit log" not in as_focal_point and "Invite people" in as_focal_point


def test_the_navigation_and_the_language_choice_are_kept_per_language(focal_point_a):
    client = client_for(focal_point_a)
    english = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    french = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    arabic = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="ar").content.decode()

    assert "My work" in english and "Mon travail" in french and "أعمالي" in arabic
    assert '<option value="fr" lang="fr" selected>' in french
    assert '<option value="ar" lang="ar" selected>' in arabic and '<option value="fr" lang="fr" selected>' not in arabic
    assert 'dir="rtl"' in arabic


def test_the_articles_list_is_kept_per_response_page_and_language(focal_point_a, focal_point_b, response_a, state_b, version):
    response_b = response_get_or_create(state=state_b, version=version, due_date=None)
    a5 = client_for(focal_point_a).get(reverse("questionnaire:article", args=[response_a.pk, 5])).content.decode()
    a_all = client_for(focal_point_a).get(reverse("questionnaire:cluster", args=[response_a.pk])).content.decode()
    b5 = client_for(focal_point_b).get(reverse("questionnaire:article", args=[response_b.pk, 5])).content.decode()
    a5_fr = client_for(focal_point_a).get(
        reverse("questionnaire:article", args=[response_a.pk, 5]), HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()

    assert reverse("questionnaire:cluster", args=[response_a.pk]) in a5
    assert reverse("questionnaire:cluster", args=[response_b.pk]) in b5
    assert f"/responses/{response_a.pk}/" not in b5
    assert '<strong aria-current="page">Article 5.' in a5
    assert '<strong aria-current="page">All articles on one page</strong>' in a_all
    assert reverse("questionnaire:article", args=[response_a.pk, 5]) in a_all  # no article is the current one there
    assert "Tous les articles sur une seule page" in a5_fr
