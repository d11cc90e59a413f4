"""docs/api/report-abuse-resource.md (ReportAbuseUriTemplate) and
package-details-template-resource.md (PackageDetailsUriTemplate): Galley's own pages."""

import pytest
import time_machine
from django.core import mail

from packages.models import AbuseReport
from tests.conformance.conftest import BASE, pushed
from tests.conftest import sign_in
from tests.factories import UserFactory
from tests.helpers import unlist

pytestmark = pytest.mark.django_db

REPORT = {"reason": "malicious_code", "message": "It uploads ~/.ssh to a pastebin."}


def expand(template: str, package_id: str, version: str) -> str:
    """What a client does with the template: fill in `{id}` and `{version}`."""
    return template.replace("{id}", package_id).replace("{version}", version).removeprefix(BASE)


@pytest.fixture
def versioning(client, publisher):
    pushed(client, publisher, "NuGet.Versioning", "4.3.0")


@pytest.fixture
def staff(db):
    """Who reads abuse reports: an active staff member with a confirmed address."""
    return UserFactory(username="moderator", is_staff=True)


@pytest.fixture
def report_url(client, versioning):
    resources = {r["@type"]: r["@id"] for r in client.get("/v3/index.json").json()["resources"]}
    return expand(resources["ReportAbuseUriTemplate/3.0.0"], "NuGet.Versioning", "4.3.0")


# ----------------------------------------------------------------- report abuse


def test_report_abuse_template_expands_to_galleys_own_page(client, versioning):
    """ "For example, nuget.org's report abuse template looks like this:
    https://www.nuget.org/packages/{id}/{version}/ReportAbuse": Galley's has the same shape
    on its own host, for every ReportAbuseUriTemplate type, and the page "should support the
    `GET` method".\""""
    resources = {r["@type"]: r["@id"] for r in client.get("/v3/index.json").json()["resources"]}
    for kind in ("3.0.0-beta", "3.0.0-rc", "3.0.0"):
        template = resources[f"ReportAbuseUriTemplate/{kind}"]
        assert template == f"{BASE}/packages/{{id}}/{{version}}/ReportAbuse"
        response = client.get(expand(template, "NuGet.Versioning", "4.3.0"))
        assert response.status_code == 200
        assert "Report Package NuGet.Versioning 4.3.0" in response.content.decode()


def test_report_abuse_id_and_version_are_case_and_normalization_insensitive(client, versioning):
    """ "The `{id}` and `{version}` values interpreted by the server implementation must be
    case insensitive and not sensitive to whether the version is normalized.\""""
    for package_id, version in (("nuget.versioning", "4.3"), ("NUGET.VERSIONING", "4.3.0.0")):
        response = client.get(f"/packages/{package_id}/{version}/ReportAbuse")
        assert response.status_code == 200, (package_id, version)
        assert "NuGet.Versioning 4.3.0" in response.content.decode()


def test_report_abuse_page_answers_head(client, report_url):
    """The page supports `GET` and so `HEAD` (overview.md: "Fetches the response headers for
    the corresponding `GET` request")."""
    head, get = client.head(report_url), client.get(report_url)
    assert head.status_code == 200 and head.content == b""
    assert head["Content-Type"] == get["Content-Type"]


def test_report_abuse_of_an_unknown_package_or_version_is_404(client, versioning):
    """No page for what does not exist, and nothing recorded."""
    for url in (
        "/packages/Nobody.Here/1.0.0/ReportAbuse",
        "/packages/NuGet.Versioning/9.9.9/ReportAbuse",
        "/packages/NuGet.Versioning/not-a-version/ReportAbuse",
    ):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {**REPORT, "email": "x@example.com"}).status_code == 404, url
    assert not AbuseReport.objects.exists() and not mail.outbox


def test_an_unlisted_version_can_be_reported(client, publisher, versioning):
    """Unlisted versions still restore by exact version, so they can still be reported."""
    unlist(client, publisher, "NuGet.Versioning", "4.3.0")
    assert client.get("/packages/NuGet.Versioning/4.3.0/ReportAbuse").status_code == 200


