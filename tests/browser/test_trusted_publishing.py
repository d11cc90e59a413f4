"""Trusted Publishing in a real browser: create a policy, in English and in French, checked by axe-core."""

import json
import re

import pytest

from tests.browser.test_accessibility import AXE, RESULTS
from tests.factories import PASSWORD, UserFactory
from trustedpublishing.models import Policy

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LABELS = {
    "en-US": {
        "menu": "Trusted Publishing",
        "heading": "Trusted Publishing",
        "name": "Policy Name",
        "github": "GitHub Actions",
        "owner": "Repository owner",
        "repository": "Repository name",
        "workflow": "Workflow file",
        "environment": "Environment (optional)",
        "create": "Create",
        "created": "was created",
    },
    "fr-FR": {
        "menu": "Publication approuvée",
        "heading": "Publication approuvée",
        "name": "Nom de la stratégie",
        "github": "GitHub Actions",
        "owner": "Propriétaire du dépôt",
        "repository": "Nom du dépôt",
        "workflow": "Fichier de workflow",
        "environment": "Environnement (facultatif)",
        "create": "Créer",
        "created": "a été créée",
    },
}


@pytest.fixture(params=["en-US", "fr-FR"])
def browser_locale(request):
    return request.param


@pytest.fixture
def enabled(settings):
    settings.GALLEY_OIDC_AUDIENCE = "https://galley.example"


def axe_violations(page, label, locale):
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "async () => (await axe.run(document)).violations.map(v => ({id: v.id, impact: v.impact}))"
    )
    RESULTS.append({"url": label, "language": locale, "violations": found})
    return [v for v in found if v["impact"] in ("serious", "critical")]


def test_create_a_policy_from_the_user_menu(browser, live_server, browser_locale, enabled):
    if not AXE.exists():
        pytest.skip("axe-core is not installed: run `npm ci`")
    words = LABELS[browser_locale]
    UserFactory(username="alice")
    # axe's script is injected into the page: the test context bypasses the CSP.
    context = browser.new_context(base_url=live_server.url, locale=browser_locale, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto("/users/account/LogOn?returnUrl=%2F")
    page.locator("#id_login").fill("alice")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))

    page.locator("[data-user-menu] summary").click()
    page.locator("[data-user-menu]").get_by_role("link", name=words["menu"]).click()
    page.get_by_role("heading", name=words["heading"], level=1).wait_for()
    failures = {"empty page": axe_violations(page, "/account/trustedpublishing", browser_locale)}

    page.screenshot(
        path=f"test-artifacts/trusted-publishing-form-{browser_locale}.png", full_page=True
    )
    page.get_by_label(words["name"]).fill("Release")
    page.get_by_label(words["github"]).check()
    page.get_by_label(words["owner"], exact=True).fill("contoso")
    page.get_by_label(words["repository"]).fill("widgets")
    page.get_by_label(words["workflow"]).fill("release.yml")
    page.get_by_label(words["environment"]).fill("release")
    page.get_by_role("button", name=words["create"], exact=True).click()
    if "/accounts/reauthenticate/" in page.url:
        page.locator("#id_password").fill(PASSWORD)
        page.locator("main form button[type=submit]").click()
    page.get_by_text(words["created"]).wait_for()

    policy = Policy.objects.get()
    assert (policy.repository_owner, policy.repository, policy.workflow) == (
        "contoso",
        "widgets",
        "release.yml",
    )
    entry = page.locator(f"#policy-{policy.pk}")
    assert "contoso/widgets" in entry.inner_text()
    failures["with a policy"] = axe_violations(
        page, "/account/trustedpublishing (a policy)", browser_locale
    )
    page.screenshot(path=f"test-artifacts/trusted-publishing-{browser_locale}.png", full_page=True)

    page.goto(f"/account/trustedpublishing/{policy.pk}/edit")
    failures["edit"] = axe_violations(page, "/account/trustedpublishing/…/edit", browser_locale)
    page.goto("/account/apikeys")
    assert page.locator("main").get_by_role("link", name=words["menu"]).count() >= 1
    context.close()
    assert not any(failures.values()), json.dumps(failures, indent=2)
