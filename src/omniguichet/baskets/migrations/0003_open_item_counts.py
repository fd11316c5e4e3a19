"""The baskets' open counts kept by the database (issue 17): `OpenItemCount` holds signed deltas per basket and
kind, written by triggers on the work items in the writer's own transaction, whoever the writer is (the services,
`.update()`, bulk loads, raw SQL, later migrations); filled here from the open items in one statement. A partial
index (basket, kind, deadline) WHERE is_open gives the overdue counts as index ranges (they depend on the time,
so no counter can hold them). An index (caisse, received_at) for the console's transfer report, which counts
the items a caisse received in the last 30 days on the same page.

PostgreSQL: statement-level triggers with transition tables, so that a statement writing many items (a COPY, a
bulk close) adds one row per basket and kind it changed, not one per item. SQLite: row-level triggers (SQLite has
no statement triggers), one row per item that enters or leaves the open count of a basket and kind."""

import django.db.models.deletion
from django.db import migrations, models

FILL = """
INSERT INTO baskets_openitemcount (basket_id, kind, n)
SELECT basket_id, kind, COUNT(*) FROM baskets_workitem WHERE is_open GROUP BY basket_id, kind
"""

POSTGRESQL = [
    """CREATE FUNCTION baskets_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO baskets_openitemcount (basket_id, kind, n)
        SELECT basket_id, kind, COUNT(*) FROM new_items WHERE is_open GROUP BY basket_id, kind;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION baskets_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO baskets_openitemcount (basket_id, kind, n)
        SELECT basket_id, kind, -COUNT(*) FROM old_items WHERE is_open GROUP BY basket_id, kind;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION baskets_count_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO baskets_openitemcount (basket_id, kind, n)
        SELECT basket_id, kind, SUM(d) FROM (
            SELECT basket_id, kind, -1 AS d FROM old_items WHERE is_open
            UNION ALL
            SELECT basket_id, kind, 1 AS d FROM new_items WHERE is_open
        ) AS moves
        GROUP BY basket_id, kind HAVING SUM(d) <> 0;
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER baskets_workitem_count_insert AFTER INSERT ON baskets_workitem "
    "REFERENCING NEW TABLE AS new_items FOR EACH STATEMENT EXECUTE FUNCTION baskets_count_inserted()",
    "CREATE TRIGGER baskets_workitem_count_delete AFTER DELETE ON baskets_workitem "
    "REFERENCING OLD TABLE AS old_items FOR EACH STATEMENT EXECUTE FUNCTION baskets_count_deleted()",
    "CREATE TRIGGER baskets_workitem_count_update AFTER UPDATE ON baskets_workitem "
    "REFERENCING OLD TABLE AS old_items NEW TABLE AS new_items FOR EACH STATEMENT "
    "EXECUTE FUNCTION baskets_count_updated()",
    FILL,
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER baskets_workitem_count_update ON baskets_workitem",
    "DROP TRIGGER baskets_workitem_count_delete ON baskets_workitem",
    "DROP TRIGGER baskets_workitem_count_insert ON baskets_workitem",
    "DROP FUNCTION baskets_count_updated()",
    "DROP FUNCTION baskets_count_deleted()",
    "DROP FUNCTION baskets_count_inserted()",
]
SQLITE = [
    "CREATE TRIGGER baskets_workitem_count_insert AFTER INSERT ON baskets_workitem FOR EACH ROW WHEN NEW.is_open"
    " BEGIN INSERT INTO baskets_openitemcount (basket_id, kind, n) VALUES (NEW.basket_id, NEW.kind, 1); END",
    # A flush of every table (tests) deletes the tables in any order: the deltas of a basket go with it, and the
    # deletion of an item whose basket is gone adds none (their foreign key would fail at commit).
    "CREATE TRIGGER baskets_basket_counts_delete AFTER DELETE ON baskets_basket FOR EACH ROW"
    " BEGIN DELETE FROM baskets_openitemcount WHERE basket_id = OLD.id; END",
    "CREATE TRIGGER baskets_workitem_count_delete AFTER DELETE ON baskets_workitem FOR EACH ROW WHEN OLD.is_open"
    " AND EXISTS (SELECT 1 FROM baskets_basket WHERE id = OLD.basket_id) BEGIN INSERT INTO baskets_openitemcount (basket_id, kind, n) VALUES (OLD.basket_id, OLD.kind, -1); END",
    "CREATE TRIGGER baskets_workitem_count_update AFTER UPDATE OF basket_id, kind, is_open ON baskets_workitem"
    " FOR EACH ROW WHEN (OLD.is_open OR NEW.is_open) AND (OLD.is_open IS NOT NEW.is_open"
    " OR OLD.basket_id IS NOT NEW.basket_id OR OLD.kind IS NOT NEW.kind)"
    " BEGIN"
    " INSERT INTO baskets_openitemcount (basket_id, kind, n) SELECT OLD.basket_id, OLD.kind, -1 WHERE OLD.is_open;"
    " INSERT INTO baskets_openitemcount (basket_id, kind, n) SELECT NEW.basket_id, NEW.kind, 1 WHERE NEW.is_open;"
    " END",
    FILL,
]
SQLITE_REVERSE = [
    "DROP TRIGGER baskets_basket_counts_delete",
    "DROP TRIGGER baskets_workitem_count_update",
    "DROP TRIGGER baskets_workitem_count_delete",
    "DROP TRIGGER baskets_workitem_count_insert",
]


def _run(statements: dict[str, list[str]]):
    def run(apps, schema_editor):
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("baskets", "0002_adopt_documents"),
    ]

    operations = [
        migrations.CreateModel(
            name="OpenItemCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("kind", models.CharField(max_length=30, verbose_name="kind")),
                ("n", models.IntegerField(verbose_name="change of the open count")),
                (
                    "basket",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="baskets.basket",
                    ),
                ),
            ],
            options={
                "verbose_name": "open item count",
                "verbose_name_plural": "open item counts",
                "indexes": [models.Index(fields=["basket", "kind", "n"], name="basket_open_count_idx")],
            },
        ),
        migrations.AddIndex(
            model_name="workitem",
            index=models.Index(
                condition=models.Q(("is_open", True)),
                fields=["basket", "kind", "deadline", "is_open"],
                name="workitem_basket_kind_due_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="workitem",
            index=models.Index(fields=["caisse", "received_at"], name="workitem_caisse_received_idx"),
        ),
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}),
        ),
    ]
