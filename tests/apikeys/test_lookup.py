from datetime import timedelta

import pytest
from django.utils import timezone

from apikeys import tokens
from apikeys.models import ApiKey
from tests.factories import make_key

pytestmark = pytest.mark.django_db


def test_a_key_is_found_by_its_secret(alice):
    key, secret = make_key(alice)
    assert ApiKey.objects.find(secret) == key


def test_only_the_hash_and_hint_are_stored(alice):
    key, secret = make_key(alice)
    key.refresh_from_db()
    assert key.hashed_key == tokens.hash_key(
        secret, "development-only-api-key-hashing-secret-never-in-production"
    )
    assert secret.startswith(key.hint)
    assert len(key.hint) == len("gly_") + 4


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "gly_",
        "not a key",
        "gly_" + "A" * 38,  # right shape, wrong checksum
        "gly_" + "é" * 38,
        "xyz_" + "A" * 38,
        "gly_" + "A" * 10_000,
        None,
    ],
)
def test_malformed_keys_are_turned_away_without_a_query(django_assert_num_queries, junk):
    with django_assert_num_queries(0):
        assert ApiKey.objects.find(junk) is None


def test_a_mistyped_key_is_turned_away_without_a_query(alice, django_assert_num_queries):
    _, secret = make_key(alice)
    typo = secret[:10] + ("B" if secret[10] != "B" else "C") + secret[11:]
    with django_assert_num_queries(0):
        assert ApiKey.objects.find(typo) is None


def test_a_well_formed_unknown_key_costs_one_query(alice, django_assert_num_queries):
    make_key(alice)
    with django_assert_num_queries(1):
        assert ApiKey.objects.find(tokens.generate()) is None


def test_last_used_is_written_at_most_once_a_minute(alice, django_assert_num_queries):
    key, _ = make_key(alice)
    now = timezone.now()
    with django_assert_num_queries(1):
        key.record_use(now)
    with django_assert_num_queries(0):
        key.record_use(now + timedelta(seconds=59))
    with django_assert_num_queries(1):
        key.record_use(now + timedelta(seconds=61))
    key.refresh_from_db()
    assert key.last_used == now + timedelta(seconds=61)


def test_last_used_from_a_stale_copy_does_not_go_backwards(alice):
    key, _ = make_key(alice)
    now = timezone.now()
    ApiKey.objects.get(pk=key.pk).record_use(now + timedelta(seconds=30))
    key.record_use(now)  # another process, older view of the row
    key.refresh_from_db()
    assert key.last_used == now + timedelta(seconds=30)


def test_regenerate_replaces_the_secret_and_counts_expiry_from_now(alice):
    key, old = make_key(alice, expires_in_days=90)
    key.revoke(by=alice, source="holder", reason="rotating")
    ApiKey.objects.filter(pk=key.pk).update(expires=timezone.now() - timedelta(days=1))
    key.refresh_from_db()
    new = key.regenerate()
    assert new != old
    assert ApiKey.objects.find(old) is None
    assert ApiKey.objects.find(new) == key
    key.refresh_from_db()
    assert key.revoked_at is None
    assert timedelta(days=89, hours=23) < key.expires - timezone.now() <= timedelta(days=90)
    assert new.startswith(key.hint)


def test_regenerate_respects_a_shortened_longest_life(alice, settings):
    key, _ = make_key(alice, expires_in_days=365)
    settings.GALLEY_KEY_EXPIRY_DAYS = [1, 90]
    key.regenerate()
    key.refresh_from_db()
    assert key.expires - timezone.now() <= timedelta(days=90)


def test_the_raw_lookup_loads_every_field_as_the_orm_does(alice):
    """find() reads the key with a fixed SQL statement (Manager.raw): each field must come
    back with the same value and Python type as through the ORM."""
    from django.test.utils import CaptureQueriesContext

    key, secret = make_key(alice, scopes=["package:push", "package:unlist"])
    key.revoke(by=alice, source="holder")
    orm = ApiKey.objects.get(pk=key.pk)
    from django.db import connection

    with CaptureQueriesContext(connection) as queries:
        raw = ApiKey.objects.find(secret)
    assert len(queries) == 1 and "ORDER BY" not in queries[0]["sql"]
    for field in ApiKey._meta.concrete_fields:
        mine, theirs = getattr(raw, field.attname), getattr(orm, field.attname)
        assert (mine, type(mine)) == (theirs, type(theirs)), field.name


