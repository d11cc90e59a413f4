"""Staff open the admin with two-factor authentication (an authenticator app, or a security
key or passkey through WebAuthn, under the site's CSP) and find "Revoke leaked keys" where
they look: on the admin's front page and on the API keys list."""

import re
import time

import pytest
from django.contrib.auth.models import Permission

from tests.browser.pages import sign_in
from tests.conftest import totp_code
from tests.factories import STAFF_TOTP_SECRET, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def make_staff(**kwargs):
    user = UserFactory(username="staffer", is_staff=True, **kwargs)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_apikey", "change_apikey"])
    )
    return user


@pytest.fixture
def csp_violations(page):
    """Chromium reports each blocked script or style on the console."""
    found = []
    page.on(
        "console",
        lambda message: (
            found.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return found


@pytest.fixture
def authenticator(page):
    """A virtual security key that Chromium offers to WebAuthn (a passkey holder with user
    verification, which answers at once)."""
    session = page.context.new_cdp_session(page)
    session.send("WebAuthn.enable")
    added = session.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    yield session, added["authenticatorId"]


def open_revoke_leaked_keys_from_the_key_list(page):
    page.goto("/admin/")
    page.locator('#content-main a[href="/admin/apikeys/apikey/"]').first.click()  # the model's row
    page.wait_for_url(re.compile(r"/admin/apikeys/apikey/$"))
    page.locator("#content").get_by_role("link", name="Revoke leaked keys").click()
    page.get_by_role("heading", name="Revoke leaked keys").wait_for()
    assert page.url.endswith("/admin/apikeys/apikey/revoke-leaked/")


def test_staff_sign_in_with_an_authenticator_app_and_reach_revoke_leaked_keys(page, csp_violations):
    make_staff()
    page.goto("/users/account/LogOn?returnUrl=%2Fadmin%2F")
    page.get_by_label("User Name or E-mail Address").fill("staffer")
    page.locator("#id_password").fill("correct-horse-battery-staple")
    page.get_by_role("button", name="Sign In", exact=True).click()
    page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))
    # A code is good for its 30-second window only: start a fresh one if this one ends soon.
    if time.time() % 30 > 25:
        time.sleep(30 - time.time() % 30)
    page.get_by_label("Code").fill(totp_code(STAFF_TOTP_SECRET))
    page.get_by_role("button", name="Sign In", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/$"))

    # From the admin's front page.
    page.locator("#galley-tasks").get_by_role("link", name="Revoke leaked keys").click()
    page.get_by_role("heading", name="Revoke leaked keys").wait_for()
    # And from the API keys list.
    open_revoke_leaked_keys_from_the_key_list(page)
    assert csp_violations == []


def test_staff_without_two_factor_add_a_passkey_then_sign_in_with_it(
    page, authenticator, csp_violations
):
    from accounts import staff_two_factor

    staffer = make_staff(two_factor=False)
    sign_in(page, "staffer")
    page.goto("/admin/")
    page.wait_for_url(re.compile(r"/account/two-factor/staff$"))
    page.get_by_text(
        "Staff need two-factor authentication to open the administration."
    ).first.wait_for()
    # The password alone does not add one: the link (mailed, or from manage.py) comes first.
    page.goto(staff_two_factor.link_path(staffer))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(re.compile(r"/accounts/2fa/$"))

    page.goto("/accounts/2fa/webauthn/add/")
    page.get_by_label("Name").fill("Test key")
    page.get_by_label("Use this key as a passkey").check()
    page.get_by_role("button", name="Add").click()
    page.wait_for_url(lambda url: "/webauthn/add/" not in url)
    session, authenticator_id = authenticator
    credentials = session.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    assert len(credentials["credentials"]) == 1

    open_revoke_leaked_keys_from_the_key_list(page)

    # Signed out, the passkey alone signs staff in, and the admin opens.
    page.goto("/account")
    page.locator("[data-user-menu] summary").click()
    page.locator("[data-user-menu] .menu").get_by_role("button", name="Sign Out").click()
    page.get_by_text("You have signed out.").wait_for()
    page.goto("/users/account/LogOn?returnUrl=%2Fadmin%2F")
    page.get_by_role("button", name="Sign In with a Passkey").click()
    page.wait_for_url(re.compile(r"/admin/$"))
    open_revoke_leaked_keys_from_the_key_list(page)
    assert csp_violations == []
