import re

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
    # Bumped by packages/lifecycle.py with every change to the package's versions:
    # feed documents, their memo and their ETags are keyed on it.
    revision = models.PositiveBigIntegerField(_("revision"), default=0, editable=False)

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

    def reservation(self):
        """The reserved prefix this package is under and one of its owners holds
        (the package page's "reserved prefix" mark), or None."""
        owners = [owner.pk for owner in self.owners.all()]
        return (
            ReservedPrefix.objects.matching(self.package_id)
            .filter(owner__in=owners)
            .select_related("owner")
            .first()
        )


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
        _("file"),
        storage=package_storage,
        max_length=300,
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
    # Read from the package at push time (lifecycle.manifest_fields): the README's
    # markdown (bounded), the release notes, the package's files named by <icon> and
    # <license type="file"> (served from the .nupkg), and the target frameworks of
    # its lib/ folders.
    readme = models.TextField(_("README"), blank=True)
    release_notes = models.TextField(_("release notes"), blank=True)
    icon_file = models.CharField(_("icon file"), max_length=500, blank=True)
    license_file = models.CharField(_("license file"), max_length=500, blank=True)
    lib_frameworks = models.JSONField(_("lib/ frameworks"), default=list, blank=True)
    # Space-separated, with a space at each end, so that one type is found with
    # a case-insensitive " name " containment on every database.
    package_types = models.CharField(_("package types"), max_length=1000, blank=True)
    is_prerelease = models.BooleanField(_("pre-release"), default=False)
    is_semver2 = models.BooleanField(_("SemVer 2.0.0"), default=False)
    # Moved here by the flush_download_counts command (packages/downloads.py).
    download_count = models.PositiveBigIntegerField(_("downloads"), default=0)
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
    # Deprecation, as on nuget.org's Manage page (written by lifecycle.set_deprecation):
    # deprecated when it has reasons ("Legacy", "CriticalBugs", "Other").
    deprecation_reasons = models.JSONField(_("deprecation reasons"), default=list, blank=True)
    deprecation_message = models.TextField(_("deprecation message"), blank=True)
    deprecation_alternate_id = models.CharField(_("alternate package"), max_length=100, blank=True)
    # "" is "any version" (the registration's range "*").
    deprecation_alternate_version = models.CharField(
        _("alternate package version"), max_length=80, blank=True
    )
    # The service index URL of the upstream this version was fetched from and cached
    # (packages/upstreams/); "" for a version pushed to Galley (a local version).
    upstream = models.CharField(_("upstream"), max_length=2000, blank=True, default="")
    # When a cached upstream version was last served (prune_upstream_cache).
    last_used = models.DateTimeField(_("last used"), null=True, blank=True)
    # A cached upstream version follows the upstream's listing (unlisted or relisted
    # there: here too) until someone here lists or unlists it: their decision is kept.
    listing_set_here = models.BooleanField(_("listing set here"), default=False)

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


class SymbolFile(models.Model):
    """A portable PDB of a `.snupkg`, extracted at push and served to debuggers by
    its SSQP key (packages/symbol_server.py)."""

    symbols = models.ForeignKey(
        SymbolPackage,
        on_delete=models.CASCADE,
        related_name="files",
        verbose_name=_("symbol package"),
    )
    path = models.CharField(_("path in the symbol package"), max_length=500)
    # What debuggers ask for: the file name and the SSQP key, both lower case.
    name = models.CharField(_("file name"), max_length=255)
    key = models.CharField(_("SSQP key"), max_length=40)
    size = models.BigIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    # SHA-256 of the PDB with its id zeroed: the PDB checksum its DLL records, which
    # a debugger sends in SymbolChecksum.
    checksum = models.CharField(_("PDB checksum"), max_length=64)
    file = models.FileField(_("file"), storage=package_storage, max_length=300)
    created = models.DateTimeField(_("pushed"), auto_now_add=True)
    download_count = models.PositiveBigIntegerField(_("downloads"), default=0)

    class Meta:
        verbose_name = _("symbol file")
        verbose_name_plural = _("symbol files")
        indexes = [models.Index(fields=["key", "name"], name="symbolfile_lookup")]

    def __str__(self):
        return f"{self.name} {self.key}"


