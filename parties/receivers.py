"""Sign-in bookkeeping that must hold whichever way a session starts (allauth's
form, the admin, a test's force_login) or an account changes (a service, the
admin). Connected in PartiesConfig.ready."""

from __future__ import annotations

import time

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

SIGNED_IN_AT = "signed_in_at"


@receiver(user_logged_in, dispatch_uid="parties.signed_in_at")
def remember_sign_in_time(sender, request, user, **kwargs) -> None:
    # The start of the absolute session lifetime (config.middleware.SignInPolicyMiddleware);
    # login() has just given the session a new key, so nothing older carries over.
    if request is not None and hasattr(request, "session"):
        request.session[SIGNED_IN_AT] = time.time()


@receiver(pre_save, sender=get_user_model(), dispatch_uid="parties.note_deactivation")
def note_deactivation(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    # No query for a save that cannot change is_active (a sign-in's last_login, a new user).
    if raw or instance._state.adding or instance.pk is None or (update_fields and "is_active" not in update_fields):
        instance._was_active = False
        return
    instance._was_active = sender.objects.filter(pk=instance.pk, is_active=True).exists()


@receiver(post_save, sender=get_user_model(), dispatch_uid="parties.end_sessions_of_disabled")
def end_sessions_of_disabled(sender, instance, created, **kwargs) -> None:
    # ASVS 7.4.2: disabling an account (in the admin or by a service) ends every
    # session it has, at once, not only at their next request.
    if not instance.is_active and getattr(instance, "_was_active", False):
        from .services import sessions_end_all

        sessions_end_all(user=instance)
