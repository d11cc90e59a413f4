"""Unlisting and relisting from the package's Manage page (/packages/{id}/Manage)."""

import pytest
from django.urls import reverse

from accounts.models import Membership, User
from audit.models import AuditEvent
from packages.models import PackageVersion
from tests.factories import PackageRegistrationFactory
from tests.packages.builders import add_version

pytestmark = pytest.mark.django_db

URL = "/packages/Contoso.Core/Manage"


@pytest.fixture
def contoso(alice, bob):
    organization = User.objects.create_organization("Contoso", admin=alice)
    Membership.objects.create(organization=organization, member=bob)  # a collaborator
    return organization


@pytest.fixture
def versions(contoso):
    registration = PackageRegistrationFactory(package_id="Contoso.Core", owners=[contoso])
    return {
        "1.0.0": add_version(registration, "1.0.0"),
        "2.0.0": add_version(registration, "2.0.0"),
        "3.0.0-beta": add_version(registration, "3.0.0-beta", listed=False),
    }


def save(client, *listed):
    """Submit the page as a browser would: every shown version, the ticked ones listed."""
    shown = PackageVersion.objects.filter(registration__normalized_id="contoso.core")
    return client.post(
        URL,
        {
            "shown": [str(pk) for pk in shown.values_list("pk", flat=True)],
            "listed": [str(version.pk) for version in listed],
        },
    )


def test_a_version_pushed_after_the_page_was_opened_is_left_as_it_is(client, alice, versions):
    client.force_login(alice)
    shown = [str(version.pk) for version in versions.values()]
    newer = add_version(versions["1.0.0"].registration, "4.0.0")  # CI pushes meanwhile
    client.post(URL, {"shown": shown, "listed": [str(versions["1.0.0"].pk)]})
    newer.refresh_from_db()
    versions["2.0.0"].refresh_from_db()
    assert newer.listed
    assert not versions["2.0.0"].listed


def test_manage_page_shows_each_version_with_its_listed_box(client, alice, versions):
    client.force_login(alice)
    response = client.get(URL)
    assert response.status_code == 200
    content = response.content.decode()
    for version in versions.values():
        assert f'id="listed-{version.pk}"' in content
    assert f'value="{versions["1.0.0"].pk}" id="listed-{versions["1.0.0"].pk}" checked' in content
    assert (
        f'value="{versions["3.0.0-beta"].pk}" id="listed-{versions["3.0.0-beta"].pk}">' in content
    )


def test_owner_unlists_a_version_and_it_is_audited(client, alice, versions):
    client.force_login(alice)
    response = save(client, versions["1.0.0"])
    assert response.status_code == 302
    assert response["Location"] == URL
    for text, listed in [("1.0.0", True), ("2.0.0", False), ("3.0.0-beta", False)]:
        versions[text].refresh_from_db()
        assert versions[text].listed is listed
    event = AuditEvent.objects.get()
    assert event.kind == AuditEvent.Kind.PACKAGE_UNLISTED
    assert (event.package_id, event.package_version) == ("Contoso.Core", "2.0.0")
    assert event.actor == alice and event.user == alice
    assert event.details == {"via": "web"}
    assert "1 version of Contoso.Core changed." in client.get(URL).content.decode()


def test_owner_relists_a_version(client, alice, versions):
    client.force_login(alice)
    save(client, *versions.values())
    versions["3.0.0-beta"].refresh_from_db()
    assert versions["3.0.0-beta"].listed is True
    event = AuditEvent.objects.get()
    assert event.kind == AuditEvent.Kind.PACKAGE_RELISTED
    assert event.package_version == "3.0.0-beta"


def test_saving_without_a_change_records_nothing(client, alice, versions):
    client.force_login(alice)
    save(client, versions["1.0.0"], versions["2.0.0"])
    assert not AuditEvent.objects.exists()
    assert "Nothing changed." in client.get(URL).content.decode()


def test_unlisted_version_leaves_the_public_page(client, alice, versions):
    client.force_login(alice)
    save(client, versions["1.0.0"])
    client.logout()
    content = client.get("/packages/Contoso.Core").content.decode()
    assert ">1.0.0</a>" in content and ">2.0.0</a>" not in content


def test_a_collaborator_is_refused_with_403(client, bob, versions):
    client.force_login(bob)
    assert client.get(URL).status_code == 403
    assert save(client).status_code == 403
    versions["1.0.0"].refresh_from_db()
    assert versions["1.0.0"].listed is True
    assert not AuditEvent.objects.exists()


def test_a_stranger_gets_404(client, charlie, versions):
    client.force_login(charlie)
    assert client.get(URL).status_code == 404
    assert save(client).status_code == 404
    versions["1.0.0"].refresh_from_db()
    assert versions["1.0.0"].listed is True
    assert not AuditEvent.objects.exists()


def test_a_direct_owner_may_manage(client, charlie, versions):
    versions["1.0.0"].registration.owners.add(charlie)
    client.force_login(charlie)
    assert (
        save(client, versions["1.0.0"], versions["2.0.0"], versions["3.0.0-beta"]).status_code
        == 302
    )
    versions["3.0.0-beta"].refresh_from_db()
    assert versions["3.0.0-beta"].listed is True


def test_unknown_package_is_404(client, alice, versions):
    client.force_login(alice)
    assert client.get("/packages/Nope/Manage").status_code == 404


def test_sign_in_is_needed(client, versions):
    response = save(client)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("log_on"))
    versions["1.0.0"].refresh_from_db()
    assert versions["1.0.0"].listed is True


def test_a_post_without_the_csrf_token_is_refused(csrf_client, alice, versions):
    csrf_client.force_login(alice)
    assert save(csrf_client).status_code == 403
    versions["1.0.0"].refresh_from_db()
    assert versions["1.0.0"].listed is True
