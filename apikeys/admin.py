from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_post_parameters

from apikeys import flows, leaks
from apikeys.models import ApiKey, RevocationSource


class StatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [
            ("active", _("Active")),
            (
                "expiring",
                ngettext(
                    "Expiring within %(days)d day",
                    "Expiring within %(days)d days",
                    ApiKey.EXPIRY_WARNING_DAYS,
                )
                % {"days": ApiKey.EXPIRY_WARNING_DAYS},
            ),
            ("expired", _("Expired")),
            ("revoked", _("Revoked")),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        match self.value():
            case "active":
                return queryset.active(now)
            case "expiring":
                return queryset.active(now).filter(
                    expires__lte=now + timedelta(days=ApiKey.EXPIRY_WARNING_DAYS)
                )
            case "expired":
                return queryset.filter(revoked_at__isnull=True, expires__lte=now)
            case "revoked":
                return queryset.filter(revoked_at__isnull=False)
        return queryset


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The holders receive this reason by e-mail."),
    )


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "hint_display",
        "holder",
        "owner",
        "status_display",
        "created",
        "expires",
        "last_used",
    ]
    list_filter = [StatusFilter, "revocation_source"]
    search_fields = ["name", "hint", "holder__username", "holder__email", "owner__username"]
    list_select_related = ["holder", "owner"]
    readonly_fields = [
        "holder",
        "owner",
        "name",
        "hint_display",
        "scopes",
        "glob_patterns",
        "packages",
        "created",
        "expires",
        "expires_in_days",
        "last_used",
        "revoked_at",
        "revoked_by",
        "revocation_source",
        "revocation_reason",
        "revocation_url",
    ]
    actions = ["revoke_selected"]
    change_list_template = "admin/apikeys/apikey/change_list.html"

    def has_add_permission(self, request):
        return False  # keys are created by their holders, who alone see the secret

    def get_fields(self, request, obj=None):
        # The hint identifies a key; its stored hash is of no use to a person and is
        # not shown (readonly_fields lists what there is to see).
        return self.readonly_fields

    def changelist_view(self, request, extra_context=None):
        # The changelist's context does not say whether the user may change keys:
        # the "Revoke leaked keys" link asks here.
        extra_context = {
            **(extra_context or {}),
            "can_revoke_leaked": self.has_change_permission(request),
        }
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("key"), ordering="hint")
    def hint_display(self, key):
        return f"{key.hint}…"

    @admin.display(description=_("status"))
    def status_display(self, key):
        return key.status()

    @admin.action(description=_("Revoke selected keys"), permissions=["change"])
    def revoke_selected(self, request, queryset):
        form = RevokeForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            revoked = sum(
                flows.revoke_key(
                    key,
                    by=request.user,
                    source=RevocationSource.ADMIN,
                    reason=form.cleaned_data["reason"],
                    request=request,
                )
                for key in queryset.select_related("holder", "owner")
            )
            self.message_user(
                request,
                ngettext("%(count)d key was revoked.", "%(count)d keys were revoked.", revoked)
                % {"count": revoked},
                messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Revoke API keys"),
            "keys": queryset.select_related("holder", "owner"),
            "form": form,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return render(request, "admin/apikeys/apikey/revoke.html", context)

    def get_urls(self):
        return [
            path(
                "revoke-leaked/",
                self.admin_site.admin_view(self.revoke_leaked_view),
                name="apikeys_apikey_revoke_leaked",
            ),
            *super().get_urls(),
        ]

    @method_decorator(sensitive_post_parameters("keys"))
    def revoke_leaked_view(self, request):
        """nuget.org's "Revoke leaked keys": paste, check, then revoke in one step."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": _("Revoke leaked keys"),
            "opts": self.model._meta,
        }
        if request.method == "POST" and "revoke" in request.POST:
            form = leaks.RevokeLeakedForm(request.POST)
            if form.is_valid():
                keys = ApiKey.objects.filter(pk__in=form.cleaned_data["keys"]).select_related(
                    "holder", "owner"
                )
                revoked = leaks.revoke(
                    keys,
                    by=request.user,
                    url=form.cleaned_data["url"],
                    reason=form.cleaned_data["reason"],
                    request=request,
                )
                context["revoked"] = revoked
                return render(request, "admin/apikeys/apikey/revoke_leaked_done.html", context)
        paste_form = leaks.PasteForm(
            request.POST if request.method == "POST" and "check" in request.POST else None
        )
        if paste_form.is_bound and paste_form.is_valid():
            context["findings"] = leaks.check(paste_form.cleaned_data["keys"])
            context["revoke_form"] = leaks.RevokeLeakedForm()
            paste_form = leaks.PasteForm()  # the pasted secrets are not sent back
        context["paste_form"] = paste_form
        return render(request, "admin/apikeys/apikey/revoke_leaked.html", context)

    def get_search_results(self, request, queryset, search_term):
        # A pasted hint with its ellipsis ("gly_4fQz…") finds the key too.
        queryset, distinct = super().get_search_results(
            request, queryset, search_term.rstrip("…. ")
        )
        return queryset, distinct
