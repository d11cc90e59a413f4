"""What Galley keeps of its upstreams beside the cached versions themselves
(PackageVersion rows whose `upstream` is set)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from packages.models import PackageVersion


class UpstreamMetadata(models.Model):
    """An upstream's registration entries for one id, reused for
    GALLEY_UPSTREAM_METADATA_TTL seconds; `found` False is the negative cache (no
    upstream has the id). Served stale, with a log line, when the upstream fails."""

    normalized_id = models.CharField(max_length=100, unique=True)
    upstream = models.CharField(_("upstream"), max_length=2000, blank=True)
    found = models.BooleanField(default=False)
    # The catalog entries as the upstream gave them, each with its "packageContent".
    entries = models.JSONField(default=list, blank=True)
    fetched_at = models.DateTimeField(_("fetched at"))

    class Meta:
        verbose_name = _("upstream metadata")
        verbose_name_plural = _("upstream metadata")

    def __str__(self):
        return self.normalized_id


class UpstreamAllowance(models.Model):
    """An administrator's decision that an id Galley also has (pushed, or under a
    reserved prefix) may take versions from the upstreams, and may be pushed to
    after it was cached from one."""

    package_id = models.CharField(_("package id"), max_length=100)
    normalized_id = models.CharField(max_length=100, unique=True, editable=False)
    reason = models.TextField(_("reason"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("allowed by"),
    )
    created = models.DateTimeField(_("allowed"), auto_now_add=True)

    class Meta:
        verbose_name = _("upstream allowance")
        verbose_name_plural = _("upstream allowances")

    def __str__(self):
        return self.package_id

    def save(self, *args, **kwargs):
        self.normalized_id = self.package_id.lower()
        super().save(*args, **kwargs)


class BlockedUpstreamVersion(models.Model):
    """An upstream version an administrator blocked: never served nor fetched again."""

    normalized_id = models.CharField(max_length=100)
    normalized_version = models.CharField(max_length=80)
    reason = models.TextField(_("reason"), blank=True)
    created = models.DateTimeField(_("blocked"), auto_now_add=True)

    class Meta:
        verbose_name = _("blocked upstream version")
        verbose_name_plural = _("blocked upstream versions")
        constraints = [
            models.UniqueConstraint(
                fields=["normalized_id", "normalized_version"], name="one_block_per_version"
            )
        ]

    def __str__(self):
        return f"{self.normalized_id} {self.normalized_version}"


class CachedUpstreamManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().exclude(upstream="")


class CachedUpstreamVersion(PackageVersion):
    """The versions cached from an upstream, for the admin's own list."""

    objects = CachedUpstreamManager()

    class Meta:
        proxy = True
        verbose_name = _("cached upstream version")
        verbose_name_plural = _("cached upstream versions")
