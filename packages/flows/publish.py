"""What the NuGet client's push, symbol push, unlist and relist do, apart from HTTP.

A request reads top to bottom: authenticate → read the package → authorize →
store → record. Each step returns what it made or a `Refusal` (a value, never
raised); the view answers a refusal in one place (packages/publish_views.py),
which also writes the log line and the audit record.
"""

import logging
from dataclasses import replace

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from apikeys.models import ApiKey
from apikeys.scopes import Action, Refusal, authorize, key_refusal
from apikeys.tokens import is_well_formed
from audit.events import Kind, record
from packages import feed
from packages.models import PackageRegistration, PackageVersion, SymbolPackage
from packages.nupkg import (
    NuGetVersion,
    PackageError,
    PackageManifest,
    PackageTooLarge,
    read_package,
    read_symbol_package,
    sha512_of,
)
from packages.storage import package_storage, unique_name

log = logging.getLogger("galley.publish")


# ------------------------------------------------------------------ authenticate


@sensitive_variables("secret")
def authenticate(request) -> tuple[ApiKey | None, Refusal | None]:
    """The usable key of the request's X-NuGet-ApiKey header, or why there is none.

    A key that was found but may not be used comes back with its refusal, so
    that the refusal is recorded in its holder's security log.
    """
    secret = request.headers.get("X-NuGet-ApiKey")
    if not secret:
        return None, Refusal(
            "no_key",
            _("An API key is required: send it in the X-NuGet-ApiKey header."),
            status=401,
        )
    if not is_well_formed(secret, settings.GALLEY_KEY_PREFIX):
        return None, Refusal(
            "malformed_key", _("The API key is malformed: check that it was copied whole.")
        )
    key = ApiKey.objects.find(secret)
    if key is None:
        return None, Refusal(
            "unknown_key", _("The API key is not valid: it was deleted or regenerated.")
        )
    refusal = key_refusal(key)
    if refusal:
        return key, refusal
    key.record_use()
    return key, None


# -------------------------------------------------------------------------- read


def read(upload, *, symbols: bool = False) -> PackageManifest | Refusal:
    """The manifest of an uploaded `.nupkg` (or `.snupkg`), or why it is not acceptable."""
    reader = read_symbol_package if symbols else read_package
    try:
        return reader(upload)  # within the GALLEY_MAX_PACKAGE_* limits
    except PackageTooLarge as error:
        return Refusal("too_large", error.reason, status=413)
    except PackageError as error:
        return Refusal("bad_package", error.reason, status=400)


def _registration(package_id: str):
    return (
        PackageRegistration.objects.filter(normalized_id=package_id.lower())
        .prefetch_related("owners")
        .first()
    )


def _version_exists(registration, manifest: PackageManifest) -> Refusal | None:
    identity = manifest.version.identity_key
    if registration and registration.versions.filter(normalized_version=identity).exists():
        return Refusal(
            "version_exists",
            _("%(id)s %(version)s already exists and cannot be modified.")
            % {"id": registration.package_id, "version": manifest.version.normalized},
            status=409,
        )
    return None


# ------------------------------------------------------------------------- push


def push(request, key: ApiKey, upload) -> PackageVersion | Refusal:
    """Store an uploaded package (a file on disk) for `key`'s package owner."""
    manifest = read(upload)
    if isinstance(manifest, Refusal):
        return manifest
    registration = _registration(manifest.id)
    refusal = authorize(key, Action.PUSH, manifest.id, registration) or _version_exists(
        registration, manifest
    )
    if refusal:
        return replace(refusal, package_id=manifest.id)
    version = _store(key, manifest, registration, upload)
    if isinstance(version, Refusal):
        return replace(version, package_id=manifest.id)
    feed.after_push(version, manifest)  # the .nuspec beside it; never fails the push
    log.info("pushed %s %s with key %s…", manifest.id, version.version, key.hint)
    record(
        Kind.PACKAGE_PUSHED,
        request=request,
        key=key,
        actor=key.holder,
        package_id=version.registration.package_id,
        package_version=version.version,
    )
    return version


