from django import forms
from django.utils.translation import gettext_lazy as _

from packages.models import AbuseReport

MESSAGE_MAX_LENGTH = 4000  # nuget.org's limit on a report's message, and on a message to owners


class ReportAbuseForm(forms.Form):
    """nuget.org's Report package form; the reporter's address only when signed out
    (a signed-in reporter is answered at their account's address)."""

    reason = forms.ChoiceField(
        label=_("Reason"),
        choices=[("", _("Select a reason")), *AbuseReport.Reason.choices],
    )
    email = forms.EmailField(
        label=_("Your e-mail address"),
        help_text=_("The administrators answer you at this address."),
    )
    message = forms.CharField(
        label=_("Details"),
        max_length=MESSAGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("What is wrong with this package, and where (files, versions, links)."),
    )

    def __init__(self, *args, signed_in: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if signed_in:
            del self.fields["email"]


class ContactOwnersForm(forms.Form):
    """nuget.org's Contact Owners form: a message (4,000 characters at most, as
    nuget.org's) and "Send me a copy" (on at first, as there)."""

    message = forms.CharField(
        label=_("Message"),
        max_length=MESSAGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=_("Plain text, 4,000 characters at most."),
        error_messages={"required": _("Please enter a message.")},
    )
    copy_sender = forms.BooleanField(label=_("Send me a copy"), required=False, initial=True)
