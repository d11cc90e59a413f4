import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from accounts.redirects import is_local_path

EVIL = [
    "https://evil.example",
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    "http:/evil.example",
    " //evil.example",
    "",
    # Browsers drop tabs and newlines from a URL: "/\t/host" is "//host" to them.
    "/\t/evil.example",
    "/\n/evil.example",
    "\t//evil.example",
    "JavaScript:alert(1)",
    "java\tscript:alert(1)",
]


@pytest.mark.parametrize("url", EVIL)
def test_foreign_or_odd_urls_are_not_local_paths(url):
    assert not is_local_path(url)


@pytest.mark.parametrize("url", ["/", "/account", "/account/apikeys?x=1"])
def test_paths_on_this_site_are_local(url):
    assert is_local_path(url)


@pytest.mark.django_db
@pytest.mark.parametrize("url", EVIL)
@pytest.mark.parametrize("param", ["returnUrl", "next"])
def test_sign_in_never_leaves_the_site(client, alice, password, url, param):
    login_page = client.get(reverse("log_on"), {param: url})
    assert login_page.status_code == 200
    assert url.encode() not in login_page.content or url == ""

    # The form carries `next`; a forged one is ignored too.
    response = client.post(
        reverse("log_on") + "?" + param + "=" + url,
        {"login": "alice", "password": password, "next": url},
    )
    assert client.session[SESSION_KEY] == str(alice.pk)
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.django_db
def test_return_url_to_a_local_path_is_followed(client, alice, password):
    page = client.get(reverse("log_on"), {"returnUrl": "/account"})
    assert b'value="/account"' in page.content
    response = client.post(
        page.request["PATH_INFO"], {"login": "alice", "password": password, "next": "/account"}
    )
    assert response["Location"] == "/account"
