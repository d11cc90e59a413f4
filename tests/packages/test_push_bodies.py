"""Pushes however clients send them: raw bodies, symbols, limits; answers any client can print.

Chunked bodies need a server that de-chunks them (gunicorn): tests/client/ sends them.
"""

import io
import os

import pytest
import time_machine

from packages.models import PackageVersion, SymbolPackage
from packages.responses import plain_ascii
from tests.factories import make_key
from tests.helpers import push, push_symbols, stored_files
from tests.packages.builders import SYMBOLS_NUSPEC, nupkg, snupkg, with_assembly

pytestmark = pytest.mark.django_db


def put_raw(client, secret, data, url="/api/v2/package", content_type="application/octet-stream"):
    return client.put(url, data, content_type=content_type, headers={"X-NuGet-ApiKey": secret})


# Raw bodies ----------------------------------------------------------------------


def test_a_raw_nupkg_body_is_pushed_as_nuget_org_accepts_it(client, alice, package_dir):
    _, secret = make_key(alice)
    data = nupkg()
    response = put_raw(client, secret, data)
    assert response.status_code == 201, response.content
    version = PackageVersion.objects.get()
    assert (package_dir / version.file.name).read_bytes() == data


def test_a_raw_body_without_a_content_type_is_a_package_too(client, alice, package_dir):
    _, secret = make_key(alice)
    response = put_raw(client, secret, nupkg(), content_type="")
    assert response.status_code == 201, response.content


def test_an_empty_raw_body_is_400_and_stores_nothing(client, alice, package_dir):
    _, secret = make_key(alice)
    response = put_raw(client, secret, b"")
    assert response.status_code == 400
    assert response.content.decode().strip() == "The request contains no package file."
    assert stored_files(package_dir) == []


def test_a_raw_body_that_is_not_a_zip_is_400(client, alice, package_dir):
    _, secret = make_key(alice)
    response = put_raw(client, secret, b"not a package at all")
    assert response.status_code == 400
    assert "not a valid zip file" in response.content.decode()
    assert not PackageVersion.objects.exists()


def test_a_raw_body_over_the_limit_is_413(client, alice, package_dir, settings):
    settings.GALLEY_MAX_PACKAGE_SIZE = 1024
    _, secret = make_key(alice)
    response = put_raw(client, secret, nupkg(extra={"big.bin": os.urandom(4000)}))
    assert response.status_code == 413
    assert stored_files(package_dir) == []


def test_a_declared_length_over_the_limit_is_413_before_the_body_is_read(
    client, alice, package_dir, settings
):
    settings.GALLEY_MAX_PACKAGE_SIZE = 1024

    class Unreadable(io.BytesIO):
        def read(self, *args):
            raise AssertionError("the body was read")

    _, secret = make_key(alice)
    response = client.generic(
        "PUT",
        "/api/v2/package",
        b"",
        content_type="application/octet-stream",
        headers={"X-NuGet-ApiKey": secret},
        CONTENT_LENGTH="5000000",
        **{"wsgi.input": Unreadable()},
    )
    assert response.status_code == 413


def test_a_body_shorter_than_its_length_is_400_and_stores_nothing(client, alice, package_dir):
    _, secret = make_key(alice)
    data = nupkg()
    response = client.generic(
        "PUT",
        "/api/v2/package",
        b"",
        content_type="application/octet-stream",
        headers={"X-NuGet-ApiKey": secret},
        CONTENT_LENGTH=str(len(data) + 100),
        **{"wsgi.input": io.BytesIO(data)},
    )
    assert response.status_code == 400
    assert response["X-Galley-Reason"] == "incomplete_body"
    assert stored_files(package_dir) == []


def test_a_revoked_key_is_refused_before_the_body_is_read(client, alice, package_dir):
    key, secret = make_key(alice)
    key.revoke(by=alice, source="holder")
    reads = []

    class Unreadable(io.BytesIO):
        # The upload reader turns any read error into "the body was cut off", so a
        # raised error alone could pass unseen: each attempt is counted.
        def read(self, *args):
            reads.append(args)
            raise AssertionError("the body was read")

    response = client.generic(
        "PUT",
        "/api/v2/package",
        b"",
        content_type="application/octet-stream",
        headers={"X-NuGet-ApiKey": secret},
        CONTENT_LENGTH="1000",
        **{"wsgi.input": Unreadable()},
    )
    assert response.status_code == 403
    assert response["X-Galley-Reason"] == "revoked"
    assert reads == []


# Status lines any client can print --------------------------------------------------


