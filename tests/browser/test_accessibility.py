"""axe-core on every page, in English and in French: no serious or critical violation."""

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.models import Invitation, Membership, User
from audit.events import Kind, record
from packages.models import OwnershipRequest
from tests.conftest import required
from tests.factories import PASSWORD, PackageRegistrationFactory, UserFactory, make_key
from tests.packages.builders import add_version

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
RESULTS: list[dict] = []

PUBLIC_PAGES = [
    "/",
    "/users/account/LogOn?returnUrl=%2F",
    "/accounts/signup/",
    "/accounts/password/reset/",
]
SIGNED_IN_PAGES = [
    "/account",
    "/account/security-log",
    "/account/apikeys",
    "/account/trustedpublishing",
    "/account/Packages",
    "/account/Packages?owner=Contoso",
    "/account/Organizations",
    "/account/Organizations/Contoso",
    "/account/Organizations/Contoso/keys",
    "/accounts/email/",
    "/accounts/password/change/",
    "/accounts/2fa/",
    "/packages/Contoso.Core",
    "/packages/Contoso.Core/1.0.0",
    "/packages/Contoso.Core/Manage",
    "/packages/Contoso.Core/1.0.0/ReportAbuse",
    "/packages/Contoso.Core/1.0.0/ContactOwners",
    # Consent: an invitation and an ownership request that alice may answer, and
    # Contoso's page with a pending member.
    "/account/Organizations/Fabrikam/invitation",
    "/account/Packages/Bob.Tools/owners/alice/request",
]


@pytest.fixture(params=["en-US", "fr-FR"])
def browser_locale(request):
    return request.param


@pytest.fixture
def axe():
    if not AXE.exists():
        if required("browser"):
            pytest.fail("axe-core is missing: run `npm ci` (CI does)")
        pytest.skip("axe-core is not installed: run `npm ci`")
    return AXE


def audit(page, url, locale):
    page.goto(url)
    # The page's CSP allows no injected script; the test context bypasses it.
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
        " return r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length,"
        " help: v.help, targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))})); }"
    )
    RESULTS.append({"url": url, "language": locale, "violations": result})
    # Moderate too (two unnamed search landmarks on one page were one): only axe's
    # minor findings are left to the report.
    return [v for v in result if v["impact"] in ("moderate", "serious", "critical")]


@pytest.fixture
def bypass_csp_page(browser, live_server, browser_locale, request):
    context = browser.new_context(base_url=live_server.url, locale=browser_locale, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_public_pages(bypass_csp_page, axe, browser_locale):
    from accounts import invitations

    Invitation.objects.create(
        email="dana@example.com",
        token_hash=invitations._hash("a11y-invitation"),
        expires=timezone.now() + timedelta(days=1),
    )
    pages = [*PUBLIC_PAGES, "/account/invitation/a11y-invitation"]
    failures = {url: audit(bypass_csp_page, url, browser_locale) for url in pages}
    assert not any(failures.values()), json.dumps(failures, indent=2)


def contact_confirmation_link(organization, address: str) -> str:
    """The path an administrator follows from the contact address's e-mail."""
    from django.core import signing
    from django.urls import reverse

    from accounts import flows

    User.objects.filter(pk=organization.pk).update(contact_email=address)
    token = signing.dumps([organization.pk, address], salt=flows.CONTACT_SALT, compress=True)
    return reverse("organization_confirm_email", args=[organization.username, token])


def test_signed_in_pages(bypass_csp_page, axe, browser_locale):
    alice = UserFactory(username="alice")
    contoso = User.objects.create_organization("Contoso", admin=alice)
    Membership.objects.create(organization=contoso, member=UserFactory(username="bob"))
    package = PackageRegistrationFactory(package_id="Contoso.Core", owners=[contoso])
    add_version(package, "1.0.0")
    add_version(package, "1.1.0", listed=False)
    PackageRegistrationFactory(package_id="Alice.Tools", owners=[alice])
    key, _ = make_key(alice, owner=contoso, name="contoso-ci", packages=[package])
    make_key(alice, name="expired-one", expires_in_days=1).__getitem__(0).revoke(
        by=alice, source="holder"
    )
    record(Kind.KEY_CREATED, user=alice, actor=alice, key=key)
    bob = User.objects.get(username="bob")
    fabrikam = User.objects.create_organization("Fabrikam", admin=bob)
    Membership.objects.create(organization=fabrikam, member=alice, accepted=False, invited_by=bob)
    tools = PackageRegistrationFactory(package_id="Bob.Tools", owners=[bob])
    OwnershipRequest.objects.create(registration=tools, new_owner=alice, requested_by=bob)
    Membership.objects.create(
        organization=contoso, member=UserFactory(username="dave"), accepted=False
    )
    # Pending requests listed on Manage packages, both ways.
    OwnershipRequest.objects.create(
        registration=package, new_owner=UserFactory(username="erin"), requested_by=alice
    )

    page = bypass_csp_page
    page.goto("/users/account/LogOn?returnUrl=%2F")
    page.locator("#id_login").fill("alice")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))
    failures = {url: audit(page, url, browser_locale) for url in SIGNED_IN_PAGES}
    # Confirming Contoso's contact address (the e-mailed link) and the page that
    # shows it unconfirmed, with the Remove confirmation open.
    confirm_url = contact_confirmation_link(contoso, "ops@contoso.example")
    failures[confirm_url] = audit(page, confirm_url, browser_locale)
    page.goto("/account/Organizations/Contoso")
    page.locator("#member-bob details.action > summary").click()
    page.add_script_tag(path=str(AXE))
    opened = page.evaluate(
        "async () => (await axe.run(document)).violations.filter(v => ['serious','critical'].includes(v.impact)).map(v => v.id)"
    )
    RESULTS.append(
        {
            "url": "/account/Organizations/Contoso (Remove open)",
            "language": browser_locale,
            "violations": opened,
        }
    )
    failures["remove open"] = opened
    # The page with a freshly created key shown once.
    page.goto("/account/apikeys")
    page.locator(".create-section > summary").click()  # closed when keys exist
    page.locator("#id_name").fill("fresh")
    page.locator("#id_glob_patterns").fill("*")
    page.locator("form.key-form button[type=submit]").click()
    if "/accounts/reauthenticate/" in page.url:
        page.locator("#id_password").fill(PASSWORD)
        page.locator("main form button[type=submit]").click()
    page.locator("#new-key-value").wait_for()
    page.add_script_tag(path=str(AXE))
    shown = page.evaluate(
        "async () => (await axe.run(document)).violations.filter(v => ['serious','critical'].includes(v.impact)).map(v => v.id)"
    )
    RESULTS.append(
        {"url": "/account/apikeys (new key shown)", "language": browser_locale, "violations": shown}
    )
    failures["new key"] = shown
    assert not any(failures.values()), json.dumps(failures, indent=2)


def pytest_terminal_summary_lines():
    lines = []
    for entry in RESULTS:
        violations = entry["violations"]
        summary = (
            ", ".join(
                f"{v['id']}({v['impact']})" if isinstance(v, dict) else str(v) for v in violations
            )
            or "no violations"
        )
        lines.append(f"axe {entry['language']:5} {entry['url']}: {summary}")
    return lines
