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
