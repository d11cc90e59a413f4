"""The conformance suite: NuGet's server API documentation (docs/api/ in
NuGet/docs.microsoft.com-nuget), resource by resource, against Galley.

Each test checks one documented behaviour and quotes the line it checks. The
read side runs twice, on a public feed and on a private one
(GALLEY_FEED_READ=authenticated, HTTP Basic with a read key), through the
`feed` fixture; only what differs between the two (Cache-Control) is asserted
per mode.
"""

import base64

import pytest
from django.core.cache import cache
from django.test import Client

from packages import feed as feed_module
from tests.client.conftest import (  # noqa: F401  (fixtures of the nuget.exe 5.8 tests)
    collected_static,
    galley_server,
    nuget58,
    start_galley,
)
from tests.factories import make_key
from tests.helpers import push
from tests.packages.builders import nupkg

BASE = "http://testserver"


@pytest.fixture(autouse=True)
def fresh_feed(package_dir):
    """Package files in a folder of the test's own, and the feed's caches empty: row ids
    repeat from test to test, so an index remembered by an earlier test would be served."""
    cache.clear()
    feed_module.forget_all()
    return package_dir


@pytest.fixture
def publisher(alice):
    """alice's key for pushing, unlisting and relisting anything."""
    return make_key(alice, scopes=["package:push", "package:unlist"], glob_patterns=["*"])[1]


class Feed:
    """A client reading the feed as NuGet does: anonymously on a public feed, with
    HTTP Basic credentials (alice and a read key) on a private one."""

    def __init__(self, mode: str, headers: dict):
        self.mode = mode
        self.client = Client()
        self.headers = headers

    @property
    def private(self) -> bool:
        return self.mode == "private"

    @property
    def cache_scope(self) -> str:
        return "private" if self.private else "public"

    def get(self, url, data=None, **extra):
        return self.client.get(url, data, headers={**self.headers, **extra})

    def head(self, url, data=None, **extra):
        return self.client.head(url, data, headers={**self.headers, **extra})

    def resources(self) -> dict[str, str]:
        """{@type: @id} of the service index."""
        index = self.get("/v3/index.json").json()
        return {resource["@type"]: resource["@id"] for resource in index["resources"]}


def basic(username: str, secret: str) -> dict:
    token = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture(params=["public", "private"])
def feed(request, settings, alice):
    """The feed, public and private (GALLEY_FEED_READ=authenticated)."""
    if request.param == "private":
        settings.GALLEY_FEED_READ = "authenticated"
        secret = make_key(alice, scopes=["package:read"], glob_patterns=["*"])[1]
        return Feed("private", basic("alice", secret))
    return Feed("public", {})


def pushed(client, secret, package_id="Contoso.Core", version="1.0.0", **options) -> bytes:
    """Push a package through the publish API, as `nuget push` does; its bytes."""
    data = nupkg(package_id, version, **options)
    response = push(client, secret, data)
    assert response.status_code == 201, response.content
    return data


TYPED_NUSPEC = """<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>{id}</id>
    <version>{version}</version>
    <title>{title}</title>
    <authors>Microsoft, .NET Foundation</authors>
    <description>{description}</description>
    <summary>Summary of {id}.</summary>
    <tags>{tags}</tags>
    <iconUrl>https://example.com/icon.png</iconUrl>
    <licenseUrl>https://example.com/license</licenseUrl>
    <projectUrl>https://example.com/project</projectUrl>
    <packageTypes><packageType name="{package_type}" /></packageTypes>
  </metadata>
</package>
"""


def typed(
    package_id,
    version="1.0.0",
    *,
    title="",
    description="A package.",
    tags="",
    package_type="Dependency",
):
    return TYPED_NUSPEC.format(
        id=package_id,
        version=version,
        title=title or package_id,
        description=description,
        tags=tags,
        package_type=package_type,
    )