def test_french_refusals_keep_their_accents_in_the_body_and_fold_them_in_the_status_line(
    client, alice
):
    with time_machine.travel("2026-03-01 12:00Z", tick=False):
        _, secret = make_key(alice, expires_in_days=1)
    with time_machine.travel("2026-03-05 12:00Z", tick=False):
        response = push(client, secret, HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 403
    assert response.content.decode().strip() == "La clé API a expiré le 2 mars 2026."
    assert response.reason_phrase == "La cle API a expire le 2 mars 2026."


def test_the_expiry_warning_is_plain_ascii_in_french(client, alice):
    _, secret = make_key(alice, expires_in_days=1, name="Clé de déploiement")
    response = push(client, secret, HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 201
    warning = response["X-NuGet-Warning"]
    assert warning.isascii()
    assert "Cle de deploiement" in warning
    assert "http://testserver/account/apikeys" in warning


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("La clé API a expiré.", "La cle API a expire."),
        ("« Contoso.Core » n’existe pas\u00a0!", '"Contoso.Core" n\'existe pas !'),
        ("Le paquet «\u202fX\u202f» : cœur…", 'Le paquet "X" : coeur...'),
        ("line\nbreak\x1b[31m", "line break?[31m"),
        ("中文", "??"),
    ],
)
def test_plain_ascii_folds_accents_spaces_and_quotes(text, plain):
    assert plain_ascii(text) == plain


# Symbols -----------------------------------------------------------------------------


def test_symbols_are_stored_beside_an_existing_version(client, alice, package_dir):
    _, secret = make_key(alice)
    assert push(client, secret, with_assembly()).status_code == 201
    data = snupkg()
    response = push_symbols(client, secret, data)
    assert response.status_code == 201, response.content
    symbols = SymbolPackage.objects.get()
    assert symbols.version == PackageVersion.objects.get()
    assert (package_dir / symbols.file.name).read_bytes() == data
    assert symbols.file.name.endswith(".snupkg")


def test_symbols_pushed_again_replace_the_earlier_ones(client, alice, package_dir):
    _, secret = make_key(alice)
    push(client, secret, with_assembly())
    push_symbols(client, secret, snupkg())
    first = SymbolPackage.objects.get().file.name
    second_data = snupkg(description="Symbols, again.")
    assert push_symbols(client, secret, second_data).status_code == 201
    symbols = SymbolPackage.objects.get()
    assert (package_dir / symbols.file.name).read_bytes() == second_data
    assert not (package_dir / first).exists() or first == symbols.file.name
    assert len([p for p in stored_files(package_dir) if p.endswith(".snupkg")]) == 1


def test_symbols_of_a_version_that_does_not_exist_are_404(client, alice, package_dir):
    _, secret = make_key(alice)
    push(client, secret)
    response = push_symbols(client, secret, snupkg(version="2.0.0"))
    assert response.status_code == 404
    assert "push the .nupkg before its symbols" in response.content.decode()
    assert not SymbolPackage.objects.exists()


def test_symbols_need_a_key_whose_owner_owns_the_package(client, alice, charlie, package_dir):
    _, alice_secret = make_key(alice)
    push(client, alice_secret)
    _, charlie_secret = make_key(charlie)
    response = push_symbols(client, charlie_secret, snupkg())
    assert response.status_code == 403
    assert not SymbolPackage.objects.exists()


def test_symbols_need_a_push_scope(client, alice, package_dir):
    _, secret = make_key(alice)
    push(client, secret)
    _, unlist_secret = make_key(alice, scopes=["package:unlist"])
    assert push_symbols(client, unlist_secret, snupkg()).status_code == 403
    assert not SymbolPackage.objects.exists()


def test_symbols_must_declare_the_symbols_package_type(client, alice, package_dir):
    _, secret = make_key(alice)
    push(client, secret)
    response = push_symbols(client, secret, snupkg(nuspec=nupkg_nuspec_without_type()))
    assert response.status_code == 400
    assert "SymbolsPackage" in response.content.decode()


def test_symbols_may_hold_only_pdb_files(client, alice, package_dir):
    _, secret = make_key(alice)
    push(client, secret)
    response = push_symbols(client, secret, snupkg(files={"lib/net8.0/evil.dll": b"MZ"}))
    assert response.status_code == 400
    assert "only .pdb files" in response.content.decode()
    assert not SymbolPackage.objects.exists()


def test_symbols_without_a_pdb_are_refused(client, alice, package_dir):
    """nuget.org refuses a symbol package with no symbol file in it; so does Galley,
    with the reason, and stores nothing."""
    _, secret = make_key(alice)
    push(client, secret, with_assembly())
    before = stored_files(package_dir)
    response = push_symbols(client, secret, snupkg(files={}))
    assert response.status_code == 400
    assert "contains no .pdb file" in response.content.decode()
    assert not SymbolPackage.objects.exists()
    assert stored_files(package_dir) == before


def nupkg_nuspec_without_type():
    return SYMBOLS_NUSPEC.format(id="Contoso.Core", version="1.0.0").replace(
        '<packageTypes><packageType name="SymbolsPackage" /></packageTypes>', ""
    )


def test_the_service_index_offers_symbol_publishing(client):
    resources = {r["@type"]: r["@id"] for r in client.get("/v3/index.json").json()["resources"]}
    assert resources["SymbolPackagePublish/4.9.0"] == "http://testserver/api/v2/symbolpackage"
