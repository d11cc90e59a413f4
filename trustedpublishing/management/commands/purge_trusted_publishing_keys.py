from django.core.management.base import BaseCommand

from trustedpublishing.flows import purge_expired_keys


class Command(BaseCommand):
    help = "Delete the expired one-hour keys that Trusted Publishing exchanges created (for cron)."

    def handle(self, *args, **options):
        count = purge_expired_keys()
        self.stdout.write(f"Deleted {count} expired Trusted Publishing keys.")
