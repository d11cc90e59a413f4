from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from apikeys.models import Scope
from apikeys.scopes import Action, authorize, permit
from tests.factories import PackageRegistrationFactory, make_key

pytestmark = pytest.mark.django_db

PUSH, PUSH_VERSION, UNLIST = Scope.PUSH.value, Scope.PUSH_VERSION.value, Scope.UNLIST.value


@pytest.fixture
def contoso_core(alice):
    return PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice])


@pytest.fixture
def charlies_package(charlie):
    return PackageRegistrationFactory(package_id="Contoso.Charlie", owners=[charlie])


@pytest.mark.parametrize(
    "scopes, action, existing, expected",
    [
        # push new packages and versions
        ([PUSH], Action.PUSH, False, None),
        ([PUSH], Action.PUSH, True, None),
        ([PUSH], Action.UNLIST, True, "scope_unlist"),
        # push only new versions
        ([PUSH_VERSION], Action.PUSH, False, "scope_push_new"),
        ([PUSH_VERSION], Action.PUSH, True, None),
        ([PUSH_VERSION], Action.UNLIST, True, "scope_unlist"),
        # unlist only
        ([UNLIST], Action.PUSH, False, "scope_push"),
        ([UNLIST], Action.PUSH, True, "scope_push"),
        ([UNLIST], Action.UNLIST, True, None),
        # both
        ([PUSH_VERSION, UNLIST], Action.UNLIST, True, None),
        ([PUSH, UNLIST], Action.PUSH, False, None),
    ],
)
def test_scope_decides_what_a_key_may_do(alice, contoso_core, scopes, action, existing, expected):
    key, _ = make_key(alice, scopes=scopes, glob_patterns=["Contoso.*"])
    registration = contoso_core if existing else None
    package_id = "Contoso.Core" if existing else "Contoso.New"
    refusal = authorize(key, action, package_id, registration)
    assert (refusal.code if refusal else None) == expected


def test_push_version_only_key_names_the_new_package(alice):
    key, _ = make_key(alice, scopes=[PUSH_VERSION])
    refusal = authorize(key, Action.PUSH, "Brand.New", None)
    assert "may only push new versions" in refusal.message
    assert "Brand.New" in refusal.message


def test_a_package_owned_by_someone_else_is_refused(alice, charlies_package):
    key, _ = make_key(alice, scopes=[PUSH], glob_patterns=["*"])
    refusal = authorize(key, Action.PUSH, "contoso.charlie", charlies_package)
    assert refusal.code == "not_owner"
    assert refusal.message == "'alice' does not own the package 'Contoso.Charlie'."


def test_pattern_must_match_the_id(alice, contoso_core):
    key, _ = make_key(alice, glob_patterns=["Fabrikam.*"])
    refusal = authorize(key, Action.PUSH, "Contoso.Core", contoso_core)
    assert refusal.code == "package_not_selected"
    assert "'Contoso.Core' does not match" in refusal.message


def test_pattern_matching_ignores_case(alice, contoso_core):
    key, _ = make_key(alice, glob_patterns=["CONTOSO.*"])
    assert authorize(key, Action.PUSH, "contoso.core", contoso_core) is None


def test_a_selected_package_allows_it_without_a_pattern(alice, contoso_core):
    key, _ = make_key(alice, glob_patterns=[], packages=[contoso_core])
    assert authorize(key, Action.PUSH, "Contoso.Core", contoso_core) is None
    other = PackageRegistrationFactory(package_id="Contoso.Other", owners=[alice])
    assert authorize(key, Action.PUSH, "Contoso.Other", other).code == "package_not_selected"


def test_a_selected_package_does_not_allow_new_ids(alice, contoso_core):
    key, _ = make_key(alice, glob_patterns=[], packages=[contoso_core])
    assert authorize(key, Action.PUSH, "Contoso.Core2", None).code == "package_not_selected"


def test_expired_key_says_when(alice, contoso_core):
    with time_machine.travel("2026-01-01 12:00Z", tick=False):
        key, _ = make_key(alice, expires_in_days=1)
    with time_machine.travel("2026-01-03 12:00Z", tick=False):
        refusal = authorize(key, Action.PUSH, "Contoso.Core", contoso_core)
    assert refusal.code == "expired"
    assert refusal.message == "The API key expired on Jan. 2, 2026."


def test_revoked_key_is_refused_before_anything_else(alice, contoso_core):
    key, _ = make_key(alice)
    key.revoke(by=alice, source="admin", reason="leaked")
    refusal = authorize(key, Action.PUSH, "Contoso.Core", contoso_core)
    assert refusal.code == "revoked"
    assert "revoked on" in refusal.message


