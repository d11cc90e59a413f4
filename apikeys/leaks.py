"""Revoking keys that leaked: the staff page's checks, shared with secret scanning."""

from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from apikeys import flows, tokens
from apikeys.models import ApiKey, RevocationSource

MAX_LINES = 1000


class PasteForm(forms.Form):
    keys = forms.CharField(
        label=_("Leaked keys"),
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "autocomplete": "off"}),
        help_text=_("One key per line."),
        max_length=MAX_LINES * 200,
    )

    def clean_keys(self):
        lines = [line.strip() for line in self.cleaned_data["keys"].splitlines()]
        lines = [line for line in lines if line]
        if len(lines) > MAX_LINES:
            raise forms.ValidationError(
                _("Paste at most %(max)d keys at a time.") % {"max": MAX_LINES}
            )
        return lines


class RevokeLeakedForm(forms.Form):
    keys = forms.ModelMultipleChoiceField(
        queryset=ApiKey.objects.filter(revoked_at__isnull=True), widget=forms.MultipleHiddenInput
    )
    url = forms.URLField(
        label=_("Where it leaked (optional)"),
        required=False,
        max_length=1000,
        assume_scheme="https",
    )
    reason = forms.CharField(
        label=_("Reason"), max_length=500, initial=_("The key was found in a public place.")
    )


@dataclass
class Finding:
    line: int
    shown: str  # never the whole pasted value
    status: str  # not_galley_key / not_found / already_revoked / will_revoke
    key: ApiKey | None = None

    @property
    def label(self):
        return {
            "not_galley_key": _("not a Galley key"),
            "not_found": _("not found"),
            "already_revoked": _("already revoked"),
            "will_revoke": _("will be revoked"),
        }[self.status]


def _shown(value: str) -> str:
    return value[: len(settings.GALLEY_KEY_PREFIX) + 4] + "…" if len(value) > 8 else "…"


@sensitive_variables("lines", "line", "found")
def check(lines: list[str]) -> list[Finding]:
    found = ApiKey.objects.find_many(lines)
    findings = []
    for number, line in enumerate(lines, 1):
        if not tokens.is_well_formed(line, settings.GALLEY_KEY_PREFIX):
            findings.append(Finding(number, _shown(line), "not_galley_key"))
        elif line not in found:
            findings.append(Finding(number, _shown(line), "not_found"))
        elif found[line].is_revoked:
            findings.append(Finding(number, _shown(line), "already_revoked", found[line]))
        else:
            findings.append(Finding(number, _shown(line), "will_revoke", found[line]))
    return findings


def revoke(
    keys, *, by, reason: str, url: str = "", request=None, source=RevocationSource.LEAK
) -> list[ApiKey]:
    return [
        key
        for key in keys
        if flows.revoke_key(key, by=by, source=source, reason=reason, url=url, request=request)
    ]
