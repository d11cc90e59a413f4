"""Registration documents (RegistrationsBaseUrl): a package's index, its pages past
128 versions and each version's leaf, with the catalog entries clients read
metadata from.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from packages import advisories
from packages.feed import (
    Document,
    FeedError,
    _versions_of,
    find_version,
    full_version,
    memoised_json,
    parse_version,
)
from packages.models import PackageVersion

# nuget.org inlines the pages of a registration index up to 128 versions and,
# beyond, links pages of 64 that clients fetch one by one.
INLINE_THRESHOLD = 128
PAGE_SIZE = 64
# What nuget.org writes as the publication date of an unlisted version.
UNLISTED_PUBLISHED = "1900-01-01T00:00:00+00:00"


@dataclass(frozen=True)
class Links:
    """Absolute URL prefixes, worked out once per request (reverse() per item is slow)."""

    registrations: str  # …/v3/registration/
    content: str  # …/v3-flatcontainer/

    def index(self, lower_id: str) -> str:
        return f"{self.registrations}{lower_id}/index.json"

    def leaf(self, version: PackageVersion) -> str:
        return f"{self.registrations}{version.registration.normalized_id}/{version.normalized_version}.json"

    def page(self, lower_id: str, lower: str, upper: str) -> str:
        return f"{self.registrations}{lower_id}/page/{lower}/{upper}.json"

    def nupkg(self, version: PackageVersion) -> str:
        lower_id, lower_version = version.registration.normalized_id, version.normalized_version
        return f"{self.content}{lower_id}/{lower_version}/{lower_id}.{lower_version}.nupkg"


def published(version: PackageVersion) -> str:
    return UNLISTED_PUBLISHED if not version.listed else version.created.isoformat()


def deprecation(version: PackageVersion) -> dict | None:
    """The catalog entry's `deprecation` (registration-base-url-resource.md, "Package
    deprecation"; NuGet.Client's PackageDeprecationMetadata), None if not deprecated."""
    if not version.deprecation_reasons:
        return None
    document = {"reasons": list(version.deprecation_reasons)}
    if version.deprecation_message:
        document["message"] = version.deprecation_message
    if version.deprecation_alternate_id:
        # "The allowed version range, or `*` if any version is allowed": nuget.org
        # writes a chosen version as the range of it and later versions.
        version_text = version.deprecation_alternate_version
        document["alternatePackage"] = {
            "id": version.deprecation_alternate_id,
            "range": f"[{version_text}, )" if version_text else "*",
        }
    return document


def catalog_entry(version: PackageVersion, links: Links, vulnerabilities=()) -> dict:
    """The fields of a version that NuGet clients read (the registration's catalogEntry);
    `vulnerabilities`, the version's (advisories.vulnerabilities_by_version)."""
    entry = {
        "@id": links.leaf(version),
        "@type": "PackageDetails",
        "id": version.registration.package_id,
        "version": full_version(version),
        "listed": version.listed,
        "published": published(version),
        "description": version.description,
        "authors": version.authors,
        "title": version.title,
        "summary": version.summary,
        "tags": version.tags.split(),
        "projectUrl": version.project_url,
        "iconUrl": version.icon_url,
        "licenseUrl": version.license_url,
        "licenseExpression": version.license_expression,
        "requireLicenseAcceptance": version.require_license_acceptance,
        "language": "",
        "packageContent": links.nupkg(version),
        "dependencyGroups": [
            {
                "@type": "PackageDependencyGroup",
                **({"targetFramework": g["targetFramework"]} if g["targetFramework"] else {}),
                "dependencies": [
                    {
                        "@type": "PackageDependency",
                        "id": d["id"],
                        "range": d["range"],
                        "registration": links.index(d["id"].lower()),
                    }
                    for d in g["dependencies"]
                ],
            }
            for g in version.dependency_groups
        ],
    }
    if version.min_client_version:
        entry["minClientVersion"] = version.min_client_version
    if (deprecated := deprecation(version)) is not None:
        entry["deprecation"] = deprecated
    if vulnerabilities:
        entry["vulnerabilities"] = list(vulnerabilities)
    return entry


def _leaf(version: PackageVersion, links: Links, vulnerable: dict) -> dict:
    return {
        "@id": links.leaf(version),
        "@type": "Package",
        "catalogEntry": catalog_entry(version, links, vulnerable.get(version.pk, ())),
        "packageContent": links.nupkg(version),
        "registration": links.index(version.registration.normalized_id),
    }


