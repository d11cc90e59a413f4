from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts import access
from packages import owners
from packages.models import PackageVersion


@login_required
def manage_packages(request):
    """The user's packages and, grouped, those of their organizations."""
    user = request.user
    accounts, managed = access.acting_for(user)
    registrations = access.packages_of(accounts).prefetch_related(
        "owners", Prefetch("versions", queryset=PackageVersion.objects.order_by("-created"))
    )
    groups = {account.pk: (account, []) for account in accounts}
    for registration in registrations:
        registration.can_manage = access.can_manage(user, registration, managed)
        for owner in registration.owners.all():
            if owner.pk in groups:
                groups[owner.pk][1].append(registration)
    context = {
        "groups": list(groups.values()),
        # Requests the user may answer, and those waiting on their packages.
        "incoming": access.ownership_requests_for(user, managed),
        "outgoing": access.ownership_requests_by(user, managed),
    }
    return render(request, "packages/manage.html", context)


@login_required
@require_POST
@reauthentication_required
def add_package_owner(request, package_id):
    registration = access.managed_package(request.user, package_id)
    try:
        ownership = owners.add_owner(request, registration, request.POST.get("owner", "").strip())
    except owners.OwnershipError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("%(name)s was asked to become an owner of %(id)s. Nothing changes until they accept.")
            % {"name": ownership.new_owner.username, "id": registration.package_id},
        )
    return redirect("packages")


@login_required
@require_http_methods(["GET", "POST"])
def ownership_request(request, package_id, username):
    """The invited account's page (linked from the e-mail and Manage packages):
    accept or decline. Nobody else finds the request here (404)."""
    ownership = access.ownership_request_for(request.user, package_id, username)
    if request.method == "GET":
        return render(request, "packages/ownership_request.html", {"ownership": ownership})
    names = {"name": ownership.new_owner.username, "id": ownership.registration.package_id}
    if request.POST.get("answer") == "accept":
        try:
            owners.accept(request, ownership)
        except owners.OwnershipError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("%(name)s is now an owner of %(id)s.") % names)
    else:
        owners.decline(request, ownership)
        messages.success(request, _("You declined the ownership of %(id)s.") % names)
    return redirect("packages")


@login_required
@require_POST
def cancel_ownership_request(request, package_id, username):
    registration = access.managed_package(request.user, package_id)
    ownership = access.cancellable_request(registration, username)
    owners.cancel(request, ownership)
    messages.success(
        request,
        _("The request to %(name)s for %(id)s was cancelled.")
        % {"name": username, "id": registration.package_id},
    )
    return redirect("packages")


@login_required
@require_POST
def remove_package_owner(request, package_id, username):
    registration = access.managed_package(request.user, package_id)
    try:
        owners.remove_owner(request, registration, username)
    except owners.OwnershipError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("The owners of %(id)s were changed.") % {"id": registration.package_id}
        )
    return redirect("packages")
