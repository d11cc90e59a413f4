from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from accounts import staff_two_factor
from accounts.staff_two_factor import TWO_FACTOR_TYPES


class RefuseNulMiddleware:
    """A NUL character in a request's address (its path or its query, encoded as %00)
    is refused with 400 before any view reads it: no package id, version, search term
    or user name holds one, and PostgreSQL refuses a string that does, which would
    turn the query of whichever view read it into a 500. Form fields are checked by
    Django's own CharField; this covers what views read from the address."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "%00" in query or "\x00" in query:
            return HttpResponseBadRequest(
                _("A request's address may not hold a NUL character."),
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)


class NoStoreForSignedInMiddleware:
    """Pages for a signed-in person are theirs alone: a response that says nothing
    about caching is marked no-store, so that no shared cache keeps it and the
    browser's Back button, after sign-out, does not show it again."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response


class StaffTwoFactorMiddleware:
    """The admin opens only for staff who have two-factor authentication: one who has
    not set it up is sent to do so first (a stolen password alone is not enough to
    revoke every key or delete packages). Nor is the password enough to set it up:
    until the session has opened the link mailed to the staff member
    (accounts/staff_two_factor.py), allauth's pages that add a first authenticator
    send them to ask for it, and the admin stays closed."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is None
            or not user.is_authenticated
            or not user.is_staff
            or is_mfa_enabled(user, types=TWO_FACTOR_TYPES)
        ):
            return self.get_response(request)
        if request.path.startswith(reverse("admin:index")):
            messages.warning(
                request,
                _(
                    "Staff need two-factor authentication to open the administration: "
                    "set it up first."
                ),
            )
            if staff_two_factor.needs_link(request):
                return redirect("staff_two_factor")
            return redirect("mfa_index")
        if _view_name(request) in staff_two_factor.ENROLMENT_VIEWS and staff_two_factor.needs_link(
            request
        ):
            return redirect("staff_two_factor")
        return self.get_response(request)


def _view_name(request) -> str | None:
    try:
        return resolve(request.path_info).url_name
    except Resolver404:
        return None
