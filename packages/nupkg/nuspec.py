"""The manifest (.nuspec) of a package: its metadata read safely (defusedxml, no
DTDs or entities) and validated as nuget.org does: the id, the version, the
dependencies' ids and ranges."""

from __future__ import annotations

import re
from dataclasses import dataclass

import defusedxml
import defusedxml.ElementTree
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from packages.nupkg.errors import PackageError, shown
from packages.nupkg.version import (
    MAX_VERSION_LENGTH,
    NuGetVersion,
    is_semver2_version,
    normalized_range,
    range_bounds,
)

MAX_ID_LENGTH = 100
# NuGet's PackageIdValidator uses ``^\w+([.-]\w+)*$``; .NET's \w is Unicode-aware
# but nuget.org only accepts ASCII ids, and so do we.
_ID_RE = re.compile(r"[A-Za-z0-9_]+(?:[.-][A-Za-z0-9_]+)*")


def validate_package_id(text: str) -> str:
    """Return ``text`` unchanged if it is a valid NuGet package id, else raise ValueError."""
    if not text:
        raise ValueError(_("Package id must not be empty."))
    if len(text) > MAX_ID_LENGTH:
        raise ValueError(
            ngettext(
                # Translators: %(id)s is the package id as sent, in quotes (possibly cut
                # short with "..."); %(max)d is the longest length allowed.
                "Package id %(id)s is not valid: it is longer than %(max)d character.",
                "Package id %(id)s is not valid: it is longer than %(max)d characters.",
                MAX_ID_LENGTH,
            )
            % {"id": shown(text), "max": MAX_ID_LENGTH}
        )
    # fullmatch, not match with $: "$" would accept a trailing newline.
    if not _ID_RE.fullmatch(text):
        raise ValueError(
            _(
                # Translators: %(id)s is the package id as sent, in quotes (possibly cut
                # short with "..."). Keep the quoted '.' and '-' as they are.
                "Package id %(id)s is not valid: use only ASCII letters, digits and "
                "underscores, joined by single '.' or '-' characters."
            )
            % {"id": shown(text)}
        )
    return text


@dataclass(frozen=True)
class DependencyGroup:
    """The dependencies of one target framework ("" for a package-wide group)."""

    target_framework: str
    dependencies: tuple[tuple[str, str], ...]  # (id, NuGet version range)


@dataclass(frozen=True)
class PackageManifest:
    id: str
    version: NuGetVersion
    original_version: str  # the version exactly as written in the nuspec (stripped)
    description: str
    authors: str
    title: str
    summary: str = ""
    tags: str = ""  # space-separated, as in the nuspec
    project_url: str = ""
    icon_url: str = ""
    license_url: str = ""
    license_expression: str = ""
    require_license_acceptance: bool = False
    min_client_version: str = ""
    dependency_groups: tuple[DependencyGroup, ...] = ()
    package_types: tuple[str, ...] = ()
    release_notes: str = ""
    readme_file: str = ""  # <readme>: a file in the package
    icon_file: str = ""  # <icon>: a file in the package
    license_file: str = ""  # <license type="file">: a file in the package
    # Read from the archive, not the manifest (archive.read_package).
    readme: str = ""
    lib_frameworks: tuple[str, ...] = ()
    # The manifest as stored in the package, byte for byte (served as .nuspec).
    nuspec: bytes = b""

    @property
    def is_semver2(self) -> bool:
        """SemVer 2.0.0-only, as nuget.org decides: a dotted pre-release label or build
        metadata in the version, or in any dependency's range. Older clients cannot read
        these versions, which is why nuget.org keeps them out of its older hives."""
        if is_semver2_version(self.original_version):
            return True
        return any(
            is_semver2_version(bound)
            for group in self.dependency_groups
            for _id, range_text in group.dependencies
            for bound in range_bounds(range_text)
        )


def _local_name(tag: object) -> str:
    # Comments and processing instructions have non-string tags.
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def parse_nuspec(data: bytes) -> PackageManifest:
    """The manifest of a package from its .nuspec bytes, or PackageError saying why not."""
    metadata, namespace = _metadata(data)

    def text_of(name: str) -> str:
        element = metadata.find(namespace + name)
        if element is None or element.text is None:
            return ""
        return element.text.strip()

    package_id, version, original_version = _identity(text_of("id"), text_of("version"))
    license_element = metadata.find(namespace + "license")
    license_expression = license_file = ""
    if license_element is not None and license_element.get("type") == "expression":
        license_expression = (license_element.text or "").strip()
    if license_element is not None and license_element.get("type") == "file":
        license_file = (license_element.text or "").strip()
    return PackageManifest(
        id=package_id,
        version=version,
        original_version=original_version,
        description=text_of("description"),
        authors=text_of("authors"),
        title=text_of("title"),
        summary=text_of("summary"),
        tags=" ".join(text_of("tags").replace(",", " ").split()),
        project_url=text_of("projectUrl"),
        icon_url=text_of("iconUrl"),
        license_url=text_of("licenseUrl"),
        license_expression=license_expression,
        require_license_acceptance=text_of("requireLicenseAcceptance").lower() == "true",
        min_client_version=(metadata.get("minClientVersion") or "").strip(),
        dependency_groups=_dependency_groups(metadata, namespace),
        package_types=_package_types(metadata, namespace),
        release_notes=text_of("releaseNotes"),
        readme_file=text_of("readme"),
        icon_file=text_of("icon"),
        license_file=license_file,
        nuspec=data,
    )


