"""The warehouse's Hive layout (issue 18, section 6): contacts in contacts/month=YYYY-MM/ by the local month of
started_at, contacts moving month when their started_at changes, a flat warehouse migrated (also after a crash),
the indicators reading only the months they need, and the same files read by pyarrow.dataset alone."""

from __future__ import annotations

import datetime as dt
import shutil
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from omniguichet.analytics import engine, services
from omniguichet.core.actors import Actor, Channel
from omniguichet.crm.models import Contact
from omniguichet.crm.services import record_contact
from tests.analytics.data import contact, write_csv

SYSTEM = Actor.system()
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture(autouse=True)
def _warehouse_settings(settings, tmp_path, monkeypatch):
    monkeypatch.setenv("OMNIGUICHET_PSEUDONYM_KEY", "layout-tests")
    settings.ANALYTICS_WAREHOUSE_DIR = tmp_path / "warehouse"
    settings.ANALYTICS_BONUS_WEIGHTS = ""
    services._memo.clear()


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def record(person, when, **kwargs):
    kwargs.setdefault("channel", Channel.PHONE)
    kwargs.setdefault("motive", "remboursement")
    kwargs.setdefault("answered", True)
    return record_contact(actor=SYSTEM, person=person, started_at=when, **kwargs)


def part(first, last=None):
    """A part's name, from its first and last contact (ids differ between SQLite and PostgreSQL runs)."""
    return f"part-{first.pk:012d}-{(last or first).pk:012d}.parquet"


def export(out, **kwargs):
    return services.export_warehouse(actor=SYSTEM, channel=Channel.BACKOFFICE, out=out, **kwargs)


def files(out, pattern="*.parquet"):
    """The Parquet files under contacts/, relative to it."""
    return sorted(str(p.relative_to(out / "contacts")) for p in (out / "contacts").rglob(pattern))


def rows(out):
    """contact_id -> row, read from every file (a contact in two files would fail the length check)."""
    table = pq.read_table(out / "contacts", partitioning=None)
    found = {r["contact_id"]: r for r in table.to_pylist()}
    assert len(found) == table.num_rows, "a contact is in two parts"
    return found


def kpi(out, year=2025):
    return engine.compute(contacts=out / "contacts", persons=out / "persons", year=year).to_dict()


def in_their_month(out):
    """Every row lies in the folder of its local (Europe/Paris) month."""
    for path in (out / "contacts").rglob("*.parquet"):
        month = path.parent.name.removeprefix("month=")
        for started in pq.read_table(path).column("started_at").to_pylist():
            assert started.astimezone(PARIS).strftime("%Y-%m") == month, (path, started)
    return True


def test_contacts_are_written_in_the_folder_of_their_local_month(make_person, tmp_path):
    person = make_person()
    made = [
        record(person, at("2024-12-31T22:59:00")),  # 23:59 on 31 December in Paris
        record(person, at("2024-12-31T23:30:00")),  # 00:30 on 1 January 2025 in Paris
        record(person, at("2025-03-31T21:30:00")),  # 23:30 on 31 March (summer time)
        record(person, at("2025-03-31T22:30:00")),  # 00:30 on 1 April
        record(person, at("2025-10-31T23:30:00")),  # 00:30 on 1 November (winter time again)
    ]
    out = tmp_path / "wh"
    report = export(out)
    assert (report.contacts, report.parts) == (5, 5)  # one batch, five months: five parts
    months = ["2024-12", "2025-01", "2025-03", "2025-04", "2025-11"]
    assert files(out) == [f"month={m}/{part(c)}" for m, c in zip(months, made, strict=True)]
    assert in_their_month(out)
    # The folder is the indicators' month: January 2025 has the contact of 23:30 UTC on New Year's Eve.
    monthly = {(r["period"], r["indicator"]): r for r in kpi(out)["monthly"]}
    assert monthly[("2025-01", "phone_answer_rate")]["denominator"] == 1
    assert monthly[("2025-03", "phone_answer_rate")]["denominator"] == 1


