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
   (the feed's memo and ETags);
5. write the search rows in the same transaction (they are database rows: search
   never disagrees with the feed), and after the transaction, the files (the
   stored manifest, files of a deleted version).

No model signal keeps derived package state in sync: callers are the publish
flow, the Manage page's listing flow and the admin, each a thin caller.
Authorization is the caller's (it knows the key or the session); this module
assumes the actor may do what it asks.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F

from audit.events import Kind, record
from core.after_response import after_response
from packages import downloads, permissions
from packages.models import PackageRegistration, PackageVersion, SymbolPackage
from packages.search import rows as search_rows
from packages.storage import package_storage, unique_name

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


def _changed(registration: PackageRegistration) -> None:
    """Bump the revision and write the search rows again, inside the transaction."""
    PackageRegistration.objects.filter(pk=registration.pk).update(revision=F("revision") + 1)
    search_rows.refresh([registration.pk], locked=True)


def package_subjects(registration, actor=None) -> list:
    """Whose security log shows an event about a package, one rule for every change
    (README): the package's owners when it happens (organizations, their
    administrators and the owners who are people) and the acting account."""
    return [*permissions.accounts_owning(registration), actor]


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
    name = storage.save(unique_name(storage, f"{manifest.id.lower()}/{identity}.nupkg"), upload)
    try:
        with transaction.atomic():
            if registration is None:
                registration = PackageRegistration.objects.create(package_id=manifest.id)
                registration.owners.add(owner)
            else:
                # The caller found the version new; the unique constraint answers
                # a push that stored it since (IntegrityError below).
                registration = _locked(registration.pk)
            version = PackageVersion.objects.create(
                registration=registration, file=name, **manifest_fields(manifest), **fields
            )
            _changed(registration)
            _record(Kind.PACKAGE_PUSHED, actor, registration, version.version)
    except IntegrityError:
        # Another push of the same id, or of the same version, committed between
        # the caller's checks and this insert.
        storage.delete(name)
        raise Conflict from None
    except BaseException:
        storage.delete(name)
        raise
    # The client waits for none of it: the feed reads the manifest out of the
    # package until its copy is written (packages/feed.py read_nuspec).
    nuspec = manifest.nuspec
    after_response(lambda: _store_manifest(version, nuspec))
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


def add_symbols(actor: Actor, version: PackageVersion, upload, size: int, sha512: str):
    """Store a `.snupkg` for `version`, replacing earlier symbols (nuget.org allows
    it): the new file under a name of its own, the row pointed at it, and only then
    the old file removed."""
    storage = package_storage()
    base = f"{version.registration.normalized_id}/{version.normalized_version}.snupkg"
    name = storage.save(unique_name(storage, base), upload)
    try:
        with transaction.atomic():
            registration = _locked(version.registration_id)
            previous = SymbolPackage.objects.filter(version=version).first()
            old_name = previous.file.name if previous else None
            symbols, _created = SymbolPackage.objects.update_or_create(
                version=version,
                defaults={"size": size, "sha512": sha512, "file": name, "pushed_by": actor.user},
            )
            _changed(registration)
            _record(Kind.SYMBOLS_PUSHED, actor, registration, version.version)
    except BaseException:
        storage.delete(name)
        raise
    if old_name and old_name != name:
        storage.delete(old_name)
    return symbols


# ---------------------------------------------------------------------- listing


def set_listed(actor: Actor, version: PackageVersion, listed: bool) -> bool:
    """List or unlist one version; True if it changed. Doing it again, or at the
    same moment from elsewhere, changes and records nothing."""
    with transaction.atomic():
        registration = _locked(version.registration_id)
        changed = PackageVersion.objects.filter(pk=version.pk, listed=not listed).update(
            listed=listed
        )
        if changed:
            _changed(registration)
            _record(
                Kind.PACKAGE_RELISTED if listed else Kind.PACKAGE_UNLISTED,
                actor,
                registration,
                version.version,
            )
    version.listed = listed
    return bool(changed)


# --------------------------------------------------------------------- deletion


def version_files(version: PackageVersion) -> list[str]:
    """Storage names of every file kept for a version."""
    names = [version.file.name, manifest_name(version)]
    symbols = SymbolPackage.objects.filter(version=version).first()
    if symbols is not None:
        names.append(symbols.file.name)
    return names


def delete_version(actor: Actor, version: PackageVersion, reason: str) -> bool:
    """Delete a version for good (malware, a leaked secret): its row, its files
    (.nupkg, .nuspec, symbols) and its pending download count. True if this call
    deleted it (a concurrent deletion leaves nothing for the second)."""
    with transaction.atomic():
        registration = _locked(version.registration_id)
        version = PackageVersion.objects.filter(pk=version.pk).first()
        if version is None:
            return False
        names = version_files(version)
        pk = version.pk
        PackageVersion.objects.filter(pk=pk).delete()  # its SymbolPackage row goes with it
        _changed(registration)
        _record(
            Kind.PACKAGE_DELETED,
            actor,
            registration,
            version.version,
            reason=reason,
            sha512=version.sha512,
        )
    # Files go after the rows are gone: the feed answers 404 from that moment, and
    # a file that cannot be removed is left behind unreachable, logged, rather than
    # a row left pointing at a missing file.
    storage = package_storage()
    for name in names:
        try:
            storage.delete(name)
        except Exception:
            log.exception("could not delete %s of the deleted version %s", name, version)
    downloads.forget_downloads(pk)
    return True
