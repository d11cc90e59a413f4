import factory
from allauth.account.models import EmailAddress

from accounts.models import User

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    """A user who has confirmed their e-mail address (pass verified=False otherwise)."""

    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def verified(user, create, extracted, **kwargs):
        if create:
            EmailAddress.objects.create(
                user=user, email=user.email, primary=True, verified=extracted is not False
            )

    @factory.post_generation
    def two_factor(user, create, extracted, **kwargs):
        """Staff have two-factor authentication, as the admin requires (pass
        two_factor=False for one who has not set it up); others have it when asked."""
        if create and (extracted or (user.is_staff and extracted is not False)):
            enable_totp(user)


STAFF_TOTP_SECRET = "JBSWY3DPEHPK3PXP"


def enable_totp(user, secret: str = STAFF_TOTP_SECRET):
    """Turn on TOTP for `user` as the setup page would (the secret is stored encrypted)."""
    from allauth.mfa.totp.internal.auth import TOTP

    return TOTP.activate(user, secret)


class PackageRegistrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "packages.PackageRegistration"
        skip_postgeneration_save = True

    package_id = factory.Sequence(lambda n: f"Package{n}")

    @factory.post_generation
    def owners(registration, create, extracted, **kwargs):
        if create and extracted:
            registration.owners.set(extracted)


def make_key(
    holder,
    *,
    owner=None,
    scopes=("package:push",),
    glob_patterns=("*",),
    packages=(),
    name=None,
    expires_in_days=365,
):
    """Create a key the way the API Keys page does; returns (key, secret)."""
    from apikeys.models import ApiKey

    return ApiKey.objects.create_key(
        holder=holder,
        owner=owner or holder,
        name=name or f"key-{ApiKey.objects.count() + 1}",
        scopes=list(scopes),
        glob_patterns=list(glob_patterns),
        packages=list(packages),
        expires_in_days=expires_in_days,
    )
