import pytest

from apikeys.models import ApiKey
from tests.browser.pages import sign_in
from tests.factories import PASSWORD, UserFactory
from tests.helpers import KEY_RE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def confirm_password_if_asked(page):
    if "/accounts/reauthenticate/" in page.url:
        page.locator("#id_password").fill(PASSWORD)
        page.get_by_role("button", name="Confirm").click()


def test_create_copy_reload_regenerate_delete(page):
    UserFactory(username="alice")
    sign_in(page, "alice")
    page.locator("[data-user-menu] summary").click()
    page.locator("[data-user-menu]").get_by_role("link", name="API Keys").click()
    page.get_by_role("heading", name="API Keys").wait_for()

    page.get_by_label("Key Name").fill("CI pipeline")
    assert page.get_by_label("Push", exact=True).is_checked()
    page.get_by_label("Push new packages and package versions").check()
    page.get_by_label("Glob Pattern").fill("*")
    page.get_by_role("button", name="Create", exact=True).click()
    confirm_password_if_asked(page)

    shown = page.locator("#new-key-value").input_value()
    assert KEY_RE.fullmatch(shown)
    page.get_by_role("button", name="Copy").click()
    page.get_by_text("Copied to the clipboard.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == shown
    assert ApiKey.objects.find(shown).name == "CI pipeline"
    page.screenshot(path="test-artifacts/api-keys-new-key.png", full_page=True)

    page.reload()
    page.get_by_role("heading", name="Manage").wait_for()
    assert shown not in page.content()
    page.goto("/account/apikeys")
    assert not KEY_RE.search(page.content())
    assert page.get_by_text("Expires in 365 days").is_visible()

    key = page.locator(".key", has_text="CI pipeline")
    key.get_by_text("Regenerate", exact=True).click()
    key.get_by_role("button", name="Regenerate the Key").click()
    confirm_password_if_asked(page)
    regenerated = page.locator("#new-key-value").input_value()
    assert KEY_RE.fullmatch(regenerated) and regenerated != shown
    assert ApiKey.objects.find(shown) is None
    assert ApiKey.objects.find(regenerated).name == "CI pipeline"

    page.goto("/account/apikeys")
    key = page.locator(".key", has_text="CI pipeline")
    key.get_by_text("Delete", exact=True).click()
    key.get_by_role("button", name="Delete the Key").click()
    page.get_by_text("was deleted").wait_for()
    assert page.locator(".key").count() == 0
    assert not ApiKey.objects.exists()


def test_live_glob_preview_counts_matching_packages(page):
    from tests.factories import PackageRegistrationFactory

    alice = UserFactory(username="alice")
    for package_id in ["Contoso.Core", "Contoso.Web", "Fabrikam.Core"]:
        PackageRegistrationFactory(package_id=package_id, owners=[alice])
    sign_in(page, "alice")
    page.goto("/account/apikeys")
    count = page.locator("form.key-form [data-selection-count]")
    assert count.inner_text() == "0 of 3 packages selected"
    page.get_by_label("Glob Pattern").fill("contoso.*")
    assert count.inner_text() == "2 of 3 packages selected"
    page.get_by_label("Fabrikam.Core").check()
    assert count.inner_text() == "3 of 3 packages selected"
    page.screenshot(path="test-artifacts/api-keys-create.png", full_page=True)
