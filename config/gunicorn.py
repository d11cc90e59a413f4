"""gunicorn settings for `make serve` and production (gunicorn -c config/gunicorn.py config.wsgi)."""

import os

bind = os.environ.get("GALLEY_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GALLEY_WORKERS", "4"))
# Large package uploads on slow links need more than gunicorn's 30 s.
timeout = int(os.environ.get("GALLEY_REQUEST_TIMEOUT", "300"))
graceful_timeout = 30
accesslog = "-"
# Query strings never hold secrets here (keys travel in a header), but keep the
# access log to what operators need.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
# Galley reads client addresses itself (GALLEY_TRUSTED_PROXY_COUNT).
forwarded_allow_ips = os.environ.get("GALLEY_FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server):
    """Refuse to serve with DEBUG on, or with settings that do not load."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.conf import settings

    django.setup()
    if settings.DEBUG:
        raise SystemExit("Galley: refusing to serve with DJANGO_DEBUG on.")
