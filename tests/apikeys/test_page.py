from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from apikeys.models import ApiKey
from tests.conftest import create_key_on_page, sign_in
from tests.factories import PackageRegistrationFactory, UserFactory, make_key
from tests.helpers import KEY_RE

pytestmark = pytest.mark.django_db


def create(client, **overrides):
    return create_key_on_page(client, **{"expires_in": "365", **overrides})


@pytest.fixture
def signed_in(client, alice):
    return sign_in(client, alice)


def test_create_shows_the_key_once_and_stores_only_its_hash(signed_in, alice):
    response = create(signed_in)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secrets_shown = set(KEY_RE.findall(response.content.decode()))
    assert len(secrets_shown) == 1
    secret = secrets_shown.pop()

    key = ApiKey.objects.get()
    assert key.holder == alice and key.owner == alice and key.name == "CI"
    assert key.scopes == ["package:push"] and key.glob_patterns == ["*"]
    assert ApiKey.objects.find(secret) == key

    page = signed_in.get(reverse("apikeys"))
    content = page.content.decode()
    assert secret not in content
    assert "Expires in 365 days" in content
    assert f"{key.hint}…" in content
    assert "Push new packages and package versions" in content
    assert "Never" in content  # last used


def test_the_secret_is_in_no_table_and_not_in_the_session(signed_in):
    secret = KEY_RE.search(create(signed_in).content.decode()).group(0)
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 (table names from introspection)
            for row in cursor.fetchall():
                assert secret not in repr(row), table
    for session in Session.objects.all():
        assert secret not in repr(session.get_decoded())
    assert secret not in repr(dict(signed_in.session))
    assert secret not in str(signed_in.cookies)


def test_create_needs_reauthentication(client, alice):
    client.force_login(alice)
    response = create(client)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert not ApiKey.objects.exists()


def test_create_resumes_after_reauthentication_and_shows_the_key(client, alice, password):
    client.force_login(alice)
    reauthenticate_url = create(client)["Location"]
    assert b'name="next" value="/account/apikeys"' in client.get(reauthenticate_url).content
    response = client.post(
        reverse("account_reauthenticate"), {"password": password, "next": "/account/apikeys"}
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = KEY_RE.search(response.content.decode()).group(0)
    assert ApiKey.objects.find(secret).name == "CI"


def test_reloading_the_create_response_does_not_make_a_second_key(signed_in):
    create(signed_in)
    response = create(signed_in)
    assert response.status_code == 400
    assert not KEY_RE.search(response.content.decode())
    assert ApiKey.objects.count() == 1


def test_unconfirmed_account_cannot_create_a_key(client):
    eve = UserFactory(username="eve", verified=False)
    client.force_login(eve)
    page = client.get(reverse("apikeys"))
    # nuget.org's words, with its capital K.
    assert b"To get an API Key you will need to confirm your account." in page.content
    assert b'name="name"' not in page.content
    # allauth asks for the password first; then the POST is refused.
    client.post(reverse("account_reauthenticate"), {"password": "correct-horse-battery-staple"})
    response = create(client, owner="eve")
    assert response.status_code == 403
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize(
    "overrides, error",
    [
        ({"name": ""}, "This field is required."),
        ({"name": "   "}, "This field is required."),
        ({"name": "x" * 257}, "Ensure this value has at most 256 characters"),
        ({"expires_in": "7"}, "Select a valid choice. 7 is not one of the available choices."),
        ({"expires_in": "abc"}, "Select a valid choice."),
        (
            {"push_scope": "package:admin"},
            "Select a valid choice. package:admin is not one of the available choices.",
        ),
        ({"push": None, "unlist": None}, "Select at least one scope."),
        ({"glob_patterns": ""}, "Select at least one package or enter a glob pattern."),
        ({"glob_patterns": "Contoso Core"}, "contains characters that are not allowed"),
        ({"glob_patterns": "a" * 129}, "at most 128"),
        ({"owner": "charlie"}, "Select a valid choice."),
    ],
)
def test_bad_input_gives_a_form_error_and_creates_nothing(signed_in, charlie, overrides, error):
    response = create(signed_in, **overrides)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not ApiKey.objects.exists()


def test_duplicate_name_is_refused(signed_in, alice):
    make_key(alice, name="CI")
    response = create(signed_in, name="ci")
    assert response.status_code == 400
    assert "You already have a key with this name." in response.content.decode()
    assert ApiKey.objects.count() == 1


def test_extra_fields_are_ignored(signed_in, alice, charlie):
    before = timezone.now()
    create(
        signed_in,
        holder=str(charlie.pk),
        hashed_key="0" * 64,
        expires=(before + timedelta(days=3650)).date().isoformat(),
        revoked_at=(before - timedelta(days=1)).date().isoformat(),
    )
    after = timezone.now()
    key = ApiKey.objects.get()
    assert key.holder == alice
    assert key.hashed_key != "0" * 64
    assert key.revoked_at is None
    # The 365 days picked on the form, not the submitted date.
    assert before + timedelta(days=365) <= key.expires <= after + timedelta(days=365)


def test_several_patterns_and_packages(signed_in, alice):
    core = PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice])
    create(signed_in, glob_patterns="Contoso.*\r\nFabrikam.*\r\ncontoso.*", packages=[str(core.pk)])
    key = ApiKey.objects.get()
    assert key.glob_patterns == ["Contoso.*", "Fabrikam.*"]
    assert list(key.packages.all()) == [core]


