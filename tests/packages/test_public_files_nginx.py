"""The public folder behind real nginx, configured with docs/deploy.md's own lines.

nginx sends a pushed package itself, with Galley's headers; asks Galley for anything
it has no link for (a deleted version, another spelling of the address); and its
log, read by count_download_log, counts what it sent as Galley counts its own.
"""

import http.client
import os
import shutil
import subprocess
import time

import pytest

from bench.feed import documented_public_files
from packages import download_log, public_files
from packages.downloads import pending_downloads
from packages.models import PackageVersion
from tests.conftest import required
from tests.factories import make_key
from tests.helpers import push
from tests.packages.builders import nupkg
from tests.servers import free_port

ADDRESS = "/v3-flatcontainer/contoso.core/1.0.0/contoso.core.1.0.0.nupkg"


CONF = """
{user}
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 64; }}
http {{
  access_log off;
  sendfile on;
  client_body_temp_path {folder}/tmp;
  proxy_temp_path {folder}/tmp;
  fastcgi_temp_path {folder}/tmp;
  uwsgi_temp_path {folder}/tmp;
  scgi_temp_path {folder}/tmp;
  {log_format}
  upstream galley {{ server 127.0.0.1:{galley_port}; }}
  server {{
    listen 127.0.0.1:{port};
    proxy_set_header Host $host;
    location / {{ proxy_pass http://galley; }}
{locations}
  }}
}}
"""


@pytest.fixture
def nginx(live_server, settings, package_dir, tmp_path):
    executable = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(executable):
        if required("nginx"):
            raise AssertionError("nginx is not installed")
        pytest.skip("nginx is not installed")
    settings.GALLEY_PUBLIC_FILES = tmp_path / "public"
    folder = tmp_path / "nginx"
    (folder / "tmp").mkdir(parents=True)
    log_format, locations = documented_public_files(tmp_path / "public", folder / "downloads.log")
    port = free_port()
    conf = folder / "nginx.conf"
    conf.write_text(
        CONF.format(
            # As root, nginx's workers would run as nobody, who cannot enter pytest's folders.
            user="user root;" if os.geteuid() == 0 else "",
            folder=folder,
            log_format=log_format,
            galley_port=live_server.url.rsplit(":", 1)[1],
            port=port,
            locations=locations,
        )
    )
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [executable, "-c", str(conf), "-g", "daemon off;"],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            request(port, "GET", "/healthz")
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(process.stderr.read().decode()) from None
            time.sleep(0.05)
    yield port, folder / "downloads.log"
    process.terminate()
    process.wait(timeout=10)


def request(port, method, path, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def counted(log, state, expected):
    """What count_download_log counts in nginx's log, once `expected` downloads are in
    it or ten seconds have passed: nginx writes a request's line after it has sent the
    answer, so the client can read the answer before the line is written."""
    total = download_log.count_log(log, state)
    deadline = time.monotonic() + 10
    while total < expected and time.monotonic() < deadline:
        time.sleep(0.02)
        total += download_log.count_log(log, state)
    return total


@pytest.mark.django_db(transaction=True)
def test_nginx_sends_public_packages_and_galley_counts_them(
    nginx, client, alice, tmp_path, settings
):
    port, log = nginx
    secret = make_key(alice)[1]
    package = nupkg()
    assert push(client, secret, package).status_code == 201
    assert push(client, secret, nupkg(version="2.0.0")).status_code == 201
    one, two = PackageVersion.objects.order_by("normalized_version")

    status, headers, body = request(port, "GET", ADDRESS)
    assert (status, body) == (200, package)
    assert "X-Frame-Options" not in headers  # sent by nginx, not by Galley's middleware
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"] == 'attachment; filename="contoso.core.1.0.0.nupkg"'
    assert headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "public, max-age=3600"
    assert pending_downloads([one]) == {}  # Galley was not asked
    status, headers, body = request(port, "GET", ADDRESS, {"Range": "bytes=0-9"})
    assert (status, body) == (206, package[:10])
    assert request(port, "GET", ADDRESS, {"Range": "bytes=10-"})[0] == 206
    assert request(port, "HEAD", ADDRESS)[0] == 200
    etag = request(port, "GET", ADDRESS)[1]["ETag"]
    assert request(port, "GET", ADDRESS, {"If-None-Match": etag})[0] == 304

    # Another spelling of the address has no link: Galley answers, and counts it.
    status, headers, body = request(port, "GET", ADDRESS.replace("contoso.core/", "Contoso.Core/"))
    assert (status, body) == (200, package) and "X-Frame-Options" in headers
    assert pending_downloads([one]) == {one.pk: 1}

    # Several ranges: the whole package, as Galley answers them (max_ranges 1), counted.
    status, _headers, body = request(port, "GET", ADDRESS, {"Range": "bytes=0-1,5-6"})
    assert (status, body) == (200, package)

    state = tmp_path / "state.json"
    assert counted(log, state, 4) == 4  # three whole GETs and the first range
    assert pending_downloads([one, two]) == {one.pk: 5}

    # A download nginx has no link for goes to Galley, which counts it; nginx's log
    # does not, or it would be counted twice.
    two_address = ADDRESS.replace("1.0.0", "2.0.0")
    (settings.GALLEY_PUBLIC_FILES / two_address.lstrip("/")).unlink()
    status, headers, _body = request(port, "GET", two_address)
    assert status == 200 and "X-Frame-Options" in headers
    assert counted(log, state, 0) == 0
    assert pending_downloads([two]) == {two.pk: 1}
    public_files.rebuild()

    # A deleted version is Galley's to answer: 404, at once.
    from packages import lifecycle

    lifecycle.delete_version(lifecycle.Actor(alice, lifecycle.Channel.ADMIN), one, "leaked")
    status, headers, _body = request(port, "GET", ADDRESS)
    assert status == 404 and "X-Frame-Options" in headers
    assert request(port, "GET", two_address)[0] == 200
    assert counted(log, state, 1) == 1
    assert pending_downloads([two]) == {two.pk: 2}
