"""Security advisories: imported from the GitHub Advisory Database's OSV files
(import_advisories), matched against versions, shown on the package page and served
in the registration and VulnerabilityInfo."""

import io
import json
import tarfile
import zipfile

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditEvent
from packages import advisories, feed
from packages.models import Advisory, PackageRegistration
from tests.factories import PackageRegistrationFactory
from tests.packages.builders import add_version

pytestmark = pytest.mark.django_db

INDEX = "/v3/registration/contoso.core/index.json"
DATA = "/v3/vulnerabilities/base.json"


@pytest.fixture(autouse=True)
def fresh_memo():
    feed._MEMO.clear()


@pytest.fixture
def core(alice):
    registration = PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice])
    for text in ("1.0.0", "1.1.0-beta", "1.1.0", "2.0.0"):
        add_version(registration, text)
    return registration


def osv(
    advisory_id="GHSA-aaaa-bbbb-cccc",
    package="Contoso.Core",
    events=({"introduced": "0"}, {"fixed": "1.1.0"}),
    severity="HIGH",
    ecosystem="NuGet",
    **extra,
) -> dict:
    return {
        "schema_version": "1.4.0",
        "id": advisory_id,
        "modified": "2026-11-01T00:00:00Z",
        "affected": [
            {
                "package": {"ecosystem": ecosystem, "name": package},
                "ranges": [{"type": "ECOSYSTEM", "events": list(events)}],
            }
        ],
        "database_specific": {"severity": severity},
        **extra,
    }


def write(folder, documents: dict):
    for name, document in documents.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(document if isinstance(document, str) else json.dumps(document))
    return folder


def vulnerabilities(client) -> dict:
    items = client.get(INDEX).json()["items"][0]["items"]
    return {
        item["catalogEntry"]["version"]: item["catalogEntry"].get("vulnerabilities")
        for item in items
    }


def imported(path, capsys=None):
    call_command("import_advisories", str(path), "--now")
    return capsys.readouterr() if capsys else None


def test_an_imported_advisory_reaches_the_affected_versions_only(client, core, tmp_path):
    imported(write(tmp_path, {"github-reviewed/a.json": osv()}))
    found = vulnerabilities(client)
    url = "https://github.com/advisories/GHSA-aaaa-bbbb-cccc"
    assert found["1.0.0"] == [{"advisoryUrl": url, "severity": "2"}]
    assert found["1.1.0-beta"] == [{"advisoryUrl": url, "severity": "2"}]  # before 1.1.0
    assert found["1.1.0"] is None and found["2.0.0"] is None
    assert client.get(DATA).json() == {
        "contoso.core": [{"url": url, "severity": 2, "versions": "(, 1.1.0)"}]
    }


def test_a_withdrawn_advisory_disappears_on_re_import(client, core, tmp_path):
    imported(write(tmp_path, {"a.json": osv()}))
    assert vulnerabilities(client)["1.0.0"]
    imported(write(tmp_path, {"a.json": osv(withdrawn="2026-11-02T00:00:00Z")}))
    assert vulnerabilities(client)["1.0.0"] is None
    assert client.get(DATA).json() == {}
    assert Advisory.objects.get().withdrawn


def test_importing_the_same_files_again_changes_nothing(core, tmp_path, capsys):
    folder = write(tmp_path, {"a.json": osv(), "b.json": osv("GHSA-2", severity="LOW")})
    assert "2 advisories written" in imported(folder, capsys).out
    revision = PackageRegistration.objects.get(pk=core.pk).revision
    out = imported(folder, capsys).out
    assert "0 advisories written, 2 unchanged" in out
    assert PackageRegistration.objects.get(pk=core.pk).revision == revision
    assert Advisory.objects.count() == 2
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.ADVISORIES_IMPORTED).count() == 2


