"""Security advisories: imported from the GitHub Advisory Database's OSV files,
matched against versions, and served as NuGet's VulnerabilityInfo resource and the
registration's `vulnerabilities`.

An administrator points `import_advisories PATH` at a folder, a .zip or a .tar.gz
of OSV JSON files (the database's `advisories/github-reviewed/` tree, as
published). The command hands the import to a django-tasks task, so a request
never waits for it. An import is idempotent (rows that did not change are not
written again), bounded (GALLEY_ADVISORIES_MAX_FILES files of at most
GALLEY_ADVISORIES_MAX_FILE_BYTES each), and skips and reports each malformed file.
Only the revisions of the packages whose advisories changed are bumped
(lifecycle.touch), so their registration documents are built again.
"""

from __future__ import annotations

import json
import logging
import tarfile
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django_tasks import task

from audit.events import Kind, record
from packages import lifecycle
from packages.models import Advisory, PackageRegistration
from packages.nupkg import NuGetVersion

log = logging.getLogger("galley.advisories")

SEVERITIES = {"LOW": 0, "MODERATE": 1, "MEDIUM": 1, "HIGH": 2, "CRITICAL": 3}
VULNERABILITY_PAGE = "base"  # the one data file the index lists (vulnerability-info.md)


def _max_files() -> int:
    return getattr(settings, "GALLEY_ADVISORIES_MAX_FILES", 100_000)


def _max_file_bytes() -> int:
    return getattr(settings, "GALLEY_ADVISORIES_MAX_FILE_BYTES", 1 << 20)


# ------------------------------------------------------------------- reading


class SourceError(Exception):
    """The advisory source as a whole cannot be read (missing, not an archive, too many files)."""


def _too_many() -> SourceError:
    return SourceError(f"more than {_max_files()} advisory files")


def _folder_files(root: Path):
    for count, path in enumerate(sorted(root.rglob("*.json")), start=1):
        if count > _max_files():
            raise _too_many()
        if path.stat().st_size > _max_file_bytes():
            yield str(path.relative_to(root)), None
        else:
            yield str(path.relative_to(root)), path.read_bytes()


def _zip_files(path: Path):
    with zipfile.ZipFile(path) as archive:
        members = [i for i in archive.infolist() if i.filename.endswith(".json")]
        if len(members) > _max_files():
            raise _too_many()
        for info in members:
            # file_size is what the archive claims; the read is capped as well.
            if info.file_size > _max_file_bytes():
                yield info.filename, None
                continue
            with archive.open(info) as member:
                data = member.read(_max_file_bytes() + 1)
            yield info.filename, data if len(data) <= _max_file_bytes() else None


def _tar_files(path: Path):
    count = 0
    with tarfile.open(path, "r:*") as archive:
        for member in archive:
            if not (member.isfile() and member.name.endswith(".json")):
                continue
            count += 1
            if count > _max_files():
                raise _too_many()
            if member.size > _max_file_bytes():
                yield member.name, None
                continue
            yield member.name, archive.extractfile(member).read(_max_file_bytes() + 1)


def source_files(path: str):
    """(name, bytes or None when too large) for each .json file of a folder or archive."""
    source = Path(path)
    if source.is_dir():
        return _folder_files(source)
    name = source.name.lower()
    if not source.is_file():
        raise SourceError(f"{path} is neither a folder nor a file")
    if name.endswith(".zip"):
        return _zip_files(source)
    if name.endswith((".tar.gz", ".tgz", ".tar")):
        return _tar_files(source)
    raise SourceError(f"{path} is not a folder, a .zip or a .tar.gz")


# ------------------------------------------------------------------- parsing


