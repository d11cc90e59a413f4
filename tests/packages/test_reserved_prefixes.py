"""Package id prefix reservation (nuget.org's): an administrator reserves `Contoso.*`
for an owner, and nobody else may push a new id under it."""

import pytest
from django.test import Client

from accounts.models import Membership, User
from packages.models import PackageRegistration, ReservedPrefix
from tests.factories import PackageRegistrationFactory, make_key
from tests.helpers import push
from tests.packages.builders import nupkg

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _package_files_in_a_folder_of_the_tests_own(package_dir):
    pass


@pytest.fixture
def contoso(alice, bob):
    """alice administers Contoso, bob is a collaborator; Contoso.* is reserved for it."""
    organization = User.objects.create_organization("Contoso", admin=alice)
    Membership.objects.create(organization=organization, member=bob)
    ReservedPrefix.objects.create(prefix="Contoso.*", owner=organization)
    return organization


def test_a_stranger_cannot_push_a_new_id_under_a_reserved_prefix(charlie, contoso):
    _, secret = make_key(charlie)
    response = push(Client(), secret, nupkg(package_id="contoso.Squatted"))
    assert response.status_code == 403
    assert response["X-Galley-Reason"] == "reserved_prefix"
    assert response.content.decode().strip() == (
        "The package id 'contoso.Squatted' is under the prefix Contoso.*, reserved for "
        "Contoso: only they may push new packages under it."
    )
    assert not PackageRegistration.objects.exists()


def test_a_key_outside_its_patterns_learns_nothing_of_the_reservation(charlie, contoso):
    """The key's own patterns are checked first (no query): a key that may not touch
    the id is told so, and not who reserved it."""
    _, secret = make_key(charlie, glob_patterns=["Fabrikam.*"])
    response = push(Client(), secret, nupkg(package_id="Contoso.Squatted"))
    assert response.status_code == 403
    assert response["X-Galley-Reason"] == "package_not_selected"
    assert "Contoso.*" not in response.content.decode()
    assert not PackageRegistration.objects.exists()


def test_a_member_pushes_a_new_id_with_an_organization_key(bob, contoso):
    _, secret = make_key(bob, owner=contoso, glob_patterns=["Contoso.*"])
    assert push(Client(), secret, nupkg(package_id="Contoso.New")).status_code == 201
    assert list(PackageRegistration.objects.get().owners.all()) == [contoso]


def test_a_members_personal_key_is_not_the_reservation_owner(bob, contoso):
    _, secret = make_key(bob)
    response = push(Client(), secret, nupkg(package_id="Contoso.Mine"))
    assert response.status_code == 403 and response["X-Galley-Reason"] == "reserved_prefix"


def test_existing_packages_under_the_prefix_keep_their_owners(charlie, contoso):
    legacy = PackageRegistrationFactory(package_id="Contoso.Legacy", owners=[charlie])
    _, secret = make_key(charlie)
    response = push(Client(), secret, nupkg(package_id="Contoso.Legacy", version="2.0.0"))
    assert response.status_code == 201
    assert list(legacy.owners.all()) == [charlie]


def test_ids_outside_the_prefix_are_free(charlie, contoso):
    _, secret = make_key(charlie)
    assert push(Client(), secret, nupkg(package_id="ContosoFan.Tools")).status_code == 201
    assert push(Client(), secret, nupkg(package_id="Contoso")).status_code == 201


def test_an_exact_reservation_covers_only_that_id(alice, charlie):
    ReservedPrefix.objects.create(prefix="Fabrikam", owner=alice)
    _, secret = make_key(charlie)
    assert push(Client(), secret, nupkg(package_id="FABRIKAM")).status_code == 403
    assert push(Client(), secret, nupkg(package_id="Fabrikam.Core")).status_code == 201


def test_the_package_page_marks_a_reserved_package(client, alice, charlie, contoso):
    _, secret = make_key(alice, owner=contoso)
    push(Client(), secret, nupkg(package_id="Contoso.Core"))
    page = client.get("/packages/Contoso.Core").content.decode()
    assert "Reserved Prefix" in page and "The prefix Contoso.* is reserved for Contoso." in page
    # A package under the prefix that the reservation's owner does not own is not marked.
    legacy = PackageRegistrationFactory(package_id="Contoso.Legacy", owners=[charlie])
    _, other = make_key(charlie)
    push(Client(), other, nupkg(package_id=legacy.package_id))
    assert "Reserved Prefix" not in client.get("/packages/Contoso.Legacy").content.decode()


def test_a_reservation_must_be_an_id_or_a_prefix(alice):
    from django.core.exceptions import ValidationError

    for prefix in ["*", "Contoso.**", "Con toso.*", ""]:
        with pytest.raises(ValidationError):
            ReservedPrefix(prefix=prefix, owner=alice).full_clean()
    ReservedPrefix(prefix="Contoso.*", owner=alice).full_clean()


def test_a_reservation_is_satisfied_by_the_keys_owner_not_its_holder(alice, contoso, dana):
    """alice's key for Contoso cannot push a new Alice.* id, although Alice.* is alice's."""
    ReservedPrefix.objects.create(prefix="Alice.*", owner=alice)
    ReservedPrefix.objects.create(prefix="Dana.*", owner=dana)
    _, secret = make_key(alice, owner=contoso)
    for package_id in ("Alice.Tools", "Dana.Tools"):
        response = push(Client(), secret, nupkg(package_id=package_id))
        assert response.status_code == 403, package_id
        assert response["X-Galley-Reason"] == "reserved_prefix"
    assert not PackageRegistration.objects.exists()
    # alice's personal key may.
    _, personal = make_key(alice)
    assert push(Client(), personal, nupkg(package_id="Alice.Tools")).status_code == 201
    assert list(PackageRegistration.objects.get().owners.all()) == [alice]
