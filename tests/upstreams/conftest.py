import pytest
from django.core.cache import cache
from django.test import Client

from packages.upstreams import client as upstream_client
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
    settings.GALLEY_UPSTREAM_TIMEOUT = 2
    settings.GALLEY_UPSTREAM_DEADLINE = 5
    upstream_client._RESOURCES.clear()
    cache.clear()
    yield fake
    fake.stop()
    upstream_client._RESOURCES.clear()


class ReadingClient(Client):
    """Reads every answer whole as it comes, as an HTTP client does: the response is
    then closed, and its after-response work done (core/after_response.py), as a
    server does once it has sent it. A package fetched from an upstream is stored
    then (packages/upstreams/cache.py)."""

    def request(self, **request):
        response = super().request(**request)
        if response.streaming:
            whole = b"".join(response.streaming_content)
            response.streaming_content = [whole]
        return response


@pytest.fixture
def client():
    return ReadingClient()
