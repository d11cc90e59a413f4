from django.contrib import admin

from trustedpublishing.models import Policy


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "creator", "owner", "provider", "enabled", "last_exchange"]
    list_filter = ["provider", "enabled"]
    search_fields = ["name", "creator__username", "owner__username", "repository", "project_path"]
    readonly_fields = [
        "creator",
        "owner",
        "pinned_owner_id",
        "pinned_repository_id",
        "created",
        "last_exchange",
        "exchange_count",
    ]

    # Policies change on their creator's page, where every change is audited
    # and revokes what it must; the admin shows them.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
