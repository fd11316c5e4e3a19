"""Analytics services: the pseudonymised warehouse export, the cached indicators, who may see which figures.

The warehouse directory holds `contacts/part-<first id>-<last id>.parquet` (contacts in id order, each contact in
exactly one part with its current values: a contact changed after its export is rewritten in its part, found
through the crm change log) and `persons/part-<n>.parquet` (the persons of one range of a million ids each, a
part rewritten only when a person or an account of its range changed). Every file is written to a temporary
name then renamed, so a crash leaves either a whole part or none. `contacts/_export.json` keeps the floor below
which every contact id is final, and the marks waiting for transactions still running (PostgreSQL), so that a
contact committed after a higher id was exported is not skipped (docs/analytics.md).
"""

from __future__ import annotations

import bisect
import datetime as dt
import fcntl
import functools
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from omniguichet.analytics import engine
from omniguichet.analytics.models import ExportRun, ExportStatus, ExportTrigger
from omniguichet.core.actors import Actor, Channel
from omniguichet.core.apps import TaskHook
from omniguichet.core.db import is_postgresql
from omniguichet.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from omniguichet.core.keys import key_from_file
from omniguichet.crm.models import Contact, ContactChange
from omniguichet.referential.models import Person, Role

if TYPE_CHECKING:
    import pyarrow as pa

PART_RE = re.compile(r"^part-(\d{12})-(\d{12})\.parquet$")
PERSONS_STATE = "_state.json"
EXPORT_STATE = "_export.json"  # in contacts/: the floor, the changes applied, the marks still pending
PERSONS_BUCKET = 1_000_000  # person ids per persons part file
CACHE_DIR = "_kpi"
ANALYTICS_ROLES = {Role.MANAGER, Role.NATIONAL_SUPERVISOR}


# pyarrow is imported where it is used: the URL conf loads these services, and pyarrow costs every web server
# and command process a tenth of a second (issue 15).
@functools.cache
def _contacts_arrow() -> pa.Schema:
    import pyarrow as pa

    utc = pa.timestamp("us", tz="UTC")
    return pa.schema(
        [
            ("contact_id", pa.string()),
            ("person_key", pa.string()),
            ("caisse", pa.string()),
            ("channel", pa.string()),
            ("direction", pa.string()),
            ("motive", pa.string()),
            ("started_at", utc),
            ("answered", pa.bool_()),
            ("responded_at", utc),
            ("on_appointment", pa.bool_()),
            ("waited_seconds", pa.int64()),
        ]
    )


@functools.cache
def _persons_arrow() -> pa.Schema:
    import pyarrow as pa

    utc = pa.timestamp("us", tz="UTC")
    return pa.schema([("person_key", pa.string()), ("caisse", pa.string()), ("account_opened_at", utc)])


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
    contacts: int  # contacts written for the first time by this export
    parts: int  # part files written (new or rewritten) by this export
    high_water: int  # highest contact id in the warehouse after the export
    persons: int | None  # persons written (None: no person nor account changed)
    changed: int = 0  # contacts changed or deleted after their export, rewritten in their part
    floor: int = 0  # every contact id up to this one is final: none can still appear below it


def _write_atomic(table: pa.Table, path: Path) -> None:
    import pyarrow.parquet as pq

    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _parts(folder: Path) -> list[tuple[int, int, Path]]:
    """The contact part files as (first id, last id, path), in order."""
    found = []
    if folder.is_dir():
        for entry in folder.iterdir():
            match = PART_RE.match(entry.name)
            if match:
                found.append((int(match.group(1)), int(match.group(2)), entry))
    return sorted(found)


def high_water(out: Path) -> int:
    """The highest contact id already in the warehouse (0 when empty), read from the part names."""
    return max((last for _first, last, _path in _parts(out / "contacts")), default=0)


def pending_contacts(*, out: Path) -> int:
    return Contact.objects.filter(id__gt=high_water(Path(out))).count()


@dataclass
class _Position:
    """Where the database stood at one instant: its highest contact and change ids, and the transactions then
    running (PostgreSQL; none on SQLite, where one writer at a time commits ids in order)."""

    contacts: int
    changes: int
    running: list[int]


