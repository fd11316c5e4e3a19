"""Default opening hours for every caisse (Monday to Friday, 08:30-12:00 and 13:30-17:00), editable in the admin;
Mayotte's fund keeps its own time zone."""

import datetime as dt

from django.db import migrations

DEFAULT_PERIODS = [((8, 30), (12, 0)), ((13, 30), (17, 0))]


def seed(apps, schema_editor):
    Caisse = apps.get_model("referential", "Caisse")
    OpeningPeriod = apps.get_model("referential", "OpeningPeriod")
    Caisse.objects.filter(department="976").update(time_zone="Indian/Mayotte")
    rows = [
        OpeningPeriod(caisse_id=code, weekday=weekday, opens=dt.time(*opens), closes=dt.time(*closes))
        for code in Caisse.objects.values_list("code", flat=True)
        for weekday in range(5)
        for opens, closes in DEFAULT_PERIODS
    ]
    OpeningPeriod.objects.bulk_create(rows, ignore_conflicts=True)


def unseed(apps, schema_editor):
    apps.get_model("referential", "OpeningPeriod").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("referential", "0004_calendars")]
    operations = [migrations.RunPython(seed, unseed)]
