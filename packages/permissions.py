"""Which packages a person may manage, and the ownership requests they may answer.

Built on accounts/access.py (the accounts a person acts for, in which role): a
package belongs to its owners, people or organizations, and a person manages it
when they own it or administer an owning organization. Views and flows ask here;
none builds a package or ownership-request queryset of its own.

Lookups for a page follow accounts/access.py's rule: a stranger gets 404, as if
the package were not there; a member whose role is too low gets 403.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.dispatch import receiver
from django.http import Http404
from django.utils.translation import gettext as _

from accounts import access
from accounts.models import Membership, User
from accounts.signals import account_deletion_blockers
from core.statements import compiled, prefetched_objects
from packages.models import OwnershipRequest, PackageRegistration

ADMIN = Membership.Role.ADMIN


# Packages ----------------------------------------------------------------------------


def can_manage(user, registration, managed: set[int] | None = None) -> bool:
    """May `user` manage `registration` (its owners, its listing)? Pass `managed`
    (from access.managed_owner_ids) when asking about many packages."""
    managed = managed if managed is not None else access.managed_owner_ids(user)
    return any(owner.pk in managed for owner in registration.owners.all())


def is_owner(user, registration, owned: set[int] | None = None) -> bool:
    """Is the package `user`'s own, directly or through an organization (any role)?"""
    owned = owned if owned is not None else access.owner_ids(user)
    return any(owner.pk in owned for owner in registration.owners.all())


def managed_package(user, package_id: str):
    """The package `user` may manage: 404 for strangers, 403 for members of an owning
    organization whose role does not let them manage it."""
    registration = (
        PackageRegistration.objects.filter(normalized_id=package_id.lower())
        .prefetch_related("owners")
        .first()
    )
    if registration is None:
        raise Http404
    if can_manage(user, registration):
        return registration
    if is_owner(user, registration):
        raise PermissionDenied
    raise Http404


def packages_owned_only_by(account) -> QuerySet:
    """The packages `account` is the only owner of. (Counted over all owners: a
    Count over the same join as the filter on the owner would always be 1.)"""
    return (
        PackageRegistration.objects.filter(
            pk__in=PackageRegistration.objects.filter(owners=account).values("pk")
        )
        .annotate(owner_count=Count("owners"))
        .filter(owner_count=1)
    )


def packages_of(accounts) -> QuerySet:
    """The packages that any of `accounts` owns."""
    return PackageRegistration.objects.filter(owners__in=accounts).distinct()


def packages_listed_for(accounts) -> QuerySet:
    """Manage packages: the packages any of `accounts` owns, by id, with their owners
    and versions (three queries, however many packages)."""
    return packages_of(accounts).prefetch_related("owners", "versions").order_by("normalized_id")


def accounts_owning(registration) -> QuerySet:
    """The package's owners and the administrators of those that are organizations,
    in one query: whose security log shows an event about the package."""
    return User.objects.filter(
        Q(packages=registration)
        | Q(
            organization_memberships__organization__packages=registration,
            organization_memberships__role=ADMIN,
            organization_memberships__accepted=True,
        )
    ).distinct()


# A stand-in for the package while `account_ids_owning`'s statement is compiled.
_REGISTRATION = -7_000_201


def account_ids_owning(registration) -> list[int]:
    """The ids of `accounts_owning(registration)`, on a statement compiled once per
    process (core/statements.py): every change to a version asks it. Owners held
    prefetched (as the rules that allowed the change read them), none of them an
    organization, are the answer themselves."""
    owners = prefetched_objects(registration, "owners")
    if owners is not None and not any(owner.is_organization for owner in owners):
        return [owner.pk for owner in owners]
    statement = compiled(
        "permissions.account_ids_owning",
        lambda: accounts_owning(_REGISTRATION).order_by().values_list("pk"),
    )
    return [pk for (pk,) in statement.rows({_REGISTRATION: registration.pk})]


def ownership_request_stands(ownership: OwnershipRequest) -> bool:
    """An ownership request stands while its maker may still manage the package
    (accounts.access.offer_stands: the rule every offer follows)."""
    return access.offer_stands(
        ownership.requested_by, lambda inviter: can_manage(inviter, ownership.registration)
    )


def people_managing(registration, *, contactable: bool = False) -> QuerySet:
    """The people told about changes to `registration`'s owners: its owners who are
    people, and the administrators of its owners that are organizations. With
    `contactable`, only through the owners that allow others to contact them (Contact
    Owners: an organization's own setting decides for its administrators)."""
    owners = registration.owners.all()
    if contactable:
        owners = owners.filter(allow_contact=True)
    return User.objects.filter(
        Q(pk__in=owners.filter(is_organization=False).values("pk"))
        | Q(
            organization_memberships__organization__in=owners.filter(is_organization=True),
            organization_memberships__role=ADMIN,
            organization_memberships__accepted=True,
        ),
        is_active=True,
    ).distinct()


# Ownership requests ----------------------------------------------------------------


def ownership_requests_for(user, managed: set[int] | None = None) -> QuerySet:
    """Pending requests `user` may accept or decline: those made to them, and to
    the organizations they administer (pass `managed` from managed_owner_ids)."""
    managed = managed if managed is not None else access.managed_owner_ids(user)
    return (
        OwnershipRequest.objects.pending()
        .filter(new_owner_id__in=managed)
        .select_related("registration", "new_owner", "requested_by")
    )


def ownership_requests_by(user, managed: set[int] | None = None) -> QuerySet:
    """Pending requests on the packages `user` manages, which they may cancel."""
    managed = managed if managed is not None else access.managed_owner_ids(user)
    return (
        OwnershipRequest.objects.pending()
        .filter(registration__in=PackageRegistration.objects.filter(owners__in=managed))
        .select_related("registration", "new_owner", "requested_by")
    )


def ownership_request_for(user, package_id: str, username: str) -> OwnershipRequest:
    """The pending request for `username` to own `package_id` that `user` may answer;
    404 for anyone else (even a package manager: they cancel, they do not accept)."""
    found = (
        ownership_requests_for(user)
        .filter(registration__normalized_id=package_id.lower(), new_owner__username=username)
        .first()
    )
    if found is None:
        raise Http404
    return found


def cancellable_request(registration, username: str) -> OwnershipRequest:
    """A pending request on `registration` (from managed_package); 404 otherwise."""
    found = (
        OwnershipRequest.objects.pending()
        .filter(registration=registration, new_owner__username=username)
        .select_related("new_owner", "registration")
        .first()
    )
    if found is None:
        raise Http404
    return found


@receiver(account_deletion_blockers, dispatch_uid="packages.permissions.deletion_blockers")
def packages_left_without_owner(sender, account, **kwargs) -> list[str]:
    """An account that alone owns packages cannot be deleted: they would have no owner."""
    return [
        _("You are the only owner of %(id)s.") % {"id": registration.package_id}
        for registration in packages_owned_only_by(account)
    ]
