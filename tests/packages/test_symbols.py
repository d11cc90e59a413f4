"""The symbol server: portable PDBs indexed at push, served by their SSQP key.

The DLL and PDB are a real pair (tests/data/symbols, clr_loader's ClrLoader, MIT).
The key and checksum the tests ask with are computed with `pefile`, an
implementation independent of packages/nupkg/pdb.py (tests/packages/builders.py).
"""

import hashlib
import io
import struct
import zipfile

import pytest
import time_machine

from audit.models import AuditEvent
from audit.reasons import rule_text
from packages import lifecycle
from packages.models import PackageVersion, SymbolFile, SymbolPackage
from packages.nupkg.pdb import SymbolError, read_pdb, read_pe_debug
from packages.symbol_server import MAX_CHECKSUMS
from tests.factories import make_key
from tests.helpers import manage, push, push_symbols, stored_files, unlist
from tests.packages.builders import (
    DLL,
    DLL_PATH,
    PDB,
    PDB_PATH,
    expected_checksum,
    expected_key,
    nupkg,
    snupkg,
)

pytestmark = pytest.mark.django_db


def url(key=None, name="contoso.core.pdb", second=None):
    return f"/download/symbols/{name}/{key or expected_key()}/{second or name}"


def pushed_with_symbols(client, user, pdb=PDB, dll=DLL):
    _, secret = make_key(user)
    assert push(client, secret, nupkg(extra={DLL_PATH: dll})).status_code == 201
    response = push_symbols(client, secret, snupkg(files={PDB_PATH: pdb}))
    return secret, response


# Indexing at push ---------------------------------------------------------------


def test_a_pushed_pdb_is_indexed_by_its_ssqp_key(client, alice, package_dir):
    _, response = pushed_with_symbols(client, alice)
    assert response.status_code == 201
    row = SymbolFile.objects.get()
    assert row.key == expected_key().lower()
    assert row.name == "contoso.core.pdb"
    assert row.path == PDB_PATH
    assert row.size == len(PDB)
    assert row.sha256 == hashlib.sha256(PDB).hexdigest()
    assert row.checksum == expected_checksum()
    assert (package_dir / row.file.name).read_bytes() == PDB
    assert row.symbols == SymbolPackage.objects.get()


def test_the_pdb_is_downloaded_byte_equal_whatever_the_case(client, alice, package_dir):
    pushed_with_symbols(client, alice)
    for address in (url(), url(expected_key().lower()), url(name="Contoso.Core.pdb")):
        response = client.get(address)
        assert response.status_code == 200, address
        assert b"".join(response.streaming_content) == PDB
        assert response["ETag"] == f'"{hashlib.sha256(PDB).hexdigest()}"'
        assert "attachment" in response["Content-Disposition"]
    assert SymbolFile.objects.get().download_count == 3
    assert PackageVersion.objects.get().download_count == 0  # counted apart


def test_ranges_and_revalidation_work_as_for_packages(client, alice, package_dir):
    pushed_with_symbols(client, alice)
    part = client.get(url(), headers={"Range": "bytes=0-3"})
    assert part.status_code == 206
    assert b"".join(part.streaming_content) == b"BSJB"
    etag = client.get(url())["ETag"]
    assert client.get(url(), headers={"If-None-Match": etag}).status_code == 304


def test_a_matching_checksum_is_served_a_wrong_one_and_an_unknown_key_are_404(
    client, alice, package_dir
):
    pushed_with_symbols(client, alice)
    good = f"SHA256:{expected_checksum().upper()}"
    assert client.get(url(), headers={"SymbolChecksum": good}).status_code == 200
    several = f"SHA256:{'0' * 64};{good}"
    assert client.get(url(), headers={"SymbolChecksum": several}).status_code == 200
    wrong = f"SHA256:{'ab' * 32}"
    assert client.get(url(), headers={"SymbolChecksum": wrong}).status_code == 404
    assert client.get(url(), headers={"SymbolChecksum": "garbage"}).status_code == 404
    unknown = "0" * 32 + "FFFFFFFF"
    assert client.get(url(unknown)).status_code == 404
    assert client.get(url(expected_key()[:-8] + "00000001")).status_code == 404
    assert client.get(url(name="other.pdb")).status_code == 404
    assert client.get(url(second="other.pdb")).status_code == 404
    assert SymbolFile.objects.get().download_count == 2


