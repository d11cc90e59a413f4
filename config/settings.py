"""Galley settings, read from environment variables only.

Every variable goes through a small typed helper that fails loudly on a value
it cannot read, so a typo in a deployment stops start-up instead of silently
falling back to a default.
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.env import (
    envabspath,
    envbool,
    envchoice,
    envemails,
    envhosts,
    envint,
    envint_item,
    envissuer,
    envlist,
    envpathprefix,
    envsecret,
    envsignup,
    envstorage,
    envstr,
    envupstreams,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = envbool("DJANGO_DEBUG", False)
SECRET_KEY = envsecret(
    "DJANGO_SECRET_KEY", "django-insecure-development-only-never-in-production", debug=DEBUG
)
ALLOWED_HOSTS = envlist(
    "DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set when DJANGO_DEBUG is off.")

GALLEY_SITE_NAME = envstr("GALLEY_SITE_NAME", "Galley")

# API keys. The hashing secret is separate from SECRET_KEY so that rotating one
# does not silently invalidate (or fail to invalidate) the other.
GALLEY_KEY_PREFIX = envstr("GALLEY_KEY_PREFIX", "gly_")
GALLEY_KEY_HASH_SECRET = envsecret(
    "GALLEY_KEY_HASH_SECRET",
    "development-only-api-key-hashing-secret-never-in-production",
    debug=DEBUG,
)
GALLEY_KEY_EXPIRY_DAYS = sorted(
    {
        envint_item("GALLEY_KEY_EXPIRY_DAYS", v)
        for v in envlist("GALLEY_KEY_EXPIRY_DAYS", ["1", "90", "180", "270", "365"])
    }
)
GALLEY_KEY_DEFAULT_EXPIRY_DAYS = envint(
    "GALLEY_KEY_DEFAULT_EXPIRY_DAYS", max(GALLEY_KEY_EXPIRY_DAYS)
)
# GitHub's secret-scanning public keys (their JSON document, saved to a file).
GALLEY_GITHUB_SECRET_SCANNING_KEYS = envstr("GALLEY_GITHUB_SECRET_SCANNING_KEYS")
# Days before expiry at which the holder is e-mailed (by send_key_expiry_notices).
GALLEY_KEY_EXPIRY_NOTICE_DAYS = sorted(
    {
        envint_item("GALLEY_KEY_EXPIRY_NOTICE_DAYS", v)
        for v in envlist("GALLEY_KEY_EXPIRY_NOTICE_DAYS", ["10", "1"])
    },
    reverse=True,
)
if GALLEY_KEY_HASH_SECRET == SECRET_KEY and not DEBUG:
    raise ImproperlyConfigured("GALLEY_KEY_HASH_SECRET must differ from DJANGO_SECRET_KEY.")
if GALLEY_KEY_DEFAULT_EXPIRY_DAYS not in GALLEY_KEY_EXPIRY_DAYS:
    raise ImproperlyConfigured(
        "GALLEY_KEY_DEFAULT_EXPIRY_DAYS must be one of GALLEY_KEY_EXPIRY_DAYS."
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "accounts",
    "apikeys",
    "packages",
    "audit",
    "trustedpublishing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.vary.VaryAsSetMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "config.middleware.RefuseNulMiddleware",  # answers in the language just chosen
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.middleware.NoStoreForSignedInMiddleware",
    "accounts.middleware.SessionTimeoutMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "config.middleware.StaffTwoFactorMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "accounts.context_processors.galley",
            ],
        },
    },
]

# Database: SQLite under var/ by default so a fresh machine needs nothing else.
DATA_DIR = Path(envstr("GALLEY_DATA_DIR", str(BASE_DIR / "var")))
if not envstr("DATABASE_URL"):
    # The default SQLite file lives here: a fresh clone's first `migrate` needs
    # the folder (SQLite creates the file, not its folder).
    DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        envstr("DATABASE_URL", f"sqlite:///{DATA_DIR / 'galley.sqlite3'}"),
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", 600, minimum=0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers work while one process writes; IMMEDIATE transactions
    # take the write lock up front instead of failing half-way with "locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
if DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql") and envbool(
    "DATABASE_PREPARED_STATEMENTS", True
):
    # Parameters bound on the server, and a statement a connection has run five
    # times prepared there: the lookups every request makes are planned once.
    DATABASES["default"]["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 5}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Packages: the largest upload accepted (nuget.org's limit), and the caps
# that keep a small upload from expanding into a huge one (zip bombs).
GALLEY_MAX_PACKAGE_SIZE = envint("GALLEY_MAX_PACKAGE_SIZE", 250 * 1024 * 1024, minimum=1)
GALLEY_MAX_PACKAGE_ENTRIES = envint("GALLEY_MAX_PACKAGE_ENTRIES", 10_000, minimum=1)
GALLEY_MAX_PACKAGE_EXPANDED_SIZE = envint(
    "GALLEY_MAX_PACKAGE_EXPANDED_SIZE", 1024 * 1024 * 1024, minimum=1
)
GALLEY_MAX_PACKAGE_COMPRESSION_RATIO = envint(
    "GALLEY_MAX_PACKAGE_COMPRESSION_RATIO", 100, minimum=1
)
# Security advisories (packages/advisories.py): the caps on one import.
GALLEY_ADVISORIES_MAX_FILES = envint("GALLEY_ADVISORIES_MAX_FILES", 100_000, minimum=1)
GALLEY_ADVISORIES_MAX_FILE_BYTES = envint(
    "GALLEY_ADVISORIES_MAX_FILE_BYTES", 1024 * 1024, minimum=1
)
GALLEY_PACKAGES_DIR = Path(envstr("GALLEY_PACKAGES_DIR", str(DATA_DIR / "packages")))


# Where package files go (packages/storage.py): GALLEY_PACKAGES_DIR, or S3.
GALLEY_PACKAGE_STORAGE = envstorage("GALLEY_PACKAGE_STORAGE", GALLEY_PACKAGES_DIR)
# How long a presigned S3 download URL works, in seconds: the client follows
# the redirect at once, so a few minutes is plenty, and a leaked URL dies soon.
GALLEY_DOWNLOAD_URL_SECONDS = envint("GALLEY_DOWNLOAD_URL_SECONDS", 300, minimum=1)
if GALLEY_DOWNLOAD_URL_SECONDS > 7 * 24 * 3600:  # SigV4's limit
    raise ImproperlyConfigured("GALLEY_DOWNLOAD_URL_SECONDS must be at most 604800 (7 days).")
# With nginx in front of the local folder: the internal location that serves
# it (e.g. /protected/), so nginx sends the bytes (X-Accel-Redirect), not Python.
GALLEY_ACCEL_REDIRECT = envpathprefix("GALLEY_ACCEL_REDIRECT")
# On a public feed in the local folder: a folder of links to the public packages,
# laid out as their download addresses, that nginx sends without asking Galley
# (packages/public_files.py, docs/deploy.md). Unset: every download asks Galley.
GALLEY_PUBLIC_FILES = envabspath("GALLEY_PUBLIC_FILES")
if GALLEY_PUBLIC_FILES is not None and GALLEY_PACKAGE_STORAGE["BACKEND"] != (
    "packages.storage.AtomicFileSystemStorage"
):
    raise ImproperlyConfigured(
        "GALLEY_PUBLIC_FILES links to packages in the local folder: unset it with S3 storage."
    )
if GALLEY_PUBLIC_FILES is not None and any(
    GALLEY_PUBLIC_FILES.resolve().is_relative_to(other.resolve())
    or other.resolve().is_relative_to(GALLEY_PUBLIC_FILES.resolve())
    for other in (DATA_DIR, GALLEY_PACKAGES_DIR)
):
    raise ImproperlyConfigured(
        "GALLEY_PUBLIC_FILES must be a folder of its own, apart from GALLEY_DATA_DIR and "
        "GALLEY_PACKAGES_DIR (nginx sends whatever it holds)."
    )
# Pushed packages are received by packages/uploads.py: in memory up to 256 KB,
# in a temporary file beyond, so that a large package is never held in memory
# whole. Any other upload goes to a temporary file from the first byte.
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.TemporaryFileUploadHandler"]
FILE_UPLOAD_TEMP_DIR = envstr("GALLEY_UPLOAD_TEMP_DIR")
# Slow clients (core/bodies.py): a request body that sends nothing for the
# idle timeout, or arrives slower than the minimum rate once the grace period
# is over, is cut, so that it cannot hold a server thread.
GALLEY_BODY_IDLE_TIMEOUT = envint("GALLEY_BODY_IDLE_TIMEOUT", 20, minimum=1)
GALLEY_BODY_MIN_RATE = envint("GALLEY_BODY_MIN_RATE", 2048, minimum=0)
GALLEY_BODY_GRACE_SECONDS = envint("GALLEY_BODY_GRACE_SECONDS", 20, minimum=1)
# Who may read the feed (restore, search, package pages): anyone, as on
# nuget.org, or only holders of credentials (packages/readers.py).
GALLEY_FEED_READ = envchoice("GALLEY_FEED_READ", "public", ("public", "authenticated"))
if GALLEY_PUBLIC_FILES is not None and GALLEY_FEED_READ != "public":
    raise ImproperlyConfigured(
        f"GALLEY_PUBLIC_FILES lets nginx send packages to anyone: on a private feed, unset "
        f"it, take its locations out of nginx's configuration and delete "
        f"{GALLEY_PUBLIC_FILES}."
    )
# Failed HTTP Basic sign-ins to a private feed allowed per client address per minute.
GALLEY_FEED_AUTH_FAILURES_LIMIT = envint("GALLEY_FEED_AUTH_FAILURES_LIMIT", 10, minimum=1)
# Upstream sources (packages/upstreams/): NuGet V3 feeds whose packages Galley
# serves, caches and shadows by its own ids. Unset: no upstream.
GALLEY_UPSTREAMS = envupstreams("GALLEY_UPSTREAMS")
# How long an upstream's version list and metadata of an id are reused, in seconds.
GALLEY_UPSTREAM_METADATA_TTL = envint("GALLEY_UPSTREAM_METADATA_TTL", 1800, minimum=0)
# Seconds to connect to an upstream or wait for its next bytes, and the most a
# whole fetch (metadata or a package) may take.
GALLEY_UPSTREAM_TIMEOUT = envint("GALLEY_UPSTREAM_TIMEOUT", 10, minimum=1)
GALLEY_UPSTREAM_DEADLINE = envint("GALLEY_UPSTREAM_DEADLINE", 300, minimum=1)
# The symbol server (/download/symbols/, packages/symbol_server.py). Debuggers send
# no credentials, so on a private feed it is off unless turned on, and then answers
# only lookups carrying the PDB's checksum (known to holders of the DLL).
GALLEY_SYMBOL_SERVER = envchoice(
    "GALLEY_SYMBOL_SERVER", "on" if GALLEY_FEED_READ == "public" else "off", ("on", "off")
)

# Trusted Publishing (trustedpublishing/): CI exchanges an OpenID Connect token
# for a one-hour key. Off until the audience is set; CI asks its OIDC provider
# for a token with this audience (NuGet/login's `audience` input).
GALLEY_OIDC_AUDIENCE = envstr("GALLEY_OIDC_AUDIENCE")

# GitHub Enterprise Server: https://HOST/_services/token; self-managed GitLab: its URL.
GALLEY_OIDC_GITHUB_ISSUER = envissuer(
    "GALLEY_OIDC_GITHUB_ISSUER", "https://token.actions.githubusercontent.com"
)
GALLEY_OIDC_GITLAB_ISSUER = envissuer("GALLEY_OIDC_GITLAB_ISSUER", "https://gitlab.com")
# Days a policy may wait for its first exchange (which pins the repository's ids)
# before it stops matching; its creator may renew it. nuget.org's is 7.
GALLEY_TRUSTED_PUBLISHING_UNPINNED_DAYS = envint(
    "GALLEY_TRUSTED_PUBLISHING_UNPINNED_DAYS", 7, minimum=1
)

# Cache: shared by every app process. Redis when REDIS_URL is set; otherwise a
# table in the database, which is shared too (a per-process memory cache would
# let each process keep its own sign-in rate limits).
#
# It holds security state (allauth's sign-in limits and used two-factor codes,
# the feed's failed Basic sign-ins, used Trusted Publishing tokens), so nothing
# anyone can write may push that out: every entry written there expires within
# minutes, and what grows with use lives elsewhere (download counts:
# packages/downloads.py). With Redis, run it with `maxmemory-policy noeviction`
# (config/checks.py warns otherwise): the volatile-* policies evict exactly the
# entries that have an expiry, these first.
REDIS_URL = envstr("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": envstr("GALLEY_CACHE_PREFIX", "galley"),
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "galley_cache",
            "OPTIONS": {
                # Past MAX_ENTRIES rows, each write first deletes the expired rows,
                # then 1/CULL_FREQUENCY of the live ones in key order, where allauth's
                # keys sort first. A fraction that rounds to no row at any real size
                # keeps that second step from ever deleting a live row: the table is
                # swept of expired rows only, and holds the live ones however many.
                "MAX_ENTRIES": 2_000,
                "CULL_FREQUENCY": 10**12,
            },
        }
    }

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "log_on"
LOGIN_REDIRECT_URL = "/"

# django-allauth
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email*", "password1*", "password2*"]
# As on nuget.org, an unconfirmed account signs in; what needs a confirmed
# address (API keys, package owners, organizations) waits for it (accounts/confirmation.py).
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
# allauth's defaults for every other action; failed sign-ins are counted per
# address and per account in the shared cache.
ACCOUNT_RATE_LIMITS = {
    "login_failed": f"10/m/ip,{envint('GALLEY_LOGIN_ATTEMPTS_LIMIT', 5)}/5m/key",
}
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{GALLEY_SITE_NAME}] "
ACCOUNT_USERNAME_MIN_LENGTH = 2
ACCOUNT_REAUTHENTICATION_TIMEOUT = envint("GALLEY_REAUTHENTICATION_TIMEOUT", 300, minimum=1)
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
# allauth's forms with Galley's labels and help texts (accounts/allauth_forms.py).
ACCOUNT_FORMS = {
    name: f"accounts.allauth_forms.{form}"
    for name, form in {
        "login": "LoginForm",
        "signup": "SignupForm",
        "add_email": "AddEmailForm",
        "change_password": "ChangePasswordForm",
        "set_password": "SetPasswordForm",
        "reset_password": "ResetPasswordForm",
        "reset_password_from_key": "ResetPasswordKeyForm",
        "reauthenticate": "ReauthenticateForm",
    }.items()
}
# Who may have an account (accounts/signup.py): "open", "closed" (people come
# from administrators' invitations) or "domains:example.com,example.org" (only
# addresses in those domains). A private feed is closed unless told otherwise:
# it is only private if strangers cannot register.
GALLEY_SIGNUP = envsignup(
    "GALLEY_SIGNUP", "closed" if GALLEY_FEED_READ == "authenticated" else "open"
)
# How long an invitation's link works (days); it works once.
GALLEY_INVITATION_DAYS = envint("GALLEY_INVITATION_DAYS", 7, minimum=1)
# How long an organization's invitation to a member, or a package's ownership
# request, waits to be accepted (days); then it disappears.
GALLEY_CONSENT_DAYS = envint("GALLEY_CONSENT_DAYS", 14, minimum=1)
# Where abuse reports (the ReportAbuse page) are e-mailed: these addresses, or,
# unset, every active staff member's confirmed addresses.
GALLEY_ABUSE_EMAIL = envemails("GALLEY_ABUSE_EMAIL")
# Hosts a package README may show images from (https only); by default none, so a
# README cannot make readers' browsers call out to a tracker.
GALLEY_README_IMAGE_HOSTS = envhosts("GALLEY_README_IMAGE_HOSTS")
# Abuse reports one client address may send in an hour.
GALLEY_ABUSE_REPORTS_PER_HOUR = envint("GALLEY_ABUSE_REPORTS_PER_HOUR", 5, minimum=1)
# Messages one account may send to packages' owners (Contact Owners) in an hour.
GALLEY_CONTACT_OWNERS_PER_HOUR = envint("GALLEY_CONTACT_OWNERS_PER_HOUR", 10, minimum=1)
# Authenticator apps, and security keys and passkeys (WebAuthn: allauth's scripts are
# static files and their settings JSON data blocks, so the CSP needs no exception).
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = GALLEY_SITE_NAME
MFA_ADAPTER = "accounts.adapter.MfaAdapter"
MFA_FORMS = {
    name: f"accounts.allauth_forms.{form}"
    for name, form in {
        "authenticate": "AuthenticateForm",
        "reauthenticate": "MfaReauthenticateForm",
        "activate_totp": "ActivateTOTPForm",
        "add_webauthn": "AddWebAuthnForm",
        "edit_webauthn": "EditWebAuthnForm",
    }.items()
}
USERSESSIONS_TRACK_ACTIVITY = False

# Client addresses: only the last N hops of X-Forwarded-For are trusted, and
# only when the operator says N proxies stand in front of Galley.
GALLEY_TRUSTED_PROXY_COUNT = envint("GALLEY_TRUSTED_PROXY_COUNT", 0, minimum=0)
ALLAUTH_TRUSTED_PROXY_COUNT = GALLEY_TRUSTED_PROXY_COUNT

# E-mail: printed to the console in development, or written to files, or SMTP.
EMAIL_BACKEND = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
}[envchoice("GALLEY_EMAIL_BACKEND", "console", ("console", "file", "smtp"))]
EMAIL_FILE_PATH = envstr("GALLEY_EMAIL_FILE_PATH", str(DATA_DIR / "mail"))
EMAIL_HOST = envstr("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = envstr("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = envstr("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "galley@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Slow work (e-mails) leaves the request as tasks (django-tasks). "database": queued
# in the database, sent by `manage.py db_worker` (`make serve` starts one beside
# gunicorn); "immediate": run in the process that queues them, after its commit.
GALLEY_TASKS_BACKEND = envchoice(
    "GALLEY_TASKS_BACKEND", "immediate" if DEBUG else "database", ("database", "immediate")
)
TASKS = {
    "default": {
        "BACKEND": {
            "database": "django_tasks_db.DatabaseBackend",
            "immediate": "django_tasks.backends.immediate.ImmediateBackend",
        }[GALLEY_TASKS_BACKEND]
    }
}

# Languages
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_SAMESITE = "Lax"
# No script reads it; Django's own language switch sets it.
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

# Static files, served by whitenoise with hashed names.
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(envstr("GALLEY_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
WHITENOISE_USE_FINDERS = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Package files: a folder, or an S3 bucket (GALLEY_PACKAGE_STORAGE above).
    "packages": GALLEY_PACKAGE_STORAGE,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Security
GALLEY_HTTPS = envbool("GALLEY_HTTPS", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Sessions end after a spell of inactivity and after a fixed time in any case.
GALLEY_SESSION_IDLE_TIMEOUT = envint("GALLEY_SESSION_IDLE_TIMEOUT", 2 * 3600, minimum=1)
GALLEY_SESSION_ABSOLUTE_TIMEOUT = envint(
    "GALLEY_SESSION_ABSOLUTE_TIMEOUT", 7 * 24 * 3600, minimum=1
)
SESSION_COOKIE_AGE = GALLEY_SESSION_ABSOLUTE_TIMEOUT
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
GALLEY_HSTS_PRELOAD = envbool("GALLEY_HSTS_PRELOAD", False)
if GALLEY_HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SECURE_SSL_REDIRECT = envbool("GALLEY_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = envint("GALLEY_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("GALLEY_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = GALLEY_HSTS_PRELOAD
    # TLS ends at the reverse proxy, which says so in X-Forwarded-Proto.
    if GALLEY_TRUSTED_PROXY_COUNT:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = envlist("DJANGO_CSRF_TRUSTED_ORIGINS", [])
# Joining the browsers' HSTS preload list is a commitment for the whole domain
# that the operator makes (GALLEY_HSTS_PRELOAD=1), not a default.
SILENCED_SYSTEM_CHECKS = [] if GALLEY_HSTS_PRELOAD else ["security.W021"]

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # allauth draws the TOTP QR code, and Galley its identicons, as data: images;
        # package READMEs may show images from the hosts the administrator allows.
        "img-src": ["'self'", "data:", *(f"https://{h}" for h in GALLEY_README_IMAGE_HOSTS)],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": envstr("GALLEY_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
