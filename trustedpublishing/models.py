from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apikeys.models import ApiKey, Scope

# How long the key an exchange returns works, as on nuget.org.
KEY_LIFETIME_SECONDS = 3600


class Provider(models.TextChoices):
    GITHUB = "github", _("GitHub Actions")
    GITLAB = "gitlab", _("GitLab CI")


class RefType(models.TextChoices):
    BRANCH = "branch", _("Branch")
    TAG = "tag", _("Tag")


class DisabledReason(models.TextChoices):
    CREATOR = "creator", _("disabled by its creator")
    CREATOR_LEFT = "creator_left", _("its creator is no longer a member of the package owner")


class PolicyQuerySet(models.QuerySet):
    def created_by(self, user):
        return self.filter(creator=user)

    def enabled(self):
        return self.filter(enabled=True)

    def with_current_keys(self, now=None):
        """With `current_keys`: the keys each policy issued that still work."""
        current = ApiKey.objects.active(now).order_by("-created", "-pk")
        return self.select_related("owner").prefetch_related(
            models.Prefetch("api_keys", queryset=current, to_attr="current_keys")
        )


class Policy(models.Model):
    """A CI identity that may exchange its OIDC token for a one-hour key.

    The key acts for `owner` (the creator, or an organization the creator
    belongs to) and is held by `creator`, whose user name the CI sends.
    """

    name = models.CharField(_("policy name"), max_length=200)
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="trusted_publishing_policies",
        verbose_name=_("created by"),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="owned_trusted_publishing_policies",
        verbose_name=_("package owner"),
    )
    provider = models.CharField(_("provider"), max_length=16, choices=Provider.choices)
    # GitHub Actions
    repository_owner = models.CharField(_("repository owner"), max_length=39, blank=True)
    repository = models.CharField(_("repository"), max_length=100, blank=True)
    workflow = models.CharField(_("workflow file"), max_length=255, blank=True)
    # GitLab CI
    project_path = models.CharField(_("project path"), max_length=255, blank=True)
    ref_type = models.CharField(_("ref type"), max_length=8, choices=RefType.choices, blank=True)
    ref = models.CharField(_("ref"), max_length=255, blank=True)
    # Both: empty means any environment (or none).
    environment = models.CharField(_("environment"), max_length=255, blank=True)
    # Pinned at the first exchange (GitHub: repository_owner_id, repository_id;
    # GitLab: namespace_id, project_id), so that a repository deleted and
    # re-created under the same name cannot publish.
    pinned_owner_id = models.CharField(_("pinned owner id"), max_length=32, blank=True)
    pinned_repository_id = models.CharField(_("pinned repository id"), max_length=32, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    disabled_reason = models.CharField(
        _("why it is disabled"), max_length=16, choices=DisabledReason.choices, blank=True
    )
    created = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    # Until its ids are pinned, a policy matches any repository of its name, even
    # one created later by someone else; so an unused policy stops matching
    # GALLEY_TRUSTED_PUBLISHING_UNPINNED_DAYS after this (creation, a renewal, or
    # an edit that named another repository), as on nuget.org.
    awaiting_first_use_since = models.DateTimeField(
        _("awaiting its first use since"), default=timezone.now, editable=False
    )
    last_exchange = models.DateTimeField(_("last exchange"), null=True, blank=True)
    exchange_count = models.PositiveIntegerField(_("exchanges"), default=0)

    objects = PolicyQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-pk"]
        verbose_name = _("Trusted Publishing policy")
        verbose_name_plural = _("Trusted Publishing policies")
        constraints = [
            models.UniqueConstraint(
                fields=["creator", "name"], name="unique_policy_name_per_creator"
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.subject})"

    @property
    def subject(self) -> str:
        """The CI identity in a few words, for lists and the audit trail."""
        if self.provider == Provider.GITHUB:
            text = f"{self.repository_owner}/{self.repository} · {self.workflow}"
        else:
            text = self.project_path
            if self.ref:
                text += f" · {self.ref_type}:{self.ref}"
        if self.environment:
            text += f" · {self.environment}"
        return text

    @property
    def is_pinned(self) -> bool:
        return bool(self.pinned_repository_id)

    @property
    def first_use_deadline(self):
        """When an unpinned policy stops matching, unless it is used or renewed."""
        days = settings.GALLEY_TRUSTED_PUBLISHING_UNPINNED_DAYS
        return self.awaiting_first_use_since + timedelta(days=days)

    def is_expired_unused(self, now=None) -> bool:
        """Never used, and its time for a first use is over: it matches no token."""
        return not self.is_pinned and (now or timezone.now()) >= self.first_use_deadline

    @property
    def scope_labels(self) -> list[str]:
        """The scopes of the keys it issues, in nuget.org's words."""
        return [Scope.PUSH.label, Scope.UNLIST.label]


class UsedToken(models.Model):
    """A CI token that was exchanged for a key: each is accepted once.

    Written in the transaction that mints the key, so two exchanges of one token
    at once give one key (the unique constraint refuses the second), and kept in
    the database, not a cache an eviction or a flush could empty, until the token
    could no longer verify anyway (`expires`: its exp plus the accepted leeway).
    """

    issuer = models.CharField(_("issuer"), max_length=255)
    jti = models.CharField(_("token id (jti)"), max_length=255)
    expires = models.DateTimeField(_("expires"), db_index=True)
    used = models.DateTimeField(_("used"), default=timezone.now)

    class Meta:
        verbose_name = _("used CI token")
        verbose_name_plural = _("used CI tokens")
        constraints = [
            models.UniqueConstraint(fields=["issuer", "jti"], name="each_ci_token_used_once")
        ]

    def __str__(self):
        return f"{self.issuer} {self.jti}"
