"""The secure messaging channel (`secure_message`, 14 characters: the column widens to 16).

On SQLite, Django changes a column by rebuilding the table, which drops its triggers: the change log's triggers
of 0006 are created again after it. PostgreSQL widens a varchar in place and keeps them."""

import importlib

from django.conf import settings
from django.db import migrations, models

_CHANGE_LOG = importlib.import_module("omniguichet.crm.migrations.0006_contact_change_log")


_RECREATE = [
    "DROP TRIGGER IF EXISTS crm_contact_deleted",
    "DROP TRIGGER IF EXISTS crm_contact_updated",
    *_CHANGE_LOG.SQLITE,
]


def _sqlite_triggers(statements: list[str]):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            for sql in statements:
                schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0006_contact_change_log"),
        ("referential", "0003_field_validators"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Going back, the column's change rebuilds the table again: the triggers are created once it is done.
        migrations.RunPython(migrations.RunPython.noop, _sqlite_triggers(_RECREATE)),
        migrations.RemoveConstraint(
            model_name="contact",
            name="contact_channel_known",
        ),
        migrations.AlterField(
            model_name="contact",
            name="channel",
            field=models.CharField(
                choices=[
                    ("web", "web account"),
                    ("app", "mobile app"),
                    ("kiosk", "kiosk"),
                    ("phone", "phone"),
                    ("email", "e-mail"),
                    ("reception", "reception desk"),
                    ("letter", "letter"),
                    ("sms", "SMS"),
                    ("push", "push notification"),
                    ("secure_message", "secure messaging"),
                ],
                max_length=16,
                verbose_name="channel",
            ),
        ),
        migrations.AddConstraint(
            model_name="contact",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "channel__in",
                        [
                            "web",
                            "app",
                            "kiosk",
                            "phone",
                            "email",
                            "reception",
                            "letter",
                            "sms",
                            "push",
                            "secure_message",
                        ],
                    )
                ),
                name="contact_channel_known",
            ),
        ),
        migrations.RunPython(_sqlite_triggers(_RECREATE), migrations.RunPython.noop),
    ]
