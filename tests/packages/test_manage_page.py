import pytest
from django.urls import reverse

from tests.factories import PackageRegistrationFactory, make_key
from tests.packages.builders import add_version

pytestmark = pytest.mark.django_db


def test_owner_sees_packages_versions_state_and_key(client, alice):
    key, _ = make_key(alice, name="release-ci")
    core = PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice])
    add_version(core, "1.0.0", key)
    add_version(core, "1.1.0", key, listed=False)
    client.force_login(alice)
    content = client.get(reverse("packages")).content.decode()
    assert "Contoso.Core" in content and "1.0.0" in content and "1.1.0" in content
    assert "Unlisted" in content
    assert f"release-ci <code>{key.hint}…</code>" in content


def test_others_packages_are_not_shown(client, alice, charlie):
    PackageRegistrationFactory(package_id="Charlie.Only", owners=[charlie])
    client.force_login(alice)
    assert b"Charlie.Only" not in client.get(reverse("packages")).content


def test_sign_in_is_needed(client):
    assert client.get(reverse("packages")).status_code == 302


def test_query_count_does_not_grow_with_packages(client, alice, django_assert_num_queries):
    client.force_login(alice)
    add_version(PackageRegistrationFactory(owners=[alice]), "1.0.0")
    # session, user, memberships, registrations, their owners, their versions,
    # ownership requests asked of the user, those waiting on their packages
    with django_assert_num_queries(8):
        client.get(reverse("packages"))
    for _ in range(20):
        registration = PackageRegistrationFactory(owners=[alice])
        for minor in range(3):
            add_version(registration, f"1.{minor}.0")
    with django_assert_num_queries(8):
        response = client.get(reverse("packages"))
    assert response.content.count(b'<div class="panel package"') == 21


def test_staff_unlist_and_relist_in_the_admin_with_an_audit_trail(client, alice):
    from django.contrib.auth.models import Permission

    from audit.models import AuditEvent
    from tests.factories import UserFactory

    version = add_version(
        PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice]), "1.0.0"
    )
    staff = UserFactory(username="staffer", is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_packageversion", "change_packageversion"])
    )
    client.force_login(staff)
    url = "/admin/packages/packageversion/"
    client.post(url, {"action": "unlist", "_selected_action": [version.pk]})
    version.refresh_from_db()
    assert not version.listed
    client.post(url, {"action": "relist", "_selected_action": [version.pk]})
    version.refresh_from_db()
    assert version.listed
    kinds = list(
        AuditEvent.objects.order_by("pk").values_list("kind", "actor__username", "package_id")
    )
    assert kinds == [
        ("package.unlisted", "staffer", "Contoso.Core"),
        ("package.relisted", "staffer", "Contoso.Core"),
    ]


def test_staff_without_change_permission_cannot_unlist(client, alice):
    from django.contrib.auth.models import Permission

    from tests.factories import UserFactory

    version = add_version(
        PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice]), "1.0.0"
    )
    staff = UserFactory(username="viewer", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_packageversion"))
    client.force_login(staff)
    client.post(
        "/admin/packages/packageversion/", {"action": "unlist", "_selected_action": [version.pk]}
    )
    version.refresh_from_db()
    assert version.listed
