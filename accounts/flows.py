"""What people do with accounts: delete their own, create organizations, manage members.

Every change is written to the audit trail; the rule that an organization
always keeps an administrator is enforced under a lock on its memberships,
so two administrators demoting each other at once cannot leave it without one.
"""

from django.contrib.auth import logout
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import access, confirmation, emails
from accounts.models import Membership, User
from audit.events import Kind, record


class OrganizationError(Exception):
    """A change that breaks a rule; the message is for the person who asked."""


# The account itself ---------------------------------------------------------------


def deletion_blockers(user) -> list[str]:
    """Why `user`'s account cannot be deleted yet: packages it alone owns, and
    organizations it alone administers, would be left without anyone."""
    blockers = [
        _("You are the only owner of %(id)s.") % {"id": registration.package_id}
        for registration in access.packages_owned_only_by(user)
    ]
    blockers += [
        _("You are the only administrator of %(name)s.") % {"name": organization.username}
        for organization in access.organizations_administered_only_by(user)
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
    """Invite a person into `organization`: a pending membership, with no rights
    until they accept it (accept_invitation), e-mailed to them."""
    member = User.objects.people().filter(username__iexact=username, is_active=True).first()
    if member is None:
        raise OrganizationError(_("There is no user named “%(name)s”.") % {"name": username})
    if not confirmation.is_confirmed(member):
        raise OrganizationError(
            _("%(name)s has not confirmed an e-mail address yet.") % {"name": member.username}
        )
    # An expired invitation disappears; a new one may take its place.
    Membership.objects.expired().filter(organization=organization, member=member).delete()
    membership, created = Membership.objects.get_or_create(
        organization=organization,
        member=member,
        defaults={"role": role, "accepted": False, "invited_by": request.user},
    )
    if not created:
        message = (
            _("%(name)s is already a member of %(organization)s.")
            if membership.accepted
            else _("%(name)s is already invited to %(organization)s.")
        )
        raise OrganizationError(
            message % {"name": member.username, "organization": organization.username}
        )
    record(
        Kind.MEMBER_INVITED,
        request=request,
        user=member,
        organization=organization.username,
        role=role,
    )
    link = request.build_absolute_uri(
        reverse("organization_invitation", args=[organization.username])
    )
    emails.send_organization_invitation(member, membership, link)
    return membership


def accept_invitation(request, invitation: Membership) -> None:
    """The invited person accepts: from now on they are a member, in the role offered."""
    updated = (
        Membership.objects.pending()
        .filter(pk=invitation.pk)
        .update(accepted=True, created=timezone.now())
    )
    if not updated:  # answered in another tab, or cancelled, a moment ago
        raise OrganizationError(_("This invitation is no longer open."))
    record(
        Kind.MEMBER_ADDED,
        request=request,
        user=invitation.member,
        organization=invitation.organization.username,
        role=invitation.role,
    )
    _tell_administrators(request, invitation, emails.MEMBER_ADDED)


def decline_invitation(request, invitation: Membership) -> None:
    Membership.objects.pending().filter(pk=invitation.pk).delete()
    record(
        Kind.MEMBER_DECLINED,
        request=request,
        user=invitation.member,
        organization=invitation.organization.username,
    )


def _tell_administrators(request, membership: Membership, change: str, member=True) -> None:
    """E-mail the organization's administrators (and the member concerned) about a change."""
    recipients = {admin.pk: admin for admin in access.administrators_of(membership.organization)}
    if member:
        recipients.setdefault(membership.member.pk, membership.member)
    for recipient in recipients.values():
        emails.send_members_changed(recipient, membership, change, request.user)


def _lock_admins(organization: User) -> list[int]:
    return list(
        Membership.objects.select_for_update()
        .filter(organization=organization, role=Membership.Role.ADMIN, accepted=True)
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
        if membership.is_admin and role != Membership.Role.ADMIN:
            _ensure_another_admin(membership.organization, membership)
        Membership.objects.filter(pk=membership.pk).update(role=role)
    record(
        Kind.MEMBER_ROLE_CHANGED,
        request=request,
        user=membership.member,
        organization=membership.organization.username,
        role=role,
    )
    membership.role = role
    if membership.accepted:
        _tell_administrators(request, membership, emails.MEMBER_ROLE_CHANGED)


def remove_member(request, membership: Membership) -> None:
    """Remove a member (or, when the member is the one asking, leave); for a
    pending member, cancel the invitation."""
    organization = membership.organization
    with transaction.atomic():
        if membership.is_admin:
            _ensure_another_admin(organization, membership)
        membership.delete()
    record(
        Kind.MEMBER_REMOVED,
        request=request,
        user=membership.member,
        organization=organization.username,
        pending=not membership.accepted,
    )
    if not membership.accepted:
        return
    _tell_administrators(request, membership, emails.MEMBER_REMOVED, member=False)
    if membership.member != request.user:
        emails.send_removed_from_organization(membership.member, organization)
