import io
import os
import zipfile
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from apikeys.models import ApiKey
from packages import lifecycle
from packages.models import PackageRegistration, PackageVersion
from packages.storage import package_storage
from tests.factories import PackageRegistrationFactory, make_key
from tests.helpers import push, stored_files, unlist
from tests.packages.builders import nupkg

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _package_files_in_a_folder_of_the_tests_own(package_dir):
    pass


def test_service_index_points_at_the_push_url(client):
    index = client.get("/v3/index.json").json()
    resources = {r["@type"]: r["@id"] for r in index["resources"]}
    assert resources["PackagePublish/2.0.0"] == "http://testserver/api/v2/package"
    assert index["version"] == "3.0.0"


def test_push_registers_a_new_package_to_the_keys_owner(client, alice, package_dir):
    key, secret = make_key(alice, scopes=["package:push"], glob_patterns=["Contoso.*"])
    response = push(client, secret)
    assert response.status_code == 201, response.content
    registration = PackageRegistration.objects.get()
    assert registration.package_id == "Contoso.Core"
    assert list(registration.owners.all()) == [alice]
    version = registration.versions.get()
    assert version.version == "1.0.0" and version.listed
    assert version.pushed_with_key == key and version.pushed_by == alice
    assert version.size == len(nupkg()) and len(version.sha512) == 88
    assert stored_files(package_dir) == ["contoso.core/1.0.0.nupkg", "contoso.core/1.0.0.nuspec"]
    with package_storage().open(version.file.name) as stored:
        assert stored.read() == nupkg()
    key.refresh_from_db()
    assert key.last_used is not None


def test_push_without_a_key_is_401(client, package_dir):
    response = push(client, None)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'ApiKey realm="Galley"'
    assert not PackageVersion.objects.exists() and stored_files(package_dir) == []


def test_a_session_cookie_alone_does_not_push(client, alice):
    client.force_login(alice)
    assert push(client, None).status_code == 401
    assert not PackageVersion.objects.exists()


def test_malformed_key_is_refused_without_a_query(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = push(client, "gly_not-a-real-key")
    assert response.status_code == 403
    assert response["X-Galley-Reason"] == "malformed_key"
    assert b"malformed" in response.content


def test_unknown_key_is_refused(client, alice):
    from apikeys.tokens import generate

    response = push(client, generate())
    assert response.status_code == 403
    assert response["X-Galley-Reason"] == "unknown_key"


def test_expired_key_is_refused_with_the_date(client, alice):
    with time_machine.travel("2026-03-01 12:00Z", tick=False):
        _, secret = make_key(alice, expires_in_days=1)
    with time_machine.travel("2026-03-05 12:00Z", tick=False):
        response = push(client, secret)
    assert response.status_code == 403
    assert response.content.decode().strip() == "The API key expired on March 2, 2026."
    assert response.reason_phrase == "The API key expired on March 2, 2026."


def test_revoked_key_is_refused(client, alice, package_dir):
    key, secret = make_key(alice)
    key.revoke(by=alice, source="holder")
    response = push(client, secret)
    assert response.status_code == 403 and response["X-Galley-Reason"] == "revoked"
    assert stored_files(package_dir) == []


def test_push_version_only_key_cannot_push_a_new_id(client, alice, package_dir):
    _, secret = make_key(alice, scopes=["package:pushversion"])
    response = push(client, secret)
    assert response.status_code == 403
    assert response["X-Galley-Reason"] == "scope_push_new"
    assert not PackageRegistration.objects.exists() and stored_files(package_dir) == []


def test_a_key_pushes_a_package_it_selects_by_name_only(client, alice):
    selected = PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice])
    _, secret = make_key(alice, glob_patterns=["Fabrikam.*"], packages=[selected])
    assert push(client, secret).status_code == 201
    response = push(client, secret, nupkg(package_id="Contoso.Other"))
    assert response.status_code == 403
    assert response["X-Galley-Reason"] == "package_not_selected"


def test_push_version_only_key_pushes_a_new_version(client, alice):
    PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice])
    _, secret = make_key(alice, scopes=["package:pushversion"])
    assert push(client, secret).status_code == 201


