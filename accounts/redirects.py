from django.utils.http import url_has_allowed_host_and_scheme


def is_local_path(url: str | None) -> bool:
    """True only for a path on this site such as "/account/apikeys".

    Absolute URLs, scheme-relative ("//host"), backslash tricks ("/\\host")
    and "javascript:" all fail, even when they would point back at this host:
    returnUrl is for paths, as on nuget.org.
    """
    if not url or not url.startswith("/") or url.startswith(("//", "/\\")):
        return False
    return url_has_allowed_host_and_scheme(url, allowed_hosts=set(), require_https=False)
