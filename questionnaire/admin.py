"""Questionnaire versions are published by the load command and never change, and
a State's answers are never edited by the secretariat: read-only here."""

from django.contrib import admin

from .models import Cluster, Instrument, QuestionnaireVersion, Response


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Instrument)
class InstrumentAdmin(ReadOnlyAdmin):
    list_display = ("short_title", "code")


@admin.register(Cluster)
class ClusterAdmin(ReadOnlyAdmin):
    list_display = ("code", "title", "instrument", "review_period")


@admin.register(QuestionnaireVersion)
class QuestionnaireVersionAdmin(ReadOnlyAdmin):
    list_display = ("cluster", "number", "label", "published_at", "content_hash")
    list_filter = ("cluster",)


@admin.register(Response)
class ResponseAdmin(ReadOnlyAdmin):
    list_display = ("state", "version", "status", "due_date", "submitted_at")
    list_filter = ("status", "version__cluster")
    # Only metadata: the answers themselves are confidential and not shown here.
    fields = ("state", "version", "status", "due_date", "created_at", "submitted_at", "submitted_by")
