"""Import security advisories (OSV files of the GitHub Advisory Database) from cron."""

from django.core.management.base import BaseCommand, CommandError

from packages import advisories


class Command(BaseCommand):
    help = (
        "Import the NuGet advisories of the GitHub Advisory Database (OSV JSON files) from "
        "a folder, a .zip or a .tar.gz. Enqueued as a task for the worker (db_worker); "
        "--now imports in this process and reports each skipped file."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="a folder, .zip or .tar.gz of OSV advisory files")
        parser.add_argument("--now", action="store_true", help="import here, not in a task")

    def handle(self, *args, path, now, **options):
        if now:
            try:
                report = advisories.import_advisories(path)
            except (advisories.SourceError, OSError, ValueError) as error:
                raise CommandError(str(error)) from None
            for name, reason in report.skipped:
                self.stderr.write(f"skipped {name}: {reason}")
            self.stdout.write(
                f"{report.files} files read, {report.written} advisories written, "
                f"{report.unchanged} unchanged, {len(report.skipped)} files skipped."
            )
            return
        result = advisories.import_advisories_task.enqueue(path)
        self.stdout.write(f"Import of {path} enqueued (task {result.id}).")
