from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrustedPublishingConfig(AppConfig):
    name = "trustedpublishing"
    verbose_name = _("Trusted Publishing")

    def ready(self):
        from trustedpublishing import signals  # noqa: F401
