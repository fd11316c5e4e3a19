"""The event-line parser: whatever a line holds, it answers a parsed event or reasons by field, never raises."""

import datetime as dt
import string

from hypothesis import given, settings
from hypothesis import strategies as st

from omniguichet.telephony import services

NOW = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=50))
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
keys = st.sampled_from(["call_id", "event", "at", "from", "to", "direction", "ivr_choice", "agent", "other"])
good_times = st.datetimes(min_value=dt.datetime(2000, 1, 2), max_value=dt.datetime(2026, 12, 3)).map(
    lambda d: d.replace(tzinfo=dt.timezone(dt.timedelta(hours=1))).isoformat()
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(values, st.dictionaries(keys, values, max_size=9)))
def test_any_line_is_parsed_or_refused_by_field(row):
    event, fields = services.parse_event(row, now=NOW)
    assert (event is None) == bool(fields)
    assert all(
        isinstance(name, str) and isinstance(reason, str) and reason for name, reason in fields.items()
    )


@settings(max_examples=200, deadline=None)
@given(
    call_id=st.text(alphabet=string.ascii_letters + string.digits + "-_.:@éß", min_size=1, max_size=64),
    event=st.sampled_from(services.SEQUENCE),
    at=good_times,
    direction=st.sampled_from(["inbound", "outbound"]),
    number=st.sampled_from(["+33698765432", "06 98 76 54 32", "0698765432", "anonymous", ""]),
)
def test_a_well_formed_line_is_parsed(call_id, event, at, direction, number):
    row = {"call_id": call_id, "event": event, "at": at, "from": number, "direction": direction,
           "ivr_choice": "1", "agent": "someone"}  # fmt: skip
    parsed, fields = services.parse_event(row, now=NOW)
    assert fields == {} and parsed is not None
    assert parsed.call_id == call_id.strip() and parsed.event == event
    assert parsed.at == dt.datetime.fromisoformat(at)
    assert parsed.from_number in ("+33698765432", "")
    assert parsed.agent_login == ("someone" if event == "answer" else "")


@given(
    st.sampled_from(["2026-13-01T09:00:00+01:00", "2026-02-30T09:00:00Z", "09:00", "1999-12-31T23:00:00Z"])
)
def test_impossible_times_are_refused_on_at(at):
    _event, fields = services.parse_event({"call_id": "c", "event": "new", "at": at}, now=NOW)
    assert "at" in fields
