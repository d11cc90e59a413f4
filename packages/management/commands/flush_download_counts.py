"""Move download counts from the cache into the database (run from cron)."""

from django.core.management.base import BaseCommand

from packages.downloads import flush_download_counts


class Command(BaseCommand):
    help = (
        "Move the downloads counted in the cache into each version's download count. "
        "Safe to run on several instances at once and as often as wanted."
    )

    def handle(self, *args, **options):
        moved = flush_download_counts()
        if moved is None:
            self.stdout.write("Another instance is flushing download counts; nothing done.")
        else:
            self.stdout.write(f"{moved} downloads moved to the database.")