def test_another_owners_package_cannot_be_selected(signed_in, charlie):
    theirs = PackageRegistrationFactory(package_id="Charlie.Pkg", owners=[charlie])
    response = create(signed_in, glob_patterns="", packages=[str(theirs.pk)])
    assert response.status_code == 400
    assert not ApiKey.objects.exists()


def test_xss_in_a_name_is_escaped(signed_in):
    payload = '<script>alert("x")</script>'
    response = create(signed_in, name=payload)
    assert payload.encode() not in response.content
    assert b"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in response.content
    page = signed_in.get(reverse("apikeys"))
    assert payload.encode() not in page.content
    key = ApiKey.objects.get()
    signed_in.post(reverse("apikey_revoke", args=[key.pk]))
    assert payload.encode() not in signed_in.get(reverse("apikeys")).content


ACTIONS = ["apikey_edit", "apikey_regenerate", "apikey_revoke", "apikey_delete"]


@pytest.mark.parametrize("action", ACTIONS)
def test_a_stranger_gets_404_for_every_action(client, alice, charlie, action):
    key, secret = make_key(alice)
    sign_in(client, charlie)
    response = client.post(
        reverse(action, args=[key.pk]), {"hint": key.hint, f"edit-{key.pk}-glob_patterns": "x"}
    )
    assert response.status_code == 404
    key.refresh_from_db()
    assert (
        ApiKey.objects.find(secret) == key and key.revoked_at is None and key.glob_patterns == ["*"]
    )


def test_a_stranger_does_not_see_the_key_in_their_list(client, alice, charlie):
    make_key(alice, name="alice-secret-ci")
    sign_in(client, charlie)
    assert b"alice-secret-ci" not in client.get(reverse("apikeys")).content


# Edit's URL answers GET since issue 15: it is the form the list loads when Edit
# is opened (and its own page without JavaScript); it changes nothing.
@pytest.mark.parametrize("action", [a for a in ACTIONS if a != "apikey_edit"])
def test_get_on_a_state_changing_url_is_not_allowed(signed_in, alice, action):
    key, _ = make_key(alice)
    assert signed_in.get(reverse(action, args=[key.pk])).status_code == 405


@pytest.mark.parametrize("action", ACTIONS)
def test_actions_need_the_csrf_token(csrf_client, alice, action):
    key, secret = make_key(alice)
    csrf_client.force_login(alice)
    response = csrf_client.post(reverse(action, args=[key.pk]), {"hint": key.hint})
    assert response.status_code == 403
    assert ApiKey.objects.find(secret) == key


def test_create_needs_the_csrf_token(csrf_client, alice):
    csrf_client.force_login(alice)
    assert create(csrf_client).status_code == 403
    assert not ApiKey.objects.exists()


def test_sign_in_is_needed(client, alice):
    key, _ = make_key(alice)
    assert client.get(reverse("apikeys")).status_code == 302
    assert client.post(reverse("apikey_delete", args=[key.pk])).status_code == 302
    assert ApiKey.objects.filter(pk=key.pk).exists()


