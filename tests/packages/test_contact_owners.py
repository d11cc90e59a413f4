"""Contact Owners (nuget.org's ContactOwners page): a signed-in person with a confirmed
address writes to a package's owners, who answer by e-mail."""

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.models import Membership, User
from apikeys.scopes import Refusal
from packages.flows import contact
from tests.conftest import sign_in
from tests.factories import PackageRegistrationFactory, UserFactory
from tests.packages.builders import add_version

pytestmark = pytest.mark.django_db

URL = "/packages/Alice.Core/1.0.0/ContactOwners"
MESSAGE = {"message": "Version 1.0.0 throws on .NET 9. Could you have a look?", "copy_sender": ""}


@pytest.fixture
def core(alice):
    registration = PackageRegistrationFactory(package_id="Alice.Core", owners=[alice])
    add_version(registration, "1.0.0")
    return registration


@pytest.fixture
def contoso(bob):
    """bob administers Contoso; dave is one of its collaborators."""
    organization = User.objects.create_organization("Contoso", admin=bob)
    Membership.objects.create(organization=organization, member=UserFactory(username="dave"))
    return organization


@pytest.fixture
def writer(client, charlie):
    """charlie, signed in: no relation to the package."""
    return sign_in(client, charlie)


def recipients(outbox) -> list[list[str]]:
    return sorted(m.to for m in outbox)


def test_the_package_page_links_to_contact_owners(client, core):
    """Every version's page has "Contact Owners" in its sidebar, as nuget.org's."""
    page = client.get("/packages/Alice.Core/1.0.0").content.decode()
    assert f'href="{URL}"' in page
    assert "Contact Owners" in page


def test_signed_out_visitors_sign_in_first(client, core, mailoutbox):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == reverse("log_on") + "?next=" + URL
    assert client.post(URL, MESSAGE).status_code == 302
    assert not mailoutbox


def test_an_unconfirmed_account_is_told_to_confirm_and_nothing_is_sent(client, core, mailoutbox):
    unconfirmed = UserFactory(username="erin", verified=False)
    sign_in(client, unconfirmed)
    page = client.get(URL)
    assert page.status_code == 200
    content = page.content.decode()
    assert "To contact the owners of a package, you will need to confirm your account." in content
    assert 'name="message"' not in content
    response = client.post(URL, MESSAGE)
    assert response.status_code == 403
    assert not mailoutbox


def test_the_flow_itself_refuses_an_unconfirmed_sender_or_no_contactable_owner(
    rf, core, alice, mailoutbox
):
    """packages/flows/contact.py holds the rules whatever page calls it."""
    request = rf.post(URL)
    request.user = UserFactory(username="erin", verified=False)
    version = core.versions.get()
    refused = contact.send(request, version, message="hi", copy_sender=True)
    assert isinstance(refused, Refusal) and refused.status == 403
    request.user = UserFactory(username="frank")
    alice.allow_contact = False
    alice.save()
    refused = contact.send(request, version, message="hi", copy_sender=True)
    assert isinstance(refused, Refusal) and refused.status == 403
    assert not mailoutbox


def test_a_message_reaches_the_owner_answered_at_the_senders_address(
    client, writer, core, alice, dana, mailoutbox
):
    """The owner gets the message, Reply-To the sender's confirmed address; dana, who
    owns a package of her own, is never mailed; the sender is sent back to the page."""
    PackageRegistrationFactory(package_id="Dana.Tools", owners=[dana])
    page = client.get(URL).content.decode()
    assert 'name="message"' in page and 'maxlength="4000"' in page
    assert "charlie@example.com" in page  # From: the sender sees their own address
    assert "alice@example.com" not in page  # To: owners by name only
    response = client.post(URL, MESSAGE)
    assert response.status_code == 302
    assert response["Location"] == "/packages/Alice.Core/1.0.0"
    (message,) = mailoutbox
    assert message.to == ["alice@example.com"]
    assert message.reply_to == ["charlie@example.com"]
    assert "Alice.Core" in message.subject
    assert MESSAGE["message"] in message.body
    assert "charlie (charlie@example.com)" in message.body
    assert "http://testserver/packages/Alice.Core/1.0.0" in message.body
    shown = client.get(response["Location"]).content.decode()
    assert "Your message has been sent to the owners of Alice.Core." in shown


def test_the_sender_gets_a_copy_only_when_asked_and_it_holds_no_owner_address(
    client, writer, core, mailoutbox
):
    client.post(URL, {**MESSAGE, "copy_sender": "on"})
    assert recipients(mailoutbox) == [["alice@example.com"], ["charlie@example.com"]]
    copy = next(m for m in mailoutbox if m.to == ["charlie@example.com"])
    assert "(alice)" in copy.body and MESSAGE["message"] in copy.body
    everything = copy.body + copy.alternatives[0][0] + copy.subject + str(copy.reply_to)
    assert "alice@example.com" not in everything
    assert not copy.reply_to
    mailoutbox.clear()
    client.post(URL, MESSAGE)
    assert recipients(mailoutbox) == [["alice@example.com"]]


