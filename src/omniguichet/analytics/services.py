"""Analytics services: the pseudonymised warehouse export, the cached indicators, who may see which figures.

The warehouse directory holds `contacts/part-<first id>-<last id>.parquet` (append-only, one part per batch of
contacts in id order) and `persons/part-<n>.parquet` (the persons of one range of a million ids each, a part
rewritten only when a person or an account of its range changed). Every file is written to a temporary name
then renamed, so a crash leaves either a whole part or none; the next export starts after the highest contact
id found in the part names (the high-water mark lives in the files themselves, never in a separate state that
could disagree with them).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.db.models import Count, F, Max

from omniguichet.analytics import engine
from omniguichet.core.actors import Actor, Channel
from omniguichet.core.errors import Forbidden, InvalidInput, NotFound
from omniguichet.core.keys import key_from_file
from omniguichet.crm.models import Contact
from omniguichet.referential.models import Person, Role

PART_RE = re.compile(r"^part-(\d{12})-(\d{12})\.parquet$")
PERSONS_STATE = "_state.json"
PERSONS_BUCKET = 1_000_000  # person ids per persons part file
CACHE_DIR = "_kpi"
ANALYTICS_ROLES = {Role.MANAGER, Role.NATIONAL_SUPERVISOR}

_UTC = pa.timestamp("us", tz="UTC")
CONTACTS_ARROW = pa.schema(
    [
        ("contact_id", pa.string()),
        ("person_key", pa.string()),
        ("caisse", pa.string()),
        ("channel", pa.string()),
        ("direction", pa.string()),
        ("motive", pa.string()),
        ("started_at", _UTC),
        ("answered", pa.bool_()),
        ("responded_at", _UTC),
        ("on_appointment", pa.bool_()),
        ("waited_seconds", pa.int64()),
    ]
)
PERSONS_ARROW = pa.schema([("person_key", pa.string()), ("caisse", pa.string()), ("account_opened_at", _UTC)])
CONTACT_FIELDS = (
    "id",
    "person_id",
    "caisse_id",
    "channel",
    "direction",
    "motive_id",
    "started_at",
    "answered",
    "responded_at",
    "on_appointment",
    "waited_seconds",
)


# ------------------------------------------------------------------------------------------------ pseudonyms
def pseudonym_key() -> bytes:
    """The HMAC key of person pseudonyms: OMNIGUICHET_PSEUDONYM_KEY, else a file generated once under var/."""
    from_env = os.environ.get("OMNIGUICHET_PSEUDONYM_KEY")
    if from_env:
        return from_env.encode()
    return key_from_file(Path(settings.VAR_DIR) / "pseudonym_key", lambda: secrets.token_urlsafe(48)).encode()


def person_key(person_id: int, key: bytes) -> str:
    """The keyed pseudonym of a person: HMAC-SHA256 of the person id (never the NIR), 128 bits in hex."""
    return hmac.new(key, str(person_id).encode(), hashlib.sha256).hexdigest()[:32]


# ------------------------------------------------------------------------------------------------ export
@dataclass(frozen=True)
class ExportReport:
    contacts: int  # contacts written by this export
    parts: int  # part files written by this export
    high_water: int  # highest contact id in the warehouse after the export
    persons: int | None  # persons written (None: no person nor account changed)


def _write_atomic(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def high_water(out: Path) -> int:
    """The highest contact id already in the warehouse (0 when empty), read from the part names."""
    last = 0
    folder = out / "contacts"
    if folder.is_dir():
        for entry in folder.iterdir():
            match = PART_RE.match(entry.name)
            if match:
                last = max(last, int(match.group(2)))
    return last


def pending_contacts(*, out: Path) -> int:
    return Contact.objects.filter(id__gt=high_water(Path(out))).count()


def export_warehouse(
    *,
    actor: Actor,
    channel: Channel,
    out: Path | str,
    batch_size: int = 100_000,
    on_batch: Callable[[int], None] | None = None,
    persons_bucket: int = PERSONS_BUCKET,
) -> ExportReport:
    """Append the contacts recorded since the last export, then rewrite the person parts that changed."""
    if not actor.sees_all_caisses:
        raise Forbidden("the warehouse export covers every caisse: a national role is required")
    if batch_size < 1:
        raise InvalidInput.from_fields({"batch_size": "must be 1 or more"})
    out = Path(out)
    contacts_dir, persons_dir = out / "contacts", out / "persons"
    contacts_dir.mkdir(parents=True, exist_ok=True)
    persons_dir.mkdir(parents=True, exist_ok=True)
    for folder in (contacts_dir, persons_dir):
        for stale in folder.glob("*.tmp"):  # what a crash left half-written
            stale.unlink()
    key = pseudonym_key()
    keys: dict[int, str] = {}
    last = high_water(out)
    written = parts = 0
    while True:
        rows = list(
            Contact.objects.filter(id__gt=last).order_by("id").values_list(*CONTACT_FIELDS)[:batch_size]
        )
        if not rows:
            break
        columns: dict[str, list[Any]] = {name: [] for name in CONTACTS_ARROW.names}
        for cid, pid, caisse, chan, direction, motive, started, answered, responded, on_appt, waited in rows:
            pkey = keys.get(pid)
            if pkey is None:
                pkey = keys[pid] = person_key(pid, key)
            columns["contact_id"].append(str(cid))
            columns["person_key"].append(pkey)
            columns["caisse"].append(caisse)
            columns["channel"].append(chan)
            columns["direction"].append(direction)
            columns["motive"].append(motive)
            columns["started_at"].append(started)
            columns["answered"].append(answered)
            columns["responded_at"].append(responded)
            columns["on_appointment"].append(on_appt)
            columns["waited_seconds"].append(waited)
        if len(keys) > 1_000_000:
            keys.clear()
        first_id, last_id = rows[0][0], rows[-1][0]
        table = pa.Table.from_pydict(columns, schema=CONTACTS_ARROW)
        _write_atomic(table, contacts_dir / f"part-{first_id:012d}-{last_id:012d}.parquet")
        last = last_id
        written += len(rows)
        parts += 1
        if on_batch is not None:
            on_batch(len(rows))
    persons = _export_persons(persons_dir, key, persons_bucket)
    return ExportReport(contacts=written, parts=parts, high_water=last, persons=persons)


def _persons_state(bucket_size: int) -> dict[str, list[Any]]:
    """One fingerprint per range of `bucket_size` person ids: what a change to a person or an account moves."""
    rows = (
        Person.objects.annotate(bucket=F("id") / bucket_size)
        .values("bucket")
        .annotate(
            n=Count("id"),
            last=Max("id"),
            updated=Max("updated_at"),
            accounts=Count("account"),
            last_account=Max("account__id"),
            opened=Max("account__opened_at"),
        )
        .order_by("bucket")
    )
    return {
        str(r["bucket"]): [
            r["n"],
            r["last"],
            str(r["updated"]),
            r["accounts"],
            r["last_account"],
            str(r["opened"]),
        ]
        for r in rows
    }


def _export_persons(folder: Path, key: bytes, bucket_size: int = PERSONS_BUCKET) -> int | None:
    """Rewrite the person parts (one per range of person ids) whose persons or accounts changed since the last
    export; returns the number of persons written (None: nothing changed)."""
    state = _persons_state(bucket_size)
    state_file = folder / PERSONS_STATE
    previous: dict[str, Any] = json.loads(state_file.read_text()) if state_file.exists() else {}
    if previous.get("bucket_size") != bucket_size:
        previous = {}
        for old in folder.glob("part-*.parquet"):
            old.unlink()
    before: dict[str, list[Any]] = previous.get("buckets", {})
    count = 0
    changed = False
    for bucket, fingerprint in state.items():
        target = folder / f"part-{int(bucket):06d}.parquet"
        if before.get(bucket) == fingerprint and target.exists():
            continue
        first = int(bucket) * bucket_size
        rows = list(
            Person.objects.filter(id__gte=first, id__lt=first + bucket_size)
            .order_by("id")
            .values_list("id", "caisse_id", "account__opened_at")
        )
        table = pa.Table.from_pydict(
            {
                "person_key": [person_key(pid, key) for pid, _, _ in rows],
                "caisse": [caisse for _, caisse, _ in rows],
                "account_opened_at": [opened for _, _, opened in rows],
            },
            schema=PERSONS_ARROW,
        )
        _write_atomic(table, target)
        count += len(rows)
        changed = True
    for bucket in set(before) - set(state):  # every person of that range was deleted
        (folder / f"part-{int(bucket):06d}.parquet").unlink(missing_ok=True)
        changed = True
    if not changed and state_file.exists():
        return None
    state_tmp = state_file.with_name(state_file.name + ".tmp")
    state_tmp.write_text(json.dumps({"bucket_size": bucket_size, "buckets": state}))
    os.replace(state_tmp, state_file)
    return count


# ------------------------------------------------------------------------------------------------ indicators
class NoWarehouse(NotFound):
    """The platform's warehouse has not been exported yet."""