def _position() -> _Position:
    if is_postgresql():
        with connection.cursor() as cursor:
            # One statement, one snapshot: the maxima and the running transactions are of the same instant.
            cursor.execute(
                "SELECT (SELECT max(id) FROM crm_contact), (SELECT max(id) FROM crm_contactchange), "
                "ARRAY(SELECT x::text FROM pg_snapshot_xip(pg_current_snapshot()) AS x)"
            )
            contacts, changes, running = cursor.fetchone()
        return _Position(contacts or 0, changes or 0, sorted(int(x) for x in running))
    found = Contact.objects.aggregate(m=Max("id"))["m"] or 0
    return _Position(found, ContactChange.objects.aggregate(m=Max("id"))["m"] or 0, [])


def _load_state(folder: Path) -> dict[str, Any]:
    path = folder / EXPORT_STATE
    state: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    state.setdefault("floor", 0)  # contact ids up to here are final in the warehouse
    state.setdefault("changes_floor", 0)  # contact changes up to here are applied
    state.setdefault("pending", [])  # [contacts mark, changes mark, running transaction ids], oldest first
    return state


def _save_state(folder: Path, state: dict[str, Any]) -> None:
    path = folder / EXPORT_STATE
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(state))
    os.replace(tmp, path)


def _contact_table(rows: list[tuple], keys: dict[int, str], key: bytes) -> pa.Table:
    import pyarrow as pa

    columns: dict[str, list[Any]] = {name: [] for name in _contacts_arrow().names}
    for cid, pid, caisse, chan, direction, motive, started, answered, responded, on_appt, waited in rows:
        pkey = keys.get(pid)
        if pkey is None:
            if len(keys) > 1_000_000:
                keys.clear()
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
    return pa.Table.from_pydict(columns, schema=_contacts_arrow())


class _Writer:
    """Writes contact rows as part files named after their first and last id."""

    def __init__(self, folder: Path, key: bytes, on_batch: Callable[[int], None] | None) -> None:
        self.folder, self.key, self.on_batch = folder, key, on_batch
        self.keys: dict[int, str] = {}
        self.contacts = self.parts = 0

    def write(self, rows: list[tuple]) -> None:
        table = _contact_table(rows, self.keys, self.key)
        _write_atomic(table, self.folder / f"part-{rows[0][0]:012d}-{rows[-1][0]:012d}.parquet")
        self.contacts += len(rows)
        self.parts += 1
        if self.on_batch is not None:
            self.on_batch(len(rows))


def _exported_ids(folder: Path, above: int) -> pa.Array:
    """The contact ids (int64) of the part files that may hold ids above `above`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    chunks = [
        pq.read_table(path, columns=["contact_id"]).column("contact_id").combine_chunks()
        for _first, last, path in _parts(folder)
        if last > above
    ]
    if not chunks:
        return pa.array([], pa.int64())
    return pa.concat_arrays([chunk.cast(pa.int64()) for chunk in chunks])


def _export_contacts(writer: _Writer, *, floor: int, batch_size: int) -> None:
    """Write every visible contact above `floor` that no part holds yet: first those committed late below the
    high-water mark (a transaction that committed after a higher id was exported), then the new ones."""
    import pyarrow as pa
    import pyarrow.compute as pc

    folder = writer.folder
    last = high_water(folder.parent)
    if floor < last:
        exported = _exported_ids(folder, floor)
        start = floor
        while start < last:
            stop = min(start + 10 * batch_size, last)
            ids = pa.array(
                list(Contact.objects.filter(id__gt=start, id__lte=stop).values_list("id", flat=True)),
                pa.int64(),
            )
            missing = ids.filter(pc.invert(pc.is_in(ids, value_set=exported))).to_pylist()
            for i in range(0, len(missing), batch_size):
                rows = list(
                    Contact.objects.filter(id__in=missing[i : i + batch_size])
                    .order_by("id")
                    .values_list(*CONTACT_FIELDS)
                )
                if rows:
                    writer.write(rows)
            start = stop
    while True:
        rows = list(
            Contact.objects.filter(id__gt=last).order_by("id").values_list(*CONTACT_FIELDS)[:batch_size]
        )
        if not rows:
            break
        writer.write(rows)
        last = rows[-1][0]


def _apply_changes(writer: _Writer, *, since: int, batch_size: int) -> int:
    """Rewrite, in place, the part files holding contacts changed or deleted (crm.ContactChange) after change
    `since`: each part keeps its name and holds each contact once, with its current values (a deleted contact
    leaves its part). Re-applying a change rewrites nothing. Returns the number of contacts re-exported."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    changed = sorted(set(ContactChange.objects.filter(id__gt=since).values_list("contact_id", flat=True)))
    if not changed:
        return 0
    count = 0
    for first, last, path in _parts(writer.folder):
        lo = bisect.bisect_left(changed, first)
        hi = bisect.bisect_right(changed, last)
        if lo == hi:
            continue
        candidates = changed[lo:hi]
        table = pq.read_table(path)
        ids = table.column("contact_id").cast(pa.int64())
        inside = pc.is_in(ids, value_set=pa.array(candidates, pa.int64()))
        held = set(ids.filter(inside).to_pylist())
        if not held:
            continue
        current: list[tuple] = []
        ordered = sorted(held)
        for i in range(0, len(ordered), batch_size):
            current += Contact.objects.filter(id__in=ordered[i : i + batch_size]).values_list(*CONTACT_FIELDS)
        fresh = _contact_table(sorted(current), writer.keys, writer.key)
        kept = table.filter(pc.invert(inside))
        rewritten = pa.concat_tables([kept, fresh])
        rewritten = rewritten.take(pc.sort_indices(rewritten.column("contact_id").cast(pa.int64())))
        before = table.take(pc.sort_indices(ids))
        if rewritten.equals(before):
            continue  # already applied by an earlier run
        _write_atomic(rewritten, path)
        writer.parts += 1
        count += len(held)
    return count


