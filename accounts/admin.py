from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, User


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "organization"
    extra = 0
    autocomplete_fields = ["member"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    # Clearing "active" stops every key the user holds at their next use.
    fieldsets = [
        *BaseUserAdmin.fieldsets,
        (_("Notifications"), {"fields": ["notify_key_events"]}),
    ]
    list_display = ["username", "email", "is_organization", "is_active", "is_staff", "date_joined"]
    list_filter = ["is_organization", "is_active", "is_staff", "is_superuser"]

    def get_inlines(self, request, obj):
        return [MembershipInline] if obj is not None and obj.is_organization else []
