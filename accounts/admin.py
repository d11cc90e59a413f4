from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext_lazy as _

from accounts import invitations, signup
from accounts.forms import InviteForm
from accounts.models import Invitation, Membership, User


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
    change_list_template = "admin/accounts/user/change_list.html"

    def get_inlines(self, request, obj):
        return [MembershipInline] if obj is not None and obj.is_organization else []

    def get_urls(self):
        return [
            path(
                "invite/",
                self.admin_site.admin_view(self.invite_view),
                name="accounts_user_invite",
            ),
            *super().get_urls(),
        ]

    def invite_view(self, request):
        """Invite a user by e-mail: how people get an account when GALLEY_SIGNUP is closed."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = InviteForm(request.POST or None)
        if form.is_valid():
            invitations.invite(request, form.cleaned_data["email"])
            self.message_user(
                request,
                _("An invitation was sent to %(email)s.") % {"email": form.cleaned_data["email"]},
                messages.SUCCESS,
            )
            return redirect("admin:accounts_user_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": _("Invite a user"),
            "opts": self.model._meta,
            "form": form,
            "signup_closed": not signup.is_open(),
            "pending": Invitation.objects.pending().select_related("invited_by"),
        }
        return render(request, "admin/accounts/user/invite.html", context)


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Sent invitations, read-only: new ones come from "Invite a user"."""

    list_display = ["email", "invited_by", "created", "expires", "accepted_at", "user"]
    search_fields = ["email", "invited_by__username", "user__username"]
    list_select_related = ["invited_by", "user"]
    readonly_fields = list_display

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
