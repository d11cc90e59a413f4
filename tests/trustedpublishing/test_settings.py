"""GALLEY_OIDC_* settings: https issuers, http only on loopback; bad values stop start-up."""

import pytest

from tests.helpers import PRODUCTION, manage


@pytest.mark.parametrize(
    "issuer",
    [
        "http://token.actions.githubusercontent.com",
        "http://10.0.0.5:8080",
        "ftp://gitlab.example.com",
        "gitlab.example.com",
    ],
)
def test_an_issuer_that_is_not_https_or_loopback_stops_start_up(issuer):
    for name in ("GALLEY_OIDC_GITHUB_ISSUER", "GALLEY_OIDC_GITLAB_ISSUER"):
        result = manage("check", **{**PRODUCTION, name: issuer})
        assert result.returncode != 0
        assert f"{name} must be an https:// URL" in result.stderr


@pytest.mark.parametrize(
    "issuer",
    [
        "https://ghes.example.com/_services/token",
        "https://gitlab.example.com/",
        "http://127.0.0.1:9000",
        "http://localhost:9000",
    ],
)
def test_https_and_loopback_issuers_are_accepted(issuer):
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.GALLEY_OIDC_GITLAB_ISSUER)",
        **{**PRODUCTION, "GALLEY_OIDC_GITLAB_ISSUER": issuer, "GALLEY_OIDC_AUDIENCE": "x"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == issuer.rstrip("/")


@pytest.mark.parametrize("value", ["0", "-1", "a week"])
def test_a_bad_unpinned_days_value_stops_start_up(value):
    result = manage("check", **{**PRODUCTION, "GALLEY_TRUSTED_PUBLISHING_UNPINNED_DAYS": value})
    assert result.returncode != 0
    assert "GALLEY_TRUSTED_PUBLISHING_UNPINNED_DAYS" in result.stderr


def test_unpinned_days_is_read_from_the_environment():
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.GALLEY_TRUSTED_PUBLISHING_UNPINNED_DAYS)",
        **{**PRODUCTION, "GALLEY_TRUSTED_PUBLISHING_UNPINNED_DAYS": "14"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "14"