def _measure(upload) -> tuple[int, str]:
    upload.seek(0, 2)
    size = upload.tell()
    return size, sha512_of(upload)


def _store(key: ApiKey, manifest: PackageManifest, registration, upload):
    """The new version's row, written after its file: never a row without its file,
    never a file left behind by a failed push."""
    identity = manifest.version.identity_key
    size, sha512 = _measure(upload)
    storage = package_storage()
    name = storage.save(unique_name(storage, f"{manifest.id.lower()}/{identity}.nupkg"), upload)
    try:
        with transaction.atomic():
            if registration is None:
                registration = PackageRegistration.objects.create(package_id=manifest.id)
                registration.owners.add(key.owner)
            return PackageVersion.objects.create(
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
        # Another push of the same id, or of the same version, committed between
        # our checks and our insert. Nothing of ours is left behind; the client
        # may push again and get the answer for the new state.
        storage.delete(name)
        return _version_exists(_registration(manifest.id), manifest) or Refusal(
            "conflict",
            _("%(id)s was pushed by another request at the same moment. Push again.")
            % {"id": manifest.id},
            status=409,
        )
    except BaseException:
        storage.delete(name)
        raise


# ---------------------------------------------------------------------- symbols


def push_symbols(request, key: ApiKey, upload) -> SymbolPackage | Refusal:
    """Store a `.snupkg` for a version that exists, under the same key rules as its push.

    Symbols pushed again replace the earlier ones (nuget.org allows it): the new
    file is written under a name of its own, the row is pointed at it, and only
    then is the old file removed.
    """
    manifest = read(upload, symbols=True)
    if isinstance(manifest, Refusal):
        return manifest
    registration = _registration(manifest.id)
    refusal = authorize(key, Action.PUSH, manifest.id, registration)
    identity = manifest.version.identity_key
    version = registration and registration.versions.filter(normalized_version=identity).first()
    if not refusal and not version:
        refusal = Refusal(
            "no_such_version",
            _("%(id)s %(version)s does not exist: push the .nupkg before its symbols.")
            % {"id": manifest.id, "version": manifest.version.normalized},
            status=404,
        )
    if refusal:
        return replace(refusal, package_id=manifest.id)
    symbols = _store_symbols(key, version, upload)
    log.info("pushed symbols of %s with key %s…", version, key.hint)
    record(
        Kind.SYMBOLS_PUSHED,
        request=request,
        key=key,
        actor=key.holder,
        package_id=registration.package_id,
        package_version=version.version,
    )
    return symbols


def _store_symbols(key: ApiKey, version: PackageVersion, upload) -> SymbolPackage:
    size, sha512 = _measure(upload)
    storage = package_storage()
    base = f"{version.registration.normalized_id}/{version.normalized_version}.snupkg"
    name = storage.save(unique_name(storage, base), upload)
    try:
        with transaction.atomic():
            previous = SymbolPackage.objects.select_for_update().filter(version=version).first()
            old_name = previous.file.name if previous else None
            symbols, _created = SymbolPackage.objects.update_or_create(
                version=version,
                defaults={"size": size, "sha512": sha512, "file": name, "pushed_by": key.holder},
            )
    except BaseException:
        storage.delete(name)
        raise
    if old_name and old_name != name:
        storage.delete(old_name)
    return symbols


# ----------------------------------------------------------------- unlist, relist


def set_listed(
    request, key: ApiKey, package_id: str, version_text: str, listed: bool
) -> PackageVersion | Refusal:
    """Unlist (listed=False) or relist a version; doing it again changes nothing."""
    registration = _registration(package_id)
    refusal = authorize(key, Action.UNLIST, package_id, registration)
    if refusal:
        return replace(refusal, package_id=package_id)
    try:
        identity = NuGetVersion.parse(version_text).identity_key
    except ValueError:
        identity = None
    version = (
        registration
        and identity
        and registration.versions.filter(normalized_version=identity).first()
    )
    if not version:
        return Refusal(
            "not_found",
            _("%(id)s %(version)s does not exist.")
            % {"id": package_id, "version": version_text[:64]},
            status=404,
            package_id=package_id,
        )
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
