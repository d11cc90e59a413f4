import time

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
