import re

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import access
from trustedpublishing.models import Policy, Provider, RefType

GITHUB_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
GITHUB_REPOSITORY = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
WORKFLOW_FILE = re.compile(r"^[A-Za-z0-9._-]+\.ya?ml$")
GITLAB_PROJECT = re.compile(r"^[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+$")
# Environments and refs are free text in both systems; no control characters.
PRINTABLE = re.compile(r"^[^\x00-\x1f\x7f]*$")

GITHUB_FIELDS = ["repository_owner", "repository", "workflow"]
GITLAB_FIELDS = ["project_path", "ref_type", "ref"]
# Changing any of these names another repository: the pinned ids no longer apply.
IDENTITY_FIELDS = ["provider", "repository_owner", "repository", "project_path"]


class PolicyForm(forms.ModelForm):
    owner = forms.ModelChoiceField(
        label=_("Package Owner"), queryset=None, to_field_name="username", empty_label=None
    )
    provider = forms.ChoiceField(
        label=_("CI provider"), choices=Provider.choices, widget=forms.RadioSelect
    )
    ref_type = forms.ChoiceField(
        label=_("Ref type"),
        choices=[("", _("Branch or tag"))] + RefType.choices,
        required=False,
    )

    class Meta:
        model = Policy
        fields = [
            "name",
            "owner",
            "provider",
            "repository_owner",
            "repository",
            "workflow",
            "project_path",
            "ref_type",
            "ref",
            "environment",
        ]
        labels = {
            "name": _("Policy Name"),
            "repository_owner": _("Repository owner"),
            "repository": _("Repository name"),
            "workflow": _("Workflow file"),
            "project_path": _("Project path"),
            "ref": _("Ref"),
            "environment": _("Environment (optional)"),
        }
        help_texts = {
            "repository_owner": _("The user or organization on GitHub, e.g. contoso."),
            "workflow": _(
                "The file name in .github/workflows, e.g. release.yml: the workflow the run "
                "starts from."
            ),
            "project_path": _("The group and project on GitLab, e.g. contoso/widgets."),
            "ref": _("A branch or tag name, e.g. main or v1.2.3. Empty: any ref."),
            "environment": _("Only jobs that run in this deployment environment. Empty: any."),
        }

    def __init__(self, *args, creator, **kwargs):
        super().__init__(*args, **kwargs)
        self.creator = creator
        if self.instance.pk:
            # The package owner is fixed at creation, as a key's is.
            del self.fields["owner"]
        else:
            self.fields["owner"].queryset = access.owners_for(creator)
            self.fields["owner"].initial = creator.get_username()
            self.fields["provider"].initial = Provider.GITHUB
        for name in ("name", "repository_owner", "repository", "workflow", "project_path"):
            self.fields[name].widget.attrs.update(spellcheck="false", autocapitalize="off")

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Enter a policy name."))
        others = Policy.objects.filter(creator=self.creator, name__iexact=name)
        if others.exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(_("You already have a policy with this name."))
        return name

    def clean_workflow(self):
        # People paste the path GitHub shows; the file name is what matters.
        return self.cleaned_data["workflow"].strip().removeprefix(".github/workflows/")

    def clean(self):
        cleaned = super().clean()
        provider = cleaned.get("provider")
        if provider == Provider.GITHUB:
            self._check(cleaned, "repository_owner", GITHUB_OWNER, _("Enter a GitHub user name."))
            self._check(cleaned, "repository", GITHUB_REPOSITORY, _("Enter a repository name."))
            self._check(
                cleaned,
                "workflow",
                WORKFLOW_FILE,
                _("Enter a workflow file name, e.g. release.yml."),
            )
            for name in GITLAB_FIELDS:
                cleaned[name] = ""
        elif provider == Provider.GITLAB:
            self._check(
                cleaned,
                "project_path",
                GITLAB_PROJECT,
                _("Enter a project path, e.g. group/project."),
            )
            if cleaned.get("ref") and not cleaned.get("ref_type"):
                self.add_error("ref_type", _("Choose whether the ref is a branch or a tag."))
            for name in GITHUB_FIELDS:
                cleaned[name] = ""
        for name in ("ref", "environment"):
            value = (cleaned.get(name) or "").strip()
            if not PRINTABLE.match(value):
                self.add_error(name, _("Use printable characters only."))
            cleaned[name] = value
        return cleaned

    def _check(self, cleaned, name, pattern, message):
        value = (cleaned.get(name) or "").strip()
        cleaned[name] = value
        if name in self.errors:
            return
        if not value or not pattern.match(value):
            self.add_error(name, message)

    def save(self, commit=True):
        policy = super().save(commit=False)
        if not policy.pk:
            policy.creator = self.creator
        elif any(name in self.changed_data for name in IDENTITY_FIELDS):
            # Another repository: unpinned again, with a new time for its first use.
            policy.pinned_owner_id = policy.pinned_repository_id = ""
            policy.awaiting_first_use_since = timezone.now()
        for name in GITHUB_FIELDS + GITLAB_FIELDS + ["environment"]:
            setattr(policy, name, self.cleaned_data.get(name, ""))
        if commit:
            policy.save()
        return policy
