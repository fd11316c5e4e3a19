"""External history in the warehouse schema imported beside the platform's export: checked before anything is
written, replayed without effect, read by the indicators and the dashboards' cache, left alone by the export."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from omniguichet.analytics import services
from omniguichet.core.actors import Actor, Channel
from omniguichet.core.errors import Forbidden, InvalidInput
from omniguichet.crm.services import record_contact
from tests.analytics.data import contact, person, warehouse

SYSTEM = Actor.system()


@pytest.fixture(autouse=True)
def _warehouse_settings(settings, tmp_path, monkeypatch):
    monkeypatch.setenv("OMNIGUICHET_PSEUDONYM_KEY", "history-tests")
    settings.ANALYTICS_WAREHOUSE_DIR = tmp_path / "warehouse"
    settings.ANALYTICS_BONUS_WEIGHTS = ""
    services._memo.clear()


@pytest.fixture
def platform(make_person, caisse_ain, settings):
    """The platform's own warehouse: 2025 only (Ain answers 1 call of 2)."""
    ain = make_person(caisse_code="011")
    for answered in (True, False):
        record_contact(actor=SYSTEM, channel=Channel.PHONE, person=ain, motive="remboursement",
                       started_at=dt.datetime(2025, 5, 1, 10, tzinfo=dt.UTC), answered=answered)  # fmt: skip
    services.export_warehouse(actor=SYSTEM, channel=Channel.BACKOFFICE, out=settings.ANALYTICS_WAREHOUSE_DIR)
    return settings.ANALYTICS_WAREHOUSE_DIR


def history_2024(tmp_path, fmt="csv", **overrides):
    """Three 2024 calls of caisse 011, one answered (target 1/3), from an older system, with its persons."""
    folder = tmp_path / f"source-{fmt}"
    folder.mkdir(exist_ok=True)
    contacts = [
        {**contact("2024-03-01T10:00:00", person="old-a", answered=True), "contact_id": "legacy-1"},
        {**contact("2024-03-02T10:00:00", person="old-b", answered=False), "contact_id": "legacy-2"},
        {**contact("2024-03-03T10:00:00", person="old-c"), "contact_id": "legacy-3", **overrides},
    ]
    persons = [person("old-a", "011"), person("old-b", "011", "2024-01-01T00:00:00"), person("old-c", "011")]
    return warehouse(folder, contacts, persons, fmt)


def do_import(contacts, persons=None, actor=SYSTEM):
    return services.import_history(
        actor=actor, channel=Channel.BACKOFFICE, contacts=contacts, persons=persons
    )


def kpi(year=2025):
    result = services.compute_kpi(actor=SYSTEM, channel=Channel.BACKOFFICE, year=year)
    return {(r.caisse, r.indicator): r for r in result.yearly}


def history_files(out, name):
    return sorted(str(p.relative_to(out / "contacts")) for p in (out / "contacts").rglob(f"history-{name}-*"))


def files(out):
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and "_kpi" not in p.parts)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_imported_history_gives_the_targets(platform, tmp_path, fmt):
    before = kpi()[("011", "phone_answer_rate")]
    assert (before.numerator, before.denominator, before.target) == (1, 2, None)  # no 2024 in the platform
    report = do_import(*history_2024(tmp_path, fmt))
    assert (report.contacts, report.persons, report.already_imported) == (3, 3, False)
    # The cached figures of the earlier warehouse state are not served: the target comes from the history.
    after = kpi()[("011", "phone_answer_rate")]
    assert (after.numerator, after.denominator, after.target, after.met) == (1, 2, 1 / 3, True)
    # Written in the platform's own column types, in the month folders (March 2024).
    assert history_files(platform, report.name) == [f"month=2024-03/history-{report.name}-0.parquet"]
    table = pq.read_table(platform / "contacts" / "month=2024-03" / f"history-{report.name}-0.parquet")
    assert table.schema.field("started_at").type == pa.timestamp("us", tz="UTC")
    assert table.column("contact_id").to_pylist() == ["legacy-1", "legacy-2", "legacy-3"]
    assert table.column("caisse").to_pylist() == ["011"] * 3
    assert table.column("started_at").to_pylist()[0] == dt.datetime(2024, 3, 1, 10, tzinfo=dt.UTC)
    persons = pq.read_table(platform / "persons" / "history" / f"{report.name}.parquet")
    assert persons.column("account_opened_at").to_pylist()[1] == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    # account_rate counts the imported persons too: 1 account among the platform's person and the three.
    account = kpi(2024)[("011", "account_rate")]
    assert (account.numerator, account.denominator) == (1, 4)


