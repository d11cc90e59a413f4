from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PackagesConfig(AppConfig):
    name = "packages"
    verbose_name = _("Packages")

    def ready(self):
        # Receivers: permissions answers account_deletion_blockers.
        # Connected before the first request: work queued for after a response.
        import core.after_response  # noqa: F401
        from packages import permissions  # noqa: F401
