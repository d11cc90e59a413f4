"""The publish API: what `nuget push`, `nuget delete` and their relatives call.

Authenticated by the X-NuGet-ApiKey header only, never by a cookie, hence
csrf_exempt. The key is checked before a byte of the body is read. Each view
reads top to bottom and answers a refusal in one place, `refused`.
"""

import logging
import time

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


# What this process already knows was audited within the interval: a replayed
# key then costs no trip to the shared cache at all. Keyed by the key's hash,
# so entries never outlive their meaning (nor carry from one test to another).
_audited_here: dict[str, float] = {}


def _first_in_a_while(throttle: str) -> bool:
    """True once per AUDIT_INTERVAL for `throttle`, across workers and instances."""
    now = time.time()  # the wall clock, which the shared cache's expiry also follows
    if 0 <= now - _audited_here.get(throttle, -AUDIT_INTERVAL) < AUDIT_INTERVAL:
        return False
    if len(_audited_here) > 10_000:  # bounded, whatever the traffic
        _audited_here.clear()
    _audited_here[throttle] = now
    # get() first: add() alone would also count and cull the database cache's table.
    return cache.get(throttle) is None and cache.add(throttle, 1, AUDIT_INTERVAL)


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
    if key is not None and _first_in_a_while(
        f"publish-refused:{key.hashed_key[:24]}:{refusal.code}"
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
    key, caller = publish.authenticate(request)
    if isinstance(caller, Refusal):
        return refused(request, caller, key, usable=False)
    with received_package(request) as upload:
        outcome = upload if isinstance(upload, Refusal) else store(request, caller, upload)
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
    key, caller = publish.authenticate(request)
    if isinstance(caller, Refusal):
        return refused(request, caller, key, usable=False)
    outcome = publish.set_listed(
        request, caller, package_id, version, listed=request.method == "POST"
    )
    if isinstance(outcome, Refusal):
        return refused(request, outcome, key)
    return answer(request, 200, key=key)
