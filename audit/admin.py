from django.contrib import admin

from audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the trail is written by the application and never edited."""

    list_display = [
        "created",
        "kind",
        "user",
        "actor_name",
        "key_name",
        "key_hint",
        "package_id",
        "package_version",
        "ip_address",
    ]
    list_filter = ["kind"]
    search_fields = [
        "user__username",
        "actor_name",
        "key_hint",
        "key_name",
        "package_id",
        "ip_address",
    ]
    list_select_related = ["user"]
    date_hierarchy = "created"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
