"""Deprecation and known vulnerabilities, against gunicorn with production settings and
the real client (nuget.exe 5.8 on mono).

The owner deprecates 1.0.0 on the Manage page with an alternate package; the
registration then carries the `deprecation` object with the property names of
NuGet's docs (registration-base-url-resource.md, "Package deprecation" and
"Alternate package") and of NuGet.Client's model (NuGet.Protocol's
PackageDeprecationMetadata: "message", "reasons", "alternatePackage";
AlternatePackageMetadata: "id", "range"; PackageVulnerabilityMetadata:
"advisoryUrl", "severity"), checked against those names here, not against Galley's
output; and nuget.exe 5.8 still installs the deprecated version. An imported
advisory appears in VulnerabilityInfo and in the version's catalog entry, and leaves
both when it is withdrawn and imported again; a malformed advisory file is reported
and skipped.
"""

import json

import pytest
from django.core.management import call_command
from django.test import Client

from packages.models import PackageVersion
from tests.client.test_restore import explain, fetch, index, install, installed, said
from tests.factories import make_key

pytestmark = [pytest.mark.client, pytest.mark.django_db(transaction=True)]

LEGACY = "Contoso.Legacy"
# NuGet.Client's JSON property names (NuGet.Protocol's JsonProperties, as read by
# PackageDeprecationMetadata, AlternatePackageMetadata and PackageVulnerabilityMetadata).
DEPRECATION_PROPERTIES = {"reasons", "message", "alternatePackage"}
ALTERNATE_PROPERTIES = {"id", "range"}
VULNERABILITY_PROPERTIES = {"advisoryUrl", "severity"}
KNOWN_REASONS = {"Legacy", "CriticalBugs", "Other"}


def advisory(withdrawn: bool = False) -> dict:
    document = {
        "schema_version": "1.4.0",
        "id": "GHSA-1234-5678-9abc",
        "modified": "2026-11-01T00:00:00Z",
        "affected": [
            {
                "package": {"ecosystem": "NuGet", "name": LEGACY},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0.0"}]}
                ],
            }
        ],
        "database_specific": {"severity": "CRITICAL"},
    }
    if withdrawn:
        document["withdrawn"] = "2026-11-02T00:00:00Z"
    return document


def catalog_entries(server) -> dict:
    status, _headers, body = fetch(f"{server.url}/v3/registration/contoso.legacy/index.json")
    assert status == 200, body
    items = json.loads(body)["items"][0]["items"]
    return {item["catalogEntry"]["version"]: item["catalogEntry"] for item in items}


def pushed(nuget58, server, secret, package_id, version):
    package = nuget58.pack(package_id, version)
    result = nuget58.run("push", str(package), "-Source", index(server), "-ApiKey", secret)
    assert result.returncode == 0, explain(result, server)
    return package


def test_deprecated_version_carries_the_documented_shape_and_still_restores(
    nuget58, galley_server, alice
):
    server = galley_server
    _, secret = make_key(alice, scopes=["package:push"])
    for package_id, version in [(LEGACY, "1.0.0"), (LEGACY, "2.0.0"), ("Contoso.Modern", "3.1.0")]:
        pushed(nuget58, server, secret, package_id, version)

    browser = Client()
    browser.force_login(alice)
    version_pk = PackageVersion.objects.get(registration__package_id=LEGACY, version="1.0.0").pk
    response = browser.post(
        f"/packages/{LEGACY}/Manage/Deprecation",
        {
            "versions": [version_pk],
            "reasons": ["Legacy", "CriticalBugs"],
            "alternate_id": "Contoso.Modern",
            "alternate_version": "3.1.0",
            "message": "Use Contoso.Modern.",
            "action": "deprecate",
        },
    )
    assert response.status_code == 302

    entries = catalog_entries(server)
    deprecation = entries["1.0.0"]["deprecation"]
    assert set(deprecation) == DEPRECATION_PROPERTIES
    assert isinstance(deprecation["reasons"], list) and set(deprecation["reasons"]) <= KNOWN_REASONS
    assert sorted(deprecation["reasons"]) == ["CriticalBugs", "Legacy"]
    assert deprecation["message"] == "Use Contoso.Modern."
    assert set(deprecation["alternatePackage"]) == ALTERNATE_PROPERTIES
    assert deprecation["alternatePackage"]["id"] == "Contoso.Modern"
    # A NuGet version range (NuGet.Client reads it with VersionRangeConverter).
    assert deprecation["alternatePackage"]["range"] == "[3.1.0, )"
    assert "deprecation" not in entries["2.0.0"]

    out = nuget58.home / "installed"
    result = install(nuget58, index(server), out, "-Version", "1.0.0", package_id=LEGACY)
    assert result.returncode == 0, explain(result, server)
    assert f"Successfully installed '{LEGACY} 1.0.0'" in said(result), explain(result, server)
    assert installed(out) == [f"{LEGACY}.1.0.0"]


def test_an_advisory_reaches_vulnerability_info_and_the_catalog_entry_and_leaves_when_withdrawn(
    nuget58, galley_server, alice, tmp_path, capsys
):
    server = galley_server
    _, secret = make_key(alice, scopes=["package:push"])
    for version in ("1.0.0", "2.0.0"):
        pushed(nuget58, server, secret, LEGACY, version)
    source = tmp_path / "advisories"
    source.mkdir()
    (source / "GHSA-1234-5678-9abc.json").write_text(json.dumps(advisory()))
    (source / "GHSA-broken.json").write_text('{"id": "GHSA-broken", "affected": [')

    call_command("import_advisories", str(source), "--now")
    report = capsys.readouterr()
    assert "skipped GHSA-broken.json" in report.err and "1 files skipped" in report.out

    status, _headers, body = fetch(f"{server.url}/v3/index.json")
    (resource,) = [
        r for r in json.loads(body)["resources"] if r["@type"] == "VulnerabilityInfo/6.7.0"
    ]
    status, _headers, body = fetch(resource["@id"])
    assert status == 200
    (page,) = json.loads(body)
    status, _headers, body = fetch(page["@id"])
    url = "https://github.com/advisories/GHSA-1234-5678-9abc"
    assert json.loads(body) == {
        LEGACY.lower(): [{"url": url, "severity": 3, "versions": "(, 2.0.0)"}]
    }

    entries = catalog_entries(server)
    (vulnerability,) = entries["1.0.0"]["vulnerabilities"]
    assert set(vulnerability) == VULNERABILITY_PROPERTIES
    assert vulnerability == {"advisoryUrl": url, "severity": "3"}
    assert "vulnerabilities" not in entries["2.0.0"]

    out = nuget58.home / "installed"
    result = install(nuget58, index(server), out, "-Version", "1.0.0", package_id=LEGACY)
    assert result.returncode == 0, explain(result, server)

    (source / "GHSA-1234-5678-9abc.json").write_text(json.dumps(advisory(withdrawn=True)))
    call_command("import_advisories", str(source), "--now")
    assert "vulnerabilities" not in catalog_entries(server)["1.0.0"]
    status, _headers, body = fetch(page["@id"])
    assert json.loads(body) == {}
