import re

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts import access
from apikeys import globs
from apikeys.models import ApiKey, Scope


def package_registrations():
    """The package registrations a key may be limited to (its `packages` field's model).

    The packages app is a layer above this one (its publish API checks keys), so the
    model is reached through the key's own relation, named there by string."""
    return ApiKey._meta.get_field("packages").related_model.objects


MAX_PATTERNS = 50

# What the "Push" choice stores; the third scope is a separate checkbox.
PUSH_CHOICES = [
    (Scope.PUSH.value, Scope.PUSH.label),
    (Scope.PUSH_VERSION.value, Scope.PUSH_VERSION.label),
]


class PackageSelectionForm(forms.Form):
    """Glob patterns and/or packages: the part of a key that Edit may change."""

    glob_patterns = forms.CharField(
        label=_("Glob Pattern"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false", "autocapitalize": "off"}),
        help_text=_(
            "One pattern per line. * matches any characters, e.g. Contoso.* matches "
            "Contoso.Core and Contoso.Web. Matching ignores case."
        ),
    )
    packages = forms.ModelMultipleChoiceField(
        label=_("Packages"),
        queryset=None,  # the owner's packages, set in __init__
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, owner_queryset, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["packages"].queryset = (
            package_registrations().filter(owners__in=owner_queryset).distinct()
        )

    def clean_glob_patterns(self):
        lines = [
            line
            for line in re.split(r"[\r\n,]+", self.cleaned_data["glob_patterns"])
            if line.strip()
        ]
        if len(lines) > MAX_PATTERNS:
            raise forms.ValidationError(
                ngettext(
                    "Use at most %(max)d pattern.", "Use at most %(max)d patterns.", MAX_PATTERNS
                )
                % {"max": MAX_PATTERNS}
            )
        patterns, errors = [], []
        for line in lines:
            try:
                pattern = globs.validate_pattern(line)
            except globs.InvalidPattern as error:
                errors.append(forms.ValidationError(str(error)))
                continue
            if pattern.lower() not in (p.lower() for p in patterns):
                patterns.append(pattern)
        if errors:
            raise forms.ValidationError(errors)
        return patterns

    def clean(self):
        cleaned = super().clean()
        if "glob_patterns" in self.errors or "packages" in self.errors:
            return cleaned
        if not cleaned.get("glob_patterns") and not cleaned.get("packages"):
            self.add_error(
                None,
                forms.ValidationError(
                    _("Select at least one package or enter a glob pattern."), code="no_packages"
                ),
            )
        return cleaned

    def check_packages_belong_to(self, owner):
        """A forged POST must not select another owner's package."""
        selected = {package.pk for package in self.cleaned_data.get("packages") or []}
        owned = package_registrations().filter(pk__in=selected, owners=owner).count()
        if owned != len(selected):
            self.add_error(
                "packages", _("The package owner does not own some of the selected packages.")
            )


class CreateApiKeyForm(PackageSelectionForm):
    name = forms.CharField(label=_("Key Name"), max_length=256)
    expires_in = forms.TypedChoiceField(label=_("Expires In"), coerce=int, choices=())
    owner = forms.ModelChoiceField(
        label=_("Package Owner"), queryset=None, to_field_name="username", empty_label=None
    )
    push = forms.BooleanField(label=_("Push"), required=False, initial=True)
    push_scope = forms.ChoiceField(
        label=_("Push"),
        choices=PUSH_CHOICES,
        required=False,
        initial=Scope.PUSH.value,
        widget=forms.RadioSelect,
    )
    unlist = forms.BooleanField(label=Scope.UNLIST.label, required=False)
    # Offered only when the feed is private: on a public feed anyone may read,
    # and a scope that changes nothing would only puzzle.
    read = forms.BooleanField(
        label=Scope.READ.label,
        required=False,
        widget=forms.CheckboxInput(attrs={"aria-describedby": "read-help"}),
    )

    field_order = [
        "name",
        "expires_in",
        "owner",
        "push",
        "push_scope",
        "unlist",
        "read",
        "glob_patterns",
        "packages",
    ]

    def __init__(self, *args, holder, **kwargs):
        owners = access.owners_for(holder)
        super().__init__(*args, owner_queryset=owners, **kwargs)
        self.holder = holder
        self.fields["owner"].queryset = owners
        self.fields["owner"].initial = holder.get_username()
        self.fields["expires_in"].choices = [
            (days, ngettext("%(days)d day", "%(days)d days", days) % {"days": days})
            for days in settings.GALLEY_KEY_EXPIRY_DAYS
        ]
        self.fields["expires_in"].initial = settings.GALLEY_KEY_DEFAULT_EXPIRY_DAYS
        if settings.GALLEY_FEED_READ != "authenticated":
            del self.fields["read"]

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Enter a key name."))
        if ApiKey.objects.filter(holder=self.holder, name__iexact=name).exists():
            raise forms.ValidationError(_("You already have a key with this name."))
        return name

    def clean(self):
        cleaned = super().clean()
        scopes = []
        if cleaned.get("push"):
            if not cleaned.get("push_scope"):
                self.add_error("push_scope", _("Choose what the key may push."))
            else:
                scopes.append(cleaned["push_scope"])
        if cleaned.get("unlist"):
            scopes.append(Scope.UNLIST.value)
        if cleaned.get("read"):
            scopes.append(Scope.READ.value)
        if not scopes and "push_scope" not in self.errors:
            self.add_error(
                None, forms.ValidationError(_("Select at least one scope."), code="no_scopes")
            )
        cleaned["scopes"] = scopes
        if cleaned.get("owner"):
            self.check_packages_belong_to(cleaned["owner"])
        return cleaned

    def save(self):
        data = self.cleaned_data
        return ApiKey.objects.create_key(
            holder=self.holder,
            owner=data["owner"],
            name=data["name"],
            scopes=data["scopes"],
            glob_patterns=data["glob_patterns"],
            packages=data["packages"],
            expires_in_days=data["expires_in"],
        )


class EditApiKeyForm(PackageSelectionForm):
    """nuget.org lets a key's packages and patterns change, nothing else."""

    @staticmethod
    def prefix_for(key: ApiKey) -> str:
        # Every key on the page has its own edit form; prefixes keep their ids apart.
        return f"edit-{key.pk}"

    def __init__(self, *args, key: ApiKey, **kwargs):
        owners = get_user_model().objects.filter(pk=key.owner_id)
        super().__init__(*args, owner_queryset=owners, prefix=self.prefix_for(key), **kwargs)
        self.key = key

    def clean(self):
        cleaned = super().clean()
        self.check_packages_belong_to(self.key.owner)
        return cleaned

    def save(self):
        self.key.glob_patterns = self.cleaned_data["glob_patterns"]
        self.key.save(update_fields=["glob_patterns"])
        self.key.packages.set(self.cleaned_data["packages"])
        return self.key