def export_warehouse(
    *,
    actor: Actor,
    channel: Channel,
    out: Path | str,
    batch_size: int = 100_000,
    on_batch: Callable[[int], None] | None = None,
    persons_bucket: int = PERSONS_BUCKET,
    trigger: str = ExportTrigger.COMMAND,
) -> ExportReport:
    """Append the contacts recorded since the last export (and those committed late below it), rewrite the parts
    of the contacts changed since, then the person parts that changed. See docs/analytics.md for the rule that
    no contact committed late is skipped, on PostgreSQL too.

    An export of the platform's warehouse (ANALYTICS_WAREHOUSE_DIR) is recorded as an ExportRun whatever started
    it (the command line, a task, the page through `run_export`), so that the analytics page says when it last
    ran; an export to another directory (a copy, a bench) is not the platform's and is not recorded."""
    if not actor.sees_all_caisses:
        raise Forbidden("the warehouse export covers every caisse: a national role is required")
    if batch_size < 1:
        raise InvalidInput.from_fields({"batch_size": "must be 1 or more"})
    with export_lock(out):
        if not is_platform_warehouse(out):
            return _export(Path(out), batch_size=batch_size, on_batch=on_batch, persons_bucket=persons_bucket)
        _fail_interrupted_runs()
        run = ExportRun.objects.create(
            trigger=trigger, requested_by=actor.user, status=ExportStatus.RUNNING, started_at=timezone.now()
        )
        with _recording(run):
            report = _export(
                Path(out), batch_size=batch_size, on_batch=on_batch, persons_bucket=persons_bucket
            )
        _record_done(run, report)
        return report


def is_platform_warehouse(out: Path | str) -> bool:
    return Path(out).resolve() == Path(settings.ANALYTICS_WAREHOUSE_DIR).resolve()


def _export(
    out: Path, *, batch_size: int, on_batch: Callable[[int], None] | None, persons_bucket: int
) -> ExportReport:
    contacts_dir, persons_dir = out / "contacts", out / "persons"
    contacts_dir.mkdir(parents=True, exist_ok=True)
    persons_dir.mkdir(parents=True, exist_ok=True)
    for folder in (contacts_dir, persons_dir):
        for stale in folder.glob("*.tmp"):  # what a crash left half-written
            stale.unlink()
    key = pseudonym_key()
    state = _load_state(contacts_dir)
    floor, changes_floor = state["floor"], state["changes_floor"]
    # Where the database stands before reading: ids up to these marks can only still change through the
    # transactions running now; once none of them runs any more, those ids are final.
    start = _position()
    pending = [*state["pending"], [start.contacts, start.changes, start.running]]
    writer = _Writer(contacts_dir, key, on_batch)
    _export_contacts(writer, floor=floor, batch_size=batch_size)
    now_running = set(_position().running)
    resolved = [p for p in pending if not now_running.intersection(p[2])]
    if resolved:
        # Every id up to the resolved marks is committed or never will be, and visible to every read from now:
        # one more pass writes those that committed since the first one.
        _export_contacts(writer, floor=floor, batch_size=batch_size)
    changed = _apply_changes(writer, since=changes_floor, batch_size=batch_size)
    if resolved:
        floor = max(floor, *(p[0] for p in resolved))
        changes_floor = max(changes_floor, *(p[1] for p in resolved))
    state.update(
        floor=floor,
        changes_floor=changes_floor,
        pending=[p for p in pending if p not in resolved and (p[0] > floor or p[1] > changes_floor)],
    )
    _save_state(contacts_dir, state)
    persons = _export_persons(persons_dir, key, persons_bucket)
    return ExportReport(
        contacts=writer.contacts,
        parts=writer.parts,
        high_water=high_water(out),
        persons=persons,
        changed=changed,
        floor=floor,
    )