class PendingDownload(models.Model):
    """Downloads of a version counted since the last flush, when the shared cache
    is not Redis (packages/downloads.py): one row per version at most, deleted
    by the flush that moves it into download_count."""

    version = models.OneToOneField(
        PackageVersion, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    downloads = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"{self.version_id}: {self.downloads}"


class OwnershipRequestQuerySet(models.QuerySet):
    def pending(self, now=None):
        """Requests not yet answered and not expired (GALLEY_CONSENT_DAYS)."""
        from accounts.models import consent_cutoff

        return self.filter(created__gt=consent_cutoff(now))

    def expired(self, now=None):
        from accounts.models import consent_cutoff

        return self.filter(created__lte=consent_cutoff(now))


class OwnershipRequest(models.Model):
    """An offer to make an account an owner of a package (nuget.org's ownership
    requests). Nothing changes until the invited account (a person, or an
    administrator of an organization) accepts; a declined, cancelled or accepted
    request is deleted, an expired one is ignored and cleared."""

    registration = models.ForeignKey(
        PackageRegistration,
        on_delete=models.CASCADE,
        related_name="ownership_requests",
        verbose_name=_("package"),
    )
    new_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="ownership_requests",
        verbose_name=_("new owner"),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    created = models.DateTimeField(_("requested"), auto_now_add=True)

    objects = OwnershipRequestQuerySet.as_manager()

    class Meta:
        ordering = ["registration", "created"]
        verbose_name = _("ownership request")
        verbose_name_plural = _("ownership requests")
        constraints = [
            models.UniqueConstraint(
                fields=["registration", "new_owner"], name="one_request_per_package_and_owner"
            )
        ]

    def __str__(self):
        return f"{self.new_owner} for {self.registration}"


class ReservedPrefixQuerySet(models.QuerySet):
    def matching(self, package_id: str):
        """Reservations that cover `package_id`: its exact id, or a prefix of it
        followed by `*` (`Contoso.*` covers `Contoso.Core`), in one query."""
        normalized = package_id.lower()
        candidates = [normalized] + [f"{normalized[:end]}*" for end in range(len(normalized) + 1)]
        return self.filter(normalized_prefix__in=candidates)


class ReservedPrefix(models.Model):
    """A package id prefix reserved for an owner by an administrator (nuget.org's
    ID prefix reservation): nobody else may push a new id under it. `Contoso.*`
    covers every id that starts with `Contoso.`; `Contoso` alone only that id.
    Several owners may share a prefix, one row each."""

    prefix = models.CharField(
        _("prefix"),
        max_length=101,
        help_text=_("A package id, or the start of one followed by * (Contoso.*)."),
    )
    normalized_prefix = models.CharField(max_length=101, editable=False, db_index=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="reserved_prefixes",
        verbose_name=_("owner"),
    )
    created = models.DateTimeField(_("reserved"), auto_now_add=True)

    objects = ReservedPrefixQuerySet.as_manager()

    class Meta:
        ordering = ["normalized_prefix"]
        verbose_name = _("reserved prefix")
        verbose_name_plural = _("reserved prefixes")
        constraints = [
            models.UniqueConstraint(
                fields=["normalized_prefix", "owner"], name="one_reservation_per_prefix_and_owner"
            )
        ]

    def __str__(self):
        return f"{self.prefix} ({self.owner})"

    def save(self, *args, **kwargs):
        self.normalized_prefix = self.prefix.lower()
        super().save(*args, **kwargs)

    def clean(self):
        from django.core.exceptions import ValidationError

        body = self.prefix.removesuffix("*")
        if not body or not re.fullmatch(r"[A-Za-z0-9._-]+", body):
            raise ValidationError(
                {"prefix": _("Enter a package id, or the start of one followed by * (Contoso.*).")}
            )


class PackageSearch(models.Model):
    """What search reads of a package: one row per version that is the package's
    latest listed one for some kind of search (packages/search.py keeps them).

    nuget.org shows a package by its latest version among those a search may
    show: stable only, or pre-releases too; SemVer 1.0.0 only, or 2.0.0 too. A
    package whose newest version is stable has one row, serving all four; one
    with a newer pre-release has two. A package with no listed version has none.
    """

    registration = models.ForeignKey(
        PackageRegistration, on_delete=models.CASCADE, related_name="search_rows"
    )
    latest = models.ForeignKey(PackageVersion, on_delete=models.CASCADE, related_name="+")
    # For which searches this is the latest version (prerelease=, semVerLevel=).
    stable = models.BooleanField(default=False)
    prerelease = models.BooleanField(default=False)
    stable_semver2 = models.BooleanField(default=False)
    prerelease_semver2 = models.BooleanField(default=False)
    # Copied from the registration and the latest version, so that search ranks
    # and filters this table alone.
    normalized_id = models.CharField(max_length=100)
    package_types = models.CharField(max_length=1000, blank=True)
    # Every version's downloads, unlisted ones too, as nuget.org's totalDownloads.
    downloads = models.PositiveBigIntegerField(default=0)
    # PostgreSQL only (GIN-indexed): the id's words weigh most, then title and
    # tags, then description. Other databases match substrings of the version.
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["registration", "latest"], name="one_search_row_per_latest_version"
            )
        ]

    def __str__(self):
        return f"{self.normalized_id} (search)"


