"""Change log of contacts for the analytics warehouse export (see docs/analytics.md)."""

import django.db.models.functions.datetime
from django.db import migrations, models

# The columns the analytics warehouse exports (analytics.services.CONTACT_FIELDS without the id).
EXPORTED = (
    "person_id", "caisse_id", "channel", "direction", "motive_id", "started_at", "answered", "responded_at",
    "on_appointment", "waited_seconds",
)  # fmt: skip

POSTGRESQL = [
    # Every statement inserting contacts takes its transaction id BEFORE the column default draws the contact
    # id from the sequence: an id allocated by a transaction still running is then always covered by the
    # running transactions of a later snapshot (pg_current_snapshot), which the export's rule relies on.
    """CREATE FUNCTION crm_contact_xid_first() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_current_xact_id(); RETURN NULL; END $$""",
    """CREATE TRIGGER crm_contact_xid_first BEFORE INSERT ON crm_contact
    FOR EACH STATEMENT EXECUTE FUNCTION crm_contact_xid_first()""",
    """CREATE FUNCTION crm_contact_log_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO crm_contactchange (contact_id) VALUES (OLD.id);
        IF TG_OP = 'UPDATE' AND NEW.id <> OLD.id THEN
            INSERT INTO crm_contactchange (contact_id) VALUES (NEW.id);
        END IF;
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER crm_contact_updated AFTER UPDATE ON crm_contact FOR EACH ROW WHEN ("
    + " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in ("id", *EXPORTED))
    + ") EXECUTE FUNCTION crm_contact_log_change()",
    "CREATE TRIGGER crm_contact_deleted AFTER DELETE ON crm_contact FOR EACH ROW "
    "EXECUTE FUNCTION crm_contact_log_change()",
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER crm_contact_deleted ON crm_contact",
    "DROP TRIGGER crm_contact_updated ON crm_contact",
    "DROP FUNCTION crm_contact_log_change()",
    "DROP TRIGGER crm_contact_xid_first ON crm_contact",
    "DROP FUNCTION crm_contact_xid_first()",
]
SQLITE = [
    # SQLite has one writer at a time: ids are allocated in commit order, nothing to do on insert.
    "CREATE TRIGGER crm_contact_updated AFTER UPDATE ON crm_contact FOR EACH ROW WHEN "
    + " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in ("id", *EXPORTED))
    + " BEGIN INSERT INTO crm_contactchange (contact_id) VALUES (OLD.id);"
    " INSERT INTO crm_contactchange (contact_id) SELECT NEW.id WHERE NEW.id <> OLD.id; END",
    "CREATE TRIGGER crm_contact_deleted AFTER DELETE ON crm_contact FOR EACH ROW"
    " BEGIN INSERT INTO crm_contactchange (contact_id) VALUES (OLD.id); END",
]
SQLITE_REVERSE = ["DROP TRIGGER crm_contact_deleted", "DROP TRIGGER crm_contact_updated"]


def _run(statements: dict[str, list[str]]):
    def run(apps, schema_editor):
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0005_timeline_filters_without_own_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="ContactChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("contact_id", models.BigIntegerField(verbose_name="contact id")),
                (
                    "changed_at",
                    models.DateTimeField(
                        db_default=django.db.models.functions.datetime.Now(), verbose_name="changed at"
                    ),
                ),
            ],
            options={
                "verbose_name": "contact change",
                "verbose_name_plural": "contact changes",
            },
        ),
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}),
        ),
    ]
