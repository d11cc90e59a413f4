from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from packages import lifecycle
from packages.models import (
    AbuseReport,
    Advisory,
    PackageRegistration,
    PackageVersion,
    ReservedPrefix,
)
from packages.upstreams import cache as upstream_cache
from packages.upstreams import rules as upstream_rules
from packages.upstreams.models import (
    BlockedUpstreamVersion,
    CachedUpstreamVersion,
    UpstreamAllowance,
)


class DeleteForGoodForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept in the audit log, e.g. “malware” or “leaked secret”."),
    )


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
    """Packages, read-only. Owners are added (by a request the new owner accepts) and
    removed on Manage packages, where a package keeps an owner and each change is
    audited; packages arrive by push. An edit here would skip both."""

    list_display = ["package_id", "created"]
    search_fields = ["package_id", "owners__username"]
    fields = ["package_id", "owner_list", "created"]
    readonly_fields = fields
    inlines = [PackageVersionInline]

    def has_add_permission(self, request):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("owners")

    @admin.display(description=_("owners"))
    def owner_list(self, registration):
        owners = format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            (
                (reverse("admin:accounts_user_change", args=[owner.pk]), owner.username)
                for owner in registration.owners.all()
            ),
        )
        return format_html(
            '{}<br>{} <a href="{}">{}</a>',
            owners,
            _("Owners are added and removed by the package's owners, on Manage packages."),
            reverse("package_detail", args=[registration.package_id]),
            _("View the Package Page"),
        )

    def has_delete_permission(self, request, obj=None):
        # Deleting a registration would drop its versions' rows without their
        # files or an audit record; versions are deleted one by one, for good.
        return False


@admin.register(PackageVersion)
class PackageVersionAdmin(admin.ModelAdmin):
    list_display = ["registration", "version", "listed", "created", "pushed_by"]
    list_filter = ["listed"]
    search_fields = ["registration__package_id", "version"]
    list_select_related = ["registration", "pushed_by"]
    # Listing changes go through the actions below, which are audited.
    readonly_fields = [f.name for f in PackageVersion._meta.fields]
    actions = ["unlist", "relist", "delete_for_good"]

    def has_add_permission(self, request):
        return False  # versions arrive through the publish API only

    def _set_listed(self, request, queryset, listed: bool):
        actor = lifecycle.Actor.of_session(request, lifecycle.Channel.ADMIN)
        changed = sum(
            lifecycle.set_listed(actor, version, listed)
            for version in queryset.filter(listed=not listed)
        )
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

    def has_delete_permission(self, request, obj=None):
        # Django's own delete would leave the files behind and record nothing:
        # "Delete for good" below is the only way.
        return False

    def has_delete_for_good_permission(self, request):
        return request.user.has_perm("packages.delete_packageversion")

    @admin.action(
        description=_("Delete selected versions for good"), permissions=["delete_for_good"]
    )
    def delete_for_good(self, request, queryset):
        """For malware or a leaked secret: the row, its files and caches, audited."""
        versions = list(queryset.select_related("registration"))
        form = DeleteForGoodForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            actor = lifecycle.Actor.of_session(request, lifecycle.Channel.ADMIN)
            for version in versions:
                lifecycle.delete_version(actor, version, form.cleaned_data["reason"])
            self.message_user(
                request,
                ngettext(
                    "%(count)d version was deleted for good.",
                    "%(count)d versions were deleted for good.",
                    len(versions),
                )
                % {"count": len(versions)},
                messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Delete package versions for good"),
            "versions": versions,
            "form": form,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return render(request, "admin/packages/packageversion/delete_for_good.html", context)


@admin.register(ReservedPrefix)
class ReservedPrefixAdmin(admin.ModelAdmin):
    """nuget.org's ID prefix reservation: nobody but the owner may push a new id under it."""

    list_display = ["prefix", "owner", "created"]
    search_fields = ["prefix", "owner__username"]
    autocomplete_fields = ["owner"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows their own module writes (a report, an import): shown, never changed here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AbuseReport)
class AbuseReportAdmin(ReadOnlyAdmin):
    """Reports made on the ReportAbuse page, as they were sent: read-only (the answer
    to one, such as deleting the version for good, is an action of its own)."""

    list_display = ["created", "package_id", "version", "reason", "reporter_email"]
    list_filter = ["reason"]
    search_fields = ["package_id", "reporter_email", "reporter__username"]
    date_hierarchy = "created"
    readonly_fields = [
        "created",
        "package_id",
        "version",
        "package_version",
        "reason",
        "message",
        "reporter",
        "reporter_email",
        "ip_address",
    ]
    fields = readonly_fields


@admin.register(Advisory)
class AdvisoryAdmin(ReadOnlyAdmin):
    """Security advisories as the last `import_advisories` left them: read-only (the
    import owns them; a withdrawn one stays, marked, and is no longer served)."""

    list_display = ["advisory_id", "package_id", "severity", "withdrawn", "imported"]
    list_filter = ["severity", "withdrawn"]
    search_fields = ["advisory_id", "normalized_id"]
    readonly_fields = [
        "advisory_id",
        "package_id",
        "url",
        "severity",
        "ranges",
        "withdrawn",
        "modified",
        "imported",
    ]
    fields = readonly_fields


@admin.register(CachedUpstreamVersion)
class CachedUpstreamVersionAdmin(admin.ModelAdmin):
    """Versions cached from the upstreams (packages/upstreams/): blocked (never served
    again, files removed, audited) or their id's metadata read again."""

    list_display = ["registration", "version", "upstream", "created", "size", "download_count"]
    list_filter = ["upstream", "listed", "listing_set_here"]
    search_fields = ["registration__package_id", "version"]
    list_select_related = ["registration"]
    readonly_fields = [f.name for f in PackageVersion._meta.fields]
    actions = ["block", "refresh"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_block_permission(self, request):
        return request.user.has_perm("packages.delete_packageversion")

    @admin.action(description=_("Block selected upstream versions"), permissions=["block"])
    def block(self, request, queryset):
        actor = lifecycle.Actor.of_session(request, lifecycle.Channel.ADMIN)
        blocked = sum(
            lifecycle.block_upstream_version(actor, version, "blocked by an administrator")
            for version in queryset.select_related("registration")
        )
        self.message_user(
            request,
            ngettext("%(count)d version blocked.", "%(count)d versions blocked.", blocked)
            % {"count": blocked},
            messages.SUCCESS,
        )

    @admin.action(description=_("Refresh the metadata of the selected packages"))
    def refresh(self, request, queryset):
        ids = set(queryset.values_list("registration__normalized_id", flat=True))
        failed = [
            package_id for package_id in sorted(ids) if not upstream_cache.refresh(package_id)
        ]
        if failed:
            self.message_user(
                request,
                _("The upstreams did not answer for: %(ids)s") % {"ids": ", ".join(failed)},
                messages.WARNING,
            )
        else:
            self.message_user(request, _("Metadata refreshed."), messages.SUCCESS)


@admin.register(UpstreamAllowance)
class UpstreamAllowanceAdmin(admin.ModelAdmin):
    """Ids Galley also has that may take upstream versions anyway (audited)."""

    list_display = ["package_id", "created_by", "created"]
    search_fields = ["package_id"]
    fields = ["package_id", "reason"]

    def save_model(self, request, obj, form, change):
        upstream_rules.allow(obj, request)


@admin.register(BlockedUpstreamVersion)
class BlockedUpstreamVersionAdmin(admin.ModelAdmin):
    list_display = ["normalized_id", "normalized_version", "reason", "created"]
    search_fields = ["normalized_id"]
