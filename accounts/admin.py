from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts import flows, invitations, signup
from accounts.adapter import refuse_at_sign
from accounts.forms import InviteForm
from accounts.models import Invitation, Membership, User
from audit.events import Kind, record


class MembershipInline(admin.TabularInline):
    """An organization's members, read-only. Inviting, removing and changing roles
    happen on the organization's page, where the rules apply (members accept an
    invitation; an organization keeps an administrator) and each change is audited:
    an edit here would skip both."""

    model = Membership
    fk_name = "organization"
    extra = 0
    fields = ["member", "role", "accepted", "created"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class UserCreationForm(AdminUserCreationForm):
    def clean_username(self):
        username = super().clean_username()
        refuse_at_sign(username)
        return username


class UserEditForm(UserChangeForm):
    def clean_username(self):
        username = self.cleaned_data["username"]
        if "username" in self.changed_data:
            refuse_at_sign(username)
        return username


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    # Clearing "active" stops every key the user holds at their next use.
    fieldsets = [
        *BaseUserAdmin.fieldsets,
        (_("Notifications"), {"fields": ["notify_key_events", "allow_contact"]}),
    ]
    list_display = ["username", "email", "is_organization", "is_active", "is_staff", "date_joined"]
    list_filter = ["is_organization", "is_active", "is_staff", "is_superuser"]
    change_list_template = "admin/accounts/user/change_list.html"
    add_form = UserCreationForm
    form = UserEditForm

    def get_inlines(self, request, obj):
        return [MembershipInline] if obj is not None and obj.is_organization else []

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "members_page"] if obj is not None and obj.is_organization else fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and obj.is_organization:
            fieldsets = [(_("Members"), {"fields": ["members_page"]}), *fieldsets]
        return fieldsets

    @admin.display(description=_("members"))
    def members_page(self, organization):
        return format_html(
            '{} <a href="{}">{}</a>',
            _(
                "Members are invited, removed and given roles by the organization's "
                "administrators, on its page."
            ),
            reverse("organization", args=[organization.username]),
            _("Open the organization's page"),
        )

    def get_actions(self, request):
        # Deleting in bulk would skip the rule below and the audit record.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None):
        """An account that alone owns a package or administers an organization cannot
        be deleted, here as on its own settings page: nobody would be left to manage them."""
        if obj is not None and flows.deletion_blockers(obj):
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        record(Kind.ACCOUNT_DELETED, request=request, actor=request.user, account=obj.username)
        super().delete_model(request, obj)

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
