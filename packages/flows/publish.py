"""What the NuGet client's push, symbol push, unlist and relist do, apart from HTTP.

A request reads top to bottom: authenticate → read the package → authorize →
store → record. Each step returns what it made or a `Refusal` (a value, never
raised); the view answers a refusal in one place (packages/publish_views.py),
which also writes the log line and the audit record.
"""

import logging
from dataclasses import replace

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from accounts.models import User
from apikeys.models import ApiKey
from apikeys.scopes import Action, Caller, Refusal, before_lookup, permit, resolve
from apikeys.tokens import is_well_formed
from core.statements import PACKAGE_ID, VERSION, Statement, compiled, prefetched
from packages import lifecycle
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
from packages.nupkg.pdb import SymbolError
from packages.nupkg.symbols import close_entries, symbol_entries
from packages.storage import package_storage
from packages.upstreams import rules as upstream_rules

log = logging.getLogger("galley.publish")


# ------------------------------------------------------------------ authenticate


@sensitive_variables("secret")
def authenticate(request) -> tuple[ApiKey | None, Caller | Refusal]:
    """The request's key (if one was found) and its caller, resolved once for the
    whole request, or why there is none.

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
    caller = resolve(key)
    if isinstance(caller, Caller):
        key.record_use()
    return key, caller


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


def _registration(caller: Caller, package_id: str, version=None):
    """The registration of `package_id` as `key` may know it: on a private feed, a
    package its owner cannot read does not exist for it (the same answers as for an
    unknown id, so a key cannot learn which private ids exist). With `version` (a
    NuGetVersion), the same query says whether the package has it (`has_version`).
    Its owners come prefetched, for the rules that read them."""
    with_version = version is not None
    registration = _statement(with_version).first(
        {PACKAGE_ID: package_id.lower(), VERSION: version.identity_key if with_version else None}
    )
    if registration is None:
        return None, False
    prefetched(registration, "owners", _owners_statement().all({_REGISTRATION: registration.pk}))
    if settings.GALLEY_FEED_READ != "authenticated" or upstream_rules.cached_only(registration):
        return registration, False
    readable = caller.readable_owner_ids
    if any(owner.pk in readable for owner in registration.owners.all()):
        return registration, False
    return None, True


# A stand-in for a registration's key while a statement compiles (the package id's
# and version's are core/statements.py's): no registration's key is negative.
_REGISTRATION = -7_000_301


def _statement(with_version: bool) -> Statement:
    """The registration lookup of `_registration`, compiled once per process
    (core/statements.py): every push, unlist and relist asks it."""

    def registrations():
        found = PackageRegistration.objects.filter(normalized_id=PACKAGE_ID).order_by()
        if with_version:
            versions = PackageVersion.objects.filter(
                registration=OuterRef("pk"), normalized_version=VERSION
            )
            found = found.annotate(has_version=Exists(versions))
        return found[:1]

    return compiled(f"publish.registration.{with_version}", registrations)


def _owners_statement() -> Statement:
    """The owners of a registration, compiled once per process: held as if
    prefetched (the ORM's prefetch costs more than its query)."""
    return compiled(
        "publish.owners", lambda: User.objects.filter(packages=_REGISTRATION).order_by()
    )


def _version_exists(package_id: str, manifest: PackageManifest) -> Refusal:
    return Refusal(
        "version_exists",
        _("%(id)s %(version)s already exists and cannot be modified.")
        % {"id": package_id, "version": manifest.version.normalized},
        status=409,
    )


def _id_taken(package_id: str) -> Refusal:
    # Names neither the owner nor the id's registered casing (a private feed).
    return Refusal(
        "not_owner",
        _("The package id '%(id)s' is not available to this API key's package owner.")
        % {"id": package_id},
    )


# ------------------------------------------------------------------------- push


def push(request, caller: Caller, upload) -> PackageVersion | Refusal:
    """Store an uploaded package (a file on disk) for the key's package owner."""
    manifest = read(upload)
    if isinstance(manifest, Refusal):
        return manifest
    key = caller.key
    # A key that may never touch the id is refused before the id is looked up.
    refusal = before_lookup(caller, Action.PUSH, manifest.id)
    if refusal:
        return replace(refusal, package_id=manifest.id)
    registration, hidden = _registration(caller, manifest.id, manifest.version)
    refusal = upstream_rules.push_refusal(manifest.id, registration)
    if registration is not None and not refusal and upstream_rules.cached_only(registration):
        # Taken over from the upstream with an administrator's allowance: pushed as a
        # new id (reserved prefixes apply), and its pusher's owner becomes its owner.
        refusal = permit(caller, Action.PUSH, manifest.id, None)
    elif not refusal:
        refusal = permit(caller, Action.PUSH, manifest.id, registration)
    if not refusal and hidden:
        refusal = _id_taken(manifest.id)
    if not refusal and registration and registration.has_version:
        refusal = _version_exists(registration.package_id, manifest)
    if refusal:
        return replace(refusal, package_id=manifest.id)
    size, sha512 = _measure(upload)
    fields = {
        "size": size,
        "sha512": sha512,
        "pushed_by": key.holder,
        "pushed_with_key": key,
        "pushed_with_key_name": key.name,
        "pushed_with_key_hint": key.hint,
    }
    try:
        version = lifecycle.add_version(
            lifecycle.Actor.of_key(request, key), manifest, upload, fields, registration, key.owner
        )
    except lifecycle.Conflict:
        # Another push stored the version, or registered the id, between our checks
        # and our insert; nothing of ours is left behind.
        if PackageVersion.objects.filter(
            registration__normalized_id=manifest.id.lower(),
            normalized_version=manifest.version.identity_key,
        ).exists():
            return replace(_version_exists(manifest.id, manifest), package_id=manifest.id)
        return Refusal(
            "conflict",
            _("%(id)s was pushed by another request at the same moment. Push again.")
            % {"id": manifest.id},
            status=409,
            package_id=manifest.id,
        )
    log.info("pushed %s %s with key %s…", manifest.id, version.version, key.hint)
    return version


def _measure(upload) -> tuple[int, str]:
    """Size and SHA-512 of the upload: as measured while it was received
    (packages/uploads.py), else read again."""
    if measured := getattr(upload, "measured", None):
        return measured
    upload.seek(0, 2)
    size = upload.tell()
    return size, sha512_of(upload)


# ---------------------------------------------------------------------- symbols


def push_symbols(request, caller: Caller, upload) -> SymbolPackage | Refusal:
    """Store a `.snupkg` for a version that exists, under the same key rules as its push
    (symbols pushed again replace the earlier ones, as nuget.org allows)."""
    manifest = read(upload, symbols=True)
    if isinstance(manifest, Refusal):
        return manifest
    key = caller.key
    refusal = before_lookup(caller, Action.PUSH, manifest.id)
    if refusal:
        return replace(refusal, package_id=manifest.id)
    registration, _hidden = _registration(caller, manifest.id)
    refusal = permit(caller, Action.PUSH, manifest.id, registration)
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
    version.registration = registration
    entries = _symbol_entries(upload, version)
    if isinstance(entries, Refusal):
        return replace(entries, package_id=manifest.id)
    try:
        size, sha512 = _measure(upload)
        symbols = lifecycle.add_symbols(
            lifecycle.Actor.of_key(request, key), version, upload, size, sha512, entries
        )
    finally:
        close_entries(entries)
    log.info("pushed symbols of %s with key %s…", version, key.hint)
    return symbols


def _symbol_entries(upload, version: PackageVersion):
    """The portable PDBs of an uploaded `.snupkg`, each matched to a DLL or EXE of the
    version's `.nupkg` (packages/nupkg/symbols.py), or why they are refused."""
    try:
        with package_storage().open(version.file.name, "rb") as nupkg:
            return symbol_entries(upload, nupkg)
    except SymbolError as error:
        return Refusal("bad_symbols", error.reason, status=400)


# ----------------------------------------------------------------- unlist, relist


def set_listed(
    request, caller: Caller, package_id: str, version_text: str, listed: bool
) -> PackageVersion | Refusal:
    """Unlist (listed=False) or relist a version; doing it again changes nothing."""
    refusal = before_lookup(caller, Action.UNLIST, package_id)
    if refusal is None:
        registration, _hidden = _registration(caller, package_id)
        refusal = permit(caller, Action.UNLIST, package_id, registration)
    if refusal:
        return replace(refusal, package_id=package_id)
    try:
        identity = NuGetVersion.of(version_text).identity_key
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
    lifecycle.set_listed(lifecycle.Actor.of_key(request, caller.key), version, listed)
    return version
