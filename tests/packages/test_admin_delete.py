"""Deleting a package version for good from the admin: rows, files, caches, audit."""

import pytest
from django.contrib.auth.models import Permission

from audit.models import AuditEvent
from packages.models import PackageRegistration, PackageVersion, PendingDownload, SymbolPackage
from tests.factories import UserFactory, make_key
from tests.helpers import push, push_symbols, stored_files
from tests.packages.builders import nupkg, snupkg, with_assembly

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/packages/packageversion/"
NUPKG_URL = "/v3-flatcontainer/contoso.core/1.0.0/contoso.core.1.0.0.nupkg"


@pytest.fixture(autouse=True)
def _package_files_in_a_folder_of_the_tests_own(package_dir):
    pass


def staff(*codenames):
    user = UserFactory(username="staffer", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def pushed(client, alice, package_dir):
    """Contoso.Core 1.0.0 with its symbols, and 2.0.0, pushed through the API."""
    _, secret = make_key(alice, glob_patterns=["Contoso.*"])
    assert push(client, secret, with_assembly()).status_code == 201
    assert push(client, secret, nupkg(version="2.0.0")).status_code == 201
    assert push_symbols(client, secret, snupkg()).status_code == 201
    return PackageVersion.objects.get(normalized_version="1.0.0")


def delete(client, version, reason="Malware reported by a user", apply=True):
    data = {"action": "delete_for_good", "_selected_action": [version.pk]}
    if apply:
        data |= {"apply": "1", "reason": reason}
    return client.post(CHANGELIST, data)


def test_delete_for_good_removes_row_files_and_symbols_and_is_audited(
    client,
    pushed,
    package_dir,
):
    files_before = stored_files(package_dir)
    assert any(name.endswith("1.0.0.nupkg") for name in files_before)
    assert any(name.endswith(".snupkg") for name in files_before)
    assert client.get(NUPKG_URL).status_code == 200
    assert PendingDownload.objects.filter(version=pushed).exists()  # the download above
    client.force_login(staff("view_packageversion", "delete_packageversion"))

    confirm = delete(client, pushed, apply=False)
    assert confirm.status_code == 200
    assert "This cannot be undone." in confirm.content.decode()
    assert PackageVersion.objects.filter(pk=pushed.pk).exists()  # nothing before the reason

    response = delete(client, pushed)
    assert response.status_code == 302
    assert not PackageVersion.objects.filter(pk=pushed.pk).exists()
    assert not SymbolPackage.objects.exists()
    assert PackageVersion.objects.get().version == "2.0.0"  # the other version stays
    assert PackageRegistration.objects.get().package_id == "Contoso.Core"  # the id stays theirs
    left = stored_files(package_dir)
    assert not [name for name in left if "1.0.0" in name], left
    assert any(name.endswith("2.0.0.nupkg") for name in left)
    assert not PendingDownload.objects.exists()
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.PACKAGE_DELETED)
    assert (event.package_id, event.package_version) == ("Contoso.Core", "1.0.0")
    assert event.actor.username == "staffer"
    assert event.details["reason"] == "Malware reported by a user"
    assert event.details["sha512"] == pushed.sha512

    client.logout()
    assert client.get(NUPKG_URL).status_code == 404
    assert client.get("/packages/Contoso.Core/1.0.0").status_code == 404


def test_a_reason_is_required(client, pushed):
    client.force_login(staff("view_packageversion", "delete_packageversion"))
    response = delete(client, pushed, reason="")
    assert response.status_code == 200
    assert PackageVersion.objects.filter(pk=pushed.pk).exists()
    assert not AuditEvent.objects.filter(kind=AuditEvent.Kind.PACKAGE_DELETED).exists()


def test_staff_without_the_delete_permission_cannot_delete(client, pushed, package_dir):
    client.force_login(staff("view_packageversion", "change_packageversion"))
    files_before = stored_files(package_dir)
    delete(client, pushed)
    assert PackageVersion.objects.filter(pk=pushed.pk).exists()
    assert stored_files(package_dir) == files_before
    assert not AuditEvent.objects.filter(kind=AuditEvent.Kind.PACKAGE_DELETED).exists()


def test_people_who_are_not_staff_cannot_delete(client, pushed, alice):
    client.force_login(alice)  # the package's owner, but not staff
    response = delete(client, pushed)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert PackageVersion.objects.filter(pk=pushed.pk).exists()


def test_djangos_own_delete_is_not_offered(client, pushed):
    """It would leave the files behind and record nothing."""
    client.force_login(staff("view_packageversion", "delete_packageversion"))
    changelist = client.get(CHANGELIST).content.decode()
    assert 'value="delete_selected"' not in changelist
    assert 'value="delete_for_good"' in changelist
    assert client.post(f"{CHANGELIST}{pushed.pk}/delete/", {"post": "yes"}).status_code == 403
    assert PackageVersion.objects.filter(pk=pushed.pk).exists()
