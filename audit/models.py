from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AppendOnly(Exception):
    """Audit events are written once and never changed or removed by the app."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnly

    def delete(self):
        raise AppendOnly

    def shown_to(self, account):
        """The events of `account`'s security log: about it, or naming it a subject."""
        about = self.filter(user=account).values("pk")
        named = self.model.subjects.through.objects.filter(user=account).values("auditevent_id")
        return self.filter(models.Q(pk__in=about) | models.Q(pk__in=named))


class AuditEvent(models.Model):
    class Kind(models.TextChoices):
        KEY_CREATED = "key.created", _("API key created")
        KEY_REGENERATED = "key.regenerated", _("API key regenerated")
        KEY_EDITED = "key.edited", _("API key edited")
        KEY_REVOKED = "key.revoked", _("API key revoked")
        KEY_DELETED = "key.deleted", _("API key deleted")
        PACKAGE_PUSHED = "package.pushed", _("Package pushed")
        SYMBOLS_PUSHED = "symbols.pushed", _("Symbol package pushed")
        PACKAGE_UNLISTED = "package.unlisted", _("Package unlisted")
        PACKAGE_RELISTED = "package.relisted", _("Package relisted")
        PUBLISH_REFUSED = "publish.refused", _("Publish refused")
        SIGN_IN = "signin.succeeded", _("Signed in")
        SIGN_IN_FAILED = "signin.failed", _("Sign-in failed")
        MFA_ENABLED = "mfa.enabled", _("Two-factor authentication enabled")
        MFA_DISABLED = "mfa.disabled", _("Two-factor authentication disabled")
        ORGANIZATION_CREATED = "org.created", _("Organization created")
        MEMBER_INVITED = "org.member_invited", _("Organization member invited")
        MEMBER_DECLINED = "org.member_declined", _("Organization invitation declined")
        MEMBER_ADDED = "org.member_added", _("Organization member added")
        MEMBER_ROLE_CHANGED = "org.role_changed", _("Organization role changed")
        MEMBER_REMOVED = "org.member_removed", _("Organization member removed")
        OWNERSHIP_REQUESTED = "package.owner_requested", _("Package ownership requested")
        OWNERSHIP_DECLINED = "package.owner_declined", _("Package ownership request declined")
        OWNERSHIP_CANCELLED = "package.owner_cancelled", _("Package ownership request cancelled")
        PACKAGE_OWNER_ADDED = "package.owner_added", _("Package owner added")
        PACKAGE_OWNER_REMOVED = "package.owner_removed", _("Package owner removed")
        PACKAGE_DELETED = "package.deleted", _("Package version deleted")
        PACKAGE_DEPRECATED = "package.deprecated", _("Package deprecated")
        PACKAGE_UNDEPRECATED = "package.undeprecated", _("Package undeprecated")
        ADVISORIES_IMPORTED = "advisories.imported", _("Security advisories imported")
        UPSTREAM_CACHED = "upstream.cached", _("Upstream package version cached")
        UPSTREAM_BLOCKED = "upstream.blocked", _("Upstream package version blocked")
        UPSTREAM_ALLOWED = "upstream.allowed", _("Upstream versions allowed for a package")
        ACCOUNT_DELETED = "account.deleted", _("Account deleted")
        USER_INVITED = "account.invited", _("User invited")
        INVITATION_ACCEPTED = "account.invitation_accepted", _("Invitation accepted")
        TRUSTED_PUBLISHING_CREATED = "tp.policy_created", _("Trusted Publishing policy created")
        TRUSTED_PUBLISHING_EDITED = "tp.policy_edited", _("Trusted Publishing policy edited")
        TRUSTED_PUBLISHING_DISABLED = "tp.policy_disabled", _("Trusted Publishing policy disabled")
        TRUSTED_PUBLISHING_ENABLED = "tp.policy_enabled", _("Trusted Publishing policy enabled")
        TRUSTED_PUBLISHING_DELETED = "tp.policy_deleted", _("Trusted Publishing policy deleted")
        TRUSTED_PUBLISHING_EXCHANGED = "tp.token_exchanged", _("Trusted Publishing key issued")
        TRUSTED_PUBLISHING_REFUSED = "tp.exchange_refused", _("Trusted Publishing exchange refused")

    created = models.DateTimeField(_("time"), default=timezone.now, db_index=True, editable=False)
    kind = models.CharField(_("event"), max_length=32, choices=Kind.choices, db_index=True)
    # The account the event is about (whose security log shows it) and who did it.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
        verbose_name=_("account"),
    )
    # Every other account whose security log shows the event: for an event about a
    # package, its owners when it happened (for an organization, its
    # administrators too) and the acting account (audit/events.py).
    subjects = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="audit_events_about",
        verbose_name=_("also shown to"),
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    # Names are copied so that the trail survives the deletion of what it names.
    actor_name = models.CharField(_("actor name"), max_length=150, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    key_name = models.CharField(_("key name"), max_length=256, blank=True)
    key_hint = models.CharField(_("key hint"), max_length=32, blank=True)
    package_id = models.CharField(_("package id"), max_length=100, blank=True)
    package_version = models.CharField(_("package version"), max_length=64, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-pk"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [models.Index(fields=["user", "-created"])]

    def __str__(self):
        return f"{self.created:%Y-%m-%d %H:%M:%S} {self.get_kind_display()}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnly
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly
