import base64
import hashlib
import hmac
import os
import struct
import time

import pytest
from django.test import Client

from tests.factories import PASSWORD, UserFactory


def required(what: str) -> bool:
    """CI sets GALLEY_REQUIRE=browser,nuget,redis so that a missing part fails instead of skipping."""
    return what in os.environ.get("GALLEY_REQUIRE", "").split(",")


def _code_depth(connection) -> int:
    """Atomic blocks the code under test opened (not the test's own wrapping ones)."""
    return sum(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def _run_committed_callbacks(connection) -> None:
    """What a real commit does: run the on_commit callbacks, robust ones logged on error."""
    import logging

    while connection.run_on_commit and _code_depth(connection) == 0:
        _savepoints, callback, robust = connection.run_on_commit.pop(0)
        if not robust:
            callback()
            continue
        try:
            callback()
        except Exception as error:
            logging.getLogger("django.db.backends.base").exception(
                "Error calling %s in on_commit() (%s).", callback.__qualname__, error
            )


@pytest.fixture(autouse=True, scope="session")
def commits_run_on_commit_callbacks():
    """Tests run inside a transaction that is rolled back (pytest-django's `db`), where
    Django never runs on_commit callbacks. The code enqueues its mails on commit
    (accounts/emails.py), so here the end of the code's outermost atomic block, or
    an on_commit call outside any block of its own, runs them as production's commit
    would; a block rolled back drops its callbacks first, as Django does. Tests with
    transaction=True commit for real and need none of this."""
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.transaction import Atomic, get_connection

    original_exit, original_on_commit = Atomic.__exit__, BaseDatabaseWrapper.on_commit

    def exit_and_commit(self, exc_type, exc_value, traceback):
        result = original_exit(self, exc_type, exc_value, traceback)
        connection = get_connection(self.using)
        if not getattr(self, "_from_testcase", False) and connection.in_atomic_block:
            _run_committed_callbacks(connection)
        return result

    def on_commit(self, func, robust=False):
        original_on_commit(self, func, robust)
        if self.in_atomic_block:
            _run_committed_callbacks(self)

    Atomic.__exit__, BaseDatabaseWrapper.on_commit = exit_and_commit, on_commit
    yield
    Atomic.__exit__, BaseDatabaseWrapper.on_commit = original_exit, original_on_commit


@pytest.fixture(autouse=True)
def english_between_tests():
    """A request in French leaves French active in the thread; each test starts in English."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.activate("en")


@pytest.fixture(autouse=True)
def fresh_feed_memo():
    """Feed documents are memoised per process by registration and revision, which
    are unique for good in a database but start again in each test's."""
    from packages import feed

    feed.forget_all()
    yield
    feed.forget_all()


@pytest.fixture(autouse=True)
def fresh_reader_statements():
    """The feed's registration query is compiled once per process and shape
    (packages/readers.py `_statement`). Each test compiles its own, so that a test
    runs the code that builds it: under `make mutants` a mutant of that code would
    otherwise hide behind a statement an earlier test compiled (mutmut forks each
    mutant from a process that ran the tests), and mutmut would not even count the
    later tests as covering it."""
    from apikeys import models
    from core import statements
    from packages import readers

    readers._STATEMENTS.clear()
    readers._JOINED.clear()  # and the registration joined to the key's lookup
    models._FIND_STATEMENTS.clear()  # the key lookup's, likewise
    statements._COMPILED.clear()  # and those of core.statements.compiled
    yield
    readers._STATEMENTS.clear()
    readers._JOINED.clear()
    models._FIND_STATEMENTS.clear()
    statements._COMPILED.clear()


@pytest.fixture
def package_dir(settings, tmp_path):
    """Package files go to a folder of the test's own."""
    settings.STORAGES = {
        **settings.STORAGES,
        "packages": {
            "BACKEND": "packages.storage.AtomicFileSystemStorage",
            "OPTIONS": {"location": tmp_path / "packages"},
        },
    }
    return tmp_path / "packages"


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def alice(db):
    """Owns packages and keys."""
    return UserFactory(username="alice")


@pytest.fixture
def bob(db):
    """A member of alice's organization."""
    return UserFactory(username="bob")


@pytest.fixture
def charlie(db):
    """Has no access to anything of alice's."""
    return UserFactory(username="charlie")


@pytest.fixture
def dana(db):
    """Owns packages of her own, unrelated to alice's (the second owner)."""
    return UserFactory(username="dana")


@pytest.fixture
def fabrikam(dana):
    """An organization nobody of alice's belongs to, administered by dana."""
    from accounts.models import User

    return User.objects.create_organization("Fabrikam", admin=dana)


@pytest.fixture
def admin_user(db):
    """pytest-django's superuser (admin_client signs in as it), with two-factor
    authentication, which the admin requires of staff."""
    return UserFactory(username="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def csrf_client():
    """A client that enforces CSRF checks, as a browser's requests are checked."""
    return Client(enforce_csrf_checks=True)


def totp_code(secret: str, at: float | None = None) -> str:
    """RFC 6238 code (SHA-1, 30 s, 6 digits), computed independently of allauth."""
    counter = int((time.time() if at is None else at) // 30)
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


@pytest.fixture
def redis_cache(settings):
    """Point Django's cache at the local Redis, under a prefix of its own, and clean up."""
    import redis

    url = os.environ.get("GALLEY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    connection = redis.Redis.from_url(url)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError:
        if required("redis"):
            raise
        pytest.skip(f"no Redis at {url}")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "galley-test",
        }
    }
    from django.core.cache import cache

    cache.clear()
    yield connection
    cache.clear()


def sign_in(client, user, password=PASSWORD):
    """Sign in through allauth's forms and confirm the password once more, so that
    actions behind reauthentication (create or regenerate a key, delete the
    account) go through for the next few minutes, as they would for a person."""
    from django.contrib.auth import SESSION_KEY
    from django.urls import reverse

    client.post(reverse("account_login"), {"login": user.username, "password": password})
    assert client.session[SESSION_KEY] == str(user.pk)
    response = client.post(reverse("account_reauthenticate"), {"password": password})
    assert response.status_code == 302, response.content
    return client


def pytest_terminal_summary(terminalreporter):
    """Print what axe-core found on each page, so the results are in the test output."""
    from tests.browser import test_accessibility

    lines = test_accessibility.pytest_terminal_summary_lines()
    if lines:
        terminalreporter.section("accessibility (axe-core)")
        for line in lines:
            terminalreporter.write_line(line)


def create_key_on_page(client, *, extra=None, **fields):
    """POST the API Keys page's Create form as a person would; returns the response."""
    from django.urls import reverse

    data = {
        "name": "CI",
        "expires_in": "90",
        "owner": "alice",
        "push": "on",
        "push_scope": "package:push",
        "glob_patterns": "*",
        **fields,
    }
    return client.post(
        reverse("apikeys"), {k: v for k, v in data.items() if v is not None}, **(extra or {})
    )


def pytest_collection_modifyitems(config, items):
    """CI runs the suite on SQLite, then on PostgreSQL: the browser, client and
    multi-instance tests run once, in the PostgreSQL pass (GALLEY_CI_DB=sqlite
    marks the first).

    A test that runs a NuGet client on mono runs again, once, when mono itself
    crashed (tests/client/conftest.py MonoCrashed); any other failure stands."""
    again = pytest.mark.flaky(reruns=1, only_rerun=["MonoCrashed"])
    for item in items:
        if {"nuget", "nuget58"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(again)
    if os.environ.get("GALLEY_CI_DB") != "sqlite":
        return
    once = pytest.mark.skip(reason="runs once, in CI's PostgreSQL pass")
    for item in items:
        if {"browser", "client", "scale"} & {mark.name for mark in item.iter_markers()}:
            item.add_marker(once)
