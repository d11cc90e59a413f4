"""gunicorn settings for `make run`: the production server, in development mode.

Django's development server cannot read chunked request bodies (what current
NuGet clients send), so `make run` serves through gunicorn too, reloading on
code changes.
"""

import os

from config.gunicorn import (  # noqa: F401  (gunicorn reads these names)
    access_log_format,
    accesslog,
    control_socket_disable,
    graceful_timeout,
    keepalive,
    threads,
    timeout,
    worker_class,
)

bind = os.environ.get("GALLEY_BIND", "127.0.0.1:8000")
workers = 1
reload = True
# Templates and translations are cached by Django; a change to them reloads too.
reload_extra_files = ["templates/**/*.html", "locale/**/*.mo"]


def on_starting(server):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
