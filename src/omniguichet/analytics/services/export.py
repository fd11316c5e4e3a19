"""The warehouse export: contacts and persons written as Parquet parts, incrementally and idempotently, under a
lock, and the export runs that record each export (queued by the API, run by the worker)."""

from __future__ import annotations

import bisect
import fcntl
import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from omniguichet.analytics.models import ExportRun, ExportStatus, ExportTrigger
from omniguichet.analytics.services.common import (
    CONTACT_FIELDS,
    EXPORT_STATE,
    MONTH_PREFIX,
    PART_RE,
    PERSONS_BUCKET,
    PERSONS_STATE,
    _contacts_arrow,
    _persons_arrow,
    local_months,
    month_dirs,
    person_key,
    pseudonym_key,
)
from omniguichet.analytics.services.dashboards import precompute_dashboards
from omniguichet.analytics.services.layout import (
    _by_month,
    _part_name,
    _remove_stale,
    _write_atomic,
    _write_tmp,
    migrate_layout,
)
from omniguichet.core.actors import Actor, Channel
from omniguichet.core.apps import TaskHook
from omniguichet.core.db import is_postgresql
from omniguichet.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from omniguichet.core.routers import read_connection, replica_reads
from omniguichet.crm.models import Contact, ContactChange
from omniguichet.referential.models import Person

if TYPE_CHECKING:
    import pyarrow as pa


# ------------------------------------------------------------------------------------------------ export
@dataclass(frozen=True)
class ExportReport:
    contacts: int  # contacts written for the first time by this export
    parts: int  # part files written (new or rewritten) by this export
    high_water: int  # highest contact id in the warehouse after the export
    persons: int | None  # persons written (None: no person nor account changed)
    changed: int = 0  # contacts changed or deleted after their export, rewritten in their part
    floor: int = 0  # every contact id up to this one is final: none can still appear below it


def _parts(folder: Path) -> list[tuple[int, int, Path]]:
    """The contact part files as (first id, last id, path), in order: those of every month folder (and the
    parts of a flat warehouse not yet migrated). Parts of different months may have interleaved id ranges; each
    contact id is in one part only."""
    found = []
    for directory in [folder, *month_dirs(folder)]:
        if directory.is_dir():
            for entry in directory.iterdir():
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
        with read_connection().cursor() as cursor:
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


BUFFERED_BATCHES = 5  # the writer holds at most this many batches of rows before writing every month's


class _Writer:
    """Writes contact rows as part files named after their first and last id, in the folder of their month
    (contacts/month=YYYY-MM/). Rows are gathered per month and a month's part is written when it holds a batch
    (`batch_size` rows), when all months together hold BUFFERED_BATCHES batches, and at the end of each pass
    (`flush`): contacts recorded as they happen fill one month at a time (one part per batch, as before), and
    contacts loaded out of time order (a backfill, the demo's seeding: each batch spans two years) still make
    parts of thousands of rows instead of one per month and batch. The parts written together go to temporary
    names, then are renamed; rows read but not yet written when the export is killed are simply read again by
    the next export (its floor did not move, and the ids above the floor that no part holds are written)."""

    def __init__(
        self, folder: Path, key: bytes, on_batch: Callable[[int], None] | None, batch_size: int = 100_000
    ) -> None:
        self.folder, self.key, self.on_batch, self.batch_size = folder, key, on_batch, batch_size
        self.keys: dict[int, str] = {}
        self.contacts = self.parts = 0
        self.pending: dict[str, list[pa.Table]] = {}
        self.pending_rows: dict[str, int] = {}

    def write(self, rows: list[tuple]) -> None:
        table = _contact_table(rows, self.keys, self.key)
        for month, part in _by_month(table):
            self.pending.setdefault(month, []).append(part)
            self.pending_rows[month] = self.pending_rows.get(month, 0) + part.num_rows
            if self.pending_rows[month] >= self.batch_size:
                self._write([month])
        if sum(self.pending_rows.values()) >= BUFFERED_BATCHES * self.batch_size:
            self.flush()

    def flush(self) -> None:
        self._write(sorted(self.pending))

    def _write(self, months: list[str]) -> None:
        import pyarrow as pa

        if not months:
            return
        written = []
        for month in months:
            table = pa.concat_tables(self.pending.pop(month))
            del self.pending_rows[month]
            target = self.folder / f"{MONTH_PREFIX}{month}" / _part_name(table)
            written.append((_write_tmp(table, target), target, table.num_rows))
        for tmp, target, _n in written:
            os.replace(tmp, target)
        count = sum(n for _tmp, _target, n in written)
        self.contacts += count
        self.parts += len(written)
        if self.on_batch is not None:
            self.on_batch(count)


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
    writer.flush()  # the next pass compares the ids of the parts on disk


