"""Confirmed e-mail addresses: what an account needs before it may hold keys,
own packages or belong to organizations.

nuget.org lets an unconfirmed account sign in and look around; it only refuses
the things that would let an unverified address act on packages. Galley does
the same (ACCOUNT_EMAIL_VERIFICATION = "optional"), and asks here.
"""

from allauth.account.internal.flows.email_verification import send_verification_email_for_user
from allauth.account.models import EmailAddress


def is_confirmed(user) -> bool:
    """Whether `user` has at least one confirmed e-mail address."""
    if not user.is_authenticated:
        return False
    return EmailAddress.objects.filter(user=user, verified=True).exists()


def resend(request) -> bool:
    """Send the signed-in user's confirmation link again (allauth rate-limits it)."""
    return send_verification_email_for_user(request, request.user)
