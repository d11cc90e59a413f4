from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PackagesConfig(AppConfig):
    name = "packages"
    verbose_name = _("Packages")

    def ready(self):
        # Receivers: permissions answers account_deletion_blockers; search's
        # signals keep the search rows.
        from packages import permissions, search  # noqa: F401
