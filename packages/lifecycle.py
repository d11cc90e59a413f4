"""Every change to a package version goes through this module.

A push, a symbol push, an unlist or relist and a deletion for good each come from
several places (the publish API, the Manage page, the admin; later upstream
caching and retention). Whoever asks, the change is made here, the same way:

1. lock the package registration's row, so that changes to one package follow
   each other (two racing unlists: one changes, one finds nothing to do);
2. write conditionally (a row is created only if its version is new, a version is
   unlisted only if it is listed), so that nothing is recorded twice;
3. record the audit event, shown to the acting account and every owner of the
   package (`package_subjects`);
4. bump the registration's `revision`, which every derived document is keyed on
   (the feed's memo and ETags); a push, which changes the package whatever its
   row says, locks the row by bumping it (one statement instead of two);
5. write the search rows in the same transaction (they are database rows: search
   never disagrees with the feed), and after the transaction, the files (the
   stored manifest, files of a deleted version);
6. keep the links nginx sends public packages from (packages/public_files.py):
   made in a push's transaction, removed in a deletion's, under the row lock.

No model signal keeps derived package state in sync: callers are the publish
flow, the Manage page's listing flow and the admin, each a thin caller.
Authorization is the caller's (it knows the key or the session); this module
assumes the actor may do what it asks.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from django.core.files.base import ContentFile, File
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from audit.events import Kind, record
from core.after_response import after_response
from core.statements import prefetched
from packages import downloads, permissions, public_files
from packages.models import PackageRegistration, PackageVersion, SymbolFile, SymbolPackage
from packages.search import rows as search_rows
from packages.storage import deferred_syncs, package_storage, unique_name

log = logging.getLogger("galley.packages")


class Channel(enum.StrEnum):
    """Where a change came from (kept in the audit record as `via`)."""

    API = "api"
    WEB = "web"
    ADMIN = "admin"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """Who changes a package: an account (None for the system), the key it used
    (None for a session), the channel, and the request for the audit record."""

    user: object | None
    channel: Channel
    key: object | None = None
    request: object | None = None

    @classmethod
    def of_key(cls, request, key) -> Actor:
        return cls(user=key.holder, channel=Channel.API, key=key, request=request)

    @classmethod
    def of_session(cls, request, channel: Channel = Channel.WEB) -> Actor:
        return cls(user=request.user, channel=channel, request=request)


class Conflict(Exception):
    """A concurrent push stored the same version, or registered the same new id, first."""


# --------------------------------------------------------------------- helpers


def _locked(registration_id: int) -> PackageRegistration:
    """The registration's row, locked until the transaction ends (PostgreSQL; a
    no-op on SQLite, whose writers are serialised anyway)."""
    return PackageRegistration.objects.select_for_update().get(pk=registration_id)


# A fixed statement: a push runs it on every request (docs/benchmarks.md).
BUMP_SQL = "UPDATE packages_packageregistration SET revision = revision + 1 WHERE id = %s"


def _bumped(registration_id: int) -> None:
    """Lock the registration's row by bumping its revision: `_locked` and the bump of
    `_changed` in one statement, for a change that happens whatever the row says."""
    with connection.cursor() as cursor:
        cursor.execute(BUMP_SQL, [registration_id])


def _changed(registration: PackageRegistration, *, bumped: bool = False) -> None:
    """Bump the revision (unless `_bumped` did) and write the search rows again,
    inside the transaction."""
    if not bumped:
        _bumped(registration.pk)
    search_rows.refresh([registration.pk], locked=True)


def package_subjects(registration, actor=None) -> list:
    """Whose security log shows an event about a package, one rule for every change
    (README): the package's owners when it happens (organizations, their
    administrators and the owners who are people), by id, and the acting account."""
    return [*permissions.account_ids_owning(registration), actor]


def _record(kind: str, actor: Actor, registration, version_text: str, **details) -> None:
    record(
        kind,
        request=actor.request,
        key=actor.key,
        user=actor.user,
        actor=actor.user,
        subjects=package_subjects(registration, actor.user),
        package_id=registration.package_id,
        package_version=version_text,
        via=actor.channel.value,
        **details,
    )


def touch(registration_ids) -> None:
    """For versions written around this module (test data, a bulk import by hand):
    bump their registrations' revisions and write their search rows again."""
    ids = sorted(set(registration_ids))
    with transaction.atomic():
        PackageRegistration.objects.filter(pk__in=ids).update(revision=F("revision") + 1)
        search_rows.refresh(ids)


# ------------------------------------------------------------------------ push


