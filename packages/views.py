from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

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
    return render(request, "packages/manage.html", {"groups": list(groups.values())})


@login_required
@require_POST
def add_package_owner(request, package_id):
    registration = access.managed_package(request.user, package_id)
    try:
        owners.add_owner(request, registration, request.POST.get("owner", "").strip())
    except owners.OwnershipError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("The owners of %(id)s were changed.") % {"id": registration.package_id}
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
