import pytest
from django.core.cache import cache

from packages.upstreams import client
from tests.client.conftest import collected_static, nuget58, start_galley  # noqa: F401
from tests.upstreams.fake import FakeUpstream


@pytest.fixture
def upstream(settings, package_dir):
    """A well-behaved upstream on loopback, configured as Galley's only upstream."""
    fake = FakeUpstream()
    settings.GALLEY_UPSTREAMS = [
        {"url": fake.index, "username": None, "password": None, "header": None}
    ]
    settings.GALLEY_UPSTREAM_METADATA_TTL = 600
    settings.GALLEY_UPSTREAM_TIMEOUT = 1
    settings.GALLEY_UPSTREAM_DEADLINE = 2
    client._RESOURCES.clear()
    cache.clear()
    yield fake
    fake.stop()
    client._RESOURCES.clear()
