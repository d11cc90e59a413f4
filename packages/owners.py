"""Who may manage a package's owners, and the changes themselves."""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from accounts import access, confirmation
from audit.events import Kind, record
from packages.models import PackageRegistration


class OwnershipError(Exception):
    pass


def add_owner(request, registration: PackageRegistration, name: str):
    manageable = access.managed_owner_ids(request.user)
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
