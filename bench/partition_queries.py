"""What the monthly partitions cost or save on the hot paths, against the same rows in one table, in the same run
(issue 18 section 3; docs/scale.md): the record's first timeline page and a page deeper (by cursor), the
export's read by id range, and ingestion by COPY (the key table's trigger against the unique index it replaces).

Run it on a database left by bench.partition_migration (the contacts already partitioned):

    DATABASE_URL=postgres://.../bench_partition_xxxx python -m bench.partition_queries
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time

import psycopg

SAMPLES = 400
TIMELINE = (
    "SELECT id, started_at, channel, motive_id FROM {t} WHERE person_id = {p} {cursor}"
    " ORDER BY started_at DESC, id DESC LIMIT 51"
)


def _ms(samples: list[float]) -> str:
    cuts = statistics.quantiles([s * 1000 for s in samples], n=100, method="inclusive")
    return f"p50 {cuts[49]:.2f} ms, p99 {cuts[98]:.2f} ms"


def _time(conn: psycopg.Connection, sqls: list[str]) -> list[float]:
    out = []
    for sql in sqls:
        t0 = time.perf_counter()
        conn.execute(sql).fetchall()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("bench.partition_queries: set DATABASE_URL to a database left by bench.partition_migration")
    conn = psycopg.connect(url, autocommit=True)
    if not conn.execute(
        "SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass('crm_contact')"
    ).fetchone():
        sys.exit("bench.partition_queries: crm_contact is not partitioned in this database")
    parts = conn.execute(
        "SELECT count(*) FROM pg_inherits WHERE inhparent = 'crm_contact'::regclass"
    ).fetchone()[0]
    total = conn.execute("SELECT count(*) FROM crm_contact").fetchone()[0]
    if not conn.execute("SELECT to_regclass('contact_flat')").fetchone()[0]:
        t0 = time.perf_counter()
        conn.execute("CREATE TABLE contact_flat AS SELECT * FROM crm_contact")
        conn.execute("ALTER TABLE contact_flat ADD PRIMARY KEY (id)")
        conn.execute("CREATE INDEX ON contact_flat (person_id, started_at DESC, id DESC)")
        conn.execute("CREATE INDEX ON contact_flat (caisse_id, started_at)")
        conn.execute(
            "CREATE UNIQUE INDEX ON contact_flat (source, external_id) WHERE external_id IS NOT NULL"
        )
        # The same foreign keys as the contact table (checked for every row written, as there).
        for column, target in (("person_id", "referential_person(id)"), ("caisse_id", "referential_caisse(code)"),
                               ("motive_id", "crm_motive(code)"), ("agent_id", "referential_user(id)")):  # fmt: skip
            conn.execute(
                f"ALTER TABLE contact_flat ADD FOREIGN KEY ({column}) REFERENCES {target}"
                " DEFERRABLE INITIALLY DEFERRED NOT VALID"
            )
        conn.execute("ANALYZE contact_flat")
        print(f"baseline: one table of the same {total:,} rows built in {time.perf_counter() - t0:.0f} s")
    rng = random.Random(18)
    persons = [r[0] for r in conn.execute("SELECT DISTINCT person_id FROM crm_contact LIMIT 20000")]
    picked = [rng.choice(persons) for _ in range(SAMPLES)]
    cursors = [r[0] for r in conn.execute(
        "SELECT started_at FROM crm_contact TABLESAMPLE SYSTEM (1) LIMIT %s", [SAMPLES]
    )]  # fmt: skip
    high = conn.execute("SELECT max(id) FROM crm_contact").fetchone()[0]
    print(f"{total:,} contacts in {parts} partitions; {SAMPLES} samples each, alternated")
    for label, build in (
        ()
        if os.environ.get("ONLY_INGESTION")
        else (
            ("record, first page", lambda t, i: TIMELINE.format(t=t, p=picked[i], cursor="")),
            (
                "record, page by cursor",
                lambda t, i: TIMELINE.format(
                    t=t, p=picked[i], cursor=f"AND started_at < '{cursors[i % len(cursors)]}'"
                ),
            ),
            (
                "export, 10,000 ids",
                lambda t, i: (
                    f"SELECT * FROM {t} WHERE id > {high - 10_000 - i * 1000} ORDER BY id LIMIT 10000"
                ),
            ),
        )
    ):
        flat, part = [], []
        for i in range(SAMPLES):  # alternated, so that the machine's other load falls on both alike
            flat += _time(conn, [build("contact_flat", i)])
            part += _time(conn, [build("crm_contact", i)])
        ratio = statistics.median(part) / statistics.median(flat)
        print(f"{label}: partitioned {_ms(part)}; one table {_ms(flat)}; median ratio {ratio:.2f}")
    rows = 50_000
    copy_rows = [
        (persons[i % len(persons)], "751", "phone", "inbound", "remboursement", "2026-12-03 10:00:00+00",
         "system", "resolved", "", "", "", "bench-ingest", f"i-{time.time_ns()}-{i}", "2026-12-03 10:00:00+00")
        for i in range(rows)
    ]  # fmt: skip
    columns = (
        "person_id, caisse_id, channel, direction, motive_id, started_at, actor_kind, outcome, note, subject_kind,"
        " subject_ref, source, external_id, created_at"
    )
    identity = conn.execute(
        "SELECT attidentity FROM pg_attribute WHERE attrelid = 'contact_flat'::regclass AND attname = 'id'"
    ).fetchone()[0]
    if not identity:
        conn.execute("ALTER TABLE contact_flat ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
        conn.execute(f"SELECT setval(pg_get_serial_sequence('contact_flat', 'id'), {high + 10_000_000})")
    rates: dict[str, list[float]] = {"one table": [], "partitioned": []}
    for _round in range(3):  # alternated: the machine's other load falls on both alike
        for label, table in (("one table", "contact_flat"), ("partitioned", "crm_contact")):
            t0 = time.perf_counter()
            with (
                conn.transaction(),
                conn.cursor() as cursor,
                cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                for row in copy_rows:
                    copy.write_row(row)
            rates[label].append(rows / (time.perf_counter() - t0))
            conn.execute(f"DELETE FROM {table} WHERE source = 'bench-ingest'")
    for label, values in rates.items():
        print(f"ingestion by COPY, {rows:,} contacts x 3, {label}: median {statistics.median(values):,.0f}/s"
              f" ({', '.join(f'{v:,.0f}' for v in values)})")  # fmt: skip
    print(
        "ratio partitioned / one table:",
        f"{statistics.median(rates['partitioned']) / statistics.median(rates['one table']):.2f}",
    )


if __name__ == "__main__":
    main()
