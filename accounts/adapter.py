from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from accounts import signup


class AccountAdapter(DefaultAccountAdapter):
    """allauth's behaviour, with Galley's safe-redirect rule spelled out and
    GALLEY_SIGNUP deciding who may register.

    allauth already refuses redirects to other hosts; this keeps the rule in
    one place that Galley's own nuget.org-style URLs (returnUrl) share.
    """

    def is_safe_url(self, url):
        from accounts.redirects import is_local_path

        return is_local_path(url)

    def is_open_for_signup(self, request):
        # Closed: the registration page shows allauth's "sign up closed" page
        # and administrators invite people (accounts/invitations.py).
        return signup.is_open()

    def clean_email(self, email: str) -> str:
        """Registering and adding an address both come here; a domain list refuses
        addresses outside it. Resetting a password is not refused: that would
        tell strangers which addresses have no account."""
        email = super().clean_email(email)
        if self._resetting_password() or signup.email_allowed(email):
            return email
        raise ValidationError(
            _("Registration is limited to addresses at %(domains)s.")
            % {"domains": ", ".join(signup.allowed_domains())}
        )

    def _resetting_password(self) -> bool:
        match = getattr(self.request, "resolver_match", None)
        return bool(match and match.url_name == "account_reset_password")
