from allauth.account.signals import user_logged_in
from allauth.mfa.signals import authenticator_added, authenticator_removed
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.db.models import Q
from django.dispatch import receiver

from audit.events import Kind, record


@receiver(user_logged_in)
def signed_in(sender, request, user, **kwargs):
    record(Kind.SIGN_IN, request=request, user=user, actor=user)


@receiver(user_login_failed)
def sign_in_failed(sender, credentials, request=None, **kwargs):
    # Django has already masked the password in `credentials`; only the name is kept.
    login = str(credentials.get("username") or credentials.get("email") or "")[:150]
    user = None
    if login:
        user = (
            get_user_model()
            .objects.filter(Q(username__iexact=login) | Q(email__iexact=login))
            .first()
        )
    record(Kind.SIGN_IN_FAILED, request=request, user=user, login=login)


# Recovery codes come and go with TOTP; the event worth recording is the method.
_CODES = "recovery_codes"


@receiver(authenticator_added)
def mfa_enabled(sender, request, user, authenticator, **kwargs):
    if authenticator.type != _CODES:
        record(Kind.MFA_ENABLED, request=request, user=user, actor=user, method=authenticator.type)


@receiver(authenticator_removed)
def mfa_disabled(sender, request, user, authenticator, **kwargs):
    if authenticator.type != _CODES:
        record(Kind.MFA_DISABLED, request=request, user=user, actor=user, method=authenticator.type)
