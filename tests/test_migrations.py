from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_every_model_change_has_its_migration():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out)
    except SystemExit:
        pytest.fail(f"a model change has no migration: run makemigrations\n{out.getvalue()}")


@pytest.mark.django_db(transaction=True)
def test_download_counts_waiting_in_the_cache_move_out_of_it():
    """Counts not flushed before the upgrade move to the PendingDownload table."""
    from django.core.cache import cache
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before, after = [("packages", "0008_search_rows")], [("packages", "0009_pending_downloads")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    apps = executor.loader.project_state(before).apps
    registration = apps.get_model("packages", "PackageRegistration").objects.create(
        package_id="Contoso.Core", normalized_id="contoso.core"
    )
    versions = apps.get_model("packages", "PackageVersion").objects
    counted = versions.create(
        registration=registration, version="1.0.0", normalized_version="1.0.0", size=1
    )
    versions.create(  # one with no count waiting
        registration=registration, version="2.0.0", normalized_version="2.0.0", size=1
    )
    cache.set(f"galley:downloads:{counted.pk}", 7, timeout=None)

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    pending = executor.loader.project_state(after).apps.get_model("packages", "PendingDownload")
    assert dict(pending.objects.values_list("version_id", "downloads")) == {counted.pk: 7}
    assert cache.get(f"galley:downloads:{counted.pk}") is None
    call_command("migrate", verbosity=0)
