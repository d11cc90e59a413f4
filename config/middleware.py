from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

# What counts as a second factor for the admin (recovery codes come with these).
TWO_FACTOR_TYPES = [Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]


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
    revoke every key or delete packages)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and user.is_staff
            and request.path.startswith(reverse("admin:index"))
            and not is_mfa_enabled(user, types=TWO_FACTOR_TYPES)
        ):
            messages.warning(
                request,
                _(
                    "Staff need two-factor authentication to open the administration: "
                    "set it up first."
                ),
            )
            return redirect("mfa_index")
        return self.get_response(request)
