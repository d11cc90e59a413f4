"""`nuget delete` run twice (a retried CI step) leaves the version unlisted: unlisting and
relisting set a state, they do not toggle it, and only a change is audited."""

import pytest

from audit.models import AuditEvent
from packages.models import PackageVersion
from tests.factories import make_key
from tests.helpers import push, unlist

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _package_files_in_a_folder_of_the_tests_own(package_dir):
    pass


@pytest.fixture
def secret(client, alice):
    _, secret = make_key(alice, scopes=["package:push", "package:unlist"])
    assert push(client, secret).status_code == 201
    return secret


def _events(kind):
    return AuditEvent.objects.filter(kind=kind).count()


def test_a_repeated_unlist_leaves_the_version_unlisted(client, secret):
    for _ in range(3):
        response = unlist(client, secret)
        assert (response.status_code, response.content) == (200, b"")
        assert not PackageVersion.objects.get().listed
    assert _events(AuditEvent.Kind.PACKAGE_UNLISTED) == 1
    assert _events(AuditEvent.Kind.PACKAGE_RELISTED) == 0


def test_a_repeated_relist_leaves_the_version_listed(client, secret):
    for _ in range(3):
        assert unlist(client, secret, method="post").status_code == 200
        assert PackageVersion.objects.get().listed
    assert _events(AuditEvent.Kind.PACKAGE_RELISTED) == 0  # it was listed already
    unlist(client, secret)
    for _ in range(2):
        unlist(client, secret, method="post")
        assert PackageVersion.objects.get().listed
    assert _events(AuditEvent.Kind.PACKAGE_RELISTED) == 1
