from allauth.account.decorators import reauthentication_required
from allauth.account.views import LoginView, LogoutView
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language as django_set_language

from accounts import access, confirmation, invitations, staff_two_factor
from accounts import flows as account_flows
from accounts.forms import (
    AcceptInvitationForm,
    AddMemberForm,
    ContactEmailForm,
    DeleteAccountForm,
    NotificationsForm,
    OrganizationContactForm,
    OrganizationForm,
    RoleForm,
)
from accounts.models import Membership
from accounts.redirects import is_local_path
from audit.models import AuditEvent

_login_view = LoginView.as_view()
log_off = LogoutView.as_view()


@require_POST
def set_language(request):
    """Django's language switcher, remembered on the account of a signed-in user."""
    response = django_set_language(request)
    language = request.POST.get("language")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        get_user_model().objects.filter(pk=request.user.pk).update(language=language)
    return response


def log_on(request):
    """nuget.org's sign-in URL. `returnUrl` (or `next`) is honoured only for a
    local path; anything else is dropped before allauth's form echoes it."""
    query = request.GET.copy()
    target = query.pop("returnUrl", [None])[-1] or query.get("next")
    query.pop("next", None)
    if is_local_path(target):
        query["next"] = target
    request.GET = query
    return _login_view(request)


@login_required
@require_POST
def resend_confirmation(request):
    """Send the confirmation link again; back to the page that offered the button."""
    if confirmation.is_confirmed(request.user):
        messages.info(request, _("Your e-mail address is confirmed already."))
    elif not confirmation.resend(request):
        messages.warning(
            request,
            _("A confirmation link was sent a moment ago. Check your inbox, or try again later."),
        )
    target = request.POST.get("next")
    return redirect(target if is_local_path(target) else "account_settings")


@login_required
def account_settings(request):
    user = request.user
    context = {
        "email_addresses": user.emailaddress_set.order_by("-primary", "email"),
        "mfa_types": set(Authenticator.objects.filter(user=user).values_list("type", flat=True)),
        "delete_form": DeleteAccountForm(user=user),
        "notifications_form": NotificationsForm(instance=user),
    }
    return render(request, "accounts/settings.html", context)


@login_required
@require_POST
def notifications(request):
    form = NotificationsForm(request.POST, instance=request.user)
    if form.is_valid():
        form.save()
        messages.success(request, _("Your notification preferences were saved."))
    return redirect("account_settings")


SECURITY_LOG_LENGTH = 200


@login_required
def security_log(request):
    """The account's audit events, newest first: its own, and those about packages it
    owns or administers (staff read everyone's in the admin)."""
    events = AuditEvent.objects.shown_to(request.user)[:SECURITY_LOG_LENGTH]
    return render(request, "accounts/security_log.html", {"events": events})


@login_required
@require_POST
@reauthentication_required
def delete_account(request):
    form = DeleteAccountForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, form.errors["confirm"][0])
        return redirect("account_settings")
    blockers = account_flows.delete_account(request)
    if blockers:
        messages.error(request, " ".join([_("Your account cannot be deleted yet."), *blockers]))
        return redirect("account_settings")
    messages.success(request, _("Your account has been deleted."))
    return redirect("home")


# Organizations -------------------------------------------------------------


def _membership(request, name: str) -> Membership:
    """The signed-in user's membership of an organization; 404 for outsiders."""
    return access.membership_for(request.user, name)


def _admin_membership(request, name: str) -> Membership:
    """As _membership, and 403 for a member who is not an administrator."""
    return access.membership_for(request.user, name, role=Membership.Role.ADMIN)


