"""Write every package's search rows again (after versions were imported in bulk)."""

from django.core.management.base import BaseCommand

from packages.models import PackageSearch
from packages.search import rows as search


class Command(BaseCommand):
    help = (
        "Rebuild the rows search and autocomplete read, one per package and latest "
        "version, from the versions. Pushes, unlists, relists and deletions keep them "
        "current; this is for versions written some other way (bulk imports, SQL)."
    )

    def handle(self, *args, **options):
        search.rebuild()
        self.stdout.write(f"{PackageSearch.objects.count()} search rows written.")