def _intervals(affected: dict) -> list[dict]:
    """The affected intervals of one OSV `affected` entry: each {"introduced": v} with
    "fixed" or "last_affected" when the range ends; versions checked with NuGet's grammar."""
    intervals = []
    for osv_range in affected.get("ranges") or []:
        if osv_range.get("type") not in ("ECOSYSTEM", "SEMVER"):
            continue
        current: dict | None = None
        for event in osv_range.get("events") or []:
            (kind, value), *_rest = event.items()
            if kind not in ("introduced", "fixed", "last_affected"):
                raise ValueError(f"unknown range event {kind!r}")
            if value != "0":
                NuGetVersion.of(str(value))  # ValueError when it is not a NuGet version
            if kind == "introduced":
                current = {"introduced": str(value)}
                intervals.append(current)
            elif current is not None:
                current[kind] = str(value)
                current = None
    return intervals


def parse_osv(document: dict) -> list[dict]:
    """The Advisory rows (as field dicts) an OSV advisory gives for NuGet packages;
    ValueError when it is malformed."""
    if not isinstance(document, dict) or not isinstance(document.get("id"), str):
        raise ValueError("no advisory id")
    specific = document.get("database_specific") or {}
    severity = SEVERITIES.get(str(specific.get("severity", "")).upper())
    if severity is None:
        raise ValueError(f"unknown severity {specific.get('severity')!r}")
    url = f"https://github.com/advisories/{document['id']}"
    rows = {}
    for affected in document.get("affected") or []:
        package = affected.get("package") or {}
        if package.get("ecosystem") != "NuGet":
            continue
        name = str(package.get("name") or "").strip()
        if not name or len(name) > 100:
            raise ValueError("a NuGet package without a valid name")
        row = rows.setdefault(
            name.lower(),
            {
                "advisory_id": document["id"][:100],
                "package_id": name,
                "normalized_id": name.lower(),
                "url": url,
                "severity": severity,
                "ranges": [],
                "withdrawn": bool(document.get("withdrawn")),
                "modified": str(document.get("modified", ""))[:40],
            },
        )
        row["ranges"].extend(_intervals(affected))
    return list(rows.values())


# ------------------------------------------------------------------ importing


@dataclass
class ImportReport:
    files: int = 0
    written: int = 0
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _rows_of(name: str, data: bytes | None, report: ImportReport) -> list[dict]:
    report.files += 1
    if data is None:
        report.skipped.append((name, "larger than GALLEY_ADVISORIES_MAX_FILE_BYTES"))
        return []
    try:
        return parse_osv(json.loads(data))
    except (ValueError, TypeError, AttributeError, UnicodeDecodeError) as error:
        report.skipped.append((name, str(error)[:200] or type(error).__name__))
        return []


def _store(row: dict) -> bool:
    """Write one advisory row if it is new or changed; True if written."""
    key = {"advisory_id": row["advisory_id"], "normalized_id": row["normalized_id"]}
    current = Advisory.objects.filter(**key).first()
    fields = {name: value for name, value in row.items() if name not in key}
    if current is not None and all(getattr(current, k) == v for k, v in fields.items()):
        return False
    Advisory.objects.update_or_create(**key, defaults=fields)
    return True


def import_advisories(path: str) -> ImportReport:
    """Read every OSV file of `path` and store its NuGet advisories (see the module)."""
    report = ImportReport()
    changed_ids = set()
    for name, data in source_files(path):
        for row in _rows_of(name, data, report):
            with transaction.atomic():
                if _store(row):
                    report.written += 1
                    changed_ids.add(row["normalized_id"])
                else:
                    report.unchanged += 1
    for name, reason in report.skipped:
        log.warning("advisory file %s skipped: %s", name, reason)
    registrations = PackageRegistration.objects.filter(normalized_id__in=changed_ids)
    lifecycle.touch(registrations.values_list("pk", flat=True))
    record(
        Kind.ADVISORIES_IMPORTED,
        files=report.files,
        written=report.written,
        skipped=len(report.skipped),
    )
    return report


