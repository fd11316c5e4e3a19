"""How long the migrations that partition the contact table and the ledger by month take on an existing
PostgreSQL database (issue 18 section 3; docs/scale.md, "Partitioned contacts and ledger").

A fresh database is migrated up to the last migration before the partitioning (crm 0010, outreach 0004), filled
with N contacts over three years (and N/5 ledger messages) generated in SQL, then the two migrations are run and
timed, each alone. The contacts carry an external id, as ingested ones do, so the key table is filled too.

    DATABASE_URL=postgres://... python -m bench.partition_migration --contacts 1000000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time


def _positive(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--contacts", type=_positive, default=1_000_000, help="contacts to move (default 1 M)"
    )
    parser.add_argument("--persons", type=_positive, default=20_000, help="persons they belong to")
    parser.add_argument(
        "--queries", action="store_true", help="then bench.partition_queries on the same database"
    )
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        sys.exit(
            "bench.partition_migration: set DATABASE_URL to a PostgreSQL cluster (partitions are PostgreSQL's)"
        )
    from bench.crm import _database_url

    var_dir = tempfile.mkdtemp(prefix="partition-bench-")
    os.environ["DATABASE_URL"] = _database_url(base, var_dir, "partition")
    os.environ["OMNIGUICHET_VAR_DIR"] = var_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omniguichet.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    before = {
        "crm": "0010_labelled_examples",
        "outreach": "0004_cap_on_send_times",
        "telephony": "0001_initial",
    }
    targets = [(app, before.get(app, name)) for app, name in executor.loader.graph.leaf_nodes()]
    executor.migrate(targets)
    messages = max(args.contacts // 5, 1)
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO referential_person (nir, given_names, family_name, usage_name, family_name_folded,"
            " usage_name_folded, birth_date, sex, birth_place, address_line, postcode, city, status, created_at,"
            " updated_at, caisse_id) SELECT '1' || lpad(g::text, 14, '0'), 'A', 'B', '', 'B', '', '1980-01-01',"
            " 'M', '75056', '', '75001', 'Paris', 'employee', now(), now(), c.codes[1 + g %% cardinality(c.codes)]"
            " FROM generate_series(1, %s) g, (SELECT array_agg(code) AS codes FROM referential_caisse) c",
            [args.persons],
        )
        cursor.execute(
            "CREATE TEMP TABLE p AS SELECT row_number() OVER () AS n, id, caisse_id FROM referential_person"
        )
        cursor.execute("SELECT count(*) FROM p")
        persons = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO crm_contact (person_id, caisse_id, channel, direction, motive_id, started_at, actor_kind,"
            " outcome, note, subject_kind, subject_ref, source, external_id, created_at)"
            " SELECT p.id, p.caisse_id, 'phone', 'inbound', 'remboursement',"
            " now() - (g %% 1095) * interval '1 day' - (g %% 86400) * interval '1 second', 'system', 'resolved', '',"
            " '', '', 'bench', 'c-' || g, now() FROM generate_series(1, %s) g JOIN p ON p.n = 1 + g %% %s",
            [args.contacts, persons],
        )
        cursor.execute(
            "INSERT INTO outreach_outboundmessage (idempotency_key, person_id, channel, recipient, subject, body,"
            " state, not_before, attempts, last_error, provider_ref, capped, quiet_hours, cap_policy, rule, motive,"
            " subject_kind, subject_ref, created_at, sent_at)"
            " SELECT 'bench:' || g, p.id, 'email', 'x@example.org', 's', 'body', 'sent', t, 1, '', '', false, false,"
            " 'exempt', '', 'autre', '', '', t, t FROM generate_series(1, %s) g JOIN p ON p.n = 1 + g %% %s,"
            " LATERAL (SELECT now() - (g %% 1095) * interval '1 day' AS t) w",
            [messages, persons],
        )
        cursor.execute("ANALYZE crm_contact")
        cursor.execute("ANALYZE outreach_outboundmessage")
    print(f"filled {args.contacts:,} contacts and {messages:,} messages in {time.perf_counter() - t0:.0f} s")
    t0 = time.perf_counter()
    call_command("migrate", "telephony", verbosity=0)  # its foreign key on contacts goes first
    call_command("migrate", "crm", "0011_partition_contacts", verbosity=0)
    contacts_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    call_command("migrate", "outreach", "0005_partition_ledger", verbosity=0)
    ledger_s = time.perf_counter() - t0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM crm_contact_p" + time.strftime("%Y%m"))
        this_month = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'crm_contact'::regclass")
        parts = cursor.fetchone()[0]
        cursor.execute("SELECT pg_total_relation_size('crm_contactkey')")
        key_bytes = cursor.fetchone()[0]
    print(
        f"contacts: {args.contacts:,} moved into {parts} partitions in {contacts_s:.1f} s"
        f" ({args.contacts / contacts_s:,.0f}/s; {this_month:,} in this month's partition;"
        f" key table {key_bytes / 2**20:.0f} MiB)"
    )
    print(f"ledger: {messages:,} messages moved in {ledger_s:.1f} s ({messages / ledger_s:,.0f}/s)")
    print(f"database: {os.environ['DATABASE_URL'].rsplit('/', 1)[-1]}")
    if args.queries:
        connection.close()
        from bench import partition_queries

        partition_queries.main()


if __name__ == "__main__":
    main()
