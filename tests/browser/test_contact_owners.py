"""From the package page to Contact Owners, write, send, and read the confirmation, in
English and in French; the form is axe-clean in both."""

import json

import pytest

from accounts.models import Membership, User
from tests.browser.test_accessibility import axe  # noqa: F401
from tests.browser.test_layout import axe_violations, signed_in_cookie
from tests.factories import PackageRegistrationFactory, UserFactory
from tests.packages.builders import add_version

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WORDS = {
    "en-US": {
        "link": "Contact Owners",
        "heading": "Contact the Owners of Contoso.Core 1.0.0",
        "message": "Message",
        "copy": "Send me a copy",
        "send": "Send",
        "sent": "Your message has been sent to the owners of Contoso.Core.",
    },
    "fr-FR": {
        "link": "Contacter les propriétaires",
        "heading": "Contacter les propriétaires de Contoso.Core 1.0.0",
        "message": "Message",
        "copy": "M’envoyer une copie",
        "send": "Envoyer",
        "sent": "Votre message a été envoyé aux propriétaires de Contoso.Core.",
    },
}


@pytest.fixture(params=list(WORDS))
def browser_locale(request):
    return request.param


@pytest.mark.usefixtures("axe")  # axe-core present (or the test is skipped)
def test_package_page_to_contact_owners_and_back(browser, live_server, browser_locale, mailoutbox):
    words = WORDS[browser_locale]
    alice = UserFactory(username="alice")
    contoso = User.objects.create_organization("Contoso", admin=alice)
    Membership.objects.create(organization=contoso, member=UserFactory(username="bob"))
    core = PackageRegistrationFactory(package_id="Contoso.Core", owners=[contoso])
    add_version(core, "1.0.0")
    charlie = UserFactory(username="charlie")

    # The axe pass injects a script, which the page's CSP refuses without the bypass.
    context = browser.new_context(base_url=live_server.url, locale=browser_locale, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    context.add_cookies([{**signed_in_cookie(charlie.username), "url": live_server.url}])

    page.goto("/packages/Contoso.Core/1.0.0")
    page.get_by_role("link", name=words["link"], exact=True).click()
    page.get_by_role("heading", name=words["heading"]).wait_for()
    assert page.url.endswith("/packages/Contoso.Core/1.0.0/ContactOwners")
    assert page.get_by_label(words["copy"]).is_checked()
    page.get_by_label(words["message"], exact=True).fill("Does 1.0.0 run on .NET 9?")
    page.screenshot(path=f"/tmp/contact-owners-form-{browser_locale}.png", full_page=True)
    violations = axe_violations(page)
    assert not violations, json.dumps(violations, indent=2, ensure_ascii=False)

    page.get_by_role("button", name=words["send"], exact=True).click()
    page.get_by_text(words["sent"]).wait_for()
    assert page.url.endswith("/packages/Contoso.Core/1.0.0")
    page.screenshot(path=f"/tmp/contact-owners-sent-{browser_locale}.png", full_page=True)
    # alice administers Contoso; bob, a collaborator, is not mailed; charlie has his copy.
    assert sorted(m.to[0] for m in mailoutbox) == ["alice@example.com", "charlie@example.com"]
    context.close()