@task()
def import_advisories_task(path: str) -> dict:
    """The task the import_advisories command enqueues (or runs at once)."""
    report = import_advisories(path)
    return {"files": report.files, "written": report.written, "skipped": report.skipped}


# ------------------------------------------------------------------- matching


def _contains(interval: dict, version: NuGetVersion) -> bool:
    introduced = interval.get("introduced", "0")
    if introduced != "0" and version < NuGetVersion.of(introduced):
        return False
    if "fixed" in interval:
        return version < NuGetVersion.of(interval["fixed"])
    if "last_affected" in interval:
        return version <= NuGetVersion.of(interval["last_affected"])
    return True


def affects(advisory: Advisory, version_text: str) -> bool:
    version = NuGetVersion.of(version_text)
    return any(_contains(interval, version) for interval in advisory.ranges)


def vulnerabilities_by_version(registration, versions) -> dict[int, list[dict]]:
    """{version pk: the registration's `vulnerabilities` objects} (one query)."""
    advisories = list(
        Advisory.objects.filter(normalized_id=registration.normalized_id, withdrawn=False)
    )
    found = defaultdict(list)
    for version in versions:
        for advisory in advisories:
            if affects(advisory, version.version):
                found[version.pk].append(
                    {"advisoryUrl": advisory.url, "severity": str(advisory.severity)}
                )
    return found


def latest_vulnerabilities(latest_versions) -> dict[int, list[dict]]:
    """{version pk: the search result's `vulnerabilities`} for the latest versions of
    several packages (one query): `severity` a number there, a string in the registration."""
    by_id = defaultdict(list)
    ids = {version.registration.normalized_id for version in latest_versions}
    for advisory in Advisory.objects.filter(normalized_id__in=ids, withdrawn=False):
        by_id[advisory.normalized_id].append(advisory)
    return {
        version.pk: [
            {"advisoryUrl": advisory.url, "severity": advisory.severity}
            for advisory in by_id[version.registration.normalized_id]
            if affects(advisory, version.version)
        ]
        for version in latest_versions
    }


def version_range(interval: dict) -> str:
    """An OSV interval as a NuGet version range ("[1.0.0, 1.2.3)", "(, 2.0.0)")."""
    introduced = interval.get("introduced", "0")
    low = "(" if introduced == "0" else f"[{introduced}"
    if "fixed" in interval:
        return f"{low}, {interval['fixed']})"
    if "last_affected" in interval:
        return f"{low}, {interval['last_affected']}]"
    return f"{low}, )"


# --------------------------------------------------------- VulnerabilityInfo


def merge_upstream(page: dict) -> dict:
    """The hook for upstream sources: their VulnerabilityInfo data would be merged into
    `page` here ({lower id: [{url, severity, versions}]}), entries already present
    (same url and versions) kept once. No upstream is configured yet: unchanged."""
    return page


def vulnerability_page() -> dict:
    """The data file: {lower id: [{"url", "severity", "versions"}]} of every advisory in force."""
    page = defaultdict(list)
    for advisory in Advisory.objects.filter(withdrawn=False).order_by("normalized_id", "pk"):
        for interval in advisory.ranges:
            page[advisory.normalized_id].append(
                {
                    "url": advisory.url,
                    "severity": advisory.severity,
                    "versions": version_range(interval),
                }
            )
    return merge_upstream(dict(page))


def last_updated() -> str:
    """When the advisories last changed, as ISO 8601 in UTC (the index's `@updated`)."""
    latest = Advisory.objects.aggregate(latest=Max("imported"))["latest"]
    if latest is None:
        return "1970-01-01T00:00:00Z"
    return latest.strftime("%Y-%m-%dT%H:%M:%SZ")


def vulnerability_index(page_url: str) -> list[dict]:
    return [
        {
            "@name": VULNERABILITY_PAGE,
            "@id": page_url,
            "@updated": last_updated(),
            "comment": "Security advisories imported from the GitHub Advisory Database",
        }
    ]
