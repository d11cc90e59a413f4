from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """A Galley account: a person who signs in and holds API keys."""

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
