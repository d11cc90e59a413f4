"""Confirmed e-mail addresses: what an account needs before it may hold keys,
own packages or belong to organizations.

nuget.org lets an unconfirmed account sign in and look around; it only refuses
the things that would let an unverified address act on packages. Galley does
the same (ACCOUNT_EMAIL_VERIFICATION = "optional"), and asks here.
"""

from allauth.account.adapter import get_adapter
from allauth.account.models import EmailAddress
from allauth.account.signals import email_confirmation_sent
from allauth.core import ratelimit
from django.contrib import messages


def is_confirmed(user) -> bool:
    """Whether `user` has at least one confirmed e-mail address."""
    if not user.is_authenticated:
        return False
    return EmailAddress.objects.filter(user=user, verified=True).exists()


def resend(request) -> bool:
    """Send the signed-in user's confirmation link again; False when one was sent a
    moment ago (allauth's "confirm_email" rate limit, which its own pages share).

    Only allauth's public API: the address's own send_confirmation (its link is
    signed, so an earlier mail's link keeps working), the adapter's message and
    the email_confirmation_sent signal, as allauth's resend does."""
    user = request.user
    address = EmailAddress.objects.filter(user=user, verified=False).order_by("-primary").first()
    if address is None and user.email:
        # An account made outside allauth (createsuperuser, the admin) has no row yet.
        address, _created = EmailAddress.objects.get_or_create(
            user=user, email=user.email, defaults={"primary": True}
        )
    if address is None or address.verified:
        return False
    if not ratelimit.consume(request, action="confirm_email", key=address.email.lower()):
        return False
    sent = address.send_confirmation(request)
    get_adapter(request).add_message(
        request,
        messages.INFO,
        "account/messages/email_confirmation_sent.txt",
        {"email": address.email, "login": True, "signup": False},
    )
    email_confirmation_sent.send(
        sender=sent.__class__, request=request, confirmation=sent, signup=False
    )
    return True
