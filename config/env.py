"""Reading settings from environment variables: small typed helpers that fail loudly.

Every helper takes the variable's name and a default; an empty variable counts as
unset. A value a helper cannot read stops start-up with ImproperlyConfigured naming
the variable and the value, so a typo in a deployment is never silently replaced by
a default. config/settings.py reads every variable through these (tests/test_env.py).
"""

import os
import re
from ipaddress import ip_address
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured


def envstr(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value in (None, "") else value


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def envint(name: str, default: int, *, minimum: int | None = None) -> int:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}")
    return number


def envint_item(name: str, value: str) -> int:
    """One positive whole number from a comma-separated variable."""
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise ImproperlyConfigured(f"{name} must list positive whole numbers, not {value!r}")
    return int(value)


def envlist(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def envemails(name: str) -> list[str]:
    """A comma-separated list of e-mail addresses (empty when unset)."""
    addresses = envlist(name, [])
    for address in addresses:
        if not re.fullmatch(r"[^@\s,]+@[^@\s,]+\.[^@\s,]+", address):
            raise ImproperlyConfigured(f"{name} must list e-mail addresses, not {address!r}")
    return addresses


def envhosts(name: str) -> list[str]:
    """A comma-separated list of host names (lowercased; empty when unset)."""
    hosts = [host.lower() for host in envlist(name, [])]
    for host in hosts:
        if not re.fullmatch(
            r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*", host
        ):
            raise ImproperlyConfigured(f"{name} must list host names, not {host!r}")
    return hosts


def envchoice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = envstr(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def envsecret(name: str, dev_default: str, *, debug: bool) -> str:
    """A secret that production (`debug` off) must set: at least 50 characters, not a
    placeholder."""
    value = envstr(name)
    if value is None:
        if debug:
            return dev_default
        raise ImproperlyConfigured(f"{name} must be set when DJANGO_DEBUG is off.")
    if not debug and (
        len(value) < 50 or len(set(value)) < 5 or value.startswith("django-insecure")
    ):
        raise ImproperlyConfigured(
            f"{name} is too weak: use at least 50 random characters, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    return value


def _https_or_loopback(value: str) -> bool:
    parts = urlsplit(value)
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ip_address(host).is_loopback
    except ValueError:
        loopback = False
    return bool(host) and (parts.scheme == "https" or (parts.scheme == "http" and loopback))


def envissuer(name: str, default: str) -> str:
    """An OIDC issuer URL: https, or http only on a loopback address (tests)."""
    value = envstr(name, default).rstrip("/")
    parts = urlsplit(value)
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not host or not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
        raise ImproperlyConfigured(
            f"{name} must be an https:// URL (http:// only on a loopback address), not {value!r}"
        )
    return value


def envstorage(name: str, folder: Path) -> dict:
    """The package storage: the folder, or `s3://bucket/prefix` in an S3-compatible store.

    The endpoint, region and credentials are boto3's own variables
    (AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY), which boto3 reads itself: profiles and instance roles work too.
    """
    url = envstr(name)
    if url is None:
        return {
            "BACKEND": "packages.storage.AtomicFileSystemStorage",
            "OPTIONS": {"location": folder},
        }
    parts = urlsplit(url)
    bucket, prefix = parts.netloc, parts.path.strip("/")
    if (
        parts.scheme != "s3"
        or not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket)
        or parts.query
        or parts.fragment
        or "//" in parts.path
    ):
        raise ImproperlyConfigured(
            f"{name} must be s3://bucket or s3://bucket/prefix (a bucket name of 3 to 63 "
            f"lower-case letters, digits, dots and hyphens), not {url!r}"
        )
    endpoint = envstr("AWS_ENDPOINT_URL_S3") or envstr("AWS_ENDPOINT_URL")
    if endpoint and urlsplit(endpoint).scheme not in ("http", "https"):
        raise ImproperlyConfigured(
            f"AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL) must be an http(s) URL, not {endpoint!r}"
        )
    from botocore.config import Config

    return {
        "BACKEND": "packages.s3.SharedSessionS3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "location": prefix,
            # Names are made unique by the publish API (packages.storage.unique_name):
            # no HEAD before each PUT.
            "file_overwrite": True,
            "default_acl": None,
            "querystring_auth": True,
            "client_config": Config(
                # Self-hosted stores (MinIO, Ceph, Garage) mostly serve buckets by path.
                s3={
                    "addressing_style": envchoice(
                        "GALLEY_S3_ADDRESSING_STYLE",
                        "path" if endpoint else "auto",
                        ("auto", "path", "virtual"),
                    )
                },
                # Presigned URLs carry X-Amz-Expires (SigV4): every current store accepts it.
                signature_version="s3v4",
                # A store that does not answer must not hold a worker (or /healthz) for minutes.
                connect_timeout=5,
                read_timeout=60,
                retries={"mode": "standard", "max_attempts": 3},
            ),
        },
    }


def envpathprefix(name: str) -> str:
    """A URL path that starts and ends with `/` (e.g. nginx's `/protected/`), or ""."""
    value = envstr(name, "")
    if value and not (value.startswith("/") and value.endswith("/")):
        raise ImproperlyConfigured(
            f"{name} must be a path that starts and ends with /, not {value!r}"
        )
    return value


def envabspath(name: str) -> Path | None:
    """An absolute folder path, or None: a relative one would depend on where a
    process starts, and the web server must find the same folder."""
    value = envstr(name)
    if value is None:
        return None
    if not os.path.isabs(value):
        raise ImproperlyConfigured(f"{name} must be an absolute path, not {value!r}")
    return Path(value)


def envsignup(name: str, default: str) -> str:
    """Who may have an account: `open`, `closed` or `domains:example.com,example.org`."""
    value = envstr(name, default)
    if value in ("open", "closed") or (
        value.startswith("domains:") and value.removeprefix("domains:").strip(", ")
    ):
        return value
    raise ImproperlyConfigured(
        f"{name} must be open, closed or domains:example.com,…, not {value!r}"
    )


def envupstreams(name: str) -> list[dict]:
    """An ordered, comma-separated list of NuGet V3 service index URLs (https://, or
    http:// on a loopback address only), each with its optional credentials:
    `{name}_{n}_USERNAME` and `{name}_{n}_PASSWORD` (HTTP Basic), or `{name}_{n}_HEADER`
    (one `Name: value` header, e.g. an `Authorization: Bearer …`), n counting from 1.
    Empty when unset: no upstream."""
    upstreams = []
    for number, url in enumerate(envlist(name, []), start=1):
        parts = urlsplit(url)
        if not _https_or_loopback(url) or parts.query or parts.fragment:
            raise ImproperlyConfigured(
                f"{name} must list https:// service index URLs (http:// only on a loopback "
                f"address), not {url!r}"
            )
        prefix = f"{name.removesuffix('S')}_{number}"
        username, password = envstr(f"{prefix}_USERNAME"), envstr(f"{prefix}_PASSWORD")
        header = envstr(f"{prefix}_HEADER")
        if (username is None) != (password is None) or (header and username):
            raise ImproperlyConfigured(
                f"{prefix}: set both _USERNAME and _PASSWORD, or _HEADER, not a mix."
            )
        if header is not None and not re.fullmatch(r"[A-Za-z0-9-]+:\s*\S.*", header):
            raise ImproperlyConfigured(f"{prefix}_HEADER must be 'Name: value'.")
        upstreams.append({"url": url, "username": username, "password": password, "header": header})
    return upstreams