def test_pattern_mismatch_is_refused(client, alice):
    _, secret = make_key(alice, glob_patterns=["Fabrikam.*"])
    response = push(client, secret)
    assert response.status_code == 403
    assert "'Contoso.Core' does not match any glob pattern" in response.content.decode()


def test_another_owners_package_is_refused(client, alice, charlie, package_dir):
    PackageRegistrationFactory(package_id="contoso.core", owners=[charlie])
    _, secret = make_key(alice, glob_patterns=["*"])
    response = push(client, secret)
    assert response.status_code == 403
    assert response["X-Galley-Reason"] == "not_owner"
    assert "'alice' does not own the package 'contoso.core'." in response.content.decode()
    assert stored_files(package_dir) == []


def test_unlist_only_key_cannot_push(client, alice):
    _, secret = make_key(alice, scopes=["package:unlist"])
    response = push(client, secret)
    assert response.status_code == 403 and response["X-Galley-Reason"] == "scope_push"


def test_same_version_again_is_409(client, alice, package_dir):
    _, secret = make_key(alice)
    assert push(client, secret).status_code == 201
    response = push(client, secret)
    assert response.status_code == 409
    assert PackageVersion.objects.count() == 1
    assert stored_files(package_dir) == ["contoso.core/1.0.0.nupkg", "contoso.core/1.0.0.nuspec"]


def test_equivalent_versions_are_the_same_version(client, alice, package_dir):
    _, secret = make_key(alice)
    assert push(client, secret, nupkg(version="1.0")).status_code == 201
    assert push(client, secret, nupkg(version="1.0.0")).status_code == 409
    assert (
        push(client, secret, nupkg(package_id="CONTOSO.CORE", version="1.0.0.0")).status_code == 409
    )
    assert push(client, secret, nupkg(version="1.0.0+build.7")).status_code == 409
    assert PackageVersion.objects.get().version == "1.0.0"
    assert len(stored_files(package_dir)) == 2  # the package and its nuspec


def test_prerelease_versions_compare_ignoring_case(client, alice):
    _, secret = make_key(alice)
    assert push(client, secret, nupkg(version="2.0.0-Beta")).status_code == 201
    assert push(client, secret, nupkg(version="2.0.0-beta")).status_code == 409


def test_unlist_and_relist(client, alice):
    _, push_secret = make_key(alice)
    _, unlist_secret = make_key(alice, scopes=["package:unlist"])
    push(client, push_secret)
    response = unlist(client, unlist_secret)
    # nuget.org answers both with 200 and an empty body.
    assert (response.status_code, response.content) == (200, b"")
    assert not PackageVersion.objects.get().listed
    response = unlist(client, unlist_secret, method="post")
    assert (response.status_code, response.content) == (200, b"")
    assert PackageVersion.objects.get().listed


def test_unlist_accepts_any_spelling_of_the_version(client, alice):
    _, secret = make_key(alice, scopes=["package:push", "package:unlist"])
    push(client, secret)
    assert unlist(client, secret, "contoso.core", "1.0").status_code == 200
    assert not PackageVersion.objects.get().listed


def test_push_key_cannot_unlist(client, alice):
    _, secret = make_key(alice)
    push(client, secret)
    response = unlist(client, secret)
    assert response.status_code == 403 and response["X-Galley-Reason"] == "scope_unlist"
    assert PackageVersion.objects.get().listed


def test_unlist_of_a_missing_version_is_404(client, alice):
    _, secret = make_key(alice, scopes=["package:push", "package:unlist"])
    push(client, secret)
    assert unlist(client, secret, version="9.9.9").status_code == 404
    assert unlist(client, secret, version="not-a-version").status_code == 404
    assert unlist(client, secret, package_id="Contoso.Missing").status_code == 404


def test_unlist_of_another_owners_package_is_403(client, alice, charlie):
    registration = PackageRegistrationFactory(package_id="Contoso.Core", owners=[charlie])
    PackageVersion.objects.create(
        registration=registration,
        version="1.0.0",
        normalized_version="1.0.0",
        size=1,
        sha512="x",
        file="x",
    )
    _, secret = make_key(alice, scopes=["package:unlist"])
    assert unlist(client, secret).status_code == 403
    assert PackageVersion.objects.get().listed