def manifest_fields(manifest) -> dict:
    """The PackageVersion fields a push reads from its manifest."""
    return {
        "version": manifest.version.normalized,
        "normalized_version": manifest.version.identity_key,
        "original_version": manifest.original_version,
        "description": manifest.description,
        "authors": manifest.authors[:4000],
        "title": manifest.title[:256],
        "summary": manifest.summary,
        "tags": manifest.tags[:4000],
        "project_url": manifest.project_url[:2000],
        "icon_url": manifest.icon_url[:2000],
        "license_url": manifest.license_url[:2000],
        "license_expression": manifest.license_expression[:500],
        "require_license_acceptance": manifest.require_license_acceptance,
        "min_client_version": manifest.min_client_version[:64],
        "dependency_groups": [
            {
                "targetFramework": group.target_framework,
                "dependencies": [{"id": i, "range": r} for i, r in group.dependencies],
            }
            for group in manifest.dependency_groups
        ],
        "package_types": f" {' '.join(manifest.package_types)} " if manifest.package_types else "",
        "readme": manifest.readme,
        "release_notes": manifest.release_notes,
        "icon_file": manifest.icon_file[:500],
        "license_file": manifest.license_file[:500],
        "lib_frameworks": list(manifest.lib_frameworks),
        "is_prerelease": manifest.version.is_prerelease,
        "is_semver2": manifest.is_semver2,
    }


def add_version(
    actor: Actor, manifest, upload, fields: dict, registration=None, owner=None
) -> PackageVersion:
    """Store a new version (its file first, then its row).

    `registration` is the one the caller authorized the push against (and found the
    version new in); None for a new id, which is registered to `owner`. `fields` are
    the PackageVersion fields beyond `manifest_fields` (size, hash, who pushed).
    Raises Conflict when another push stored the version or registered the id
    since; never leaves a file without its row nor a row without its file.
    """
    identity = manifest.version.identity_key
    storage = package_storage()
    # The file reaches the disk while its rows are written, and before they commit.
    with deferred_syncs() as synced:
        name = storage.save(unique_name(storage, f"{manifest.id.lower()}/{identity}.nupkg"), upload)
        version = _insert_version(
            storage, name, actor, manifest, fields, registration, owner, synced
        )
    # The client waits for none of it: the feed reads the manifest out of the
    # package until its copy is written (packages/feed.py read_nuspec).
    nuspec = manifest.nuspec
    after_response(lambda: _store_manifest(version, nuspec))
    return version


def _insert_version(storage, name, actor, manifest, fields, registration, owner, synced):
    """The rows of a stored file (`name`); the file removed if they cannot be written."""
    try:
        with transaction.atomic():
            bumped = registration is not None
            if registration is None:
                registration = PackageRegistration.objects.create(package_id=manifest.id)
                registration.owners.add(owner)
                prefetched(registration, "owners", [owner])  # known: no query to read them
            else:
                # The caller found the version new; the unique constraint answers
                # a push that stored it since (IntegrityError below), and a
                # registration deleted since leaves the version without its row
                # (IntegrityError too).
                # (owners prefetched by the publish flow: no query)
                ownerless = owner is not None and not registration.owners.all()
                _bumped(registration.pk)
                if ownerless:
                    # An id cached from an upstream, taken over with an administrator's
                    # UpstreamAllowance (packages/upstreams/rules.py): its first pusher owns it.
                    registration.owners.add(owner)
            version = PackageVersion.objects.create(
                registration=registration, file=name, **manifest_fields(manifest), **fields
            )
            _changed(registration, bumped=bumped)
            _record(Kind.PACKAGE_PUSHED, actor, registration, version.version)
            synced()  # the file on the disk before its row commits
            # Under the row lock, so that no deletion can come between the link and the row.
            public_files.publish(version)
    except IntegrityError:
        # Another push of the same id, or of the same version, committed between
        # the caller's checks and this insert.
        storage.delete(name)
        raise Conflict from None
    except BaseException:
        storage.delete(name)
        raise
    return version


def manifest_name(version: PackageVersion) -> str:
    """Where a version's .nuspec is stored: beside its .nupkg."""
    name = version.file.name
    return (name[: -len(".nupkg")] if name.endswith(".nupkg") else name) + ".nuspec"


def _store_manifest(version: PackageVersion, nuspec: bytes) -> None:
    """Keep the manifest beside the package, byte for byte, for the .nuspec download.

    Never fails a push that is already stored: without this file the feed reads
    the manifest out of the package instead.
    """
    storage = package_storage()
    name = manifest_name(version)
    try:
        if storage.exists(name):  # left by a push that failed after writing it
            storage.delete(name)
        storage.save(name, ContentFile(nuspec))
    except Exception:
        log.exception("could not store the nuspec of %s", version)


# --------------------------------------------------------------------- symbols


