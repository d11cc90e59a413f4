from django.core.management.base import BaseCommand

from trustedpublishing.flows import prune_used_tokens, purge_expired_keys


class Command(BaseCommand):
    help = (
        "Delete the expired one-hour keys that Trusted Publishing exchanges created, and "
        "forget the CI tokens that can no longer be used (for cron)."
    )

    def handle(self, *args, **options):
        count = purge_expired_keys()
        tokens = prune_used_tokens()
        self.stdout.write(
            f"Deleted {count} expired Trusted Publishing keys and {tokens} used CI tokens."
        )
