"""Download counts leave the default cache (packages/downloads.py).

Counts not flushed yet move from their old cache keys to where they wait now:
the PendingDownload table, or the Redis hash when the cache is Redis.
"""

import django.db.models.deletion
from django.db import migrations, models

OLD_KEY = "galley:downloads:{}"


def move_pending_counts(apps, schema_editor):
    from django.conf import settings
    from django.core.cache import cache

    PackageVersion = apps.get_model("packages", "PackageVersion")
    PendingDownload = apps.get_model("packages", "PendingDownload")
    default = settings.CACHES["default"]
    redis = None
    if default["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
        import redis as redis_py

        redis = redis_py.Redis.from_url(default["LOCATION"])
    pks = list(PackageVersion.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(pks), 1000):
        keys = {OLD_KEY.format(pk): pk for pk in pks[start : start + 1000]}
        try:
            counts = cache.get_many(list(keys))
        except Exception:  # no cache table yet (a new site) or no cache at all
            return
        for key, count in counts.items():
            if not count:
                continue
            if redis is not None:
                redis.hincrby(f"{default.get('KEY_PREFIX', '')}:downloads", str(keys[key]), count)
            else:
                PendingDownload.objects.create(version_id=keys[key], downloads=count)
        cache.delete_many(list(counts))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_cache_table"),
        ("packages", "0008_search_rows"),
    ]

    operations = [
        migrations.CreateModel(
            name="PendingDownload",
            fields=[
                (
                    "version",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="packages.packageversion",
                    ),
                ),
                ("downloads", models.PositiveBigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(move_pending_counts, migrations.RunPython.noop),
    ]