def test_deactivated_holder_stops_every_key(alice, contoso_core):
    key, _ = make_key(alice)
    alice.is_active = False
    alice.save()
    key.refresh_from_db()
    assert authorize(key, Action.PUSH, "Contoso.Core", contoso_core).code == "holder_inactive"


def test_key_one_second_before_expiry_still_works(alice, contoso_core):
    key, _ = make_key(alice, expires_in_days=1)
    assert (
        authorize(
            key, Action.PUSH, "Contoso.Core", contoso_core, now=key.expires - timedelta(seconds=1)
        )
        is None
    )
    assert (
        authorize(key, Action.PUSH, "Contoso.Core", contoso_core, now=key.expires).code == "expired"
    )


def test_status_words(alice):
    key, _ = make_key(alice, expires_in_days=90)
    now = timezone.now()
    assert key.status(now) == "Expires in 90 days"
    assert key.status(key.expires - timedelta(hours=3)) == "Expires in 1 day"
    assert key.status(key.expires + timedelta(seconds=1)) == "Expired"
    key.revoke(by=alice, source="holder")
    assert key.status(now) == "Revoked"


def test_reading_needs_the_read_scope_even_without_the_feeds_outer_check(alice, contoso_core):
    """The private feed turns such a key away before it asks; the rule itself refuses too."""
    for scopes in ([PUSH, UNLIST], [PUSH_VERSION]):
        key, _ = make_key(alice, scopes=scopes)
        refusal = authorize(key, Action.READ, "Contoso.Core", contoso_core)
        assert refusal.code == "scope_read"
        assert refusal.message == "The API key's scopes do not allow reading packages."
    key, _ = make_key(alice, scopes=[Scope.READ.value])
    assert authorize(key, Action.READ, "Contoso.Core", contoso_core) is None


# Every refusal, with its code and the exact words the client shows ----------------------


def _refusal(
    holder,
    *,
    owner=None,
    scopes=(PUSH,),
    patterns=("*",),
    action=Action.PUSH,
    package_id="Contoso.Core",
    registration=None,
):
    key, _ = make_key(holder, owner=owner, scopes=scopes, glob_patterns=patterns)
    key.refresh_from_db()
    refusal = authorize(key, action, package_id, registration)
    return (refusal.code, refusal.message, refusal.status)


def test_each_refusal_names_its_rule_in_words(alice, bob, dana, contoso_core, charlies_package):
    from accounts.models import Membership, User
    from packages.models import ReservedPrefix

    contoso = User.objects.create_organization("Contoso", admin=alice)
    membership = Membership.objects.create(organization=contoso, member=bob)
    bobs_key_for_contoso = make_key(bob, owner=contoso)[0]
    cases = {
        "scope_push_new": _refusal(alice, scopes=[PUSH_VERSION], package_id="Brand.New"),
        "scope_push new id": _refusal(alice, scopes=[UNLIST], package_id="Brand.New"),
        "scope_push existing": _refusal(alice, scopes=[UNLIST], registration=contoso_core),
        "scope_unlist": _refusal(alice, action=Action.UNLIST, registration=contoso_core),
        "package_not_selected": _refusal(alice, patterns=["Fabrikam.*"], registration=contoso_core),
        "not_owner": _refusal(alice, package_id="Contoso.Charlie", registration=charlies_package),
    }
    words = "The API key's scopes do not allow pushing packages."
    assert cases == {
        "scope_push_new": (
            "scope_push_new",
            "The API key may only push new versions of existing packages; "
            "'Brand.New' is a new package.",
            403,
        ),
        "scope_push new id": ("scope_push", words, 403),
        "scope_push existing": ("scope_push", words, 403),
        "scope_unlist": (
            "scope_unlist",
            "The API key's scopes do not allow unlisting or relisting packages.",
            403,
        ),
        "package_not_selected": (
            "package_not_selected",
            "The package id 'Contoso.Core' does not match any glob pattern or package of the "
            "API key.",
            403,
        ),
        "not_owner": ("not_owner", "'alice' does not own the package 'Contoso.Charlie'.", 403),
    }
    # Reserved for two owners, named in order.
    ReservedPrefix.objects.create(prefix="Brand.*", owner=dana)
    ReservedPrefix.objects.create(prefix="Brand.*", owner=contoso)
    assert _refusal(alice, package_id="Brand.New") == (
        "reserved_prefix",
        "The package id 'Brand.New' is under the prefix Brand.*, reserved for Contoso, dana: "
        "only they may push new packages under it.",
        403,
    )
    # The key's accounts: the holder, the package owner, the membership between them.
    User.objects.filter(pk=alice.pk).update(is_active=False)
    assert _key_words(make_key(dana)[0]) is None
    assert _key_words(alice.api_keys.first()) == (
        "holder_inactive",
        "The account that holds this API key is deactivated.",
    )
    User.objects.filter(pk=contoso.pk).update(is_active=False)
    assert _key_words(bobs_key_for_contoso) == (
        "owner_inactive",
        "The package owner Contoso is deactivated.",
    )
    User.objects.filter(pk=contoso.pk).update(is_active=True)
    membership.delete()
    assert _key_words(bobs_key_for_contoso) == (
        "not_a_member",
        "bob is no longer a member of Contoso.",
    )


