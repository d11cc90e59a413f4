from django.conf import settings

from accounts import signup

# Pages that make no sense to come back to after signing in.
_NO_RETURN_PREFIXES = ("/users/account/", "/accounts/")


def galley(request):
    path = request.path
    return {
        "site_name": settings.GALLEY_SITE_NAME,
        "return_path": "/" if path.startswith(_NO_RETURN_PREFIXES) else path,
        # No "Register" link anywhere when accounts come from invitations only.
        "signup_open": signup.is_open(),
    }
