"""The helpers config/settings.py reads every variable through (config/env.py).

Each one: good values are read, an unset or empty variable gives the default, and a
value it cannot read stops start-up with an error that names the variable and the value.
"""

import re
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config import env

NAME = "GALLEY_TEST_VARIABLE"


@pytest.fixture
def variable(monkeypatch):
    """Set the test's variable (None: unset it)."""

    def set_to(value):
        if value is None:
            monkeypatch.delenv(NAME, raising=False)
        else:
            monkeypatch.setenv(NAME, value)

    return set_to


def refused(*parts: str):
    """ImproperlyConfigured whose message contains `parts`, in this order, word for word."""
    return pytest.raises(ImproperlyConfigured, match=".*".join(re.escape(part) for part in parts))


# envstr ---------------------------------------------------------------------------------


@pytest.mark.parametrize("unset", [None, ""])
def test_envstr_unset_or_empty_is_the_default(variable, unset):
    variable(unset)
    assert env.envstr(NAME, "fallback") == "fallback"
    assert env.envstr(NAME) is None


def test_envstr_reads_the_value_as_is(variable):
    variable(" spaced value ")
    assert env.envstr(NAME, "fallback") == " spaced value "


# envbool --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1", "true", "True", "YES", "on"])
def test_envbool_reads_true(variable, value):
    variable(value)
    assert env.envbool(NAME, False) is True


@pytest.mark.parametrize("value", ["0", "false", "FALSE", "no", "Off"])
def test_envbool_reads_false(variable, value):
    variable(value)
    assert env.envbool(NAME, True) is False


@pytest.mark.parametrize("unset", [None, ""])
def test_envbool_unset_is_the_default(variable, unset):
    variable(unset)
    assert env.envbool(NAME, True) is True
    assert env.envbool(NAME, False) is False


@pytest.mark.parametrize("value", ["maybe", "2", "y", " true"])
def test_envbool_refuses_anything_else_naming_the_variable(variable, value):
    variable(value)
    with refused(f"{NAME} must be true or false, not {value!r}"):
        env.envbool(NAME, False)


# envint ---------------------------------------------------------------------------------


def test_envint_reads_a_whole_number(variable):
    variable("42")
    assert env.envint(NAME, 7) == 42


@pytest.mark.parametrize("unset", [None, ""])
def test_envint_unset_is_the_default(variable, unset):
    variable(unset)
    assert env.envint(NAME, 7, minimum=1) == 7


@pytest.mark.parametrize("value", ["ten", "1.5", "1e3"])
def test_envint_refuses_what_is_not_a_whole_number(variable, value):
    variable(value)
    with refused(f"{NAME} must be a whole number, not {value!r}"):
        env.envint(NAME, 7)


def test_envint_refuses_a_number_below_the_minimum_and_accepts_the_minimum(variable):
    variable("0")
    with refused(f"{NAME} must be at least 1, not 0"):
        env.envint(NAME, 7, minimum=1)
    variable("1")
    assert env.envint(NAME, 7, minimum=1) == 1


# envint_item and envlist ----------------------------------------------------------------


def test_envint_item_reads_a_positive_whole_number():
    assert env.envint_item(NAME, "90") == 90


@pytest.mark.parametrize("value", ["0", "-1", "ten", "1.5", "٣"])
def test_envint_item_refuses_anything_else_naming_the_variable(value):
    with refused(f"{NAME} must list positive whole numbers, not {value!r}"):
        env.envint_item(NAME, value)


def test_envlist_splits_on_commas_and_drops_blanks(variable):
    variable(" a.example, b.example ,,c ")
    assert env.envlist(NAME, ["default"]) == ["a.example", "b.example", "c"]


@pytest.mark.parametrize("unset", [None, ""])
def test_envlist_unset_is_the_default(variable, unset):
    variable(unset)
    assert env.envlist(NAME, ["default"]) == ["default"]


# envchoice ------------------------------------------------------------------------------


def test_envchoice_reads_one_of_the_choices(variable):
    variable("authenticated")
    assert env.envchoice(NAME, "public", ("public", "authenticated")) == "authenticated"


def test_envchoice_unset_is_the_default(variable):
    variable(None)
    assert env.envchoice(NAME, "public", ("public", "authenticated")) == "public"


@pytest.mark.parametrize("value", ["private", "Public"])
def test_envchoice_refuses_anything_else_listing_the_choices(variable, value):
    variable(value)
    with refused(f"{NAME} must be one of public, authenticated, not {value!r}"):
        env.envchoice(NAME, "public", ("public", "authenticated"))


# envsecret ------------------------------------------------------------------------------

STRONG = "k3Jx9-Qa7_Lm2Pz8Rt5Vw1Yb4Nc6Hd0Fg3Sj7Ue9Xi2Ok5Wq8Ar"