def test_a_signed_out_report_is_recorded_and_mailed_to_staff(client, report_url, staff, alice):
    """A signed-out reporter gives an address; the report is recorded and e-mailed to the
    administrators (active staff with a confirmed address), who answer the reporter."""
    UserFactory(username="unconfirmed-staff", is_staff=True, verified=False)
    UserFactory(username="gone-staff", is_staff=True, is_active=False)
    response = client.post(report_url, {**REPORT, "email": "reporter@example.org"})
    assert response.status_code == 302
    assert response["Location"] == "/packages/NuGet.Versioning/4.3.0"
    report = AbuseReport.objects.get()
    assert (report.package_id, report.version, report.reason) == (
        "NuGet.Versioning",
        "4.3.0",
        "malicious_code",
    )
    assert report.reporter is None and report.reporter_email == "reporter@example.org"
    assert report.package_version.version == "4.3.0"
    (message,) = mail.outbox
    assert message.to == ["moderator@example.com"]
    assert message.reply_to == ["reporter@example.org"]
    assert "NuGet.Versioning 4.3.0" in message.subject
    assert "It uploads ~/.ssh to a pastebin." in message.body
    assert "The package contains malicious code" in message.body
    assert "http://testserver/packages/NuGet.Versioning/4.3.0" in message.body
    page = client.get(response["Location"]).content.decode()
    assert "Your report was sent to the site’s administrators." in page


def test_a_signed_in_report_uses_the_accounts_address(client, report_url, staff, charlie):
    """A signed-in reporter is answered at their account's address: the form has no e-mail
    field, and the report names them."""
    sign_in(client, charlie)
    page = client.get(report_url).content.decode()
    assert 'name="email"' not in page and "charlie@example.com" in page
    assert client.post(report_url, REPORT).status_code == 302
    report = AbuseReport.objects.get()
    assert report.reporter == charlie and report.reporter_email == "charlie@example.com"
    assert mail.outbox[0].reply_to == ["charlie@example.com"]


def test_galley_abuse_email_receives_reports_instead_of_staff(client, report_url, staff, settings):
    """GALLEY_ABUSE_EMAIL, when set, is where reports go (README, Configuration)."""
    settings.GALLEY_ABUSE_EMAIL = ["abuse@example.net", "security@example.net"]
    client.post(report_url, {**REPORT, "email": "reporter@example.org"})
    assert sorted(m.to[0] for m in mail.outbox) == ["abuse@example.net", "security@example.net"]


@pytest.mark.parametrize(
    "data",
    [
        {"reason": "", "message": "x", "email": "a@example.org"},
        {"reason": "not-a-reason", "message": "x", "email": "a@example.org"},
        {"reason": "other", "message": "", "email": "a@example.org"},
        {"reason": "other", "message": "x" * 4001, "email": "a@example.org"},
        {"reason": "other", "message": "x"},
        {"reason": "other", "message": "x", "email": "not an address"},
    ],
)
def test_a_bad_report_is_400_and_changes_nothing(client, report_url, staff, data):
    """Bad input gets a clear error and changes nothing: no record, no mail."""
    response = client.post(report_url, data)
    assert response.status_code == 400
    assert 'class="errorlist' in response.content.decode()
    assert not AbuseReport.objects.exists() and not mail.outbox


def test_a_report_needs_the_csrf_token(csrf_client, report_url, staff):
    """The form is a POST from the site's own page: without its CSRF token it is refused."""
    response = csrf_client.post(report_url, {**REPORT, "email": "reporter@example.org"})
    assert response.status_code == 403
    assert not AbuseReport.objects.exists() and not mail.outbox


def test_reports_are_limited_per_client_address(client, report_url, staff, settings):
    """Each report sends mail: GALLEY_ABUSE_REPORTS_PER_HOUR per client address, then 429
    until the hour is over."""
    settings.GALLEY_ABUSE_REPORTS_PER_HOUR = 2
    data = {**REPORT, "email": "reporter@example.org"}
    with time_machine.travel("2026-03-02 10:05:00+00:00", tick=False):
        assert client.post(report_url, data).status_code == 302
        assert client.post(report_url, data).status_code == 302
        refused = client.post(report_url, data)
        assert refused.status_code == 429
        assert "too many reports" in refused.content.decode()
        other = client.post(report_url, data, REMOTE_ADDR="192.0.2.7")
        assert other.status_code == 302  # another address has its own allowance
    with time_machine.travel("2026-03-02 11:00:01+00:00", tick=False):
        assert client.post(report_url, data).status_code == 302
    assert AbuseReport.objects.count() == 4 and len(mail.outbox) == 4


def test_the_package_page_links_to_the_report_page(client, versioning):
    """Every page is reachable from a link where its users look for it: the package page's
    sidebar has "Report package", as nuget.org's."""
    page = client.get("/packages/NuGet.Versioning/4.3.0").content.decode()
    assert 'href="/packages/NuGet.Versioning/4.3.0/ReportAbuse"' in page


# ------------------------------------------------------ report abuse, private feed


@pytest.fixture
def private(settings):
    settings.GALLEY_FEED_READ = "authenticated"