def add_symbols(actor: Actor, version: PackageVersion, upload, size: int, sha512: str, entries=()):
    """Store a `.snupkg` for `version` and its portable PDBs (`entries`, from
    packages/nupkg/symbols.py), replacing earlier symbols (nuget.org allows it):
    the new files under names of their own, the rows pointed at them in one
    transaction, and only then the old files removed. Either every new row and
    file is there, or none (a failure removes the files this call saved)."""
    storage = package_storage()
    folder = f"{version.registration.normalized_id}/{version.normalized_version}"
    saved = [storage.save(unique_name(storage, f"{folder}.snupkg"), upload)]
    try:
        for entry in entries:
            entry.content.seek(0)
            base = f"{folder}.symbols/{entry.key}/{entry.name}"
            saved.append(storage.save(unique_name(storage, base), File(entry.content)))
        with transaction.atomic():
            registration = _locked(version.registration_id)
            previous = SymbolPackage.objects.filter(version=version).first()
            old_names = _symbol_file_names(previous) if previous else []
            symbols, _created = SymbolPackage.objects.update_or_create(
                version=version,
                defaults={
                    "size": size,
                    "sha512": sha512,
                    "file": saved[0],
                    "pushed_by": actor.user,
                },
            )
            SymbolFile.objects.filter(symbols=symbols).delete()
            SymbolFile.objects.bulk_create(
                SymbolFile(symbols=symbols, file=name, **_symbol_file_fields(entry))
                for entry, name in zip(entries, saved[1:], strict=True)
            )
            _changed(registration)
            _record(Kind.SYMBOLS_PUSHED, actor, registration, version.version)
    except BaseException:
        for name in saved:
            storage.delete(name)
        raise
    _delete_files([name for name in old_names if name not in saved], version)
    return symbols


def _symbol_file_fields(entry) -> dict:
    return {
        "path": entry.path[:500],
        "name": entry.name[:255],
        "key": entry.key,
        "size": entry.size,
        "sha256": entry.sha256,
        "checksum": entry.checksum,
    }


def _symbol_file_names(symbols: SymbolPackage) -> list[str]:
    """The storage names of a symbol package and of its extracted PDBs."""
    return [symbols.file.name, *symbols.files.values_list("file", flat=True)]


def _delete_files(names, version) -> None:
    """Remove files whose rows are gone; one that cannot be removed is left behind,
    unreachable, and logged."""
    storage = package_storage()
    for name in names:
        try:
            storage.delete(name)
        except Exception:
            log.exception("could not delete %s of %s", name, version)


# ---------------------------------------------------------------------- listing


def set_listed(actor: Actor, version: PackageVersion, listed: bool) -> bool:
    """List or unlist one version; True if it changed. Doing it again, or at the
    same moment from elsewhere, changes and records nothing.

    A version cached from an upstream follows the upstream's listing (the system
    actor, when its metadata is read again: packages/upstreams/cache.py) until a
    person here lists or unlists it; from then on their decision is kept, and the
    system's changes to it are none."""
    fields = {"listed": listed}
    found = PackageVersion.objects.filter(pk=version.pk, listed=not listed)
    if actor.channel is Channel.SYSTEM:
        found = found.filter(listing_set_here=False)
    elif version.upstream:
        fields["listing_set_here"] = True
    with transaction.atomic():
        registration = _locked(version.registration_id)
        changed = found.update(**fields)
        if changed:
            _changed(registration)
            details = {"upstream": version.upstream} if actor.channel is Channel.SYSTEM else {}
            _record(
                Kind.PACKAGE_RELISTED if listed else Kind.PACKAGE_UNLISTED,
                actor,
                registration,
                version.version,
                **details,
            )
    if changed or actor.channel is not Channel.SYSTEM:
        version.listed = listed
        version.listing_set_here = fields.get("listing_set_here", version.listing_set_here)
    return bool(changed)


# --------------------------------------------------------------------- deletion


def version_files(version: PackageVersion) -> list[str]:
    """Storage names of every file kept for a version."""
    names = [version.file.name, manifest_name(version)]
    symbols = SymbolPackage.objects.filter(version=version).first()
    if symbols is not None:
        names.extend(_symbol_file_names(symbols))
    return names


def delete_version(
    actor: Actor, version: PackageVersion, reason: str, kind: str = Kind.PACKAGE_DELETED
) -> bool:
    """Delete a version for good (malware, a leaked secret): its row, its files
    (.nupkg, .nuspec, symbols and their extracted PDBs) and its pending download count. True if this call
    deleted it (a concurrent deletion leaves nothing for the second)."""
    with transaction.atomic():
        registration = _locked(version.registration_id)
        version = PackageVersion.objects.filter(pk=version.pk).first()
        if version is None:
            return False
        names = version_files(version)
        pk = version.pk
        version.registration = registration
        public_files.withdraw(version)  # nginx stops sending it before the row goes
        PackageVersion.objects.filter(pk=pk).delete()  # its SymbolPackage row goes with it
        _changed(registration)
        _record(kind, actor, registration, version.version, reason=reason, sha512=version.sha512)
    # Files go after the rows are gone: the feed answers 404 from that moment, and
    # a file that cannot be removed is left behind unreachable, logged, rather than
    # a row left pointing at a missing file.
    _delete_files(names, version)
    downloads.forget_downloads(pk)
    return True


