"""Who may act for whom: the one place that answers it.

Accounts are people and organizations (see accounts/models.py). A person acts
for themselves and for every organization they are a member of; both roles may
push and unlist an organization's packages and pick it as a key's package owner,
and only administrators manage its members and its packages' owners, as on
nuget.org. Views, forms and flows ask here; none builds an owner, member or
package queryset of its own.

Lookups for a page follow one rule: a stranger gets 404, as if the thing were
not there; a member whose role is too low gets 403.

Only accepted memberships count: an invited member who has not accepted (or
whose invitation expired) has no rights at all, and is listed as pending.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from accounts.models import Invitation, Membership, User
from packages.models import OwnershipRequest, PackageRegistration

ADMIN = Membership.Role.ADMIN


# Accounts a person may act for ------------------------------------------------------


def owners_for(user) -> QuerySet:
    """The accounts `user` may act for: themselves first, then their organizations."""
    return (
        User.objects.filter(
            Q(pk=user.pk)
            | Q(is_organization=True, memberships__member=user, memberships__accepted=True)
        )
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
    return {account.pk, *organization_ids_of(account)}


def organization_ids_of(account) -> QuerySet:
    """Ids of the organizations `account` belongs to, in any role (none for an
    organization): a query, to read or to use inside another one."""
    return (
        Membership.objects.accepted().filter(member=account).values_list("organization", flat=True)
    )


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
    memberships = Q(memberships__member=person, memberships__accepted=True)
    if role is not None:
        memberships &= Q(memberships__role=role)
    return User.objects.filter(Q(is_organization=True) & memberships)


def memberships_of(person) -> QuerySet:
    """`person`'s (accepted) memberships, with their organizations."""
    return Membership.objects.accepted().filter(member=person).select_related("organization")


def memberships_with_counts(person) -> QuerySet:
    """The Organizations list: `person`'s memberships, each with its organization's
    number of (accepted) members and of packages, in one query."""
    return memberships_of(person).annotate(
        member_count=Count(
            "organization__memberships",
            filter=Q(organization__memberships__accepted=True),
            distinct=True,
        ),
        package_count=Count("organization__packages", distinct=True),
    )


def is_member(person, organization) -> bool:
    """Is `person` (still) a member of `organization` (accounts or their ids)? Asked on
    every request an organization key makes, so that a member who leaves loses its
    use at once."""
    return Membership.objects.accepted().filter(organization=organization, member=person).exists()


def members_of(organization) -> QuerySet:
    """The (accepted) memberships of `organization`, with their members."""
    return Membership.objects.accepted().filter(organization=organization).select_related("member")


def invited_to(organization) -> QuerySet:
    """`organization`'s invitations that wait for an answer (pending members)."""
    return Membership.objects.pending().filter(organization=organization).select_related("member")


def invitations_for(person) -> QuerySet:
    """The invitations `person` may accept or decline, with their organizations."""
    return Membership.objects.pending().filter(member=person).select_related("organization")


def invitation_for(person, name: str) -> Membership:
    """`person`'s pending invitation to the organization called `name`; 404 otherwise."""
    invitation = invitations_for(person).filter(organization__username__iexact=name).first()
    if invitation is None:
        raise Http404
    return invitation


def administrators_of(organization) -> QuerySet:
    """The people who administer `organization` (accepted)."""
    return User.objects.filter(
        organization_memberships__organization=organization,
        organization_memberships__role=ADMIN,
        organization_memberships__accepted=True,
        is_active=True,
    )


def member_ids(organization) -> set[int]:
    return set(
        Membership.objects.accepted()
        .filter(organization=organization)
        .values_list("member_id", flat=True)
    )


# An organization, for a page -------------------------------------------------------


def membership_for(user, name: str, role: str | None = None) -> Membership:
    """`user`'s membership of the organization called `name` (any case).

    404 for anyone who is not a member; 403 for a member without `role`.
    """
    membership = (
        Membership.objects.accepted()
        .select_related("organization")
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
    """Another member of the organization `membership` belongs to, or one invited
    and still pending; 404 otherwise."""
    other = (
        Membership.objects.select_related("member", "organization")
        .filter(organization=membership.organization, member__username=username)
        .exclude(pk__in=Membership.objects.expired().values("pk"))
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


def organizations_administered_only_by(person) -> QuerySet:
    """The organizations whose only (accepted) administrator is `person`."""
    return (
        User.objects.filter(pk__in=organizations_of(person, role=ADMIN).values("pk"))
        .annotate(
            admin_count=Count(
                "memberships",
                filter=Q(memberships__role=ADMIN, memberships__accepted=True),
            )
        )
        .filter(admin_count=1)
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


def people_managing(registration) -> QuerySet:
    """The people told about changes to `registration`'s owners: its owners who are
    people, and the administrators of its owners that are organizations."""
    owners = registration.owners.all()
    return User.objects.filter(
        Q(pk__in=owners.filter(is_organization=False).values("pk"))
        | Q(
            organization_memberships__organization__in=owners.filter(is_organization=True),
            organization_memberships__role=ADMIN,
            organization_memberships__accepted=True,
        ),
        is_active=True,
    ).distinct()


# Offers: invitations to the site, to an organization, to own a package -------------


def offer_stands(offer: Invitation | Membership | OwnershipRequest) -> bool:
    """An invitation is valid only while its inviter could still make it: their
    account still exists and is active, and they still hold the permission or role
    it took. One rule for the three kinds of offer, asked when one is answered:

    - a site invitation (Invitation): staff with "Can add user", as the admin's
      Invite a user page asks;
    - an organization's invitation (a pending Membership): an administrator of it;
    - an ownership request: someone who may manage the package.
    """
    inviter = offer.requested_by if isinstance(offer, OwnershipRequest) else offer.invited_by
    if inviter is None or not inviter.is_active:  # deleted (SET_NULL), or deactivated
        return False
    if isinstance(offer, Invitation):
        return inviter.is_staff and inviter.has_perm("accounts.add_user")
    if isinstance(offer, Membership):
        return administrators_of(offer.organization).filter(pk=inviter.pk).exists()
    return can_manage(inviter, offer.registration)


# Ownership requests ----------------------------------------------------------------


def ownership_requests_for(user, managed: set[int] | None = None) -> QuerySet:
    """Pending requests `user` may accept or decline: those made to them, and to
    the organizations they administer (pass `managed` from managed_owner_ids)."""
    managed = managed if managed is not None else managed_owner_ids(user)
    return (
        OwnershipRequest.objects.pending()
        .filter(new_owner_id__in=managed)
        .select_related("registration", "new_owner", "requested_by")
    )


def ownership_requests_by(user, managed: set[int] | None = None) -> QuerySet:
    """Pending requests on the packages `user` manages, which they may cancel."""
    managed = managed if managed is not None else managed_owner_ids(user)
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
