from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from allauth.mfa.adapter import DefaultMFAAdapter
from django.contrib.sites.shortcuts import get_current_site
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import emails, signup

AT_SIGN_MESSAGE = gettext_lazy("A user name cannot contain @.")
WRONG_SIGN_IN = gettext_lazy("The user name, e-mail address or password is not correct.")
INCORRECT_CODE = gettext_lazy("This code is not correct.")

# allauth's messages in Galley's words (CONTRIBUTING.md); the phone ones stay
# allauth's, as Galley has no phone numbers.
ACCOUNT_ERROR_MESSAGES = {
    "account_inactive": gettext_lazy("This account is deactivated."),
    "cannot_remove_primary_email": gettext_lazy(
        "You cannot remove your primary e-mail address. Make another one primary first."
    ),
    "duplicate_email": gettext_lazy("This e-mail address is already on your account."),
    "email_password_mismatch": WRONG_SIGN_IN,
    "username_password_mismatch": WRONG_SIGN_IN,
    "invalid_login": WRONG_SIGN_IN,
    "email_taken": gettext_lazy("Another account uses this e-mail address."),
    "enter_current_password": gettext_lazy("This is not your current password."),
    "incorrect_code": INCORRECT_CODE,
    "incorrect_password": gettext_lazy("This password is not correct."),
    "invalid_or_expired_key": gettext_lazy("This link has expired or is not valid."),
    "invalid_password_reset": gettext_lazy("This password reset link is not valid."),
    "max_email_addresses": gettext_lazy("You cannot add more than %d e-mail addresses."),
    "too_many_login_attempts": gettext_lazy("Too many failed sign-ins. Try again later."),
    "unknown_email": gettext_lazy("No account has this e-mail address."),
    "unverified_primary_email": gettext_lazy("Your primary e-mail address must be confirmed."),
    "username_blacklisted": gettext_lazy("This user name cannot be used. Choose another one."),
    "username_taken": gettext_lazy("This user name is already taken. Choose another one."),
    "select_only_one": gettext_lazy("Choose only one."),
    "same_as_current": gettext_lazy("The new value is the same as the current one."),
    "rate_limited": gettext_lazy("Too many requests. Wait a moment, then try again."),
}

# How allauth offers the other ways to confirm it is you (its reauthentication pages).
REAUTHENTICATION_WAYS = {
    "reauthenticate": gettext_lazy("Use Your Password"),
    "mfa_reauthenticate": gettext_lazy("Use Your Authenticator App or a Recovery Code"),
    "mfa_reauthenticate:webauthn": gettext_lazy("Use a Security Key"),
}


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

    error_messages = {**DefaultAccountAdapter.error_messages, **ACCOUNT_ERROR_MESSAGES}

    def get_reauthentication_methods(self, user):
        methods = super().get_reauthentication_methods(user)
        for method in methods:
            method["description"] = REAUTHENTICATION_WAYS.get(method["id"], method["description"])
        return methods

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


class MfaAdapter(DefaultMFAAdapter):
    """allauth's two-factor messages in Galley's words."""

    error_messages = {
        **DefaultMFAAdapter.error_messages,
        "add_email_blocked": gettext_lazy(
            "An account protected by two-factor authentication cannot add an e-mail address."
        ),
        "cannot_delete_authenticator": gettext_lazy(
            "You cannot turn off two-factor authentication."
        ),
        "cannot_generate_recovery_codes": gettext_lazy(
            "Recovery codes need two-factor authentication: activate an authenticator app "
            "or add a security key first."
        ),
        "incorrect_code": INCORRECT_CODE,
        "unverified_email": gettext_lazy(
            "Confirm your e-mail address before you activate two-factor authentication."
        ),
    }
