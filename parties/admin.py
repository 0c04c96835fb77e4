from django.contrib import admin
from modeltranslation.admin import TranslationAdmin

from .models import Invitation, Membership, State, TreatyStatus


class TreatyStatusInline(admin.TabularInline):
    model = TreatyStatus
    extra = 0


@admin.register(State)
class StateAdmin(TranslationAdmin):
    list_display = ("name", "iso3", "regional_group", "kind")
    list_filter = ("regional_group", "kind", "treaty_statuses__status")
    search_fields = ("name", "iso3", "iso2")
    inlines = [TreatyStatusInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "state", "is_active", "created_at")
    list_filter = ("role", "is_active")
    search_fields = ("user__username", "user__email", "state__name")
    autocomplete_fields = ("state",)
    raw_id_fields = ("user",)


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("email", "role", "state", "created_at", "expires_at", "accepted_at")
    list_filter = ("role",)
    search_fields = ("email",)
    # Invitations are created through the invitation page, which e-mails the link.
    readonly_fields = [f.name for f in Invitation._meta.fields]

    def has_add_permission(self, request):
        return False
