from django import forms
from django.contrib.auth.validators import ASCIIUsernameValidator
from django.utils.translation import gettext_lazy as _

from accounts.adapter import refuse_at_sign
from accounts.models import Membership, User


class DeleteAccountForm(forms.Form):
    confirm = forms.CharField(
        label=_("Type your user name to confirm"),
        max_length=150,
        error_messages={"required": _("Type your user name to confirm.")},
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_confirm(self):
        if self.cleaned_data["confirm"] != self.user.get_username():
            raise forms.ValidationError(_("The user name you typed does not match your account."))
        return self.cleaned_data["confirm"]


class NotificationsForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["notify_key_events", "allow_contact"]
        help_texts = {
            "notify_key_events": _(
                "When a key is created or regenerated, and before it expires. "
                "E-mails about a revocation by someone else are always sent."
            ),
            "allow_contact": _(
                "Signed-in people can write to you from your packages’ Contact Owners page. "
                "Your address is not shown to them; they see it only if you answer."
            ),
        }


class OrganizationContactForm(forms.ModelForm):
    """An organization's own "Allow others to contact" setting: whether its
    administrators receive the messages sent from its packages' Contact Owners page."""

    class Meta:
        model = User
        fields = ["allow_contact"]
        labels = {"allow_contact": _("Allow others to contact the organization about its packages")}
        help_texts = {
            "allow_contact": _(
                "Messages from the Contact Owners page of its packages are e-mailed to its "
                "administrators."
            )
        }


class OrganizationForm(forms.Form):
    name = forms.CharField(
        label=_("Organization Name"),
        max_length=150,
        validators=[ASCIIUsernameValidator(), refuse_at_sign],
        help_text=_(
            "Letters, digits and . _ - only. Organizations share the namespace of user names."
        ),
    )

    contact_email = forms.EmailField(
        label=_("Contact E-mail Address"),
        required=False,
        help_text=_("Where the organization can be reached. It is confirmed by a link sent there."),
    )

    def clean_name(self):
        name = self.cleaned_data["name"]
        if User.objects.filter(username__iexact=name).exists():
            raise forms.ValidationError(_("This name is taken."))
        return name


class AddMemberForm(forms.Form):
    username = forms.CharField(
        label=_("User Name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )
    role = forms.ChoiceField(
        label=_("Role"), choices=Membership.Role.choices, initial=Membership.Role.COLLABORATOR
    )


class ContactEmailForm(forms.Form):
    contact_email = forms.EmailField(label=_("Contact E-mail Address"))


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)


class InviteForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"),
        help_text=_("The person receives a link, valid once, to choose a user name and password."),
    )

    def clean_email(self):
        from accounts.invitations import address_taken

        email = self.cleaned_data["email"]
        if address_taken(email):
            raise forms.ValidationError(_("An account with this address already exists."))
        return email


class AcceptInvitationForm(forms.Form):
    username = forms.CharField(
        label=_("User Name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Password (again)"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean_username(self):
        from allauth.account.adapter import get_adapter

        # allauth's rules: allowed characters, length, and a name nobody (person
        # or organization) has yet.
        return get_adapter().clean_username(self.cleaned_data["username"])

    def clean(self):
        from django.contrib.auth.password_validation import validate_password

        cleaned = super().clean()
        password = cleaned.get("password1")
        if password and password != cleaned.get("password2"):
            self.add_error("password2", _("The two passwords do not match."))
        elif password:
            candidate = User(username=cleaned.get("username", ""), email=self.email)
            try:
                validate_password(password, user=candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned
