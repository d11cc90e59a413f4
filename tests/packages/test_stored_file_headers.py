"""Stored files are the pushers' bytes: only raster images are shown in a browser, and
every one is sandboxed and never sniffed (packages/responses.py)."""

import pytest

from packages.responses import stored_file_headers


@pytest.mark.parametrize("content_type", ["image/png", "image/jpeg", "image/gif"])
def test_a_raster_image_is_shown_inline_still_sandboxed_and_never_sniffed(content_type):
    headers = stored_file_headers("icon.png", content_type)
    assert headers == {
        "Content-Disposition": 'inline; filename="icon.png"',
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "X-Content-Type-Options": "nosniff",
    }


@pytest.mark.parametrize(
    "content_type",
    [
        "image/svg+xml",  # an image that runs scripts
        "text/html",
        "application/xhtml+xml",
        "application/xml",  # a manifest
        "text/plain",
        "application/octet-stream",
        "image/png; charset=utf-8",  # not exactly a raster type: not trusted
        "",
    ],
)
def test_anything_else_is_a_download_under_its_own_name(content_type):
    headers = stored_file_headers("contoso.core.nuspec", content_type)
    assert headers["Content-Disposition"] == 'attachment; filename="contoso.core.nuspec"'
    assert headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert headers["X-Content-Type-Options"] == "nosniff"
