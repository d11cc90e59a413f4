"""From Manage packages to the package page, copy an install snippet, unlist on the Manage page."""

import pytest

from accounts.models import User
from audit.models import AuditEvent
from packages.models import PackageVersion
from tests.browser.pages import sign_in
from tests.factories import PackageRegistrationFactory, UserFactory
from tests.packages.builders import add_version

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manage_packages_to_package_page_copy_snippet_and_unlist(page):
    alice = UserFactory(username="alice")
    contoso = User.objects.create_organization("Contoso", admin=alice)
    core = PackageRegistrationFactory(package_id="Contoso.Core", owners=[contoso])
    for text in ["1.0.0", "1.1.0", "2.0.0-beta"]:
        version = add_version(core, text)
        version.description = "Core types for Contoso applications."
        version.authors = "Contoso Ltd"
        version.save()

    sign_in(page, "alice")
    page.locator("[data-user-menu] summary").click()
    page.locator("[data-user-menu]").get_by_role("link", name="Manage Packages").click()
    page.screenshot(path="/tmp/manage-packages.png", full_page=True)
    page.get_by_role("link", name="Contoso.Core", exact=True).click()
    page.get_by_role("heading", name="Contoso.Core 1.1.0").wait_for()
    page.screenshot(path="/tmp/package-page.png", full_page=True)

    page.get_by_role("button", name="Copy").first.click()
    page.get_by_text("Copied to the clipboard.").wait_for()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == "dotnet add package Contoso.Core --version 1.1.0"
    page.get_by_role("link", name="PackageReference", exact=True).click()
    page.locator('button[data-copy="#snippet-package-reference-1"]').click()
    assert (
        page.evaluate("navigator.clipboard.readText()")
        == '<PackageReference Include="Contoso.Core" Version="1.1.0" />'
    )

    page.get_by_role("link", name="Manage Package").click()
    page.get_by_role("heading", name="Manage Contoso.Core").wait_for()
    page.get_by_label("List 1.1.0 in search results").uncheck()
    page.screenshot(path="/tmp/package-manage.png", full_page=True)
    listing = page.locator("section[aria-labelledby='listing-heading']")
    listing.get_by_role("button", name="Save").click()
    page.get_by_text("1 version of Contoso.Core changed.").wait_for()
    assert not page.get_by_label("List 1.1.0 in search results").is_checked()

    assert PackageVersion.objects.get(version="1.1.0").listed is False
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.PACKAGE_UNLISTED)
    assert event.actor == alice and event.package_version == "1.1.0"

    # The page now offers 1.0.0, the latest listed stable version, and marks 1.1.0 for owners.
    page.goto("/packages/Contoso.Core")
    page.get_by_role("heading", name="Contoso.Core 1.0.0").wait_for()
    assert page.locator("table.versions").get_by_text("Unlisted").count() == 1
    page.screenshot(path="/tmp/package-page-owner.png", full_page=True)
