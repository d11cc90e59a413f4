"""Issue 15 in the browser: the API Keys page as a nuget.org user knows it, in
English and French, with the screenshots the issue asks for
(test-artifacts/screenshots/api-keys-<state>-<language>.png)."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from apikeys.models import ApiKey, RevocationSource
from tests.factories import PASSWORD, PackageRegistrationFactory, UserFactory, make_key
from tests.helpers import KEY_RE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

WORDS = {
    "en-US": {
        "confirm": "To get an API Key you will need to confirm your account.",
        "resend": "Send the Confirmation E-mail Again",
        "secret": "Always keep your API keys a secret!",
        "warning": "Make sure to copy your new API key now using the Copy button below.",
        "copy": "Copy",
        "show": "Show",
        "hide": "Hide",
        "gone": "The new key is no longer shown",
        "expired": "Your API key “Old CI” has expired.",
        "revoked": "Your API key “Leaky” has been revoked and no longer works.",
        "count": "2 of 3 packages selected",
        "create": "Create",
        "cancel": "Cancel",
        "edit": "Edit",
        "save": "Save",
        "revoke": "Revoke",
        "key_name": "Key Name",
        "pattern": "Glob Pattern",
        "push": "Push",
    },
    "fr-FR": {
        "confirm": "Pour obtenir une clé API, vous devez confirmer votre compte.",
        "resend": "Renvoyer l’e-mail de confirmation",
        "secret": "Gardez toujours vos clés API secrètes\u00a0!",
        "warning": "Veillez à copier votre nouvelle clé API maintenant à l’aide du bouton Copier",
        "copy": "Copier",
        "show": "Afficher",
        "hide": "Masquer",
        "gone": "La nouvelle clé n’est plus affichée",
        "expired": "Votre clé API «\u00a0Old CI\u00a0» a expiré.",
        "revoked": "Votre clé API «\u00a0Leaky\u00a0» a été révoquée et ne fonctionne plus.",
        "count": "2 sur 3 packages sélectionnés",
        "create": "Créer",
        "cancel": "Annuler",
        "edit": "Modifier",
        "save": "Enregistrer",
        "revoke": "Révoquer",
        "key_name": "Nom de la clé",
        "pattern": "Modèle Glob",
        "push": "Envoyer (push)",
    },
}


@pytest.fixture(params=["en-US", "fr-FR"])
def browser_locale(request):
    return request.param


@pytest.fixture
def words(browser_locale):
    return WORDS[browser_locale]


def shot(page, state, browser_locale):
    SHOTS.mkdir(parents=True, exist_ok=True)
    language = browser_locale[:2]
    page.screenshot(path=str(SHOTS / f"api-keys-{state}-{language}.png"), full_page=True)


def confirm_password_if_asked(page):
    if "/accounts/reauthenticate/" in page.url:
        page.locator("#id_password").fill(PASSWORD)
        page.locator("main form button[type=submit]").click()


def open_api_keys(page, username):
    # By field ids: the labels are in the page's language.
    page.goto("/users/account/LogOn?returnUrl=%2F")
    page.locator("#id_login").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))
    page.goto("/account/apikeys")
    confirm_password_if_asked(page)
    page.goto("/account/apikeys")


def test_an_unconfirmed_account_signs_in_and_is_asked_to_confirm(page, words, mailoutbox):
    from django.core.cache import cache

    cache.clear()  # allauth's resend limit would remember the other language's run
    UserFactory(username="eve", verified=False)
    open_api_keys(page, "eve")
    page.get_by_text(words["confirm"]).wait_for()
    assert page.locator("#id_name").count() == 0
    with page.expect_navigation():  # back to the same URL: wait for the round trip
        page.get_by_role("button", name=words["resend"]).click()
    assert len(mailoutbox) == 1


def test_empty_page_then_glob_preview_as_nuget_org(page, words, browser_locale):
    alice = UserFactory(username="alice")
    for package_id in ["Contoso.Core", "Contoso.Web", "Fabrikam.Core"]:
        PackageRegistrationFactory(package_id=package_id, owners=[alice])
    open_api_keys(page, "alice")
    assert page.locator("details.create-section").get_attribute("open") is not None
    shot(page, "empty", browser_locale)
    assert page.locator(".keep-secret").inner_text().startswith(words["secret"])

    page.get_by_label(words["pattern"]).fill("Contoso.*")
    core = page.locator("input[data-package-id='Contoso.Core']")
    fabrikam = page.locator("input[data-package-id='Fabrikam.Core']")
    assert core.is_checked() and core.is_disabled()  # covered by the pattern: ticked, greyed
    assert not fabrikam.is_checked() and fabrikam.is_enabled()
    page.get_by_text(words["count"]).wait_for()
    shot(page, "glob-preview", browser_locale)
    page.get_by_label(words["pattern"]).fill("")
    assert not core.is_checked() and core.is_enabled()

    # Push's two choices wait for Push; the packages wait for a scope.
    page.locator("#id_push").uncheck()
    assert page.locator("input[name=push_scope]").first.is_disabled()
    packages = page.locator("fieldset[data-packages-section]")
    assert packages.evaluate("fieldset => fieldset.disabled")
    page.locator("#id_push").check()
    assert not packages.evaluate("fieldset => fieldset.disabled")

    # An error leaves Key Name and Expires In side by side.
    page.get_by_label(words["pattern"]).fill("*")
    page.locator("form.key-form button[type=submit]").click()
    confirm_password_if_asked(page)
    name = page.locator("#id_name").bounding_box()
    expires = page.locator("#id_expires_in").bounding_box()
    assert abs(name["y"] - expires["y"]) < 2 and expires["x"] > name["x"]


def test_new_key_in_its_place_masked_shown_copied_then_dropped(page, words, browser_locale):
    alice = UserFactory(username="alice")
    make_key(alice, name="Older key")
    page.clock.install()
    open_api_keys(page, "alice")
    page.locator(".create-section > summary").click()
    page.get_by_label(words["key_name"]).fill("CI pipeline")
    page.get_by_label(words["pattern"]).fill("*")
    page.locator("form.key-form button[type=submit]").click()
    confirm_password_if_asked(page)

    first = page.locator(".key-list > li").first
    assert "CI pipeline" in first.locator("h3").inner_text()
    assert words["warning"] in first.inner_text()
    secret = page.locator("#new-key-value")
    assert secret.get_attribute("type") == "password"  # shown on demand only
    page.get_by_role("button", name=words["show"]).click()
    assert secret.get_attribute("type") == "text"
    shot(page, "new-key", browser_locale)
    shown = secret.input_value()
    assert KEY_RE.fullmatch(shown) and ApiKey.objects.find(shown).name == "CI pipeline"
    page.get_by_role("button", name=words["hide"]).click()
    first.get_by_role("button", name=words["copy"], exact=True).click()
    assert page.evaluate("navigator.clipboard.readText()") == shown

    page.clock.run_for("09:00")
    page.mouse.move(10, 10)  # activity restarts the ten minutes
    page.clock.run_for("09:00")
    assert secret.count() == 1
    page.clock.run_for("01:01")
    page.get_by_text(words["gone"]).wait_for()
    assert page.locator("#new-key-value").count() == 0
    assert shown not in page.content()


def test_banners_for_expired_and_revoked_keys(page, words, browser_locale):
    alice = UserFactory(username="alice")
    PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice])
    old, _ = make_key(alice, name="Old CI", expires_in_days=1)
    ApiKey.objects.filter(pk=old.pk).update(expires=timezone.now() - timedelta(days=2))
    leaky, _ = make_key(alice, name="Leaky")
    leaky.revoke(by=alice, source=RevocationSource.LEAK, reason="Found on a public gist.")
    make_key(alice, name="Fine")
    open_api_keys(page, "alice")
    page.get_by_text(words["expired"]).wait_for()
    page.get_by_text(words["revoked"]).wait_for()
    expired = page.locator(".key", has_text="Old CI")
    fine = page.locator(".key", has_text="Fine")
    assert expired.locator("summary", has_text=words["revoke"]).count() == 0
    assert fine.locator("summary", has_text=words["revoke"]).count() == 1
    shot(page, "expired-and-revoked", browser_locale)

    # Cancel closes a confirmation; Edit loads its form in place, Cancel removes it.
    fine.locator("summary", has_text=words["revoke"]).click()
    fine.get_by_role("button", name=words["cancel"]).click()
    assert fine.locator("details[open]").count() == 0
    fine.get_by_role("button", name=words["edit"]).click()
    form = fine.locator("form[data-edit-form]")
    form.wait_for()
    assert form.locator("input[data-package-id='Contoso.Core']").is_disabled()  # "*" covers it
    form.get_by_role("button", name=words["cancel"]).click()
    assert fine.locator("form[data-edit-form]").count() == 0
    fine.get_by_role("button", name=words["edit"]).click()
    fine.locator("form[data-edit-form] textarea").fill("Contoso.*")
    with page.expect_navigation():
        fine.get_by_role("button", name=words["save"]).click()
    assert ApiKey.objects.get(name="Fine").glob_patterns == ["Contoso.*"]
