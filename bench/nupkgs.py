"""Packages and request bodies for the benchmark, as the NuGet client sends them."""

import io
import os
import zipfile

NUSPEC = """<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>{id}</id>
    <version>{version}</version>
    <authors>bench</authors>
    <description>A benchmark package.</description>
  </metadata>
</package>
"""

BOUNDARY = "galley-bench-7d3f9a41c2e8b605"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
_CHUNK = 1 << 20


def small(package_id: str, version: str) -> bytes:
    """A minimal valid package (well under 1 KB)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{package_id}.nuspec", NUSPEC.format(id=package_id, version=version))
        archive.writestr("lib/net8.0/readme.txt", "hello")
    return buffer.getvalue()


def with_payload(package_id: str, version: str, total_size: int) -> bytes:
    """A valid package of about `total_size` bytes of incompressible content."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{package_id}.nuspec", NUSPEC.format(id=package_id, version=version))
        payload = os.urandom(max(0, total_size - 1024))
        archive.writestr("content/payload.bin", payload, compress_type=zipfile.ZIP_STORED)
    return buffer.getvalue()


def write_large(path, package_id: str, version: str, payload_size: int) -> int:
    """Write a package with `payload_size` random bytes (stored) to `path`; return its size.

    Streams in 1 MiB chunks: the package is never held in memory.
    """
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(
            f"{package_id}.nuspec",
            NUSPEC.format(id=package_id, version=version),
            compress_type=zipfile.ZIP_DEFLATED,
        )
        with archive.open("content/payload.bin", "w", force_zip64=True) as entry:
            left = payload_size
            while left:
                chunk = os.urandom(min(_CHUNK, left))
                entry.write(chunk)
                left -= len(chunk)
    return os.path.getsize(path)


def multipart_frame(filename: str = "package.nupkg") -> tuple[bytes, bytes]:
    """The bytes before and after the package in the NuGet client's multipart body."""
    head = (
        f"--{BOUNDARY}\r\n"
        "Content-Type: application/octet-stream\r\n"
        f'Content-Disposition: form-data; name="package"; filename="{filename}"\r\n'
        "\r\n"
    ).encode("ascii")
    tail = f"\r\n--{BOUNDARY}--\r\n".encode("ascii")
    return head, tail


def multipart(package: bytes) -> bytes:
    head, tail = multipart_frame()
    return head + package + tail
