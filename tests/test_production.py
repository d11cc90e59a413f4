"""Production behaviour: health, security headers, database outages, session limits."""

import time

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.db import OperationalError
from django.test import Client

from tests.conftest import create_key_on_page
from tests.factories import make_key
from tests.helpers import push

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_cache_and_storage(client, package_dir):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok", "storage": "ok"}
    assert "no-store" in response["Cache-Control"]


def test_healthz_says_when_the_database_is_down(client, monkeypatch):
    from django.db.backends.utils import CursorWrapper

    def broken(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(CursorWrapper, "execute", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"


@pytest.fixture
def database_down(monkeypatch, settings):
    settings.DEBUG = False
    from django.db.backends.utils import CursorWrapper

    def broken(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(CursorWrapper, "execute", broken)


def test_a_database_outage_is_a_503_page_not_a_traceback(database_down):
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = "x" * 32
    response = client.get("/account/apikeys")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    body = response.content.decode()
    assert "database cannot be reached" in body
    assert "Traceback" not in body and "OperationalError" not in body


def test_a_database_outage_is_a_plain_503_for_the_nuget_client(database_down):
    from apikeys.tokens import generate

    response = push(Client(raise_request_exception=False), generate())
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/plain")


def test_other_errors_stay_500(monkeypatch, settings):
    settings.DEBUG = False
    import packages.public_views

    def boom(request):
        raise ValueError("bug")

    # The home page (packages/public_views.py) fails while rendering.
    monkeypatch.setattr(packages.public_views, "render", lambda *a, **k: boom(None))
    response = Client(raise_request_exception=False).get("/")
    assert response.status_code == 500
    assert "bug" not in response.content.decode()


PAGES = [
    "/",
    "/users/account/LogOn",
    "/account/apikeys",
    "/admin/login/",
    "/v3/index.json",
    "/healthz",
]


@pytest.mark.parametrize("url", PAGES)
def test_security_headers_on_every_kind_of_page(client, alice, url):
    client.force_login(alice)
    response = client.get(url)
    csp = response["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert directives["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in directives["script-src"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_security_headers_on_the_publish_api(alice, package_dir):
    _, secret = make_key(alice)
    response = push(Client(), secret)
    assert response.status_code == 201
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_page_showing_a_secret_is_not_stored(client, alice):
    from tests.conftest import sign_in

    sign_in(client, alice)
    response = create_key_on_page(client)
    assert "gly_" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_session_idle_timeout(client, alice, settings):
    settings.GALLEY_SESSION_IDLE_TIMEOUT = 600
    with time_machine.travel(time.time(), tick=False) as clock:
        client.force_login(alice)
        assert client.get("/account").status_code == 200
        clock.shift(300)
        assert client.get("/account").status_code == 200  # activity keeps it alive
        clock.shift(540)
        assert client.get("/account").status_code == 200
        clock.shift(601)
        assert client.get("/account").status_code == 302
        assert SESSION_KEY not in client.session


def test_session_absolute_timeout(client, alice, settings):
    settings.GALLEY_SESSION_IDLE_TIMEOUT = 600
    settings.GALLEY_SESSION_ABSOLUTE_TIMEOUT = 3600
    with time_machine.travel(time.time(), tick=False) as clock:
        client.force_login(alice)
        statuses = []
        for _ in range(8):  # active every 500 s, for 4000 s in all
            clock.shift(500)
            statuses.append(client.get("/account").status_code)
        assert statuses == [200] * 7 + [302]
