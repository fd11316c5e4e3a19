"""The input schema check: a wrong column or type is refused with a message naming it."""

from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omniguichet.analytics.engine import (
    CONTACTS_SCHEMA,
    INDICATORS,
    PERSONS_SCHEMA,
    SchemaError,
    compute,
    parse_weights,
)
from tests.analytics.data import contact, person, warehouse, write_csv

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def test_missing_and_unknown_columns_are_named(tmp_path):
    contacts, persons = warehouse(tmp_path, [contact("2025-01-05T10:00:00")], [person("p1")])
    table = pq.read_table(contacts)
    pq.write_table(table.drop(["waited_seconds"]), tmp_path / "missing.parquet")
    with pytest.raises(SchemaError, match="contacts: column 'waited_seconds' is missing"):
        compute(contacts=tmp_path / "missing.parquet", persons=persons, year=2025)
    pq.write_table(table.append_column("nir", pa.array(["184127505612345"])), tmp_path / "extra.parquet")
    with pytest.raises(SchemaError, match="contacts: column 'nir' is not in the schema"):
        compute(contacts=tmp_path / "extra.parquet", persons=persons, year=2025)


def test_wrong_parquet_type_is_named(tmp_path):
    contacts, persons = warehouse(tmp_path, [contact("2025-01-05T10:00:00")], [person("p1")])
    table = pq.read_table(contacts)
    index = table.schema.get_field_index("started_at")
    table = table.set_column(index, "started_at", pa.array(["2025-01-05 10:00:00"]))
    pq.write_table(table, tmp_path / "bad.parquet")
    with pytest.raises(
        SchemaError, match="contacts: column 'started_at' has type VARCHAR, expected timestamp"
    ):
        compute(contacts=tmp_path / "bad.parquet", persons=persons, year=2025)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"caisse": "11"}, "column 'caisse': 1 row"),  # a leading zero lost by a spreadsheet
        ({"channel": "fax"}, "column 'channel': 1 row"),
        ({"direction": "in"}, "column 'direction': 1 row"),
        ({"person_key": None}, "column 'person_key': 1 row"),
        ({"waited_seconds": -5}, "column 'waited_seconds': 1 row"),
    ],
)
def test_invalid_values_are_named(tmp_path, overrides, message):
    row = {**contact("2025-01-05T10:00:00"), **overrides}
    contacts, persons = warehouse(tmp_path, [contact("2025-01-04T10:00:00"), row], [person("p1")])
    with pytest.raises(SchemaError, match=message):
        compute(contacts=contacts, persons=persons, year=2025)


def test_missing_file(tmp_path):
    with pytest.raises(SchemaError, match="contacts: no such file"):
        compute(contacts=tmp_path / "nope.parquet", persons=tmp_path / "nope.csv", year=2025)


def test_csv_keeps_leading_zeros(tmp_path):
    contacts, persons = warehouse(
        tmp_path, [contact("2025-01-05T10:00:00", caisse="011", answered=True)], [person("p1", "011")], "csv"
    )
    assert "p1,011," in persons.read_text()
    result = compute(contacts=contacts, persons=persons, year=2025)
    assert result.caisses() == ["011"]


TYPED = [name for name, logical in CONTACTS_SCHEMA.items() if logical != "string"]


@SETTINGS
@given(
    column=st.sampled_from(TYPED),
    junk=st.text(alphabet="abcxyz!?-:/ ", min_size=1, max_size=12).filter(lambda s: s.strip() != ""),
)
def test_csv_value_of_wrong_type_names_its_column(tmp_path, column, junk):
    if CONTACTS_SCHEMA[column] == "boolean" and junk.strip().lower() in {"y", "n", "yes", "no", "t", "f"}:
        return  # DuckDB reads these as booleans
    rows = [contact("2025-01-05T10:00:00"), {**contact("2025-01-06T10:00:00"), column: junk}]
    path = write_csv(tmp_path / "contacts.csv", rows, CONTACTS_SCHEMA)
    persons = write_csv(tmp_path / "persons.csv", [], PERSONS_SCHEMA)
    with pytest.raises(SchemaError) as raised:
        compute(contacts=path, persons=persons, year=2025)
    assert f"column '{column}'" in str(raised.value)


@SETTINGS
@given(drop=st.sampled_from(list(PERSONS_SCHEMA)))
def test_persons_csv_without_a_column_is_refused(tmp_path, drop):
    schema = {k: v for k, v in PERSONS_SCHEMA.items() if k != drop}
    persons = write_csv(tmp_path / "persons.csv", [person("p1")], schema)
    contacts = write_csv(tmp_path / "contacts.csv", [], CONTACTS_SCHEMA)
    with pytest.raises(SchemaError, match=f"persons: column '{drop}' is missing"):
        compute(contacts=contacts, persons=persons, year=2025)


@given(
    weights=st.dictionaries(
        st.sampled_from(INDICATORS), st.floats(min_value=0, max_value=100, allow_nan=False), max_size=7
    )
)
def test_parse_weights_round_trip(weights):
    spec = ",".join(f"{k}={v!r}" for k, v in weights.items())
    parsed = parse_weights(spec)
    assert parsed == {**dict.fromkeys(INDICATORS, 1.0), **weights}


@given(spec=st.text(max_size=30))
def test_parse_weights_refuses_or_parses(spec):
    try:
        parsed = parse_weights(spec)
    except ValueError as exc:
        assert str(exc).startswith("weight ")
    else:
        assert set(parsed) == set(INDICATORS)
        assert all(v >= 0 for v in parsed.values())


# ------------------------------------------------------------------- the recontact rule against a reference
def _reference_recontact(contacts: list[dict], year: int) -> dict[str, tuple[int, int]]:
    """The rule as written in the issue, in plain Python (quadratic, for small data)."""
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    inbound = [c for c in contacts if c["direction"] == "inbound"]
    out: dict[str, list[int]] = {}
    for c in inbound:
        if c["started_at"].astimezone(paris).year != year:
            continue
        followed = any(
            o["person_key"] == c["person_key"]
            and o["motive"] == c["motive"]
            and dt.timedelta(0) < o["started_at"] - c["started_at"] <= dt.timedelta(seconds=604_800)
            for o in inbound
        )
        acc = out.setdefault(c["caisse"], [0, 0])
        acc[0] += followed
        acc[1] += 1
    return {k: (v[0], v[1]) for k, v in out.items()}


@SETTINGS
@given(seed=st.integers(min_value=0, max_value=10**6), size=st.integers(min_value=1, max_value=40))
def test_recontact_matches_the_written_rule(tmp_path, seed, size):
    rng = random.Random(seed)
    base = dt.datetime(2025, 12, 20, tzinfo=dt.UTC)
    offsets = [0, 1, 604_799, 604_800, 604_801, 3600, 86_400 * 3]
    contacts = []
    for _ in range(size):
        start = base + dt.timedelta(seconds=sum(rng.sample(offsets, 2)) - rng.choice(offsets))
        row = contact(
            start.strftime("%Y-%m-%dT%H:%M:%S"),
            person=rng.choice("pq"),
            caisse=rng.choice(["011", "751"]),
            motive=rng.choice("mn"),
            direction=rng.choice(["inbound", "inbound", "outbound"]),
        )
        contacts.append(row)
    paths = warehouse(tmp_path, contacts, [])
    result = compute(contacts=paths[0], persons=paths[1], year=2025)
    got = {r.caisse: (r.numerator, r.denominator) for r in result.yearly if r.indicator == "recontact_rate"}
    expected = _reference_recontact(contacts, 2025)
    assert {k: v for k, v in got.items() if v[1]} == expected
