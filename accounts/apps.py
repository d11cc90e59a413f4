from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Users and organizations")

    def ready(self):
        from accounts import checks, signals  # noqa: F401  (the cache check; the session clock)