# ------------------------------------------------------------------ deprecation


@dataclass(frozen=True)
class Deprecation:
    """What nuget.org's Manage page sets on a version: the reasons ("Legacy",
    "CriticalBugs", "Other"; none to undeprecate), a message, and an alternate
    package (an id, and a version or "" for any)."""

    reasons: tuple[str, ...] = ()
    message: str = ""
    alternate_id: str = ""
    alternate_version: str = ""

    def fields(self) -> dict:
        return {
            "deprecation_reasons": list(self.reasons),
            "deprecation_message": self.message if self.reasons else "",
            "deprecation_alternate_id": self.alternate_id if self.reasons else "",
            "deprecation_alternate_version": self.alternate_version if self.reasons else "",
        }


def set_deprecation(actor: Actor, versions, deprecation: Deprecation) -> list[PackageVersion]:
    """Deprecate (or, with no reasons, undeprecate) versions of one package; returns
    those that changed. Versions already in that state change and record nothing."""
    versions = list(versions)
    if not versions:
        return []
    fields = deprecation.fields()
    changed = []
    with transaction.atomic():
        registration = _locked(versions[0].registration_id)
        for version in PackageVersion.objects.filter(
            pk__in=[v.pk for v in versions], registration=registration
        ):
            if all(getattr(version, name) == value for name, value in fields.items()):
                continue
            PackageVersion.objects.filter(pk=version.pk).update(**fields)
            changed.append(version)
            _record(
                Kind.PACKAGE_DEPRECATED if deprecation.reasons else Kind.PACKAGE_UNDEPRECATED,
                actor,
                registration,
                version.version,
                **({"reasons": list(deprecation.reasons)} if deprecation.reasons else {}),
            )
        if changed:
            _changed(registration)
    return changed


# -------------------------------------------------------------------- upstreams
# Versions fetched from an upstream source (packages/upstreams/) are stored like
# pushed ones, marked with their upstream, under a registration without owners.


def cache_upstream_version(
    actor: Actor, manifest, upload, fields: dict, upstream: str, listed: bool
) -> PackageVersion:
    """Store a version fetched from `upstream` (checked by the caller: a safe package
    whose id and version are the ones asked for). Never gives the package an owner.
    Raises Conflict when another request cached (or pushed) the version first."""
    identity = manifest.version.identity_key
    storage = package_storage()
    name = storage.save(unique_name(storage, f"{manifest.id.lower()}/{identity}.nupkg"), upload)
    try:
        with transaction.atomic():
            registration, _created = PackageRegistration.objects.get_or_create(
                normalized_id=manifest.id.lower(), defaults={"package_id": manifest.id}
            )
            registration = _locked(registration.pk)
            version = PackageVersion.objects.create(
                registration=registration,
                file=name,
                upstream=upstream,
                listed=listed,
                last_used=timezone.now(),  # fetched to be served at once
                **manifest_fields(manifest),
                **fields,
            )
            _changed(registration)
            _record(Kind.UPSTREAM_CACHED, actor, registration, version.version, upstream=upstream)
    except IntegrityError:
        storage.delete(name)
        raise Conflict from None
    except BaseException:
        storage.delete(name)
        raise
    nuspec = manifest.nuspec  # written once the client has the package, as for a push
    after_response(lambda: _store_manifest(version, nuspec))
    return version


def block_upstream_version(actor: Actor, version: PackageVersion, reason: str) -> bool:
    """Block a cached upstream version: never served nor fetched again, and its files
    removed from storage. True if this call removed it."""
    from packages.upstreams.models import BlockedUpstreamVersion

    BlockedUpstreamVersion.objects.get_or_create(
        normalized_id=version.registration.normalized_id,
        normalized_version=version.normalized_version,
        defaults={"reason": reason},
    )
    return delete_version(actor, version, reason, kind=Kind.UPSTREAM_BLOCKED)


def prune_upstream_version(actor: Actor, version: PackageVersion) -> bool:
    """Remove a cached upstream version unused for long (prune_upstream_cache): it is
    fetched again if it is ever asked for."""
    if not version.upstream:
        return False
    return delete_version(actor, version, "unused cached upstream version")


def mark_used(version: PackageVersion, now) -> None:
    """Note when a cached upstream version was served, at most once an hour."""
    if version.upstream and (
        version.last_used is None or (now - version.last_used).total_seconds() > 3600
    ):
        PackageVersion.objects.filter(pk=version.pk).update(last_used=now)
        version.last_used = now
