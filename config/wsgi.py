import os

from django.core.wsgi import get_wsgi_application

from core.bodies import SlowBodyGuard

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_wsgi_application()

from django.conf import settings  # noqa: E402  (configured by get_wsgi_application)

application = SlowBodyGuard(
    django_application,
    idle_timeout=settings.GALLEY_BODY_IDLE_TIMEOUT,
    min_rate=settings.GALLEY_BODY_MIN_RATE,
    grace_seconds=settings.GALLEY_BODY_GRACE_SECONDS,
)
