"""The key table crm_contactkey written once per statement instead of once per row (PostgreSQL).

The row triggers of 0011 called a PL/pgSQL function for every contact inserted: a quarter of the time of a raw
COPY of 10,000 contacts (bench/ingest.py). Statement triggers on the partitioned table read the statement's rows
from its transition tables and write their keys in one INSERT (or DELETE). An UPDATE that moves a contact to
another month is, inside PostgreSQL, a delete from one partition and an insert into another: row triggers saw
both, statement triggers see only the UPDATE (its transition tables hold the moved rows), so the UPDATE trigger
compares the keys before and after. Rows are written through crm_contact, never into a month's partition by name
(statement triggers fire on the table the statement names)."""

import importlib

from django.db import migrations

FORWARD = [
    "DROP TRIGGER crm_contact_key_inserted ON crm_contact",
    "DROP TRIGGER crm_contact_key_updated ON crm_contact",
    "DROP TRIGGER crm_contact_key_deleted ON crm_contact",
    "DROP FUNCTION crm_contact_key_write()",
    """CREATE FUNCTION crm_contact_keys_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO crm_contactkey (source, external_id, contact_id)
            SELECT source, external_id, id FROM inserted WHERE external_id IS NOT NULL;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION crm_contact_keys_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM crm_contactkey k USING deleted d
            WHERE d.external_id IS NOT NULL AND k.source = d.source AND k.external_id = d.external_id;
        RETURN NULL;
    END $$""",
    # The keys that changed: those before and not after are removed, then those after and not before added (a
    # key passed from one contact to another in the same statement is removed, then added again).
    """CREATE FUNCTION crm_contact_keys_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM crm_contactkey k USING (
            SELECT source, external_id, id FROM before WHERE external_id IS NOT NULL
            EXCEPT SELECT source, external_id, id FROM after
        ) d WHERE k.source = d.source AND k.external_id = d.external_id;
        INSERT INTO crm_contactkey (source, external_id, contact_id)
            SELECT source, external_id, id FROM after WHERE external_id IS NOT NULL
            EXCEPT SELECT source, external_id, id FROM before;
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER crm_contact_keys_inserted AFTER INSERT ON crm_contact REFERENCING NEW TABLE AS inserted"
    " FOR EACH STATEMENT EXECUTE FUNCTION crm_contact_keys_inserted()",
    "CREATE TRIGGER crm_contact_keys_deleted AFTER DELETE ON crm_contact REFERENCING OLD TABLE AS deleted"
    " FOR EACH STATEMENT EXECUTE FUNCTION crm_contact_keys_deleted()",
    "CREATE TRIGGER crm_contact_keys_updated AFTER UPDATE ON crm_contact"
    " REFERENCING OLD TABLE AS before NEW TABLE AS after"
    " FOR EACH STATEMENT EXECUTE FUNCTION crm_contact_keys_updated()",
]

BACKWARD = [
    "DROP TRIGGER crm_contact_keys_inserted ON crm_contact",
    "DROP TRIGGER crm_contact_keys_deleted ON crm_contact",
    "DROP TRIGGER crm_contact_keys_updated ON crm_contact",
    "DROP FUNCTION crm_contact_keys_inserted()",
    "DROP FUNCTION crm_contact_keys_deleted()",
    "DROP FUNCTION crm_contact_keys_updated()",
]


def _partitioned(schema_editor) -> bool:
    if schema_editor.connection.vendor != "postgresql":
        return False
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'crm_contact'::regclass")
        return cursor.fetchone() is not None


def forward(apps, schema_editor):
    if _partitioned(schema_editor):
        for statement in FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if not _partitioned(schema_editor):
        return
    row_triggers = importlib.import_module("omniguichet.crm.migrations.0011_partition_contacts").KEY_TRIGGERS
    for statement in [*BACKWARD, *row_triggers]:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0011_partition_contacts"),
    ]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
