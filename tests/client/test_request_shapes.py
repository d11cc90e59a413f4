"""The pushes of the clients CI cannot install, sent byte for byte over a real socket.

dotnet CLI, nuget.exe 6, Visual Studio and Paket do not run here (no .NET SDK,
no Windows), so these tests send the requests they send, as read in their
source, to Galley under gunicorn with production settings, and check that the
package is stored as it was sent. nuget.exe 5.8 and NuGet 2.8.7 are driven for
real in test_nuget58.py and test_nuget_client.py.

Sources read (the shapes below are written from them, not copied):
- NuGet/NuGet.Client src/NuGet.Core/NuGet.Protocol/Resources/PackageUpdateResource.cs
  (CreateRequest: a MultipartFormDataContent with one StreamContent named
  "package", file name "package.nupkg", Content-Type application/octet-stream,
  `TransferEncodingChunked = true`; the URL is the PackagePublish @id with a
  trailing slash, GetServiceEndpointUrl; symbols go the same way to the
  SymbolPackagePublish @id), and src/NuGet.Core/NuGet.Protocol/HttpSource/HttpSource.cs
  (User-Agent, Accept-Language from the UI culture, X-NuGet-Session-Id).
- dotnet/runtime src/libraries/System.Net.Http/src/System/Net/Http/MultipartContent.cs
  and MultipartFormDataContent.cs (a GUID boundary, quoted in the Content-Type;
  part headers unquoted with filename*; "\\r\\n--boundary--\\r\\n" at the end).
- NuGet/NuGet2 src/Core/Http/MultipartWebRequest.cs (NuGet 2.x: a ticks boundary,
  Content-Length, quoted name and filename "package", no CRLF after the last
  boundary). On .NET Framework (Visual Studio, nuget.exe on Windows) the
  request also carries `Expect: 100-continue` (ServicePointManager's default).
- fsprojects/Paket src/Paket.Core/Common/NetUtils.fs (UploadFileAsMultipart: the
  body built in memory, so sent with a Content-Length; Environment.NewLine,
  "\\n" off Windows, before and after the closing boundary) and
  src/Paket.Core/Dependencies/RemoteUpload.fs (X-NuGet-ApiKey,
  X-NuGet-Client-Version, /api/v2/package appended to the feed URL).
- NuGet/NuGetGallery's ApiController reads the body itself when it is not
  multipart: a raw .nupkg is a push too.
"""

import http.client
import io
import json
import os
import time
import uuid
import zipfile

import pytest

from packages.models import PackageVersion, SymbolPackage
from tests.factories import make_key
from tests.packages.builders import DLL, PDB, nupkg

pytestmark = [pytest.mark.client, pytest.mark.django_db(transaction=True)]

# StreamContent copies a file in pieces of this size (.NET's default buffer).
DOTNET_COPY_BUFFER = 81920


def package_bytes(package_id="Contoso.Shapes", version="1.0.0", *, with_dll=False) -> bytes:
    """A package of a few hundred kilobytes (random, so incompressible): several chunks;
    `with_dll`, with the real assembly whose PDB `symbol_package_bytes` carries."""
    extra = {"content/noise.bin": os.urandom(300_000)}
    if with_dll:
        extra[f"lib/net8.0/{package_id}.dll"] = DLL
    return nupkg(package_id, version, extra=extra)


def symbol_package_bytes(package_id="Contoso.Shapes", version="1.0.0") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            f"{package_id}.nuspec",
            f'<?xml version="1.0"?><package xmlns="http://schemas.microsoft.com/packaging/'
            f'2013/05/nuspec.xsd"><metadata><id>{package_id}</id><version>{version}</version>'
            "<authors>alice</authors><description>Symbols.</description>"
            '<packageTypes><packageType name="SymbolsPackage" /></packageTypes>'
            "</metadata></package>",
        )
        # A real portable PDB, matching the assembly of `package_bytes(with_dll=True)`.
        archive.writestr(f"lib/net8.0/{package_id}.pdb", PDB)
    return buffer.getvalue()


