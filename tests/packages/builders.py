"""Build .nupkg files for tests: a zip with a nuspec, as `nuget pack` makes."""

import io
import zipfile

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


def nupkg(package_id="Contoso.Core", version="1.0.0", *, nuspec=None, extra=None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            f"{package_id}.nuspec", nuspec or NUSPEC.format(id=package_id, version=version)
        )
        archive.writestr("lib/net8.0/readme.txt", "hello")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()