def test_envsecret_reads_a_strong_secret_in_production(variable):
    variable(STRONG)
    assert env.envsecret(NAME, "dev", debug=False) == STRONG


def test_envsecret_unset_is_the_development_default_only_in_development(variable):
    variable(None)
    assert env.envsecret(NAME, "dev", debug=True) == "dev"
    with refused(f"{NAME} must be set when DJANGO_DEBUG is off"):
        env.envsecret(NAME, "dev", debug=False)


@pytest.mark.parametrize(
    "value", ["short", "a" * 60, "django-insecure-" + "x1y2z3" * 10, STRONG[:49]]
)
def test_envsecret_refuses_a_weak_secret_in_production(variable, value):
    variable(value)
    with refused(f"{NAME} is too weak"):
        env.envsecret(NAME, "dev", debug=False)
    # Development takes what it is given.
    assert env.envsecret(NAME, "dev", debug=True) == value


# envissuer ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("https://gitlab.example.com/", "https://gitlab.example.com"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://localhost:8080/", "http://localhost:8080"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_envissuer_reads_https_or_loopback_http(variable, value, expected):
    variable(value)
    assert env.envissuer(NAME, "https://default.example") == expected


def test_envissuer_unset_is_the_default(variable):
    variable(None)
    assert env.envissuer(NAME, "https://gitlab.com") == "https://gitlab.com"


@pytest.mark.parametrize(
    "value", ["http://gitlab.example.com", "ftp://gitlab.example.com", "gitlab.com", "https://"]
)
def test_envissuer_refuses_plain_http_elsewhere_and_non_urls(variable, value):
    variable(value)
    with refused(f"{NAME} must be an https:// URL"):
        env.envissuer(NAME, "https://gitlab.com")


# envpathprefix --------------------------------------------------------------------------


def test_envpathprefix_reads_a_path_between_slashes_or_nothing(variable):
    variable("/protected/")
    assert env.envpathprefix(NAME) == "/protected/"
    variable(None)
    assert env.envpathprefix(NAME) == ""


@pytest.mark.parametrize("value", ["protected/", "/protected", "https://x/protected/"])
def test_envpathprefix_refuses_a_path_without_both_slashes(variable, value):
    variable(value)
    with refused(f"{NAME} must be a path that starts and ends with /, not {value!r}"):
        env.envpathprefix(NAME)


# envsignup ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["open", "closed", "domains:example.com,example.org"])
def test_envsignup_reads_the_three_modes(variable, value):
    variable(value)
    assert env.envsignup(NAME, "open") == value


def test_envsignup_unset_is_the_default(variable):
    variable(None)
    assert env.envsignup(NAME, "closed") == "closed"


@pytest.mark.parametrize("value", ["invite", "domains:", "domains:,", "Open"])
def test_envsignup_refuses_anything_else_naming_the_variable(variable, value):
    variable(value)
    with refused(f"{NAME} must be open, closed or domains:example.com,…, not {value!r}"):
        env.envsignup(NAME, "open")


# envstorage: the S3 URL parser -----------------------------------------------------------


@pytest.fixture
def no_endpoint(monkeypatch):
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "GALLEY_S3_ADDRESSING_STYLE"):
        monkeypatch.delenv(name, raising=False)


def test_envstorage_unset_is_the_folder(variable):
    variable(None)
    assert env.envstorage(NAME, Path("/srv/packages")) == {
        "BACKEND": "packages.storage.AtomicFileSystemStorage",
        "OPTIONS": {"location": Path("/srv/packages")},
    }


@pytest.mark.parametrize(
    "url, bucket, prefix",
    [
        ("s3://nuget-feed", "nuget-feed", ""),
        ("s3://nuget-feed/", "nuget-feed", ""),
        ("s3://nuget.feed-1/galley/packages/", "nuget.feed-1", "galley/packages"),
    ],
)
def test_envstorage_reads_the_bucket_and_the_prefix(variable, no_endpoint, url, bucket, prefix):
    variable(url)
    options = env.envstorage(NAME, None)["OPTIONS"]
    assert (options["bucket_name"], options["location"]) == (bucket, prefix)
    # AWS itself (no endpoint): boto3 chooses how to address the bucket.
    assert options["client_config"].s3 == {"addressing_style": "auto"}


def test_envstorage_with_an_endpoint_addresses_buckets_by_path(variable, monkeypatch):
    variable("s3://nuget-feed")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "https://minio.internal:9000")
    monkeypatch.delenv("GALLEY_S3_ADDRESSING_STYLE", raising=False)
    options = env.envstorage(NAME, None)["OPTIONS"]
    assert options["client_config"].s3 == {"addressing_style": "path"}
    monkeypatch.setenv("GALLEY_S3_ADDRESSING_STYLE", "virtual")
    options = env.envstorage(NAME, None)["OPTIONS"]
    assert options["client_config"].s3 == {"addressing_style": "virtual"}


