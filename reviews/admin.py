from django.contrib import admin

from .models import Job, ReviewCycle, ReviewerAssignment


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
