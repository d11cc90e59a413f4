"""docs/api/package-base-address-resource.md: PackageBaseAddress/3.0.0, the flat container."""

import io
import zipfile

import pytest

from packages.models import PackageVersion
from tests.conformance.conftest import pushed
from tests.factories import make_key
from tests.helpers import unlist

pytestmark = pytest.mark.django_db

BASE = "/v3-flatcontainer"
# The docs' samples, adapted: owin's versions, Newtonsoft.Json 9.0.1's .nupkg and
# Newtonsoft.Json 6.0.4's .nuspec.
NEWTONSOFT = "Newtonsoft.Json"

XHTML_NUSPEC = """<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>{id}</id>
    <version>{version}</version>
    <authors>mallory</authors>
    <description>A manifest that is also a web page.</description>
  </metadata>
  <html xmlns="http://www.w3.org/1999/xhtml"><head>
    <meta http-equiv="refresh" content="0; url=https://phishing.example/" />
  </head><body><h1>Sign in again</h1><script>document.title = "owned"</script></body></html>
</package>
"""


def manifest_of(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".nuspec") and "/" not in n]
        return archive.read(name)


# ------------------------------------------------------- enumerate package versions


def test_versions_index_lists_listed_and_unlisted_versions(feed, client, publisher):
    """ "GET {@id}/{LOWER_ID}/index.json"; "This list contains both listed and unlisted
    package versions"; "Every version listed in this list must be available for download"."""
    for version in ("1.0.0", "1.1.0", "2.0.0"):
        pushed(client, publisher, "Owin", version)
    unlist(client, publisher, "Owin", "1.1.0")
    response = feed.get(f"{BASE}/owin/index.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"versions": ["1.0.0", "1.1.0", "2.0.0"]}
    for version in response.json()["versions"]:
        download = feed.get(f"{BASE}/owin/{version}/owin.{version}.nupkg")
        assert download.status_code == 200, version


def test_versions_index_strings_are_lowercased_normalized_without_build_metadata(
    feed, client, publisher
):
    """ "The strings in the `versions` array are all lowercased, normalized NuGet version
    strings. The version strings do not contain any SemVer 2.0.0 build metadata.\""""
    for version in ("1.0", "1.0.0-Beta", "2.0.0-RC.1+Build.5", "1.2.3.0", "1.10.0"):
        pushed(client, publisher, "Owin", version)
    assert feed.get(f"{BASE}/owin/index.json").json()["versions"] == [
        "1.0.0-beta",
        "1.0.0",
        "1.2.3",
        "1.10.0",
        "2.0.0-rc.1",
    ]


def test_versions_index_strings_are_usable_verbatim_as_lower_version(feed, client, publisher):
    """ "The intent is that the version strings found in this array can be used verbatim
    for the `LOWER_VERSION` tokens found in the following endpoints.\""""
    pushed(client, publisher, "Owin", "3.0.0-Alpha+meta")
    (version,) = feed.get(f"{BASE}/owin/index.json").json()["versions"]
    assert feed.get(f"{BASE}/owin/{version}/owin.{version}.nupkg").status_code == 200
    assert feed.get(f"{BASE}/owin/{version}/owin.nuspec").status_code == 200


def test_versions_index_of_an_unknown_id_is_404(feed):
    """ "If the package source has no versions of the provided package ID, a 404 status
    code is returned.\""""
    response = feed.get(f"{BASE}/nobody.here/index.json")
    assert response.status_code == 404
    assert response.json()["error"]


def test_versions_index_answers_head(feed, client, publisher):
    """ "All URLs found in the package content resource support the HTTP methods `GET`
    and `HEAD`.\""""
    pushed(client, publisher, "Owin")
    get, head = feed.get(f"{BASE}/owin/index.json"), feed.head(f"{BASE}/owin/index.json")
    assert head.status_code == 200 and head.content == b""
    for name in ("Content-Type", "ETag", "Cache-Control"):
        assert head[name] == get[name], name
    assert feed.head(f"{BASE}/nobody.here/index.json").status_code == 404


def test_package_content_refuses_methods_other_than_get_and_head(feed, client, publisher):
    """Only `GET` and `HEAD` are supported: anything else is 405 and changes nothing."""
    pushed(client, publisher, "Owin")
    for url in (f"{BASE}/owin/index.json", f"{BASE}/owin/1.0.0/owin.1.0.0.nupkg"):
        response = feed.client.post(url, headers=feed.headers)
        assert response.status_code == 405, url
    assert PackageVersion.objects.count() == 1


# ------------------------------------------------------------ download the .nupkg


def test_nupkg_download_is_the_package_content(feed, client, publisher):
    """ "GET {@id}/{LOWER_ID}/{LOWER_VERSION}/{LOWER_ID}.{LOWER_VERSION}.nupkg"; "If the
    package exists on the package source, a 200 status code is returned. The response body
    will be the package content itself." (sample: newtonsoft.json/9.0.1)"""
    data = pushed(client, publisher, NEWTONSOFT, "9.0.1")
    response = feed.get(f"{BASE}/newtonsoft.json/9.0.1/newtonsoft.json.9.0.1.nupkg")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert response["Content-Length"] == str(len(data))


def test_nupkg_download_is_named_after_the_package(feed, client, publisher, package_dir):
    """A browser saves the download as `{lower_id}.{lower_version}.nupkg`, never under the
    storage's internal name (where a file of the usual name is left, e.g. an orphan, the
    push is stored as `9_mUqXUVm.0.1.nupkg`)."""
    (package_dir / "newtonsoft.json").mkdir(parents=True)
    (package_dir / "newtonsoft.json" / "9.0.1.nupkg").write_bytes(b"an orphan")
    pushed(client, publisher, NEWTONSOFT, "9.0.1")
    assert PackageVersion.objects.get().file.name != "newtonsoft.json/9.0.1.nupkg"
    response = feed.get(f"{BASE}/newtonsoft.json/9.0.1/newtonsoft.json.9.0.1.nupkg")
    assert response["Content-Disposition"] == 'attachment; filename="newtonsoft.json.9.0.1.nupkg"'
    assert response["Content-Type"] == "application/octet-stream"


def test_nupkg_download_is_cached_an_hour_and_revalidated_never_immutable(feed, client, publisher):
    """A version deleted for good must stop being served by caches: no `immutable`, an
    hour's max-age, then revalidation with the ETag (304); a private feed's answers are
    `private` (README, Protocol)."""
    pushed(client, publisher, NEWTONSOFT, "9.0.1")
    url = f"{BASE}/newtonsoft.json/9.0.1/newtonsoft.json.9.0.1.nupkg"
    response = feed.get(url)
    assert response["Cache-Control"] == f"{feed.cache_scope}, max-age=3600"
    assert "immutable" not in response["Cache-Control"]
    again = feed.get(url, **{"If-None-Match": response["ETag"]})
    assert again.status_code == 304 and again["ETag"] == response["ETag"]


def test_nupkg_download_answers_head_with_the_headers_of_get(feed, client, publisher):
    """ "All URLs found in the package content resource support the HTTP methods `GET` and
    `HEAD`": the same headers, no body, and no download counted."""
    from packages import downloads as feed_module

    pushed(client, publisher, NEWTONSOFT, "9.0.1")
    url = f"{BASE}/newtonsoft.json/9.0.1/newtonsoft.json.9.0.1.nupkg"
    head = feed.head(url)
    assert head.status_code == 200 and head.content == b""
    assert feed_module.pending_downloads(PackageVersion.objects.all()) == {}
    get = feed.get(url)
    for name in (
        "Content-Type",
        "Content-Length",
        "Content-Disposition",
        "ETag",
        "Last-Modified",
        "Cache-Control",
        "Accept-Ranges",
        "X-Content-Type-Options",
    ):
        assert head[name] == get[name], name


def test_nupkg_of_an_unknown_package_or_version_is_404(feed, client, publisher):
    """ "If the package does not exist on the package source, a 404 status code is returned.\""""
    pushed(client, publisher, NEWTONSOFT, "9.0.1")
    for url in (
        f"{BASE}/newtonsoft.json/9.0.2/newtonsoft.json.9.0.2.nupkg",
        f"{BASE}/nobody.here/1.0.0/nobody.here.1.0.0.nupkg",
        f"{BASE}/newtonsoft.json/9.0.1/other.9.0.1.nupkg",
    ):
        assert feed.get(url).status_code == 404, url
        assert feed.head(url).status_code == 404, url


def test_nupkg_lower_version_excludes_build_metadata(feed, client, publisher):
    """ "The `LOWER_VERSION` is the desired package version normalized using NuGet's version
    normalization rules. This means that build metadata … must be excluded in this case.\""""
    data = pushed(client, publisher, "Owin", "1.0.0-RC.1+sha.abc")
    url = f"{BASE}/owin/1.0.0-rc.1/owin.1.0.0-rc.1.nupkg"
    assert b"".join(feed.get(url).streaming_content) == data


def test_nupkg_lower_id_and_version_are_lowercase_invariant(feed, client, publisher):
    """ "Both `LOWER_ID` and `LOWER_VERSION` are lowercased using the rules implemented by
    .NET's `System.String.ToLowerInvariant()`": the lowercased URL answers for a package
    pushed in any case."""
    data = pushed(client, publisher, "Contoso.CORE.Utils", "1.0.0-BETA")
    url = f"{BASE}/contoso.core.utils/1.0.0-beta/contoso.core.utils.1.0.0-beta.nupkg"
    assert b"".join(feed.get(url).streaming_content) == data


# ------------------------------------------------------------ download the .nuspec


def test_nuspec_download_is_the_manifest_inside_the_package(feed, client, publisher):
    """ "GET {@id}/{LOWER_ID}/{LOWER_VERSION}/{LOWER_ID}.nuspec"; "The response body will be
    the package manifest, which is the .nuspec contained in the corresponding .nupkg. The
    .nuspec is an XML document." (sample: newtonsoft.json/6.0.4/newtonsoft.json.nuspec)"""
    data = pushed(client, publisher, NEWTONSOFT, "6.0.4")
    response = feed.get(f"{BASE}/newtonsoft.json/6.0.4/newtonsoft.json.nuspec")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == manifest_of(data)
    assert response["Content-Type"] == "application/xml"


def test_nuspec_old_address_redirects_for_good_to_the_documented_one(feed, client, publisher):
    """Galley first served the manifest at `{LOWER_ID}.{LOWER_VERSION}.nuspec`; that address
    keeps answering, with a permanent redirect (overview.md: "301 | A permanent redirect")."""
    pushed(client, publisher, NEWTONSOFT, "6.0.4")
    old = f"{BASE}/newtonsoft.json/6.0.4/newtonsoft.json.6.0.4.nuspec"
    for response in (feed.get(old), feed.head(old)):
        assert response.status_code == 301
        assert response["Location"] == f"{BASE}/newtonsoft.json/6.0.4/newtonsoft.json.nuspec"
    assert feed.get(f"{BASE}/newtonsoft.json/6.0.5/newtonsoft.json.6.0.5.nuspec").status_code == (
        404
    )


def test_nuspec_of_an_unknown_package_or_version_is_404(feed, client, publisher):
    """ "If the package does not exist on the package source, a 404 status code is returned.\""""
    pushed(client, publisher, NEWTONSOFT, "6.0.4")
    for url in (
        f"{BASE}/newtonsoft.json/6.0.5/newtonsoft.json.nuspec",
        f"{BASE}/nobody.here/1.0.0/nobody.here.nuspec",
    ):
        assert feed.get(url).status_code == 404, url
        assert feed.head(url).status_code == 404, url


def test_nuspec_answers_head_with_the_headers_of_get(feed, client, publisher):
    """ "All URLs found in the package content resource support the HTTP methods `GET` and
    `HEAD`.\""""
    pushed(client, publisher, NEWTONSOFT, "6.0.4")
    url = f"{BASE}/newtonsoft.json/6.0.4/newtonsoft.json.nuspec"
    head, get = feed.head(url), feed.get(url)
    assert head.status_code == 200 and head.content == b""
    for name in (
        "Content-Type",
        "Content-Length",
        "Content-Disposition",
        "Content-Security-Policy",
        "ETag",
        "Cache-Control",
    ):
        assert head[name] == get[name], name


def test_a_manifest_is_an_inert_download_never_a_page(feed, client, publisher, settings):
    """Security finding: a pushed manifest in the XHTML namespace rendered as a page of the
    site. It is served as an attachment, sandboxed with nothing allowed, and never sniffed
    (whatever the site-wide SECURE_CONTENT_TYPE_NOSNIFF says)."""
    settings.SECURE_CONTENT_TYPE_NOSNIFF = False
    nuspec = XHTML_NUSPEC.format(id="Evil.Page", version="1.0.0")
    pushed(client, publisher, "Evil.Page", nuspec=nuspec)
    response = feed.get(f"{BASE}/evil.page/1.0.0/evil.page.nuspec")
    assert response.status_code == 200
    assert b"phishing.example" in b"".join(response.streaming_content)  # the bytes, unchanged
    assert response["Content-Disposition"] == 'attachment; filename="evil.page.nuspec"'
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["X-Content-Type-Options"] == "nosniff"
    revalidated = feed.get(
        f"{BASE}/evil.page/1.0.0/evil.page.nuspec", **{"If-None-Match": response["ETag"]}
    )
    assert revalidated.status_code == 304


def test_a_manifest_read_out_of_an_old_package_is_just_as_inert(
    feed, client, publisher, package_dir
):
    """Versions pushed before manifests were stored beside the package are read out of the
    .nupkg: the same headers apply."""
    pushed(client, publisher, "Evil.Page", nuspec=XHTML_NUSPEC.format(id="Evil.Page", version="1"))
    (package_dir / "evil.page" / "1.0.0.nuspec").unlink()
    response = feed.get(f"{BASE}/evil.page/1.0.0/evil.page.nuspec")
    assert response.status_code == 200 and b"phishing.example" in response.content
    assert response["Content-Disposition"] == 'attachment; filename="evil.page.nuspec"'
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["X-Content-Type-Options"] == "nosniff"


# ---------------------------------------------------------------- private feed only


def test_a_private_feed_hides_packages_the_reader_may_not_read(settings, client, dana, alice):
    """A private feed answers 404 for a package its reader's key may not read, exactly as
    for an unknown id, on every URL of the resource."""
    from tests.conformance.conftest import Feed, basic

    settings.GALLEY_FEED_READ = "authenticated"
    danas = make_key(dana, scopes=["package:push"], glob_patterns=["*"])[1]
    pushed(client, danas, "Dana.Secret")
    reader = Feed("private", basic("alice", make_key(alice, scopes=["package:read"])[1]))
    for url in (
        f"{BASE}/dana.secret/index.json",
        f"{BASE}/dana.secret/1.0.0/dana.secret.1.0.0.nupkg",
        f"{BASE}/dana.secret/1.0.0/dana.secret.nuspec",
        f"{BASE}/dana.secret/1.0.0/dana.secret.1.0.0.nuspec",
    ):
        assert reader.get(url).status_code == 404, url
        assert reader.head(url).status_code == 404, url
