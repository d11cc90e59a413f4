"""What the NuGet client's push, unlist and relist do, apart from HTTP.

Each function either returns what happened or raises `Refused`, which knows
its HTTP status, a stable code and a message for the person at the client.
"""

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from apikeys.models import ApiKey
from apikeys.scopes import Action, authorize, key_usable
from apikeys.tokens import is_well_formed
from audit.events import Kind, record
from packages import feed
from packages.models import PackageRegistration, PackageVersion
from packages.nupkg import NuGetVersion, PackageError, PackageTooLarge, read_package, sha512_of
from packages.storage import package_storage

log = logging.getLogger("galley.publish")


@dataclass
class Refused(Exception):
    status: int
    code: str
    message: str


_AUDIT_INTERVAL = 60.0
_last_audited: dict[tuple, float] = {}


def _first_in_a_while(what: tuple) -> bool:
    now = time.time()
    if now - _last_audited.get(what, -_AUDIT_INTERVAL) < _AUDIT_INTERVAL:
        return False
    if len(_last_audited) > 10_000:  # bounded, whatever the traffic
        _last_audited.clear()
    _last_audited[what] = now
    return True


def _refuse(request, status, code, message, *, key=None, package_id=""):
    # The hint identifies the key to its owner; the secret is never logged.
    log.warning(
        "publish refused: status=%s rule=%s key=%s package=%s",
        status,
        code,
        f"{key.hint}…" if key else "-",
        package_id or "-",
    )
    # Refusals of a known key go to its holder's security log, once a minute
    # per key and rule in each process: a leaked key that was revoked can be
    # replayed by anyone, and a row per attempt would let them fill the
    # database (the log line above still records every attempt). Unknown and
    # malformed keys are only logged, for the same reason.
    if key is not None and _first_in_a_while((key.pk, code)):
        record(
            Kind.PUBLISH_REFUSED,
            request=request,
            key=key,
            actor=key.holder,
            package_id=package_id,
            rule=code,
        )
    return Refused(status, code, message)


@sensitive_variables("secret")
def authenticate(request) -> ApiKey:
    """The usable key from the request's X-NuGet-ApiKey header, or Refused (401/403)."""
    secret = request.headers.get("X-NuGet-ApiKey")
    if not secret:
        raise Refused(
            401, "no_key", _("An API key is required: send it in the X-NuGet-ApiKey header.")
        )
    if not is_well_formed(secret, settings.GALLEY_KEY_PREFIX):
        raise _refuse(
            request,
            403,
            "malformed_key",
            _("The API key is malformed: check that it was copied whole."),
        )
    key = ApiKey.objects.find(secret)
    if key is None:
        raise _refuse(
            request,
            403,
            "unknown_key",
            _("The API key is not valid: it was deleted or regenerated."),
        )
    refusal = key_usable(key)
    if refusal:
        raise _refuse(request, 403, refusal.code, refusal.message, key=key)
    key.record_use()
    return key


def _registration(package_id: str):
    return (
        PackageRegistration.objects.filter(normalized_id=package_id.lower())
        .prefetch_related("owners")
        .first()
    )


def push(request, key: ApiKey, upload) -> PackageVersion:
    """Store an uploaded package (a file object on disk) for `key`'s package owner."""
    try:
        manifest = read_package(
            upload,
            max_entries=settings.GALLEY_MAX_PACKAGE_ENTRIES,
            max_uncompressed=settings.GALLEY_MAX_PACKAGE_EXPANDED_SIZE,
            max_ratio=settings.GALLEY_MAX_PACKAGE_COMPRESSION_RATIO,
        )
    except PackageTooLarge as error:
        raise _refuse(request, 413, "too_large", error.reason, key=key) from None
    except PackageError as error:
        raise _refuse(request, 400, "bad_package", error.reason, key=key) from None

    registration = _registration(manifest.id)
    refusal = authorize(key, Action.PUSH, manifest.id, registration)
    if refusal:
        raise _refuse(request, 403, refusal.code, refusal.message, key=key, package_id=manifest.id)
    identity = manifest.version.identity_key
    exists_message = _("%(id)s %(version)s already exists and cannot be modified.") % {
        "id": registration.package_id if registration else manifest.id,
        "version": manifest.version.normalized,
    }
    if registration and registration.versions.filter(normalized_version=identity).exists():
        raise _refuse(
            request, 409, "version_exists", exists_message, key=key, package_id=manifest.id
        )

    upload.seek(0, 2)
    size = upload.tell()
    sha512 = sha512_of(upload)
    storage = package_storage()
    # The file is written first (atomically, see AtomicFileSystemStorage) and
    # removed again if the rows cannot be written: never a row without its
    # file, never a file left behind by a failed push.
    name = storage.save(f"{manifest.id.lower()}/{identity}.nupkg", upload)
    try:
        with transaction.atomic():
            if registration is None:
                registration = PackageRegistration.objects.create(package_id=manifest.id)
                registration.owners.add(key.owner)
            version = PackageVersion.objects.create(
                registration=registration,
                version=manifest.version.normalized,
                normalized_version=identity,
                original_version=manifest.original_version,
                size=size,
                sha512=sha512,
                file=name,
                description=manifest.description,
                authors=manifest.authors[:4000],
                pushed_by=key.holder,
                pushed_with_key=key,
                pushed_with_key_name=key.name,
                pushed_with_key_hint=key.hint,
                **feed.manifest_fields(manifest),
            )
    except IntegrityError:
        # Another push of the same id, or of the same version, committed
        # between our checks and our insert. Nothing of ours is left behind;
        # the client may push again and get the answer for the new state.
        storage.delete(name)
        raced = _registration(manifest.id)
        if raced and raced.versions.filter(normalized_version=identity).exists():
            raise _refuse(
                request, 409, "version_exists", exists_message, key=key, package_id=manifest.id
            ) from None
        raise _refuse(
            request,
            409,
            "conflict",
            _("%(id)s was pushed by another request at the same moment. Push again.")
            % {"id": manifest.id},
            key=key,
            package_id=manifest.id,
        ) from None
    except BaseException:
        storage.delete(name)
        raise
    feed.store_nuspec(version, manifest)  # never fails the push (see feed.store_nuspec)
    log.info("pushed %s %s with key %s…", registration.package_id, version.version, key.hint)
    record(
        Kind.PACKAGE_PUSHED,
        request=request,
        key=key,
        actor=key.holder,
        package_id=registration.package_id,
        package_version=version.version,
    )
    return version


def set_listed(
    request, key: ApiKey, package_id: str, version_text: str, listed: bool
) -> PackageVersion:
    """Unlist (listed=False) or relist a version."""
    registration = _registration(package_id)
    refusal = authorize(key, Action.UNLIST, package_id, registration)
    if refusal:
        raise _refuse(request, 403, refusal.code, refusal.message, key=key, package_id=package_id)
    not_found = _("%(id)s %(version)s does not exist.") % {
        "id": package_id,
        "version": version_text[:64],
    }
    try:
        identity = NuGetVersion.parse(version_text).identity_key
    except ValueError:
        raise Refused(404, "not_found", not_found) from None
    version = registration and registration.versions.filter(normalized_version=identity).first()
    if not version:
        raise Refused(404, "not_found", not_found)
    if version.listed != listed:
        version.listed = listed
        version.save(update_fields=["listed"])
        record(
            Kind.PACKAGE_RELISTED if listed else Kind.PACKAGE_UNLISTED,
            request=request,
            key=key,
            actor=key.holder,
            package_id=registration.package_id,
            package_version=version.version,
        )
    return version
