"""Who may act for whom: the one place that answers it.

Accounts are people and organizations (see accounts/models.py). A person acts
for themselves and for every organization they are a member of; both roles may
push and unlist an organization's packages and pick it as a key's package owner,
and only administrators manage its members and its packages' owners, as on
nuget.org. Views, forms and flows ask here; none builds an owner, member or
package queryset of its own.

Lookups for a page follow one rule: a stranger gets 404, as if the thing were
not there; a member whose role is too low gets 403.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from accounts.models import Membership, User
from packages.models import PackageRegistration

ADMIN = Membership.Role.ADMIN


# Accounts a person may act for ------------------------------------------------------


def owners_for(user) -> QuerySet:
    """The accounts `user` may act for: themselves first, then their organizations."""
    return (
        User.objects.filter(Q(pk=user.pk) | Q(is_organization=True, memberships__member=user))
        .distinct()
        .order_by("is_organization", "username")
    )


def owner_ids(account) -> set[int]:
    """Ids of the accounts whose packages `account` sees as its own: itself and, for a
    person, every organization they belong to, in any role."""
    if not account.is_authenticated:
        return set()
    if account.is_organization:
        return {account.pk}
    return {account.pk, *organizations_of(account).values_list("pk", flat=True)}


def acting_for(user) -> tuple[list, set[int]]:
    """In one query: the accounts `user` acts for (themselves first, then their
    organizations by name) and the ids of those whose packages they manage."""
    memberships = list(memberships_of(user).order_by("organization__username"))
    accounts = [user, *(membership.organization for membership in memberships)]
    managed = {user.pk} | {m.organization_id for m in memberships if m.is_admin}
    return accounts, managed


def managed_owner_ids(user) -> set[int]:
    """Ids of the accounts whose packages `user` may manage (owners, listing): themselves
    and the organizations they administer."""
    return {user.pk, *organizations_of(user, role=ADMIN).values_list("pk", flat=True)}


def organizations_of(person, role: str | None = None) -> QuerySet:
    """The organizations `person` belongs to (with `role`, only those where they have it)."""
    memberships = Q(memberships__member=person)
    if role is not None:
        memberships &= Q(memberships__role=role)
    return User.objects.filter(Q(is_organization=True) & memberships)


def memberships_of(person) -> QuerySet:
    """`person`'s memberships, with their organizations."""
    return Membership.objects.filter(member=person).select_related("organization")


def is_member(person, organization) -> bool:
    """Is `person` (still) a member of `organization` (accounts or their ids)? Asked on
    every request an organization key makes, so that a member who leaves loses its
    use at once."""
    return Membership.objects.filter(organization=organization, member=person).exists()


def members_of(organization) -> QuerySet:
    """The memberships of `organization`, with their members."""
    return Membership.objects.filter(organization=organization).select_related("member")


def member_ids(organization) -> set[int]:
    return set(
        Membership.objects.filter(organization=organization).values_list("member_id", flat=True)
    )


# An organization, for a page -------------------------------------------------------


def membership_for(user, name: str, role: str | None = None) -> Membership:
    """`user`'s membership of the organization called `name` (any case).

    404 for anyone who is not a member; 403 for a member without `role`.
    """
    membership = (
        Membership.objects.select_related("organization")
        .filter(
            organization__username__iexact=name,
            organization__is_organization=True,
            member=user,
        )
        .first()
    )
    if membership is None:
        raise Http404
    if role is not None and membership.role != role:
        raise PermissionDenied
    return membership


def member_of(membership: Membership, username: str) -> Membership:
    """Another member of the organization `membership` belongs to; 404 otherwise."""
    other = (
        Membership.objects.select_related("member", "organization")
        .filter(organization=membership.organization, member__username=username)
        .first()
    )
    if other is None:
        raise Http404
    return other


# Packages ----------------------------------------------------------------------------


def can_manage(user, registration, managed: set[int] | None = None) -> bool:
    """May `user` manage `registration` (its owners, its listing)? Pass `managed`
    (from managed_owner_ids) when asking about many packages."""
    managed = managed if managed is not None else managed_owner_ids(user)
    return any(owner.pk in managed for owner in registration.owners.all())


def is_owner(user, registration, owned: set[int] | None = None) -> bool:
    """Is the package `user`'s own, directly or through an organization (any role)?"""
    owned = owned if owned is not None else owner_ids(user)
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


def packages_of(accounts) -> QuerySet:
    """The packages that any of `accounts` owns."""
    return PackageRegistration.objects.filter(owners__in=accounts).distinct()
