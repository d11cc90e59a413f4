from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PackageRegistrationQuerySet(models.QuerySet):
    def owned_by(self, owner):
        return self.filter(owners=owner)

    def by_owner(self, owner_ids) -> dict[int, list]:
        """{owner id: [their packages]} for several owners, in one query."""
        through = PackageRegistration.owners.through.objects.filter(user_id__in=owner_ids)
        result: dict[int, list] = {}
        for link in through.select_related("packageregistration").order_by(
            "packageregistration__normalized_id"
        ):
            result.setdefault(link.user_id, []).append(link.packageregistration)
        return result

    def get_by_id(self, package_id: str):
        """NuGet ids are case-insensitive: "Contoso.Core" and "contoso.core" are one package."""
        return self.get(normalized_id=package_id.lower())


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
