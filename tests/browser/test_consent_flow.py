"""Consent end to end in a browser: an organization invitation and an ownership
request, each opened from its e-mail and accepted, then a push with an
organization key that only works once both were accepted."""

import re

import pytest
from django.test import Client

from accounts.models import Membership, User
from packages.models import PackageRegistration
from tests.browser.pages import sign_in
from tests.factories import PackageRegistrationFactory, UserFactory, make_key
from tests.helpers import push
from tests.packages.builders import nupkg

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def link_in(message) -> str:
    return re.search(r"https?://\S+", message.body).group(0)


def mail_to(mailoutbox, address: str, subject: str):
    found = [m for m in mailoutbox if m.to == [address] and subject in m.subject]
    assert len(found) == 1, [(m.to, m.subject) for m in mailoutbox]
    return found[0]


def test_invitation_and_ownership_request_then_an_organization_push(
    page, browser, live_server, mailoutbox, package_dir
):
    alice = UserFactory(username="alice")
    bob = UserFactory(username="bob")
    contoso = User.objects.create_organization("Contoso", admin=alice)
    PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice])

    # alice invites bob into Contoso. She signed in a moment ago: no password prompt.
    sign_in(page, "alice")
    page.goto("/account/Organizations/Contoso")
    page.locator("#id_username").fill("bob")
    page.locator("#id_role").select_option("admin")
    page.get_by_role("button", name="Add", exact=True).click()
    page.get_by_text("bob was invited. They become a member when they accept.").wait_for()
    assert "/accounts/reauthenticate/" not in page.url
    assert page.get_by_role("cell", name="bob (pending)").is_visible()
    assert not Membership.objects.get(member=bob).accepted

    # bob opens the e-mail's link and accepts.
    bob_context = browser.new_context(base_url=live_server.url, locale="en-US")
    bob_page = bob_context.new_page()
    bob_page.set_default_timeout(10_000)
    sign_in(bob_page, "bob")
    invitation = mail_to(mailoutbox, "bob@example.com", "You are invited to join Contoso")
    bob_page.goto(link_in(invitation))
    bob_page.get_by_text("alice invited you to join the organization Contoso").wait_for()
    bob_page.get_by_role("button", name="Accept").click()
    bob_page.get_by_text("You joined Contoso.").wait_for()
    assert Membership.objects.get(member=bob).accepted

    # An organization key of bob's: Contoso does not own Contoso.Core yet.
    _, secret = make_key(bob, owner=contoso, glob_patterns=["Contoso.*"])
    refused = push(Client(), secret, nupkg(package_id="Contoso.Core", version="2.0.0"))
    assert refused.status_code == 403 and refused["X-Galley-Reason"] == "not_owner"

    # alice asks Contoso to become an owner of her package; it waits for an answer.
    page.goto("/account/Packages")
    page.get_by_text("Add an Owner").click()
    page.get_by_label("User or organization name").fill("Contoso")
    page.get_by_role("button", name="Add", exact=True).click()
    page.get_by_text("Contoso (pending) as an owner of Contoso.Core").wait_for()
    assert list(PackageRegistration.objects.get().owners.all()) == [alice]

    # bob, an administrator of Contoso, opens the request's e-mail and accepts.
    request = mail_to(mailoutbox, "bob@example.com", "Ownership request for Contoso.Core")
    bob_page.goto(link_in(request))
    bob_page.get_by_text("alice asks your organization Contoso to become an owner").wait_for()
    bob_page.get_by_role("button", name="Accept").click()
    bob_page.get_by_text("Contoso is now an owner of Contoso.Core.").wait_for()
    bob_context.close()

    pushed = push(Client(), secret, nupkg(package_id="Contoso.Core", version="2.0.0"))
    assert pushed.status_code == 201
    assert set(PackageRegistration.objects.get().owners.all()) == {alice, contoso}
    mail_to(mailoutbox, "alice@example.com", "The owners of Contoso.Core changed")