def test_a_changed_advisory_bumps_only_its_packages_revision(core, alice, tmp_path):
    other = PackageRegistrationFactory(package_id="Fabrikam.Lib", owners=[alice])
    add_version(other, "1.0.0")
    before = {r.pk: r.revision for r in PackageRegistration.objects.all()}
    imported(write(tmp_path, {"a.json": osv()}))
    after = {r.pk: r.revision for r in PackageRegistration.objects.all()}
    assert after[core.pk] == before[core.pk] + 1
    assert after[other.pk] == before[other.pk]


@pytest.mark.parametrize(
    "document, reason",
    [
        ("{not json", "Expecting property name"),
        (json.dumps(osv(severity="SEVERE")), "unknown severity"),
        (json.dumps(osv(events=[{"introduced": "one"}])), "one"),
        (json.dumps(osv(events=[{"limit": "1.0.0"}])), "unknown range event"),
        (json.dumps({"affected": []}), "no advisory id"),
        (json.dumps([1, 2]), "no advisory id"),
    ],
)
def test_a_malformed_file_is_reported_and_skipped(client, core, tmp_path, capsys, document, reason):
    folder = write(tmp_path, {"bad.json": document, "good.json": osv()})
    result = imported(folder, capsys)
    assert "skipped bad.json:" in result.err and reason in result.err
    assert "1 files skipped" in result.out
    assert list(Advisory.objects.values_list("advisory_id", flat=True)) == ["GHSA-aaaa-bbbb-cccc"]
    assert vulnerabilities(client)["1.0.0"]


def test_other_ecosystems_are_ignored(core, tmp_path):
    imported(write(tmp_path, {"a.json": osv(ecosystem="npm", package="contoso.core")}))
    assert not Advisory.objects.exists()


def test_a_file_over_the_size_cap_is_skipped(core, tmp_path, settings, capsys):
    settings.GALLEY_ADVISORIES_MAX_FILE_BYTES = 100
    result = imported(write(tmp_path, {"a.json": osv()}), capsys)
    assert "larger than GALLEY_ADVISORIES_MAX_FILE_BYTES" in result.err
    assert not Advisory.objects.exists()


def test_too_many_files_stop_the_import_with_a_clear_error(core, tmp_path, settings):
    settings.GALLEY_ADVISORIES_MAX_FILES = 1
    folder = write(tmp_path, {"a.json": osv(), "b.json": osv("GHSA-2")})
    with pytest.raises(CommandError, match="more than 1 advisory files"):
        imported(folder)


def test_a_missing_or_unknown_source_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="neither a folder nor a file"):
        imported(tmp_path / "missing")
    (tmp_path / "advisories.rar").write_bytes(b"x")
    with pytest.raises(CommandError, match="not a folder, a .zip or a .tar.gz"):
        imported(tmp_path / "advisories.rar")


def test_zip_and_tar_gz_archives_are_read(client, core, tmp_path):
    body = json.dumps(osv()).encode()
    with zipfile.ZipFile(tmp_path / "db.zip", "w") as archive:
        archive.writestr("advisories/github-reviewed/a.json", body)
    imported(tmp_path / "db.zip")
    assert vulnerabilities(client)["1.0.0"]
    with tarfile.open(tmp_path / "db.tar.gz", "w:gz") as archive:
        info = tarfile.TarInfo("advisories/b.json")
        other = json.dumps(osv("GHSA-2", severity="CRITICAL")).encode()
        info.size = len(other)
        archive.addfile(info, io.BytesIO(other))
    imported(tmp_path / "db.tar.gz")
    feed._MEMO.clear()
    assert {v["severity"] for v in vulnerabilities(client)["1.0.0"]} == {"2", "3"}


def test_the_command_enqueues_the_import_as_a_task(core, tmp_path, capsys):
    """Without --now the import is a django-tasks task (the immediate backend in tests
    runs it at once; db_worker in production)."""
    call_command("import_advisories", str(write(tmp_path, {"a.json": osv()})))
    assert "enqueued" in capsys.readouterr().out
    assert Advisory.objects.count() == 1


