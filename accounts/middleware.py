import time

from django.conf import settings
from django.contrib.auth import logout
from django.utils import translation


class UserLanguageMiddleware:
    """A signed-in user's chosen language wins over the browser's.

    LocaleMiddleware (earlier in the chain) has already picked a language from
    the language cookie or Accept-Language; the account's own choice, saved by
    the footer's switcher, overrides it on every device the user signs in on.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.language:
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        return self.get_response(request)


class SessionTimeoutMiddleware:
    """Signs people out after a spell of inactivity, and after a fixed time in any case.

    The last-activity time is written at most once a minute, so the session is
    not saved on every request.
    """

    STARTED = "galley_session_started"
    SEEN = "galley_session_seen"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            started = request.session.setdefault(self.STARTED, now)
            seen = request.session.get(self.SEEN, now)
            if (
                now - seen > settings.GALLEY_SESSION_IDLE_TIMEOUT
                or now - started > settings.GALLEY_SESSION_ABSOLUTE_TIMEOUT
            ):
                logout(request)
            elif now - seen >= 60 or self.SEEN not in request.session:
                request.session[self.SEEN] = now
        return self.get_response(request)
