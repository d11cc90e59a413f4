# ruff: noqa: F811  (fixtures imported from tests/s3server.py are parameters here)
"""Package files in an S3-compatible bucket: a moto server on loopback, django-storages, boto3."""

import copy
import subprocess
import sys
import threading
import urllib.parse
import urllib.request

import boto3
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import DatabaseError
from django.test import Client

from packages import downloads, lifecycle
from packages.models import PackageRegistration, PackageVersion, SymbolFile, SymbolPackage
from packages.storage import package_storage, unique_name
from tests.factories import make_key
from tests.helpers import push, push_symbols
from tests.packages.builders import DLL, PDB, expected_key, nupkg, snupkg, with_assembly
from tests.s3server import s3_server, s3_storage  # noqa: F401
from tests.servers import ROOT

pytestmark = pytest.mark.django_db
NUPKG_URL = "/v3-flatcontainer/contoso.core/1.0.0/contoso.core.1.0.0.nupkg"
NUSPEC_URL = "/v3-flatcontainer/contoso.core/1.0.0/contoso.core.nuspec"


def objects(s3_server, bucket):
    return s3_server.keys(bucket)


def body_of(s3_server, bucket, key):
    return s3_server.client().get_object(Bucket=bucket, Key=key)["Body"].read()


# Pushing ----------------------------------------------------------------------------


def test_a_push_writes_the_package_and_its_manifest_under_a_name_of_their_own(
    client,
    alice,
    s3_server,
    s3_storage,
):
    _, secret = make_key(alice)
    data = nupkg()
    assert push(client, secret, data).status_code == 201
    version = PackageVersion.objects.get()
    keys = objects(s3_server, s3_storage)
    assert keys == sorted([f"feed/{version.file.name}", f"feed/{lifecycle.manifest_name(version)}"])
    # contoso.core/1.0.0.<random>.nupkg: no other push of 1.0.0 can write this key
    assert version.file.name.startswith("contoso.core/1.0.0.")
    assert version.file.name.endswith(".nupkg") and len(version.file.name) > 30
    assert body_of(s3_server, s3_storage, f"feed/{version.file.name}") == data
    assert b"<id>Contoso.Core</id>" in body_of(
        s3_server, s3_storage, f"feed/{lifecycle.manifest_name(version)}"
    )


def test_names_are_unique_on_s3_and_left_to_the_folder_otherwise(s3_storage, tmp_path):
    s3 = package_storage()
    first, second = unique_name(s3, "a/1.0.0.nupkg"), unique_name(s3, "a/1.0.0.nupkg")
    assert first != second and first.startswith("a/1.0.0.") and first.endswith(".nupkg")
    from packages.storage import AtomicFileSystemStorage

    folder = AtomicFileSystemStorage(location=tmp_path)
    assert unique_name(folder, "a/1.0.0.nupkg") == "a/1.0.0.nupkg"