def prune_change_log(*, actor: Actor, channel: Channel, out: Path | str) -> int:
    """Delete the contact changes this warehouse has applied for good (up to its changes floor); returns how many.
    Only for the one warehouse fed by this database: another export directory would miss them."""
    if not actor.sees_all_caisses:
        raise Forbidden("the warehouse export covers every caisse: a national role is required")
    out = Path(out)
    with export_lock(out):
        floor = _load_state(out / "contacts")["changes_floor"]
        deleted, _per_model = ContactChange.objects.filter(id__lte=floor).delete()
    return deleted


def _persons_state(bucket_size: int) -> dict[str, list[Any]]:
    """One fingerprint per range of `bucket_size` person ids: what a change to a person or an account moves.

    Per caisse of the range: the number and the sum of the ids of its persons (a person moving to another
    caisse changes both caisses' figures, whether or not the writer bumped updated_at), the latest
    updated_at, and the number, highest id and latest opening of their accounts."""
    rows = (
        Person.objects.annotate(bucket=F("id") / bucket_size)
        .values("bucket", "caisse_id")
        .annotate(
            n=Count("id"),
            ids=Sum("id"),
            updated=Max("updated_at"),
            accounts=Count("account"),
            last_account=Max("account__id"),
            opened=Max("account__opened_at"),
        )
        .order_by("bucket", "caisse_id")
    )
    state: dict[str, list[Any]] = {}
    for r in rows:
        state.setdefault(str(r["bucket"]), []).append(
            [r["caisse_id"], r["n"], int(r["ids"]), str(r["updated"]), r["accounts"], r["last_account"],
             str(r["opened"])]
        )  # fmt: skip
    return state


def _export_persons(folder: Path, key: bytes, bucket_size: int = PERSONS_BUCKET) -> int | None:
    """Rewrite the person parts (one per range of person ids) whose persons or accounts changed since the last
    export; returns the number of persons written (None: nothing changed)."""
    import pyarrow as pa

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
                "person_key": [person_key(pid, key) for pid, _caisse, _opened in rows],
                "caisse": [caisse for _pid, caisse, _opened in rows],
                "account_opened_at": [opened for _pid, _caisse, opened in rows],
            },
            schema=_persons_arrow(),
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
    own_rank = next(((r, len(ranks)) for r, c, _name, _points in ranks if c == own), None)
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


# ------------------------------------------------------------------------------------------------ export runs
# Set by analytics.apps to the task that runs a queued export in the worker (analytics.tasks.enqueue_export).
schedule_export = TaskHook("analytics: run a queued export")

# path -> (file descriptor, depth, thread) of the export locks this process holds
_held_locks: dict[str, tuple[int, int, int]] = {}
_held_guard = threading.Lock()


@contextmanager
def export_lock(out: Path | str) -> Iterator[None]:
    """One export at a time on a warehouse directory (every process of this host, every thread): Conflict when
    another holds it. Re-entrant within one thread (a run holds it around the export it calls)."""
    path = Path(out)
    path.mkdir(parents=True, exist_ok=True)
    name = str((path / ".export.lock").resolve())
    me = threading.get_ident()
    busy = Conflict(_("an export of this warehouse is already running"))
    with _held_guard:
        held = _held_locks.get(name)
        if held is not None:
            if held[2] != me:
                raise busy
            _held_locks[name] = (held[0], held[1] + 1, me)
        else:
            fd = os.open(name, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise busy from None
            _held_locks[name] = (fd, 1, me)
    try:
        yield
    finally:
        with _held_guard:
            fd, depth, _thread = _held_locks[name]
            if depth > 1:
                _held_locks[name] = (fd, depth - 1, me)
            else:
                del _held_locks[name]
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)


def check_export_actor(actor: Actor) -> None:
    if not actor.sees_all_caisses:
        raise Forbidden(_("the warehouse export is reserved to the national role"))


