"""deploy/postgresql/omniguichet.conf names settings this PostgreSQL has, with values it accepts (lz4 included)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import connection

CONF = Path(__file__).resolve().parents[2] / "deploy" / "postgresql" / "omniguichet.conf"
LINE = re.compile(r"^(?P<name>[a-z_]+)\s*=\s*(?P<value>\S+)\s*$")
# PostgreSQL's own memory and time units, in the units pg_settings gives for each setting.
MEMORY = {"kB": 1, "MB": 1024, "GB": 1024**2, "TB": 1024**3}
TIME = {"ms": 0.001, "s": 1, "min": 60, "h": 3600, "d": 86400}


def settings_in_file() -> dict[str, str]:
    found = {}
    for number, raw in enumerate(CONF.read_text().splitlines(), start=1):
        text = raw.split("#", 1)[0].strip()
        if not text:
            continue
        match = LINE.match(text)
        assert match, f"{CONF.name}:{number}: not `name = value`: {raw!r}"
        found[match["name"]] = match["value"]
    return found


def in_base_unit(value: str, unit: str) -> float:
    """`6GB` or `30min` in the unit pg_settings uses for the setting (8kB, kB, MB, s, ms...)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([A-Za-z]*)", value)
    assert match, value
    number, given = float(match[1]), match[2]
    if not given:
        return number
    block = re.fullmatch(r"(\d*)(kB|MB|GB|TB)", unit)
    if given in MEMORY:
        assert block, f"{value}: a size for a setting in {unit!r}"
        return number * MEMORY[given] / (int(block[1] or 1) * MEMORY[block[2]])
    assert given in TIME and unit in TIME, f"{value}: unknown unit for a setting in {unit!r}"
    return number * TIME[given] / TIME[unit]


def test_the_file_parses_and_advises_lz4():
    found = settings_in_file()
    assert found["wal_compression"] == "lz4"
    assert {"shared_buffers", "checkpoint_timeout", "max_wal_size"} <= set(found)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the settings are PostgreSQL's (run under pg_virtualenv)"
)
@pytest.mark.django_db
def test_every_setting_exists_with_an_accepted_value():
    found = settings_in_file()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, vartype, unit, min_val, max_val, enumvals FROM pg_settings WHERE name = ANY(%s)",
            [list(found)],
        )
        known = {row[0]: row[1:] for row in cursor.fetchall()}
    assert set(found) - set(known) == set(), "settings this PostgreSQL does not have"
    for name, value in found.items():
        vartype, unit, low, high, choices = known[name]
        if vartype == "enum":
            assert value in choices, f"{name} = {value}: this server takes {choices}"
        elif vartype in ("integer", "real"):
            number = in_base_unit(value, unit or "")
            assert float(low) <= number <= float(high), f"{name} = {value}: out of [{low}, {high}] {unit}"