def test_the_copy_box_is_ticked_at_first(client, writer, core):
    page = client.get(URL).content.decode()
    assert 'name="copy_sender" id="id_copy_sender" checked' in page


def test_owners_who_do_not_allow_contact_are_not_mailed(
    client, writer, core, alice, dana, mailoutbox
):
    """Of two owners, only the one who allows contact is mailed and named."""
    core.owners.add(dana)
    alice.allow_contact = False
    alice.save()
    page = client.get(URL).content.decode()
    assert 'href="/profiles/dana"' in page and 'href="/profiles/alice"' not in page
    client.post(URL, MESSAGE)
    assert recipients(mailoutbox) == [["dana@example.com"]]


def test_when_no_owner_allows_contact_the_page_says_so_and_sends_nothing(
    client, writer, core, alice, mailoutbox
):
    alice.allow_contact = False
    alice.save()
    response = client.get(URL)
    content = response.content.decode()
    assert response.status_code == 200
    assert "the owners of this package do not allow contacting them through this form" in content
    assert 'name="message"' not in content
    assert client.post(URL, MESSAGE).status_code == 403
    assert not mailoutbox


def test_a_package_without_owners_says_it_is_not_maintained(client, writer, mailoutbox):
    orphan = PackageRegistrationFactory(package_id="Orphan.Lib")
    version = add_version(orphan, "2.0.0")
    version.project_url = "https://example.org/orphan"
    version.save()
    content = client.get("/packages/Orphan.Lib/2.0.0/ContactOwners").content.decode()
    assert "this package has no owners" in content
    assert 'href="https://example.org/orphan"' in content
    assert client.post("/packages/Orphan.Lib/2.0.0/ContactOwners", MESSAGE).status_code == 403
    assert not mailoutbox


def test_an_organization_owner_is_reached_through_its_administrators(
    client, writer, core, alice, contoso, mailoutbox
):
    """Contoso owns the package too: bob (administrator) is mailed, dave (collaborator)
    is not, as for every mail to a package's owners."""
    core.owners.add(contoso)
    client.post(URL, MESSAGE)
    assert recipients(mailoutbox) == [["alice@example.com"], ["bob@example.com"]]
    assert all(m.reply_to == ["charlie@example.com"] for m in mailoutbox)


def test_an_organization_that_does_not_allow_contact_is_not_reached(
    client, writer, core, alice, contoso, mailoutbox
):
    core.owners.add(contoso)
    contoso.allow_contact = False
    contoso.save()
    client.post(URL, MESSAGE)
    assert recipients(mailoutbox) == [["alice@example.com"]]


def test_each_owner_reads_the_mail_in_their_language(client, writer, core, alice, mailoutbox):
    alice.language = "fr"
    alice.save()
    client.post(URL, MESSAGE)
    (message,) = mailoutbox
    assert "Message aux propriétaires du package Alice.Core" in message.subject
    assert "Bonjour alice" in message.body


