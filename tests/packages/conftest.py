import pytest
from django.core.cache import cache

from packages import feed


@pytest.fixture
def fresh_feed(package_dir):
    """Package files in a folder of the test's own, and the feed's caches empty: row ids
    repeat from test to test, so an index remembered by an earlier test would be served."""
    cache.clear()
    feed.forget_all()
    return package_dir
