"""States parties, UN regional groups, and the people who act for them.

This app imports nothing from the other apps of the project: instruments are named
by their code (``"firearms_protocol"``) so that the Convention or another Protocol
can be added as data.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class State(models.Model):
    class RegionalGroup(models.TextChoices):
        AFRICAN = "african", _("African States")
        ASIA_PACIFIC = "asia_pacific", _("Asia-Pacific States")
        EASTERN_EUROPEAN = "eastern_european", _("Eastern European States")
        LATIN_AMERICAN_CARIBBEAN = "latin_american_caribbean", _("Latin American and Caribbean States")
        WESTERN_EUROPEAN_OTHERS = "western_european_others", _("Western European and other States")

    class Kind(models.TextChoices):
        MEMBER_STATE = "member_state", _("UN Member State")
        REIO = "reio", _("Regional economic integration organization")

    iso3 = models.CharField(_("ISO code"), max_length=3, unique=True)
    iso2 = models.CharField(max_length=2, unique=True)
    # Translated into the six UN languages through modeltranslation (translation.py).
    name = models.CharField(_("name"), max_length=200)
    regional_group = models.CharField(
        _("regional group"), max_length=32, choices=RegionalGroup.choices, blank=True
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.MEMBER_STATE)

    class Meta:
        ordering = ["name"]
        verbose_name = _("State")
        verbose_name_plural = _("States")

    def __str__(self) -> str:
        return self.name


class TreatyStatus(models.Model):
    """Whether a State is party to an instrument (named by code)."""

    class Status(models.TextChoices):
        PARTY = "party", _("Party")
        SIGNATORY = "signatory", _("Signatory")
        NONE = "none", _("Not a party")

    state = models.ForeignKey(State, on_delete=models.CASCADE, related_name="treaty_statuses")
    instrument_code = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["state", "instrument_code"], name="one_status_per_instrument")
        ]

    def __str__(self) -> str:
        return f"{self.state} / {self.instrument_code}: {self.status}"


class Membership(models.Model):
    """A person's role. Focal points, contributors, reviewers and observers act for
    one State; secretariat staff act for none."""

    class Role(models.TextChoices):
        FOCAL_POINT = "focal_point", _("Focal point")
        CONTRIBUTOR = "contributor", _("Contributor")
        REVIEWER = "reviewer", _("Reviewer (governmental expert)")
        OBSERVER = "observer", _("Observer")
        SECRETARIAT = "secretariat", _("Secretariat")

    STATE_ROLES = (Role.FOCAL_POINT, Role.CONTRIBUTOR, Role.REVIEWER, Role.OBSERVER)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    state = models.ForeignKey(State, on_delete=models.PROTECT, null=True, blank=True, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(role="secretariat", state__isnull=True) | (~Q(role="secretariat") & Q(state__isnull=False)),
                name="state_iff_not_secretariat",
            ),
            models.UniqueConstraint(
                fields=["user", "state", "role"], condition=Q(is_active=True), name="one_active_membership_per_role"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()}" + (f" ({self.state})" if self.state_id else "")


class Invitation(models.Model):
    """An e-mailed link that creates an account with one role. Only a hash of the
    token is stored, so a database leak does not leak working links."""

    email = models.EmailField(_("e-mail"))
    role = models.CharField(_("role"), max_length=16, choices=Membership.Role.choices)
    state = models.ForeignKey(State, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("State"))
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} as {self.get_role_display()}"


class SignInSession(AbstractBaseSession):
    """Django's session row with the id of the person signed in it
    (config.sessions.SessionStore): a request reads its session, that person and
    their roles in one statement; deleting a person ends their sessions."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )

    class Meta(AbstractBaseSession.Meta):
        verbose_name = _("sign-in session")
        verbose_name_plural = _("sign-in sessions")

    @classmethod
    def get_session_store_class(cls):
        from config.sessions import SessionStore

        return SessionStore
