"""The publish API: what `nuget push`, `nuget delete` and their relatives call.

Authenticated by the X-NuGet-ApiKey header only, never by a cookie, hence
csrf_exempt. The key is checked before a byte of the body is read. Each view
reads top to bottom and answers a refusal in one place, `refused`.
"""

import logging

from django.core.cache import cache
from django.http import HttpResponseNotAllowed
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from apikeys.scopes import Refusal
from audit.events import Kind, record
from packages.flows import publish
from packages.responses import answer, plain_ascii
from packages.uploads import received_package

log = logging.getLogger("galley.publish")

# A refusal of a known key goes to its holder's security log once a minute per
# key and rule, across every worker and instance (the cache is shared): a
# leaked key that was revoked can be replayed by anyone, and a row per attempt
# would let them fill the database. Every attempt is still logged.
AUDIT_INTERVAL = 60


def refused(request, refusal: Refusal, key=None, *, usable: bool = True):
    """The answer to a refused request, with its log line and (throttled) audit record.

    `usable`: the key itself may be used (the refusal is about this request), so
    the answer carries its expiry warning as any other answer would.
    """
    log.warning(
        "publish refused: status=%s rule=%s key=%s package=%s",
        refusal.status,
        refusal.code,
        f"{key.hint}…" if key else "-",
        plain_ascii(refusal.package_id, limit=100) or "-",  # no forged log lines
    )
    if key is not None and cache.add(
        f"publish-refused:{key.hashed_key[:24]}:{refusal.code}", 1, AUDIT_INTERVAL
    ):
        record(
            Kind.PUBLISH_REFUSED,
            request=request,
            key=key,
            actor=key.holder,
            package_id=refusal.package_id,
            rule=refusal.code,
        )
    return answer(
        request, refusal.status, refusal.message, key=key if usable else None, code=refusal.code
    )


def _push(request, store, pushed_message):
    if request.method != "PUT":
        return HttpResponseNotAllowed(["PUT"])
    key, refusal = publish.authenticate(request)
    if refusal:
        return refused(request, refusal, key, usable=False)
    with received_package(request) as upload:
        outcome = upload if isinstance(upload, Refusal) else store(request, key, upload)
    if isinstance(outcome, Refusal):
        return refused(request, outcome, key)
    return answer(request, 201, pushed_message(outcome), key=key)


@csrf_exempt
def push_package(request):
    """PUT a .nupkg (PackagePublish/2.0.0): multipart or raw, sized or chunked."""
    return _push(
        request,
        publish.push,
        lambda version: (
            _("%(id)s %(version)s was pushed.")
            % {"id": version.registration.package_id, "version": version.version}
        ),
    )


@csrf_exempt
def push_symbol_package(request):
    """PUT a .snupkg for a version that exists (SymbolPackagePublish/4.9.0)."""
    return _push(
        request,
        publish.push_symbols,
        lambda symbols: (
            _("The symbols of %(id)s %(version)s were pushed.")
            % {"id": symbols.version.registration.package_id, "version": symbols.version.version}
        ),
    )


@csrf_exempt
def package_version(request, package_id, version):
    """DELETE unlists a version (what `nuget delete` does on nuget.org); POST relists it.

    Success is 200 with an empty body, as nuget.org answers both.
    """
    if request.method not in ("DELETE", "POST"):
        return HttpResponseNotAllowed(["DELETE", "POST"])
    key, refusal = publish.authenticate(request)
    if refusal:
        return refused(request, refusal, key, usable=False)
    outcome = publish.set_listed(request, key, package_id, version, listed=request.method == "POST")
    if isinstance(outcome, Refusal):
        return refused(request, outcome, key)
    return answer(request, 200, key=key)
