"""Hostile archives are refused before Python's zipfile loads their directory.

The 5-million-entry archive lives in `make bench` (it is large); these use the
same mechanism with small limits.
"""

import io
import struct
import types
import zipfile

import pytest

from packages.nupkg import PackageError, read_package
from packages.nupkg import archive as nupkg_module
from tests.packages.builders import NUSPEC


def archive(entries: int, *, comment: bytes = b"") -> bytearray:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("Contoso.Core.nuspec", NUSPEC.format(id="Contoso.Core", version="1.0.0"))
        for number in range(entries - 1):
            zf.writestr(f"content/{number}.txt", b"")
        zf.comment = comment
    return bytearray(buffer.getvalue())


def declare_entries(data: bytearray, count: int) -> bytes:
    """Rewrite the end record's entry counts (what a lying archive does)."""
    position = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, position + 8, count, count)
    return bytes(data)


@pytest.fixture
def zipfile_never_opens(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("zipfile.ZipFile was opened")

    # Only packages.nupkg.archive's view of the module: the tests still build archives.
    monkeypatch.setattr(
        nupkg_module,
        "zipfile",
        types.SimpleNamespace(
            ZipFile=refuse, BadZipFile=zipfile.BadZipFile, LargeZipFile=zipfile.LargeZipFile
        ),
    )


def test_an_archive_declaring_too_many_entries_is_refused_before_zipfile_opens_it(
    zipfile_never_opens,
):
    data = declare_entries(archive(3), 60_000)
    with pytest.raises(PackageError, match="more than 10 entries"):
        read_package(io.BytesIO(data), max_entries=10)


def test_an_archive_understating_its_entries_is_counted_record_by_record(zipfile_never_opens):
    data = declare_entries(archive(25), 1)
    with pytest.raises(PackageError, match="more than 10 entries"):
        read_package(io.BytesIO(data), max_entries=10)


def test_the_count_is_found_behind_an_archive_comment(zipfile_never_opens):
    data = declare_entries(archive(25, comment=b"a comment " * 1000), 1)
    with pytest.raises(PackageError, match="more than 10 entries"):
        read_package(io.BytesIO(data), max_entries=10)


def test_a_zip64_archive_is_counted_from_its_zip64_record(zipfile_never_opens):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        zf.writestr("Contoso.Core.nuspec", NUSPEC.format(id="Contoso.Core", version="1.0.0"))
        for number in range(20):
            zf.writestr(f"content/{number}.txt", b"")
    data = bytearray(buffer.getvalue())
    # Turn the end record into the Zip64 form: counts in the 32-bit record say "see Zip64".
    position = data.rfind(b"PK\x05\x06")
    size, offset = struct.unpack_from("<LL", data, position + 12)
    zip64_record = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, 21, 21, size, offset)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, position, 1)
    end = bytearray(data[position:])
    struct.pack_into("<HH", end, 8, 0xFFFF, 0xFFFF)
    patched = bytes(data[:position]) + zip64_record + locator + bytes(end)
    with pytest.raises(PackageError, match="more than 10 entries"):
        read_package(io.BytesIO(patched), max_entries=10)


def test_a_central_directory_over_its_size_bound_is_refused(zipfile_never_opens):
    data = archive(2)
    position = data.rfind(b"PK\x05\x06")
    struct.pack_into("<L", data, position + 12, 50 << 20)  # a 50 MB directory
    with pytest.raises(PackageError, match="zip directory is larger than"):
        read_package(io.BytesIO(bytes(data)), max_entries=10)


def test_an_honest_archive_within_the_limit_is_read():
    manifest = read_package(io.BytesIO(bytes(archive(10))), max_entries=10)
    assert manifest.id == "Contoso.Core"


def test_many_small_entries_with_huge_ratios_are_refused_as_a_whole():
    """Each entry is under the 1 MB per-entry ratio check; together they are a bomb."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("Contoso.Core.nuspec", NUSPEC.format(id="Contoso.Core", version="1.0.0"))
        for number in range(40):
            zf.writestr(f"content/{number}.bin", bytes(900_000))
    with pytest.raises(PackageError, match="as a whole is compressed more than 100:1"):
        read_package(io.BytesIO(buffer.getvalue()), max_ratio=100)


def test_ordinary_small_files_that_compress_well_are_accepted():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("Contoso.Core.nuspec", NUSPEC.format(id="Contoso.Core", version="1.0.0"))
        for number in range(40):
            zf.writestr(f"content/{number}.xml", b"<doc/>" * 2000)  # 12 KB, about 200:1
    assert read_package(io.BytesIO(buffer.getvalue()), max_ratio=100).id == "Contoso.Core"
