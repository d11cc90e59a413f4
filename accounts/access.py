"""Who may act for whom: the one place that answers it.

Accounts are people and organizations (see accounts/models.py). A person acts
for themselves and for every organization they are a member of; both roles may
push and unlist an organization's packages and pick it as a key's package owner,
and only administrators manage its members and its packages' owners, as on
nuget.org. Views, forms and flows ask here; none builds an owner or member
queryset of its own. Which packages those accounts may manage is the packages
layer's question, answered on top of this one (packages/permissions.py).

Lookups for a page follow one rule: a stranger gets 404, as if the thing were
not there; a member whose role is too low gets 403.

Only accepted memberships count: an invited member who has not accepted (or
whose invitation expired) has no rights at all, and is listed as pending.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from accounts.models import Invitation, Membership, User

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


# Offers: invitations to the site, to an organization, to own a package -------------


def offer_stands(inviter, still_entitled) -> bool:
    """An invitation is valid only while its inviter could still make it: their
    account still exists and is active, and `still_entitled(inviter)`: they still
    hold the permission or role it took. One rule for the three kinds of offer
    (invitation_stands and membership_offer_stands here; ownership requests in
    packages/permissions.py), asked when one is answered."""
    if inviter is None or not inviter.is_active:  # deleted (SET_NULL), or deactivated
        return False
    return still_entitled(inviter)


def invitation_stands(invitation: Invitation) -> bool:
    """A site invitation: from staff with "Can add user", as the admin's Invite a
    user page asks."""
    return offer_stands(
        invitation.invited_by,
        lambda inviter: inviter.is_staff and inviter.has_perm("accounts.add_user"),
    )


def membership_offer_stands(invitation: Membership) -> bool:
    """An organization's invitation (a pending Membership): from an administrator of it."""
    return offer_stands(
        invitation.invited_by,
        lambda inviter: administrators_of(invitation.organization).filter(pk=inviter.pk).exists(),
    )
