import time

from allauth.account.authentication import AUTHENTICATION_METHODS_SESSION_KEY
from allauth.account.signals import user_signed_up
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import Signal, receiver

from accounts.middleware import SessionTimeoutMiddleware

# Sent before an account is deleted (accounts/flows.py): each receiver, in a layer
# above accounts, returns a list of reasons the account cannot be deleted yet.
account_deletion_blockers = Signal()


@receiver(user_logged_in)
def start_session_clock(sender, request, user, **kwargs):
    # The absolute session limit counts from the sign-in itself.
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[SessionTimeoutMiddleware.STARTED] = now
        request.session[SessionTimeoutMiddleware.SEEN] = now


@receiver(user_logged_in)
def sign_in_counts_as_confirmation(sender, request, user, **kwargs):
    """A sign-in confirms the password as much as allauth's "confirm your password"
    page does: actions behind `reauthentication_required` go through for the same
    timeout (ACCOUNT_REAUTHENTICATION_TIMEOUT), so nobody is asked twice within
    minutes of signing in. allauth records each step of a sign-in (password, then
    two-factor) but counts only records marked as reauthentication; the last step
    of this sign-in is marked. A login without a record (an administrator's
    force_login, a test's) confirms nothing."""
    session = getattr(request, "session", None) if request is not None else None
    records = session.get(AUTHENTICATION_METHODS_SESSION_KEY) if session is not None else None
    if records:
        records[-1] = {**records[-1], "reauthenticated": True}
        session[AUTHENTICATION_METHODS_SESSION_KEY] = records


@receiver(user_signed_up)
def keep_the_browsers_language(sender, request, user, **kwargs):
    """A new account speaks the language its browser asked for at sign-up, so
    its e-mails are in that language before anyone touches the footer switcher."""
    language = getattr(request, "LANGUAGE_CODE", "") if request is not None else ""
    if not user.language and language in dict(settings.LANGUAGES):
        user.language = language
        user.save(update_fields=["language"])
