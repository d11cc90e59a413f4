"""Deprecating a version on the Manage page and the package page's banners (deprecation,
vulnerability), as a person walks it, in English and in French; axe-core finds no
serious or critical violation on either page."""

import json
import re

import pytest

from audit.models import AuditEvent
from packages import advisories, lifecycle
from packages.models import PackageVersion
from tests.browser.test_accessibility import audit, axe, bypass_csp_page  # noqa: F401
from tests.factories import PASSWORD, PackageRegistrationFactory, UserFactory
from tests.packages.builders import add_version
from tests.packages.test_advisories import osv, write

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WORDS = {
    "en-US": {
        "login": "User Name or E-mail Address",
        "sign_in": "Sign In",
        "manage": "Manage package",
        "legacy": "This package is legacy and is no longer maintained",
        "package_id": "Package ID",
        "message": "Add a custom message (optional)",
        "save": "Save",
        "saved": "The deprecation of 1 version of Contoso.Core was saved.",
        "banner": "This package has been deprecated as it is legacy and is no longer maintained.",
        "alternatives": "Suggested Alternatives",
        "vulnerable": "This package has at least one vulnerability with high severity.",
        "undeprecate": "Undeprecate",
    },
    "fr-FR": {
        "login": "Nom d’utilisateur ou adresse e-mail",
        "sign_in": "Connexion",
        "manage": "Gérer le package",
        "legacy": "Ce package est hérité et n’est plus maintenu",
        "package_id": "ID du package",
        "message": "Ajouter un message personnalisé (facultatif)",
        "save": "Enregistrer",
        "saved": "La dépréciation de 1 version de Contoso.Core a été enregistrée.",
        "banner": "Ce package est déprécié, car il est hérité et n’est plus maintenu.",
        "alternatives": "Alternatives suggérées",
        "vulnerable": "Ce package a au moins une vulnérabilité de gravité élevée.",
        "undeprecate": "Annuler la dépréciation",
    },
}


@pytest.fixture(params=list(WORDS))
def browser_locale(request):
    return request.param


@pytest.fixture
def packages(tmp_path):
    alice = UserFactory(username="alice")
    core = PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice])
    for text in ("1.0.0", "2.0.0"):
        add_version(core, text)
    add_version(PackageRegistrationFactory(package_id="Contoso.Next", owners=[alice]), "1.0.0")
    advisories.import_advisories(
        str(write(tmp_path, {"a.json": osv(events=[{"introduced": "0"}, {"fixed": "2.0.0"}])}))
    )
    return alice


def sign_in(page, words):
    page.goto("/users/account/LogOn?returnUrl=%2Fpackages%2FContoso.Core%2F1.0.0")
    page.get_by_label(words["login"]).fill("alice")
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name=words["sign_in"], exact=True).click()
    page.wait_for_url(re.compile(r"/packages/Contoso.Core/1.0.0$"))


def test_deprecate_see_the_banners_and_undeprecate(page, browser_locale, packages):
    words = WORDS[browser_locale]
    sign_in(page, words)
    page.get_by_text(words["vulnerable"]).wait_for()
    page.get_by_role("link", name=words["manage"]).click()

    section = page.locator("#deprecation")
    section.get_by_label("1.0.0", exact=True).check()
    section.get_by_label(words["legacy"]).check()
    section.get_by_label(words["package_id"]).fill("Contoso.Next")
    section.get_by_label(words["message"]).fill("Use Contoso.Next.")
    page.screenshot(path=f"/tmp/deprecation-form-{browser_locale}.png", full_page=True)
    section.get_by_role("button", name=words["save"], exact=True).click()
    page.get_by_text(words["saved"]).wait_for()

    version = PackageVersion.objects.get(registration__package_id="Contoso.Core", version="1.0.0")
    assert version.deprecation_reasons == ["Legacy"]
    assert version.deprecation_alternate_id == "Contoso.Next"
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.PACKAGE_DEPRECATED).count() == 1

    page.goto("/packages/Contoso.Core/1.0.0")
    page.get_by_text(words["banner"]).wait_for()
    page.get_by_text(words["alternatives"]).wait_for()
    page.get_by_text("Use Contoso.Next.").wait_for()
    page.get_by_text(words["vulnerable"]).wait_for()
    page.screenshot(path=f"/tmp/deprecation-banner-{browser_locale}.png", full_page=True)
    page.get_by_role("link", name="Contoso.Next", exact=True).click()
    page.wait_for_url(re.compile(r"/packages/Contoso.Next$"))

    page.goto("/packages/Contoso.Core/Manage")
    section = page.locator("#deprecation")
    section.get_by_label(re.compile(r"^1\.0\.0")).check()
    section.get_by_role("button", name=words["undeprecate"]).click()
    page.get_by_text(words["saved"]).wait_for()
    version.refresh_from_db()
    assert version.deprecation_reasons == []


def test_the_pages_pass_axe(bypass_csp_page, axe, browser_locale, packages):  # noqa: F811
    version = PackageVersion.objects.get(registration__package_id="Contoso.Core", version="1.0.0")
    lifecycle.set_deprecation(
        lifecycle.Actor(user=None, channel=lifecycle.Channel.SYSTEM),
        [version],
        lifecycle.Deprecation(("Legacy", "CriticalBugs"), "Use Next.", "Contoso.Next", "1.0.0"),
    )
    page = bypass_csp_page
    words = WORDS[browser_locale]
    page.goto("/users/account/LogOn?returnUrl=%2F")
    page.get_by_label(words["login"]).fill("alice")
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name=words["sign_in"], exact=True).click()
    page.wait_for_url(re.compile(r"/$"))
    failures = {
        url: audit(page, url, browser_locale)
        for url in ("/packages/Contoso.Core/1.0.0", "/packages/Contoso.Core/Manage")
    }
    assert not any(failures.values()), json.dumps(failures, indent=2)