def test_the_lookup_brings_what_the_key_rules_read(alice, bob, django_assert_num_queries):
    """The holder, the package owner and the holder's membership come with the key:
    the key rules then cost no query (a request resolves its caller in one)."""
    from accounts.models import Membership, User
    from apikeys.scopes import key_refusal

    _key, secret = make_key(alice)
    key = ApiKey.objects.find(secret)
    with django_assert_num_queries(0):
        assert key_refusal(key) is None
    assert key.holder == alice and key.owner is key.holder
    contoso = User.objects.create_organization("Contoso", admin=alice)
    _key, secret = make_key(bob, owner=contoso)
    with django_assert_num_queries(1):
        key = ApiKey.objects.find(secret)
    with django_assert_num_queries(0):
        assert key_refusal(key).code == "not_a_member"
    Membership.objects.create(organization=contoso, member=bob, accepted=True)
    key = ApiKey.objects.find(secret)
    with django_assert_num_queries(0):
        assert key_refusal(key) is None
    assert (key.holder.username, key.owner.username) == ("bob", "Contoso")
    assert key.owner.is_organization and key.holder.is_active


def test_find_many_turns_junk_away_without_a_query(alice, django_assert_num_queries):
    _, secret = make_key(alice)
    typo = secret[:10] + ("B" if secret[10] != "B" else "C") + secret[11:]
    junk = ["", "gly_", "not a key", "gly_" + "A" * 38, typo, "ghp_" + secret[4:]]
    with django_assert_num_queries(0):
        assert ApiKey.objects.find_many(junk) == {}


def test_find_many_finds_the_keys_among_junk_in_one_query(alice, dana, django_assert_num_queries):
    alices, alice_secret = make_key(alice)
    danas, dana_secret = make_key(dana)
    with django_assert_num_queries(1):
        found = ApiKey.objects.find_many(
            ["not a key", alice_secret, tokens.generate(), dana_secret]
        )
        assert found == {alice_secret: alices, dana_secret: danas}
        assert found[dana_secret].holder == dana and found[dana_secret].owner == dana


def test_the_lookups_follow_the_configured_prefix(alice, settings):
    settings.GALLEY_KEY_PREFIX = "acme_"
    key, secret = make_key(alice)
    assert secret.startswith("acme_")
    assert ApiKey.objects.find(secret) == key
    assert ApiKey.objects.find_many([secret]) == {secret: key}
    default_shaped = "gly_" + secret.removeprefix("acme_")[:32]
    default_shaped += tokens._checksum("gly_", default_shaped[4:])
    assert ApiKey.objects.find(default_shaped) is None


def test_the_lookup_says_whether_the_key_selects_packages_by_name(alice):
    from tests.factories import PackageRegistrationFactory

    _key, by_pattern = make_key(alice, glob_patterns=["Contoso.*"])
    selected = PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice])
    _key, by_name = make_key(alice, glob_patterns=[], packages=[selected])
    assert ApiKey.objects.find(by_pattern).selects_packages is False
    assert ApiKey.objects.find(by_name).selects_packages is True


def test_the_lookup_statement_is_worked_out_once_per_process(alice, monkeypatch):
    """find() works its statement out once per database and keeps it: nothing is
    compiled per request (docs/benchmarks.md)."""
    from apikeys import models

    built = []
    real = models._FindStatement

    def counting(connection):
        built.append(connection.alias)
        return real(connection)

    monkeypatch.setattr(models, "_FindStatement", counting)
    _key, secret = make_key(alice)
    assert ApiKey.objects.find(secret) is not None
    assert ApiKey.objects.find(secret) is not None
    assert built == ["default"]
