from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils.translation import gettext_lazy as _

from packages.storage import package_storage


class PackageRegistrationQuerySet(models.QuerySet):
    def by_owner(self, owner_ids) -> dict[int, list]:
        """{owner id: [their packages]} for several owners, in one query."""
        through = PackageRegistration.owners.through.objects.filter(user_id__in=owner_ids)
        result: dict[int, list] = {}
        for link in through.select_related("packageregistration").order_by(
            "packageregistration__normalized_id"
        ):
            result.setdefault(link.user_id, []).append(link.packageregistration)
        return result


class PackageRegistration(models.Model):
    """A package id and who owns it; its versions hang off it."""

    package_id = models.CharField(_("package id"), max_length=100)
    # Lower-cased id with a unique index: one indexed equality lookup on every
    # database, where a case-insensitive comparison would not use the index.
    normalized_id = models.CharField(max_length=100, unique=True, editable=False)
    owners = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="packages", verbose_name=_("owners")
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)

    objects = PackageRegistrationQuerySet.as_manager()

    class Meta:
        ordering = ["normalized_id"]
        verbose_name = _("package registration")
        verbose_name_plural = _("package registrations")

    def __str__(self):
        return self.package_id

    def save(self, *args, **kwargs):
        self.normalized_id = self.package_id.lower()
        super().save(*args, **kwargs)


class PackageVersion(models.Model):
    """One pushed version of a package, with its file."""

    registration = models.ForeignKey(
        PackageRegistration,
        on_delete=models.CASCADE,
        related_name="versions",
        verbose_name=_("package"),
    )
    # Normalised as NuGet does ("1.0" -> "1.0.0", build metadata dropped).
    # Normalising can lengthen a version ("1-x" is "1.0.0-x"), hence more room
    # than the 64 characters a pushed version may have.
    version = models.CharField(_("version"), max_length=80)
    # Lower-cased normalised version: the identity, unique per package.
    normalized_version = models.CharField(max_length=80, editable=False)
    original_version = models.CharField(_("version as written"), max_length=64)
    listed = models.BooleanField(_("listed"), default=True)
    created = models.DateTimeField(_("pushed"), auto_now_add=True)
    size = models.BigIntegerField(_("size in bytes"))
    sha512 = models.CharField(_("SHA-512"), max_length=88)
    file = models.FileField(
        # Named by the push (publish.py): under a name no other push can take.
        _("file"), storage=package_storage, max_length=300
    )
    description = models.TextField(_("description"), blank=True)
    authors = models.CharField(_("authors"), max_length=4000, blank=True)
    # Manifest metadata the feed serves (packages/feed.py), read at push time.
    title = models.CharField(_("title"), max_length=256, blank=True)
    summary = models.TextField(_("summary"), blank=True)
    tags = models.CharField(_("tags"), max_length=4000, blank=True)
    project_url = models.CharField(_("project URL"), max_length=2000, blank=True)
    icon_url = models.CharField(_("icon URL"), max_length=2000, blank=True)
    license_url = models.CharField(_("license URL"), max_length=2000, blank=True)
    license_expression = models.CharField(_("license expression"), max_length=500, blank=True)
    require_license_acceptance = models.BooleanField(
        _("requires license acceptance"), default=False
    )
    min_client_version = models.CharField(_("minimum client version"), max_length=64, blank=True)
    # [{"targetFramework": "net8.0", "dependencies": [{"id": ..., "range": ...}]}]
    dependency_groups = models.JSONField(_("dependencies"), default=list, blank=True)
    # Space-separated, with a space at each end, so that one type is found with
    # a case-insensitive " name " containment on every database.
    package_types = models.CharField(_("package types"), max_length=1000, blank=True)
    is_prerelease = models.BooleanField(_("pre-release"), default=False)
    is_semver2 = models.BooleanField(_("SemVer 2.0.0"), default=False)
    # Moved here from the cache by the flush_download_counts command.
    download_count = models.PositiveBigIntegerField(_("downloads"), default=0)
    # PostgreSQL only (packages/feed.py fills it; a GIN index serves search).
    # Other databases leave it empty and search with substring matches.
    search_vector = SearchVectorField(null=True, editable=False)
    pushed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("pushed by"),
    )
    pushed_with_key = models.ForeignKey(
        "apikeys.ApiKey",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="pushed_versions",
        verbose_name=_("pushed with key"),
    )
    # Kept so the page can name the key after it is deleted or regenerated.
    pushed_with_key_name = models.CharField(max_length=256, blank=True)
    pushed_with_key_hint = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["registration", "-created"]
        verbose_name = _("package version")
        verbose_name_plural = _("package versions")
        constraints = [
            models.UniqueConstraint(
                fields=["registration", "normalized_version"], name="unique_version_per_package"
            )
        ]

    def __str__(self):
        return f"{self.registration.package_id} {self.version}"


class SymbolPackage(models.Model):
    """The `.snupkg` pushed beside a version (debugging symbols).

    A version has at most one: pushing symbols again replaces them, as on nuget.org,
    so that a build whose symbols were wrong can fix them without a new version.
    """

    version = models.OneToOneField(
        PackageVersion,
        on_delete=models.CASCADE,
        related_name="symbols",
        verbose_name=_("package version"),
    )
    created = models.DateTimeField(_("pushed"), auto_now=True)
    size = models.BigIntegerField(_("size in bytes"))
    sha512 = models.CharField(_("SHA-512"), max_length=88)
    file = models.FileField(_("file"), storage=package_storage, max_length=300)
    pushed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("pushed by"),
    )

    class Meta:
        verbose_name = _("symbol package")
        verbose_name_plural = _("symbol packages")

    def __str__(self):
        return f"{self.version} symbols"