def warehouse_sources(out: Path | str | None = None) -> tuple[Path, Path]:
    """(contacts, persons) of the platform's own warehouse; NotFound when it has not been exported yet."""
    out = Path(out or settings.ANALYTICS_WAREHOUSE_DIR)
    contacts, persons = out / "contacts", out / "persons"
    if not any(persons.glob("part-*.parquet")) or not any(contacts.glob("part-*.parquet")):
        raise NoWarehouse(f"no warehouse in {out}: run `omniguichet warehouse export` first")
    return contacts, persons


def warehouse_state(out: Path | str | None = None) -> str:
    """A fingerprint of the warehouse's files: it changes whenever an export writes anything."""
    out = Path(out or settings.ANALYTICS_WAREHOUSE_DIR)
    digest = hashlib.sha256()
    for folder in ("contacts", "persons"):
        for path in sorted((out / folder).glob("*.parquet")):
            stat = path.stat()
            digest.update(f"{folder}/{path.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
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
        parsed = engine.parse_weights(weights if weights is not None else settings.ANALYTICS_BONUS_WEIGHTS)
    except ValueError as exc:
        raise InvalidInput.from_fields({"weights": str(exc)}) from None
    if not 2000 <= year <= 2100:
        raise InvalidInput.from_fields({"year": "must be between 2000 and 2100"})
    if (contacts is None) != (persons is None):
        raise InvalidInput.from_fields(
            {"contacts": "give both the contacts and the persons files, or neither"}
        )
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


# ------------------------------------------------------------------------------------------------ dashboards
def precompute_dashboards(*, actor: Actor, channel: Channel, years: list[int] | None = None) -> list[int]:
    """Compute (and cache) the figures the dashboards show first: this year and last year, in Paris."""
    if not actor.sees_all_caisses:
        raise Forbidden("computing the indicators of every caisse requires a national role")
    current = dt.datetime.now(engine.PARIS).year
    years = years or [current - 1, current]
    for year in years:
        dashboard_figures(actor=actor, channel=channel, year=year)
    return years


def analytics_actor(user: Any) -> Actor:
    """The actor for a dashboard request: a manager of a caisse or a national role."""
    if not (user.is_superuser or user.role in ANALYTICS_ROLES):
        raise Forbidden("the analytics dashboards are reserved to managers and national roles")
    if not user.is_superuser and user.role == Role.MANAGER and not user.caisse_id:
        raise Forbidden("a manager without caisse sees no figures")
    return Actor.agent(user)


def dashboard_year(*, actor: Actor, channel: Channel, year: int | None = None) -> int:
    """The year shown: the one asked for, else the current year in Paris."""
    if year is None:
        return dt.datetime.now(engine.PARIS).year
    if not 2000 <= year <= 2100:
        raise InvalidInput.from_fields({"year": "must be between 2000 and 2100"})
    return year


def dashboard_figures(*, actor: Actor, channel: Channel, year: int) -> engine.KpiResult:
    """The precomputed figures of the platform's warehouse for the dashboards (every caisse: the views filter)."""
    return _cached_warehouse_kpi(year, engine.parse_weights(settings.ANALYTICS_BONUS_WEIGHTS))


def check_caisse_visible(*, actor: Actor, caisse: str) -> None:
    """A manager sees their own caisse only: any other answers NotFound, exactly like an unknown one."""
    if not actor.sees_all_caisses and actor.caisse_code != caisse:
        raise NotFound("no such caisse")


@dataclass(frozen=True)
class IndicatorPanel:
    name: str
    value: float | None
    target: float | None
    met: bool
    numerator: int
    denominator: int
    monthly: list[float | None]  # the 12 months of the year
    national_monthly: list[float | None] | None  # on a caisse's view: the national line


@dataclass
class Dashboard:
    """What the national or one caisse's dashboard shows, computed from the cached figures."""

    year: int
    caisse: str | None  # None: the national view
    caisse_name: str
    months: list[str]
    indicators: list[IndicatorPanel]
    ranking: list[tuple[int, str, str, float]]  # (rank, caisse, name, points); empty when not visible
    own_rank: tuple[int, int] | None  # (rank, number of caisses) of the manager's caisse
    bonus: list[tuple[str, str, float, tuple[str, ...]]]  # (caisse, name, points, indicators met)
    channels: list[tuple[str, int, float]]  # (channel, inbound contacts, share)

    def tables(self) -> dict[str, tuple[list[str], list[list[str]]]]:
        """The downloadable tables: name -> (header, rows)."""
        scope = self.caisse or "national"
        num = engine.format_number
        indicators = [
            [scope, str(self.year), p.name, str(p.numerator), str(p.denominator), num(p.value), num(p.target),
             "true" if p.met else "false"]
            for p in self.indicators
        ]  # fmt: skip
        monthly = [
            [scope, month, p.name, engine.format_number(p.monthly[i]), engine.format_number(p.target)]
            for p in self.indicators
            for i, month in enumerate(self.months)
        ]
        return {
            "indicators": (engine.INDICATOR_COLUMNS, indicators),
            "monthly": (["caisse", "period", "indicator", "value", "target"], monthly),
            "ranking": (
                ["rank", "caisse", "name", "points"],
                [[str(r), c, n, engine.format_points(p)] for r, c, n, p in self.ranking],
            ),
            "bonus": (
                ["caisse", "name", "year", "points", "indicators_met"],
                [[c, n, str(self.year), engine.format_points(p), ";".join(m)] for c, n, p, m in self.bonus],
            ),
            "channels": (
                ["caisse", "year", "channel", "contacts", "share"],
                [[scope, str(self.year), ch, str(n), engine.format_number(s)] for ch, n, s in self.channels],
            ),
        }


def dashboard(*, actor: Actor, channel: Channel, year: int, caisse: str | None = None) -> Dashboard:
    """The national view (caisse None) or one caisse's, as the actor may see it (NotFound for another caisse)."""
    from omniguichet.referential.models import Caisse

    if caisse is not None:
        check_caisse_visible(actor=actor, caisse=caisse)
    result = dashboard_figures(actor=actor, channel=channel, year=year)
    names = dict(Caisse.objects.values_list("code", "name"))
    if caisse is not None and caisse not in names and caisse not in result.caisses():
        raise NotFound("no such caisse")
    months = [f"{year}-{m:02d}" for m in range(1, 13)]
    national_year = {r.indicator: r for r in result.national("year")}
    national_month = {(r.period, r.indicator): r.value for r in result.national("month")}
    if caisse is None:
        yearly = national_year
        monthly = national_month
    else:
        yearly = {r.indicator: r for r in result.yearly if r.caisse == caisse}
        monthly = {(r.period, r.indicator): r.value for r in result.monthly if r.caisse == caisse}
    panels = []
    for name in engine.INDICATORS:
        row = yearly.get(name) or engine.indicator_value(
            caisse or "national", str(year), name, 0, 0, result.targets[name]
        )
        panels.append(
            IndicatorPanel(
                name=name,
                value=row.value,
                target=row.target,
                met=row.met,
                numerator=row.numerator,
                denominator=row.denominator,
                monthly=[monthly.get((m, name)) for m in months],
                national_monthly=None if caisse is None else [national_month.get((m, name)) for m in months],
            )
        )
    ordered = sorted(result.bonus, key=lambda b: (-b.points, b.caisse))
    ranks: list[tuple[int, str, str, float]] = []
    for position, b in enumerate(ordered, start=1):
        rank = ranks[-1][0] if ranks and ranks[-1][3] == b.points else position  # ties share a rank
        ranks.append((rank, b.caisse, names.get(b.caisse, ""), b.points))
    own = actor.caisse_code
    own_rank = next(((r, len(ranks)) for r, c, _, _ in ranks if c == own), None)
    if actor.sees_all_caisses:
        bonus = [(b.caisse, names.get(b.caisse, ""), b.points, b.indicators_met) for b in result.bonus]
        if caisse is not None:
            bonus = [row for row in bonus if row[0] == caisse]
        ranking = ranks if caisse is None else []
    else:
        # A manager sees the national figures and their own caisse, not the other caisses one by one.
        bonus = [
            (b.caisse, names.get(b.caisse, ""), b.points, b.indicators_met)
            for b in result.bonus
            if b.caisse == own
        ]
        ranking = []
    counts: dict[str, int] = dict.fromkeys(engine.CHANNELS, 0)
    for c in result.channel_mix:
        if c.period == str(year) and (caisse is None or c.caisse == caisse):
            counts[c.channel] += c.contacts
    total = sum(counts.values())
    channels = [(ch, n, n / total if total else 0.0) for ch, n in counts.items()]
    return Dashboard(
        year=year,
        caisse=caisse,
        caisse_name=names.get(caisse, "") if caisse else "",
        months=months,
        indicators=panels,
        ranking=ranking,
        own_rank=own_rank if not actor.sees_all_caisses else None,
        bonus=bonus,
        channels=channels,
    )
