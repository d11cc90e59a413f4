"""The key flow as a person walks it, in English and in French (nuget.org's French words)."""

import re

import pytest

from apikeys.models import ApiKey
from tests.factories import PASSWORD, UserFactory
from tests.helpers import KEY_RE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


WORDS = {
    "en-US": {
        "login": "User Name or E-mail Address",
        "sign_in": "Sign In",
        "api_keys": "API Keys",
        "create": "Create",
        "key_name": "Key Name",
        "push": "Push",
        "glob": "Glob Pattern",
        "copy": "Copy",
        "copied": "Copied to the clipboard.",
        "regenerate": "Regenerate",
        "regenerate_confirm": "Regenerate the Key",
        "confirm": "Confirm",
        "manage": "Manage",
    },
    "fr-FR": {
        "login": "Nom d’utilisateur ou adresse e-mail",
        "sign_in": "Connexion",
        "api_keys": "Clés API",
        "create": "Créer",
        "key_name": "Nom de la clé",
        "push": "Envoyer (push)",
        "glob": "Modèle Glob",
        "copy": "Copier",
        "copied": "Copiée dans le presse-papiers.",
        "regenerate": "Régénérer",
        "regenerate_confirm": "Régénérer la clé",
        "confirm": "Confirmer",
        "manage": "Gérer",
    },
}


@pytest.fixture(params=list(WORDS))
def browser_locale(request):
    return request.param


def confirm_password_if_asked(page, words):
    if "/accounts/reauthenticate/" in page.url:
        page.locator("#id_password").fill(PASSWORD)
        page.get_by_role("button", name=words["confirm"]).click()


def test_create_copy_reload_regenerate(page, browser_locale):
    words = WORDS[browser_locale]
    UserFactory(username="alice")
    page.goto("/users/account/LogOn?returnUrl=%2F")
    page.get_by_label(words["login"]).fill("alice")
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name=words["sign_in"], exact=True).click()
    page.wait_for_url(re.compile(r"/$"))

    page.locator("[data-user-menu] summary").click()
    page.locator("[data-user-menu]").get_by_role("link", name=words["api_keys"]).click()
    page.get_by_role("heading", name=words["api_keys"]).wait_for()

    page.get_by_label(words["key_name"]).fill("CI")
    assert page.get_by_label(words["push"], exact=True).is_checked()
    page.get_by_label(words["glob"]).fill("*")
    page.get_by_role("button", name=words["create"], exact=True).click()
    confirm_password_if_asked(page, words)

    shown = page.locator("#new-key-value").input_value()
    assert KEY_RE.fullmatch(shown)
    page.get_by_role("button", name=words["copy"]).click()
    page.get_by_text(words["copied"]).wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == shown
    page.screenshot(path=f"test-artifacts/key-flow-{browser_locale}.png", full_page=True)

    page.reload()
    page.get_by_role("heading", name=words["manage"]).wait_for()
    assert not KEY_RE.search(page.content())

    page.locator(".key").get_by_text(words["regenerate"], exact=True).click()
    page.get_by_role("button", name=words["regenerate_confirm"]).click()
    confirm_password_if_asked(page, words)
    regenerated = page.locator("#new-key-value").input_value()
    assert KEY_RE.fullmatch(regenerated) and regenerated != shown
    assert ApiKey.objects.find(shown) is None
    assert ApiKey.objects.find(regenerated) is not None


def focus_by_tab(page, selector, limit=80):
    """Press Tab until `selector` has the focus, as a keyboard user would."""
    target = page.locator(selector)
    for _ in range(limit):
        if target.evaluate("element => element === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} cannot be reached with Tab")


@pytest.mark.parametrize("browser_locale", ["en-US"], indirect=True)
def test_the_key_flow_works_by_keyboard_alone(page):
    UserFactory(username="alice")
    page.goto("/users/account/LogOn?returnUrl=%2Faccount%2Fapikeys")
    focus_by_tab(page, "#id_login")
    page.keyboard.type("alice")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/account/apikeys$"))

    focus_by_tab(page, "#id_name")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "focus is not visible"
    page.keyboard.type("keyboard-ci")
    focus_by_tab(page, "#id_glob_patterns")
    page.keyboard.type("*")
    focus_by_tab(page, "form.key-form button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    if "/accounts/reauthenticate/" in page.url:
        focus_by_tab(page, "#id_password")
        page.keyboard.type(PASSWORD)
        with page.expect_navigation():
            page.keyboard.press("Enter")
    page.locator("#new-key-value").wait_for()
    focus_by_tab(page, "[data-copy]")
    page.keyboard.press("Enter")
    page.get_by_text("Copied to the clipboard.").wait_for()
    assert (
        page.evaluate("navigator.clipboard.readText()")
        == page.locator("#new-key-value").input_value()
    )

    # Open "Delete" with the keyboard and confirm it.
    focus_by_tab(page, ".key details.action:last-of-type > summary")
    page.keyboard.press("Enter")
    focus_by_tab(page, ".key details.action:last-of-type button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert not ApiKey.objects.exists()
