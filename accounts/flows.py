"""What people do with accounts: delete their own, create organizations, manage members.

Every change is written to the audit trail; the rule that an organization
always keeps an administrator is enforced under a lock on its memberships,
so two administrators demoting each other at once cannot leave it without one.
"""

from django.contrib.auth import logout
from django.db import transaction
from django.db.models import Count, Q
from django.utils.translation import gettext as _

from accounts import access, confirmation, emails
from accounts.models import Membership, User
from audit.events import Kind, record
from packages.models import PackageRegistration


class OrganizationError(Exception):
    """A change that breaks a rule; the message is for the person who asked."""


# The account itself ---------------------------------------------------------------


def deletion_blockers(user) -> list[str]:
    """Why `user`'s account cannot be deleted yet: packages it alone owns, and
    organizations it alone administers, would be left without anyone."""
    blockers = [
        _("You are the only owner of %(id)s.") % {"id": registration.package_id}
        for registration in PackageRegistration.objects.filter(owners=user)
        .annotate(owner_count=Count("owners"))
        .filter(owner_count=1)
    ]
    blockers += [
        _("You are the only administrator of %(name)s.") % {"name": organization.username}
        for organization in access.organizations_of(user, role=Membership.Role.ADMIN)
        .annotate(
            admin_count=Count("memberships", filter=Q(memberships__role=Membership.Role.ADMIN))
        )
        .filter(admin_count=1)
    ]
    return blockers


def delete_account(request) -> list[str]:
    """Delete the signed-in person's account, or say why it cannot be deleted yet.

    The audit record stays (it names the account, and is kept for the trail);
    the account's keys, memberships and e-mail addresses go with it.
    """
    user = request.user
    blockers = deletion_blockers(user)
    if blockers:
        return blockers
    username = user.get_username()
    record(Kind.ACCOUNT_DELETED, request=request, actor=user, account=username)
    logout(request)
    user.delete()
    return []


# Organizations ----------------------------------------------------------------------


def create(request, name: str) -> User:
    organization = User.objects.create_organization(name, admin=request.user)
    record(
        Kind.ORGANIZATION_CREATED,
        request=request,
        user=request.user,
        organization=organization.username,
    )
    return organization


def add_member(request, organization: User, username: str, role: str) -> Membership:
    member = User.objects.people().filter(username__iexact=username, is_active=True).first()
    if member is None:
        raise OrganizationError(_("There is no user named “%(name)s”.") % {"name": username})
    if not confirmation.is_confirmed(member):
        raise OrganizationError(
            _("%(name)s has not confirmed an e-mail address yet.") % {"name": member.username}
        )
    membership, created = Membership.objects.get_or_create(
        organization=organization, member=member, defaults={"role": role}
    )
    if not created:
        raise OrganizationError(
            _("%(name)s is already a member of %(organization)s.")
            % {"name": member.username, "organization": organization.username}
        )
    record(
        Kind.MEMBER_ADDED,
        request=request,
        user=member,
        organization=organization.username,
        role=role,
    )
    return membership


def _lock_admins(organization: User) -> list[int]:
    return list(
        Membership.objects.select_for_update()
        .filter(organization=organization, role=Membership.Role.ADMIN)
        .values_list("member_id", flat=True)
    )


def _ensure_another_admin(organization: User, membership: Membership) -> None:
    admins = _lock_admins(organization)
    if admins == [membership.member_id]:
        raise OrganizationError(
            _("%(organization)s must keep at least one administrator.")
            % {"organization": organization.username}
        )


def change_role(request, membership: Membership, role: str) -> None:
    with transaction.atomic():
        if membership.role == Membership.Role.ADMIN and role != Membership.Role.ADMIN:
            _ensure_another_admin(membership.organization, membership)
        Membership.objects.filter(pk=membership.pk).update(role=role)
    record(
        Kind.MEMBER_ROLE_CHANGED,
        request=request,
        user=membership.member,
        organization=membership.organization.username,
        role=role,
    )


def remove_member(request, membership: Membership) -> None:
    """Remove a member (or, when the member is the one asking, leave)."""
    organization = membership.organization
    with transaction.atomic():
        if membership.role == Membership.Role.ADMIN:
            _ensure_another_admin(organization, membership)
        membership.delete()
    record(
        Kind.MEMBER_REMOVED,
        request=request,
        user=membership.member,
        organization=organization.username,
    )
    if membership.member != request.user:
        emails.send_removed_from_organization(membership.member, organization)