def request_export(
    *, actor: Actor, channel: Channel, trigger: str = ExportTrigger.API
) -> tuple[ExportRun, bool]:
    """Queue a run of the export (run by the worker after the commit). A run already waiting is returned instead
    (created False): asking twice queues one run."""
    check_export_actor(actor)
    waiting = ExportRun.objects.filter(status=ExportStatus.QUEUED).first()
    if waiting is not None:
        return waiting, False
    try:
        with transaction.atomic():
            run = ExportRun.objects.create(trigger=trigger, requested_by=actor.user)
    except IntegrityError:  # another request queued one meanwhile
        return ExportRun.objects.get(status=ExportStatus.QUEUED), False
    if trigger == ExportTrigger.API:
        transaction.on_commit(lambda: schedule_export(run.pk))
    return run, True


def run_export(*, actor: Actor, channel: Channel, run_id: int) -> ExportRun:
    """Run a queued export on the platform's warehouse, then compute the dashboards' figures again. The run
    records what was written, or the error. Conflict when another export holds the warehouse."""
    check_export_actor(actor)
    out = Path(settings.ANALYTICS_WAREHOUSE_DIR)
    with export_lock(out):
        _fail_interrupted_runs()
        started = ExportRun.objects.filter(pk=run_id, status=ExportStatus.QUEUED).update(
            status=ExportStatus.RUNNING, started_at=timezone.now()
        )
        run = ExportRun.objects.get(pk=run_id)
        if not started:
            return run  # already run (a task delivered twice)
        with _recording(run):
            report = _export(out, batch_size=100_000, on_batch=None, persons_bucket=PERSONS_BUCKET)
            precompute_dashboards(actor=actor, channel=channel)
        _record_done(run, report)
    return run


def _fail_interrupted_runs() -> None:
    """Called holding the export lock, when no export runs anywhere: a run still marked running was cut short
    (a killed worker or command)."""
    ExportRun.objects.filter(status=ExportStatus.RUNNING).update(
        status=ExportStatus.FAILED, finished_at=timezone.now(), error="interrupted"
    )


@contextmanager
def _recording(run: ExportRun) -> Iterator[None]:
    """The run records the error of whatever fails inside."""
    try:
        yield
    except BaseException as exc:
        run.status, run.error = ExportStatus.FAILED, f"{type(exc).__name__}: {exc}"[:2000]
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        raise


def _record_done(run: ExportRun, report: ExportReport) -> None:
    run.status, run.finished_at = ExportStatus.DONE, timezone.now()
    run.contacts, run.changed, run.parts = report.contacts, report.changed, report.parts
    run.persons, run.high_water, run.floor = report.persons, report.high_water, report.floor
    run.save()


def export_run(*, actor: Actor, channel: Channel, run_id: int) -> ExportRun:
    check_export_actor(actor)
    run = ExportRun.objects.filter(pk=run_id).first() if 0 < run_id < 2**63 else None
    if run is None:
        raise NotFound(_("no such export"))
    return run


def recent_exports(*, actor: Actor, channel: Channel, limit: int = 20) -> list[ExportRun]:
    check_export_actor(actor)
    return list(ExportRun.objects.order_by("-id")[:limit])


# ------------------------------------------------------------------------------------------------ history import
HISTORY_DIR = (
    "history"  # contacts/history/ and persons/history/: external history, never touched by the export
)


@dataclass(frozen=True)
class ImportReport:
    name: str  # the imported files' name in the warehouse (a digest of the sources' content)
    contacts: int
    persons: int
    already_imported: bool  # the same sources were imported before: nothing written


def _digest(files: list[str]) -> str:
    digest = hashlib.sha256()
    for file in files:
        digest.update(Path(file).name.encode() + b"\0")
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:32]


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _duplicates(con: Any, view: str, column: str, existing: list[Path], label: str) -> None:
    """SchemaError when `column` repeats within the source or a value is already in the warehouse."""
    found = con.execute(
        f"SELECT {column}, count(*) FROM {view} GROUP BY {column} HAVING count(*) > 1 LIMIT 1"
    ).fetchone()
    if found:
        raise engine.SchemaError(f"{label}: column {column!r}: {found[0]!r} appears {found[1]} times")
    if existing:
        files = engine._sql_list(str(p) for p in existing)
        found = con.execute(
            f"SELECT {column} FROM {view} WHERE {column} IN "
            f"(SELECT {column} FROM read_parquet({files})) LIMIT 1"
        ).fetchone()
        if found:
            raise engine.SchemaError(f"{label}: column {column!r}: {found[0]!r} is already in the warehouse")


