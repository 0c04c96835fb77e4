"""The audit log: an append-only record of every business event (ASVS 16.2–16.4).

Modelled on Zulip's RealmAuditLog: who acted (``actor``, with a snapshot of the
login name that still reads after a rename), a typed event code, the State
concerned, the object (named generically, ``app_label.model`` and its id), the
old and new values as JSON and when, in UTC. Nothing here imports the other apps:
they record events through ``audit.services.audit_record``.

Append-only twice: the model and its queryset refuse to change or delete a row,
and the database refuses it too (a trigger, migrations/0002_append_only.py)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    """An audit event may be added, never changed or deleted."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit events cannot be changed")

    def delete(self):
        raise AppendOnlyError("audit events cannot be deleted")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError("audit events cannot be changed")


class AuditEvent(models.Model):
    class Event(models.TextChoices):
        SIGN_IN = "sign_in", _("Signed in")
        SIGN_IN_FAILED = "sign_in_failed", _("Failed sign-in")
        SIGN_OUT = "sign_out", _("Signed out")
        ANSWER_CHANGED = "answer_changed", _("Answer changed")
        RESPONSE_SUBMITTED = "response_submitted", _("Response submitted")
        COMMENT_ADDED = "comment_added", _("Comment added")
        DRAW = "draw", _("Reviewers drawn")
        ROLE_GRANTED = "role_granted", _("Role granted")
        ROLE_REMOVED = "role_removed", _("Role removed")
        EXPORT_DOWNLOADED = "export_downloaded", _("Export downloaded")
        DOCUMENT_VIEWED = "document_viewed", _("Confidential document viewed")
        ACCOUNT_DISABLED = "account_disabled", _("Account disabled")
        ACCOUNT_ENABLED = "account_enabled", _("Account enabled")
        ACCESS_REFUSED = "access_refused", _("Access refused")

    at = models.DateTimeField(_("time (UTC)"), default=timezone.now, db_index=True)
    event = models.CharField(_("event"), max_length=32, choices=Event.choices)
    # Accounts are disabled, never deleted: an actor stays on record.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("actor"),
    )
    # The actor's e-mail (or username) at the time; for a failed sign-in, the login name typed.
    actor_label = models.CharField(_("actor"), max_length=150, blank=True)
    state = models.ForeignKey(
        "parties.State", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("State")
    )
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    old = models.JSONField(_("old value"), null=True, blank=True)
    new = models.JSONField(_("new value"), null=True, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    extra = models.JSONField(_("details"), default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        default_permissions = ("add", "view")
        indexes = [
            models.Index(fields=["event", "-at"], name="audit_event_at"),
            models.Index(fields=["state", "-at"], name="audit_state_at"),
            models.Index(fields=["actor", "-at"], name="audit_actor_at"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.event} {self.actor_label}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("audit events cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit events cannot be deleted")
