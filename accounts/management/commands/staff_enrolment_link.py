"""Print a one-time link with which a staff member sets up two-factor authentication.

For a new site's first administrator (made by `createsuperuser`, with no confirmed
address to mail it to), or staff whose mail does not arrive. Whoever can run this
command already holds the server.
"""

from django.core.management.base import BaseCommand, CommandError

from accounts import staff_two_factor
from accounts.models import User


class Command(BaseCommand):
    help = (
        "Print a link (good once, for 30 minutes) that lets a staff member without "
        "two-factor authentication set it up: open it signed in as them."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--base-url",
            default="",
            help="The site's address, e.g. https://nuget.example.com (else a path is printed).",
        )

    def handle(self, *args, username, base_url, **options):
        user = User.objects.people().filter(username__iexact=username).first()
        if user is None or not user.is_active or not user.is_staff:
            raise CommandError(f"There is no active staff member named {username!r}.")
        path = staff_two_factor.link_path(user)
        self.stdout.write(
            f"{base_url.rstrip('/')}{path}\n"
            f"Sign in as {user.username}, then open this link within "
            f"{staff_two_factor.LINK_MINUTES} minutes. It works once."
        )
