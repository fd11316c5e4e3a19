"""The table of the database cache (settings.CACHES when Redis is not configured): Django's `createcachetable`,
run by the migrations so that no installation forgets it. Created whatever the cache configured now, so that
switching from Redis to the database needs nothing more."""

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

TABLE = "core_cache"


def create(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, TABLE, dry_run=False)


def drop(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0005_worker_leases_and_schedule_slots"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