def test_a_pdb_that_matches_no_dll_is_refused_with_its_reason(client, alice, package_dir):
    _, secret = make_key(alice)
    assert push(client, secret, nupkg()).status_code == 201
    before = stored_files(package_dir)
    response = push_symbols(client, secret, snupkg(files={PDB_PATH: PDB}))
    assert response.status_code == 400
    assert "matches no DLL or EXE of the package" in response.content.decode()
    assert response["X-Galley-Reason"] == "bad_symbols"
    assert not SymbolPackage.objects.exists() and not SymbolFile.objects.exists()
    assert stored_files(package_dir) == before
    refused = AuditEvent.objects.get(kind=AuditEvent.Kind.PUBLISH_REFUSED)
    assert refused.details["rule"] == "bad_symbols" and refused.package_id == "Contoso.Core"
    assert rule_text("bad_symbols") != "bad_symbols"  # a sentence in the security log


def test_a_pdb_of_another_build_is_refused(client, alice, package_dir):
    other = bytearray(PDB)
    offset = read_pdb(io.BytesIO(PDB), len(PDB), "x").id_offset
    other[offset] ^= 0xFF
    _, response = pushed_with_symbols(client, alice, pdb=bytes(other))
    assert response.status_code == 400
    assert "its id differs from the one the assembly records" in response.content.decode()
    assert not SymbolFile.objects.exists()


def test_a_pdb_whose_checksum_differs_is_refused(client, alice, package_dir):
    altered = PDB[:-1] + bytes([PDB[-1] ^ 0xFF])  # same id, other content
    _, response = pushed_with_symbols(client, alice, pdb=altered)
    assert response.status_code == 400
    assert "its checksum differs" in response.content.decode()
    assert not SymbolFile.objects.exists()


def test_a_windows_pdb_is_refused_with_its_reason(client, alice, package_dir):
    msf = b"Microsoft C/C++ MSF 7.00\r\n\x1aDS\0\0\0" + bytes(4096)
    _, response = pushed_with_symbols(client, alice, pdb=msf)
    assert response.status_code == 400
    assert "is a Windows PDB" in response.content.decode()
    assert "portable" in response.content.decode()
    assert not SymbolPackage.objects.exists()


def test_a_file_that_is_no_pdb_is_refused(client, alice, package_dir):
    _, response = pushed_with_symbols(client, alice, pdb=b"BSJB")
    assert response.status_code == 400
    assert not SymbolPackage.objects.exists()


def test_symbols_pushed_again_replace_the_extracted_pdbs(client, alice, package_dir):
    secret, _ = pushed_with_symbols(client, alice)
    first = SymbolFile.objects.get().file.name
    again = snupkg(files={PDB_PATH: PDB}, description="Symbols, again.")
    assert push_symbols(client, secret, again).status_code == 201
    row = SymbolFile.objects.get()
    assert row.file.name != first and not (package_dir / first).exists()
    assert client.get(url()).status_code == 200
    pdbs = [name for name in stored_files(package_dir) if name.endswith(".pdb")]
    assert pdbs == [row.file.name]


# Lifecycle ----------------------------------------------------------------------


def test_unlisting_leaves_symbols_served(client, alice, package_dir):
    _, secret = make_key(alice, scopes=["package:push", "package:unlist"])
    assert push(client, secret, nupkg(extra={DLL_PATH: DLL})).status_code == 201
    assert push_symbols(client, secret, snupkg(files={PDB_PATH: PDB})).status_code == 201
    assert unlist(client, secret).status_code == 200
    assert client.get(url()).status_code == 200


