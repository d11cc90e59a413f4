from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A Galley account: a person who signs in and holds API keys."""

    # E-mails about one's own keys (created, regenerated, expiring). Security
    # notices, such as a revocation by someone else, are always sent.
    notify_key_events = models.BooleanField(_("e-mail me about my API keys"), default=True)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
