"""Security finding: a pushed manifest in the XHTML namespace rendered in a browser as a
page of the site (a fake sign-in page whose <meta http-equiv="refresh"> redirected).
Opened in Chromium, the manifest's URL is a download: no page, no script, no redirect."""

import io
from pathlib import Path

import pytest
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from tests.factories import UserFactory, make_key
from tests.packages.builders import nupkg

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOSTILE = """<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>Evil.Page</id>
    <version>1.0.0</version>
    <authors>mallory</authors>
    <description>A manifest that is also a web page.</description>
  </metadata>
  <html xmlns="http://www.w3.org/1999/xhtml"><head><title>Sign in</title>
    <meta http-equiv="refresh" content="0; url=https://phishing.example/" />
  </head><body><h1>Your session expired: sign in again</h1>
    <script>document.title = "owned"; window.location = "https://phishing.example/js";</script>
  </body></html>
</package>
"""


@pytest.mark.parametrize(
    "path",
    [
        "/v3-flatcontainer/evil.page/1.0.0/evil.page.nuspec",
        "/v3-flatcontainer/evil.page/1.0.0/evil.page.1.0.0.nuspec",  # the old address
    ],
)
def test_a_hostile_manifest_opens_as_a_download_not_a_page(page, package_dir, path):
    secret = make_key(UserFactory(username="mallory"))[1]
    pushed = Client().put(
        "/api/v2/package",
        encode_multipart(BOUNDARY, {"package": io.BytesIO(nupkg("Evil.Page", nuspec=HOSTILE))}),
        content_type=MULTIPART_CONTENT,
        headers={"X-NuGet-ApiKey": secret},
    )
    assert pushed.status_code == 201, pushed.content

    escaped = []

    def refuse(route):
        escaped.append(route.request.url)
        route.abort()

    page.context.route("https://phishing.example/**", refuse)
    with page.expect_download() as download_info:
        try:
            page.goto(path)
        except Exception as error:  # Chromium aborts the navigation: it became a download
            assert "Download is starting" in str(error) or "ERR_ABORTED" in str(error)
    download = download_info.value
    assert download.suggested_filename == "evil.page.nuspec"
    assert b"phishing.example" in Path(download.path()).read_bytes()  # the bytes, as pushed
    # Nothing rendered, nothing ran: the tab is still blank, and no request left for the
    # phishing host (the meta refresh and the script would each have sent one at once).
    page.wait_for_timeout(500)
    assert page.url == "about:blank"
    assert page.title() != "owned"
    assert page.locator("h1").count() == 0
    assert escaped == []