def _current(ids: list[int], writer: _Writer, batch_size: int) -> pa.Table:
    """The current values of these contacts (those still in the database), as a warehouse table in id order."""
    rows: list[tuple] = []
    for i in range(0, len(ids), batch_size):
        rows += Contact.objects.filter(id__in=ids[i : i + batch_size]).values_list(*CONTACT_FIELDS)
    return _contact_table(sorted(rows), writer.keys, writer.key)


def _add_to_month(writer: _Writer, month: str, table: pa.Table) -> None:
    """Write contacts that moved into this month (their started_at changed) as one part of its folder, merged
    with a part of the same name if there is one (its own contacts kept, these replacing theirs)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    path = writer.folder / f"{MONTH_PREFIX}{month}" / _part_name(table)
    if path.exists():
        old = pq.read_table(path)
        ids = table.column("contact_id")
        table = pa.concat_tables(
            [old.filter(pc.invert(pc.is_in(old.column("contact_id"), value_set=ids))), table]
        )
    table = table.take(pc.sort_indices(table.column("contact_id").cast(pa.int64())))
    _write_atomic(table, path)
    writer.parts += 1


def _apply_changes(writer: _Writer, *, since: int, batch_size: int) -> int:
    """Rewrite, in place, the part files holding contacts changed or deleted (crm.ContactChange) after change
    `since`: each part keeps its name and holds each contact once, with its current values (a deleted contact
    leaves its part; a part left empty is deleted). A contact whose started_at moved to another month leaves
    its part first, then is written in its new month's folder: at no time is it in two parts; a crash between
    the two leaves it in none, and the next export (the same changes, its change position not moved) writes
    it. Re-applying a change rewrites nothing. Returns the number of contacts re-exported."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    changed = sorted(set(ContactChange.objects.filter(id__gt=since).values_list("contact_id", flat=True)))
    if not changed:
        return 0
    count = 0
    found: set[int] = set()
    movers: list[pa.Table] = []
    parts = _parts(writer.folder)
    exported_up_to = max((last for _first, last, _path in parts), default=0)
    for first, last, path in parts:
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
        found |= held
        fresh = _current(sorted(held), writer, batch_size)
        month = path.parent.name.removeprefix(MONTH_PREFIX) if path.parent != writer.folder else None
        if month is not None and fresh.num_rows:
            here = pc.equal(local_months(fresh.column("started_at")), month)
            if not pc.all(here).as_py():
                movers.append(fresh.filter(pc.invert(here)))
                fresh = fresh.filter(here)
        kept = table.filter(pc.invert(inside))
        rewritten = pa.concat_tables([kept, fresh])
        rewritten = rewritten.take(pc.sort_indices(rewritten.column("contact_id").cast(pa.int64())))
        before = table.take(pc.sort_indices(ids))
        if rewritten.equals(before):
            continue  # already applied by an earlier run
        if rewritten.num_rows:
            _write_atomic(rewritten, path)
        else:
            path.unlink()
        writer.parts += 1
        count += len(held)
    # Changed contacts that no part holds although they were exported: a move cut short by a crash (or a
    # contact committed since the export pass). Written in their month like the moved ones.
    orphans = [cid for cid in changed if cid not in found and cid <= exported_up_to]
    if orphans:
        restored = _current(orphans, writer, batch_size)
        if restored.num_rows:
            movers.append(restored)
            count += restored.num_rows
    if movers:
        moved = pa.concat_tables(movers)
        for month, part in _by_month(moved):
            _add_to_month(writer, month, part)
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
    """The export's reads, all from the read replica when one is configured (core.routers)."""
    with replica_reads():
        return _export_from(out, batch_size=batch_size, on_batch=on_batch, persons_bucket=persons_bucket)


def _export_from(
    out: Path, *, batch_size: int, on_batch: Callable[[int], None] | None, persons_bucket: int
) -> ExportReport:
    contacts_dir, persons_dir = out / "contacts", out / "persons"
    contacts_dir.mkdir(parents=True, exist_ok=True)
    persons_dir.mkdir(parents=True, exist_ok=True)
    for folder in (contacts_dir, persons_dir):
        _remove_stale(folder)
    migrate_layout(contacts_dir)
    key = pseudonym_key()
    state = _load_state(contacts_dir)
    floor, changes_floor = state["floor"], state["changes_floor"]
    # Where the database stands before reading: ids up to these marks can only still change through the
    # transactions running now; once none of them runs any more, those ids are final.
    start = _position()
    pending = [*state["pending"], [start.contacts, start.changes, start.running]]
    writer = _Writer(contacts_dir, key, on_batch, batch_size)
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


def migrate_warehouse(*, actor: Actor, channel: Channel, out: Path | str) -> int:
    """Move a flat warehouse to the month layout now (the next export would do it anyway); returns the number
    of files migrated."""
    if not actor.sees_all_caisses:
        raise Forbidden("the warehouse covers every caisse: a national role is required")
    out = Path(out)
    with export_lock(out):
        _remove_stale(out / "contacts")
        return migrate_layout(out / "contacts")


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
