"""Invitations: how people get an account when GALLEY_SIGNUP is closed.

An administrator invites an address; the e-mail carries a link with a random
token, of which only a SHA-256 hash is stored (a token has 256 bits, so a fast
hash is enough, as for API keys). The link works once, until it expires, and
the account it creates has the address already confirmed: the person proved
they receive mail there by following the link. It works only while whoever sent
it could still invite (access.invitation_stands).
"""

import hashlib
import secrets
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import access, emails
from accounts.models import Invitation, User
from audit.events import Kind, record


class InvitationError(Exception):
    """The invitation cannot be used; the message is for the person who followed it."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def address_taken(email: str) -> bool:
    return (
        EmailAddress.objects.filter(email__iexact=email).exists()
        or User.objects.filter(email__iexact=email).exists()
    )


def invite(request, email: str) -> Invitation:
    """Create an invitation and e-mail its link; the token exists only in that e-mail."""
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        email=email,
        token_hash=_hash(token),
        invited_by=request.user,
        expires=timezone.now() + timedelta(days=settings.GALLEY_INVITATION_DAYS),
    )
    link = request.build_absolute_uri(reverse("accept_invitation", args=[token]))
    _send(invitation, link)
    record(Kind.USER_INVITED, request=request, actor=request.user, email=email)
    return invitation


def _send(invitation: Invitation, link: str) -> None:
    context = {
        "site_name": settings.GALLEY_SITE_NAME,
        "link": link,
        "inviter": invitation.invited_by.get_username(),
        "expires": invitation.expires,
    }
    # In the inviting administrator's language: the invitee has none yet.
    subject = " ".join(render_to_string("accounts/email/invitation_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject,
        body=render_to_string("accounts/email/invitation.txt", context),
        to=[invitation.email],
    )
    message.attach_alternative(
        render_to_string("accounts/email/invitation.html", context), "text/html"
    )
    emails.queue(message, label=f"accounts/email/invitation {invitation.pk}")


def find(token: str) -> Invitation:
    """The invitation a link's token opens, if it can still be used."""
    invitation = Invitation.objects.filter(token_hash=_hash(token)).first()
    if invitation is None or invitation.accepted_at is not None:
        raise InvitationError(_("This invitation link is not valid or was already used."))
    if invitation.expires <= timezone.now():
        raise InvitationError(_("This invitation has expired. Ask an administrator for a new one."))
    if not access.invitation_stands(invitation):
        raise InvitationError(
            _(
                "Whoever invited you can no longer invite people: the invitation was withdrawn. "
                "Ask an administrator for a new one."
            )
        )
    return invitation


def accept(request, token: str, username: str, password: str) -> User:
    """Create the invited person's account, once: the invitation row is locked,
    so the same link followed twice at the same moment creates one account."""
    with transaction.atomic():
        invitation = find(token)
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.accepted_at is not None:
            raise InvitationError(_("This invitation link is not valid or was already used."))
        if address_taken(invitation.email):
            raise InvitationError(
                _("An account with the address %(email)s already exists. Sign in instead.")
                % {"email": invitation.email}
            )
        user = User.objects.create_user(username, email=invitation.email, password=password)
        EmailAddress.objects.create(user=user, email=invitation.email, primary=True, verified=True)
        invitation.accepted_at = timezone.now()
        invitation.user = user
        invitation.save(update_fields=["accepted_at", "user"])
    record(
        Kind.INVITATION_ACCEPTED,
        request=request,
        user=user,
        actor=user,
        invited_by=invitation.invited_by.get_username() if invitation.invited_by else "",
    )
    return user
