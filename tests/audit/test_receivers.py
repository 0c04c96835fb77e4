"""Events no service of ours performs: signing in and out, a failed sign-in, roles
granted or removed however the membership changes (the admin included), an
account disabled. Signing in through the real form (password, then the TOTP code)."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from django.test import Client, RequestFactory
from django.urls import reverse

from audit.models import AuditEvent
from parties.models import Membership
from tests.factories import DEMO_PASSWORD, MembershipFactory, UserFactory
from tests.signin import sign_in, totp_code

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_sign_in_limits")]
Event = AuditEvent.Event
Role = Membership.Role


def events(kind: str):
    return list(AuditEvent.objects.filter(event=kind).order_by("pk"))


def test_it_records_a_sign_in_and_a_sign_out(focal_point_a, totp_secret):
    # The real sign-in: password, then the second factor (the event is the sign-in
    # completed, once, not the password step).
    client = Client(REMOTE_ADDR="198.51.100.4")

    client.post(reverse("account_login"), {"login": focal_point_a.email, "password": DEMO_PASSWORD})
    assert not events(Event.SIGN_IN)
    client.post(reverse("mfa_authenticate"), {"code": totp_code(totp_secret)})
    client.post(reverse("account_logout"))

    (sign_in,) = events(Event.SIGN_IN)
    (sign_out,) = events(Event.SIGN_OUT)
    assert (sign_in.actor, sign_in.actor_label, sign_in.object_id, sign_in.ip) == (
        focal_point_a, focal_point_a.email, str(focal_point_a.pk), "198.51.100.4")
    assert (sign_out.actor, sign_out.at >= sign_in.at) == (focal_point_a, True)


def test_a_wrong_password_on_the_sign_in_form_is_recorded_with_the_login_typed(focal_point_a):
    Client(REMOTE_ADDR="198.51.100.5").post(reverse("account_login"), {"login": focal_point_a.email, "password": "wrong-one"})

    (failed,) = events(Event.SIGN_IN_FAILED)
    assert (failed.actor_label, failed.ip) == (focal_point_a.email, "198.51.100.5")
    assert "wrong-one" not in str(failed.old) + str(failed.new) + str(failed.extra)


def test_signing_out_without_being_signed_in_records_nothing(db):
    Client().logout()
    assert not events(Event.SIGN_OUT)


def test_it_records_a_failed_sign_in_with_the_name_typed_and_never_the_password(focal_point_a):
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="203.0.113.50")

    assert authenticate(request, username="nobody@example.org", password="S3cret-typed-wrong") is None
    assert authenticate(request, username=focal_point_a.username, password="another-wrong-one") is None

    failed = events(Event.SIGN_IN_FAILED)
    assert [(e.actor, e.actor_label, e.ip) for e in failed] == [
        (None, "nobody@example.org", "203.0.113.50"), (None, focal_point_a.username, "203.0.113.50")]
    stored = json.dumps([[e.old, e.new, e.extra, e.actor_label, e.object_repr] for e in failed])
    assert "S3cret" not in stored and "another-wrong" not in stored


def test_it_cuts_a_very_long_login_name(db):
    authenticate(RequestFactory().post("/"), username="x" * 5000, password="wrong")

    (failed,) = events(Event.SIGN_IN_FAILED)
    assert failed.actor_label == "x" * 150


def test_it_records_a_role_granted_removed_and_granted_again(state_a):
    membership = MembershipFactory(role=Role.CONTRIBUTOR, state=state_a)
    membership.is_active = False
    membership.save()
    membership.is_active = True
    membership.save()
    membership.save()  # unchanged: nothing more

    changes = [e for e in AuditEvent.objects.filter(object_type="parties.membership", object_id=str(membership.pk))
               .order_by("pk")]
    assert [e.event for e in changes] == [Event.ROLE_GRANTED, Event.ROLE_REMOVED, Event.ROLE_GRANTED]
    assert changes[0].new == {"role": Role.CONTRIBUTOR, "state": state_a.pk, "user": membership.user_id}
    assert changes[1].old == changes[0].new
    assert {e.state_id for e in changes} == {state_a.pk}
    assert changes[0].extra["user_label"] == membership.user.email


def test_it_records_a_role_removed_when_the_membership_is_deleted(state_a):
    membership = MembershipFactory(role=Role.OBSERVER, state=state_a)
    pk = membership.pk

    membership.delete()

    (removed,) = [e for e in events(Event.ROLE_REMOVED) if e.object_id == str(pk)]
    assert removed.old["role"] == Role.OBSERVER


def test_it_records_a_role_removed_in_the_admin_with_the_admin_as_actor(contributor_a):
    admin = UserFactory(is_staff=True, is_superuser=True)
    membership = contributor_a.memberships.get()
    client = sign_in(Client(), admin)

    page = client.post(
        f"/admin/parties/membership/{membership.pk}/change/",
        {"user": contributor_a.pk, "state": membership.state_id, "role": membership.role, "_save": "Save"},
    )

    assert page.status_code == 302, page.content.decode()[:2000]
    membership.refresh_from_db()
    assert not membership.is_active
    (removed,) = [e for e in events(Event.ROLE_REMOVED) if e.object_id == str(membership.pk)]
    assert (removed.actor, removed.actor_label, removed.ip) == (admin, admin.email, "127.0.0.1")


def test_it_records_an_account_disabled_and_enabled(focal_point_a, secretariat):
    focal_point_a.is_active = False
    focal_point_a.save(update_fields=["is_active"])
    focal_point_a.is_active = True
    focal_point_a.save()
    focal_point_a.first_name = "Renamed"
    focal_point_a.save()  # no change of is_active: nothing

    (disabled,) = events(Event.ACCOUNT_DISABLED)
    (enabled,) = events(Event.ACCOUNT_ENABLED)
    assert (disabled.object_id, disabled.old, disabled.new) == (
        str(focal_point_a.pk), {"is_active": True}, {"is_active": False})
    assert enabled.new == {"is_active": True}


def test_a_login_name_with_a_nul_character_is_still_recorded(db):
    # Django's login form refuses NUL before authenticating; another login view might not.
    user_login_failed.send(sender=__name__, credentials={"username": "admin\x00' OR 1=1", "password": "*" * 20},
                           request=RequestFactory().post("/"))

    (failed,) = events(Event.SIGN_IN_FAILED)
    assert failed.actor_label == "admin\ufffd' OR 1=1"


def test_a_role_edited_in_place_is_one_removed_and_one_granted(state_a, state_b):
    membership = MembershipFactory(role=Role.CONTRIBUTOR, state=state_a)
    membership.role, membership.state = Role.FOCAL_POINT, state_b
    membership.save()

    removed, granted = AuditEvent.objects.filter(
        object_type="parties.membership", object_id=str(membership.pk)).order_by("pk")[1:]
    assert (removed.event, removed.old["role"], removed.state_id) == (Event.ROLE_REMOVED, Role.CONTRIBUTOR, state_a.pk)
    assert (granted.event, granted.new["role"], granted.state_id) == (Event.ROLE_GRANTED, Role.FOCAL_POINT, state_b.pk)


def test_a_membership_created_inactive_grants_nothing(state_a):
    membership = MembershipFactory(role=Role.OBSERVER, state=state_a, is_active=False)

    assert not AuditEvent.objects.filter(object_type="parties.membership", object_id=str(membership.pk)).exists()