def test_a_contact_whose_started_at_changes_month_moves_folder(make_person, tmp_path):
    person = make_person()
    first = record(person, at("2025-05-01T10:00:00"))
    second = record(person, at("2025-05-02T10:00:00"))
    out = tmp_path / "wh"
    export(out)
    assert files(out) == [f"month=2025-05/{part(first, second)}"]
    Contact.objects.filter(pk=first.pk).update(started_at=at("2025-07-01T10:00:00"))
    report = export(out)
    assert (report.contacts, report.changed) == (0, 1)
    # It left its part (which keeps its name), then was written in July's folder: once.
    assert files(out) == [f"month=2025-05/{part(first, second)}", f"month=2025-07/{part(first)}"]
    assert rows(out)[str(first.pk)]["started_at"] == at("2025-07-01T10:00:00")
    assert in_their_month(out)
    again = export(out)
    assert (again.contacts, again.changed, again.parts) == (0, 0, 0)  # applied once: nothing rewritten
    # The second one moves too: May's part, left empty, is deleted.
    Contact.objects.filter(pk=second.pk).update(started_at=at("2025-07-02T10:00:00"))
    export(out)
    assert files(out) == [f"month=2025-07/{part(first)}", f"month=2025-07/{part(second)}"]
    # The same rows as an export of the database from scratch.
    fresh = tmp_path / "fresh"
    export(fresh)
    assert rows(out) == rows(fresh)
    assert kpi(out) == kpi(fresh)


def test_a_move_cut_short_by_a_crash_is_completed_by_the_next_export(make_person, tmp_path):
    person = make_person()
    moved = record(person, at("2025-05-01T10:00:00"))
    other = record(person, at("2025-05-02T10:00:00"))
    out = tmp_path / "wh"
    export(out)
    Contact.objects.filter(pk=moved.pk).update(started_at=at("2025-07-01T10:00:00"), answered=False)
    # What a crash between the two steps of the move leaves: the contact out of May's part, not yet in July.
    path = out / "contacts" / "month=2025-05" / part(moved, other)
    table = pq.read_table(path)
    pq.write_table(table.filter(pc.not_equal(table.column("contact_id"), str(moved.pk))), path)
    assert str(moved.pk) not in rows(out)
    report = export(out)
    # Written once, either as a change or, on PostgreSQL when another session's transaction held the first
    # export's snapshot back (the rule against skipping a contact committed late), as a contact not yet exported.
    assert report.changed + report.contacts == 1
    fresh = tmp_path / "fresh"
    export(fresh)
    assert rows(out) == rows(fresh)
    assert rows(out)[str(moved.pk)]["answered"] is False
    assert in_their_month(out)


@pytest.fixture
def flat(make_person, caisse_ain, tmp_path):
    """(flat warehouse, the same exported in the month layout, legacy history source): a warehouse written
    before issue 18, contacts/part-*.parquet holding several months each, and an import in contacts/history/."""
    paris, ain = make_person(), make_person(caisse_code="011")
    for day, person in enumerate([paris, ain, paris, ain, paris, ain, paris], start=1):
        record(person, at(f"2025-0{day}-15T10:00:00"), answered=day % 2 == 0)
    fresh = tmp_path / "fresh"
    export(fresh)
    out = tmp_path / "flat"
    shutil.copytree(fresh, out)
    everything = pq.read_table(out / "contacts", partitioning=None)
    everything = everything.take(pc.sort_indices(everything.column("contact_id").cast(pa.int64())))
    for folder in (out / "contacts").glob("month=*"):
        shutil.rmtree(folder)
    names = []
    for start in (0, 4):  # two flat parts of several months each
        chunk = everything.slice(start, 4)
        ids = chunk.column("contact_id").to_pylist()
        names.append(f"part-{int(ids[0]):012d}-{int(ids[-1]):012d}.parquet")
        pq.write_table(chunk, out / "contacts" / names[-1])
    source = write_csv(tmp_path / "history.csv", [contact("2024-06-01T10:00:00", answered=True)],
                       engine.CONTACTS_SCHEMA)  # fmt: skip
    name = services._digest([str(source)])
    (out / "contacts" / "history").mkdir()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    legacy = out / "contacts" / "history" / f"{name}.parquet"
    con.execute(
        f"COPY (SELECT * REPLACE (CAST(started_at AS TIMESTAMPTZ) AS started_at, "
        f"CAST(responded_at AS TIMESTAMPTZ) AS responded_at, CAST(answered AS BOOLEAN) AS answered, "
        f"CAST(on_appointment AS BOOLEAN) AS on_appointment, CAST(waited_seconds AS BIGINT) AS waited_seconds) "
        f"FROM read_csv('{source}', all_varchar = true)) TO '{legacy}' (FORMAT PARQUET)"
    )
    assert files(out) == ["history/" + legacy.name, *names]
    return out, fresh, source


