"""`omniguichet kpi` on given files, without starting Django.

The indicators of files (`--contacts` and `--persons`) need neither the database nor the apps: only the engine
(DuckDB) and two settings. `omniguichet.cli` runs this module directly for them, so the command pays DuckDB's
work and not Django's start-up (issue 15: end to end within 1.3x of the same DuckDB statements alone). Without
files the indicators are the platform's warehouse's, through Django (the `kpi` management command, which shares
the arguments, the checks and the output here).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from typing import Any

from omniguichet.analytics import engine

DESCRIPTION = (
    "Compute the seven steering indicators of a year for every caisse (targets: the national values of the "
    "year before) and write them as CSV; --bonus also writes the bonus points of each caisse."
)


class KpiInputError(ValueError):
    """A refused argument: the field and the reason."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


def add_arguments(parser: Any) -> None:
    parser.add_argument("--year", type=int, required=True, help="the year to compute (targets: year - 1)")
    parser.add_argument("--by", choices=["year", "month"], default="year", help="period (default: year)")
    parser.add_argument("--contacts", type=Path, help="contacts file (Parquet, directory of parts, or CSV)")
    parser.add_argument("--persons", type=Path, help="persons file (Parquet or CSV)")
    parser.add_argument("--out", type=Path, required=True, help="CSV file of the indicators")
    parser.add_argument("--bonus", type=Path, help="CSV file of the bonus points of each caisse")
    parser.add_argument(
        "--weights", default=None, help='bonus weights, e.g. "demat_rate=2,recontact_rate=0.5" (default 1)'
    )


def check_request(
    *, year: int, contacts: Any, persons: Any, weights: str | dict[str, float] | None, default_weights: str
) -> dict[str, float]:
    """The parsed weights once the request is sound; KpiInputError naming the field otherwise (the service turns
    it into InvalidInput, the command line into its error)."""
    try:
        parsed = engine.parse_weights(weights if weights is not None else default_weights)
    except ValueError as exc:
        raise KpiInputError("weights", str(exc)) from None
    if not 2000 <= year <= 2100:
        raise KpiInputError("year", "must be between 2000 and 2100")
    if (contacts is None) != (persons is None):
        raise KpiInputError("contacts", "give both the contacts and the persons files, or neither")
    return parsed


def write_outputs(result: engine.KpiResult, *, by: str, out: Path, bonus: Path | None, stdout: Any) -> None:
    rows = result.rows(by)
    engine.write_csv(out, engine.INDICATOR_COLUMNS, engine.indicator_records(rows))
    stdout.write(f"{len(rows)} rows ({len(result.caisses())} caisses) written to {out}\n")
    if bonus:
        engine.write_csv(bonus, engine.BONUS_COLUMNS, engine.bonus_records(result.bonus))
        stdout.write(f"bonus of {len(result.bonus)} caisses written to {bonus}\n")


def _settings() -> Any:
    """The project's settings module read as a plain module (no django.setup())."""
    return importlib.import_module(os.environ.get("DJANGO_SETTINGS_MODULE", "omniguichet.settings"))


def main(argv: list[str]) -> int | None:
    """Run `kpi` on files and return the exit status; None when the request is not for files (the warehouse's
    indicators: the caller hands it to Django's command)."""
    if "--contacts" not in argv and "--persons" not in argv:
        return None
    parser = argparse.ArgumentParser(prog="omniguichet kpi", description=DESCRIPTION)
    add_arguments(parser)
    args = parser.parse_args(argv)
    settings = _settings()
    try:
        weights = check_request(
            year=args.year,
            contacts=args.contacts,
            persons=args.persons,
            weights=args.weights,
            default_weights=getattr(settings, "ANALYTICS_BONUS_WEIGHTS", ""),
        )
        result = engine.compute(
            contacts=args.contacts,
            persons=args.persons,
            year=args.year,
            weights=weights,
            memory_limit=getattr(settings, "ANALYTICS_DUCKDB_MEMORY_LIMIT", None),
        )
    except (KpiInputError, engine.SchemaError) as exc:
        sys.stderr.write(f"CommandError: {exc}\n")
        return 1
    write_outputs(result, by=args.by, out=args.out, bonus=args.bonus, stdout=sys.stdout)
    return 0
