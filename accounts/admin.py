from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    # Clearing "active" stops every key the user holds at their next use.
    fieldsets = [
        *BaseUserAdmin.fieldsets,
        (_("Notifications"), {"fields": ["notify_key_events"]}),
    ]
    list_filter = ["is_active", "is_staff", "is_superuser"]