def test_a_flat_warehouse_is_migrated_by_the_command(flat, settings):
    out, fresh, source = flat
    before = kpi(out)  # a flat warehouse is still read (recursively) until it is migrated
    assert before["targets"]["phone_answer_rate"] == 1.0  # the history's June 2024 call
    call_command("warehouse", "migrate", "--out", str(out))
    assert not list((out / "contacts").glob("*.parquet")) and not (out / "contacts" / "history").exists()
    assert not (out / "contacts" / ".migration").exists()
    assert all(name.startswith("month=") for name in files(out))
    assert len(files(out, "history-*")) == 1
    assert in_their_month(out)
    assert {k: v for k, v in rows(out).items() if k.isdigit()} == rows(fresh)
    assert kpi(out) == before
    # Migrated once: the command says so, an export writes nothing, the legacy import stays imported.
    call_command("warehouse", "migrate", "--out", str(out))
    assert export(out).parts == 0
    again = services.import_history(actor=SYSTEM, channel=Channel.BACKOFFICE, contacts=source, out=out)
    assert (again.already_imported, again.contacts) == (True, 1)
    with pytest.raises(CommandError, match="no warehouse"):
        call_command("warehouse", "migrate", "--out", str(out / "nowhere"))


def test_a_flat_warehouse_is_migrated_by_the_next_export(flat, make_person, tmp_path):
    out, fresh, _source = flat
    record(make_person(), at("2025-08-15T10:00:00"))
    report = export(out)
    assert (report.contacts, report.parts) == (1, 1)
    assert all(name.startswith("month=") for name in files(out))
    export(fresh)
    assert {k: v for k, v in rows(out).items() if k.isdigit()} == rows(fresh)


def test_a_migration_cut_short_is_finished_by_the_next_run(flat, tmp_path):
    out, _fresh, _source = flat
    done = tmp_path / "done"
    shutil.copytree(out, done)
    services.migrate_layout(done / "contacts")
    # Killed while writing the staging folder: it is thrown away and written again.
    junk = out / "contacts" / ".migration" / "month=2025-02"
    junk.mkdir(parents=True)
    (junk / "part-000000000002-000000000002.parquet").write_bytes(b"half")
    crashed = tmp_path / "crashed"
    shutil.copytree(out, crashed)
    assert services.migrate_layout(crashed / "contacts") == 3
    assert rows(crashed) == rows(done) and files(crashed) == files(done)
    # Killed after the staging was complete, while renaming the month folders: the renames are finished.
    staging = out / "contacts" / ".migration"
    shutil.rmtree(staging)
    for folder in (done / "contacts").glob("month=*"):
        shutil.copytree(folder, staging / folder.name)
    (staging / "_complete").write_text("")
    shutil.move(staging / "month=2025-01", out / "contacts" / "month=2025-01")  # renamed before the kill
    export(out)
    assert rows(out) == rows(done) and files(out) == files(done)


@pytest.fixture
def three_years(make_person, caisse_ain, tmp_path):
    paris, ain = make_person(), make_person(caisse_code="011")
    for when in ("2023-06-10", "2024-05-10", "2025-05-10", "2025-12-31", "2026-03-10"):
        record(paris, at(f"{when}T10:00:00"))
        record(ain, at(f"{when}T11:00:00"), answered=False)
    out = tmp_path / "wh"
    export(out)
    return out