@login_required
@require_http_methods(["GET", "POST"])
def organizations(request):
    form = OrganizationForm(request.POST or None)
    confirmed = confirmation.is_confirmed(request.user)
    if request.method == "POST" and not confirmed:
        form.add_error(None, _("Confirm your e-mail address before creating an organization."))
    if request.method == "POST" and form.is_valid():
        try:
            organization = account_flows.create(
                request, form.cleaned_data["name"], form.cleaned_data["contact_email"]
            )
        except IntegrityError:  # taken by another request a moment ago
            form.add_error("name", _("This name is taken."))
        else:
            messages.success(
                request,
                _("The organization %(name)s was created.") % {"name": organization.username},
            )
            return redirect("organization", name=organization.username)
    memberships = access.memberships_with_counts(request.user)
    return render(
        request,
        "accounts/organizations.html",
        {
            "memberships": memberships,
            "invitations": access.invitations_for(request.user),
            "form": form,
            "confirmed": confirmed,
        },
        status=400 if form.errors else 200,
    )


@login_required
def organization(request, name):
    membership = _membership(request, name)
    members = access.members_of(membership.organization)
    return render(
        request,
        "accounts/organization.html",
        {
            "membership": membership,
            "organization": membership.organization,
            "members": members,
            "invited": access.invited_to(membership.organization),
            "add_form": AddMemberForm(),
            "contact_form": ContactEmailForm(
                initial={"contact_email": membership.organization.contact_email}
            ),
            "allow_contact_form": OrganizationContactForm(instance=membership.organization),
            "roles": Membership.Role.choices,
        },
    )


@login_required
@require_POST
def organization_email(request, name):
    """An administrator sets the contact address, or has its link sent again."""
    membership = _admin_membership(request, name)
    form = ContactEmailForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["contact_email"][0])
    elif account_flows.set_contact_email(
        request, membership.organization, form.cleaned_data["contact_email"]
    ):
        messages.success(
            request,
            _("A confirmation link was sent to %(email)s.")
            % {"email": membership.organization.contact_email},
        )
    else:
        messages.info(request, _("This address is confirmed already."))
    return _back_to(membership)


@login_required
@require_http_methods(["GET", "POST"])
def organization_confirm_email(request, name, token):
    """The e-mailed link: an administrator confirms the contact address (GET asks,
    POST confirms, so that a mail scanner following links confirms nothing)."""
    membership = _admin_membership(request, name)
    organization = membership.organization
    if request.method == "GET":
        return render(
            request, "accounts/organization_confirm_email.html", {"organization": organization}
        )
    try:
        account_flows.confirm_contact_email(organization, token)
    except account_flows.OrganizationError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("The contact address %(email)s of %(name)s is confirmed.")
            % {"email": organization.contact_email, "name": organization.username},
        )
    return _back_to(membership)


def _back_to(membership):
    return redirect("organization", name=membership.organization.username)


@login_required
@require_POST
def organization_allow_contact(request, name):
    """An administrator turns the organization's "Allow others to contact" on or off."""
    membership = _admin_membership(request, name)
    form = OrganizationContactForm(request.POST, instance=membership.organization)
    if form.is_valid():
        form.save()
        messages.success(request, _("The organization’s contact preference was saved."))
    return _back_to(membership)


@login_required
@require_POST
@reauthentication_required
def add_member(request, name):
    membership = _admin_membership(request, name)
    form = AddMemberForm(request.POST)
    if form.is_valid():
        try:
            added = account_flows.add_member(
                request,
                membership.organization,
                form.cleaned_data["username"],
                form.cleaned_data["role"],
            )
        except account_flows.OrganizationError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                _("%(name)s was invited. They become a member when they accept.")
                % {"name": added.member.username},
            )
    else:
        messages.error(request, _("Enter a user name and a role."))
    return _back_to(membership)


@login_required
@require_POST
@reauthentication_required
def change_role(request, name, username):
    membership = _admin_membership(request, name)
    target = access.member_of(membership, username)
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            account_flows.change_role(request, target, form.cleaned_data["role"])
        except account_flows.OrganizationError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("The role of %(name)s was changed.") % {"name": username})
    return _back_to(membership)


