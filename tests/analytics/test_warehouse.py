"""The warehouse export (pseudonymised, incremental, resumable) and the kpi command."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac

import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from omniguichet.accounts.models import Account
from omniguichet.analytics import engine, services
from omniguichet.core.actors import Actor, Channel
from omniguichet.core.errors import Forbidden
from omniguichet.crm.models import Contact
from omniguichet.crm.services import record_contact
from tests.analytics.data import contact, person, warehouse

KEY = "test-pseudonym-key"
SYSTEM = Actor.system()


@pytest.fixture(autouse=True)
def _warehouse_settings(settings, tmp_path, monkeypatch):
    monkeypatch.setenv("OMNIGUICHET_PSEUDONYM_KEY", KEY)
    settings.ANALYTICS_WAREHOUSE_DIR = tmp_path / "warehouse"
    settings.ANALYTICS_BONUS_WEIGHTS = ""
    services._memo.clear()


def record(person, when, **kwargs):
    kwargs.setdefault("channel", Channel.PHONE)
    kwargs.setdefault("motive", "remboursement")
    return record_contact(actor=SYSTEM, person=person, started_at=when, **kwargs)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def read(out, folder):
    return (
        pq.read_table(out / folder, partitioning=None)
        .sort_by("contact_id" if folder == "contacts" else "person_key")
        .to_pylist()
    )


def parts(out):
    """The contact parts, as paths relative to contacts/ (month folder and name)."""
    return sorted(str(p.relative_to(out / "contacts")) for p in (out / "contacts").rglob("part-*.parquet"))


def export(out, **kwargs):
    return services.export_warehouse(actor=SYSTEM, channel=Channel.BACKOFFICE, out=out, **kwargs)


@pytest.fixture
def population(make_person, caisse_ain):
    paris = make_person()
    ain = make_person(caisse_code="011")
    Account.objects.create(person=paris, opened_at=at("2024-03-01T09:00:00"))
    record(paris, at("2024-05-01T10:00:00"), answered=True)
    record(paris, at("2025-05-01T10:00:00"), answered=False)
    record(ain, at("2025-05-01T10:00:00"), answered=True)
    record(
        ain,
        at("2025-05-02T10:00:00"),
        channel=Channel.RECEPTION,
        on_appointment=True,
        waited_seconds=600,
        motive="attestation_droits",
    )
    return paris, ain


def test_export_writes_the_documented_schema_with_pseudonyms(population, tmp_path):
    paris, _ain = population
    out = tmp_path / "wh"
    report = export(out)
    # One batch, two months (May 2024 and May 2025): one part in each month's folder.
    assert (report.contacts, report.parts, report.persons) == (4, 2, 2)
    ids = list(Contact.objects.order_by("id").values_list("id", flat=True))
    assert parts(out) == [f"month=2024-05/part-{ids[0]:012d}-{ids[0]:012d}.parquet",
                          f"month=2025-05/part-{ids[1]:012d}-{ids[3]:012d}.parquet"]  # fmt: skip
    contacts = read(out, "contacts")
    assert pq.read_schema(next((out / "contacts").rglob("*.parquet"))).names == list(engine.CONTACTS_SCHEMA)
    expected_key = hmac.new(KEY.encode(), str(paris.pk).encode(), hashlib.sha256).hexdigest()[:32]
    first = contacts[0]
    assert first["person_key"] == expected_key
    assert paris.nir not in {c["person_key"] for c in contacts}
    assert (first["caisse"], first["channel"], first["direction"], first["answered"]) == (
        "751",
        "phone",
        "inbound",
        True,
    )
    assert first["started_at"] == at("2024-05-01T10:00:00")
    reception = contacts[3]
    assert (reception["caisse"], reception["on_appointment"], reception["waited_seconds"]) == (
        "011",
        True,
        600,
    )
    persons = {p["caisse"]: p for p in read(out, "persons")}
    assert persons["751"]["account_opened_at"] == at("2024-03-01T09:00:00")
    assert persons["011"]["account_opened_at"] is None
    # Nothing new: nothing written.
    again = export(out)
    assert (again.contacts, again.parts, again.persons) == (0, 0, None)


def test_export_is_incremental(population, tmp_path):
    _paris, ain = population
    out = tmp_path / "wh"
    export(out)
    record(ain, at("2025-06-01T10:00:00"))
    report = export(out)
    assert (report.contacts, report.parts, report.persons) == (1, 1, None)
    assert len(parts(out)) == 3 and parts(out)[-1].startswith("month=2025-06/")
    assert len(read(out, "contacts")) == 5
    # An account opened: the part holding that person is rewritten, and only that one.
    Account.objects.create(person=ain, opened_at=at("2025-06-02T10:00:00"))
    assert export(out).persons == 2  # one part of a million ids holds both
    fine = tmp_path / "fine"
    assert export(fine, persons_bucket=1).persons == 2  # one part per person
    Account.objects.filter(person=ain).update(opened_at=at("2025-06-03T10:00:00"))
    assert export(fine, persons_bucket=1).persons == 1
    assert export(fine, persons_bucket=1).persons is None
    assert {p["caisse"]: p["account_opened_at"] for p in read(out, "persons")}["011"] == at(
        "2025-06-02T10:00:00"
    )


def test_export_resumes_after_a_crash_with_the_same_data(population, tmp_path):
    paris, _ain = population
    for day in range(1, 8):
        record(paris, at(f"2025-07-0{day}T10:00:00"), channel=Channel.EMAIL)
    clean = tmp_path / "clean"
    export(clean, batch_size=3)

    out = tmp_path / "crashed"
    batches = []

    def crash(n):
        batches.append(n)
        if len(batches) == 2:
            raise KeyboardInterrupt  # killed after the second part file

    with pytest.raises(KeyboardInterrupt):
        export(out, batch_size=3, on_batch=crash)
    # Killed after its second part (the writer gathers rows by month: May 2025's ids 2-4, then July's 5-9),
    # with id 1 (May 2024) read but not written.
    ids = list(Contact.objects.order_by("id").values_list("id", flat=True))
    assert parts(out) == [f"month=2025-05/part-{ids[1]:012d}-{ids[3]:012d}.parquet",
                          f"month=2025-07/part-{ids[4]:012d}-{ids[8]:012d}.parquet"]  # fmt: skip
    (out / "contacts" / "part-000000000007-000000000009.parquet.tmp").write_bytes(b"half a file")  # before 18
    (out / "contacts" / "month=2025-07" / ".part-000000000007-000000000009.parquet.tmp").write_bytes(b"half")
    report = export(out, batch_size=3)
    assert report.contacts == 11 - 8
    assert not list((out / "contacts").rglob("*.tmp"))
    assert read(out, "contacts") == read(clean, "contacts")
    assert read(out, "persons") == read(clean, "persons")
    assert parts(out) == parts(clean)


def test_export_requires_a_national_actor(agent_paris, tmp_path):
    with pytest.raises(Forbidden):
        services.export_warehouse(actor=Actor.agent(agent_paris), channel=Channel.BACKOFFICE, out=tmp_path)


def test_warehouse_command_then_kpi_on_the_platform_warehouse(population, tmp_path, settings):
    with pytest.raises(CommandError, match="warehouse export"):
        call_command("kpi", "--year", "2025", "--out", str(tmp_path / "k.csv"))
    call_command("warehouse", "export", "--no-progress", "--no-precompute")
    call_command(
        "kpi", "--year", "2025", "--out", str(tmp_path / "k.csv"), "--bonus", str(tmp_path / "b.csv")
    )
    rows = {
        (r["caisse"], r["indicator"]): r
        for r in csv.DictReader((tmp_path / "k.csv").read_text().splitlines())
    }
    assert rows[("751", "phone_answer_rate")] == {
        "caisse": "751",
        "period": "2025",
        "indicator": "phone_answer_rate",
        "numerator": "0",
        "denominator": "1",
        "value": "0.0",
        "target": "1.0",
        "met": "false",
    }
    assert rows[("011", "phone_answer_rate")]["met"] == "true"
    assert rows[("011", "account_rate")]["value"] == "0.0"
    bonus = {r["caisse"]: r for r in csv.DictReader((tmp_path / "b.csv").read_text().splitlines())}
    assert bonus["011"]["year"] == "2025"
    assert "phone_answer_rate" in bonus["011"]["indicators_met"].split(";")
    # The figures of this warehouse state are cached: no second DuckDB computation.
    assert [p.name.split("-")[1] for p in (settings.ANALYTICS_WAREHOUSE_DIR / "_kpi").glob("*.json")] == [
        "2025"
    ]
    services._memo.clear()
    calls = []
    original = engine.compute
    engine.compute = lambda **kw: calls.append(kw) or original(**kw)
    try:
        services.compute_kpi(actor=SYSTEM, channel=Channel.BACKOFFICE, year=2025)
    finally:
        engine.compute = original
    assert calls == []


def test_kpi_command_on_files(tmp_path):
    contacts = [
        contact("2024-04-01T10:00:00", answered=True, caisse="011"),
        contact("2025-04-01T10:00:00", answered=True, caisse="011"),
        contact("2025-05-01T10:00:00", answered=False, caisse="011", person="p2"),
    ]
    paths = warehouse(tmp_path, contacts, [person("p1", "011")], "csv")
    out = tmp_path / "out" / "kpi.csv"
    call_command(
        "kpi", "--year", "2025", "--by", "month", "--contacts", str(paths[0]), "--persons", str(paths[1]),
        "--out", str(out), "--bonus", str(tmp_path / "bonus.csv"), "--weights", "phone_answer_rate=2",
    )  # fmt: skip
    lines = out.read_text().splitlines()
    assert lines[0] == "caisse,period,indicator,numerator,denominator,value,target,met"
    assert len(lines) == 1 + 12 * 7
    assert "011,2025-04,phone_answer_rate,1,1,1.0,1.0,true" in lines
    assert "011,2025-05,phone_answer_rate,0,1,0.0,1.0,false" in lines
    assert "011,2025-06,phone_answer_rate,0,0,,1.0,false" in lines
    bonus = (tmp_path / "bonus.csv").read_text().splitlines()
    # The year: phone 1 of 2 (0.5 < 1.0) is not met; recontact 0.0 <= 0.0 and account 0.0 >= 0.0 are.
    assert bonus == ["caisse,year,points,indicators_met", "011,2025,2,recontact_rate;account_rate"]


def test_kpi_command_refuses_a_bad_file(tmp_path):
    paths = warehouse(tmp_path, [{**contact("2025-04-01T10:00:00"), "started_at": "yesterday"}], [], "csv")
    with pytest.raises(CommandError, match="column 'started_at'"):
        call_command(
            "kpi", "--year", "2025", "--contacts", str(paths[0]), "--persons", str(paths[1]),
            "--out", str(tmp_path / "k.csv"),
        )  # fmt: skip
    with pytest.raises(CommandError, match="weights"):
        call_command(
            "kpi", "--year", "2025", "--contacts", str(paths[0]), "--persons", str(paths[1]),
            "--out", str(tmp_path / "k.csv"), "--weights", "speed=3",
        )  # fmt: skip
    with pytest.raises(CommandError, match="both"):
        call_command("kpi", "--year", "2025", "--contacts", str(paths[0]), "--out", str(tmp_path / "k.csv"))


def test_pseudonym_key_file_is_generated_once_and_private(settings, tmp_path, monkeypatch):
    monkeypatch.delenv("OMNIGUICHET_PSEUDONYM_KEY")
    settings.VAR_DIR = tmp_path / "var"
    key = services.pseudonym_key()
    path = tmp_path / "var" / "pseudonym_key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert services.pseudonym_key() == key and len(key) >= 32
    assert services.person_key(7, key) != services.person_key(7, b"another key")
    assert len(services.person_key(7, key)) == 32


def test_export_precomputes_the_dashboards(population, settings):
    call_command("warehouse", "export", "--no-progress")
    this_year = dt.datetime.now(engine.PARIS).year
    cached = sorted(p.name.split("-")[1] for p in (settings.ANALYTICS_WAREHOUSE_DIR / "_kpi").glob("*.json"))
    assert cached == [str(this_year - 1), str(this_year)]


def test_kpi_on_files_runs_without_starting_django_and_writes_what_the_command_writes(tmp_path):
    import subprocess
    import sys

    paths = warehouse(tmp_path, [contact("2025-04-01T10:00:00")], [], "csv")
    call_command(
        "kpi", "--year", "2025", "--contacts", str(paths[0]), "--persons", str(paths[1]),
        "--out", str(tmp_path / "django.csv"),
    )  # fmt: skip
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "omniguichet.cli", "kpi", "--year", "2025",
         "--contacts", str(paths[0]), "--persons", str(paths[1]), "--out", str(tmp_path / "fast.csv")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert (tmp_path / "fast.csv").read_text() == (tmp_path / "django.csv").read_text()
    imported = {
        line.split("|")[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")
    }
    assert (
        "duckdb" in imported and "django.db.models" not in imported and "django.apps.registry" not in imported
    )
    refused = subprocess.run(
        [sys.executable, "-m", "omniguichet.cli", "kpi", "--year", "1066", "--contacts", str(paths[0]),
         "--persons", str(paths[1]), "--out", str(tmp_path / "x.csv")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert refused.returncode == 1 and "year: must be between 2000 and 2100" in refused.stderr
