"""No page scrolls sideways, with ordinary data (issue 28).

Every page — signed out, signed in, staff — in English and French, at a phone's
width and a laptop's, with a 64-character package id, a long e-mail address, a
long description and 200 versions on one package: the document is never wider
than the window, and axe-core finds no serious or critical violation. The same
pass saves screenshots (test-artifacts/screenshots/, also at 320 and 768 px).
"""

import json
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.urls import Resolver404, resolve
from django.utils import timezone

from accounts.models import Membership, User
from audit.events import Kind, record
from packages import lifecycle
from packages.models import OwnershipRequest, PackageVersion
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_accessibility import AXE
from tests.conftest import required
from tests.factories import PASSWORD, PackageRegistrationFactory, UserFactory, make_key
from tests.packages.builders import add_version

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = ARTIFACTS / "screenshots"
LONG_ID = "Contoso.Platform.Infrastructure.Diagnostics.Telemetry.Extensions1"
LONG_EMAIL = "alice.wonderland-longname.for-testing@engineering.subsidiary.contoso-example.com"
LONG_DESCRIPTION = (
    "Structured telemetry for the Contoso platform: traces, metrics and logs with one "
    "configuration, exporters for every collector the infrastructure team runs, and a "
    "Microsoft.Extensions.DependencyInjection.ServiceCollectionExtensions.AddContosoTelemetry "
    "method that wires it all. " * 3
)
# Axe is the slow part: it runs at these widths, the overflow check at every width.
AXE_WIDTHS = (390, 1280)
WIDTHS = (320, 390, 768, 1280)
HEIGHT = 900


def seed():
    """The ordinary data a real site accumulates, as long as names get."""
    alice = UserFactory(username="alice", email=LONG_EMAIL)
    UserFactory(username="admin", is_staff=True, is_superuser=True)
    contoso = User.objects.create_organization("ContosoPlatformEngineering", admin=alice)
    bob = UserFactory(username="bob")
    Membership.objects.create(organization=contoso, member=bob)
    long = PackageRegistrationFactory(package_id=LONG_ID, owners=[alice, contoso])
    # Pending both ways: bob invited to alice's package (its Manage page lists him),
    # alice invited to one of bob's (her page to accept or decline).
    OwnershipRequest.objects.create(registration=long, new_owner=bob, requested_by=alice)
    offered = PackageRegistrationFactory(package_id=f"{LONG_ID[:-1]}9", owners=[bob])
    OwnershipRequest.objects.create(registration=offered, new_owner=alice, requested_by=bob)
    now = timezone.now()
    PackageVersion.objects.bulk_create(
        PackageVersion(
            registration=long,
            version=f"1.{n // 20}.{n % 20}",
            normalized_version=f"1.{n // 20}.{n % 20}",
            original_version=f"1.{n // 20}.{n % 20}",
            size=2048 + n,
            sha512="x" * 88,
            file=f"{long.normalized_id}/1.{n // 20}.{n % 20}.nupkg",
            description=LONG_DESCRIPTION,
            title="Contoso Platform Telemetry Extensions",
            authors="Contoso Platform Infrastructure Diagnostics Team, " * 3,
            tags="telemetry tracing metrics logging opentelemetry diagnostics contoso",
            project_url="https://github.com/contoso/platform-infrastructure-diagnostics",
            license_expression="MIT",
            dependency_groups=[
                {
                    "targetFramework": "net8.0",
                    "dependencies": [{"id": f"{LONG_ID[:-1]}.Abstractions", "range": "[1.0.0, )"}],
                }
            ],
            listed=n != 3,
        )
        for n in range(200)
    )
    PackageVersion.objects.filter(registration=long).update(created=now - timedelta(days=3))
    lifecycle.touch([long.pk])
    for n in range(4):
        other = PackageRegistrationFactory(
            package_id=f"{LONG_ID[:-1]}{n + 2}", owners=[contoso if n % 2 else alice]
        )
        # As a push stores it: normalized without the build metadata, which the
        # version as written keeps.
        add_version(
            other,
            "2.0.0-preview.1",
            listed=n != 1,
            original_version="2.0.0-preview.1+build.20261204",
        )
    key, _ = make_key(
        alice,
        owner=contoso,
        name="contoso-platform-infrastructure-diagnostics-release-pipeline-key",
        glob_patterns=[f"{LONG_ID[:40]}*", "Contoso.Platform.*"],
        packages=[long],
    )
    expired, _ = make_key(alice, name="nightly-" + "x" * 56, expires_in_days=1)
    expired.revoke(by=alice, source="holder")
    for kind in (Kind.KEY_CREATED, Kind.KEY_REVOKED):
        record(kind, user=alice, actor=alice, key=key)
    record(
        Kind.PACKAGE_PUSHED,
        user=alice,
        actor=alice,
        key=key,
        package_id=LONG_ID,
        package_version="1.9.19",
    )
    from trustedpublishing.models import Policy, Provider

    Policy.objects.create(
        creator=alice,
        owner=contoso,
        name="contoso-platform-infrastructure-diagnostics-release",
        provider=Provider.GITHUB,
        repository_owner="contoso-platform-infrastructure",
        repository="platform-infrastructure-diagnostics-telemetry-extensions",
        workflow="release-and-publish-to-the-internal-feed.yml",
    )
    return {"alice": alice, "key": key, "organization": contoso}