def test_deleting_a_version_for_good_removes_its_pdbs(client, alice, package_dir):
    pushed_with_symbols(client, alice)
    row = SymbolFile.objects.get()
    version = PackageVersion.objects.get()
    lifecycle.delete_version(lifecycle.Actor(None, lifecycle.Channel.SYSTEM), version, "test")
    assert client.get(url()).status_code == 404
    assert not SymbolFile.objects.exists()
    assert not (package_dir / row.file.name).exists()
    assert stored_files(package_dir) == []
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.PACKAGE_DELETED).exists()


def test_the_flat_container_never_serves_a_snupkg(client, alice, package_dir):
    pushed_with_symbols(client, alice)
    address = "/v3-flatcontainer/contoso.core/1.0.0/contoso.core.1.0.0.snupkg"
    assert client.get(address).status_code == 404


# Private feeds and the switch ---------------------------------------------------


def test_the_symbol_server_can_be_turned_off(client, alice, package_dir, settings):
    pushed_with_symbols(client, alice)
    settings.GALLEY_SYMBOL_SERVER = "off"
    checksum = {"SymbolChecksum": f"SHA256:{expected_checksum()}"}
    assert client.get(url(), headers=checksum).status_code == 404


def test_a_private_feed_serves_symbols_only_when_on_and_asked_with_the_checksum(
    client, alice, package_dir, settings
):
    pushed_with_symbols(client, alice)
    settings.GALLEY_FEED_READ = "authenticated"
    checksum = {"SymbolChecksum": f"SHA256:{expected_checksum()}"}
    settings.GALLEY_SYMBOL_SERVER = "off"
    assert client.get(url(), headers=checksum).status_code == 404
    settings.GALLEY_SYMBOL_SERVER = "on"
    assert client.get(url()).status_code == 404
    assert client.get(url(), headers={"SymbolChecksum": f"SHA256:{'0' * 64}"}).status_code == 404
    response = client.get(url(), headers=checksum)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDB
    assert response["Cache-Control"].startswith("private")
    assert "SymbolChecksum" in response["Vary"]


# The parser: bounded, never trusting an offset -----------------------------------


def test_the_parser_reads_the_real_pair():
    debug = read_pe_debug(io.BytesIO(DLL), len(DLL), "ClrLoader.dll")
    pdb = read_pdb(io.BytesIO(PDB), len(PDB), "ClrLoader.pdb")
    assert [view.guid for view in debug.codeviews] == [pdb.guid]
    assert pdb.key == expected_key().lower()
    assert debug.checksums == [("SHA256", bytes.fromhex(expected_checksum()))]


@pytest.mark.parametrize("cut", [2, 0x40, 0x90, 0x200, 0x1FB0])
def test_a_truncated_dll_is_an_error_not_a_crash(cut):
    with pytest.raises(SymbolError):
        read_pe_debug(io.BytesIO(DLL[:cut]), cut, "x.dll")


def test_offsets_pointing_outside_the_file_are_errors():
    bad = bytearray(DLL)
    bad[0x3C:0x40] = struct.pack("<I", 0xFFFFFFF0)
    with pytest.raises(SymbolError, match="outside the file"):
        read_pe_debug(io.BytesIO(bytes(bad)), len(bad), "x.dll")
    pdb = bytearray(PDB)
    pdb[12:16] = struct.pack("<I", 200)  # a version string running past the streams
    with pytest.raises(SymbolError):
        read_pdb(io.BytesIO(bytes(pdb)), len(pdb), "x.pdb")


@pytest.mark.parametrize("cut", [4, 16, 40, 100, 115])
def test_a_truncated_pdb_is_an_error(cut):
    with pytest.raises(SymbolError):
        read_pdb(io.BytesIO(PDB[:cut]), cut, "x.pdb")


def test_a_corrupt_zip_member_is_refused(client, alice, package_dir):
    _, secret = make_key(alice)
    assert push(client, secret, nupkg(extra={DLL_PATH: DLL})).status_code == 201
    buffer = io.BytesIO(snupkg(files={PDB_PATH: PDB}))
    data = bytearray(buffer.getvalue())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo(PDB_PATH)
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + 10 : start + 40] = bytes(30)
    response = push_symbols(client, secret, bytes(data))
    assert response.status_code == 400
    assert not SymbolPackage.objects.exists()


