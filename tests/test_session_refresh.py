"""The session is kept alive by use without a database write on every request."""

from __future__ import annotations

import time_machine
from django.urls import reverse
from parties.models import SignInSession
from tests.signin import sign_in


def _expiry(client):
    return SignInSession.objects.get(session_key=client.session.session_key).expire_date


def test_it_slides_the_expiry_at_most_once_per_refresh_period(client, focal_point_a, settings):
    settings.SESSION_REFRESH_SECONDS = 300
    with time_machine.travel("2026-11-25 09:00:00+00:00", tick=False):
        sign_in(client, focal_point_a)
        client.get(reverse("home"))
        first = _expiry(client)
    with time_machine.travel("2026-11-25 09:02:00+00:00", tick=False):
        client.get(reverse("home"))
        assert _expiry(client) == first  # within the period: no write
    with time_machine.travel("2026-11-25 09:06:00+00:00", tick=False):
        client.get(reverse("home"))
        assert (_expiry(client) - first).total_seconds() == 6 * 60  # refreshed
