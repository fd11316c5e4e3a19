"""Benchmark of `omniguichet seed`: persons per second on SQLite and PostgreSQL, against a raw-SQL baseline.

The baseline is the floor of the same work: the same rows (generated beforehand, untimed) written with raw
bulk inserts into an empty database of the same schema, with the same strategy as the seed (one transaction,
secondary indexes built at the end). The ratio seed / baseline shows what generating the
population costs on top of writing it; absolute times drift on a shared machine, the ratio much less.

    python -m bench.seed                       # SQLite, 1,000,000 persons
    python -m bench.seed --persons 200000
    DATABASE_URL=postgres://... python -m bench.seed   # PostgreSQL (make bench runs both, the latter in
                                                       # a throwaway cluster through pg_virtualenv)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid

TARGET_SECONDS = 60.0  # issue #2: 1 million persons in at most 60 s on SQLite


def _setup(database_url: str, var_dir: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["OMNIGUICHET_VAR_DIR"] = var_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "omniguichet.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _phase(phase: str, persons: int, database_url: str, var_dir: str) -> dict:
    """Runs in a child process with its own empty database; prints one JSON line."""
    _setup(database_url, var_dir)
    import datetime as dt

    from django.db import transaction

    from omniguichet.accounts.models import Account
    from omniguichet.core.db import bulk_insert_rows, fast_bulk_load, secondary_indexes_deferred
    from omniguichet.demo import services as demo
    from omniguichet.referential.models import Caisse, ChannelPreference, Consent, ContactPoint, Person

    if phase == "seed":
        started = time.perf_counter()
        report = demo.seed_population(persons=persons, seed=42)
        return {
            "seconds": time.perf_counter() - started,
            "persons": report.persons,
            "rows": report.persons
            + report.accounts
            + report.contact_points
            + report.preferences
            + report.consents,
        }
    generator = demo.PopulationGenerator(
        seed=42, reference_date=dt.date.today(), caisses=list(Caisse.objects.all()), used_nirs=set()
    )
    chunks = list(generator.chunks(count=persons, first_id=1, chunk_size=20_000))
    started = time.perf_counter()
    rows = 0
    # The same load strategy as the seed into an empty database: one transaction, indexes built at the end.
    loaded = [Person, Account, ContactPoint, ChannelPreference, Consent]
    with fast_bulk_load(), transaction.atomic(), secondary_indexes_deferred(loaded):
        for chunk in chunks:
            with transaction.atomic():
                bulk_insert_rows(Person, demo.PERSON_COLUMNS, chunk.persons)
                bulk_insert_rows(Account, demo.ACCOUNT_COLUMNS, chunk.accounts)
                bulk_insert_rows(ContactPoint, demo.CONTACT_POINT_COLUMNS, chunk.contact_points)
                bulk_insert_rows(ChannelPreference, demo.PREFERENCE_COLUMNS, chunk.preferences)
                bulk_insert_rows(Consent, demo.CONSENT_COLUMNS, chunk.consents)
            rows += sum(
                map(
                    len,
                    (chunk.persons, chunk.accounts, chunk.contact_points, chunk.preferences, chunk.consents),
                )
            )
    return {"seconds": time.perf_counter() - started, "persons": persons, "rows": rows}


def _database_for_run(base_url: str | None, var_dir: str, name: str) -> str:
    if not base_url:
        return f"sqlite:///{var_dir}/{name}.sqlite3"
    # PostgreSQL: one fresh database per phase in the same cluster.
    import psycopg

    db_name = f"bench_{name}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db_name}"')
    return base_url.rsplit("/", 1)[0] + "/" + db_name


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--phase", choices=["seed", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--var-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(_phase(args.phase, args.persons, args.database_url, args.var_dir)))
        return

    base_url = os.environ.get("DATABASE_URL")
    engine = "PostgreSQL" if base_url and base_url.startswith("postgres") else "SQLite"
    results = {}
    with tempfile.TemporaryDirectory() as var_dir:
        for phase in ("baseline", "seed"):
            url = _database_for_run(base_url, var_dir, phase)
            out = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.seed",
                    "--phase",
                    phase,
                    "--persons",
                    str(args.persons),
                    "--database-url",
                    url,
                    "--var-dir",
                    var_dir,
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            results[phase] = json.loads(out.stdout.strip().splitlines()[-1])
    seed, base = results["seed"], results["baseline"]
    print(
        f"seed bench on {engine}, {args.persons:,} persons, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}"
    )
    for label, r in (("seed (generate + write)", seed), ("baseline (raw inserts only)", base)):
        rate = r["persons"] / r["seconds"]
        print(f"  {label:<28} {r['seconds']:7.1f} s {rate:>10,.0f} persons/s ({r['rows']:,} rows)")
    print(f"  ratio seed / baseline: {seed['seconds'] / base['seconds']:.2f}")
    if engine == "SQLite":
        scaled = seed["seconds"] * 1_000_000 / args.persons
        verdict = "met" if scaled <= TARGET_SECONDS else "MISSED"
        print(
            f"  target: 1,000,000 persons in at most {TARGET_SECONDS:.0f} s on SQLite -> {scaled:.1f} s ({verdict})"
        )


if __name__ == "__main__":
    main()
