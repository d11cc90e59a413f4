"""gunicorn settings for `make serve` and production (gunicorn -c config/gunicorn.py config.wsgi).

Threaded workers: a request whose body is still arriving holds one thread, not a
whole process, so slow clients cannot starve the site; core/bodies.py cuts
bodies that stall or crawl. gunicorn also de-chunks `Transfer-Encoding:
chunked` uploads, which current NuGet clients send.
"""

import os


def _whole_number(name: str, default: int, minimum: int = 1) -> int:
    value = os.environ.get(name) or str(default)
    if not (value.isascii() and value.isdigit()) or int(value) < minimum:
        raise SystemExit(f"Galley: {name} must be a whole number of at least {minimum}.")
    return int(value)


bind = os.environ.get("GALLEY_BIND", "127.0.0.1:8000")
workers = _whole_number("GALLEY_WORKERS", 4)
worker_class = "gthread"
# Ample threads: each connection sending a body holds one while it lasts.
threads = _whole_number("GALLEY_THREADS", 32)
# With threads, this is how long a worker's main loop may stay silent before
# the arbiter restarts it, not a limit on a request.
timeout = _whole_number("GALLEY_REQUEST_TIMEOUT", 300)
graceful_timeout = 30
keepalive = 5
# Request line and headers: gunicorn's own limits (4094 bytes, 100 fields) apply.
accesslog = "-"
# Query strings never hold secrets here (keys travel in a header), but keep the
# access log to what operators need.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
# gunicorn's control socket sits at one path per user by default, which several
# instances on one machine would share; Galley is run by signals (systemd, make).
control_socket_disable = True
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
