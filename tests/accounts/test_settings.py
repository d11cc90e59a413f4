import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import PRODUCTION, manage

ROOT = Path(__file__).resolve().parents[2]


def test_deploy_check_is_clean_with_the_documented_production_variables():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "override, message",
    [
        ({"DJANGO_SECRET_KEY": ""}, "DJANGO_SECRET_KEY must be set"),
        ({"DJANGO_SECRET_KEY": "short"}, "DJANGO_SECRET_KEY is too weak"),
        (
            {"DJANGO_SECRET_KEY": "django-insecure-" + "x1y2z3" * 10},
            "DJANGO_SECRET_KEY is too weak",
        ),
        ({"DJANGO_ALLOWED_HOSTS": ""}, "DJANGO_ALLOWED_HOSTS must be set"),
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG must be true or false"),
        ({"DATABASE_CONN_MAX_AGE": "ten"}, "DATABASE_CONN_MAX_AGE must be a whole number"),
        (
            {"GALLEY_KEY_HASH_SECRET": PRODUCTION["DJANGO_SECRET_KEY"]},
            "must differ from DJANGO_SECRET_KEY",
        ),
        ({"GALLEY_KEY_HASH_SECRET": ""}, "GALLEY_KEY_HASH_SECRET must be set"),
        # A negative count would trust an address the client wrote itself.
        ({"GALLEY_TRUSTED_PROXY_COUNT": "-1"}, "GALLEY_TRUSTED_PROXY_COUNT must be at least 0"),
        ({"GALLEY_MAX_PACKAGE_SIZE": "0"}, "GALLEY_MAX_PACKAGE_SIZE must be at least 1"),
        ({"GALLEY_BODY_IDLE_TIMEOUT": "0"}, "GALLEY_BODY_IDLE_TIMEOUT must be at least 1"),
    ],
)
def test_production_start_refuses_missing_or_bad_settings(override, message):
    result = manage("check", **{**PRODUCTION, **override})
    assert result.returncode != 0
    assert message in result.stderr


def make_serve(**env):
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "GALLEY_", "DATABASE_URL", "REDIS_URL"))
    }
    return subprocess.run(
        ["make", "serve"],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_make_serve_refuses_to_start_without_a_secret_key():
    result = make_serve(**{**PRODUCTION, "DJANGO_SECRET_KEY": "", "GALLEY_BIND": "127.0.0.1:1"})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stdout + result.stderr


def test_make_serve_refuses_to_start_with_debug_on():
    result = make_serve(**{**PRODUCTION, "DJANGO_DEBUG": "1", "GALLEY_BIND": "127.0.0.1:1"})
    assert result.returncode != 0
    assert "DEBUG" in result.stdout + result.stderr


def test_gunicorn_refuses_to_serve_with_debug_on():
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "GALLEY_", "DATABASE_URL", "REDIS_URL"))
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "config/gunicorn.py",
            "config.wsgi",
            "--bind",
            "127.0.0.1:0",
        ],
        cwd=ROOT,
        env={**base, **PRODUCTION, "DJANGO_DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "refusing to serve with DJANGO_DEBUG on" in result.stdout + result.stderr


def test_production_cookies_are_secure_host_only_and_lax():
    script = (
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE, s.SECURE_HSTS_SECONDS, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_PROXY_SSL_HEADER)"
    )
    result = manage("shell", "-c", script, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == [
        "__Host-sessionid",
        "__Host-csrftoken",
        "True",
        "True",
        "True",
        "Lax",
        "31536000",
        "True",
        "('HTTP_X_FORWARDED_PROTO',",
        "'https')",
    ]


@pytest.mark.parametrize(
    "value, options",
    [
        (None, "{'server_side_binding': True, 'prepare_threshold': 5}"),
        ("1", "{'server_side_binding': True, 'prepare_threshold': 5}"),
        ("0", "{}"),
    ],
)
def test_postgresql_statements_are_prepared_unless_turned_off(value, options):
    env = {**PRODUCTION, "DATABASE_URL": "postgres://galley@127.0.0.1:5432/galley"}
    if value is not None:
        env["DATABASE_PREPARED_STATEMENTS"] = value
    script = "from django.conf import settings as s; print(s.DATABASES['default']['OPTIONS'])"
    result = manage("shell", "-c", script, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == options
