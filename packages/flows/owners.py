"""A package's owners: offered, never imposed (nuget.org's ownership requests).

Adding an owner makes a pending request; the invited account (a person, or an
administrator of the invited organization) accepts or declines it, and the
package's managers may cancel it. Only an accepted request changes the owners.
Every change is audited, and the people who manage the package are e-mailed.
"""

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts import access, confirmation, emails
from audit.events import Kind, record
from packages import permissions
from packages.models import OwnershipRequest, PackageRegistration


class OwnershipError(Exception):
    pass


def add_owner(request, registration: PackageRegistration, name: str) -> OwnershipRequest:
    """Ask `name` (a person or an organization) to become an owner of `registration`."""
    account = get_user_model().objects.filter(username__iexact=name, is_active=True).first()
    if account is None:
        raise OwnershipError(_("There is no account named “%(name)s”.") % {"name": name})
    if not account.is_organization and not confirmation.is_confirmed(account):
        raise OwnershipError(
            _("%(name)s has not confirmed an e-mail address yet.") % {"name": account.username}
        )
    if registration.owners.filter(pk=account.pk).exists():
        raise OwnershipError(
            _("%(name)s is already an owner of %(id)s.")
            % {"name": account.username, "id": registration.package_id}
        )
    # An expired request disappears; a new one may take its place.
    OwnershipRequest.objects.expired().filter(registration=registration, new_owner=account).delete()
    try:
        with transaction.atomic():
            ownership = OwnershipRequest.objects.create(
                registration=registration, new_owner=account, requested_by=request.user
            )
    except IntegrityError:
        raise OwnershipError(
            _("%(name)s has already been asked to become an owner of %(id)s.")
            % {"name": account.username, "id": registration.package_id}
        ) from None
    record(
        Kind.OWNERSHIP_REQUESTED,
        request=request,
        user=request.user,
        package_id=registration.package_id,
        owner=account.username,
    )
    link = request.build_absolute_uri(
        reverse("package_ownership_request", args=[registration.package_id, account.username])
    )
    recipients = access.administrators_of(account) if account.is_organization else [account]
    for recipient in recipients:
        emails.send_ownership_request(recipient, ownership, link)
    return ownership


def accept(request, ownership: OwnershipRequest) -> None:
    """The invited account becomes an owner (asked by permissions.ownership_request_for)."""
    registration = ownership.registration
    with transaction.atomic():
        # The offer stands only while whoever made it may still manage the package.
        still_offered = permissions.ownership_request_stands(ownership)
        if not OwnershipRequest.objects.pending().filter(pk=ownership.pk).delete()[0]:
            raise OwnershipError(_("This ownership request is no longer open."))
        if still_offered:
            registration.owners.add(ownership.new_owner)
    if not still_offered:  # the request is gone; nothing was granted
        raise OwnershipError(
            _("Whoever asked can no longer manage %(id)s: the request was withdrawn.")
            % {"id": registration.package_id}
        )
    record(
        Kind.PACKAGE_OWNER_ADDED,
        request=request,
        user=request.user,
        package_id=registration.package_id,
        owner=ownership.new_owner.username,
        requested_by=ownership.requested_by.username if ownership.requested_by else "",
    )
    _tell_managers(request, registration, ownership.new_owner, emails.OWNER_ADDED)


def decline(request, ownership: OwnershipRequest) -> None:
    OwnershipRequest.objects.filter(pk=ownership.pk).delete()
    record(
        Kind.OWNERSHIP_DECLINED,
        request=request,
        user=request.user,
        package_id=ownership.registration.package_id,
        owner=ownership.new_owner.username,
    )


def cancel(request, ownership: OwnershipRequest) -> None:
    """A manager of the package withdraws the request (asked by permissions.cancellable_request)."""
    OwnershipRequest.objects.filter(pk=ownership.pk).delete()
    record(
        Kind.OWNERSHIP_CANCELLED,
        request=request,
        user=request.user,
        package_id=ownership.registration.package_id,
        owner=ownership.new_owner.username,
    )


def remove_owner(request, registration: PackageRegistration, name: str):
    with transaction.atomic():
        # Lock the registration so two removals cannot leave it without owners.
        registration = PackageRegistration.objects.select_for_update().get(pk=registration.pk)
        owners = list(registration.owners.all())
        account = next((owner for owner in owners if owner.username == name), None)
        if account is None:
            raise OwnershipError(_("%(name)s is not an owner of this package.") % {"name": name})
        if len(owners) == 1:
            raise OwnershipError(_("A package must keep at least one owner."))
        # Told before the removal too, so that the removed owner hears of it.
        managers = list(permissions.people_managing(registration))
        registration.owners.remove(account)
    record(
        Kind.PACKAGE_OWNER_REMOVED,
        request=request,
        user=request.user,
        package_id=registration.package_id,
        owner=name,
    )
    for manager in managers:
        emails.send_owners_changed(
            manager, registration, account, emails.OWNER_REMOVED, request.user
        )


def _tell_managers(request, registration, account, change: str) -> None:
    for manager in permissions.people_managing(registration):
        emails.send_owners_changed(manager, registration, account, change, request.user)
