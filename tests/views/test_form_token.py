"""The form token an open answering page fetches after its person signed in again
(config.views.form_token, used by static/js/answer.js)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.signin import sign_in

from .conftest import stored_answers

pytestmark = pytest.mark.django_db


def test_it_gives_the_signed_in_person_a_token_that_their_next_save_is_accepted_with(focal_point_a, response_a):
    client = Client(enforce_csrf_checks=True)
    sign_in(client, focal_point_a)

    reply = client.get(reverse("form_token"), headers={"HX-Request": "true"})

    assert reply.status_code == 200
    assert reply["Content-Type"] == "application/json"
    assert "no-store" in reply["Cache-Control"]
    assert "Access-Control-Allow-Origin" not in reply
    token = reply.json()["token"]
    saved = client.post(
        reverse("questionnaire:answer_save", args=[response_a.pk, "FP-5.1.a.explanation"]),
        {"FP-5.1.a.explanation": "Saved with the fetched token", "rev-FP-5.1.a.explanation": "0"},
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )
    assert saved.status_code == 200
    assert stored_answers(response_a)["FP-5.1.a.explanation"] == ("Saved with the fetched token", 1)


def test_a_stale_token_is_refused_and_the_fetched_one_is_not(focal_point_a, response_a):
    client = Client(enforce_csrf_checks=True)
    sign_in(client, focal_point_a)
    url = reverse("questionnaire:answer_save", args=[response_a.pk, "FP-5.1.a.explanation"])
    data = {"FP-5.1.a.explanation": "After signing in again", "rev-FP-5.1.a.explanation": "0"}

    stale = client.post(url, data, headers={"X-CSRFToken": "x" * 64, "HX-Request": "true"})
    fresh = client.get(reverse("form_token"), headers={"HX-Request": "true"}).json()["token"]
    again = client.post(url, data, headers={"X-CSRFToken": fresh, "HX-Request": "true"})

    assert (stale.status_code, again.status_code) == (403, 200)


def test_it_answers_401_to_a_page_whose_person_is_signed_out_and_sends_to_sign_in_otherwise(db):
    client = Client()

    assert client.get(reverse("form_token"), headers={"HX-Request": "true"}).status_code == 401
    page = client.get(reverse("form_token"))
    assert page.status_code == 302 and page["Location"].startswith(reverse("account_login"))


def test_it_only_answers_get(focal_point_a):
    client = Client()
    sign_in(client, focal_point_a)

    assert client.post(reverse("form_token")).status_code == 405
