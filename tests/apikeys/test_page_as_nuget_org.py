"""Issue 15: the API Keys page as a nuget.org user expects it (server side).

The browser side (masking, the preview, Cancel, the ten-minute drop) is in
tests/browser/test_api_keys_as_nuget_org.py.
"""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apikeys.models import ApiKey, RevocationSource
from tests.conftest import create_key_on_page, sign_in
from tests.factories import PackageRegistrationFactory, make_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, alice):
    return sign_in(client, alice)


def test_a_page_of_fifty_keys_over_two_hundred_packages_stays_light(signed_in, alice):
    """Every key's Edit form used to repeat the owner's package list (about 2 MB
    here); the list is now rendered once, in the create form, and Edit loads its
    form when opened. Bytes are counted, not seconds: `make bench` times it."""
    packages = [
        PackageRegistrationFactory(package_id=f"Contoso.Package{i:03}", owners=[alice])
        for i in range(200)
    ]
    one = signed_in.get(reverse("apikeys"))
    for i in range(50):
        make_key(alice, name=f"CI {i}", packages=packages[i : i + 5], glob_patterns=["Contoso.*"])
    response = signed_in.get(reverse("apikeys"))
    assert response.content.count(b'class="key key-') == 50
    assert len(response.content) <= 150 * 1024
    # Each package's checkbox appears once, whatever the number of keys.
    assert response.content.count(b'data-package-id="Contoso.Package123"') == 1
    # Fifty keys add about what fifty entries weigh, not fifty package lists.
    assert len(response.content) - len(one.content) < 50 * 4 * 1024


def test_edit_form_is_loaded_on_its_own_url_with_the_owners_packages(signed_in, alice, charlie):
    core = PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice])
    PackageRegistrationFactory(package_id="Charlie.Private", owners=[charlie])
    key, _ = make_key(alice, glob_patterns=["Alpha*"], packages=[core])
    page = signed_in.get(reverse("apikeys")).content.decode()
    assert f'href="{reverse("apikey_edit", args=[key.pk])}" data-edit-inline' in page
    response = signed_in.get(reverse("apikey_edit", args=[key.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert "data-edit-form" in content and "Alpha*</textarea>" in content
    assert re.search(rf'value="{core.pk}"[^>]*checked', content)
    assert "Charlie.Private" not in content
    assert "Cancel" in content


def test_a_stranger_gets_404_for_the_edit_form(client, alice, charlie):
    key, _ = make_key(alice)
    sign_in(client, charlie)
    assert client.get(reverse("apikey_edit", args=[key.pk])).status_code == 404


def test_a_bad_edit_shows_the_edit_form_with_its_error(signed_in, alice):
    key, _ = make_key(alice)
    response = signed_in.post(
        reverse("apikey_edit", args=[key.pk]), {f"edit-{key.pk}-glob_patterns": "a b"}
    )
    assert response.status_code == 400
    assert b"data-edit-form" in response.content
    assert b"not allowed" in response.content


def test_the_new_key_is_at_the_top_of_the_list_in_its_place_with_the_warning(signed_in, alice):
    make_key(alice, name="newer than the regenerated one")
    response = create_key_on_page(signed_in, name="Fresh")
    content = response.content.decode()
    first_key = content.index('class="key ')
    assert content.index("Fresh", first_key) < content.index("newer than", first_key)
    assert content.index('id="new-key-value"') > first_key  # inside the list entry
    assert "Make sure to copy your new API key now using the <strong>Copy</strong>" in content
    assert "You will not be able to do so again." in content
    old, _ = make_key(alice, name="Oldest")
    ApiKey.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(days=3))
    response = signed_in.post(reverse("apikey_regenerate", args=[old.pk]), {"hint": old.hint})
    content = response.content.decode()
    first_key = content.index('class="key ')
    assert content.index("Oldest", first_key) < content.index("Fresh", first_key)
    assert "Your API key has been regenerated." in content


def test_banners_name_expired_and_revoked_keys_and_expired_keys_offer_no_revoke(signed_in, alice):
    expired, _ = make_key(alice, name="Old CI", expires_in_days=1)
    revoked, _ = make_key(alice, name="Leaky")
    active, _ = make_key(alice, name="Fine")
    revoked.revoke(by=alice, source=RevocationSource.LEAK, reason="Found on a public gist.")
    ApiKey.objects.filter(pk=expired.pk).update(expires=timezone.now() - timedelta(hours=1))
    content = signed_in.get(reverse("apikeys")).content.decode()
    assert "Your API key “Old CI” has expired." in content
    assert (
        "Your API key “Leaky” has been revoked and no longer works. Reason: Found on a public gist."
        in content
    )
    assert "“Fine”" not in content
    assert reverse("apikey_revoke", args=[expired.pk]) not in content
    assert reverse("apikey_revoke", args=[active.pk]) in content
    assert reverse("apikey_regenerate", args=[expired.pk]) in content


def test_the_keep_it_secret_paragraph_and_cancel_buttons(signed_in, alice):
    make_key(alice)
    content = signed_in.get(reverse("apikeys")).content.decode()
    assert "<strong>Always keep your API keys a secret!</strong>" in content
    assert content.count("data-cancel") == 4  # create, regenerate, revoke, delete


def test_a_create_error_keeps_name_and_expiry_side_by_side(signed_in):
    response = create_key_on_page(signed_in, name="")
    content = response.content.decode()
    grid = content[content.index('class="grid-2"') : content.index('for="id_owner"')]
    # Errors sit inside the field's <div>: no <p> that an error list would break open.
    assert "This field is required." in grid
    assert "<p>" not in grid
    assert grid.count('class="field"') == 3  # name and expiry, then owner below the grid


def test_the_glob_examples_sit_beside_the_field(signed_in):
    content = signed_in.get(reverse("apikeys")).content.decode()
    assert "use a glob pattern, select individual packages, or both" in content
    assert "Selects any package whose id begins with Alpha" in content
