"""Staff set up their first second factor only with more than their password.

The admin opens only for staff with two-factor authentication (config/middleware.py).
Were a staff member without it free to set it up, whoever holds the password alone
would enrol their own authenticator and walk in. So a staff member without a second
factor first opens a link that proves they also hold their mail: sent to their
confirmed primary address, signed, good for LINK_MINUTES, usable once. Opening it
(signed in as that staff member) lets this session add an authenticator app or a
security key for GRANT_MINUTES; until then the admin stays closed.

A new site's first administrator (`createsuperuser`, whose address nobody has
confirmed) gets the same link from `manage.py staff_enrolment_link <username>`.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.core import signing
from django.core.cache import cache
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts import emails

# What counts as a second factor for the admin (recovery codes come with these).
TWO_FACTOR_TYPES = [Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
# allauth's pages that add a first authenticator.
ENROLMENT_VIEWS = {"mfa_activate_totp", "mfa_add_webauthn"}
LINK_MINUTES = 30
GRANT_MINUTES = 15
SALT = "galley.staff-two-factor-enrolment"
_GRANT = "galley_staff_enrolment"


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str


def needs_link(request) -> bool:
    """Is `request.user` staff without a second factor, whose session has not
    opened an enrolment link (recently)?"""
    user = request.user
    return (
        user.is_authenticated
        and user.is_staff
        and not is_mfa_enabled(user, types=TWO_FACTOR_TYPES)
        and not _granted(request)
    )


def _granted(request) -> bool:
    grant = request.session.get(_GRANT) or {}
    return grant.get("user") == request.user.pk and grant.get("until", 0) > time.time()


def link_path(user, address: str = "") -> str:
    """A new enrolment link's path for `user`, bound to `address` (the confirmed
    primary address it is mailed to; empty from the command line)."""
    nonce = secrets.token_urlsafe(16)
    token = signing.dumps([user.pk, address.lower(), nonce], salt=SALT, compress=True)
    return reverse("staff_two_factor_confirm", args=[token])


def send_link(request) -> Refusal | None:
    """Mail a link to the staff member's confirmed primary address."""
    user = request.user
    address = EmailAddress.objects.filter(user=user, primary=True, verified=True).first()
    if address is None:
        return Refusal(
            "unconfirmed",
            _(
                "Your primary e-mail address is not confirmed: confirm it first, or ask an "
                "administrator for a link (manage.py staff_enrolment_link)."
            ),
        )
    # One mail a minute at most: whoever has the password cannot flood the mailbox.
    if not cache.add(f"galley:staff-enrolment-sent:{user.pk}", 1, timeout=60):
        return Refusal("too_soon", _("A link was sent less than a minute ago: check your mailbox."))
    link = request.build_absolute_uri(link_path(user, address.email))
    emails.send(
        user,
        "accounts/email/staff_two_factor",
        {"link": link, "minutes": LINK_MINUTES},
        to=address.email,
    )
    return None


def open_link(request, token: str) -> Refusal | None:
    """The link, opened signed in: once, before it expires, by the staff member it
    was made for, while the address it went to is still their confirmed primary one."""
    invalid = Refusal("invalid", _("This link is not valid, or was used already."))
    try:
        pk, address, _nonce = signing.loads(token, salt=SALT, max_age=LINK_MINUTES * 60)
    except signing.SignatureExpired:
        return Refusal("expired", _("This link has expired: ask for a new one."))
    except (signing.BadSignature, ValueError, TypeError):
        return invalid
    user = request.user
    if pk != user.pk or not user.is_staff:
        return invalid
    if (
        address
        and not EmailAddress.objects.filter(
            user=user, email__iexact=address, primary=True, verified=True
        ).exists()
    ):
        return invalid
    digest = hashlib.sha256(token.encode()).hexdigest()[:32]
    if not cache.add(f"galley:staff-enrolment-used:{digest}", 1, timeout=LINK_MINUTES * 60 + 60):
        return invalid
    request.session[_GRANT] = {"user": user.pk, "until": time.time() + GRANT_MINUTES * 60}
    return None