@pytest.mark.parametrize("method", ["get", "post", "patch"])
def test_other_methods_on_the_push_url_are_405(client, method):
    assert getattr(client, method)("/api/v2/package").status_code == 405


def test_get_on_a_version_url_is_405(client):
    assert client.get("/api/v2/package/Contoso.Core/1.0.0").status_code == 405


def test_the_push_url_needs_no_csrf_token(alice):
    _, secret = make_key(alice)
    assert push(Client(enforce_csrf_checks=True), secret).status_code == 201


def test_expiring_key_warns(client, alice):
    _, secret = make_key(alice, expires_in_days=1, name="CI")
    response = push(client, secret)
    assert response.status_code == 201
    # As nuget.org's: which key, how long, and the API Keys page's full URL.
    assert response["X-NuGet-Warning"] == (
        "Your API key 'CI' expires in 1 day. "
        "Visit http://testserver/account/apikeys to regenerate it or create a new one."
    )


def test_key_with_a_long_life_does_not_warn(client, alice):
    _, secret = make_key(alice, expires_in_days=90)
    assert "X-NuGet-Warning" not in push(client, secret)


def test_deactivated_holder_cannot_push(client, alice):
    _, secret = make_key(alice)
    alice.is_active = False
    alice.save()
    response = push(client, secret)
    assert response.status_code == 403 and response["X-Galley-Reason"] == "holder_inactive"


# Bad packages: a reason, and no row and no file left behind.