@pytest.mark.parametrize(
    "events, inside, outside, nuget_range",
    [
        (
            [{"introduced": "1.0.0"}, {"fixed": "2.0.0"}],
            ["1.0.0", "1.9"],
            ["0.9", "2.0.0"],
            "[1.0.0, 2.0.0)",
        ),
        (
            [{"introduced": "0"}, {"last_affected": "1.1.0"}],
            ["1.1.0", "1.0.0"],
            ["1.1.1"],
            "(, 1.1.0]",
        ),
        ([{"introduced": "1.1.0"}], ["1.1.0", "9.0.0"], ["1.1.0-beta"], "[1.1.0, )"),
    ],
)
def test_osv_ranges_are_matched_with_nugets_version_order(events, inside, outside, nuget_range):
    (row,) = advisories.parse_osv(osv(events=events))
    advisory = Advisory(**row)
    assert all(advisories.affects(advisory, v) for v in inside)
    assert not any(advisories.affects(advisory, v) for v in outside)
    assert [advisories.version_range(i) for i in row["ranges"]] == [nuget_range]


def test_the_package_page_shows_nuget_orgs_vulnerability_banner(client, core, tmp_path):
    imported(write(tmp_path, {"a.json": osv(), "b.json": osv("GHSA-2", severity="MODERATE")}))
    content = client.get("/packages/Contoso.Core/1.0.0").content.decode()
    assert (
        "This package has at least one vulnerability with high severity. It may lead to "
        "specific problems in your project. Try updating the package version."
    ) in content
    assert 'href="https://github.com/advisories/GHSA-aaaa-bbbb-cccc"' in content
    assert (
        "at least one vulnerability"
        not in client.get("/packages/Contoso.Core/2.0.0").content.decode()
    )
    french = client.get("/packages/Contoso.Core/1.0.0", headers={"accept-language": "fr"})
    assert "Ce package a au moins une vulnérabilité de gravité élevée." in french.content.decode()


def test_the_upstream_hook_is_where_vulnerability_data_is_merged(core, tmp_path, monkeypatch):
    imported(write(tmp_path, {"a.json": osv()}))
    seen = []
    monkeypatch.setattr(advisories, "merge_upstream", lambda page: seen.append(page) or page)
    advisories.vulnerability_page()
    assert list(seen[0]) == ["contoso.core"]


def test_the_caps_hold_inside_archives_too(core, tmp_path, settings, capsys):
    body = json.dumps(osv()).encode()
    with zipfile.ZipFile(tmp_path / "db.zip", "w") as archive:
        archive.writestr("a.json", body)
        archive.writestr("b.json", body)
    with tarfile.open(tmp_path / "db.tar.gz", "w:gz") as archive:
        info = tarfile.TarInfo("a.json")
        info.size = len(body)
        archive.addfile(info, io.BytesIO(body))
    settings.GALLEY_ADVISORIES_MAX_FILE_BYTES = 100
    for name in ("db.zip", "db.tar.gz"):
        assert "larger than" in imported(tmp_path / name, capsys).err
    assert not Advisory.objects.exists()
    settings.GALLEY_ADVISORIES_MAX_FILE_BYTES = 1 << 20
    settings.GALLEY_ADVISORIES_MAX_FILES = 1
    with pytest.raises(CommandError, match="more than 1 advisory files"):
        imported(tmp_path / "db.zip")


def test_administrators_read_advisories_in_the_admin_and_cannot_edit_them(
    client, admin_user, core, tmp_path
):
    imported(write(tmp_path, {"a.json": osv()}))
    client.force_login(admin_user)
    listing = client.get("/admin/packages/advisory/")
    assert listing.status_code == 200 and "GHSA-aaaa-bbbb-cccc" in listing.content.decode()
    pk = Advisory.objects.get().pk
    assert (
        client.post(f"/admin/packages/advisory/{pk}/change/", {"withdrawn": "on"}).status_code
        == 403
    )
    assert client.get("/admin/packages/advisory/add/").status_code == 403
    assert not Advisory.objects.get().withdrawn
