"""Who may manage a package's owners, and the changes themselves."""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _

from accounts import confirmation
from accounts.models import Membership
from audit.events import Kind, record
from packages.models import PackageRegistration


class OwnershipError(Exception):
    pass


def manageable_owner_ids(user) -> set[int]:
    """Accounts whose packages `user` may manage: themselves and the organizations they administer."""
    administered = Membership.objects.filter(member=user, role=Membership.Role.ADMIN).values_list(
        "organization_id", flat=True
    )
    return {user.pk, *administered}


def can_manage(user, registration: PackageRegistration, manageable: set[int] | None = None) -> bool:
    manageable = manageable if manageable is not None else manageable_owner_ids(user)
    return any(owner.pk in manageable for owner in registration.owners.all())


def member_owner_ids(user) -> set[int]:
    """Accounts whose packages `user` sees as their own: themselves and every
    organization they belong to, in any role (they see unlisted versions)."""
    if not user.is_authenticated:
        return set()
    organizations = Membership.objects.filter(member=user).values_list("organization_id", flat=True)
    return {user.pk, *organizations}


def managed_registration(user, package_id: str) -> PackageRegistration:
    """The package `user` may manage (unlist, relist, change owners).

    A stranger gets 404, as if the package were not there; a member of an owning
    organization whose role does not let them manage it gets 403.
    """
    registration = (
        PackageRegistration.objects.filter(normalized_id=package_id.lower())
        .prefetch_related("owners")
        .first()
    )
    if registration is None:
        raise Http404
    if can_manage(user, registration):
        return registration
    if any(owner.pk in member_owner_ids(user) for owner in registration.owners.all()):
        raise PermissionDenied
    raise Http404


def add_owner(request, registration: PackageRegistration, name: str):
    manageable = manageable_owner_ids(request.user)
    account = get_user_model().objects.filter(username__iexact=name, is_active=True).first()
    if account is None:
        raise OwnershipError(_("There is no account named “%(name)s”.") % {"name": name})
    if not account.is_organization and not confirmation.is_confirmed(account):
        raise OwnershipError(
            _("%(name)s has not confirmed an e-mail address yet.") % {"name": account.username}
        )
    # A person may be added; an organization only by one of its administrators.
    if account.is_organization and account.pk not in manageable:
        raise OwnershipError(_("You can add an organization only if you administer it."))
    registration.owners.add(account)
    record(
        Kind.PACKAGE_OWNER_ADDED,
        request=request,
        user=request.user,
        package_id=registration.package_id,
        owner=account.username,
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
        registration.owners.remove(account)
    record(
        Kind.PACKAGE_OWNER_REMOVED,
        request=request,
        user=request.user,
        package_id=registration.package_id,
        owner=name,
    )
