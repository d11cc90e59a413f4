"""What people do with accounts: delete their own, create organizations, manage members.

Every change is written to the audit trail; the rule that an organization
always keeps an administrator is enforced under a lock on its memberships,
so two administrators demoting each other at once cannot leave it without one.
"""

from datetime import timedelta

from allauth.account import app_settings as account_settings
from django.contrib.auth import logout
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import access, confirmation, emails
from accounts.models import Membership, User
from accounts.signals import account_deletion_blockers
from audit.events import Kind, record


class OrganizationError(Exception):
    """A change that breaks a rule; the message is for the person who asked."""


# The account itself ---------------------------------------------------------------


def deletion_blockers(user) -> list[str]:
    """Why `user`'s account cannot be deleted yet: packages it alone owns, and
    organizations it alone administers, would be left without anyone."""
    # The layers above add theirs (packages: the packages it alone owns).
    blockers = [
        reason
        for _receiver, reasons in account_deletion_blockers.send(sender=User, account=user)
        for reason in reasons
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


def create(request, name: str, contact_email: str = "") -> User:
    organization = User.objects.create_organization(name, admin=request.user)
    record(
        Kind.ORGANIZATION_CREATED,
        request=request,
        user=request.user,
        organization=organization.username,
    )
    if contact_email:
        set_contact_email(request, organization, contact_email)
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
    """The invited person accepts: from now on they are a member, in the role offered.

    The offer stands only while whoever made it still administers the organization
    (access.membership_offer_stands).
    """
    if not access.membership_offer_stands(invitation):
        Membership.objects.pending().filter(pk=invitation.pk).delete()
        raise OrganizationError(
            _(
                "Whoever invited you no longer administers %(organization)s: the invitation was withdrawn."
            )
            % {"organization": invitation.organization.username}
        )
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


# An organization's contact address --------------------------------------------------

# A confirmation link is signed (SECRET_KEY, this salt), expires as allauth's do,
# and works once: it names the address it confirms, and confirming an address that
# is confirmed already (or has changed since) is refused.
CONTACT_SALT = "galley.organization-contact-email"


def contact_link_days() -> int:
    return account_settings.EMAIL_CONFIRMATION_EXPIRE_DAYS


def set_contact_email(request, organization: User, address: str) -> bool:
    """Set the contact address of `organization` (unconfirmed until an administrator
    follows the e-mailed link), or send the link again for the same unconfirmed
    address. False when there is nothing to confirm (the same, confirmed address)."""
    if address.lower() != organization.contact_email.lower():
        User.objects.filter(pk=organization.pk).update(
            contact_email=address, contact_email_confirmed=False
        )
        organization.contact_email, organization.contact_email_confirmed = address, False
    elif organization.contact_email_confirmed:
        return False
    token = signing.dumps([organization.pk, address.lower()], salt=CONTACT_SALT, compress=True)
    link = request.build_absolute_uri(
        reverse("organization_confirm_email", args=[organization.username, token])
    )
    emails.send_contact_confirmation(organization, link, request.user, contact_link_days())
    return True


def confirm_contact_email(organization: User, token: str) -> None:
    """Confirm the address the link was sent to, once; OrganizationError otherwise."""
    try:
        pk, address = signing.loads(
            token, salt=CONTACT_SALT, max_age=timedelta(days=contact_link_days())
        )
    except signing.SignatureExpired:
        raise OrganizationError(
            _("This confirmation link has expired. Send a new one from the organization's page.")
        ) from None
    except (signing.BadSignature, ValueError, TypeError):
        raise OrganizationError(_("This confirmation link is not valid.")) from None
    confirmed = pk == organization.pk and User.objects.filter(
        pk=organization.pk, contact_email__iexact=address, contact_email_confirmed=False
    ).update(contact_email_confirmed=True)
    if not confirmed:
        raise OrganizationError(
            _("This confirmation link was used already, or the address has changed since.")
        )
    organization.contact_email_confirmed = True