def dotnet_multipart(package: bytes, boundary: str) -> list[bytes]:
    """MultipartFormDataContent's writes, in order: each is one chunk on the wire."""
    part_headers = (
        "Content-Type: application/octet-stream\r\n"
        "Content-Disposition: form-data; name=package; filename=package.nupkg; "
        "filename*=utf-8''package.nupkg\r\n\r\n"
    )
    pieces = [
        package[i : i + DOTNET_COPY_BUFFER] for i in range(0, len(package), DOTNET_COPY_BUFFER)
    ]
    return [
        f"--{boundary}\r\n".encode(),
        part_headers.encode(),
        *pieces,
        f"\r\n--{boundary}--\r\n".encode(),
    ]


def ticks_boundary() -> str:
    """NuGet 2.x's and Paket's boundary: dashes and DateTime.Now.Ticks in hex."""
    ticks = int(time.time() * 10_000_000) + 621_355_968_000_000_000
    return "-" * 27 + f"{ticks:x}"


def file_part_header(boundary: str) -> bytes:
    return (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="package"; filename="package"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()


def send(
    server,
    path: str,
    headers: dict,
    body: bytes | list[bytes],
    *,
    chunked: bool,
    expect_continue: bool = False,
):
    """PUT `body` (one piece per chunk when chunked); returns (status, reason, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        connection.putrequest("PUT", path, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        pieces = body if isinstance(body, list) else [body]
        if chunked:
            connection.putheader("Transfer-Encoding", "chunked")
        else:
            connection.putheader("Content-Length", str(sum(len(p) for p in pieces)))
        if expect_continue:
            connection.putheader("Expect", "100-continue")
        connection.endheaders()
        if expect_continue:
            # .NET Framework waits for the interim answer before sending the body.
            interim = b""
            while not interim.endswith(b"\r\n\r\n"):
                interim += connection.sock.recv(1)
            assert interim.startswith(b"HTTP/1.1 100 "), interim
        for piece in pieces:
            # .NET writes chunk sizes in upper-case hexadecimal.
            connection.send(b"%X\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
        if chunked:
            connection.send(b"0\r\n\r\n")
        response = connection.getresponse()
        return response.status, response.reason, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def service_index(server) -> dict[str, str]:
    """{resource type: @id} from /v3/index.json, as NuGet.Client finds its endpoints."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request("GET", "/v3/index.json")
        response = connection.getresponse()
        assert response.status == 200
        resources = json.loads(response.read())["resources"]
    finally:
        connection.close()
    return {resource["@type"]: resource["@id"] for resource in resources}


def nuget_client_headers(secret: str, user_agent: str) -> dict:
    return {
        "User-Agent": user_agent,
        "Accept-Language": "en-US",
        "X-NuGet-Session-Id": str(uuid.uuid4()),
        "X-NuGet-ApiKey": secret,
    }


def path_of(url: str, server) -> str:
    assert url.startswith(server.url + "/"), url
    return url[len(server.url) :]


def assert_stored(server, package: bytes, package_id="contoso.shapes", version="1.0.0"):
    stored = PackageVersion.objects.get(registration__normalized_id=package_id)
    assert stored.version == version
    assert (server.packages_dir / stored.file.name).read_bytes() == package
    return stored


@pytest.mark.parametrize(
    ("client", "expect_continue"),
    [
        # .NET (SocketsHttpHandler) sends no Expect header.
        ("NuGet xplat/6.8.0 (Linux 6.1)", False),  # dotnet nuget push
        ("NuGet Command Line/6.8.0 (Microsoft Windows NT 10.0.22631.0)", True),  # nuget.exe 6
        ("NuGet VS VSIX/6.8.0 (Microsoft Windows NT 10.0.22631.0, VS Enterprise/17.8)", True),
    ],
)
def test_nuget_client_chunked_multipart_push(galley_server, alice, client, expect_continue):
    _, secret = make_key(alice)
    package = package_bytes()
    url = service_index(galley_server)["PackagePublish/2.0.0"].rstrip("/") + "/"
    boundary = str(uuid.uuid4())
    headers = {
        **nuget_client_headers(secret, client),
        "Content-Type": f'multipart/form-data; boundary="{boundary}"',
    }
    status, reason, body = send(
        galley_server,
        path_of(url, galley_server),
        headers,
        dotnet_multipart(package, boundary),
        chunked=True,
        expect_continue=expect_continue,
    )
    assert status == 201, (status, reason, body, galley_server.log_tail())
    assert_stored(galley_server, package)


def test_nuget_client_chunked_symbol_push(galley_server, alice):
    _, secret = make_key(alice)
    package, symbols = package_bytes(with_dll=True), symbol_package_bytes()
    resources = service_index(galley_server)
    assert "SymbolPackagePublish/4.9.0" in resources, resources
    user_agent = "NuGet xplat/6.8.0 (Linux 6.1)"
    for data, url in (
        (package, resources["PackagePublish/2.0.0"]),
        (symbols, resources["SymbolPackagePublish/4.9.0"]),
    ):
        boundary = str(uuid.uuid4())
        headers = {
            **nuget_client_headers(secret, user_agent),
            "Content-Type": f'multipart/form-data; boundary="{boundary}"',
        }
        status, reason, body = send(
            galley_server,
            path_of(url.rstrip("/") + "/", galley_server),
            headers,
            dotnet_multipart(data, boundary),
            chunked=True,
        )
        assert status == 201, (status, reason, body, galley_server.log_tail())
    version = assert_stored(galley_server, package)
    stored = SymbolPackage.objects.get(version=version)
    assert (galley_server.packages_dir / stored.file.name).read_bytes() == symbols


def test_nuget2_sized_multipart_push(galley_server, alice):
    """NuGet 2.x on .NET Framework: Content-Length, Expect: 100-continue, no final CRLF."""
    _, secret = make_key(alice)
    package = package_bytes()
    boundary = ticks_boundary()
    body = file_part_header(boundary) + package + b"\r\n" + f"--{boundary}--".encode()
    headers = {
        "User-Agent": "NuGet Command Line/2.8.60318.667 (Microsoft Windows NT 6.2.9200.0)",
        "X-NuGet-ApiKey": secret,
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    }
    status, reason, text = send(
        galley_server, "/api/v2/package/", headers, body, chunked=False, expect_continue=True
    )
    assert status == 201, (status, reason, text, galley_server.log_tail())
    assert_stored(galley_server, package)


@pytest.mark.parametrize("newline", ["\r\n", "\n"], ids=["windows", "linux-macos"])
def test_paket_multipart_push(galley_server, alice, newline):
    """Paket builds the body in memory (a Content-Length) and ends it with Environment.NewLine."""
    _, secret = make_key(alice)
    package = package_bytes()
    boundary = ticks_boundary()
    ending = f"{newline}--{boundary}--{newline}".encode()
    headers = {
        "X-NuGet-ApiKey": secret,
        "X-NuGet-Client-Version": "4.1.0",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    }
    status, reason, text = send(
        galley_server,
        "/api/v2/package",
        headers,
        file_part_header(boundary) + package + ending,
        chunked=False,
    )
    assert status == 201, (status, reason, text, galley_server.log_tail())
    assert_stored(galley_server, package)


@pytest.mark.parametrize("chunked", [False, True], ids=["sized", "chunked"])
def test_raw_package_body_push(galley_server, alice, chunked):
    """nuget.org takes a body that is the .nupkg itself; scripts (curl -T) send that."""
    _, secret = make_key(alice)
    package = package_bytes()
    headers = {"X-NuGet-ApiKey": secret, "Content-Type": "application/octet-stream"}
    body = [package[i : i + 65536] for i in range(0, len(package), 65536)] if chunked else package
    status, reason, text = send(galley_server, "/api/v2/package", headers, body, chunked=chunked)
    assert status == 201, (status, reason, text, galley_server.log_tail())
    assert_stored(galley_server, package)


def test_a_refused_chunked_push_stores_nothing(galley_server, alice):
    """The chunked shape with a key that may not push this id: 403 with Galley's reason."""
    _, secret = make_key(alice, glob_patterns=["Fabrikam.*"])
    package = package_bytes()
    boundary = str(uuid.uuid4())
    headers = {
        **nuget_client_headers(secret, "NuGet xplat/6.8.0 (Linux 6.1)"),
        "Content-Type": f'multipart/form-data; boundary="{boundary}"',
    }
    status, reason, body = send(
        galley_server,
        "/api/v2/package/",
        headers,
        dotnet_multipart(package, boundary),
        chunked=True,
    )
    assert status == 403, (status, reason, body)
    assert "'Contoso.Shapes' does not match any glob pattern" in reason
    assert secret not in body + reason
    assert not PackageVersion.objects.exists()
