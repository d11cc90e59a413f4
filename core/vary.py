"""Responses whose bytes are the same in every language and session: feed documents
and stored files.

Django's locale middleware marks every response `Vary: Accept-Language` (with its
`Content-Language`), and the session middleware adds `Cookie` whenever a middleware
looked at the session. For a feed document or a package file that is false, and it
costs: a shared cache (nginx's `proxy_cache`, a CDN) keeps one copy per language
and per cookie, or none. A view that knows better says so with `vary_as_set`; the
middleware, outside the locale and session middleware, puts its word back last.
"""

from django.utils.cache import patch_cache_control


def vary_as_set(response):
    """The response's `Vary`, as the view has set it now, is its whole `Vary`."""
    response.vary_as_set = response.get("Vary", "")
    return response


def add_vary(response, *headers: str):
    """Append `headers` to `Vary` (and to what `vary_as_set` fixed, if anything)."""
    response["Vary"] = ", ".join(filter(None, [response.get("Vary", ""), *headers]))
    if getattr(response, "vary_as_set", None) is not None:
        response.vary_as_set = response["Vary"]
    return response


class VaryAsSetMiddleware:
    """Listed before the session and locale middleware, so that it sees their
    additions last and undoes them for responses marked by `vary_as_set`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        fixed = getattr(response, "vary_as_set", None)
        if fixed is not None and response.cookies:
            # A cookie set on the way (a session written for a signed-in browser):
            # no shared cache may keep it, so Django's Vary stays, and so does it.
            patch_cache_control(response, private=True)
        elif fixed is not None:
            if fixed:
                response["Vary"] = fixed
            elif response.has_header("Vary"):
                del response["Vary"]
            if response.has_header("Content-Language"):
                del response["Content-Language"]
        return response