def test_importing_the_same_files_again_writes_nothing(platform, tmp_path):
    paths = history_2024(tmp_path)
    first = do_import(*paths)
    written = {p: p.stat().st_mtime_ns for p in (platform / "contacts").rglob("history-*")}
    assert len(written) == 1
    again = do_import(*paths)
    assert (again.name, again.contacts, again.persons, again.already_imported) == (first.name, 3, 3, True)
    assert {p: p.stat().st_mtime_ns for p in (platform / "contacts").rglob("history-*")} == written
    assert kpi()[("011", "phone_answer_rate")].target == 1 / 3  # counted once


def test_the_export_leaves_the_history_alone(platform, tmp_path, make_person):
    report = do_import(*history_2024(tmp_path))
    record_contact(actor=SYSTEM, channel=Channel.PHONE, person=make_person(caisse_code="011"),
                   motive="remboursement", started_at=dt.datetime(2025, 6, 1, 10, tzinfo=dt.UTC),
                   answered=True)  # fmt: skip
    services.export_warehouse(actor=SYSTEM, channel=Channel.BACKOFFICE, out=platform)
    assert history_files(platform, report.name) == [f"month=2024-03/history-{report.name}-0.parquet"]
    phone = kpi()[("011", "phone_answer_rate")]
    assert (phone.numerator, phone.denominator, phone.target) == (2, 3, 1 / 3)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"caisse": "11"}, "column 'caisse': 1 row"),  # a leading zero lost by a spreadsheet
        ({"started_at": "last spring"}, "column 'started_at'"),
        ({"channel": "fax"}, "column 'channel'"),
        ({"contact_id": "legacy-1"}, "'legacy-1' appears 2 times"),
        ({"contact_id": "42"}, "'42' is made of digits only"),
        ({"answered": "maybe"}, "column 'answered'"),
    ],
)
def test_bad_history_is_refused_and_nothing_is_written(platform, tmp_path, overrides, message):
    before = files(platform)
    with pytest.raises(InvalidInput, match=message) as raised:
        do_import(*history_2024(tmp_path, **overrides))
    assert set(raised.value.fields) == {"source"}
    assert files(platform) == before
    assert kpi()[("011", "phone_answer_rate")].target is None


def test_ids_already_in_the_warehouse_are_refused(platform, tmp_path):
    contacts, persons = history_2024(tmp_path)
    do_import(contacts, persons)
    before = files(platform)
    other = tmp_path / "other"
    other.mkdir()
    again = [{**contact("2023-01-02T10:00:00", person="new"), "contact_id": "legacy-2"}]
    paths = warehouse(other, again, [person("new", "011")])
    with pytest.raises(InvalidInput, match="'legacy-2' is already in the warehouse"):
        do_import(*paths)
    fresh = [{**contact("2023-01-02T10:00:00", person="old-a"), "contact_id": "legacy-9"}]
    paths = warehouse(other, fresh, [person("old-a", "011")])
    with pytest.raises(
        InvalidInput, match="persons: column 'person_key': 'old-a' is already in the warehouse"
    ):
        do_import(*paths)
    assert files(platform) == before
    # Contacts alone (persons are optional) are accepted.
    assert do_import(paths[0]).contacts == 1


def test_only_the_national_role_imports(platform, tmp_path, agent_paris):
    with pytest.raises(Forbidden):
        do_import(*history_2024(tmp_path), actor=Actor.agent(agent_paris))


def test_the_import_command(platform, tmp_path):
    contacts, persons = history_2024(tmp_path, "parquet")
    call_command("warehouse", "import", "--contacts", str(contacts), "--persons", str(persons))
    call_command("warehouse", "import", "--contacts", str(contacts), "--persons", str(persons))
    assert len(list((platform / "contacts").rglob("history-*.parquet"))) == 1
    with pytest.raises(CommandError, match="contacts: no such file"):
        call_command("warehouse", "import", "--contacts", str(tmp_path / "nope.csv"))
    bad = history_2024(tmp_path, "csv", caisse="11")
    with pytest.raises(CommandError, match="is not a 3-character caisse code"):
        call_command("warehouse", "import", "--contacts", str(bad[0]))
