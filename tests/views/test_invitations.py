"""Inviting people (secretariat: anyone; focal point: contributors of its own
State) and accepting the e-mailed link once, before it expires."""

from __future__ import annotations

import datetime
import hashlib
import re

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from parties.models import Invitation, Membership

from .conftest import db_fingerprint, invite, messages_of
from tests.signin import sign_in

pytestmark = pytest.mark.django_db

Role = Membership.Role
User = get_user_model()
PASSWORD = "violet-harbour-1987"


def send(client, django_capture_on_commit_callbacks, **data):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(reverse("parties:invite"), data)


def link_in(message) -> str:
    found = re.search(r"http://testserver(/people/invitations/[^/\s]+/)", message.body)
    assert found, message.body
    return found.group(1)


def accept(client, link, **overrides):
    data = {"first_name": "Nadia", "last_name": "Newcomer", "password": PASSWORD, "password_again": PASSWORD, **overrides}
    return client.post(link, data)


# --- Sending ----------------------------------------------------------------------------


def test_it_lets_the_secretariat_invite_and_mails_the_link(as_user, secretariat, state_b, django_capture_on_commit_callbacks):
    page = send(as_user(secretariat), django_capture_on_commit_callbacks,
                email="Expert@Example.org", role=Role.REVIEWER, state=state_b.pk)

    assert page.status_code == 302
    assert page["Location"] == reverse("parties:invite")
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role, invitation.state, invitation.invited_by) == (
        "expert@example.org", Role.REVIEWER, state_b, secretariat
    )
    [message] = mail.outbox
    assert message.to == ["expert@example.org"]
    link = link_in(message)
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()  # only the hash is stored
    assert token not in invitation.token_hash
    landing = Client().get(link)
    assert landing.status_code == 200
    assert "expert@example.org" in landing.content.decode()


def test_it_lets_the_secretariat_invite_a_secretariat_member_without_a_state(as_user, secretariat,
                                                                           django_capture_on_commit_callbacks):
    page = send(as_user(secretariat), django_capture_on_commit_callbacks, email="staff@un.org", role=Role.SECRETARIAT, state="")

    assert page.status_code == 302
    assert Invitation.objects.get().state is None
    assert len(mail.outbox) == 1


def test_it_refuses_a_state_role_without_a_state(as_user, secretariat, django_capture_on_commit_callbacks):
    client = as_user(secretariat)
    before = db_fingerprint()

    page = send(client, django_capture_on_commit_callbacks, email="x@example.org", role=Role.REVIEWER, state="")

    assert page.status_code == 200
    assert "Secretariat invitations have no State; every other role needs one." in page.content.decode()
    assert db_fingerprint() == before
    assert mail.outbox == []


def test_it_lets_a_focal_point_invite_a_contributor_of_its_own_state(as_user, focal_point_a, state_a,
                                                                     django_capture_on_commit_callbacks):
    page = send(as_user(focal_point_a), django_capture_on_commit_callbacks,
                email="helper@arcadia.example", role=Role.CONTRIBUTOR, state=state_a.pk)

    assert page.status_code == 302
    invitation = Invitation.objects.get()
    assert (invitation.role, invitation.state, invitation.invited_by) == (Role.CONTRIBUTOR, state_a, focal_point_a)
    assert mail.outbox[0].to == ["helper@arcadia.example"]


@pytest.mark.parametrize(
    ("role", "state_fixture", "error"),
    [
        (Role.REVIEWER, "state_a", "Select a valid choice. reviewer is not one of the available choices."),
        (Role.FOCAL_POINT, "state_a", "Select a valid choice. focal_point is not one of the available choices."),
        (Role.SECRETARIAT, None, "Select a valid choice. secretariat is not one of the available choices."),
        (Role.CONTRIBUTOR, "state_b", "Select a valid choice. That choice is not one of the available choices."),
        (Role.CONTRIBUTOR, None, "This field is required."),
    ],
)
def test_it_refuses_a_focal_point_any_other_invitation(request, as_user, focal_point_a, state_b, role, state_fixture, error,
                                                       django_capture_on_commit_callbacks):
    client = as_user(focal_point_a)
    state = request.getfixturevalue(state_fixture).pk if state_fixture else ""
    before = db_fingerprint()

    page = send(client, django_capture_on_commit_callbacks, email="someone@example.org", role=role, state=state)

    assert page.status_code == 200
    assert error in page.content.decode()
    assert db_fingerprint() == before
    assert mail.outbox == []


@pytest.mark.parametrize("persona", ["contributor_a", "reviewer"])
def test_it_refuses_invitations_to_people_who_may_not_invite(request, as_user, persona, state_a,
                                                           django_capture_on_commit_callbacks):
    client = as_user(request.getfixturevalue(persona))
    before = db_fingerprint()

    assert client.get(reverse("parties:invite")).status_code == 403
    page = send(client, django_capture_on_commit_callbacks, email="friend@example.org", role=Role.CONTRIBUTOR, state=state_a.pk)

    assert page.status_code == 403
    assert db_fingerprint() == before
    assert mail.outbox == []


