import time

from allauth.account.signals import user_signed_up
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from config.middleware import SessionTimeoutMiddleware


@receiver(user_logged_in)
def start_session_clock(sender, request, user, **kwargs):
    # The absolute session limit counts from the sign-in itself.
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[SessionTimeoutMiddleware.STARTED] = now
        request.session[SessionTimeoutMiddleware.SEEN] = now


@receiver(user_signed_up)
def keep_the_browsers_language(sender, request, user, **kwargs):
    """A new account speaks the language its browser asked for at sign-up, so
    its e-mails are in that language before anyone touches the footer switcher."""
    language = getattr(request, "LANGUAGE_CODE", "") if request is not None else ""
    if not user.language and language in dict(settings.LANGUAGES):
        user.language = language
        user.save(update_fields=["language"])