# Pages and the .snupkg download ---------------------------------------------------


def test_the_package_page_offers_the_symbols_and_the_server_address(client, alice, package_dir):
    pushed_with_symbols(client, alice)
    client.get(url())
    page = client.get("/packages/Contoso.Core/1.0.0").content.decode()
    assert "Available on the symbol server (1 download)" in page
    assert 'href="/api/v2/symbolpackage/contoso.core/1.0.0"' in page
    assert "Download Symbols" in page
    assert "<code>http://testserver/download/symbols/</code>" in page


def test_a_version_without_symbols_says_so(client, alice, package_dir):
    _, secret = make_key(alice)
    assert push(client, secret, nupkg()).status_code == 201
    page = client.get("/packages/Contoso.Core/1.0.0").content.decode()
    assert "None pushed" in page and "Download Symbols" not in page
    assert client.get("/api/v2/symbolpackage/contoso.core/1.0.0").status_code == 404


def test_the_snupkg_is_downloaded_by_whoever_may_read_the_package(
    client, alice, bob, package_dir, settings
):
    _, secret = make_key(alice)
    assert push(client, secret, nupkg(extra={DLL_PATH: DLL})).status_code == 201
    data = snupkg(files={PDB_PATH: PDB})
    assert push_symbols(client, secret, data).status_code == 201
    response = client.get("/api/v2/symbolpackage/Contoso.Core/1.0.0")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert "contoso.core.1.0.0.snupkg" in response["Content-Disposition"]
    settings.GALLEY_FEED_READ = "authenticated"
    assert client.get("/api/v2/symbolpackage/contoso.core/1.0.0").status_code == 401
    client.force_login(bob)  # reads nothing of alice's
    assert client.get("/api/v2/symbolpackage/contoso.core/1.0.0").status_code == 404
    client.force_login(alice)
    assert client.get("/api/v2/symbolpackage/contoso.core/1.0.0").status_code == 200


def test_the_api_keys_page_gives_the_symbol_server_address(client, alice, settings):
    client.force_login(alice)
    page = client.get("/account/apikeys").content.decode()
    assert "<code>http://testserver/download/symbols/</code>" in page
    settings.GALLEY_SYMBOL_SERVER = "off"
    assert "/download/symbols/" not in client.get("/account/apikeys").content.decode()


def test_the_last_modified_header_is_the_push_time(client, alice, package_dir):
    with time_machine.travel("2026-03-01 12:00:00 +0000", tick=False):
        pushed_with_symbols(client, alice)
    response = client.get(url())
    assert response["Last-Modified"] == "Sun, 01 Mar 2026 12:00:00 GMT"


def test_a_long_symbol_checksum_header_is_read_up_to_a_bound(client, alice, package_dir):
    """Only the first MAX_CHECKSUMS checksums of a header count (a bounded query)."""
    pushed_with_symbols(client, alice)
    wrong = [f"SHA256:{index:064x}" for index in range(1, 5000)]
    right = f"SHA256:{expected_checksum()}"
    late = ";".join([*wrong[:MAX_CHECKSUMS], right])
    assert client.get(url(), headers={"SymbolChecksum": late}).status_code == 404
    early = ";".join([*wrong[: MAX_CHECKSUMS - 1], right, *wrong])
    assert client.get(url(), headers={"SymbolChecksum": early}).status_code == 200


@pytest.mark.parametrize(
    ("feed", "expected"), [({}, "on"), ({"GALLEY_FEED_READ": "authenticated"}, "off")]
)
def test_the_symbol_server_is_on_for_public_feeds_off_for_private_ones(feed, expected):
    code = "from django.conf import settings; print(settings.GALLEY_SYMBOL_SERVER)"
    done = manage("shell", "-c", code, DJANGO_DEBUG="1", **feed)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == expected
    bad = manage("check", DJANGO_DEBUG="1", GALLEY_SYMBOL_SERVER="maybe")
    assert bad.returncode != 0 and "GALLEY_SYMBOL_SERVER" in bad.stderr
