"""Count the downloads nginx sent from GALLEY_PUBLIC_FILES, from its log (run from cron)."""

import hashlib
import socket
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from packages.download_log import count_log


class Command(BaseCommand):
    help = (
        "Count the package downloads nginx sent itself from GALLEY_PUBLIC_FILES, read from "
        "its log (the galley_downloads format of docs/deploy.md) since the last run."
    )

    def add_arguments(self, parser):
        parser.add_argument("log", type=Path, help="nginx's log of downloads")
        parser.add_argument(
            "--state",
            type=Path,
            help="where the command keeps how far it has read "
            "(default: a file under GALLEY_DATA_DIR/download-logs/)",
        )

    def handle(self, *args, log: Path, state: Path | None, **options):
        log = log.absolute()
        if state is None:
            # Per host as well as per log: each host's nginx writes its own, and
            # GALLEY_DATA_DIR may be shared between hosts.
            place = f"{socket.gethostname()}:{log}"
            name = hashlib.sha256(place.encode()).hexdigest()[:16]
            state = settings.DATA_DIR / "download-logs" / f"{name}.json"
        try:
            counted = count_log(log, state)
        except OSError as error:
            raise CommandError(f"{error.filename}: {error.strerror}") from None
        if counted is None:
            self.stdout.write(f"Another run is counting {log}; nothing done.")
        else:
            self.stdout.write(f"Downloads counted from {log}: {counted}.")
