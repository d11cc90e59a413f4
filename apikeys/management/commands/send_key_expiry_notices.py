from django.core.management.base import BaseCommand

from apikeys.notices import send_expiry_notices


class Command(BaseCommand):
    help = "E-mail holders of keys that expire soon or have expired. Safe to run as often as you like (cron)."

    def handle(self, *args, **options):
        sent = send_expiry_notices()
        self.stdout.write(f"{sent} expiry notice(s) sent.")
