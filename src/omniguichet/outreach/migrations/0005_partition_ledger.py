"""The outbound ledger partitioned by month of created_at on PostgreSQL (docs/scale.md); SQLite keeps one table.

Every idempotency key stays unique across months through outreach_outboundkey, written by the triggers below."""

import django.db.models.deletion
from django.db import migrations, models

from omniguichet.core.partitions import partition_by_month

KEY_TRIGGERS = [
    """CREATE FUNCTION outreach_outbound_key_write() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'INSERT' THEN
            DELETE FROM outreach_outboundkey WHERE idempotency_key = OLD.idempotency_key;
        END IF;
        IF TG_OP <> 'DELETE' THEN
            INSERT INTO outreach_outboundkey (idempotency_key, message_id, created_at)
            VALUES (NEW.idempotency_key, NEW.id, NEW.created_at);
        END IF;
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER outreach_outbound_key_inserted AFTER INSERT ON outreach_outboundmessage FOR EACH ROW"
    " EXECUTE FUNCTION outreach_outbound_key_write()",
    "CREATE TRIGGER outreach_outbound_key_updated AFTER UPDATE ON outreach_outboundmessage FOR EACH ROW"
    " WHEN (OLD.idempotency_key <> NEW.idempotency_key OR OLD.id <> NEW.id OR OLD.created_at <> NEW.created_at)"
    " EXECUTE FUNCTION outreach_outbound_key_write()",
    "CREATE TRIGGER outreach_outbound_key_deleted AFTER DELETE ON outreach_outboundmessage FOR EACH ROW"
    " EXECUTE FUNCTION outreach_outbound_key_write()",
]


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    partition_by_month(
        schema_editor, table="outreach_outboundmessage", column="created_at",
        drop_unique=("outreach_outboundmessage_idempotency_key_key",),
    )  # fmt: skip
    schema_editor.execute(
        "INSERT INTO outreach_outboundkey (idempotency_key, message_id, created_at)"
        " SELECT idempotency_key, id, created_at FROM outreach_outboundmessage"
    )
    for statement in KEY_TRIGGERS:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("outreach", "0004_cap_on_send_times"),
    ]

    operations = [
        migrations.CreateModel(
            name="OutboundKey",
            fields=[
                (
                    "idempotency_key",
                    models.CharField(
                        max_length=200, primary_key=True, serialize=False, verbose_name="idempotency key"
                    ),
                ),
                ("message_id", models.BigIntegerField(verbose_name="message id")),
                ("created_at", models.DateTimeField(verbose_name="created at")),
            ],
            options={
                "verbose_name": "outbound key",
                "verbose_name_plural": "outbound keys",
            },
        ),
        migrations.AlterField(
            model_name="outboundmessage",
            name="merged_into",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="merged",
                to="outreach.outboundmessage",
                verbose_name="merged into",
            ),
        ),
        # Not reversible: going back would have to merge the months into one table again.
        migrations.RunPython(partition, elidable=False),
    ]
