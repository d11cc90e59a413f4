from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AccountManager(UserManager):
    def people(self):
        return self.filter(is_organization=False)

    def create_organization(self, name: str, *, admin):
        """An organization: an account that owns packages but never signs in."""
        with transaction.atomic():
            organization = self.model(username=name, is_organization=True)
            organization.set_unusable_password()
            organization.save()
            Membership.objects.create(
                organization=organization, member=admin, role=Membership.Role.ADMIN
            )
        return organization


class User(AbstractUser):
    """A Galley account: a person who signs in and holds API keys, or an organization.

    Organizations are accounts too, as on nuget.org: they share the namespace
    of user names and can own packages and be a key's package owner, but they
    have no password and no e-mail address, so nobody can sign in as one.
    """

    is_organization = models.BooleanField(_("organization"), default=False, editable=False)
    # E-mails about one's own keys (created, regenerated, expiring). Security
    # notices, such as a revocation by someone else, are always sent.
    notify_key_events = models.BooleanField(_("e-mail me about my API keys"), default=True)
    # nuget.org's "Allow others to contact me" (EmailAllowed): whether signed-in people
    # may write to this account from a package's Contact Owners page. For an
    # organization, whether its administrators receive those messages.
    allow_contact = models.BooleanField(
        _("allow others to contact me about my packages"), default=True
    )
    # Chosen with the footer's switcher; pages and e-mails use it.
    language = models.CharField(
        _("language"), max_length=10, blank=True, choices=settings.LANGUAGES
    )

    # An organization's contact address (nuget.org asks for one): where its
    # notices may go once an administrator confirms it by the e-mailed link
    # (accounts/flows.py). People's addresses are allauth's EmailAddress rows.
    contact_email = models.EmailField(_("contact e-mail address"), blank=True)
    contact_email_confirmed = models.BooleanField(_("contact address confirmed"), default=False)

    objects = AccountManager()

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"


class MembershipQuerySet(models.QuerySet):
    def accepted(self):
        return self.filter(accepted=True)

    def pending(self, now=None):
        """Invitations not yet accepted and not expired (GALLEY_CONSENT_DAYS)."""
        return self.filter(accepted=False, created__gt=consent_cutoff(now))

    def expired(self, now=None):
        return self.filter(accepted=False, created__lte=consent_cutoff(now))


def consent_cutoff(now=None):
    """Invitations and ownership requests made before this have expired."""
    return (now or timezone.now()) - timedelta(days=settings.GALLEY_CONSENT_DAYS)


class Membership(models.Model):
    class Role(models.TextChoices):
        # nuget.org's roles: both may push and unlist the organization's packages.
        ADMIN = "admin", _("Administrator")
        COLLABORATOR = "collaborator", _("Collaborator")

    organization = models.ForeignKey(
        User,
        on_delete=models.CASCADE,
        related_name="memberships",
        limit_choices_to={"is_organization": True},
    )
    member = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="organization_memberships"
    )
    role = models.CharField(
        _("role"), max_length=16, choices=Role.choices, default=Role.COLLABORATOR
    )
    created = models.DateTimeField(_("member since"), auto_now_add=True)
    # An invitation until its member accepts it (nuget.org's pending members):
    # a pending membership gives no rights at all (accounts/access.py counts
    # accepted ones only). Rows made directly (fixtures, the admin) are accepted;
    # accounts/flows.py's add_member makes pending ones.
    accepted = models.BooleanField(_("accepted"), default=True)
    invited_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("invited by"),
    )

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["organization__username", "member__username"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "member"], name="one_membership_per_member"
            )
        ]

    def __str__(self):
        return f"{self.member} in {self.organization} ({self.role})"

    @property
    def is_admin(self) -> bool:
        return self.accepted and self.role == self.Role.ADMIN


class InvitationQuerySet(models.QuerySet):
    def pending(self, now=None):
        from django.utils import timezone

        return self.filter(accepted_at__isnull=True, expires__gt=now or timezone.now())


class Invitation(models.Model):
    """An administrator's invitation to create an account (GALLEY_SIGNUP=closed).

    Only a hash of the link's token is stored, as for API keys; the link works
    once, until `expires`.
    """

    email = models.EmailField(_("e-mail address"))
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("invited by"),
    )
    created = models.DateTimeField(_("sent"), auto_now_add=True)
    expires = models.DateTimeField(_("expires"))
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    user = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("account created"),
    )

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")

    def __str__(self):
        return self.email