def existing(paths):
    """Paths this branch serves: /packages and /profiles arrive from another branch."""
    kept = []
    for path in paths:
        try:
            resolve(path.split("?")[0])
        except Resolver404:
            continue
        kept.append(path)
    return kept


def page_lists(data):
    organization = data["organization"].username
    signed_out = existing(
        [
            "/",
            "/users/account/LogOn?returnUrl=%2F",
            f"/packages?q={LONG_ID[:20]}",
            "/profiles/alice",
            f"/packages/{LONG_ID}",
            f"/packages/{LONG_ID}/1.9.19",
        ]
    )
    signed_in = existing(
        [
            "/",
            "/account",
            "/account/security-log",
            "/account/apikeys",
            f"/account/apikeys/{data['key'].pk}/edit",
            "/account/trustedpublishing",
            "/account/Packages",
            "/account/Organizations",
            f"/account/Organizations/{organization}",
            f"/account/Organizations/{organization}/keys",
            f"/packages/{LONG_ID}",
            f"/packages/{LONG_ID}/Manage",
            f"/packages/{LONG_ID}/1.9.19/ContactOwners",
            f"/packages/{LONG_ID}/1.9.19/ReportAbuse",
            f"/account/Packages/{LONG_ID[:-1]}9/owners/alice/request",
            "/profiles/alice",
            f"/profiles/{organization}",
        ]
    )
    staff = existing(["/", "/account", "/admin/"])
    return {"signed out": signed_out, "alice": signed_in, "admin": staff}


def allauth_pages(data):
    """allauth's pages (tests/accounts/test_allauth_wording.py lists them), with a long
    address to confirm, an unconfirmed long address beside a confirmed one (dana's: an
    unconfirmed address keeps two-factor authentication from alice), and the admin's
    authenticator app, recovery codes and a security key with a long name."""
    from allauth.account.forms import default_token_generator
    from allauth.account.models import EmailAddress, EmailConfirmationHMAC
    from allauth.account.utils import user_pk_to_url_str
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    alice, admin = data["alice"], User.objects.get(username="admin")
    dana = UserFactory(username="dana")
    dana.set_unusable_password()
    dana.save()
    second = EmailAddress.objects.create(
        user=dana, email="second." + LONG_EMAIL, primary=False, verified=False
    )
    RecoveryCodes.activate(admin)
    key = Authenticator.objects.create(
        user=admin,
        type=Authenticator.Type.WEBAUTHN,
        data={"name": "YubiKey 5C NFC of the platform infrastructure team " * 2, "credential": {}},
    )
    UserFactory(username="erin", email="erin." + LONG_EMAIL, two_factor=True)
    token = default_token_generator.make_token(alice)
    # Another of alice's sessions, from a browser with a long user agent on an IPv6 network.
    other = Client()
    other.force_login(alice)
    track_session(
        other,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86 ContosoCorporateManagedBrowser/4.2",
        "2001:db8:85a3:8d3:1319:8a2e:370:7348",
    )
    return {
        "signed out": [
            "/accounts/signup/",
            "/accounts/password/reset/",
            "/accounts/password/reset/done/",
            f"/accounts/password/reset/key/{user_pk_to_url_str(alice)}-{token}/",
            "/accounts/password/reset/key/1-not-a-token/",
            "/accounts/password/reset/key/done/",
            "/accounts/inactive/",
            "/accounts/confirm-email/",
            f"/accounts/confirm-email/{EmailConfirmationHMAC(second).key}/",
            "/accounts/confirm-email/not-a-key/",
        ],
        "alice": [
            "/accounts/email/",
            "/accounts/password/change/",
            "/accounts/logout/",
            "/accounts/reauthenticate/",
            "/accounts/2fa/",
            "/accounts/2fa/totp/activate/",
            "/accounts/2fa/webauthn/",
            "/accounts/2fa/webauthn/add/",
            "/accounts/sessions/",
        ],
        "admin": [
            "/accounts/2fa/",
            "/accounts/2fa/reauthenticate/",
            "/accounts/2fa/totp/deactivate/",
            "/accounts/2fa/recovery-codes/",
            "/accounts/2fa/recovery-codes/generate/",
            "/accounts/2fa/webauthn/",
            f"/accounts/2fa/webauthn/keys/{key.pk}/edit/",
            f"/accounts/2fa/webauthn/keys/{key.pk}/remove/",
        ],
        "dana": ["/accounts/password/set/", "/accounts/email/"],
        "erin half-way": ["/accounts/2fa/authenticate/"],
    }