def test_the_indicators_read_only_the_month_folders_they_need(three_years, settings, tmp_path):
    out = three_years
    before = kpi(out)
    # 2025 needs 2024 (targets), 2025 and January 2026 (the recontact window): the other months are not read,
    # not even their footers. Made unreadable, they change nothing.
    for month in ("2023-06", "2026-03"):
        for path in (out / "contacts" / f"month={month}").glob("*.parquet"):
            path.write_bytes(b"not a Parquet file")
    assert kpi(out) == before
    settings.ANALYTICS_WAREHOUSE_DIR = out
    call_command("kpi", "--year", "2025", "--out", str(tmp_path / "k.csv"))  # the command, on the warehouse
    assert "011,2025,phone_answer_rate,0,2,0.0" in (tmp_path / "k.csv").read_text()
    # A month it needs is read: unreadable, it fails.
    for path in (out / "contacts" / "month=2024-05").glob("*.parquet"):
        path.write_bytes(b"not a Parquet file")
    with pytest.raises(engine.SchemaError, match="cannot read"):
        kpi(out)


def test_duckdb_prunes_the_month_folders_by_itself(three_years):
    out = three_years
    plan = duckdb.execute(
        f"EXPLAIN ANALYZE SELECT count(*) FROM read_parquet('{out}/contacts/**/*.parquet', hive_partitioning = "
        "true, hive_types = {'month': 'VARCHAR'}) WHERE month BETWEEN '2025-01' AND '2025-12'"
    ).fetchall()[0][1]
    assert "File Filters" in plan
    assert "Scanning Files: 2/5" in plan  # May and December 2025, of five month folders


def test_pyarrow_dataset_alone_reads_the_layout_and_finds_the_same_figures(
    three_years, make_person, tmp_path
):
    out = three_years
    # What else lies in the warehouse must not disturb another reader: the export's state, a half-written file.
    assert (out / "contacts" / "_export.json").exists()
    (out / "contacts" / "month=2025-05" / ".part-000000000099-000000000099.parquet.tmp").write_bytes(b"half")
    dataset = ds.dataset(out / "contacts", format="parquet", partitioning=ds.partitioning(
        pa.schema([("month", pa.string())]), flavor="hive"))  # fmt: skip
    assert dataset.count_rows() == 10
    year = (ds.field("month") >= "2025-01") & (ds.field("month") <= "2025-12")
    # Partition pruning in pyarrow too: only the folders of 2025 are opened.
    assert sorted(f.path.split("/")[-2] for f in dataset.get_fragments(filter=year)) == [
        "month=2025-05",
        "month=2025-12",
    ]
    phone = dataset.to_table(
        filter=year & (ds.field("direction") == "inbound") & (ds.field("channel") == "phone"),
        columns=["caisse", "answered"],
    )
    counted = phone.group_by("caisse").aggregate([("answered", "count"), ("answered", "sum")])
    by_pyarrow = {r["caisse"]: (r["answered_sum"], r["answered_count"]) for r in counted.to_pylist()}
    by_duckdb = {
        r["caisse"]: (r["numerator"], r["denominator"])
        for r in kpi(out)["yearly"]
        if r["indicator"] == "phone_answer_rate"
    }
    assert by_pyarrow == by_duckdb == {"011": (0, 2), "751": (2, 2)}


def test_contacts_loaded_out_of_time_order_still_make_few_parts(make_person, tmp_path):
    person = make_person()
    for i in range(12):  # ids interleaved over three months, like a backfill or the demo's seeding
        record(person, at(f"2025-0{i % 3 + 1}-1{i % 10}T10:00:00"))
    out = tmp_path / "wh"
    report = export(out, batch_size=4)  # every batch spans the three months
    assert (report.contacts, report.parts) == (12, 3)  # one part per month, not one per month and batch
    assert [name.split("/")[0] for name in files(out)] == ["month=2025-01", "month=2025-02", "month=2025-03"]
    assert in_their_month(out)
    fresh = tmp_path / "fresh"
    export(fresh)
    assert rows(out) == rows(fresh)
