"""One visual language (issue 28): the header on every page, nuget.org's user menu,
the profile breadcrumb with an identicon, allauth's pages inside Galley's layout,
Title Case labels, and ids that wrap between their parts."""

import re

import pytest
from django.template import Context, Template
from django.urls import reverse

from accounts.avatars import cells, identicon_svg
from accounts.models import Membership, User
from accounts.templatetags.wrapping import breakable
from tests.conftest import sign_in
from tests.factories import PackageRegistrationFactory, UserFactory
from tests.packages.builders import add_version

LONG_ID = "Contoso.Platform.Infrastructure.Diagnostics.Telemetry.Extensions1"


# Avatars ------------------------------------------------------------------------------------


def test_an_avatar_is_the_same_for_the_same_name_in_any_case_and_differs_between_names():
    assert identicon_svg("alice") == identicon_svg("Alice")
    assert cells("alice") != cells("bob")
    assert identicon_svg("alice") != identicon_svg("bob")


def test_an_avatar_is_mirrored_and_drawn_locally():
    filled = set(cells("charlie"))
    assert filled == {(4 - column, row) for column, row in filled}
    svg = identicon_svg("charlie", 40)
    assert svg.startswith('<svg class="avatar" width="40" height="40"')
    assert 'aria-hidden="true"' in svg
    assert "http://" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in svg and "<image" not in svg


@pytest.mark.django_db
def test_the_avatar_tag_takes_an_account_or_a_name():
    alice = UserFactory(username="alice")
    rendered = Template("{% load avatars %}{% avatar user 24 %}|{% avatar 'alice' 24 %}").render(
        Context({"user": alice})
    )
    left, right = rendered.split("|")
    assert left == right == identicon_svg("alice", 24)


# Ids that wrap between their parts ---------------------------------------------------------


def test_a_name_may_wrap_after_its_dots_and_between_its_words_only():
    assert breakable("Contoso.Core-Web_Extra") == "Contoso.<wbr>Core-<wbr>Web_<wbr>Extra"
    assert breakable("Single") == "Single"
    assert breakable("ContosoPlatformEngineering") == "Contoso<wbr>Platform<wbr>Engineering"
    # Not inside an acronym, nor after a digit: AspNETCore2Web breaks only after Asp.
    assert breakable("AspNETCore2Web") == "Asp<wbr>NETCore2Web"
    # Escaped like any other text, and the text itself unchanged.
    assert breakable("<b>.x") == "&lt;b&gt;.<wbr>x"
    assert re.sub("<wbr>", "", breakable(LONG_ID)) == LONG_ID


@pytest.mark.django_db
def test_long_ids_wrap_between_their_parts_on_the_package_and_manage_pages(client):
    alice = UserFactory(username="alice")
    registration = PackageRegistrationFactory(package_id=LONG_ID, owners=[alice])
    add_version(registration, "1.0.0")
    page = client.get(f"/packages/{LONG_ID}").content.decode()
    assert "Contoso.<wbr>Platform.<wbr>Infrastructure." in page
    sign_in(client, alice)
    manage = client.get(reverse("packages")).content.decode()
    assert "Contoso.<wbr>Platform.<wbr>Infrastructure." in manage
    assert 'data-label="Latest Version"' in manage


# The header ---------------------------------------------------------------------------------


def search_form(page: str) -> str:
    match = re.search(r'<form class="site-search"[^>]*>.*?</form>', page, re.S)
    assert match, "no search box"
    return match.group(0)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/users/account/LogOn?returnUrl=%2F", "/accounts/signup/"])
def test_a_signed_out_page_has_the_navigation_the_search_box_and_sign_in(client, path):
    response = client.get(path)
    page = response.content.decode()
    assert response.status_code == 200
    form = search_form(page)
    assert 'method="get" action="/packages"' in form and 'name="q"' in form
    assert '<label class="visually-hidden" for="site-search-q">Search packages</label>' in form
    assert '<a class="header-link" href="/packages"' in page
    assert ">Sign In</a>" in page
    assert "data-user-menu" not in page


@pytest.mark.django_db
def test_the_user_menu_is_nuget_orgs_in_its_order(client):
    alice = UserFactory(username="alice", email="alice.long-address@example.com")
    sign_in(client, alice)
    page = client.get(reverse("account_settings")).content.decode()
    menu = re.search(r'<details class="user-menu" data-user-menu>.*?</details>', page, re.S).group(
        0
    )
    assert search_form(page)
    assert '<span class="menu-name">alice</span>' in menu
    assert 'title="alice.long-address@example.com">alice.long-address@example.com</span>' in menu
    items = re.findall(r">([^<>]+)</(?:a|button)>", menu)
    assert items == [
        "View Profile",
        "Account Settings",
        "Trusted Publishing",
        "API Keys",
        "Manage Organizations",
        "Manage Packages",
        "Sign Out",
    ]
    assert 'href="/profiles/alice"' in menu
    assert menu.count('class="menu-divider"') == 3
    # Sign Out stays a POST form with its CSRF token.
    assert re.search(
        r'<form method="post" action="/users/account/LogOff">\s*<input type="hidden" name="csrfmiddlewaretoken"',
        menu,
    )
    assert "Administration" not in menu
    assert 'src="/static/js/menu.js"' in page


@pytest.mark.django_db
def test_staff_find_administration_in_the_menu(client, admin_user):
    client.force_login(admin_user)
    page = client.get(reverse("account_settings")).content.decode()
    menu = re.search(r'<details class="user-menu" data-user-menu>.*?</details>', page, re.S).group(
        0
    )
    assert f'<a href="{reverse("admin:index")}">Administration</a>' in menu


