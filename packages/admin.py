from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from audit.events import Kind, record
from packages.models import PackageRegistration, PackageVersion


class PackageVersionInline(admin.TabularInline):
    model = PackageVersion
    fields = [
        "version",
        "listed",
        "created",
        "size",
        "pushed_by",
        "pushed_with_key_name",
        "pushed_with_key_hint",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PackageRegistration)
class PackageRegistrationAdmin(admin.ModelAdmin):
    list_display = ["package_id", "created"]
    search_fields = ["package_id", "owners__username"]
    filter_horizontal = ["owners"]
    readonly_fields = ["created"]
    inlines = [PackageVersionInline]


@admin.register(PackageVersion)
class PackageVersionAdmin(admin.ModelAdmin):
    list_display = ["registration", "version", "listed", "created", "pushed_by"]
    list_filter = ["listed"]
    search_fields = ["registration__package_id", "version"]
    list_select_related = ["registration", "pushed_by"]
    readonly_fields = [f.name for f in PackageVersion._meta.fields if f.name != "listed"]
    actions = ["unlist", "relist"]

    def has_add_permission(self, request):
        return False  # versions arrive through the publish API only

    def _set_listed(self, request, queryset, listed: bool):
        changed = 0
        for version in queryset.select_related("registration").filter(listed=not listed):
            version.listed = listed
            version.save(update_fields=["listed"])
            record(
                Kind.PACKAGE_RELISTED if listed else Kind.PACKAGE_UNLISTED,
                request=request,
                package_id=version.registration.package_id,
                package_version=version.version,
            )
            changed += 1
        self.message_user(
            request,
            ngettext("%(count)d version changed.", "%(count)d versions changed.", changed)
            % {"count": changed},
            messages.SUCCESS,
        )

    @admin.action(description=_("Unlist selected versions"), permissions=["change"])
    def unlist(self, request, queryset):
        self._set_listed(request, queryset, listed=False)

    @admin.action(description=_("Relist selected versions"), permissions=["change"])
    def relist(self, request, queryset):
        self._set_listed(request, queryset, listed=True)
