"""The cache table, so that `manage.py migrate` alone prepares a working site.

Without Redis, Galley's cache (sign-in rate limits, two-factor replay
protection, throttles) is a database table that `createcachetable` makes;
sign-in answered 500 when only `migrate` had been run. Creating it here makes
the standard step enough. It does nothing when the cache is Redis, and nothing
if the table exists already.
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_invitations")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
