"""bench/national.py's report: a step whose timings were taken on a busy machine keeps its disk figures in the fits
but leaves the latency and rate extrapolations (--void-timings)."""

from __future__ import annotations

import dataclasses

import pytest
from bench import national


def _step(millions: float, record_p99: float, **changes) -> national.Step:
    contacts = int(millions * 1e6)
    fields = {f.name: 0 for f in dataclasses.fields(national.Step)}
    fields.update(
        contacts=contacts, seed_rate=10_000.0, record_p50=8.0, record_p99=record_p99, search_p50=2.0,
        search_p99=5.0, ingest_one=3_000.0, ingest_parallel=8_000.0, exported=190_000, export_seconds=10.0,
        contact_bytes=270 * contacts, heap_bytes=140 * contacts, index_bytes=130 * contacts,
        database_bytes=300 * contacts, stopped="", measured_at="", timings_void="",
    )  # fmt: skip
    fields.update(changes)
    return national.Step(**fields)


def test_a_mark_voids_the_timings_of_the_step_nearest_its_size():
    steps = [_step(10.2, 13.0), _step(50.2, 14.0), _step(70.9, 524.0), _step(100.2, 14.5)]
    national._void_timings(steps, ["71:a test suite was running"])
    assert [s.timings_void for s in steps] == ["", "", "a test suite was running", ""]


@pytest.mark.parametrize(
    ("mark", "message"),
    [
        ("85:busy", "no step measured near 85 M"),
        ("70.9:", "give the reason"),
        ("seventy:busy", "MILLIONS:REASON"),
    ],
)
def test_a_wrong_mark_names_what_is_wrong(mark, message):
    with pytest.raises(SystemExit, match=message):
        national._void_timings([_step(70.9, 524.0)], [mark])


def test_the_report_fits_latencies_through_valid_steps_only_and_disk_through_all(capsys):
    steps = [
        _step(10.2, 13.0),
        _step(50.2, 14.0),
        _step(70.9, 524.0, timings_void="a test suite was running", contact_bytes=280 * 70_900_000),
        _step(100.2, 14.5),
    ]
    national._report(steps)
    out = capsys.readouterr().out
    assert "through the 3 steps whose timings are results (not 70.9 M: a test suite was running)" in out
    record = next(line for line in out.splitlines() if line.strip().startswith("record p99"))
    assert "524" not in record and "13.00-14.50 ms" in record
    # About +0.4 ms per doubling through 10.2, 50.2 and 100.2 M: 15 ms at 200 M, within the 25 ms target.
    assert "met if the trend holds" in record
    assert "(timings void: a test suite was running)" in out  # the row is still shown, marked
    assert "4 measured points" in out  # the disk's line goes through every step
