"""Steps a person takes in the browser that several browser tests share."""

import re

from tests.factories import PASSWORD


def sign_in(page, username):
    page.goto("/users/account/LogOn?returnUrl=%2F")
    page.get_by_label("User Name or E-mail Address").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In", exact=True).click()
    page.wait_for_url(re.compile(r"/$"))
