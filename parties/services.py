"""Inviting people to a role, and accepting an invitation."""

from __future__ import annotations

import datetime
import hashlib
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Invitation, Membership, SignInSession, State
from .permissions import roles_of

Role = Membership.Role


class InvitationError(Exception):
    pass


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def may_invite(user, role: str, state: State | None) -> bool:
    """The secretariat invites anyone; a focal point invites contributors of its State."""
    roles = roles_of(user)
    if roles.secretariat:
        return True
    return role == Role.CONTRIBUTOR and state is not None and roles.has(state.pk, Role.FOCAL_POINT)


@transaction.atomic
def invitation_create(*, email: str, role: str, state: State | None, by, accept_url_for) -> Invitation:
    """Create an invitation and e-mail its link (after commit). ``accept_url_for``
    turns the secret token into an absolute URL."""
    if not may_invite(by, role, state):
        raise PermissionDenied
    if (role == Role.SECRETARIAT) != (state is None):
        raise InvitationError(_("Secretariat invitations have no State; every other role needs one."))
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        email=email.strip().lower(),
        role=role,
        state=state,
        token_hash=_hash(token),
        invited_by=by,
        expires_at=timezone.now() + datetime.timedelta(days=settings.INVITATION_VALID_DAYS),
    )
    url = accept_url_for(token)
    body = render_to_string(
        "parties/invitation_email.txt",
        {"invitation": invitation, "url": url, "days": settings.INVITATION_VALID_DAYS},
    )
    transaction.on_commit(
        lambda: send_mail(_("Invitation to the Firearms Protocol review platform"), body, None, [invitation.email])
    )
    return invitation


def invitation_for_token(token: str) -> Invitation:
    invitation = Invitation.objects.select_related("state").filter(token_hash=_hash(token)).first()
    if invitation is None:
        raise InvitationError(_("This invitation link is not valid."))
    if invitation.accepted_at:
        raise InvitationError(_("This invitation has already been used. Sign in instead."))
    if invitation.expires_at <= timezone.now():
        raise InvitationError(_("This invitation link has expired. Ask the person who invited you for a new one."))
    return invitation


def account_exists(invitation: Invitation) -> bool:
    return get_user_model().objects.filter(username=invitation.email).exists()


def _accept(invitation: Invitation, user) -> None:
    Membership.objects.get_or_create(user=user, state=invitation.state, role=invitation.role, is_active=True)
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])


def _locked_open_invitation(token: str) -> Invitation:
    invitation = invitation_for_token(token)
    # Lock so the same link cannot be used twice from two tabs.
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at:
        raise InvitationError(_("This invitation has already been used. Sign in instead."))
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, first_name: str, last_name: str, password: str):
    """Create the account the invitation is for, with its role."""
    invitation = _locked_open_invitation(token)
    if account_exists(invitation):
        raise InvitationError(_("An account with this e-mail address exists already: sign in, then open the link again."))
    User = get_user_model()
    user = User(username=invitation.email, email=invitation.email, first_name=first_name, last_name=last_name)
    validate_password(password, user)
    user.set_password(password)
    user.save()
    _accept(invitation, user)
    return user


@transaction.atomic
def invitation_accept_signed_in(*, token: str, user) -> None:
    """Add the invitation's role to the signed-in account it was sent to."""
    invitation = _locked_open_invitation(token)
    if user.username.lower() != invitation.email:
        raise InvitationError(_("This invitation was sent to another e-mail address than the one you are signed in with."))
    _accept(invitation, user)


# --- Accounts and sessions --------------------------------------------------------


def sessions_end_all(*, user, keep_session_key: str | None = None) -> int:
    """End every session of ``user`` (but ``keep_session_key``, the caller's own,
    when given); returns how many ended. Each session row names its person
    (parties.models.SignInSession), so this reaches every session, also one that
    allauth's list of sessions does not know."""
    from allauth.usersessions.models import UserSession

    keep = keep_session_key or ""
    with transaction.atomic():
        rows = SignInSession.objects.filter(user_id=user.pk).exclude(session_key=keep)
        listed = UserSession.objects.filter(user_id=user.pk).exclude(session_key=keep)
        ended = {*rows.values_list("session_key", flat=True), *listed.values_list("session_key", flat=True)}
        SignInSession.objects.filter(session_key__in=ended).delete()
        listed.delete()
    return len(ended)


def sessions_clear_expired() -> int:
    """Delete the sessions past their expiry (what ``manage.py clearsessions`` does),
    with allauth's records of them; returns how many. Run daily by beat."""
    from allauth.usersessions.models import UserSession

    with transaction.atomic():
        keys = list(SignInSession.objects.filter(expire_date__lt=timezone.now()).values_list("session_key", flat=True))
        SignInSession.objects.filter(session_key__in=keys).delete()
        UserSession.objects.filter(session_key__in=keys).delete()
    return len(keys)
