"""Settings for the test suite: the real ones, with a fast password hasher."""

import os

# Development defaults (a throw-away secret key) unless the run says otherwise.
os.environ.setdefault("DJANGO_DEBUG", "1")

from config.settings import *  # noqa: E402, F403

# Argon2 is deliberately slow; tests hash many passwords.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Mails are sent in the test's process once the action commits (tests/conftest.py
# runs on-commit callbacks as a real commit would); tests of the queue itself
# switch to the database backend.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# Static files come straight from static/ through the finders; nothing is collected.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
