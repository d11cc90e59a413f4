from django.conf import settings
from django.db import migrations, models
from django.db.models.functions import Lower


def rename_case_duplicates(apps, schema_editor):
    """Names that differ only in case (which the form refused, but nothing below it)
    get a number, so that the constraint can be added: the oldest key keeps its name."""
    ApiKey = apps.get_model("apikeys", "ApiKey")
    keys = list(ApiKey.objects.order_by("holder_id", "created", "pk").only("holder", "name"))
    taken = {(key.holder_id, key.name.lower()) for key in keys}
    seen = set()
    for key in keys:
        name, number = key.name, 1
        while (key.holder_id, name.lower()) in seen or (
            name != key.name and (key.holder_id, name.lower()) in taken
        ):
            number += 1
            name = f"{key.name[:245]} ({number})"
        if name != key.name:
            ApiKey.objects.filter(pk=key.pk).update(name=name)
            taken.add((key.holder_id, name.lower()))
        seen.add((key.holder_id, name.lower()))

class Migration(migrations.Migration):
    dependencies = [
        ("apikeys", "0004_apikey_trusted_publishing_policy"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(rename_case_duplicates, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="apikey", name="unique_key_name_per_holder"),
        migrations.AddConstraint(
            model_name="apikey",
            constraint=models.UniqueConstraint(
                Lower("name"), models.F("holder"), name="unique_key_name_per_holder_any_case"
            ),
        ),
    ]
