"""Make GALLEY_PUBLIC_FILES agree with the packages (after turning it on, or a restore)."""

from django.core.management.base import BaseCommand

from packages import public_files


class Command(BaseCommand):
    help = (
        "Make the folder nginx sends public packages from (GALLEY_PUBLIC_FILES) agree with "
        "the packages: a link for every version pushed here, nothing else. Safe to run "
        "while Galley serves."
    )

    def handle(self, *args, **options):
        if public_files.root() is None:
            self.stdout.write("GALLEY_PUBLIC_FILES is not set: nothing to do.")
            return
        made, removed = public_files.rebuild()
        self.stdout.write(f"Links made: {made}. Entries removed: {removed}.")