@pytest.mark.parametrize(
    "data, error",
    [
        ({"message": ""}, "Please enter a message."),
        ({"message": "x" * 4001}, "at most 4000 characters"),
    ],
)
def test_a_bad_message_is_400_and_sends_nothing(client, writer, core, mailoutbox, data, error):
    response = client.post(URL, data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not mailoutbox


def test_a_message_of_exactly_4000_characters_is_sent(client, writer, core, mailoutbox):
    assert client.post(URL, {"message": "x" * 4000}).status_code == 302
    assert len(mailoutbox) == 1


def test_the_message_is_plain_text_and_cannot_add_headers(client, writer, core, mailoutbox):
    """The text part carries the message as written; the HTML part escapes it; a line
    break in it never becomes a header."""
    text = '<script>alert(1)</script> <a href="https://evil.example">x</a>\r\nBcc: evil@example.net'
    client.post(URL, {"message": text})
    (message,) = mailoutbox
    assert "<script>alert(1)</script>" in message.body
    html = message.alternatives[0][0]
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<a href="https://evil.example">' not in html
    assert not message.bcc and not message.cc
    headers = message.message()
    assert headers["Bcc"] is None
    assert "evil" not in str(headers["Subject"]) + str(headers["Reply-To"]) + str(headers["To"])


def test_messages_are_limited_per_account(client, writer, core, settings, mailoutbox):
    """Each message sends mail: GALLEY_CONTACT_OWNERS_PER_HOUR per account, then 429
    until the hour is over; another account has its own allowance."""
    settings.GALLEY_CONTACT_OWNERS_PER_HOUR = 2
    with time_machine.travel("2026-03-02 10:05:00+00:00", tick=False):
        assert client.post(URL, MESSAGE).status_code == 302
        assert client.post(URL, MESSAGE).status_code == 302
        refused = client.post(URL, MESSAGE)
        assert refused.status_code == 429
        assert "too many messages" in refused.content.decode()
        other = Client()
        other.force_login(UserFactory(username="erin"))
        assert other.post(URL, MESSAGE).status_code == 302
    with time_machine.travel("2026-03-02 11:00:01+00:00", tick=False):
        assert client.post(URL, MESSAGE).status_code == 302
    assert len(mailoutbox) == 4


@pytest.mark.parametrize(
    "url",
    [
        "/packages/Nobody.Here/1.0.0/ContactOwners",
        "/packages/Alice.Core/9.9.9/ContactOwners",
        "/packages/Alice.Core/not-a-version/ContactOwners",
    ],
)
def test_an_unknown_package_or_version_is_404(client, writer, core, mailoutbox, url):
    assert client.get(url).status_code == 404
    assert client.post(url, MESSAGE).status_code == 404
    assert not mailoutbox


def test_any_spelling_of_the_id_and_version_finds_the_page(client, writer, core):
    assert client.get("/packages/alice.core/1.0/ContactOwners").status_code == 200


def test_an_unlisted_version_has_the_page_as_its_own_page_is_shown(client, writer, core):
    core.versions.update(listed=False)
    assert client.get("/packages/Alice.Core/1.0.0").status_code == 200
    assert client.get(URL).status_code == 200


def test_a_deleted_version_is_404(client, writer, core):
    core.versions.all().delete()
    assert client.get(URL).status_code == 404


def test_private_feed_follows_the_package_pages_read_rule(
    client, writer, core, alice, settings, mailoutbox
):
    """On a private feed, a package the person may not read does not exist for them; an
    owner (or a member of an owning organization) may write to the other owners."""
    settings.GALLEY_FEED_READ = "authenticated"
    assert client.get("/packages/Alice.Core/1.0.0").status_code == 404
    assert client.get(URL).status_code == 404
    assert client.post(URL, MESSAGE).status_code == 404
    signed_out = Client().get(URL)
    assert signed_out.status_code == 302 and "LogOn" in signed_out["Location"]
    assert not mailoutbox
    reader = Client()
    reader.force_login(alice)
    assert reader.post(URL, MESSAGE).status_code == 302
    assert recipients(mailoutbox) == [["alice@example.com"]]


def test_the_senders_address_is_not_shown_to_the_owners_on_the_site(client, writer, core, alice):
    client.post(URL, MESSAGE)
    owner = Client()
    owner.force_login(alice)
    for url in ("/packages/Alice.Core/1.0.0", URL, "/account", "/account/security-log"):
        assert "charlie@example.com" not in owner.get(url).content.decode(), url


# ------------------------------------------------------------------------ the settings


def test_account_settings_turn_contact_off_and_on(client, alice):
    sign_in(client, alice)
    page = client.get("/account").content.decode()
    assert "Allow others to contact me about my packages" in page
    assert 'name="allow_contact" id="id_allow_contact"' in page
    client.post("/account/notifications", {"notify_key_events": "on"})
    alice.refresh_from_db()
    assert alice.allow_contact is False and alice.notify_key_events is True
    client.post("/account/notifications", {"allow_contact": "on"})
    alice.refresh_from_db()
    assert alice.allow_contact is True and alice.notify_key_events is False


def test_a_new_account_allows_contact(db):
    assert UserFactory(username="frank").allow_contact is True
    assert User.objects.create_organization("Frankco", admin=User.objects.get()).allow_contact


def test_an_organizations_administrator_turns_its_contact_off(client, bob, contoso):
    sign_in(client, bob)
    page = client.get("/account/Organizations/Contoso").content.decode()
    assert "Allow others to contact the organization about its packages" in page
    response = client.post("/account/Organizations/Contoso/contact", {})
    assert response.status_code == 302
    contoso.refresh_from_db()
    assert contoso.allow_contact is False


def test_only_an_administrator_changes_the_organizations_contact(client, contoso, charlie):
    """dave (a collaborator) gets 403, charlie (a stranger) 404; nothing changes."""
    dave = Client()
    dave.force_login(User.objects.get(username="dave"))
    assert dave.post("/account/Organizations/Contoso/contact", {}).status_code == 403
    sign_in(client, charlie)
    assert client.post("/account/Organizations/Contoso/contact", {}).status_code == 404
    contoso.refresh_from_db()
    assert contoso.allow_contact is True
