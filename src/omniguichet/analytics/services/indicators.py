"""The indicators of a year, computed by the engine on given files or on the warehouse (cached per state)."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

from django.conf import settings

from omniguichet.analytics import engine, kpi_cli
from omniguichet.analytics.services.common import CACHE_DIR
from omniguichet.core.actors import Actor, Channel
from omniguichet.core.errors import Forbidden, InvalidInput, NotFound


# ------------------------------------------------------------------------------------------------ indicators
class NoWarehouse(NotFound):
    """The platform's warehouse has not been exported yet."""


def warehouse_sources(out: Path | str | None = None) -> tuple[Path, Path]:
    """(contacts, persons) of the platform's own warehouse; NotFound when it has not been exported yet."""
    out = Path(out or settings.ANALYTICS_WAREHOUSE_DIR)
    contacts, persons = out / "contacts", out / "persons"
    # The month folders, or the parts of a flat warehouse that its next export will migrate.
    parts = any(contacts.glob("month=*/*.parquet")) or any(contacts.glob("part-*.parquet"))
    if not any(persons.glob("part-*.parquet")) or not parts:
        raise NoWarehouse(f"no warehouse in {out}: run `omniguichet warehouse export` first")
    return contacts, persons


def warehouse_state(out: Path | str | None = None) -> str:
    """A fingerprint of the warehouse's files: it changes whenever an export writes anything."""
    out = Path(out or settings.ANALYTICS_WAREHOUSE_DIR)
    digest = hashlib.sha256()
    for folder in ("contacts", "persons"):
        for path in sorted((out / folder).rglob("*.parquet")):  # the parts and the imported history
            stat = path.stat()
            digest.update(f"{path.relative_to(out)}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:24]


_memo: dict[tuple[str, str, int, str], engine.KpiResult] = {}


_memo_lock = threading.Lock()


def compute_kpi(
    *,
    actor: Actor,
    channel: Channel,
    year: int,
    contacts: Path | str | None = None,
    persons: Path | str | None = None,
    weights: str | dict[str, float] | None = None,
) -> engine.KpiResult:
    """All indicators of `year` from the given files, or from the platform's warehouse (cached per state)."""
    if not actor.sees_all_caisses:
        raise Forbidden("computing the indicators of every caisse requires a national role")
    try:
        parsed = kpi_cli.check_request(
            year=year,
            contacts=contacts,
            persons=persons,
            weights=weights,
            default_weights=settings.ANALYTICS_BONUS_WEIGHTS,
        )
    except kpi_cli.KpiInputError as exc:
        raise InvalidInput.from_fields({exc.field: exc.reason}) from None
    if contacts is not None and persons is not None:
        try:
            return engine.compute(
                contacts=contacts,
                persons=persons,
                year=year,
                weights=parsed,
                memory_limit=settings.ANALYTICS_DUCKDB_MEMORY_LIMIT,
            )
        except engine.SchemaError as exc:
            raise InvalidInput.from_fields({"source": str(exc)}) from None
    return _cached_warehouse_kpi(year, parsed)


def _cached_warehouse_kpi(year: int, weights: dict[str, float]) -> engine.KpiResult:
    """The warehouse's indicators, computed once per warehouse state (then read from a JSON file)."""
    out = Path(settings.ANALYTICS_WAREHOUSE_DIR)
    contacts, persons = warehouse_sources(out)
    state = warehouse_state(out)
    weights_key = hashlib.sha256(json.dumps(weights, sort_keys=True).encode()).hexdigest()[:8]
    memo_key = (str(out), state, year, weights_key)
    with _memo_lock:
        if memo_key in _memo:
            return _memo[memo_key]
    cache_file = out / CACHE_DIR / f"{state}-{year}-{weights_key}.json"
    if cache_file.exists():
        result = engine.KpiResult.from_dict(json.loads(cache_file.read_text()))
    else:
        result = engine.compute(
            contacts=contacts,
            persons=persons,
            year=year,
            weights=weights,
            memory_limit=settings.ANALYTICS_DUCKDB_MEMORY_LIMIT,
        )
        cache_file.parent.mkdir(exist_ok=True)
        for old in cache_file.parent.glob("*.json"):
            if not old.name.startswith(state):
                old.unlink(missing_ok=True)  # figures of an older warehouse state
        tmp = cache_file.with_name(cache_file.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(result.to_dict()))
        os.replace(tmp, cache_file)
    with _memo_lock:
        _memo.clear()  # keep one state in memory
        _memo[memo_key] = result
    return result