def _pages(versions: list[PackageVersion]) -> list[list[PackageVersion]]:
    if len(versions) <= INLINE_THRESHOLD:
        return [versions]
    return [versions[start : start + PAGE_SIZE] for start in range(0, len(versions), PAGE_SIZE)]


def _page(registration, page, links: Links, *, inline: bool) -> dict:
    lower, upper = page[0].normalized_version, page[-1].normalized_version
    index_url = links.index(registration.normalized_id)
    document = {
        "@id": f"{index_url}#page/{lower}/{upper}"
        if inline
        else links.page(registration.normalized_id, lower, upper),
        "@type": "catalog:CatalogPage",
        "count": len(page),
        "lower": lower,
        "upper": upper,
    }
    if inline:  # "parent" only with "items", as documented
        vulnerable = advisories.vulnerabilities_by_version(registration, page)
        document["items"] = [_leaf(version, links, vulnerable) for version in page]
        document["parent"] = index_url
    return document


def registration_index(package_id: str, reader, links: Links, registration=None) -> dict:
    """Every version's metadata, inline for up to 128 versions, else in linked pages.

    One hive with every version, SemVer 2.0.0 ones included, answers for every
    RegistrationsBaseUrl type: nuget.org keeps SemVer 2.0.0 out of its older hives
    for clients older than NuGet 4.3, which cannot restore them anyway.
    """
    registration, versions = _versions_of(package_id, reader, registration)
    pages = _pages(versions)
    inline = len(pages) == 1
    return {
        "@id": links.index(registration.normalized_id),
        "@type": ["catalog:CatalogRoot", "PackageRegistration", "catalog:Permalink"],
        "count": len(pages),
        "items": [_page(registration, page, links, inline=inline) for page in pages],
    }


def registration_page(
    package_id: str, lower: str, upper: str, reader, links: Links, registration=None
) -> dict:
    """One linked page of a registration index with more than 128 versions."""
    parse_version(lower), parse_version(upper)
    registration, versions = _versions_of(package_id, reader, registration)
    for page in _pages(versions):
        if (page[0].normalized_version, page[-1].normalized_version) == (
            lower.lower(),
            upper.lower(),
        ):
            return {
                **_page(registration, page, links, inline=True),
                "@id": links.page(registration.normalized_id, lower.lower(), upper.lower()),
            }
    raise FeedError(404, _("The page does not exist."))


def registration_leaf(
    package_id: str, version_text: str, reader, links: Links, registration=None
) -> dict:
    if registration is None:
        version = find_version(package_id, version_text, reader)
    else:  # a registration the reader was already found to read (memoised_json)
        identity = parse_version(version_text).identity_key
        version = registration.versions.filter(normalized_version=identity).first()
        if version is None:
            raise FeedError(
                404,
                _("%(id)s %(version)s does not exist.")
                % {"id": package_id[:100], "version": version_text[:64]},
            )
        version.registration = registration
    return {
        "@id": links.leaf(version),
        "@type": ["Package", "http://schema.nuget.org/catalog#Permalink"],
        "catalogEntry": links.leaf(version),
        "listed": version.listed,
        "packageContent": links.nupkg(version),
        "published": published(version),
        "registration": links.index(version.registration.normalized_id),
    }


# Memoised as Documents (packages/feed.py memoised_json): built once per revision.


def registration_index_json(package_id: str, reader, links: Links) -> Document:
    return memoised_json(
        "registration",
        package_id,
        reader,
        links,
        lambda registration: registration_index(package_id, reader, links, registration),
    )


def registration_page_json(
    package_id: str, lower: str, upper: str, reader, links: Links
) -> Document:
    parse_version(lower), parse_version(upper)  # 400 before any query
    return memoised_json(
        "page",
        package_id,
        reader,
        links,
        lambda registration: registration_page(
            package_id, lower, upper, reader, links, registration
        ),
        lower.lower(),
        upper.lower(),
    )


def registration_leaf_json(package_id: str, version_text: str, reader, links: Links) -> Document:
    identity = parse_version(version_text).identity_key  # 400 before any query
    return memoised_json(
        "leaf",
        package_id,
        reader,
        links,
        lambda registration: registration_leaf(
            package_id, version_text, reader, links, registration
        ),
        identity,
    )