def _key_words(key):
    from apikeys.scopes import key_refusal

    key.refresh_from_db()
    refusal = key_refusal(key)
    return refusal and (refusal.code, refusal.message)


def test_a_revoked_key_says_when_it_was_revoked(alice, contoso_core):
    key, _ = make_key(alice)
    with time_machine.travel("2026-03-02 12:00Z", tick=False):
        key.revoke(by=alice, source="holder")
    with time_machine.travel("2026-03-09 12:00Z", tick=False):
        refusal = authorize(key, Action.PUSH, "Contoso.Core", contoso_core)
    assert (refusal.code, refusal.message) == (
        "revoked",
        "The API key was revoked on March 2, 2026.",
    )


def test_a_key_that_may_never_touch_the_id_is_refused_on_its_patterns_first(alice):
    """A push-version key whose patterns miss a new id is refused for its patterns, not
    for the id being new: it learns nothing of the id (new or not, reserved or not)."""
    key, _ = make_key(alice, scopes=[PUSH_VERSION], glob_patterns=["Fabrikam.*"])
    assert authorize(key, Action.PUSH, "Brand.New", None).code == "package_not_selected"


def test_a_key_is_refused_on_its_patterns_before_the_package_is_looked_up(
    alice, contoso_core, django_assert_num_queries
):
    from apikeys.models import ApiKey
    from apikeys.scopes import Caller, before_lookup

    _, narrow = make_key(alice, glob_patterns=["Fabrikam.*"])
    _, by_name = make_key(alice, glob_patterns=["Fabrikam.*"], packages=[contoso_core])
    _, unlist_only = make_key(alice, scopes=[UNLIST], glob_patterns=["Fabrikam.*"])
    narrow, by_name, unlist_only = (
        Caller(ApiKey.objects.find(secret)) for secret in (narrow, by_name, unlist_only)
    )
    with django_assert_num_queries(0):
        assert before_lookup(narrow, Action.PUSH, "Contoso.Core").code == "package_not_selected"
        assert before_lookup(narrow, Action.PUSH, "Fabrikam.Core") is None
        # A key selecting packages by name may select this one: the lookup decides.
        assert before_lookup(by_name, Action.PUSH, "Contoso.Core") is None
        # Its scopes come first, as in permit.
        assert before_lookup(unlist_only, Action.PUSH, "Contoso.Core").code == "scope_push"
    assert permit(by_name, Action.PUSH, "Contoso.Core", contoso_core) is None
    assert permit(narrow, Action.PUSH, "Contoso.Core", contoso_core).code == "package_not_selected"


def test_an_organizations_key_stops_when_its_holder_leaves_however_it_was_loaded(alice, bob, dana):
    """The key's lookup (find) reads the membership with the key; a key loaded any
    other way asks for it. bob's key for Contoso works while he is a member of it,
    whatever his other organization says, and stops when he leaves Contoso."""
    from accounts.models import Membership, User
    from apikeys.models import ApiKey
    from apikeys.scopes import key_refusal

    contoso = User.objects.create_organization("Contoso", admin=alice)
    fabrikam = User.objects.create_organization("Fabrikam", admin=dana)
    Membership.objects.create(organization=contoso, member=bob, accepted=True)
    Membership.objects.create(organization=fabrikam, member=bob, accepted=True)
    key, secret = make_key(bob, owner=contoso)
    assert key_refusal(ApiKey.objects.get(pk=key.pk)) is None
    assert key_refusal(ApiKey.objects.find(secret)) is None
    Membership.objects.filter(organization=contoso, member=bob).delete()
    for loaded in (ApiKey.objects.get(pk=key.pk), ApiKey.objects.find(secret)):
        assert key_refusal(loaded).code == "not_a_member"


def test_a_refusal_before_the_lookup_names_the_package_id(alice):
    """A key refused on its own patterns, before the id is looked up, is told which id."""
    from apikeys.models import ApiKey
    from apikeys.scopes import before_lookup, resolve

    key, secret = make_key(alice, glob_patterns=["Contoso.*"])
    caller = resolve(ApiKey.objects.find(secret))
    refusal = before_lookup(caller, Action.PUSH, "Fabrikam.Core")
    assert refusal.code == "package_not_selected"
    assert "'Fabrikam.Core'" in refusal.message
    assert before_lookup(caller, Action.PUSH, "Contoso.Core") is None
