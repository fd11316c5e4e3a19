"""The secure messaging channel (`secure_message`, 14 characters: the column widens to 16).

The change log's triggers of 0006 are dropped around the column's change and created again after it."""

import importlib

from django.conf import settings
from django.db import migrations, models

_CHANGE_LOG = importlib.import_module("omniguichet.crm.migrations.0006_contact_change_log")


# The change log's update trigger names the column: PostgreSQL refuses to change a column a trigger uses, and
# SQLite changes it by rebuilding the table, which drops its triggers. Dropped before, created again after.
_UPDATED = next(sql for sql in _CHANGE_LOG.POSTGRESQL if sql.startswith("CREATE TRIGGER crm_contact_updated"))
DROP = {
    "postgresql": ["DROP TRIGGER IF EXISTS crm_contact_updated ON crm_contact"],
    "sqlite": ["DROP TRIGGER IF EXISTS crm_contact_deleted", "DROP TRIGGER IF EXISTS crm_contact_updated"],
}
CREATE = {"postgresql": [_UPDATED], "sqlite": list(_CHANGE_LOG.SQLITE)}


def _run(statements: dict[str, list[str]]):
    def run(apps, schema_editor):
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0006_contact_change_log"),
        ("referential", "0003_field_validators"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(_run(DROP), _run(CREATE)),
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
        migrations.RunPython(_run(CREATE), _run(DROP)),
    ]
