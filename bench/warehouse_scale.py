"""Analytics past one node (issue 18, section 6): the seven indicators on 50 M to 200 M contacts, read with DuckDB
from the warehouse's Hive layout (`contacts/month=YYYY-MM/part-*.parquet`), with and without partition pruning.

The bench generates the warehouse directly in Parquet with DuckDB (vectorised SQL, no Python loop), in the
documented schema and the export's layout: contacts spread uniformly over 2023-2025 (3 years, 101 caisses), in
parts of about 100,000 rows per month folder like the export's batches, one person per 20 contacts. It grows the
same warehouse step by step (--steps 50,100,150,200: millions of contacts; each step appends the contacts it
adds, and writes the persons again), and at each step runs every measurement in a fresh child process (its own
peak RSS):

- scan: a plain DuckDB `SELECT caisse, count(*) ... GROUP BY caisse` over every part (the floor of any query);
- kpi: `engine.compute(year=2025)` as `omniguichet kpi` runs it on the warehouse: 25 of the 36 month folders
  read (2024 for the targets, 2025, January 2026 for the recontact window);
- kpi_unpruned: the same computation handed every part (a glob, no partitions): what a flat warehouse costs;
- month_caisse: one caisse's channel mix of one month, through DuckDB's own Hive pruning (the glob of the whole
  warehouse, `WHERE month = ... AND caisse = ...`).

With --caisse-layout, the first step also writes the same contacts partitioned by month and caisse
(`month=YYYY-MM/caisse=NNN/`), and times the same queries on it: how many files, and whether it helps.

    python -m bench.warehouse_scale --steps 50,100,150,200 --dir /var/tmp/wh-scale --caisse-layout
    python -m bench.warehouse_scale --steps 1,2 --dir /tmp/wh-small        # a quick run

The generated data are deleted at the end unless --keep (the disk is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.kpi import MOTIVES, _sql_list, caisse_codes

YEAR = 2025
CONTACTS_PER_PERSON = 20
MONTH = "2025-06"


def _contacts_sql(first: int, n: int, persons: int) -> str:
    """`n` contacts with ids from `first`, of `persons` persons, uniformly over 2023-2025, with their local month."""
    caisses, motives = _sql_list(caisse_codes()), _sql_list(MOTIVES)
    # Channel mix of a caisse: web 40 %, app 20 %, phone 15 %, email 8 %, reception 7 %, kiosk 3 %, letter 3 %,
    # sms 2 %, push 2 %; 85 % inbound (bench.kpi's mix).
    return f"""
        WITH raw AS (
            SELECT {first} + i AS i, (hash(i + {first}) % {persons})::BIGINT AS pid,
                   random() AS rc, random() AS r1, random() AS r2, random() AS r3,
                   TIMESTAMP '2023-01-01 00:00:00' - INTERVAL 1 HOUR
                     + to_seconds((random() * 1096 * 86400)::BIGINT) AS started_at
            FROM range({n}) t(i)
        ), typed AS (
            SELECT *, CASE
                WHEN rc < 0.40 THEN 'web' WHEN rc < 0.60 THEN 'app' WHEN rc < 0.75 THEN 'phone'
                WHEN rc < 0.83 THEN 'email' WHEN rc < 0.90 THEN 'reception' WHEN rc < 0.93 THEN 'kiosk'
                WHEN rc < 0.96 THEN 'letter' WHEN rc < 0.98 THEN 'sms' ELSE 'push' END AS channel
            FROM raw
        )
        SELECT i::VARCHAR AS contact_id,
               md5(pid::VARCHAR) AS person_key,
               list_extract({caisses}, (pid % 101 + 1)::INTEGER) AS caisse,
               channel,
               CASE WHEN channel IN ('sms', 'push') OR r1 < 0.05 THEN 'outbound' ELSE 'inbound' END AS direction,
               list_extract({motives}, (1 + floor(r2 * 12))::INTEGER) AS motive,
               started_at::TIMESTAMPTZ AS started_at,
               CASE WHEN channel = 'phone' THEN r3 < 0.85 END AS answered,
               CASE WHEN channel = 'email' AND r3 < 0.95
                    THEN (started_at + to_seconds((r1 * 4 * 86400)::BIGINT))::TIMESTAMPTZ END AS responded_at,
               CASE WHEN channel = 'reception' THEN r3 < 0.4 END AS on_appointment,
               CASE WHEN channel = 'reception' AND r1 < 0.98 THEN (r2 * 3000)::BIGINT END AS waited_seconds,
               strftime(started_at::TIMESTAMPTZ AT TIME ZONE 'Europe/Paris', '%Y-%m') AS month
        FROM typed
    """


def _connect(memory_limit: str):  # type: ignore[no-untyped-def]
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    return con


def append_contacts(folder: Path, first: int, n: int, persons: int, memory_limit: str) -> float:
    """Append `n` contacts to contacts/month=*/ in parts of about 100,000 rows; returns the seconds it took."""
    started = time.perf_counter()
    con = _connect(memory_limit)
    con.execute(
        f"COPY ({_contacts_sql(first, n, persons)}) TO '{folder}/contacts' (FORMAT parquet, COMPRESSION zstd, "
        f"PARTITION_BY (month), ROW_GROUP_SIZE 100000, ROW_GROUPS_PER_FILE 1, "
        f"FILENAME_PATTERN 'part-{first:012d}-{{uuid}}', APPEND)"
    )
    con.close()
    return time.perf_counter() - started


def write_persons(folder: Path, persons: int, memory_limit: str) -> None:
    caisses = _sql_list(caisse_codes())
    (folder / "persons").mkdir(parents=True, exist_ok=True)
    con = _connect(memory_limit)
    con.execute(
        f"""
        COPY (
            SELECT md5(i::VARCHAR) AS person_key, list_extract({caisses}, (i % 101 + 1)::INTEGER) AS caisse,
                   CASE WHEN random() < 0.7 THEN (TIMESTAMP '2015-01-01 00:00:00'
                        + to_seconds((random() * 11 * 365 * 86400)::BIGINT))::TIMESTAMPTZ END AS account_opened_at
            FROM range({persons}) t(i)
        ) TO '{folder}/persons/part-000000.parquet' (FORMAT parquet, COMPRESSION zstd)
        """
    )
    con.close()


def write_caisse_layout(folder: Path, target: Path, memory_limit: str) -> float:
    """The same contacts, partitioned by month and caisse (the caisse stays a column of the files too)."""
    started = time.perf_counter()
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    con = _connect(memory_limit)
    con.execute("SET preserve_insertion_order = false")
    con.execute(
        f"COPY (SELECT * FROM read_parquet('{folder}/contacts/*/*.parquet', hive_partitioning = true, "
        f"hive_types = {{'month': 'VARCHAR'}})) TO '{target}/contacts' (FORMAT parquet, COMPRESSION zstd, "
        "PARTITION_BY (month, caisse), WRITE_PARTITION_COLUMNS true, ROW_GROUP_SIZE 100000, "
        "ROW_GROUPS_PER_FILE 1)"
    )
    con.close()
    shutil.copytree(folder / "persons", target / "persons")
    return time.perf_counter() - started


def child(kind: str, folder: Path, memory_limit: str) -> dict[str, object]:
    """One measurement, in its own process."""
    started = time.perf_counter()
    figures: dict[str, object]
    if kind in ("scan", "month_caisse"):
        con = _connect(memory_limit)
        source = (
            f"read_parquet('{folder}/contacts/**/*.parquet', hive_partitioning = true, "
            "hive_types_autocast = false)"
        )
        if kind == "scan":
            rows = con.execute(f"SELECT caisse, count(*) FROM {source} GROUP BY caisse").fetchall()
            figures = {"groups": len(rows), "contacts": sum(r[1] for r in rows)}
        else:
            query = (
                f"SELECT channel, count(*) FROM {source} WHERE month = '{MONTH}' AND caisse = '751' "
                "AND direction = 'inbound' GROUP BY channel"
            )
            rows = con.execute(query).fetchall()
            plan = con.execute(f"EXPLAIN ANALYZE {query}").fetchall()[0][1]
            scanning = [line for line in plan.splitlines() if "Scanning Files" in line]
            figures = {
                "contacts": sum(r[1] for r in rows),
                "files": scanning[0].strip("│ ").split(":")[1].strip() if scanning else "?",
            }
    else:
        from omniguichet.analytics import engine

        contacts: Path | str = folder / "contacts"
        if kind == "kpi_unpruned":
            contacts = f"{folder}/contacts/*/*.parquet"  # every part, read as plain files
        result = engine.compute(
            contacts=contacts, persons=folder / "persons", year=YEAR, memory_limit=memory_limit
        )
        figures = {
            "caisses": len(result.caisses()),
            "rows_year": len(result.yearly),
            "recontact_target": result.targets["recontact_rate"],
        }
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "kind": kind,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_mb": round(usage.ru_maxrss / 1024),
        **figures,
    }


def generate(folder: Path, memory_limit: str, *what: object) -> float:
    """Generation in a child process too: the measurements' processes must not inherit its peak RSS."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.warehouse_scale", "--dir", str(folder), "--memory-limit", memory_limit,
         "--generate", *map(str, what)],
        check=True,
        capture_output=True,
        text=True,
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )  # fmt: skip
    return float(json.loads(out.stdout.strip().splitlines()[-1]))


