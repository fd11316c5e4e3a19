"""The database guarantee of `Call.contact` back (docs/scale.md, "Foreign keys into the partitioned tables").

The foreign key was dropped when the contact table was partitioned on PostgreSQL (a foreign key needs a unique id
alone, and the primary key is (id, started_at) there); the field stays `db_constraint=False` on every database so
that Django's migrations never try to add it back. Triggers do its work instead, on both databases:

On PostgreSQL, constraint triggers do its work (deferred to the commit like Django's own foreign keys:
DEFERRABLE INITIALLY DEFERRED; `SET CONSTRAINTS ALL IMMEDIATE` checks them at once):

- inserting or updating a call whose contact does not exist fails (SQLSTATE 23503, an IntegrityError);
- deleting a contact that a call points at fails, as `on_delete=PROTECT` says (Django's collector refuses it
  first; the trigger stops raw SQL too). A contact moving to another month (a row movement between partitions,
  a delete then an insert for the triggers) is not refused: the check runs at the commit and finds it again.

SQLite keeps one contact table: the real foreign key comes back there (Django's own table remake, with the
field's db_constraint set for the remake only). Plain SQLite triggers were the other way, but SQLite has no deferred
triggers, and an immediate one refuses the test database's flush, which empties the tables in any order.

The retention of old months (core.retention) clears the calls' contact first: a dropped partition fires no row
trigger.
"""

import copy

from django.db import migrations

POSTGRESQL = [
    """CREATE FUNCTION telephony_call_contact_exists() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.contact_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM crm_contact WHERE id = NEW.contact_id) THEN
            RAISE EXCEPTION 'call % points at contact %, which does not exist', NEW.id, NEW.contact_id
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'telephony_call_contact_exists';
        END IF;
        RETURN NULL;
    END $$""",
    "CREATE CONSTRAINT TRIGGER telephony_call_contact_exists AFTER INSERT OR UPDATE OF contact_id"
    " ON telephony_call DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.contact_id IS NOT NULL)"
    " EXECUTE FUNCTION telephony_call_contact_exists()",
    """CREATE FUNCTION crm_contact_call_protect() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM telephony_call WHERE contact_id = OLD.id)
           AND NOT EXISTS (SELECT 1 FROM crm_contact WHERE id = OLD.id) THEN
            RAISE EXCEPTION 'contact % is the contact of a call: it cannot be deleted', OLD.id
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'telephony_call_contact_protect';
        END IF;
        RETURN NULL;
    END $$""",
    "CREATE CONSTRAINT TRIGGER telephony_call_contact_protect AFTER DELETE OR UPDATE OF id ON crm_contact"
    " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION crm_contact_call_protect()",
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER telephony_call_contact_protect ON crm_contact",
    "DROP FUNCTION crm_contact_call_protect()",
    "DROP TRIGGER telephony_call_contact_exists ON telephony_call",
    "DROP FUNCTION telephony_call_contact_exists()",
]


def _sqlite_foreign_key(apps, schema_editor, *, back: bool = False) -> None:
    """SQLite: the real foreign key, rebuilt by Django's own table remake (the model state keeps
    db_constraint=False, shared with PostgreSQL; a later remake from that state would lose it again, which
    tests/core/test_partitions.py would notice)."""
    model = apps.get_model("telephony", "Call")
    without = model._meta.get_field("contact")
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
        ("telephony", "0002_call_contact_without_db_constraint"),
        ("crm", "0011_partition_contacts"),
    ]

    operations = [
        migrations.RunPython(
            _run(POSTGRESQL),
            _run(POSTGRESQL_REVERSE, back=True),
            elidable=False,
        ),
    ]