def test_it_lists_only_a_focal_points_own_invitations(as_user, focal_point_a, focal_point_b, secretariat, state_a, state_b):
    invite(email="mine@example.org", role=Role.CONTRIBUTOR, state=state_a, by=focal_point_a)
    invite(email="theirs@example.org", role=Role.CONTRIBUTOR, state=state_b, by=focal_point_b)

    body = as_user(focal_point_a).get(reverse("parties:invite")).content.decode()

    assert "mine@example.org" in body
    assert "theirs@example.org" not in body


# --- Accepting ---------------------------------------------------------------------------


def test_it_creates_the_account_and_the_role_from_the_link_once(secretariat, state_b):
    invitation, token = invite(email="expert@example.org", role=Role.REVIEWER, state=state_b, by=secretariat)
    link = reverse("parties:accept", args=[token])
    client = Client()

    page = accept(client, link)

    assert page.status_code == 302
    assert page["Location"] == reverse("account_login")
    user = User.objects.get(username="expert@example.org")
    assert (user.email, user.first_name, user.last_name) == ("expert@example.org", "Nadia", "Newcomer")
    assert list(user.memberships.values_list("role", "state", "is_active")) == [(Role.REVIEWER, state_b.pk, True)]
    invitation.refresh_from_db()
    assert invitation.accepted_by == user and invitation.accepted_at is not None
    assert "Your account is ready. Sign in with your e-mail address and password." in messages_of(client.get(page["Location"]))
    assert User.objects.get(username="expert@example.org").check_password(PASSWORD)

    # The link works once.
    before = db_fingerprint()
    again = Client().get(link)
    assert again.status_code == 410
    assert "This invitation has already been used. Sign in instead." in again.content.decode()
    again = accept(Client(), link, first_name="Mallory", password="another-pass-4421", password_again="another-pass-4421")
    assert again.status_code == 410
    assert db_fingerprint() == before
    assert User.objects.get(username="expert@example.org").check_password(PASSWORD)


def test_it_refuses_an_expired_link(secretariat, state_a):
    _invitation, token = invite(email="late@example.org", role=Role.CONTRIBUTOR, state=state_a, by=secretariat)
    link = reverse("parties:accept", args=[token])

    with time_machine.travel(timezone.now() + datetime.timedelta(days=9)):
        assert Client().get(link).status_code == 200  # still valid on day 9

    with time_machine.travel(timezone.now() + datetime.timedelta(days=10, minutes=1)):
        before = db_fingerprint()
        page = Client().get(link)
        assert page.status_code == 410
        assert "This invitation link has expired." in page.content.decode()
        assert accept(Client(), link).status_code == 410
        assert db_fingerprint() == before
    assert not User.objects.filter(username="late@example.org").exists()


def test_it_refuses_an_unknown_link(db):
    page = Client().get(reverse("parties:accept", args=["not-a-real-token"]))

    assert page.status_code == 410
    assert "This invitation link is not valid." in page.content.decode()


@pytest.mark.parametrize(
    ("password", "again", "error"),
    [
        ("password", "password", "This password is too common."),
        ("qwertyuiop", "qwertyuiop", "This password is too common."),
        ("short1", "short1", "This password is too short."),
        (PASSWORD, PASSWORD + "x", "The two passwords differ."),
    ],
)
def test_it_refuses_a_weak_password_and_creates_no_user(secretariat, state_a, password, again, error):
    invitation, token = invite(email="weak@example.org", role=Role.CONTRIBUTOR, state=state_a, by=secretariat)
    link = reverse("parties:accept", args=[token])
    before = db_fingerprint()

    page = accept(Client(), link, password=password, password_again=again)

    assert page.status_code == 200
    assert error in page.content.decode()
    assert db_fingerprint() == before
    # The link still works with a good password.
    assert accept(Client(), link).status_code == 302


def test_it_adds_the_role_to_an_existing_account_only_once_its_owner_signed_in(client, secretariat, state_b, focal_point_b):
    _invitation, token = invite(email=focal_point_b.username, role="reviewer", state=state_b, by=secretariat)
    path = reverse("parties:accept", args=[token])

    response = client.get(path)
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))
    # Knowing the link is not enough to take over the account or add the role.
    client.post(path, {"first_name": "X", "last_name": "Y", "password": "a-new-pass-123", "password_again": "a-new-pass-123"})
    assert not Membership.objects.filter(user=focal_point_b, role="reviewer").exists()
    focal_point_b.refresh_from_db()
    assert not focal_point_b.check_password("a-new-pass-123")

    sign_in(client, focal_point_b)
    assert client.post(path).status_code == 302
    assert Membership.objects.filter(user=focal_point_b, role="reviewer", state=state_b).exists()
    assert Invitation.objects.get().accepted_by == focal_point_b
