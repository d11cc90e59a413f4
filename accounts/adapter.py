from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from django.contrib.sites.shortcuts import get_current_site
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import emails, signup

AT_SIGN_MESSAGE = gettext_lazy("A user name cannot contain @.")


def refuse_at_sign(username: str) -> None:
    """A user name that looks like an e-mail address would let someone register another
    person's address as a user name, and receive their failed sign-ins in a security log."""
    if "@" in username:
        raise ValidationError(AT_SIGN_MESSAGE, code="at_sign")


class AccountAdapter(DefaultAccountAdapter):
    """allauth's behaviour, with Galley's safe-redirect rule spelled out and
    GALLEY_SIGNUP deciding who may register.

    allauth already refuses redirects to other hosts; this keeps the rule in
    one place that Galley's own nuget.org-style URLs (returnUrl) share.
    """

    def send_mail(self, template_prefix: str, email: str, context_: dict) -> None:
        """allauth's mails (confirmation links, password resets, security notices),
        rendered as allauth renders them, in the request's language, then queued like
        Galley's own (accounts/emails.py): a slow mail server never slows the page."""
        request = context.request
        message = self.render_mail(
            template_prefix,
            email,
            {
                "request": request,
                "email": email,
                "current_site": get_current_site(request),
                **context_,
            },
        )
        emails.queue(message, label=template_prefix)

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

    def clean_username(self, username: str, shallow: bool = False) -> str:
        refuse_at_sign(username)
        return super().clean_username(username, shallow=shallow)

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        """Failed sign-ins count per account, not per login string: the user name and
        the e-mail address of one account share one count (allauth keys it on the
        string typed, which gives twice the guesses). An unknown login keeps a count
        of its own string, as allauth does."""
        from allauth.account.utils import filter_users_by_email

        from accounts.models import User

        login = credentials.get("email", credentials.get("username", "")).lower()
        if "email" in credentials:
            accounts = filter_users_by_email(credentials["email"])
        else:
            accounts = list(User.objects.filter(username__iexact=login)[:2])
        if len(accounts) == 1:
            login = f"account:{accounts[0].pk}"
        return f"{get_current_site(request).domain}:{login}"
