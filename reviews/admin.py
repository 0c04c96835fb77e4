from django.contrib import admin

from .models import (
    DeadlineExtension,
    DrawEvent,
    ExpertAppointment,
    FocalPointAppointment,
    Job,
    ReminderSent,
    ReviewCycle,
    ReviewerAssignment,
    ReviewGroup,
    StatusChange,
)


class ReviewerAssignmentInline(admin.TabularInline):
    model = ReviewerAssignment
    extra = 0
    can_delete = False
    readonly_fields = ("review", "reviewing_state", "slot")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ReviewCycle)
class ReviewCycleAdmin(admin.ModelAdmin):
    """Cycles are launched through the launch page, which runs the draw."""

    list_display = ("cluster", "year", "launched_at", "launched_by", "draw_seed")
    readonly_fields = [f.name for f in ReviewCycle._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("kind", "status", "progress", "requested_by", "created_at", "finished_at", "attempts")
    list_filter = ("kind", "status")
    readonly_fields = [f.name for f in Job._meta.fields]

    def has_add_permission(self, request):
        return False


class RecordAdmin(admin.ModelAdmin):
    """Rows of record: read in the admin, never written there (services write them)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DrawEvent)
class DrawEventAdmin(RecordAdmin):
    list_display = ("at", "kind", "cycle", "review", "previous_state", "new_state", "seed", "by")
    list_filter = ("kind",)


@admin.register(StatusChange)
class StatusChangeAdmin(RecordAdmin):
    list_display = ("at", "review", "source", "target", "by")
    list_filter = ("target",)


@admin.register(DeadlineExtension)
class DeadlineExtensionAdmin(RecordAdmin):
    list_display = ("granted_at", "review", "step", "previous_due_date", "due_date", "granted_by")


@admin.register(ReminderSent)
class ReminderSentAdmin(RecordAdmin):
    list_display = ("sent_at", "review", "step", "kind", "recipient", "due_date")
    list_filter = ("step", "kind")


@admin.register(FocalPointAppointment)
class FocalPointAppointmentAdmin(RecordAdmin):
    list_display = ("review", "state", "user", "appointed_by", "appointed_at", "ended_at")


@admin.register(ExpertAppointment)
class ExpertAppointmentAdmin(RecordAdmin):
    list_display = ("assignment", "user", "appointed_by", "appointed_at", "ended_at")


@admin.register(ReviewGroup)
class ReviewGroupAdmin(RecordAdmin):
    list_display = ("number", "start_year")