def test_a_failed_row_write_leaves_no_object(alice, s3_server, s3_storage, monkeypatch):
    _, secret = make_key(alice)

    def broken(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(PackageVersion.objects, "create", broken)
    response = push(Client(raise_request_exception=False), secret)
    assert response.status_code == 500
    assert not PackageRegistration.objects.exists() and not PackageVersion.objects.exists()
    assert objects(s3_server, s3_storage) == []


def test_the_same_version_again_is_409_and_writes_nothing(client, alice, s3_server, s3_storage):
    _, secret = make_key(alice)
    assert push(client, secret).status_code == 201
    before = objects(s3_server, s3_storage)
    assert push(client, secret).status_code == 409
    assert objects(s3_server, s3_storage) == before


def test_symbols_pushed_again_replace_the_earlier_object(client, alice, s3_server, s3_storage):
    _, secret = make_key(alice)
    assert push(client, secret, with_assembly()).status_code == 201
    assert push_symbols(client, secret, snupkg()).status_code == 201
    first = SymbolPackage.objects.get().file.name
    second = snupkg(description="Symbols, again.")
    assert push_symbols(client, secret, second).status_code == 201
    symbols = SymbolPackage.objects.get()
    assert symbols.file.name != first
    keys = objects(s3_server, s3_storage)
    assert f"feed/{symbols.file.name}" in keys and f"feed/{first}" not in keys
    assert body_of(s3_server, s3_storage, f"feed/{symbols.file.name}") == second


# Downloading --------------------------------------------------------------------------


def test_a_download_is_a_short_lived_presigned_redirect_to_the_bucket(
    client,
    alice,
    s3_server,
    s3_storage,
    settings,
):
    settings.GALLEY_DOWNLOAD_URL_SECONDS = 120
    _, secret = make_key(alice)
    data = nupkg()
    assert push(client, secret, data).status_code == 201
    version = PackageVersion.objects.get()

    response = client.get(NUPKG_URL)
    assert response.status_code == 302
    assert response["Cache-Control"] == "no-store"
    location = urllib.parse.urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}" == s3_server.endpoint
    assert location.path == f"/{s3_storage}/feed/{version.file.name}"
    query = urllib.parse.parse_qs(location.query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["120"]
    assert "X-Amz-Signature" in query
    # The client follows it to the store itself: Python is out of the byte path.
    with urllib.request.urlopen(response["Location"], timeout=10) as stored:
        assert stored.read() == data
    assert downloads.pending_downloads([version]) == {version.pk: 1}


def test_the_presigned_url_lives_five_minutes_by_default(client, alice, s3_storage):
    _, secret = make_key(alice)
    push(client, secret)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(client.get(NUPKG_URL)["Location"]).query)
    assert query["X-Amz-Expires"] == ["300"]


def test_head_and_revalidation_are_answered_here(client, alice, s3_storage):
    _, secret = make_key(alice)
    push(client, secret)
    version = PackageVersion.objects.get()
    head = client.head(NUPKG_URL)
    assert head.status_code == 200  # a URL presigned for GET would refuse a HEAD
    assert head["Content-Length"] == str(len(nupkg()))
    assert head["ETag"] == f'"{version.sha512}"'
    again = client.get(NUPKG_URL, headers={"If-None-Match": f'"{version.sha512}"'})
    assert again.status_code == 304 and "Location" not in again


def test_the_manifest_is_read_from_the_bucket(client, alice, s3_storage):
    _, secret = make_key(alice)
    push(client, secret)
    response = client.get(NUSPEC_URL)
    assert response.status_code == 200
    assert b"<id>Contoso.Core</id>" in b"".join(response.streaming_content)


def test_a_missing_version_is_404_not_a_redirect(client, s3_storage):
    assert client.get(NUPKG_URL).status_code == 404


def test_the_local_folder_behind_nginx_answers_with_x_accel_redirect(
    client, alice, package_dir, settings
):
    settings.GALLEY_ACCEL_REDIRECT = "/protected/"
    _, secret = make_key(alice)
    push(client, secret)
    response = client.get(NUPKG_URL)
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == "/protected/contoso.core/1.0.0.nupkg"
    assert response.content == b""  # nginx sends the file
    assert response["Content-Type"] == "application/octet-stream"


def test_the_local_folder_streams_without_nginx(client, alice, package_dir):
    _, secret = make_key(alice)
    data = nupkg()
    push(client, secret, data)
    response = client.get(NUPKG_URL)
    assert response.status_code == 200 and "X-Accel-Redirect" not in response
    assert b"".join(response.streaming_content) == data


# Orphans ------------------------------------------------------------------------------