# The profile breadcrumb and allauth's pages --------------------------------------------------


def breadcrumb(page: str) -> str:
    match = re.search(
        r'<nav class="profile-breadcrumb" aria-label="Breadcrumb">.*?</nav>', page, re.S
    )
    assert match, "no breadcrumb"
    return match.group(0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path, steps",
    [
        ("/account", ["alice", "Account Settings"]),
        ("/account/security-log", ["alice", "Account Settings", "Security Log"]),
        ("/account/apikeys", ["alice", "API Keys"]),
        ("/account/trustedpublishing", ["alice", "Trusted Publishing"]),
        ("/account/Packages", ["alice", "Manage Packages"]),
        ("/account/Organizations", ["alice", "Manage Organizations"]),
        ("/account/Organizations/Contoso", ["alice", "Manage Organizations", "Contoso"]),
        ("/accounts/email/", ["alice", "Account Settings", "E-mail Addresses"]),
        ("/accounts/password/change/", ["alice", "Account Settings", "Change Password"]),
        ("/accounts/2fa/", ["alice", "Account Settings", "Two-Factor Authentication"]),
        ("/accounts/sessions/", ["alice", "Account Settings", "Signed-In Sessions"]),
    ],
)
def test_account_pages_show_the_profile_breadcrumb(client, path, steps):
    alice = UserFactory(username="alice")
    User.objects.create_organization("Contoso", admin=alice)
    sign_in(client, alice)
    response = client.get(path)
    assert response.status_code == 200
    trail = breadcrumb(response.content.decode())
    assert trail.count('<svg class="avatar"') == 1
    assert 'href="/profiles/alice"' in trail
    assert [
        re.sub(r"\s+", " ", s).strip()
        for s in re.findall(r"(?:<span>|\">)([^<>]+)</(?:span|a|li)>", trail)
    ] == steps
    assert f'aria-current="page">{steps[-1]}</li>' in trail


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/accounts/email/", "/accounts/password/change/", "/accounts/2fa/"]
)
def test_allauths_pages_have_galleys_width_and_a_way_back_to_account_settings(client, path):
    sign_in(client, UserFactory(username="alice"))
    page = client.get(path).content.decode()
    assert '<main id="main" class="wrap account-page">' in page
    assert '<a href="/account">← Back to Account Settings</a>' in page


@pytest.mark.django_db
def test_the_email_page_uses_the_badges_of_account_settings(client):
    alice = UserFactory(username="alice")
    alice.emailaddress_set.create(email="alice.second@example.com", verified=False)
    sign_in(client, alice)
    page = client.get("/accounts/email/").content.decode()
    assert '<span class="badge">Primary</span>' in page
    assert '<span class="badge badge-ok">Confirmed</span>' in page
    assert '<span class="badge badge-warn">Unconfirmed</span>' in page
    assert "<strong" not in page.split('<main id="main"')[1]
    settings_page = client.get("/account").content.decode()
    assert '<span class="badge badge-ok">Confirmed</span>' in settings_page


@pytest.mark.django_db
def test_the_email_page_makes_an_address_primary_with_allauths_form(client):
    alice = UserFactory(username="alice")
    alice.emailaddress_set.create(email="alice.second@example.com", verified=True)
    sign_in(client, alice)
    response = client.post(
        "/accounts/email/", {"email": "alice.second@example.com", "action_primary": ""}
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.email == "alice.second@example.com"


@pytest.mark.django_db
def test_allauths_pages_in_french_use_french_typography(client):
    sign_in(client, UserFactory(username="alice"))
    page = client.get("/accounts/email/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Adresses e-mail" in page
    assert "Retour aux paramètres du compte" in page
    assert "Fil d’Ariane" in page


# Wording ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_notifications_checkbox_comes_first_without_a_colon_and_its_help_under_it(client):
    sign_in(client, UserFactory(username="alice"))
    page = client.get("/account").content.decode()
    block = re.search(r'<div class="checkbox-field">.*?</div>', page, re.S).group(0)
    assert block.index('type="checkbox"') < block.index("<label") < block.index('class="helptext"')
    assert "E-mail me about my API keys</label>" in block
    assert "keys:</label>" not in page


@pytest.mark.django_db
def test_roles_are_lower_case_in_the_middle_of_a_sentence(client):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    fabrikam = User.objects.create_organization("Fabrikam", admin=bob)
    Membership.objects.create(
        organization=fabrikam, member=alice, accepted=False, invited_by=bob, role="admin"
    )
    sign_in(client, alice)
    page = client.get("/account/Organizations").content.decode()
    assert "Fabrikam invites you as administrator." in page
    invitation = client.get("/account/Organizations/Fabrikam/invitation").content.decode()
    assert "as administrator." in invitation and "as Administrator." not in invitation


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path, words",
    [
        (
            "/account",
            [
                "Account Settings",
                "E-mail Addresses",
                "Two-Factor Authentication",
                "Security Log",
                "Delete Account",
            ],
        ),
        ("/account/security-log", ["IP Address"]),
        ("/account/Packages", ["Manage Packages", "Latest Version"]),
    ],
)
def test_titles_and_labels_are_in_title_case(client, path, words):
    alice = UserFactory(username="alice")
    registration = PackageRegistrationFactory(package_id="Alice.Tools", owners=[alice])
    add_version(registration, "1.0.0")
    sign_in(client, alice)
    from audit.events import Kind, record

    record(Kind.SIGN_IN, user=alice, actor=alice)
    page = client.get(path).content.decode()
    for word in words:
        assert word in page, word
    for old in (
        "Account settings",
        "Email addresses",
        "Security log",
        "Last updated",
        "Manage packages",
    ):
        assert old not in page, old
