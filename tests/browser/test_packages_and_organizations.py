"""Issue 15 in the browser: Manage packages' owner filter, an organization's role
select and the confirmation before Remove, in English and French, with and
without JavaScript; screenshots under test-artifacts/screenshots/."""

import re
from pathlib import Path

import pytest

from accounts.models import Membership, User
from tests.factories import PASSWORD, PackageRegistrationFactory, UserFactory
from tests.packages.builders import add_version

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

WORDS = {
    "en-US": {
        "published": "Published Packages",
        "unlisted": "Unlisted Packages",
        "owner": "Package Owner",
        "filter": "Filter",
        "you": "alice (you)",
        "changed": "The role of bob was changed.",
        "admin_text": "An administrator can manage the organization's memberships and its packages.",
        "thats_you": "(that's you)",
        "remove": "Remove",
        "remove_bob": "Remove bob",
        "cancel": "Cancel",
        "removed": "bob was removed.",
        "change": "Change",
    },
    "fr-FR": {
        "published": "Packages publiés",
        "unlisted": "Packages non listés",
        "owner": "Propriétaire du package",
        "filter": "Filtrer",
        "you": "alice (vous)",
        "changed": "Le rôle de bob a été modifié.",
        "admin_text": (
            "Un administrateur peut gérer les appartenances de l’organisation et ses packages."
        ),
        "thats_you": "(c’est vous)",
        "remove": "Retirer",
        "remove_bob": "Retirer bob",
        "cancel": "Annuler",
        "removed": "Membre retiré\u00a0: bob.",
        "change": "Changer",
    },
}


@pytest.fixture(params=["en-US", "fr-FR"])
def browser_locale(request):
    return request.param


@pytest.fixture
def words(browser_locale):
    return WORDS[browser_locale]


@pytest.fixture
def contoso():
    """alice administers Contoso and owns a package of her own; bob collaborates."""
    alice = UserFactory(username="alice")
    bob = UserFactory(username="bob")
    organization = User.objects.create_organization("Contoso", admin=alice)
    Membership.objects.create(
        organization=organization, member=bob, role=Membership.Role.COLLABORATOR
    )
    own = PackageRegistrationFactory(package_id="Alice.Tools", owners=[alice])
    add_version(own, "1.0.0")
    core = PackageRegistrationFactory(package_id="Contoso.Core", owners=[organization])
    add_version(core, "1.0.0")
    add_version(core, "1.1.0")
    old = PackageRegistrationFactory(package_id="Contoso.Old", owners=[organization])
    add_version(old, "0.9.0", listed=False)
    return organization


def shot(page, name, browser_locale):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{browser_locale[:2]}.png"), full_page=True)


def sign_in(page, username="alice"):
    # By field ids: the labels are in the page's language.
    page.goto("/users/account/LogOn?returnUrl=%2F")
    page.locator("#id_login").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))


def package_ids(page, section: str) -> list[str]:
    return page.locator(f"section[aria-labelledby={section}] tbody th").all_inner_texts()


def test_owner_filter_submits_on_change(page, contoso, words, browser_locale):
    sign_in(page)
    page.goto("/account/Packages")
    assert page.get_by_role("heading", name=words["published"]).is_visible()
    assert package_ids(page, "published-heading") == ["Alice.Tools", "Contoso.Core"]
    assert package_ids(page, "unlisted-heading") == ["Contoso.Old"]
    core_row = f"#package-{contoso.packages.get(package_id='Contoso.Core').pk}"
    assert page.locator(f"{core_row} a[href='/packages/Contoso.Core/Manage']").is_visible()
    latest = page.locator("section[aria-labelledby=published-heading] tbody tr").nth(1)
    assert "1.1.0" in latest.inner_text()
    # With JavaScript the select acts by itself: no Filter button.
    assert not page.get_by_role("button", name=words["filter"]).is_visible()
    shot(page, "manage-packages", browser_locale)
    with page.expect_navigation():
        page.get_by_label(words["owner"]).select_option("Contoso")
    assert page.url.endswith("/account/Packages?owner=Contoso")
    assert package_ids(page, "published-heading") == ["Contoso.Core"]
    assert package_ids(page, "unlisted-heading") == ["Contoso.Old"]
    with page.expect_navigation():
        page.get_by_label(words["owner"]).select_option(label=words["you"])
    assert package_ids(page, "published-heading") == ["Alice.Tools"]
    assert package_ids(page, "unlisted-heading") == []
    shot(page, "manage-packages-filtered", browser_locale)


def test_role_changes_from_the_select(page, contoso, words, browser_locale):
    sign_in(page)  # a sign-in counts as a recent password for the grant
    page.goto("/account/Organizations/Contoso")
    assert page.get_by_text(words["admin_text"]).is_visible()
    assert words["thats_you"] in page.locator("#member-alice").inner_text()
    assert words["thats_you"] not in page.locator("#member-bob").inner_text()
    assert not page.locator("#member-bob").get_by_role("button", name=words["change"]).is_visible()
    shot(page, "organization", browser_locale)
    with page.expect_navigation():
        page.locator("#member-bob select").select_option("admin")
    page.get_by_text(words["changed"]).wait_for()
    assert Membership.objects.get(member__username="bob").role == Membership.Role.ADMIN
    assert page.locator("#member-bob select").input_value() == "admin"
    page.goto("/account/Organizations")
    shot(page, "organizations", browser_locale)


def test_remove_asks_for_confirmation(page, contoso, words, browser_locale):
    sign_in(page)
    page.goto("/account/Organizations/Contoso")
    row = page.locator("#member-bob")
    confirm = row.get_by_role("button", name=words["remove_bob"])
    assert not confirm.is_visible()
    row.get_by_text(words["remove"], exact=True).click()
    assert confirm.is_visible()
    shot(page, "organization-remove", browser_locale)
    row.get_by_role("link", name=words["cancel"]).click()
    page.wait_for_load_state()
    assert Membership.objects.filter(member__username="bob").exists()
    row.get_by_text(words["remove"], exact=True).click()
    with page.expect_navigation():
        row.get_by_role("button", name=words["remove_bob"]).click()
    page.get_by_text(words["removed"]).wait_for()
    assert not Membership.objects.filter(member__username="bob").exists()
    assert page.locator("#member-bob").count() == 0


def test_without_javascript_the_buttons_remain(
    browser, live_server, contoso, words, browser_locale
):
    context = browser.new_context(
        base_url=live_server.url, locale=browser_locale, java_script_enabled=False
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        sign_in(page)
        page.goto("/account/Packages")
        page.get_by_label(words["owner"]).select_option("Contoso")
        with page.expect_navigation():
            page.get_by_role("button", name=words["filter"]).click()
        assert package_ids(page, "published-heading") == ["Contoso.Core"]

        page.goto("/account/Organizations/Contoso")
        page.locator("#member-bob select").select_option("admin")
        with page.expect_navigation():
            page.locator("#member-bob").get_by_role("button", name=words["change"]).click()
        assert Membership.objects.get(member__username="bob").role == Membership.Role.ADMIN
        # The <details> confirmation opens without JavaScript too.
        page.locator("#member-bob").get_by_text(words["remove"], exact=True).click()
        with page.expect_navigation():
            page.locator("#member-bob").get_by_role("button", name=words["remove_bob"]).click()
        assert not Membership.objects.filter(member__username="bob").exists()
    finally:
        context.close()
