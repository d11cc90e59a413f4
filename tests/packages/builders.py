"""Build packages for tests: .nupkg and .snupkg files (a zip with a nuspec, as `nuget pack`
makes them) and package version rows for pages that need no file."""

import hashlib
import io
import pathlib
import struct
import zipfile

import pefile

from packages import lifecycle
from packages.models import PackageVersion

NUSPEC = """<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>{id}</id>
    <version>{version}</version>
    <authors>alice</authors>
    <description>A test package.</description>
  </metadata>
</package>
"""


def _entry(name: str) -> zipfile.ZipInfo:
    """A zip entry with a fixed time: the same package built twice is the same bytes,
    whatever the clock (a test compares what it pushed with a second build)."""
    entry = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    entry.compress_type = zipfile.ZIP_DEFLATED
    return entry


def nupkg(package_id="Contoso.Core", version="1.0.0", *, nuspec=None, extra=None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            _entry(f"{package_id}.nuspec"), nuspec or NUSPEC.format(id=package_id, version=version)
        )
        archive.writestr(_entry("lib/net8.0/readme.txt"), "hello")
        for name, data in (extra or {}).items():
            archive.writestr(_entry(name), data)
    return buffer.getvalue()


SYMBOLS_NUSPEC = """<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>{id}</id>
    <version>{version}</version>
    <authors>alice</authors>
    <description>Symbols.</description>
    <packageTypes><packageType name="SymbolsPackage" /></packageTypes>
  </metadata>
</package>
"""


# A real assembly and its portable PDB (clr_loader 0.3.1's ClrLoader, MIT: see
# tests/data/symbols/README.md), for the symbol server's tests.
SYMBOLS_DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "symbols"
DLL = (SYMBOLS_DATA / "ClrLoader.dll").read_bytes()
PDB = (SYMBOLS_DATA / "ClrLoader.pdb").read_bytes()
DLL_PATH, PDB_PATH = "lib/net8.0/Contoso.Core.dll", "lib/net8.0/Contoso.Core.pdb"


def _codeview():
    pe = pefile.PE(str(SYMBOLS_DATA / "ClrLoader.dll"))
    (entry,) = [d.entry for d in pe.DIRECTORY_ENTRY_DEBUG if d.struct.Type == 2]
    return entry


def expected_key() -> str:
    """The SSQP key from the DLL's CodeView entry: the GUID as .NET's "N" format
    writes it (Data1, Data2, Data3 as numbers, then the 8 bytes) and FFFFFFFF."""
    cv = _codeview()
    tail = bytes([cv.Signature_Data4, cv.Signature_Data5]) + bytes(cv.Signature_Data6)
    return f"{cv.Signature_Data1:08x}{cv.Signature_Data2:04x}{cv.Signature_Data3:04x}{tail.hex()}FFFFFFFF"


def expected_checksum() -> str:
    """SHA-256 of the PDB with its 20-byte id (GUID + stamp) zeroed, the id found by
    searching the PDB for the DLL's GUID."""
    cv = _codeview()
    guid = struct.pack("<IHH", cv.Signature_Data1, cv.Signature_Data2, cv.Signature_Data3)
    guid += bytes([cv.Signature_Data4, cv.Signature_Data5]) + bytes(cv.Signature_Data6)
    at = PDB.index(guid)
    return hashlib.sha256(PDB[:at] + bytes(20) + PDB[at + 20 :]).hexdigest()


def snupkg(
    package_id="Contoso.Core", version="1.0.0", *, files=None, nuspec=None, description="Symbols."
) -> bytes:
    """A symbol package; without `files`, the PDB of the assembly `with_assembly()`
    packs (a symbol push of that package accepts it)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            f"{package_id}.nuspec",
            nuspec
            or SYMBOLS_NUSPEC.format(id=package_id, version=version).replace(
                "Symbols.", description
            ),
        )
        archive.writestr("[Content_Types].xml", "<Types/>")
        for name, data in (files if files is not None else {PDB_PATH: PDB}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def with_assembly(package_id="Contoso.Core", version="1.0.0", **options) -> bytes:
    """A package carrying the real assembly whose PDB `snupkg()` carries."""
    return nupkg(package_id, version, extra={DLL_PATH: DLL}, **options)


def add_version(registration, version, key=None, listed=True, original_version=None):
    """A version row as a push leaves it, without a file (for pages and listings),
    with its search rows and revision as the lifecycle leaves them."""
    version = PackageVersion.objects.create(
        registration=registration,
        version=version,
        normalized_version=version.lower(),
        original_version=original_version or version,
        size=2048,
        sha512="x" * 88,
        file=f"{registration.normalized_id}/{version}.nupkg",
        listed=listed,
        pushed_with_key=key,
        pushed_with_key_name=key.name if key else "",
        pushed_with_key_hint=key.hint if key else "",
    )
    lifecycle.touch([registration.pk])
    return version
