"""The admin keeps the domain's rules and its trail: two-factor authentication for staff,
no membership or ownership edits that skip the flows, no deletion of an account that
alone holds a package or an organization, the leaked-keys page linked where staff look."""

from datetime import datetime

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.models import Membership, User
from audit.models import AuditEvent
from tests.factories import PackageRegistrationFactory, UserFactory, enable_totp, make_key

pytestmark = pytest.mark.django_db


def staff(*codenames, **kwargs):
    user = UserFactory(username="staffer", is_staff=True, **kwargs)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


# Two-factor authentication --------------------------------------------------------------


def test_staff_without_two_factor_are_sent_to_set_it_up(client):
    user = staff("view_apikey", two_factor=False)
    client.force_login(user)
    for url in ["/admin/", "/admin/apikeys/apikey/", reverse("admin:apikeys_apikey_revoke_leaked")]:
        response = client.get(url)
        assert response.status_code == 302, url
        # First a link to their mailbox (tests/accounts/test_staff_two_factor_enrolment.py).
        assert response["Location"] == reverse("staff_two_factor")
    page = client.get(reverse("staff_two_factor"))
    assert "Staff need two-factor authentication" in page.content.decode()

    enable_totp(user)
    assert client.get("/admin/").status_code == 200


def test_staff_with_a_security_key_open_the_admin(client):
    from allauth.mfa.models import Authenticator

    user = staff("view_apikey", two_factor=False)
    Authenticator.objects.create(user=user, type=Authenticator.Type.WEBAUTHN, data={})
    client.force_login(user)
    assert client.get("/admin/").status_code == 200


def test_recovery_codes_alone_are_not_two_factor(client):
    from allauth.mfa.models import Authenticator

    user = staff("view_apikey", two_factor=False)
    Authenticator.objects.create(user=user, type=Authenticator.Type.RECOVERY_CODES, data={})
    client.force_login(user)
    assert client.get("/admin/")["Location"] == reverse("staff_two_factor")


def test_people_who_are_not_staff_are_not_sent_anywhere_new(client, alice):
    client.force_login(alice)
    assert client.get("/admin/login/").status_code == 403
    assert client.get(reverse("apikeys")).status_code == 200


# Memberships and package owners -----------------------------------------------------------


def _change_form_data(response) -> dict:
    """What the admin's change form would post back as it stands."""
    data = {}
    for field in response.context["adminform"].form:
        value = field.value()
        if value is None:
            continue
        if isinstance(value, datetime):  # the admin's split date and time widget
            data[f"{field.html_name}_0"] = value.date().isoformat()
            data[f"{field.html_name}_1"] = value.time().isoformat(timespec="seconds")
        elif isinstance(value, list):
            data[field.html_name] = [str(v) for v in value]
        else:
            data[field.html_name] = value
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for field in formset.management_form:
            data[field.html_name] = field.value()
        for form in formset.forms:
            for field in form:
                if field.value() is not None:
                    data[field.html_name] = field.value()
    return data


def test_the_admin_cannot_remove_an_organizations_last_administrator(admin_client, alice):
    organization = User.objects.create_organization("Contoso", admin=alice)
    url = reverse("admin:accounts_user_change", args=[organization.pk])
    page = admin_client.get(url)
    content = page.content.decode()
    assert "memberships-0-DELETE" not in content
    assert 'name="memberships-0-role"' not in content
    assert reverse("organization", args=["Contoso"]) in content  # where members are managed

    data = _change_form_data(page)
    prefix = "memberships-0-"
    data.update({f"{prefix}DELETE": "on", f"{prefix}role": "collaborator"})
    data.update({"memberships-TOTAL_FORMS": "1", "memberships-INITIAL_FORMS": "1"})
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors

    membership = Membership.objects.get(organization=organization)
    assert membership.member == alice and membership.role == Membership.Role.ADMIN
    assert not AuditEvent.objects.filter(kind__startswith="member.").exists()


def test_the_admin_cannot_change_a_packages_owners(admin_client, alice, dana):
    registration = PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice])
    url = reverse("admin:packages_packageregistration_change", args=[registration.pk])
    page = admin_client.get(url)
    content = page.content.decode()
    assert 'name="owners"' not in content
    assert "alice" in content
    assert reverse("package_detail", args=["Contoso.Core"]) in content

    data = _change_form_data(page)
    response = admin_client.post(url, {**data, "owners": [str(dana.pk)], "package_id": "Other"})
    assert response.status_code == 302
    registration.refresh_from_db()
    assert list(registration.owners.all()) == [alice]
    assert registration.package_id == "Contoso.Core"
    assert admin_client.get(reverse("admin:packages_packageregistration_add")).status_code == 403


def test_the_admin_cannot_delete_the_only_owner_of_a_package(admin_client, alice):
    PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice])
    url = reverse("admin:accounts_user_delete", args=[alice.pk])
    assert admin_client.get(url).status_code == 403
    admin_client.post(url, {"post": "yes"})
    assert User.objects.filter(pk=alice.pk).exists()
    changelist = admin_client.get(reverse("admin:accounts_user_changelist"))
    assert "delete_selected" not in changelist.content.decode()


def test_the_admin_cannot_delete_the_only_administrator_of_an_organization(admin_client, alice):
    User.objects.create_organization("Contoso", admin=alice)
    response = admin_client.post(
        reverse("admin:accounts_user_delete", args=[alice.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert User.objects.filter(pk=alice.pk).exists()


def test_deleting_an_account_in_the_admin_is_audited(admin_client, charlie):
    response = admin_client.post(
        reverse("admin:accounts_user_delete", args=[charlie.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not User.objects.filter(pk=charlie.pk).exists()
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.ACCOUNT_DELETED)
    assert event.actor.username == "admin"
    assert "charlie" in str(event.details)


# Revoke leaked keys, linked where staff look -------------------------------------------


def test_the_key_list_and_the_index_link_to_revoke_leaked_keys(client, alice):
    make_key(alice)
    client.force_login(staff("view_apikey", "change_apikey"))
    link = reverse("admin:apikeys_apikey_revoke_leaked")
    assert (
        f'href="{link}"' in client.get(reverse("admin:apikeys_apikey_changelist")).content.decode()
    )
    assert f'href="{link}"' in client.get(reverse("admin:index")).content.decode()
    assert client.get(link).status_code == 200


def test_staff_who_may_only_view_keys_see_no_link(client, alice):
    make_key(alice)
    client.force_login(staff("view_apikey"))
    link = reverse("admin:apikeys_apikey_revoke_leaked")
    assert link not in client.get(reverse("admin:apikeys_apikey_changelist")).content.decode()
    assert link not in client.get(reverse("admin:index")).content.decode()
