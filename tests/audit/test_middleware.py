"""Failed authorisations are on record (ASVS 16.3.2): a signed-in person refused
an action (403), with what they asked for; a page that does not exist for them
(404) and the anonymous are not."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from tests.views.conftest import client_for

pytestmark = pytest.mark.django_db
REFUSED = AuditEvent.Event.ACCESS_REFUSED


def test_a_contributor_refused_the_submission_is_recorded(contributor_a, response_a):
    page = client_for(contributor_a).post(reverse("questionnaire:submit", args=[response_a.pk]))

    assert page.status_code == 403
    (event,) = AuditEvent.objects.filter(event=REFUSED)
    assert (event.actor, event.ip) == (contributor_a, "127.0.0.1")
    assert event.extra["view"] == "questionnaire:submit"
    assert event.extra["method"] == "POST"
    assert event.extra["arguments"] == {"pk": str(response_a.pk)}


def test_a_focal_point_of_another_state_gets_404_and_no_record(focal_point_b, response_a):
    page = client_for(focal_point_b).get(reverse("questionnaire:response", args=[response_a.pk]))

    assert page.status_code == 404
    assert not AuditEvent.objects.filter(event=REFUSED).exists()


def test_the_secretariat_sees_the_refusal_in_the_log(contributor_a, response_a, secretariat):
    client_for(contributor_a).post(reverse("questionnaire:submit", args=[response_a.pk]))

    page = client_for(secretariat).get(reverse("audit:list"), {"event": REFUSED})

    assert page.status_code == 200
    assert "Access refused" in page.content.decode()
    assert "questionnaire:submit" in page.content.decode()
