"""A key's reader of a feed document finds the registration in the statement that
finds the key (packages/readers.py `_joined`, apikeys.models.Joined): for every
kind of key and package it must find what the registration's own statement finds,
and the rules must still decide (a second owner, an organization, an unrelated
person, patterns, packages selected by name, an upstream-only package)."""

import base64

import pytest

from apikeys.models import ApiKey, RevocationSource
from apikeys.scopes import resolve
from packages import lifecycle, readers
from packages.models import PackageRegistration, PackageVersion
from tests.factories import PackageRegistrationFactory, make_key
from tests.packages.builders import add_version

pytestmark = pytest.mark.django_db

UPSTREAMS = [{"url": "http://127.0.0.1:9/v3/index.json", "username": None, "password": None}]
IDS = ["contoso.core", "fabrikam.tools", "dana.own", "upstream.only", "nothing.here"]


@pytest.fixture
def packages(alice, dana, fabrikam):
    contoso = PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice])
    add_version(contoso, "1.0.0")
    add_version(PackageRegistrationFactory(package_id="Fabrikam.Tools", owners=[fabrikam]), "1.0.0")
    add_version(PackageRegistrationFactory(package_id="Dana.Own", owners=[dana]), "1.0.0")
    upstream = PackageRegistration.objects.create(package_id="Upstream.Only")
    version = add_version(upstream, "2.0.0")
    PackageVersion.objects.filter(pk=version.pk).update(upstream="http://127.0.0.1:9/v3/")
    lifecycle.touch([upstream.pk])
    return contoso


def _keys(alice, dana, charlie, fabrikam, contoso):
    read = ["package:read"]
    return {
        "alice's": make_key(alice, scopes=read)[1],
        "alice's for Fabrikam.*": make_key(alice, scopes=read, glob_patterns=["Fabrikam.*"])[1],
        "alice's naming Contoso.Core": make_key(
            alice, scopes=read, glob_patterns=[], packages=[contoso]
        )[1],
        "dana's": make_key(dana, scopes=read)[1],
        "Fabrikam's, dana's": make_key(dana, owner=fabrikam, scopes=read)[1],
        "charlie's": make_key(charlie, scopes=read)[1],
    }


# What each key reads, without upstreams; with them, Upstream.Only too (anyone's).
READS = {
    "alice's": {"contoso.core"},
    "alice's for Fabrikam.*": set(),
    "alice's naming Contoso.Core": {"contoso.core"},
    "dana's": {"fabrikam.tools", "dana.own"},
    "Fabrikam's, dana's": {"fabrikam.tools"},
    "charlie's": set(),
}


def _separately(secret, lower, django_assert_num_queries):
    # the key, then the registration with whether the key selects it by name
    with django_assert_num_queries(2):
        reader = readers.Reader(caller=resolve(ApiKey.objects.find(secret)))
        return reader.registration(lower, *readers.DOCUMENT_FIELDS)


def _joined(secret, lower, upstreams, django_assert_num_queries):
    with django_assert_num_queries(1):
        key = ApiKey.objects.find(secret, readers._joined(upstreams), lower)
    reader = readers.Reader(caller=resolve(key), joined=(lower, upstreams, key.joined_row))
    with django_assert_num_queries(0):
        return reader.registration(lower, *readers.DOCUMENT_FIELDS)


@pytest.mark.parametrize("upstreams", [False, True], ids=["own feed", "with upstreams"])
def test_the_joined_registration_is_the_one_its_own_statement_finds(
    alice, dana, charlie, fabrikam, packages, settings, upstreams, django_assert_num_queries
):
    settings.GALLEY_FEED_READ = "authenticated"
    settings.GALLEY_UPSTREAMS = UPSTREAMS if upstreams else []
    # Kept once per process and shape: the other shape is no answer for this one.
    assert readers._joined(not upstreams) is not readers._joined(upstreams)
    assert readers._joined(upstreams) is readers._joined(upstreams)
    for name, secret in _keys(alice, dana, charlie, fabrikam, packages).items():
        expected = READS[name] | ({"upstream.only"} if upstreams else set())
        for lower in IDS:
            joined = _joined(secret, lower, upstreams, django_assert_num_queries)
            separate = _separately(secret, lower, django_assert_num_queries)
            found = {part.normalized_id for part in (joined, separate) if part is not None}
            assert found == ({lower} if lower in expected else set()), (name, lower)
            if joined is not None:
                assert (joined.pk, joined.revision, joined.package_id) == (
                    separate.pk,
                    separate.revision,
                    separate.package_id,
                ), (name, lower)
                assert joined.get_deferred_fields() == separate.get_deferred_fields()


def test_columns_that_ask_for_the_id_are_refused(monkeypatch):
    """The id is the join's parameter; a registration query whose columns asked for it
    too would read the stand-in instead: refused when the statement is made."""
    from django.db.models import Exists

    asking = readers._registrations

    def registrations(everyone, with_key, upstreams, fields):
        same_id = PackageRegistration.objects.filter(normalized_id=readers._ID)
        return asking(everyone, with_key, upstreams, fields).annotate(named=Exists(same_id))

    monkeypatch.setattr(readers, "_registrations", registrations)
    with pytest.raises(RuntimeError, match="^the registration's columns ask for its id$"):
        readers._joined(False)


def test_a_registration_joined_for_another_id_is_asked_again(
    alice, packages, settings, django_assert_num_queries
):
    """The joined row answers only for the id (and upstream setting) it was found for."""
    settings.GALLEY_FEED_READ = "authenticated"
    secret = make_key(alice, scopes=["package:read"])[1]
    key = ApiKey.objects.find(secret, readers._joined(False), "dana.own")
    assert key.joined_row[0] is not None  # dana's: found, then refused by the rules
    reader = readers.Reader(caller=resolve(key), joined=("dana.own", False, key.joined_row))
    with django_assert_num_queries(1):
        found = reader.registration("contoso.core", *readers.DOCUMENT_FIELDS)
    assert found.pk == packages.pk
    with django_assert_num_queries(1):  # other fields than a document's: asked again
        assert reader.registration("dana.own", "normalized_id") is None
    settings.GALLEY_UPSTREAMS = UPSTREAMS
    with django_assert_num_queries(1):  # found without upstreams: asked again
        assert reader.registration("dana.own", *readers.DOCUMENT_FIELDS) is None


def test_a_key_that_fails_is_refused_however_readable_the_registration(
    client, alice, packages, settings
):
    """The key's rules come first on the joined path too: a wrong user name, a revoked
    key and a key without the read scope get 401 and 403 for alice's own package."""
    settings.GALLEY_FEED_READ = "authenticated"
    url = "/v3/registration/contoso.core/index.json"

    def get(username, secret):
        token = base64.b64encode(f"{username}:{secret}".encode()).decode()
        return client.get(url, headers={"Authorization": f"Basic {token}"})

    key, secret = make_key(alice, scopes=["package:read"])
    assert get("alice", secret).status_code == 200
    assert get("bob", secret).status_code == 401
    assert key.revoke(by=alice, source=RevocationSource.HOLDER)
    assert get("alice", secret).status_code == 401
    push_only = make_key(alice, scopes=["package:push"])[1]
    assert get("alice", push_only).status_code == 403
