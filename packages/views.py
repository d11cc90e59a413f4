from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Membership
from packages import owners
from packages.models import PackageRegistration, PackageVersion


def service_index(request):
    """NuGet V3 service index: where `dotnet nuget push -s …/v3/index.json` pushes."""
    push_url = request.build_absolute_uri(reverse("push_package"))
    return JsonResponse(
        {
            "version": "3.0.0",
            "resources": [
                {"@id": push_url, "@type": "PackagePublish/2.0.0", "comment": "Push and unlist"},
            ],
        }
    )


@login_required
def manage_packages(request):
    """The user's packages and, grouped, those of their organizations."""
    user = request.user
    memberships = list(Membership.objects.filter(member=user).select_related("organization"))
    accounts = [user, *(m.organization for m in memberships)]
    manageable = {user.pk} | {m.organization_id for m in memberships if m.is_admin}
    registrations = (
        PackageRegistration.objects.filter(owners__in=accounts)
        .distinct()
        .prefetch_related(
            "owners", Prefetch("versions", queryset=PackageVersion.objects.order_by("-created"))
        )
    )
    groups = {account.pk: (account, []) for account in accounts}
    for registration in registrations:
        registration.can_manage = owners.can_manage(user, registration, manageable)
        for owner in registration.owners.all():
            if owner.pk in groups:
                groups[owner.pk][1].append(registration)
    return render(request, "packages/manage.html", {"groups": list(groups.values())})


def _managed_registration(request, package_id):
    registration = get_object_or_404(
        PackageRegistration.objects.prefetch_related("owners"), normalized_id=package_id.lower()
    )
    if not owners.can_manage(request.user, registration):
        # Owners through an organization see the package but cannot manage it.
        if not PackageRegistration.objects.filter(
            pk=registration.pk, owners__in=[request.user, *request.user.organizations()]
        ).exists():
            raise Http404
        raise PermissionDenied
    return registration


@login_required
@require_POST
def add_package_owner(request, package_id):
    registration = _managed_registration(request, package_id)
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
    registration = _managed_registration(request, package_id)
    try:
        owners.remove_owner(request, registration, username)
    except owners.OwnershipError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("The owners of %(id)s were changed.") % {"id": registration.package_id}
        )
    return redirect("packages")
