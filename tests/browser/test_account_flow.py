import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_register_confirm_sign_in_and_sign_out(page, mailoutbox):
    page.goto("/accounts/signup/")
    page.get_by_label("User Name").fill("dana")
    page.get_by_label("E-mail Address").fill("dana@example.com")
    page.locator("#id_password1").fill("a-long-enough-passphrase")
    page.locator("#id_password2").fill("a-long-enough-passphrase")
    page.get_by_role("button", name="Register", exact=True).click()
    # As on nuget.org, a new account is signed in at once and told to confirm its address.
    page.get_by_text("A confirmation e-mail is on its way to dana@example.com.").wait_for()
    page.get_by_text("You are signed in as dana.").wait_for()

    assert len(mailoutbox) == 1
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mailoutbox[0].body).group(0)
    page.goto(link)
    page.get_by_role("button", name="Confirm").click()
    page.get_by_text("You have confirmed dana@example.com.").wait_for()

    page.context.clear_cookies()  # a new visit: sign in with the confirmed account
    page.goto("/users/account/LogOn?returnUrl=%2F")
    page.get_by_label("User Name or E-mail Address").fill("dana")
    page.locator("#id_password").fill("a-long-enough-passphrase")
    page.get_by_role("button", name="Sign In", exact=True).click()
    page.wait_for_url(re.compile(r"/$"))

    page.locator("[data-user-menu] summary").click()  # the user menu, top right
    menu = page.locator("[data-user-menu] .menu")
    assert menu.get_by_role("link", name="Account Settings").is_visible()
    menu.get_by_role("button", name="Sign Out").click()
    page.get_by_text("You have signed out.").wait_for()
    assert page.get_by_role("link", name="Sign In").first.is_visible()