def zip_of(files: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


XXE = """<?xml version="1.0"?>
<!DOCTYPE package [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<package><metadata><id>&xxe;</id><version>1.0.0</version></metadata></package>"""
LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<package><metadata><id>&lol3;</id><version>1.0.0</version></metadata></package>"""


@pytest.mark.parametrize(
    "data, status, reason",
    [
        (b"this is not a zip file", 400, "not a valid zip"),
        (zip_of({"readme.txt": "hello"}), 400, "exactly one .nuspec"),
        (zip_of({"a.nuspec": "<package/>", "b.nuspec": "<package/>"}), 400, "exactly one .nuspec"),
        (zip_of({"x.nuspec": XXE}), 400, "DTD or entity"),
        (zip_of({"x.nuspec": LAUGHS}), 400, "DTD or entity"),
        (nupkg(package_id="Bad Id!"), 400, "is not valid"),
        (nupkg(version="1.0.x"), 400, "not a valid NuGet version"),
        (
            zip_of({"x.nuspec": "<package><metadata><id>A</id></metadata></package>"}),
            400,
            "version",
        ),
    ],
)
def test_bad_packages_are_refused_with_a_reason(client, alice, package_dir, data, status, reason):
    _, secret = make_key(alice)
    response = push(client, secret, data)
    assert response.status_code == status
    assert reason in response.content.decode()
    assert not PackageRegistration.objects.exists() and not PackageVersion.objects.exists()
    assert stored_files(package_dir) == []


def test_a_zip_bomb_is_refused(client, alice, package_dir):
    _, secret = make_key(alice)
    bomb = zip_of(
        {"Contoso.Core.nuspec": nupkg_nuspec(), "content/zeros.bin": b"\0" * (50 * 1024 * 1024)}
    )
    assert len(bomb) < 200_000
    response = push(client, secret, bomb)
    assert response.status_code == 400
    assert "compress" in response.content.decode().lower()
    assert stored_files(package_dir) == []


def nupkg_nuspec():
    from tests.packages.builders import NUSPEC

    return NUSPEC.format(id="Contoso.Core", version="1.0.0")


def test_an_oversize_package_is_413_while_streaming(client, alice, settings, package_dir):
    """Declared size within the slack for multipart framing: the stream is cut at the limit."""
    settings.GALLEY_MAX_PACKAGE_SIZE = 4096
    _, secret = make_key(alice)
    big = nupkg(extra={"content/random.bin": os.urandom(10_000)})
    response = push(client, secret, big)
    assert response.status_code == 413
    assert "larger than" in response.content.decode()
    assert not PackageVersion.objects.exists() and stored_files(package_dir) == []


def test_a_declared_oversize_package_is_413_before_reading(client, alice, settings, package_dir):
    settings.GALLEY_MAX_PACKAGE_SIZE = 4096
    _, secret = make_key(alice)
    response = push(client, secret, os.urandom(200_000))
    assert response.status_code == 413
    assert stored_files(package_dir) == []


def test_only_small_uploads_are_held_in_memory(client, alice, monkeypatch):
    """A body up to uploads.IN_MEMORY (256 KB) stays in memory, so a small push
    touches no disk before storage; a larger one goes to a temporary file, so a
    thread never holds more than twice that, whatever the package's size."""
    from django.core.files.uploadedfile import TemporaryUploadedFile

    from packages import uploads

    seen = []
    original = TemporaryUploadedFile.__init__

    def spy(self, *args, **kwargs):
        seen.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(TemporaryUploadedFile, "__init__", spy)
    _, secret = make_key(alice)
    assert push(client, secret).status_code == 201
    assert seen == []
    large = nupkg(version="2.0.0", extra={"content/noise.bin": os.urandom(uploads.IN_MEMORY)})
    assert push(client, secret, large).status_code == 201
    assert len(seen) == 1


def test_the_package_is_hashed_as_it_arrives(client, alice, monkeypatch):
    """The recorded SHA-512 is the stored file's, and the file is not read again to
    compute it (packages/uploads.py measures the bytes as they arrive)."""
    import base64
    import hashlib

    from packages.flows import publish

    monkeypatch.setattr(publish, "sha512_of", lambda fileobj: pytest.fail("hashed again"))
    _, secret = make_key(alice)
    for version, size, raw in (("1.0.0", 0, False), ("2.0.0", 300_000, False), ("3.0.0", 10, True)):
        data = nupkg(version=version, extra={"content/noise.bin": os.urandom(size)})
        if raw:  # the bare .nupkg as the body, as nuget.org also accepts
            response = client.put(
                "/api/v2/package",
                data,
                content_type="application/octet-stream",
                headers={"X-NuGet-ApiKey": secret},
            )
        else:
            response = push(client, secret, data)
        assert response.status_code == 201
        stored = PackageVersion.objects.get(version=version)
        assert stored.sha512 == base64.b64encode(hashlib.sha512(data).digest()).decode()
        assert stored.size == len(data)


def test_a_failed_database_write_leaves_no_file(client, alice, package_dir, monkeypatch):
    _, secret = make_key(alice)

    def fail(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(PackageVersion.objects, "create", fail)
    with pytest.raises(RuntimeError):
        push(client, secret)
    assert stored_files(package_dir) == []
    assert not PackageRegistration.objects.exists()


def test_key_use_is_recorded_at_most_once_a_minute(client, alice):
    key, secret = make_key(alice, scopes=["package:unlist"])
    unlist(client, secret)
    key.refresh_from_db()
    first = key.last_used
    assert first is not None
    unlist(client, secret)
    key.refresh_from_db()
    assert key.last_used == first
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        unlist(client, secret)
    key.refresh_from_db()
    assert key.last_used > first


def test_refusals_are_logged_with_the_hint_never_the_key(client, alice, caplog):
    key, secret = make_key(alice, glob_patterns=["Fabrikam.*"])
    with caplog.at_level("DEBUG"):
        push(client, secret)
    text = caplog.text
    assert f"{key.hint}…" in text
    assert "package_not_selected" in text
    assert secret not in text
    assert ApiKey.objects.count() == 1


def test_a_push_racing_another_for_a_new_id_gets_409_and_leaves_nothing(
    client, alice, package_dir, monkeypatch
):
    """The other push created the package between our lookup and our insert."""
    from packages.flows import publish

    _, secret = make_key(alice)
    PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice])
    real = publish._registration
    calls = []

    def stale_then_real(key, package_id, *version):
        calls.append(package_id)
        return (None, False) if len(calls) == 1 else real(key, package_id, *version)

    monkeypatch.setattr(publish, "_registration", stale_then_real)
    response = push(client, secret)
    assert response.status_code == 409
    assert response["X-Galley-Reason"] == "conflict"
    assert "Push again" in response.content.decode()
    assert not PackageVersion.objects.exists() and stored_files(package_dir) == []