class AbuseReport(models.Model):
    """Someone's report that a package version is abusive, made on the page the
    service index's ReportAbuseUriTemplate points to (packages/flows/abuse.py).

    Kept for the administrators, who are e-mailed each one. The id and version
    are kept as written, since the usual answer to a report (deleting the
    version for good) removes the version itself.
    """

    class Reason(models.TextChoices):
        # nuget.org's reasons, less the bug reports it sends to the owners instead.
        MALICIOUS_CODE = "malicious_code", _("The package contains malicious code")
        SECURITY_VULNERABILITY = (
            "security_vulnerability",
            _("The package has a security vulnerability"),
        )
        COPYRIGHT = "copyright", _("The package infringes my copyright or trademark")
        PRIVATE_DATA = "private_data", _("The package contains private or confidential data")
        FRAUDULENT = "fraudulent", _("The package owner is fraudulently claiming authorship")
        OTHER = "other", _("Other")

    created = models.DateTimeField(_("reported"), auto_now_add=True, db_index=True)
    package_id = models.CharField(_("package id"), max_length=100)
    version = models.CharField(_("version"), max_length=80)
    package_version = models.ForeignKey(
        PackageVersion,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="abuse_reports",
        verbose_name=_("package version"),
    )
    reason = models.CharField(_("reason"), max_length=32, choices=Reason.choices)
    message = models.TextField(_("message"))
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reported by"),
    )
    reporter_email = models.EmailField(_("reporter's e-mail address"))
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = _("abuse report")
        verbose_name_plural = _("abuse reports")

    def __str__(self):
        return f"{self.package_id} {self.version}: {self.get_reason_display()}"


class Advisory(models.Model):
    """A security advisory about one package id, imported from the GitHub Advisory
    Database's OSV files (packages/advisories.py); one row per advisory and package.

    `ranges` are the affected intervals as OSV writes them, one dict per interval:
    {"introduced": "1.0.0", "fixed": "1.2.3"} or {"introduced": "0", "last_affected": …}.
    """

    class Severity(models.IntegerChoices):
        # NuGet's numbers (vulnerability-info.md, the registration's "severity").
        LOW = 0, _("low")
        MODERATE = 1, _("moderate")
        HIGH = 2, _("high")
        CRITICAL = 3, _("critical")

    advisory_id = models.CharField(_("advisory"), max_length=100)
    url = models.CharField(_("advisory URL"), max_length=2000)
    severity = models.PositiveSmallIntegerField(_("severity"), choices=Severity.choices)
    package_id = models.CharField(_("package id"), max_length=100)
    normalized_id = models.CharField(max_length=100, db_index=True, editable=False)
    ranges = models.JSONField(_("affected ranges"), default=list)
    withdrawn = models.BooleanField(_("withdrawn"), default=False)
    modified = models.CharField(_("modified (as the advisory says)"), max_length=40, blank=True)
    imported = models.DateTimeField(_("imported"), auto_now=True)

    class Meta:
        ordering = ["normalized_id", "advisory_id"]
        verbose_name = _("security advisory")
        verbose_name_plural = _("security advisories")
        constraints = [
            models.UniqueConstraint(
                fields=["advisory_id", "normalized_id"], name="one_advisory_row_per_package"
            )
        ]

    def __str__(self):
        return f"{self.advisory_id} ({self.package_id})"


from packages.upstreams.models import (  # noqa: E402,F401  (models of the packages app)
    BlockedUpstreamVersion,
    CachedUpstreamVersion,
    UpstreamAllowance,
    UpstreamMetadata,
)
