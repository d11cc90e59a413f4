from allauth.account.decorators import reauthentication_required
from allauth.account.views import LoginView, LogoutView
from allauth.mfa.models import Authenticator
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.forms import DeleteAccountForm, NotificationsForm
from accounts.redirects import is_local_path
from audit.models import AuditEvent

_login_view = LoginView.as_view()
log_off = LogoutView.as_view()


def home(request):
    return render(request, "accounts/home.html")


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
    """The account's own audit events, newest first (staff read everyone's in the admin)."""
    events = AuditEvent.objects.filter(user=request.user)[:SECURITY_LOG_LENGTH]
    return render(request, "accounts/security_log.html", {"events": events})


@login_required
@require_POST
@reauthentication_required
def delete_account(request):
    form = DeleteAccountForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, form.errors["confirm"][0])
        return redirect("account_settings")
    user = request.user
    logout(request)
    user.delete()
    messages.success(request, _("Your account has been deleted."))
    return redirect("home")