def test_a_push_racing_another_for_the_same_version_gets_409(
    client, alice, package_dir, monkeypatch
):
    from packages.flows import publish

    _, secret = make_key(alice)
    assert push(client, secret).status_code == 201
    real = publish._registration
    calls = []

    def stale_then_real(key, package_id, *version):
        calls.append(package_id)
        return (None, False) if len(calls) == 1 else real(key, package_id, *version)

    monkeypatch.setattr(publish, "_registration", stale_then_real)
    response = push(client, secret)
    assert response.status_code == 409 and response["X-Galley-Reason"] == "version_exists"
    assert stored_files(package_dir) == ["contoso.core/1.0.0.nupkg", "contoso.core/1.0.0.nuspec"]


def test_the_longest_versions_and_ids_are_stored(client, alice, package_dir):
    long_id = "A" * 100
    version = "1.0.0-" + "a" * 58  # 64 characters, as written and normalised
    _, secret = make_key(alice)
    response = push(client, secret, nupkg(package_id=long_id, version=version))
    assert response.status_code == 201, response.content
    assert PackageVersion.objects.get().version == version


def test_a_version_whose_normal_form_is_over_64_characters_is_refused(client, alice, package_dir):
    """As nuget.org: "1-" and 62 letters is 64 characters as written, 68 normalised."""
    _, secret = make_key(alice)
    response = push(client, secret, nupkg(version="1-" + "a" * 62))
    assert response.status_code == 400
    assert "normal form '1.0.0-aaa" in response.content.decode()
    assert "longer than 64 characters" in response.content.decode()
    assert not PackageVersion.objects.exists() and stored_files(package_dir) == []


def test_a_corrupt_compressed_nuspec_is_400(client, alice, package_dir):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_BZIP2) as archive:
        archive.writestr("Contoso.Core.nuspec", nupkg_nuspec() * 20)
    data = bytearray(buffer.getvalue())
    start = data.index(b"BZh") + 40
    data[start : start + 30] = b"\xff" * 30
    _, secret = make_key(alice)
    response = push(client, secret, bytes(data))
    assert response.status_code == 400
    assert stored_files(package_dir) == []


def test_control_characters_never_reach_the_status_line(client, alice):
    _, secret = make_key(alice, scopes=["package:unlist"], glob_patterns=["Contoso.*"])
    response = client.delete(
        "/api/v2/package/Evil%01%7F%1BId/1.0.0", headers={"X-NuGet-ApiKey": secret}
    )
    assert response.status_code == 403
    assert all(c >= " " and c != "\x7f" for c in response.reason_phrase)


def test_a_pushs_manifest_copy_is_written_after_its_answer(client, alice, monkeypatch):
    """The client gets its 201 before the manifest's copy is stored; until then (or
    if the process dies first) the feed reads the manifest out of the package."""
    stored_at = []
    original = lifecycle._store_manifest

    def store(version, nuspec):
        stored_at.append(PackageVersion.objects.filter(pk=version.pk).exists())
        original(version, nuspec)

    monkeypatch.setattr(lifecycle, "_store_manifest", store)
    deferred = []
    monkeypatch.setattr(lifecycle, "after_response", deferred.append)
    _, secret = make_key(alice)
    data = nupkg()
    assert push(client, secret, data).status_code == 201
    assert stored_at == [] and len(deferred) == 1  # answered; the copy waits
    version = PackageVersion.objects.get()
    assert not package_storage().exists(lifecycle.manifest_name(version))
    url = "/v3-flatcontainer/contoso.core/1.0.0/contoso.core.nuspec"
    before = client.get(url)
    assert before.status_code == 200 and b"<id>Contoso.Core</id>" in before.content
    deferred[0]()
    assert stored_at == [True]
    with package_storage().open(lifecycle.manifest_name(version)) as copy:
        assert copy.read() == before.content
