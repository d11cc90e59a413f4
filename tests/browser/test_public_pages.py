"""The public side in a browser: search from the home page to a package, to its
owner's profile, to another package; a README rendered, a hostile one inert;
axe-core on every new page; screenshots at 390 and 1,280 pixels."""

import json
import re

import pytest

from accounts.models import User
from packages import lifecycle
from packages.models import OwnershipRequest, PackageVersion
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_accessibility import AXE, audit
from tests.factories import PASSWORD, PackageRegistrationFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = ARTIFACTS / "screenshots"

README = """# Contoso.Core

Core types for **Contoso** applications.

## Usage

```csharp
var core = new ContosoCore();
```

| Option | Default |
|---|---|
| Retries | 3 |
"""

HOSTILE = """# Hostile

<script>window.__pwned = 1; alert("script")</script>

<img src="x" onerror="window.__pwned = 2">

[run me](javascript:window.__pwned=3)

![tracker](https://tracker.example/pixel.png)
"""


def version_of(registration, text, **fields):
    version = PackageVersion.objects.create(
        registration=registration,
        version=text,
        normalized_version=text.lower(),
        original_version=text,
        size=2048,
        sha512="x" * 88,
        file=f"{registration.normalized_id}/{text}.nupkg",
        **fields,
    )
    lifecycle.touch([registration.pk])
    return version


@pytest.fixture
def feed(db):
    alice = UserFactory(username="alice")
    dana = UserFactory(username="dana")
    fabrikam = User.objects.create_organization("Fabrikam", admin=dana)
    core = PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice])
    version_of(
        core,
        "1.0.0",
        description="Core types for Contoso applications.",
        tags="contoso core",
        readme=README,
        release_notes="First release.",
        dependency_groups=[{"targetFramework": "net8.0", "dependencies": []}],
        lib_frameworks=["netstandard2.0"],
        download_count=1200,
    )
    version_of(core, "1.1.0-beta", description="Core, preview.", readme=README, is_prerelease=True)
    extras = PackageRegistrationFactory(package_id="Contoso.Extras", owners=[alice])
    version_of(
        extras,
        "2.0.0",
        description="Extras built on Contoso.Core.",
        download_count=300,
        dependency_groups=[
            {"targetFramework": "", "dependencies": [{"id": "Contoso.Core", "range": "[1.0.0, )"}]}
        ],
    )
    hostile = PackageRegistrationFactory(package_id="Fabrikam.Hostile", owners=[fabrikam])
    version_of(hostile, "1.0.0", description="A README that tries everything.", readme=HOSTILE)
    OwnershipRequest.objects.create(
        registration=core, new_owner=UserFactory(username="erin"), requested_by=alice
    )
    return {"alice": alice, "dana": dana}


@pytest.fixture(params=["en-US", "fr-FR"])
def browser_locale(request):
    return request.param


TEXT = {
    "en-US": {"search": "Search", "box": "Search for packages"},
    "fr-FR": {"search": "Rechercher", "box": "Rechercher des packages"},
}


def test_search_from_home_to_package_to_owner_to_another_package(page, feed, browser_locale):
    words = TEXT[browser_locale]
    page.goto("/")
    page.locator("main").get_by_label(words["box"]).fill("contoso")
    page.locator("main").get_by_role("button", name=words["search"]).click()
    page.wait_for_url(re.compile(r"/packages\?q=contoso"))
    page.get_by_role("link", name="Contoso.Core", exact=True).click()
    page.get_by_role("heading", name=re.compile(r"^Contoso\.Core 1\.0\.0")).first.wait_for()
    # The README tab, rendered: headings, code, a table.
    readme = page.locator(".readme")
    assert readme.locator("h2", has_text="Usage").is_visible()
    assert "new ContosoCore()" in readme.locator("pre code").inner_text()
    assert readme.locator("table td").first.inner_text() == "Retries"
    page.locator(".owner-list").get_by_role("link", name="alice").click()
    page.wait_for_url(re.compile(r"/profiles/alice$"))
    page.get_by_role("heading", name="alice").wait_for()
    page.get_by_role("link", name="Contoso.Extras").click()
    page.get_by_role("heading", name=re.compile(r"^Contoso\.Extras 2\.0\.0")).wait_for()


def test_hostile_readme_is_inert(browser, live_server, feed):
    # The CSP is bypassed: the sanitiser alone must keep the README inert.
    context = browser.new_context(base_url=live_server.url, bypass_csp=True)
    page = context.new_page()
    dialogs, remote = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on(
        "request", lambda request: remote.append(request.url) if "tracker" in request.url else None
    )
    page.goto("/packages/Fabrikam.Hostile")
    readme = page.locator(".readme")
    assert "<script>" in readme.inner_text()  # shown as text
    assert readme.locator("script, [onerror], [onclick], img[src]").count() == 0
    link = readme.get_by_text("run me")
    assert link.get_attribute("href") is None
    link.click()
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert dialogs == [] and remote == []
    context.close()


NEW_PAGES = [
    "/",
    "/packages?q=contoso",
    "/packages?q=contoso&prerel=false&sortby=downloads",
    "/profiles/alice",
    "/profiles/Fabrikam",
    "/packages/Contoso.Core",
    "/packages/Contoso.Core?tab=frameworks",
    "/packages/Contoso.Core?tab=dependencies",
    "/packages/Contoso.Core?tab=used-by",
    "/packages/Contoso.Core?tab=versions",
    "/packages/Contoso.Core?tab=release-notes&install=cake",
    "/packages/Contoso.Core/1.1.0-beta",
    "/packages/Contoso.Core/Manage",
]


def test_new_pages_have_no_serious_axe_violations(browser, live_server, feed, browser_locale):
    if not AXE.exists():
        pytest.skip("axe-core is not installed: run `npm ci`")
    context = browser.new_context(base_url=live_server.url, locale=browser_locale, bypass_csp=True)
    page = context.new_page()
    page.goto("/users/account/LogOn?returnUrl=%2F")
    page.locator("#id_login").fill("alice")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))
    failures = {url: audit(page, url, browser_locale) for url in NEW_PAGES}
    context.close()
    assert not any(failures.values()), json.dumps(failures, indent=2)


SHOTS = {
    "home": "/",
    "search": "/packages?q=contoso",
    "profile": "/profiles/alice",
    "package-readme": "/packages/Contoso.Core",
    "package-versions": "/packages/Contoso.Core?tab=versions",
    "package-prerelease": "/packages/Contoso.Core/1.1.0-beta?install=central-package-management",
    "manage": "/packages/Contoso.Core/Manage",
}


@pytest.mark.parametrize("width", [390, 1280])
def test_screenshots_of_the_new_pages(browser, live_server, feed, width):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": 900}
    )
    page = context.new_page()
    page.goto("/users/account/LogOn?returnUrl=%2F")
    page.locator("#id_login").fill("alice")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))
    for name, url in SHOTS.items():
        page.goto(url)
        # Nothing wider than the window: no sideways scrolling on a phone.
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            wide = page.evaluate(
                """() => [...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 8).map(e => e.tagName + "." + e.className + " " + Math.round(e.getBoundingClientRect().right))"""
            )
            print(url, overflow, wide)
        assert overflow <= 0, (url, overflow)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    context.close()