def _metadata(data: bytes):
    """(<metadata>, its namespace) of well-formed .nuspec XML without DTDs or entities."""
    try:
        root = defusedxml.ElementTree.fromstring(data, forbid_dtd=True)
    except (
        defusedxml.DTDForbidden,
        defusedxml.EntitiesForbidden,
        defusedxml.ExternalReferenceForbidden,
    ) as exc:
        raise PackageError(
            _("The .nuspec contains a DTD or entity declaration, which is not allowed.")
        ) from exc
    except defusedxml.ElementTree.ParseError as exc:
        raise PackageError(
            # Translators: %(error)s is the XML parser's own description of the error,
            # in English, e.g. "mismatched tag: line 3, column 2".
            _("The .nuspec is not well-formed XML: %(error)s.") % {"error": exc}
        ) from exc
    if _local_name(root.tag) != "package":
        raise PackageError(_("The .nuspec root element must be <package>."))
    # Like NuGet's NuspecReader: <metadata> is found by local name (old tools put the
    # xmlns on <metadata> rather than <package>), and its children are read in
    # <metadata>'s own namespace, so look-alike elements from extensions are ignored.
    metadata = next((child for child in root if _local_name(child.tag) == "metadata"), None)
    if metadata is None:
        raise PackageError(_("The .nuspec has no <metadata> element."))
    return metadata, metadata.tag[: -len("metadata")]


def _identity(package_id: str, original_version: str) -> tuple[str, NuGetVersion, str]:
    """The id and version of a manifest, validated as nuget.org does."""
    if not package_id:
        raise PackageError(_("The .nuspec metadata has no <id>."))
    if not original_version:
        raise PackageError(_("The .nuspec metadata has no <version>."))
    try:
        validate_package_id(package_id)
        version = NuGetVersion.parse(original_version)
    except ValueError as exc:
        raise PackageError(str(exc)) from exc
    if len(version.normalized) > MAX_VERSION_LENGTH:
        # nuget.org refuses these too: the version's pages and URLs use its normal form.
        raise PackageError(
            _(
                # Translators: %(version)s is the version as written, %(normalized)s
                # its normal form (e.g. "1-beta" is "1.0.0-beta"), both in quotes.
                "Version %(version)s is not valid: its normal form %(normalized)s is "
                "longer than %(max)d characters."
            )
            % {
                "version": shown(original_version),
                "normalized": shown(version.normalized),
                "max": MAX_VERSION_LENGTH,
            }
        )
    return package_id, version, original_version


def _dependency_groups(metadata, namespace: str) -> tuple[DependencyGroup, ...]:
    """<dependencies> as NuGet reads it: <group> elements, or bare <dependency> elements
    that apply to every framework (the old, flat form)."""
    dependencies = metadata.find(namespace + "dependencies")
    if dependencies is None:
        return ()

    def entries(parent) -> tuple[tuple[str, str], ...]:
        return tuple(
            _dependency(element.get("id", "").strip(), element.get("version", ""))
            for element in parent.findall(namespace + "dependency")
        )

    groups = [
        DependencyGroup(group.get("targetFramework", "").strip(), entries(group))
        for group in dependencies.findall(namespace + "group")
    ]
    flat = entries(dependencies)
    if flat:
        groups.insert(0, DependencyGroup("", flat))
    return tuple(groups)


def _dependency(package_id: str, version_range: str) -> tuple[str, str]:
    """(id, normalised range) of a <dependency>, validated as a pushed package's own:
    its id becomes a link and a registration URL, its range is read by clients."""
    try:
        return validate_package_id(package_id), normalized_range(version_range)
    except ValueError as exc:
        raise PackageError(
            # Translators: %(reason)s is why, a whole sentence ("Package id 'a/b' is not valid: …").
            _("A dependency is not valid: %(reason)s") % {"reason": exc}
        ) from exc


def _package_types(metadata, namespace: str) -> tuple[str, ...]:
    types = metadata.find(namespace + "packageTypes")
    if types is None:
        return ()
    return tuple(
        name
        for element in types.findall(namespace + "packageType")
        if (name := element.get("name", "").strip())
    )
