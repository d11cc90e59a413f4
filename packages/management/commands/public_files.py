"""Make GALLEY_PUBLIC_FILES agree with the packages (after turning it on, or a restore)."""

from django.core.management.base import BaseCommand

from packages import public_files


class Command(BaseCommand):
    help = (
        "Make the folder nginx sends public packages from (GALLEY_PUBLIC_FILES) agree with "
        "the packages: a link for every version pushed here, no other link. Safe to run "
        "while Galley serves; run it as the user Galley runs as."
    )

    def handle(self, *args, **options):
        if public_files.root() is None:
            self.stdout.write("GALLEY_PUBLIC_FILES is not set: nothing to do.")
            return
        made, removed, strangers = public_files.rebuild()
        for path in strangers:
            self.stderr.write(f"Left alone, not a link Galley made: {path}")
        self.stdout.write(f"Links made: {made}. Entries removed: {removed}.")