@pytest.mark.parametrize(
    "url",
    [
        "https://bucket/prefix",
        "s3://",
        "s3://ab",  # a bucket name has at least 3 characters
        "s3://" + "b" * 64,  # and at most 63
        "s3://Upper_Case/x",
        "s3://-bucket",
        "s3://bucket/a//b",
        "s3://bucket?x=1",
        "s3://bucket/p#f",
        "/srv",
    ],
)
def test_envstorage_refuses_a_bad_url_naming_the_variable(variable, no_endpoint, url):
    variable(url)
    with refused(f"{NAME} must be s3://bucket or s3://bucket/prefix", f"not {url!r}"):
        env.envstorage(NAME, None)


def test_envstorage_refuses_an_endpoint_that_is_not_http(variable, monkeypatch):
    variable("s3://nuget-feed")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "minio.internal:9000")
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    with refused("AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL) must be an http(s) URL"):
        env.envstorage(NAME, None)


def test_envstorage_refuses_a_bad_addressing_style(variable, no_endpoint, monkeypatch):
    variable("s3://nuget-feed")
    monkeypatch.setenv("GALLEY_S3_ADDRESSING_STYLE", "dns")
    with refused("GALLEY_S3_ADDRESSING_STYLE must be one of auto, path, virtual, not 'dns'"):
        env.envstorage(NAME, None)


def test_envemails_reads_a_list_of_addresses(monkeypatch):
    from config.env import envemails

    monkeypatch.delenv("GALLEY_X_EMAILS", raising=False)
    assert envemails("GALLEY_X_EMAILS") == []
    monkeypatch.setenv("GALLEY_X_EMAILS", " abuse@example.com, ops@example.org ")
    assert envemails("GALLEY_X_EMAILS") == ["abuse@example.com", "ops@example.org"]


@pytest.mark.parametrize("value", ["abuse", "abuse@example", "a b@example.com", "@example.com"])
def test_envemails_refuses_what_is_not_an_address(monkeypatch, value):
    from config.env import envemails

    monkeypatch.setenv("GALLEY_X_EMAILS", value)
    with pytest.raises(ImproperlyConfigured, match="GALLEY_X_EMAILS must list e-mail addresses"):
        envemails("GALLEY_X_EMAILS")


# envhosts --------------------------------------------------------------------------


def test_envhosts_reads_lowercased_host_names(monkeypatch):
    monkeypatch.setenv("GALLEY_TEST_HOSTS", "Raw.GitHubusercontent.com, img.example")
    assert env.envhosts("GALLEY_TEST_HOSTS") == ["raw.githubusercontent.com", "img.example"]


@pytest.mark.parametrize("value", ["https://img.example", "img.example/path", "*.example", "a b"])
def test_envhosts_refuses_what_is_not_a_host_name(monkeypatch, value):
    monkeypatch.setenv("GALLEY_TEST_HOSTS", value)
    with pytest.raises(ImproperlyConfigured):
        env.envhosts("GALLEY_TEST_HOSTS")


# envupstreams ---------------------------------------------------------------------------


def test_envupstreams_unset_is_no_upstream(variable):
    variable(None)
    assert env.envupstreams(NAME) == []


def test_envupstreams_reads_ordered_urls_and_their_credentials(monkeypatch, variable):
    variable("https://api.nuget.org/v3/index.json, http://127.0.0.1:8001/v3/index.json")
    prefix = NAME.removesuffix("S")
    monkeypatch.setenv(f"{prefix}_1_HEADER", "Authorization: Bearer abc")
    monkeypatch.setenv(f"{prefix}_2_USERNAME", "ci")
    monkeypatch.setenv(f"{prefix}_2_PASSWORD", "secret")
    assert env.envupstreams(NAME) == [
        {
            "url": "https://api.nuget.org/v3/index.json",
            "username": None,
            "password": None,
            "header": "Authorization: Bearer abc",
        },
        {
            "url": "http://127.0.0.1:8001/v3/index.json",
            "username": "ci",
            "password": "secret",
            "header": None,
        },
    ]


@pytest.mark.parametrize(
    "value",
    ["http://feed.example/v3/index.json", "ftp://feed.example/index.json", "feed.example"],
)
def test_envupstreams_refuses_plain_http_elsewhere_and_non_urls(variable, value):
    variable(value)
    with refused(f"{NAME} must list https:// service index URLs"):
        env.envupstreams(NAME)


def test_envupstreams_refuses_half_credentials(monkeypatch, variable):
    variable("https://feed.example/v3/index.json")
    monkeypatch.setenv(f"{NAME.removesuffix('S')}_1_USERNAME", "ci")
    with refused("set both _USERNAME and _PASSWORD"):
        env.envupstreams(NAME)
