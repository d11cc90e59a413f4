"""Remove cached upstream packages nobody downloaded for a while (run from cron)."""

from django.core.management.base import BaseCommand

from packages.upstreams import cache


class Command(BaseCommand):
    help = (
        "Delete the cached upstream package versions not downloaded for --days days "
        "(their files and rows, audited); they are fetched again if asked for."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, required=True)

    def handle(self, *args, days, **options):
        if days < 1:
            self.stderr.write("--days must be at least 1.")
            raise SystemExit(2)
        removed = cache.prune(days)
        self.stdout.write(f"{removed} cached upstream versions deleted.")
