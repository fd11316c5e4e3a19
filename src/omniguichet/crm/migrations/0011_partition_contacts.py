"""The contact table partitioned by month of started_at on PostgreSQL (docs/scale.md); SQLite keeps one table.

(source, external_id) stays unique across months through crm_contactkey, written by the triggers below."""

from django.db import migrations, models

from omniguichet.core.partitions import partition_by_month

KEY_TRIGGERS = [
    """CREATE FUNCTION crm_contact_key_write() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'INSERT' AND OLD.external_id IS NOT NULL THEN
            DELETE FROM crm_contactkey WHERE source = OLD.source AND external_id = OLD.external_id;
        END IF;
        IF TG_OP <> 'DELETE' AND NEW.external_id IS NOT NULL THEN
            INSERT INTO crm_contactkey (source, external_id, contact_id) VALUES (NEW.source, NEW.external_id, NEW.id);
        END IF;
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER crm_contact_key_inserted AFTER INSERT ON crm_contact FOR EACH ROW"
    " WHEN (NEW.external_id IS NOT NULL) EXECUTE FUNCTION crm_contact_key_write()",
    "CREATE TRIGGER crm_contact_key_updated AFTER UPDATE ON crm_contact FOR EACH ROW"
    " WHEN (OLD.source IS DISTINCT FROM NEW.source OR OLD.external_id IS DISTINCT FROM NEW.external_id"
    " OR OLD.id <> NEW.id) EXECUTE FUNCTION crm_contact_key_write()",
    "CREATE TRIGGER crm_contact_key_deleted AFTER DELETE ON crm_contact FOR EACH ROW"
    " WHEN (OLD.external_id IS NOT NULL) EXECUTE FUNCTION crm_contact_key_write()",
]


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    partition_by_month(
        schema_editor, table="crm_contact", column="started_at", drop_unique=("contact_external_once",)
    )
    schema_editor.execute(
        "INSERT INTO crm_contactkey (source, external_id, contact_id)"
        " SELECT source, external_id, id FROM crm_contact WHERE external_id IS NOT NULL"
    )
    for statement in KEY_TRIGGERS:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0010_labelled_examples"),
    ]

    operations = [
        migrations.CreateModel(
            name="ContactKey",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "source", "external_id", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("source", models.CharField(max_length=64, verbose_name="source")),
                ("external_id", models.CharField(max_length=128, verbose_name="external id")),
                ("contact_id", models.BigIntegerField(verbose_name="contact id")),
            ],
            options={
                "verbose_name": "contact key",
                "verbose_name_plural": "contact keys",
            },
        ),
        # Not reversible: going back would have to merge the months into one table again.
        migrations.RunPython(partition, elidable=False),
    ]
