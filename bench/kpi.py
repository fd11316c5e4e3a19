"""Benchmark of the steering indicators (issue #8): all seven indicators of one year, 101 caisses, computed with
DuckDB over a Parquet warehouse of 10 million contacts spread over two years (and 50 million with --big).

The bench generates its own warehouse with DuckDB (vectorised SQL, no Python loop), in the documented schema,
then runs each measurement in a fresh child process so that its peak memory (ru_maxrss) is its own:
- baseline: a plain DuckDB scan of the same contacts Parquet, `SELECT caisse, count(*) ... GROUP BY caisse`;
- kpi: `engine.compute(year=2025)` exactly as `omniguichet kpi` runs it (schema and value checks included),
  which also computes 2024 for the targets, by year and by month, the bonus and the channel mix.

    python -m bench.kpi                      # 10 M contacts, 2 M persons (~1 minute to generate)
    python -m bench.kpi --big                # and 50 M contacts, 10 M persons
    python -m bench.kpi --contacts 1000000   # a quick run
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

TARGET_SECONDS = 10.0
TARGET_MEMORY_GB = 4.0
YEAR = 2025
CHUNK = 10_000_000  # contacts per generated Parquet file


def caisse_codes() -> list[str]:
    """101 caisse codes like the real ones: departments 01-95 (2A/2B for Corsica), a few overseas."""
    codes = [f"{d:02d}1" for d in range(1, 96) if d != 20] + ["2A1", "2B1"]
    codes += ["971", "972", "973", "974", "976"]
    return codes[:101]


MOTIVES = [
    "attestation_droits",
    "releve_remboursements",
    "carte_europeenne",
    "attestation_ij",
    "changement_adresse",
    "changement_rib",
    "ij_suivi",
    "remboursement",
    "carte_vitale",
    "css",
    "reclamation",
    "autre",
]


def _sql_list(values: list[str]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def generate(folder: Path, contacts: int, persons: int) -> float:
    """Write contacts/*.parquet and persons/persons.parquet; returns the seconds it took."""
    import duckdb

    started = time.perf_counter()
    (folder / "contacts").mkdir(parents=True, exist_ok=True)
    (folder / "persons").mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    con.execute("SELECT setseed(0.42)")
    caisses = _sql_list(caisse_codes())
    motives = _sql_list(MOTIVES)
    # Channel mix of a caisse: web 40 %, app 20 %, phone 15 %, email 8 %, reception 7 %, kiosk 3 %, letter 3 %,
    # sms 2 %, push 2 %; 85 % inbound.
    for first in range(0, contacts, CHUNK):
        n = min(CHUNK, contacts - first)
        con.execute(
            f"""
            COPY (
                WITH raw AS (
                    SELECT {first} + i AS i, (hash(i + {first}) % {persons})::BIGINT AS pid,
                           random() AS rc, random() AS r1, random() AS r2, random() AS r3,
                           TIMESTAMP '2024-01-01 00:00:00'
                             + to_seconds((random() * 731 * 86400)::BIGINT) AS started_at
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
                       CASE WHEN channel IN ('sms', 'push') OR r1 < 0.05 THEN 'outbound' ELSE 'inbound' END
                         AS direction,
                       list_extract({motives}, (1 + floor(r2 * 12))::INTEGER) AS motive,
                       started_at,
                       CASE WHEN channel = 'phone' THEN r3 < 0.85 END AS answered,
                       CASE WHEN channel = 'email' AND r3 < 0.95
                            THEN started_at + to_seconds((r1 * 4 * 86400)::BIGINT) END AS responded_at,
                       CASE WHEN channel = 'reception' THEN r3 < 0.4 END AS on_appointment,
                       CASE WHEN channel = 'reception' AND r1 < 0.98 THEN (r2 * 3000)::BIGINT END
                         AS waited_seconds
                FROM typed
            ) TO '{folder}/contacts/part-{first // CHUNK:04d}.parquet' (FORMAT parquet, COMPRESSION zstd)
            """
        )
    con.execute(
        f"""
        COPY (
            SELECT md5(i::VARCHAR) AS person_key, list_extract({caisses}, (i % 101 + 1)::INTEGER) AS caisse,
                   CASE WHEN random() < 0.7 THEN TIMESTAMP '2015-01-01 00:00:00'
                        + to_seconds((random() * 11 * 365 * 86400)::BIGINT) END AS account_opened_at
            FROM range({persons}) t(i)
        ) TO '{folder}/persons/persons.parquet' (FORMAT parquet, COMPRESSION zstd)
        """
    )
    con.close()
    return time.perf_counter() - started


def child(kind: str, folder: Path, memory_limit: str) -> dict[str, object]:
    """One measurement, in its own process."""
    started = time.perf_counter()
    if kind == "baseline":
        import duckdb

        con = duckdb.connect()
        con.execute(f"SET memory_limit = '{memory_limit}'")
        rows = con.execute(
            f"SELECT caisse, count(*) FROM read_parquet('{folder}/contacts/*.parquet') GROUP BY caisse"
        ).fetchall()
        figures: dict[str, object] = {"groups": len(rows), "contacts": sum(r[1] for r in rows)}
    else:
        from omniguichet.analytics import engine

        result = engine.compute(
            contacts=folder / "contacts",
            persons=folder / "persons" / "persons.parquet",
            year=YEAR,
            memory_limit=memory_limit,
        )
        figures = {
            "caisses": len(result.caisses()),
            "rows_year": len(result.yearly),
            "rows_month": len(result.monthly),
            "targets": result.targets,
            "mean_points": sum(b.points for b in result.bonus) / max(1, len(result.bonus)),
        }
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "kind": kind,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_mb": usage.ru_maxrss / 1024,
        **figures,
    }


def measure(kind: str, folder: Path, memory_limit: str) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.kpi",
            "--child",
            kind,
            "--dir",
            str(folder),
            "--memory-limit",
            memory_limit,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(contacts: int, persons: int, folder: Path, memory_limit: str, repeat: int) -> None:
    marker = folder / f"generated-{contacts}-{persons}"
    if not marker.exists():
        for old in folder.glob("*/*.parquet"):
            old.unlink()
        seconds = generate(folder, contacts, persons)
        marker.touch()
        print(f"generated {contacts:,} contacts and {persons:,} persons in {seconds:.1f} s ({folder})")
    size = sum(p.stat().st_size for p in folder.glob("*/*.parquet")) / 2**20
    print(
        f"warehouse: {size:,.0f} MiB of Parquet; {os.cpu_count()} cores; DuckDB memory_limit {memory_limit}"
    )
    base = min((measure("baseline", folder, memory_limit) for _ in range(repeat)), key=lambda r: r["seconds"])
    kpis = [measure("kpi", folder, memory_limit) for _ in range(repeat)]
    kpi = min(kpis, key=lambda r: r["seconds"])
    peak = max(r["peak_mb"] for r in kpis)
    load = os.getloadavg()[0]
    print(
        f"baseline scan GROUP BY caisse: {base['seconds']:.2f} s (CPU {base['cpu_seconds']:.2f} s), "
        f"peak {base['peak_mb']:,.0f} MB"
    )
    print(
        f"all indicators of {YEAR} ({kpi['caisses']} caisses, {kpi['rows_year']} yearly + {kpi['rows_month']} "
        f"monthly rows): {kpi['seconds']:.2f} s (best of {repeat}; CPU {kpi['cpu_seconds']:.2f} s), "
        f"peak {peak:,.0f} MB; ratio to the baseline {kpi['seconds'] / base['seconds']:.1f}x"
    )
    print(
        f"machine load average when done: {load:.1f} (other work on the 2 cores slows the wall-clock figures)"
    )
    ok_time = kpi["seconds"] <= TARGET_SECONDS
    ok_memory = peak < TARGET_MEMORY_GB * 1024
    print(
        f"target ≤ {TARGET_SECONDS:.0f} s: {'met' if ok_time else 'MISSED'}; "
        f"memory < {TARGET_MEMORY_GB:.0f} GB: {'met' if ok_memory else 'MISSED'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=10_000_000)
    parser.add_argument("--persons", type=int, default=None, help="default: contacts / 5")
    parser.add_argument("--big", action="store_true", help="also 50 million contacts (10 million persons)")
    parser.add_argument("--dir", type=Path, default=Path("var/bench-kpi"))
    parser.add_argument("--memory-limit", default="3GB", help="DuckDB memory_limit (default 3GB)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", choices=["baseline", "kpi"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.dir, args.memory_limit)))
        return
    sizes = [(args.contacts, args.persons or args.contacts // 5, args.dir / f"{args.contacts}")]
    if args.big:
        sizes.append((50_000_000, 10_000_000, args.dir / "50000000"))
    for contacts, persons, folder in sizes:
        print(f"--- {contacts:,} contacts")
        run(contacts, persons, folder, args.memory_limit, args.repeat)


if __name__ == "__main__":
    main()
