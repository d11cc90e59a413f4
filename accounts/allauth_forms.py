"""allauth's forms with Galley's labels and help texts (ACCOUNT_FORMS, MFA_FORMS).

Each subclass names its fields' labels in Galley's words (CONTRIBUTING.md: Title Case
labels, "e-mail"); placeholders that repeat the label go, as on Galley's own forms.
The few messages allauth writes into its forms without its adapter are reworded
after validation (`REWORDED`); the adapter's own are in accounts/adapter.py.
"""

from allauth.account import forms as account_forms
from allauth.mfa.base import forms as mfa_forms
from allauth.mfa.totp import forms as totp_forms
from allauth.mfa.webauthn import forms as webauthn_forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

MISMATCHED_PASSWORDS = _("The two passwords are not the same.")

# allauth's English text (looked up in its catalogue at run time) → Galley's.
REWORDED = {
    "You must type the same password each time.": MISMATCHED_PASSWORDS,
}


class GalleyWording:
    """Labels and help texts from `labels` and `help_texts`; no placeholders."""

    labels: dict = {}
    help_texts: dict = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.widget.attrs.pop("placeholder", None)
            if name in self.labels:
                field.label = self.labels[name]
            if name in self.help_texts:
                field.help_text = self.help_texts[name]

    def full_clean(self):
        super().full_clean()
        replacements = {gettext(text): galley for text, galley in REWORDED.items()}
        for errors in (self._errors or {}).values():
            for index in range(len(errors)):
                if errors[index] in replacements:
                    errors.data[index] = str(replacements[errors[index]])


PASSWORD = _("Password")
CONFIRM_PASSWORD = _("Confirm Password")
NEW_PASSWORD = _("New Password")
CONFIRM_NEW_PASSWORD = _("Confirm New Password")
EMAIL = _("E-mail Address")


class LoginForm(GalleyWording, account_forms.LoginForm):
    labels = {
        "login": _("User Name or E-mail Address"),
        "password": PASSWORD,
        "remember": _("Keep me signed in on this device"),
    }


class SignupForm(GalleyWording, account_forms.SignupForm):
    labels = {
        "username": _("User Name"),
        "email": EMAIL,
        "password1": PASSWORD,
        "password2": CONFIRM_PASSWORD,
    }


class AddEmailForm(GalleyWording, account_forms.AddEmailForm):
    labels = {"email": EMAIL}


class ChangePasswordForm(GalleyWording, account_forms.ChangePasswordForm):
    labels = {
        "oldpassword": _("Current Password"),
        "password1": NEW_PASSWORD,
        "password2": CONFIRM_NEW_PASSWORD,
    }


class SetPasswordForm(GalleyWording, account_forms.SetPasswordForm):
    labels = {"password1": PASSWORD, "password2": CONFIRM_PASSWORD}


class ResetPasswordForm(GalleyWording, account_forms.ResetPasswordForm):
    labels = {"email": EMAIL}


class ResetPasswordKeyForm(GalleyWording, account_forms.ResetPasswordKeyForm):
    labels = {"password1": NEW_PASSWORD, "password2": CONFIRM_NEW_PASSWORD}


class ReauthenticateForm(GalleyWording, account_forms.ReauthenticateForm):
    labels = {"password": PASSWORD}


AUTHENTICATOR_CODE = _("Code")
CODE_HELP = _("The 6-digit code your authenticator app shows, or one of your recovery codes.")


class AuthenticateForm(GalleyWording, mfa_forms.AuthenticateForm):
    labels = {"code": AUTHENTICATOR_CODE}
    help_texts = {"code": CODE_HELP}


class MfaReauthenticateForm(GalleyWording, mfa_forms.ReauthenticateForm):
    labels = {"code": AUTHENTICATOR_CODE}
    help_texts = {"code": CODE_HELP}


class ActivateTOTPForm(GalleyWording, totp_forms.ActivateTOTPForm):
    labels = {"code": _("Code from the App")}


class AddWebAuthnForm(GalleyWording, webauthn_forms.AddWebAuthnForm):
    labels = {"name": _("Name"), "passwordless": _("Use this key as a passkey")}
    help_texts = {
        "passwordless": _(
            "A passkey signs you in without a password. The key must then check "
            "who you are, with a fingerprint, your face or a PIN."
        )
    }


class EditWebAuthnForm(GalleyWording, webauthn_forms.EditWebAuthnForm):
    labels = {"name": _("Name")}
