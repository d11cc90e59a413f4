from django import forms
from django.contrib.auth.validators import ASCIIUsernameValidator
from django.utils.translation import gettext_lazy as _

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
        fields = ["notify_key_events"]
        help_texts = {
            "notify_key_events": _(
                "When a key is created or regenerated, and before it expires. "
                "E-mails about a revocation by someone else are always sent."
            )
        }


class OrganizationForm(forms.Form):
    name = forms.CharField(
        label=_("Organization name"),
        max_length=150,
        validators=[ASCIIUsernameValidator()],
        help_text=_(
            "Letters, digits and . _ - only. Organizations share the namespace of user names."
        ),
    )

    def clean_name(self):
        name = self.cleaned_data["name"]
        if User.objects.filter(username__iexact=name).exists():
            raise forms.ValidationError(_("This name is taken."))
        return name


class AddMemberForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    role = forms.ChoiceField(
        label=_("Role"), choices=Membership.Role.choices, initial=Membership.Role.COLLABORATOR
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)