CHROMIUM_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def track_session(client, user_agent: str, ip: str) -> None:
    """Record the client's session in Signed-In Sessions, as signing in through the form would."""
    from allauth.usersessions.models import UserSession

    UserSession.objects.update_or_create(
        session_key=client.session.session_key,
        defaults={"user_id": client.session["_auth_user_id"], "ip": ip, "user_agent": user_agent},
    )


def signed_in_cookie(username: str) -> dict:
    """A session for `username`, as if they had signed in (the sign-in page has tests of its own)
    and confirmed their password a moment ago, so pages behind reauthentication show themselves.
    "erin half-way" has given erin's password and not yet the second factor."""
    client = Client()
    if username.endswith(" half-way"):
        client.post("/accounts/login/", {"login": username.split()[0], "password": PASSWORD})
        return {
            "name": settings.SESSION_COOKIE_NAME,
            "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        }
    client.force_login(User.objects.get(username=username))
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    track_session(client, CHROMIUM_AGENT, "203.0.113.7")
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
    }


def overflow(page) -> int:
    """How many pixels the page scrolls sideways (0 when it does not)."""
    return page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def widest(page) -> list[str]:
    """The elements that stick out of the window, to say what to fix."""
    return page.evaluate(
        """() => { const w = document.documentElement.clientWidth; const out = [];
        const clipped = (e) => { for (let p = e.parentElement; p; p = p.parentElement) {
          const o = getComputedStyle(p).overflowX; if (o === 'auto' || o === 'hidden' || o === 'scroll') return true; } return false; };
        for (const e of document.querySelectorAll('body *')) { const r = e.getBoundingClientRect(); if (clipped(e)) continue;
          if (r.right > w + 1 && r.width > 0) out.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
            (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '') +
            ' ' + Math.round(r.right)); }
        return out.slice(0, 8); }"""
    )


# What the header shows side by side: the site's name, its links, the search box, and
# the account's links or menu; a narrow window must never lay one over another.
HEADER_PARTS = ".brand, .site-nav > *, .site-search, .account-nav > *"


def header_overlaps(page) -> list[str]:
    """The header's parts that overlap one another (the overflow check cannot see them)."""
    return page.evaluate(
        """(selector) => { const parts = [...document.querySelectorAll(selector)]
          .map(e => [e, e.getBoundingClientRect()]).filter(([, r]) => r.width > 0);
        const name = (e) => e.tagName.toLowerCase() + '.' + (e.className || '').toString().trim().split(/\\s+/)[0]
          + ' ' + JSON.stringify(e.textContent.trim().slice(0, 20));
        const out = [];
        for (let i = 0; i < parts.length; i++) for (let j = i + 1; j < parts.length; j++) {
          const [a, r] = parts[i], [b, q] = parts[j];
          if (a.contains(b) || b.contains(a)) continue;
          if (r.left < q.right - 1 && q.left < r.right - 1 && r.top < q.bottom - 1 && q.top < r.bottom - 1)
            out.push(name(a) + ' over ' + name(b)); }
        return out; }""",
        HEADER_PARTS,
    )


def names_below_avatars(page) -> list[str]:
    """Owners whose name starts below their avatar instead of beside it."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.owner-list li')].flatMap(li => {
          const name = li.querySelector(':scope > a'), avatar = li.firstElementChild;
          if (!name || avatar === name) return [];
          return name.getBoundingClientRect().top >= avatar.getBoundingClientRect().bottom
            ? [name.textContent.trim()] : []; })"""
    )


def axe_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => ['serious', 'critical'].includes(v.impact))"
        ".map(v => v.id + ': ' + v.nodes.slice(0, 2).map(n => n.target.join(' ')).join(', '))"
    )


def screenshot_name(who: str, path: str, language: str, width: int, suffix: str = "") -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-")[:100] or "home"
    return f"{width}-{language}-{who.replace(' ', '-')}-{slug}{suffix}.png"


def shoot(page, name: str) -> None:
    """The whole page, down to a screen height of 3,000 px (200 versions make a long page)."""
    height = min(page.evaluate("() => document.documentElement.scrollHeight"), 3000)
    width = page.viewport_size["width"]
    page.screenshot(
        path=str(SCREENSHOTS / name),
        full_page=True,
        clip={"x": 0, "y": 0, "width": width, "height": height},
    )


def check(page, who, path, language, width, problems, *, run_axe):
    response = page.goto(path)
    assert response is not None and response.status < 400, f"{path}: {response and response.status}"
    shoot(page, screenshot_name(who, path, language, width))
    extra = overflow(page)
    if extra > 0:
        problems.append(f"{who} {path}: {extra}px wider than the window: {widest(page)}")
    for overlap in header_overlaps(page):
        problems.append(f"{who} {path}: in the header, {overlap}")
    for name in names_below_avatars(page):
        problems.append(f"{who} {path}: the owner {name} wraps below their avatar")
    if run_axe:
        for violation in axe_violations(page):
            problems.append(f"{who} {path}: axe {violation}")


def check_opened(page, who, path, language, width, problems, opener, suffix):
    """A page with a disclosure opened (the user menu, the create form, Regenerate)."""
    page.goto(path)
    page.locator(opener).first.click()
    shoot(page, screenshot_name(who, path, language, width, suffix))
    extra = overflow(page)
    if extra > 0:
        problems.append(f"{who} {path} ({suffix}): {extra}px wider: {widest(page)}")


def walk(browser, live_server, language, pages, *, opened=False):
    """Every page of `pages` (who → paths) at every width; what scrolls sideways or
    fails axe-core, and how many pages were seen."""
    if not AXE.exists():
        if required("browser"):
            pytest.fail("axe-core is missing: run `npm ci` (CI does)")
        pytest.skip("axe-core is not installed: run `npm ci`")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    cookies = {who: signed_in_cookie(who) for who in pages if who != "signed out"}
    problems: list[str] = []
    visited = 0
    for width in WIDTHS:
        # One context per language and width: the viewport, and CSP bypassed for axe.
        context = browser.new_context(
            base_url=live_server.url,
            locale=language,
            viewport={"width": width, "height": HEIGHT},
            bypass_csp=True,
        )
        page = context.new_page()
        page.set_default_timeout(10_000)
        run_axe = width in AXE_WIDTHS
        lang = language[:2]
        for who, paths in pages.items():
            context.clear_cookies()
            if who in cookies:
                context.add_cookies([{**cookies[who], "url": live_server.url}])
            for path in paths:
                check(page, who, path, lang, width, problems, run_axe=run_axe)
                visited += 1
            if opened and who == "alice":
                check_opened(
                    page, who, "/", lang, width, problems, "[data-user-menu] summary", "-menu"
                )
                check_opened(
                    page,
                    who,
                    "/account/apikeys",
                    lang,
                    width,
                    problems,
                    ".create-section > summary",
                    "-create",
                )
                check_opened(
                    page,
                    who,
                    "/account/apikeys",
                    lang,
                    width,
                    problems,
                    ".key-actions details.action > summary",
                    "-regenerate",
                )
        context.close()
    return problems, visited


@pytest.mark.parametrize("language", ["en-US", "fr-FR"])
def test_no_page_scrolls_sideways(browser, live_server, language):
    problems, visited = walk(browser, live_server, language, page_lists(seed()), opened=True)
    assert visited >= 2 * 4 * 10
    assert not problems, json.dumps(problems, indent=2, ensure_ascii=False)


@pytest.mark.parametrize("language", ["en-US", "fr-FR"])
def test_no_allauth_page_scrolls_sideways(browser, live_server, language):
    """allauth's pages, signed out, signed in, with two-factor authentication and without a
    password, in Galley's layout: no sideways scroll, axe-core clean."""
    problems, visited = walk(browser, live_server, language, allauth_pages(seed()))
    assert visited == 4 * 30
    assert not problems, json.dumps(problems, indent=2, ensure_ascii=False)


def test_the_check_sees_a_page_that_scrolls_sideways(browser, live_server):
    """The measure itself: a page wider than its window is caught."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 600})
    page = context.new_page()
    page.set_content('<html><body style="margin:0"><div style="width:700px">x</div></body></html>')
    assert overflow(page) > 0
    assert widest(page)
    page.set_content('<html><body style="margin:0"><div style="width:300px">x</div></body></html>')
    assert overflow(page) == 0
    context.close()


def test_the_check_sees_header_parts_laid_over_one_another(browser, live_server):
    """The header's measure: two links at the same place are caught, side by side are not."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 320, "height": 600})
    page = context.new_page()
    header = (
        '<html><body style="margin:0"><div class="site-nav" style="position:relative">'
        '<a style="position:absolute;left:0;width:80px">Packages</a></div>'
        '<div class="account-nav" style="position:relative">'
        '<a style="position:absolute;left:{}px;width:80px">Connexion</a></div>'
        "</body></html>"
    )
    page.set_content(header.format(30))
    assert header_overlaps(page)
    page.set_content(header.format(120))
    assert header_overlaps(page) == []
    context.close()
