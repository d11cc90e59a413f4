"""The publish API: what `nuget push`, `nuget delete` and their relatives call.

Authenticated by the X-NuGet-ApiKey header only, never by a cookie, hence
csrf_exempt. The key is checked before a byte of the body is read.
"""

from django.http import HttpResponseNotAllowed
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from packages import publish
from packages.publish import Refused
from packages.responses import answer
from packages.uploads import received_package


def _push(request, store):
    if request.method != "PUT":
        return HttpResponseNotAllowed(["PUT"])
    key = None
    try:
        key = publish.authenticate(request)
        with received_package(request) as upload:
            stored = store(request, key, upload)
    except Refused as refusal:
        return answer(request, refusal.status, refusal.message, key=key, code=refusal.code)
    return answer(request, 201, stored, key=key)


def _store_package(request, key, upload) -> str:
    version = publish.push(request, key, upload)
    return _("%(id)s %(version)s was pushed.") % {
        "id": version.registration.package_id,
        "version": version.version,
    }


def _store_symbols(request, key, upload) -> str:
    symbols = publish.push_symbols(request, key, upload)
    return _("The symbols of %(id)s %(version)s were pushed.") % {
        "id": symbols.version.registration.package_id,
        "version": symbols.version.version,
    }


@csrf_exempt
def push_package(request):
    """PUT a .nupkg (PackagePublish/2.0.0): multipart or raw, sized or chunked."""
    return _push(request, _store_package)


@csrf_exempt
def push_symbol_package(request):
    """PUT a .snupkg for a version that exists (SymbolPackagePublish/4.9.0)."""
    return _push(request, _store_symbols)


@csrf_exempt
def package_version(request, package_id, version):
    """DELETE unlists a version (what `nuget delete` does on nuget.org); POST relists it.

    Success is 200 with an empty body, as nuget.org answers both.
    """
    if request.method not in ("DELETE", "POST"):
        return HttpResponseNotAllowed(["DELETE", "POST"])
    key = None
    try:
        key = publish.authenticate(request)
        publish.set_listed(request, key, package_id, version, listed=request.method == "POST")
    except Refused as refusal:
        return answer(request, refusal.status, refusal.message, key=key, code=refusal.code)
    return answer(request, 200, key=key)