def test_edit_changes_patterns_and_packages_only(signed_in, alice):
    core = PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice])
    key, secret = make_key(alice, glob_patterns=["*"], scopes=["package:push"])
    prefix = f"edit-{key.pk}"
    response = signed_in.post(
        reverse("apikey_edit", args=[key.pk]),
        {
            f"{prefix}-glob_patterns": "Contoso.*",
            f"{prefix}-packages": [str(core.pk)],
            "scopes": "package:unlist",
            "name": "renamed",
        },
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.glob_patterns == ["Contoso.*"]
    assert list(key.packages.all()) == [core]
    assert key.scopes == ["package:push"] and key.name != "renamed"
    assert ApiKey.objects.find(secret) == key


def test_edit_with_nothing_selected_is_refused(signed_in, alice):
    key, _ = make_key(alice, glob_patterns=["*"])
    response = signed_in.post(
        reverse("apikey_edit", args=[key.pk]), {f"edit-{key.pk}-glob_patterns": ""}
    )
    assert response.status_code == 400
    assert b"Select at least one package or enter a glob pattern." in response.content
    key.refresh_from_db()
    assert key.glob_patterns == ["*"]


def test_regenerate_shows_a_new_secret_once_and_the_old_one_stops(signed_in, alice):
    key, old = make_key(alice)
    response = signed_in.post(reverse("apikey_regenerate", args=[key.pk]), {"hint": key.hint})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    new = KEY_RE.search(response.content.decode()).group(0)
    assert ApiKey.objects.find(old) is None
    assert ApiKey.objects.find(new) == key
    # Re-sending the same POST (reload) changes nothing and shows no secret.
    again = signed_in.post(
        reverse("apikey_regenerate", args=[key.pk]), {"hint": key.hint}, follow=True
    )
    assert not KEY_RE.search(again.content.decode())
    assert b"regenerated already" in again.content
    assert ApiKey.objects.find(new) == key


def test_revoke_stops_the_key_and_keeps_it_listed(signed_in, alice):
    key, secret = make_key(alice)
    response = signed_in.post(reverse("apikey_revoke", args=[key.pk]), follow=True)
    assert b"Revoked" in response.content
    key.refresh_from_db()
    assert key.revoked_at is not None and key.revoked_by == alice
    assert b"Regenerate" in response.content


def test_delete_removes_the_key(signed_in, alice):
    key, secret = make_key(alice)
    signed_in.post(reverse("apikey_delete", args=[key.pk]))
    assert not ApiKey.objects.filter(pk=key.pk).exists()
    assert ApiKey.objects.find(secret) is None


def test_list_is_newest_first(signed_in, alice):
    make_key(alice, name="older")
    make_key(alice, name="newer")
    content = signed_in.get(reverse("apikeys")).content.decode()
    assert content.index("<h3>newer</h3>") < content.index("<h3>older</h3>")


def test_packages_show_the_first_few_then_more(signed_in, alice):
    packages = [PackageRegistrationFactory(package_id=f"Pkg{i}", owners=[alice]) for i in range(5)]
    make_key(alice, glob_patterns=[], packages=packages)
    content = signed_in.get(reverse("apikeys")).content.decode()
    assert "Pkg0, Pkg1, Pkg2" in content
    assert "and 2 more" in content


def test_list_query_count_does_not_grow_with_keys(signed_in, alice, django_assert_num_queries):
    packages = [PackageRegistrationFactory(package_id=f"Pkg{i}", owners=[alice]) for i in range(3)]
    make_key(alice, packages=packages)

    # 1 session, 2 user, 3 confirmed e-mail?, 4 keys with their owners,
    # 5 the keys' packages (prefetch), 6 the possible package owners (the user
    # and their organizations), 7 the packages of all those owners at once,
    # 8 the user's Trusted Publishing policies with their current keys.
    with django_assert_num_queries(8):
        signed_in.get(reverse("apikeys"))
    for i in range(49):
        make_key(alice, packages=packages[: i % 3])
    with django_assert_num_queries(8):
        response = signed_in.get(reverse("apikeys"))
    assert response.content.count(b'class="key key-') == 50
