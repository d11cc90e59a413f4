"""Nothing an outsider can write pushes security state out of the shared cache.

Without Redis the cache is a database table (as in production without REDIS_URL, and
in these tests); past its MAX_ENTRIES rows Django culls rows in key order, and
allauth's sign-in limits and used two-factor codes sort first. Anonymous downloads
(counted per version) and every other write must leave them where they are.
"""

from unittest import mock

import pytest
import redis
from django.conf import settings as django_settings
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.core.checks import Warning as CheckWarning
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from accounts import checks
from packages import downloads
from packages.models import PackageRegistration, PackageVersion, PendingDownload
from tests.factories import make_key
from tests.helpers import push
from tests.packages.builders import nupkg

pytestmark = pytest.mark.django_db

LIMIT = 5  # GALLEY_LOGIN_ATTEMPTS_LIMIT's default


def _sign_in(client, password):
    return client.post(reverse("account_login"), {"login": "alice", "password": password})


def _cache_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM galley_cache")
        return cursor.fetchone()[0]


def test_the_sign_in_limit_outlives_downloads_and_other_cache_writes(
    client, alice, password, package_dir
):
    assert django_settings.CACHES["default"]["BACKEND"].endswith("DatabaseCache")
    cache.clear()
    for _ in range(LIMIT):
        _sign_in(client, "wrong-password")
    assert b"Too many failed sign-ins" in _sign_in(client, password).content

    # A few real downloads through the feed: counted, and not in the cache.
    secret = make_key(alice, scopes=["package:push"])[1]
    assert push(client, secret, nupkg("Contoso.Core", "1.0.0")).status_code == 201
    url = "/v3-flatcontainer/contoso.core/1.0.0/contoso.core.1.0.0.nupkg"
    rows_before = _cache_rows()
    for _ in range(3):
        b"".join(client.get(url).streaming_content)
    downloaded = PackageVersion.objects.get()
    assert downloads.pending_downloads([downloaded]) == {downloaded.pk: 3}
    assert _cache_rows() == rows_before

    # 5,000 anonymous downloads of distinct versions, and 5,000 unrelated cache writes.
    registration = PackageRegistration.objects.get()
    versions = PackageVersion.objects.bulk_create(
        PackageVersion(
            registration=registration,
            version=f"2.0.{n}",
            normalized_version=f"2.0.{n}",
            file=f"contoso.core.2.0.{n}.nupkg",
            size=1,
            sha512="x",
        )
        for n in range(5_000)
    )
    for version in versions:
        downloads.count_download(version)
    assert PendingDownload.objects.count() == 5_001  # one row per version, at most
    for n in range(5_000):
        cache.set(f"unrelated:{n}", n, 300)

    response = _sign_in(client, password)
    assert SESSION_KEY not in client.session
    assert b"Too many failed sign-ins" in response.content
    # The writes went past MAX_ENTRIES, so they ran the cull, which kept every live row.
    assert _cache_rows() > 5_000 > django_settings.CACHES["default"]["OPTIONS"]["MAX_ENTRIES"]

    # The flush moves every count and deletes what it moved.
    assert downloads.flush_download_counts() == 5_003
    assert not PendingDownload.objects.exists()
    downloaded.refresh_from_db()
    assert downloaded.download_count == 3


def test_the_cull_removes_expired_rows(settings):
    import time_machine

    cache.clear()
    limit = settings.CACHES["default"]["OPTIONS"]["MAX_ENTRIES"]
    with time_machine.travel("2026-11-26 10:00:00Z", tick=False) as traveller:
        for n in range(limit + 1):
            cache.set(f"short:{n}", n, 60)
        traveller.shift(120)
        cache.set("kept", 1, 300)  # past MAX_ENTRIES: the expired rows go
        assert _cache_rows() == 1
        assert cache.get("kept") == 1


# Download counts with Redis: exact, one hash field per version, deleted when flushed.


def test_downloads_are_counted_in_a_redis_hash_and_flushed_exactly(
    redis_cache, client, alice, package_dir
):
    secret = make_key(alice, scopes=["package:push"])[1]
    for version in ("1.0.0", "1.0.1"):
        assert push(client, secret, nupkg("Contoso.Core", version)).status_code == 201
    first, second = PackageVersion.objects.order_by("pk")
    url = "/v3-flatcontainer/contoso.core/1.0.0/contoso.core.1.0.0.nupkg"
    for _ in range(3):
        b"".join(client.get(url).streaming_content)
    downloads.count_download(second)
    assert downloads.pending_downloads([first, second]) == {first.pk: 3, second.pk: 1}
    assert redis_cache.hgetall("galley-test:downloads") == {
        str(first.pk).encode(): b"3",
        str(second.pk).encode(): b"1",
    }
    assert not PendingDownload.objects.exists()

    call_command("flush_download_counts")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.download_count, second.download_count) == (3, 1)
    assert not redis_cache.exists("galley-test:downloads")  # deleted when flushed
    assert downloads.flush_download_counts() == 0


# The start-up warning about Redis's eviction policy.


def _redis_settings(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/13",
        }
    }


@pytest.mark.parametrize("policy", ["volatile-lru", "allkeys-lru", "volatile-ttl"])
def test_a_redis_that_evicts_keys_is_warned_about(settings, policy):
    _redis_settings(settings)
    with mock.patch.object(redis.Redis, "config_get", return_value={"maxmemory-policy": policy}):
        found = checks.redis_eviction_policy(None)
    assert [type(message) for message in found] == [CheckWarning]
    assert policy in found[0].msg and "noeviction" in found[0].hint
    assert found[0].id == "galley.W001"


def test_a_redis_that_never_evicts_is_fine(settings):
    _redis_settings(settings)
    answer = {"maxmemory-policy": "noeviction"}
    with mock.patch.object(redis.Redis, "config_get", return_value=answer):
        assert checks.redis_eviction_policy(None) == []


@pytest.mark.parametrize(
    "error",
    [redis.exceptions.ResponseError("unknown command 'CONFIG'"), redis.exceptions.ConnectionError],
)
def test_a_redis_that_refuses_config_or_is_down_is_tolerated(settings, error):
    _redis_settings(settings)
    with mock.patch.object(redis.Redis, "config_get", side_effect=error):
        assert checks.redis_eviction_policy(None) == []


def test_no_redis_no_question(settings):
    with mock.patch.object(redis.Redis, "config_get") as config_get:
        assert checks.redis_eviction_policy(None) == []
    config_get.assert_not_called()
