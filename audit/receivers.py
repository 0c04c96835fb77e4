"""Events that no service of ours performs: signing in and out (Django's auth
signals, whichever login view sends them), roles granted or removed however the
membership row changes (a service, an invitation, the admin), accounts disabled.

Nothing is imported from the other apps: the membership model is named by its label
and read through its attributes."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from .context import current_actor, current_request
from .models import AuditEvent
from .services import LABEL_MAX, audit_record

Event = AuditEvent.Event
MEMBERSHIP = "parties.Membership"
# The keys a login form may use for the login name; the password is never read.
LOGIN_KEYS = ("username", "email", "login")


@receiver(user_logged_in, dispatch_uid="audit.sign_in")
def audit_sign_in(sender, request, user, **kwargs) -> None:
    audit_record(event=Event.SIGN_IN, actor=user, obj=user, request=request)


@receiver(user_logged_out, dispatch_uid="audit.sign_out")
def audit_sign_out(sender, request, user, **kwargs) -> None:
    if user is None:  # signing out without being signed in
        return
    audit_record(event=Event.SIGN_OUT, actor=user, obj=user, request=request)


@receiver(user_login_failed, dispatch_uid="audit.sign_in_failed")
def audit_sign_in_failed(sender, credentials, request=None, **kwargs) -> None:
    # Django hands the credentials over with the password already masked; only
    # the login name typed is kept, cut to the column's size.
    typed = next((str(credentials[key]) for key in LOGIN_KEYS if credentials.get(key)), "")
    audit_record(event=Event.SIGN_IN_FAILED, actor_label=typed[:LABEL_MAX], request=request)


def _membership_role(membership) -> dict:
    return {"role": membership.role, "state": membership.state_id, "user": membership.user_id}


@receiver(pre_save, sender=MEMBERSHIP, dispatch_uid="audit.membership_before")
def audit_membership_before(sender, instance, raw=False, **kwargs) -> None:
    """The row as stored, to tell a role granted or removed from any other save."""
    stored = None
    if not instance._state.adding and instance.pk is not None:
        stored = sender.objects.filter(pk=instance.pk).values("is_active", "role", "state_id", "user_id").first()
    instance._audit_before = stored and (
        stored["is_active"], {"role": stored["role"], "state": stored["state_id"], "user": stored["user_id"]}
    )


@receiver(post_save, sender=MEMBERSHIP, dispatch_uid="audit.membership_saved")
def audit_membership_saved(sender, instance, created, raw=False, **kwargs) -> None:
    if raw:  # loaddata
        return
    now = _membership_role(instance)
    before = None if created else getattr(instance, "_audit_before", None)
    was_active, then = before if before else (False, None)
    # A role edited in place (another role or State on the same row) is one removed and one granted.
    if was_active and (not instance.is_active or then != now):
        _record_membership(event=Event.ROLE_REMOVED, membership=instance, values=then)
    if instance.is_active and (not was_active or then != now):
        _record_membership(event=Event.ROLE_GRANTED, membership=instance, values=now)


@receiver(post_delete, sender=MEMBERSHIP, dispatch_uid="audit.membership_deleted")
def audit_membership_deleted(sender, instance, **kwargs) -> None:
    if instance.is_active:
        _record_membership(event=Event.ROLE_REMOVED, membership=instance, values=_membership_role(instance))


def _label(user) -> str:
    return (user.email or user.get_username())[:LABEL_MAX]


def _record_membership(*, event: str, membership, values: dict) -> None:
    audit_record(
        event=event,
        actor=current_actor(),
        request=current_request(),
        state=values["state"],
        obj=membership,
        old=None if event == Event.ROLE_GRANTED else values,
        new=values if event == Event.ROLE_GRANTED else None,
        extra={"user": values["user"], "user_label": _label(membership.user), "role": values["role"]},
    )


@receiver(pre_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="audit.account_before")
def audit_account_before(sender, instance, raw=False, **kwargs) -> None:
    update_fields = kwargs.get("update_fields")
    if raw or instance._state.adding or instance.pk is None or (update_fields and "is_active" not in update_fields):
        instance._audit_was_active = None
        return
    instance._audit_was_active = sender.objects.filter(pk=instance.pk).values_list("is_active", flat=True).first()


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="audit.account_saved")
def audit_account_saved(sender, instance, created, raw=False, **kwargs) -> None:
    was = getattr(instance, "_audit_was_active", None)
    if raw or created or was is None or was == instance.is_active:
        return
    audit_record(
        event=Event.ACCOUNT_ENABLED if instance.is_active else Event.ACCOUNT_DISABLED,
        actor=current_actor(),
        request=current_request(),
        obj=instance,
        old={"is_active": was},
        new={"is_active": instance.is_active},
    )