def test_private_feed_signed_out_reporters_sign_in_first_whatever_the_id(
    client, private, versioning
):
    """A private feed tells a signed-out visitor nothing: known and unknown ids alike send
    them to sign in."""
    known = client.get("/packages/NuGet.Versioning/4.3.0/ReportAbuse")
    unknown = client.get("/packages/Nobody.Here/1.0.0/ReportAbuse")
    assert known.status_code == unknown.status_code == 302
    assert known["Location"].startswith("/users/account/LogOn")
    posted = client.post("/packages/NuGet.Versioning/4.3.0/ReportAbuse", REPORT)
    assert posted.status_code == 302 and not AbuseReport.objects.exists()


def test_private_feed_a_package_the_reporter_cannot_read_is_404(
    client, private, versioning, charlie, staff
):
    """ "It reveals nothing about private packages to someone who cannot read them (404 as
    for unknown ids)": charlie may not read alice's package."""
    sign_in(client, charlie)
    for url in (
        "/packages/NuGet.Versioning/4.3.0/ReportAbuse",
        "/packages/Nobody.Here/1.0.0/ReportAbuse",
    ):
        assert client.get(url).status_code == 404, url
        assert client.post(url, REPORT).status_code == 404, url
    assert not AbuseReport.objects.exists() and not mail.outbox


def test_private_feed_a_reader_reports(client, private, versioning, alice, staff):
    """Someone who may read the package reports it as on a public feed."""
    sign_in(client, alice)
    assert client.post("/packages/NuGet.Versioning/4.3.0/ReportAbuse", REPORT).status_code == 302
    assert AbuseReport.objects.get().reporter == alice and len(mail.outbox) == 1


# ---------------------------------------------------------------- package details


def test_package_details_template_expands_to_the_package_page(client, versioning):
    """ "For example, nuget.org's package details template looks like this:
    https://www.nuget.org/packages/{id}/{version}"; the page "should support the `GET`
    method"."""
    resources = {r["@type"]: r["@id"] for r in client.get("/v3/index.json").json()["resources"]}
    template = resources["PackageDetailsUriTemplate/5.1.0"]
    assert template == f"{BASE}/packages/{{id}}/{{version}}"
    response = client.get(expand(template, "NuGet.Versioning", "4.3.0"))
    assert response.status_code == 200
    assert "NuGet.Versioning" in response.content.decode()
    assert client.head(expand(template, "NuGet.Versioning", "4.3.0")).status_code == 200


def test_package_details_accepts_any_case_and_non_normalized_versions(client, versioning):
    """ "The server should accept `{id}` and `{version}` values with any casing. In addition,
    the server should not be sensitive to whether the version is normalized": other
    spellings lead to the version's page."""
    for package_id, version in (("nuget.versioning", "4.3.0"), ("NuGet.Versioning", "4.3")):
        response = client.get(f"/packages/{package_id}/{version}", follow=True)
        assert response.status_code == 200, (package_id, version)
        assert response.redirect_chain in ([], [("/packages/NuGet.Versioning/4.3.0", 302)])
        assert "4.3.0" in response.content.decode()


def test_package_details_template_is_https_in_production(client, versioning, settings):
    """ "The URL must be an absolute URL and the scheme (protocol) must be HTTPS": behind
    its TLS proxy (GALLEY_TRUSTED_PROXY_COUNT and X-Forwarded-Proto), Galley's templates
    are https URLs."""
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    index = client.get(
        "/v3/index.json", headers={"X-Forwarded-Proto": "https"}, SERVER_PORT="443"
    ).json()
    templates = {r["@type"]: r["@id"] for r in index["resources"]}
    assert templates["PackageDetailsUriTemplate/5.1.0"] == (
        "https://testserver/packages/{id}/{version}"
    )


@pytest.mark.parametrize(
    "override, message",
    [
        ({"GALLEY_ABUSE_EMAIL": "abuse@example.net,not-an-address"}, "GALLEY_ABUSE_EMAIL must"),
        ({"GALLEY_ABUSE_REPORTS_PER_HOUR": "0"}, "GALLEY_ABUSE_REPORTS_PER_HOUR must be at least"),
    ],
)
def test_abuse_settings_that_cannot_be_read_stop_start_up(override, message):
    """A value that cannot be read stops start-up with a message naming the variable."""
    from tests.helpers import PRODUCTION, manage

    result = manage("check", **{**PRODUCTION, **override})
    assert result.returncode != 0 and message in result.stderr
    assert manage("check", **{**PRODUCTION, "GALLEY_ABUSE_EMAIL": "a@example.net"}).returncode == 0
