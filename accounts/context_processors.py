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
        **_mail_outbox_hint(),
    }


def _mail_outbox_hint() -> dict:
    """In development, where mail goes when it does not leave the machine (the
    "confirm your address" page says it: a newcomer to `make run` looks for it)."""
    if not settings.DEBUG:
        return {}
    backend = settings.EMAIL_BACKEND.rsplit(".", 2)[-2]
    if backend == "console":
        return {"mail_outbox_hint": "console"}
    if backend == "filebased":
        return {"mail_outbox_hint": "file", "mail_outbox_path": settings.EMAIL_FILE_PATH}
    return {}
