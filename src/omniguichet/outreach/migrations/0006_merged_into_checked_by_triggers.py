"""The database guarantee of `OutboundMessage.merged_into` back (docs/scale.md, "Foreign keys into the partitioned
tables").

The foreign key on the ledger itself was dropped when the ledger was partitioned on PostgreSQL (a foreign key needs
a unique id alone; the primary key is (id, created_at) there); the field stays `db_constraint=False` on every
database so that Django's migrations never try to add it back.

On PostgreSQL, constraint triggers do its work, deferred to the commit like Django's foreign keys:

- a message merged into a digest that does not exist fails (SQLSTATE 23503, an IntegrityError);
- deleting a digest that messages were merged into fails, as `on_delete=PROTECT` says (Django's collector refuses
  it first; the trigger stops raw SQL too). A digest moving to another month is not a delete: the check runs at
  the commit and finds the digest again. The members of a digest are found through the partial index
  `outbound_merged_into_idx` of each month.

SQLite keeps one ledger table: the real foreign key comes back there (see telephony.0003 for why not triggers).
"""

import copy

from django.db import migrations

POSTGRESQL = [
    """CREATE FUNCTION outreach_merged_into_exists() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.merged_into_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM outreach_outboundmessage WHERE id = NEW.merged_into_id) THEN
            RAISE EXCEPTION 'message % is merged into message %, which does not exist', NEW.id, NEW.merged_into_id
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'outreach_merged_into_exists';
        END IF;
        RETURN NULL;
    END $$""",
    "CREATE CONSTRAINT TRIGGER outreach_merged_into_exists AFTER INSERT OR UPDATE OF merged_into_id"
    " ON outreach_outboundmessage DEFERRABLE INITIALLY DEFERRED FOR EACH ROW"
    " WHEN (NEW.merged_into_id IS NOT NULL) EXECUTE FUNCTION outreach_merged_into_exists()",
    """CREATE FUNCTION outreach_merged_into_protect() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM outreach_outboundmessage WHERE merged_into_id = OLD.id)
           AND NOT EXISTS (SELECT 1 FROM outreach_outboundmessage WHERE id = OLD.id) THEN
            RAISE EXCEPTION 'messages are merged into message %: it cannot be deleted', OLD.id
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'outreach_merged_into_protect';
        END IF;
        RETURN NULL;
    END $$""",
    "CREATE CONSTRAINT TRIGGER outreach_merged_into_protect AFTER DELETE OR UPDATE OF id"
    " ON outreach_outboundmessage DEFERRABLE INITIALLY DEFERRED FOR EACH ROW"
    " EXECUTE FUNCTION outreach_merged_into_protect()",
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER outreach_merged_into_protect ON outreach_outboundmessage",
    "DROP FUNCTION outreach_merged_into_protect()",
    "DROP TRIGGER outreach_merged_into_exists ON outreach_outboundmessage",
    "DROP FUNCTION outreach_merged_into_exists()",
]


def _sqlite_foreign_key(apps, schema_editor, *, back: bool = False) -> None:
    """SQLite: the real foreign key, rebuilt by Django's own table remake (the model state keeps
    db_constraint=False, shared with PostgreSQL; a later remake from that state would lose it again, which
    tests/core/test_partitions.py would notice)."""
    model = apps.get_model("outreach", "OutboundMessage")
    without = model._meta.get_field("merged_into")
    with_key = copy.copy(without)
    with_key.db_constraint = True
    schema_editor.alter_field(model, *((with_key, without) if back else (without, with_key)))


def _run(statements: list[str], *, back: bool = False):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                # params=None: the SQL goes as written (PL/pgSQL's RAISE uses % for its own placeholders).
                schema_editor.execute(sql, None)
        elif schema_editor.connection.vendor == "sqlite":
            _sqlite_foreign_key(apps, schema_editor, back=back)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("outreach", "0005_partition_ledger"),
    ]

    operations = [
        migrations.RunPython(
            _run(POSTGRESQL),
            _run(POSTGRESQL_REVERSE, back=True),
            elidable=False,
        ),
    ]
