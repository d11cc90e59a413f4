"""Symbols end to end: nuget.exe 5.8 pushes a .nupkg and its .snupkg in one command,
and a debugger's SSQP lookup gets the PDB back from Galley under gunicorn.

The library is a real assembly and portable PDB (tests/data/symbols, MIT). The key
and checksum are computed from the DLL with `pefile`, independently of Galley.
"""

import urllib.error
import urllib.request

import pytest

from packages.models import SymbolFile, SymbolPackage
from tests.client.conftest import stored_files
from tests.factories import make_key
from tests.packages.builders import PDB, expected_checksum, expected_key

pytestmark = [pytest.mark.client, pytest.mark.django_db(transaction=True)]


def push(nuget58, package, server, secret):
    source = f"{server.url}/v3/index.json"
    return nuget58.run("push", str(package), "-Source", source, "-ApiKey", secret)


def said(result) -> str:
    return result.stdout + result.stderr


def lookup(server, key=None, checksum=None, name="contoso.lib.pdb"):
    """GET the symbol server as a debugger does: (status, body)."""
    request = urllib.request.Request(
        f"{server.url}/download/symbols/{name}/{key or expected_key()}/{name}"
    )
    if checksum is not None:
        request.add_header("SymbolChecksum", checksum)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


def test_nuget_pushes_symbols_that_a_debugger_then_loads(nuget58, galley_server, alice):
    package = nuget58.pack("Contoso.Lib", "1.0.0", symbols=True)
    _, secret = make_key(alice)
    result = push(nuget58, package, galley_server, secret)
    assert result.returncode == 0, said(result) + galley_server.log_tail()
    assert said(result).count("Your package was pushed.") == 2, said(result)
    row = SymbolFile.objects.get()
    assert row.path == "lib/netstandard2.0/Contoso.Lib.pdb"
    assert row.key == expected_key().lower()
    assert lookup(galley_server) == (200, PDB)
    assert lookup(galley_server, checksum=f"SHA256:{expected_checksum()}") == (200, PDB)
    assert lookup(galley_server, checksum=f"SHA256:{'ab' * 32}")[0] == 404
    assert lookup(galley_server, key="0" * 32 + "FFFFFFFF")[0] == 404


def test_a_pdb_of_another_build_is_refused_with_its_reason(nuget58, galley_server, alice):
    other = bytearray(PDB)
    other[PDB.index(bytes.fromhex("b2f6f895"))] ^= 0xFF  # the first byte of the PDB's id
    package = nuget58.pack("Contoso.Lib", "1.0.0", symbols=True, pdb=bytes(other))
    _, secret = make_key(alice)
    result = push(nuget58, package, galley_server, secret)
    assert result.returncode != 0
    assert "400" in said(result), said(result)
    assert "its id differs from the one the assembly records" in said(result), said(result)
    assert not SymbolPackage.objects.exists()
    assert not [name for name in stored_files(galley_server) if name.endswith(".pdb")]


def test_a_windows_pdb_is_refused_with_its_reason(nuget58, galley_server, alice):
    msf = b"Microsoft C/C++ MSF 7.00\r\n\x1aDS\0\0\0" + bytes(4096)
    package = nuget58.pack("Contoso.Lib", "1.0.0", symbols=True, pdb=msf)
    _, secret = make_key(alice)
    result = push(nuget58, package, galley_server, secret)
    assert result.returncode != 0
    assert "is a Windows PDB" in said(result), said(result)
    assert not SymbolPackage.objects.exists()


def test_a_private_feed_serves_symbols_only_when_on_and_with_the_checksum(
    nuget58, start_galley, alice
):
    """Pushed through a public instance; then private instances on the same database
    and packages folder answer the lookups a debugger makes (no credentials)."""
    package = nuget58.pack("Contoso.Lib", "1.0.0", symbols=True)
    _, secret = make_key(alice)
    public = start_galley()
    result = push(nuget58, package, public, secret)
    assert result.returncode == 0, said(result) + public.log_tail()
    checksum = f"SHA256:{expected_checksum()}"
    private = {
        "GALLEY_FEED_READ": "authenticated",
        "GALLEY_SIGNUP": "closed",
        "GALLEY_PACKAGES_DIR": str(public.packages_dir),
    }
    off = start_galley(**private)  # off by default on a private feed
    assert lookup(off, checksum=checksum)[0] == 404
    on = start_galley(**private, GALLEY_SYMBOL_SERVER="on")
    assert lookup(on)[0] == 404  # no checksum, no PDB
    assert lookup(on, checksum=f"SHA256:{'0' * 64}")[0] == 404
    assert lookup(on, checksum=checksum) == (200, PDB)