def import_history(
    *,
    actor: Actor,
    channel: Channel,
    contacts: Path | str,
    persons: Path | str | None = None,
    out: Path | str | None = None,
) -> ImportReport:
    """Import external history in the documented schema (Parquet or CSV) into the warehouse, beside the
    platform's export: contacts/history/<name>.parquet (and persons/history/<name>.parquet). Everything is
    checked before anything is written (schema, values, contact_id and person_key unique within the source and
    against the warehouse, contact ids not made of digits only: those are the platform's own contact ids);
    the files are written to temporary names then renamed; importing the same sources again writes nothing."""
    if not actor.sees_all_caisses:
        raise Forbidden("the warehouse covers every caisse: a national role is required")
    out = Path(out or settings.ANALYTICS_WAREHOUSE_DIR)
    sources = [Path(contacts)] + ([Path(persons)] if persons is not None else [])
    with export_lock(out):
        contacts_dir, persons_dir = out / "contacts" / HISTORY_DIR, out / "persons" / HISTORY_DIR
        for folder in (contacts_dir, persons_dir):
            for stale in folder.glob("*.tmp"):  # what a crashed import left half-written
                stale.unlink()
        try:
            files = [
                file
                for role, path in zip(("contacts", "persons"), sources, strict=False)
                for file in engine._files(role, path)[1]
            ]
            name = _digest(files)
        except engine.SchemaError as exc:
            raise InvalidInput.from_fields({"source": str(exc)}) from None
        except OSError as exc:
            raise InvalidInput.from_fields(
                {"source": f"cannot read {exc.filename}: {exc.strerror}"}
            ) from None
        targets = [contacts_dir / f"{name}.parquet"] + ([persons_dir / f"{name}.parquet"] if persons else [])
        con = engine.connect(memory_limit=settings.ANALYTICS_DUCKDB_MEMORY_LIMIT)
        try:
            if all(t.exists() for t in targets):
                numbers = [0, 0]
                for i, t in enumerate(targets):
                    found = con.execute(f"SELECT count(*) FROM read_parquet({_quoted(t)})").fetchone()
                    numbers[i] = int(found[0]) if found else 0
                return ImportReport(name, numbers[0], numbers[1], already_imported=True)
            specs = [("contacts", Path(contacts), engine.CONTACTS_SCHEMA, engine.CONTACTS_NULLABLE)]
            if persons is not None:
                specs.append(("persons", Path(persons), engine.PERSONS_SCHEMA, engine.PERSONS_NULLABLE))
            counts: list[int] = []
            try:
                for role, path, schema, nullable in specs:
                    engine.load_source(con, role=role, path=path, schema=schema, nullable=nullable)
                    column = "contact_id" if role == "contacts" else "person_key"
                    existing = [
                        p for p in sorted((out / role).rglob("*.parquet")) if p.name != f"{name}.parquet"
                    ]
                    _duplicates(con, role, column, existing, role)
                    if role == "contacts":
                        found = con.execute(
                            "SELECT contact_id FROM contacts WHERE regexp_full_match(contact_id, '[0-9]+') LIMIT 1"
                        ).fetchone()
                        if found:
                            raise engine.SchemaError(
                                f"contacts: column 'contact_id': {found[0]!r} is made of digits only, like the "
                                "platform's own contact ids: prefix the imported ids (e.g. 'h-"
                                + found[0]
                                + "')"
                            )
                    row = con.execute(f"SELECT count(*) FROM {role}").fetchone()
                    counts.append(int(row[0]) if row else 0)
            except engine.SchemaError as exc:
                raise InvalidInput.from_fields({"source": str(exc)}) from None
            # Written in the platform's own column types (timestamps in UTC), to temporary names, then renamed.
            written = []
            for (role, _path, schema, _nullable), target in zip(specs, targets, strict=True):
                target.parent.mkdir(parents=True, exist_ok=True)
                columns = ", ".join(
                    f"CAST({c} AS TIMESTAMPTZ) AS {c}" if logical == "timestamp" else c
                    for c, logical in schema.items()
                )
                tmp = target.with_name(target.name + ".tmp")
                con.execute(
                    f"COPY (SELECT {columns} FROM {role}) TO {_quoted(tmp)} (FORMAT PARQUET, COMPRESSION ZSTD)"
                )
                written.append((tmp, target))
            for tmp, _target in written:
                with open(tmp, "rb") as handle:
                    os.fsync(handle.fileno())
            for tmp, target in written:
                os.replace(tmp, target)
        finally:
            con.close()
    return ImportReport(name, counts[0], counts[1] if len(counts) > 1 else 0, already_imported=False)
