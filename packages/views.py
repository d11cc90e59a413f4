from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts import access
from packages import downloads, page_views, permissions
from packages.flows import owners


def _owner_filter(accounts: list, name: str):
    """The account picked in the owner filter (?owner=name, any case), or None for all."""
    return next((a for a in accounts if a.username.lower() == name.strip().lower()), None)


def _summarize(registrations, user, managed: set[int]) -> tuple[list, list]:
    """(published, unlisted), as nuget.org splits them: a package with no listed
    version is unlisted. Each gets its latest version (the one its page shows),
    its downloads and whether the user may manage it."""
    versions = [v for registration in registrations for v in registration.versions.all()]
    pending = downloads.pending_downloads(versions) if versions else {}
    published, unlisted = [], []
    for registration in registrations:
        ordered = page_views._by_version(registration.versions.all())
        registration.latest = page_views._shown_version(ordered, None) if ordered else None
        registration.downloads = sum(v.download_count + pending.get(v.pk, 0) for v in ordered)
        registration.can_manage = permissions.can_manage(user, registration, managed)
        is_listed = any(v.listed for v in ordered)
        (published if is_listed else unlisted).append(registration)
    return published, unlisted


@login_required
def manage_packages(request):
    """nuget.org's Manage packages: Published and Unlisted, filtered by owner."""
    user = request.user
    accounts, managed = access.acting_for(user)
    selected = _owner_filter(accounts, request.GET.get("owner", ""))
    registrations = permissions.packages_listed_for([selected] if selected else accounts)
    published, unlisted = _summarize(list(registrations), user, managed)
    context = {
        "accounts": accounts,
        "selected": selected,
        "published": published,
        "unlisted": unlisted,
        # Requests the user may answer, and those waiting on their packages.
        "incoming": permissions.ownership_requests_for(user, managed),
        "outgoing": permissions.ownership_requests_by(user, managed),
    }
    return render(request, "packages/manage.html", context)


def _back(request, registration):
    """Back where the form was: the package's Manage page (its Owners section) or
    Manage packages."""
    if request.POST.get("back") == "manage":
        return redirect("package_manage", registration.package_id)
    return redirect("packages")


@login_required
@require_POST
@reauthentication_required
def add_package_owner(request, package_id):
    registration = permissions.managed_package(request.user, package_id)
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
    return _back(request, registration)


@login_required
@require_http_methods(["GET", "POST"])
def ownership_request(request, package_id, username):
    """The invited account's page (linked from the e-mail and Manage packages):
    accept or decline. Nobody else finds the request here (404)."""
    ownership = permissions.ownership_request_for(request.user, package_id, username)
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
    registration = permissions.managed_package(request.user, package_id)
    ownership = permissions.cancellable_request(registration, username)
    owners.cancel(request, ownership)
    messages.success(
        request,
        _("The request to %(name)s for %(id)s was cancelled.")
        % {"name": username, "id": registration.package_id},
    )
    return _back(request, registration)


@login_required
@require_POST
def remove_package_owner(request, package_id, username):
    registration = permissions.managed_package(request.user, package_id)
    try:
        owners.remove_owner(request, registration, username)
    except owners.OwnershipError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("The owners of %(id)s were changed.") % {"id": registration.package_id}
        )
    return _back(request, registration)
