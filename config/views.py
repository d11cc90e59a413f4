import logging
import sys

from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.defaults import server_error as django_server_error

from packages.storage import package_storage, storage_available

log = logging.getLogger("galley")


@never_cache
def healthz(request):
    """For load balancers: are the database, the cache and the package storage reachable?

    No secrets, no auth.
    """
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception:  # any failure means "not ready"; the reason goes to the log
        checks["database"] = "unavailable"
    try:
        cache.set("healthz", 1, 5)
        checks["cache"] = "ok" if cache.get("healthz") == 1 else "unavailable"
    except Exception:
        checks["cache"] = "unavailable"
    try:
        # HEAD on the bucket, or a look at the folder: no object is read or written.
        checks["storage"] = "ok" if storage_available(package_storage()) else "unavailable"
    except Exception:
        log.warning("package storage unavailable", exc_info=True)
        checks["storage"] = "unavailable"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503
    )


def server_error(request, template_name="500.html"):
    """500 handler: a database that cannot be reached is a 503, said plainly.

    Load balancers and the NuGet client retry a 503, and people read why.
    Django calls this inside its exception handler, so the error is at hand;
    this covers failures in middleware (sessions) as well as in views.
    """
    error = sys.exc_info()[1]
    if not isinstance(error, OperationalError | InterfaceError):
        return django_server_error(request, template_name)
    log.error("database unavailable: %s", error.__class__.__name__)
    message = _(
        "The service is temporarily unavailable: its database cannot be reached. Try again in a minute."
    )
    if request.path.startswith(("/api/", "/v3/")):
        response = HttpResponse(
            message + "\n", status=503, content_type="text/plain; charset=utf-8"
        )
    else:
        page = render_to_string(
            "503.html", {"message": message, "site_name": settings.GALLEY_SITE_NAME}
        )
        response = HttpResponse(page, status=503)
    response["Retry-After"] = "30"
    return response