@login_required
@require_POST
def remove_member(request, name, username):
    membership = _admin_membership(request, name)
    target = access.member_of(membership, username)
    try:
        account_flows.remove_member(request, target)
    except account_flows.OrganizationError as error:
        messages.error(request, str(error))
        return _back_to(membership)
    messages.success(request, _("%(name)s was removed.") % {"name": username})
    if target.member == request.user:
        return redirect("organizations")
    return _back_to(membership)


@login_required
@require_POST
def leave_organization(request, name):
    membership = _membership(request, name)
    try:
        account_flows.remove_member(request, membership)
    except account_flows.OrganizationError as error:
        messages.error(request, str(error))
        return _back_to(membership)
    messages.success(request, _("You left %(name)s.") % {"name": membership.organization.username})
    return redirect("organizations")


@login_required
@require_http_methods(["GET", "POST"])
def organization_invitation(request, name):
    """The invited person's page (linked from the e-mail and the Organizations
    page): accept or decline. Nobody else finds an invitation here (404)."""
    invitation = access.invitation_for(request.user, name)
    if request.method == "GET":
        return render(request, "accounts/organization_invitation.html", {"invitation": invitation})
    organization = invitation.organization.username
    if request.POST.get("answer") == "accept":
        try:
            account_flows.accept_invitation(request, invitation)
        except account_flows.OrganizationError as error:
            messages.error(request, str(error))
            return redirect("organizations")
        messages.success(request, _("You joined %(name)s.") % {"name": organization})
        return redirect("organization", name=organization)
    account_flows.decline_invitation(request, invitation)
    messages.success(
        request, _("You declined the invitation to %(name)s.") % {"name": organization}
    )
    return redirect("organizations")


@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("password1", "password2")
def accept_invitation(request, token):
    """The link in an administrator's invitation: choose a user name and password."""
    try:
        invitation = invitations.find(token)
    except invitations.InvitationError as error:
        return render(request, "accounts/invitation.html", {"error": str(error)}, status=404)
    form = AcceptInvitationForm(request.POST or None, email=invitation.email)
    if form.is_valid():
        try:
            invitations.accept(
                request,
                token,
                form.cleaned_data["username"],
                form.cleaned_data["password1"],
            )
        except invitations.InvitationError as error:
            return render(request, "accounts/invitation.html", {"error": str(error)}, status=409)
        messages.success(request, _("Your account is ready. Sign in with your new user name."))
        return redirect("log_on")
    return render(request, "accounts/invitation.html", {"form": form, "invitation": invitation})


@login_required
@require_http_methods(["GET", "POST"])
def staff_two_factor_page(request):
    """Staff without a second factor: a link to their mailbox comes first
    (accounts/staff_two_factor.py). POST sends it."""
    if not staff_two_factor.needs_link(request):
        return redirect("mfa_index")
    if request.method == "POST":
        refusal = staff_two_factor.send_link(request)
        if refusal is not None:
            messages.error(request, refusal.message)
        else:
            messages.success(
                request,
                _("A link was sent to your primary e-mail address: open it to continue."),
            )
        return redirect("staff_two_factor")
    return render(
        request, "accounts/staff_two_factor.html", {"minutes": staff_two_factor.LINK_MINUTES}
    )


@login_required
@require_http_methods(["GET", "POST"])
def staff_two_factor_link(request, token):
    """The mailed link (GET asks, POST confirms, so that a mail scanner following
    links uses nothing up); then on to setting up two-factor authentication."""
    if request.method == "GET":
        return render(request, "accounts/staff_two_factor_confirm.html")
    refusal = staff_two_factor.open_link(request, token)
    if refusal is not None:
        return render(
            request,
            "accounts/staff_two_factor_confirm.html",
            {"error": refusal.message},
            status=400,
        )
    messages.success(
        request,
        _("Confirmed. Within %(minutes)d minutes, add an authenticator app or a security key.")
        % {"minutes": staff_two_factor.GRANT_MINUTES},
    )
    return redirect("mfa_index")
