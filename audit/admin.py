"""The audit log in the admin: read only (the model and the database refuse
changes anyway; the admin offers none)."""

from django.contrib import admin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "event", "actor_label", "state", "object_type", "object_id", "ip")
    list_filter = ("event",)
    search_fields = ("actor_label", "object_repr", "object_id")
    date_hierarchy = "at"
    list_select_related = ("state",)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