def orphans_command(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("packages_orphans", *args, stdout=out)
    return out.getvalue()


def test_orphans_are_listed_then_deleted_in_the_bucket(client, alice, s3_server, s3_storage):
    _, secret = make_key(alice)
    push(client, secret, with_assembly())
    push_symbols(client, secret, snupkg())
    s3_server.client().put_object(
        Bucket=s3_storage, Key="feed/contoso.core/9.9.9.0a1b.nupkg", Body=b"left by a crash"
    )
    kept = objects(s3_server, s3_storage)
    kept.remove("feed/contoso.core/9.9.9.0a1b.nupkg")

    # Young files may belong to a push in flight: left alone by default.
    assert orphans_command().strip() == "0 orphaned files found."
    listed = orphans_command("--min-age", "0")
    assert "orphan contoso.core/9.9.9.0a1b.nupkg" in listed
    assert "1 orphaned files found." in listed
    assert objects(s3_server, s3_storage) == sorted([*kept, "feed/contoso.core/9.9.9.0a1b.nupkg"])

    assert "deleted contoso.core/9.9.9.0a1b.nupkg" in orphans_command("--min-age", "0", "--delete")
    assert objects(s3_server, s3_storage) == kept  # the package, its manifest, its symbols
    assert client.get(NUPKG_URL).status_code == 302


def test_orphans_are_listed_then_deleted_in_the_folder(client, alice, package_dir):
    import os
    import time

    _, secret = make_key(alice)
    push(client, secret)
    orphan = package_dir / "contoso.core" / ".upload-abc123"
    orphan.write_bytes(b"half a package")
    old = time.time() - 2 * 3600
    for path in package_dir.rglob("*"):
        os.utime(path, (old, old))
    assert orphans_command().splitlines() == [
        f"orphan contoso.core/.upload-abc123 {orphans_time(old)}",
        "1 orphaned files found.",
    ]
    orphans_command("--delete")
    assert not orphan.exists()
    assert sorted(p.name for p in (package_dir / "contoso.core").iterdir()) == [
        "1.0.0.nupkg",
        "1.0.0.nuspec",
    ]


def test_extracted_pdbs_are_served_from_the_bucket_and_never_orphans(
    client, alice, s3_server, s3_storage
):
    _, secret = make_key(alice)
    assert (
        push(client, secret, nupkg(extra={"lib/net8.0/Contoso.Core.dll": DLL})).status_code == 201
    )
    data = snupkg(files={"lib/net8.0/Contoso.Core.pdb": PDB})
    assert push_symbols(client, secret, data).status_code == 201
    row = SymbolFile.objects.get()
    assert f"feed/{row.file.name}" in objects(s3_server, s3_storage)
    key = expected_key()
    response = client.get(f"/download/symbols/contoso.core.pdb/{key}/contoso.core.pdb")
    assert response.status_code == 302
    with urllib.request.urlopen(response["Location"], timeout=10) as stored:
        assert stored.read() == PDB
    assert SymbolFile.objects.get().download_count == 1
    assert orphans_command("--min-age", "0") == "0 orphaned files found.\n"
    version = PackageVersion.objects.get()
    lifecycle.delete_version(lifecycle.Actor(None, lifecycle.Channel.SYSTEM), version, "test")
    assert objects(s3_server, s3_storage) == []


def orphans_time(timestamp: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# Health --------------------------------------------------------------------------------


def test_healthz_reports_the_bucket(client, s3_storage):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok", "storage": "ok"}


def test_healthz_is_503_when_the_bucket_is_missing(client, s3_server, s3_storage):
    s3_server.client().delete_bucket(Bucket=s3_storage)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["storage"] == "unavailable"


def test_healthz_is_503_when_the_store_does_not_answer(client, s3_storage, monkeypatch, settings):
    from config.env import envstorage
    from tests.servers import free_port

    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens
    settings.STORAGES = {
        **settings.STORAGES,
        "packages": envstorage("GALLEY_PACKAGE_STORAGE", None),
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": "ok",
        "cache": "ok",
        "storage": "unavailable",
    }


def test_healthz_is_503_when_the_folder_is_not_a_folder(client, settings, tmp_path):
    (tmp_path / "packages").write_text("a file where the folder should be")
    settings.STORAGES = {
        **settings.STORAGES,
        "packages": {
            "BACKEND": "packages.storage.AtomicFileSystemStorage",
            "OPTIONS": {"location": tmp_path / "packages"},
        },
    }
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["storage"] == "unavailable"


# Threads -------------------------------------------------------------------------------


def test_each_thread_has_a_resource_of_its_own_made_from_one_session(
    s3_storage, settings, monkeypatch
):
    """A boto3 session per thread loaded S3's service model again in every thread
    (100 ms and more on its first push or download); resources stay per thread."""
    from django.core.files.storage import storages

    made = []

    class CountedSession(boto3.Session):
        def __init__(self, *args, **kwargs):
            made.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(boto3, "Session", CountedSession)
    storage = storages.create_storage(settings.STORAGES["packages"])
    resources, answers = {}, {}

    def connect(name):
        resources[name] = storage.connection
        answers[name] = storage.exists("nothing-here")  # each resource works in its thread

    threads = [threading.Thread(target=connect, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    connect("main")
    assert storage.connection is resources["main"]  # kept for the thread
    assert len({id(resource) for resource in resources.values()}) == 4
    assert answers == dict.fromkeys([0, 1, 2, "main"], False)
    assert len(made) == 1
    copied = copy.deepcopy(storage)  # a copy makes its own session and resources
    assert copied.connection is not storage.connection and not copied.exists("nothing-here")
    assert len(made) == 2


# Configuration --------------------------------------------------------------------------


def test_without_the_variable_the_folder_is_the_storage(monkeypatch, tmp_path):
    from config.env import envstorage

    monkeypatch.delenv("GALLEY_PACKAGE_STORAGE", raising=False)
    assert envstorage("GALLEY_PACKAGE_STORAGE", tmp_path) == {
        "BACKEND": "packages.storage.AtomicFileSystemStorage",
        "OPTIONS": {"location": tmp_path},
    }


def test_an_s3_url_names_the_bucket_and_the_prefix(monkeypatch):
    from config.env import envstorage

    monkeypatch.setenv("GALLEY_PACKAGE_STORAGE", "s3://nuget-feed/galley/packages/")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000")
    storage = envstorage("GALLEY_PACKAGE_STORAGE", None)
    assert storage["BACKEND"] == "packages.s3.SharedSessionS3Storage"
    options = storage["OPTIONS"]
    assert options["bucket_name"] == "nuget-feed"
    assert options["location"] == "galley/packages"
    assert options["client_config"].s3 == {"addressing_style": "path"}  # a self-hosted store
    assert options["client_config"].signature_version == "s3v4"
    assert options["default_acl"] is None and options["querystring_auth"] is True


@pytest.mark.parametrize(
    "url",
    [
        "https://bucket/prefix",
        "s3://",
        "s3://Upper_Case/x",
        "s3://bucket/a//b",
        "s3://b?x=1",
        "/srv",
    ],
)
def test_a_bad_storage_url_is_refused_at_start_up(monkeypatch, url):
    from config.env import envstorage

    monkeypatch.setenv("GALLEY_PACKAGE_STORAGE", url)
    with pytest.raises(ImproperlyConfigured, match="must be s3://bucket or s3://bucket/prefix"):
        envstorage("GALLEY_PACKAGE_STORAGE", None)


def test_the_site_does_not_start_with_a_bad_storage_url():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DJANGO_DEBUG": "1", "GALLEY_PACKAGE_STORAGE": "s3:/nope"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "GALLEY_PACKAGE_STORAGE must be s3://bucket or s3://bucket/prefix" in result.stderr


def test_a_presigned_download_keeps_the_packages_own_name(client, alice, s3_server, s3_storage):
    """The object's key has a random part (contoso.core/1.0.0.<random>.nupkg); the
    presigned URL asks the store to answer with the package's own name, signed with it."""
    _, secret = make_key(alice)
    push(client, secret)
    location = client.get(NUPKG_URL)["Location"]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
    disposition = 'attachment; filename="contoso.core.1.0.0.nupkg"'
    assert query["response-content-disposition"] == [disposition]
    assert query["response-content-type"] == ["application/octet-stream"]
    with urllib.request.urlopen(location, timeout=10) as stored:
        assert stored.headers["Content-Disposition"] == disposition
    head = client.head(NUPKG_URL)  # answered here: the same name
    assert head["Content-Disposition"] == disposition