def measure(kind: str, folder: Path, memory_limit: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.warehouse_scale", "--child", kind, "--dir", str(folder),
         "--memory-limit", memory_limit],
        check=True,
        capture_output=True,
        text=True,
        cwd=folder,  # DuckDB spills to ./.tmp: the bench's own directory
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def disk(folder: Path) -> tuple[int, int]:
    """(files, bytes) of the Parquet under folder/contacts."""
    files = list((folder / "contacts").rglob("*.parquet"))
    return len(files), sum(p.stat().st_size for p in files)


def report(label: str, folder: Path, kinds: list[str], memory_limit: str) -> dict:
    files, size = disk(folder)
    row: dict[str, object] = {"label": label, "files": files, "contacts_gib": round(size / 2**30, 2)}
    for kind in kinds:
        result = measure(kind, folder, memory_limit)
        row[kind] = result
        print(f"  {label} {kind}: {json.dumps(result)}", flush=True)
    row["load"] = round(os.getloadavg()[0], 1)
    print(f"{label}: {files} files, {size / 2**30:.2f} GiB of contacts; load {row['load']}", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", default="50,100,150,200", help="millions of contacts at each step")
    parser.add_argument("--dir", type=Path, default=Path("/var/tmp/omniguichet-warehouse-scale"))
    parser.add_argument("--memory-limit", default="4GB", help="DuckDB memory_limit of each measurement")
    parser.add_argument("--caisse-layout", action="store_true", help="also time a month/caisse layout")
    parser.add_argument(
        "--skip-unpruned-after", type=int, default=100, help="no kpi_unpruned above (millions)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    parser.add_argument(
        "--start",
        type=float,
        default=0,
        help="millions of contacts already generated in --dir (a run resumed)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--generate", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.dir, args.memory_limit)))
        return
    if args.generate:
        what, *numbers = args.generate
        if what == "contacts":
            first, n, persons = (int(x) for x in numbers)
            seconds = append_contacts(args.dir, first, n, persons, args.memory_limit)
            write_persons(args.dir, persons, args.memory_limit)
        else:
            seconds = write_caisse_layout(args.dir, Path(numbers[0]), args.memory_limit)
        print(json.dumps(seconds))
        return
    try:
        steps = [int(float(s) * 1_000_000) for s in args.steps.split(",")]
    except ValueError:
        parser.error(f"--steps: {args.steps!r} is not a list of numbers of millions, e.g. 50,100")
    if not steps or steps != sorted(set(steps)) or steps[0] <= 0:
        parser.error("--steps: increasing positive numbers of millions, e.g. 50,100,150,200")
    folder = args.dir
    done = int(args.start * 1_000_000)
    if not done and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} cores; DuckDB memory_limit {args.memory_limit}; data in {folder}", flush=True)
    rows = []
    try:
        for step, total in enumerate(steps):
            seconds = generate(
                folder, args.memory_limit, "contacts", done, total - done, total // CONTACTS_PER_PERSON
            )
            print(f"{total:,} contacts: appended {total - done:,} in {seconds:.0f} s", flush=True)
            done = total
            kinds = ["scan", "kpi", "month_caisse"]
            if total <= args.skip_unpruned_after * 1_000_000:
                kinds.insert(2, "kpi_unpruned")
            rows.append(report(f"{total // 1_000_000} M, month", folder, kinds, args.memory_limit))
            if step == 0 and args.caisse_layout and not args.start:
                other = folder.with_name(folder.name + "-caisse")
                try:
                    seconds = generate(folder, args.memory_limit, "caisse_layout", other)
                    print(f"month/caisse layout written in {seconds:.0f} s", flush=True)
                    rows.append(
                        report(f"{total // 1_000_000} M, month/caisse", other, ["kpi", "month_caisse"],
                               args.memory_limit)
                    )  # fmt: skip
                finally:
                    shutil.rmtree(other, ignore_errors=True)
    finally:
        print(json.dumps(rows), flush=True)
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
