"""The keyset cursors of the baskets' and documents' lists (core.db): a cursor round-trips, and any other text is
refused on the field "cursor", never an error of another kind."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omniguichet.core.db import MAX_ROW_ID, decode_keyset, encode_keyset
from omniguichet.core.errors import InvalidInput

moments = st.datetimes(
    min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1), timezones=st.just(dt.UTC)
)


@given(moments, st.integers(min_value=1, max_value=MAX_ROW_ID))
def test_a_cursor_round_trips(moment, pk):
    assert decode_keyset(encode_keyset(moment, pk)) == (moment, pk)


@given(st.text(max_size=80))
def test_any_other_text_is_refused_on_the_cursor_field(text):
    try:
        moment, pk = decode_keyset(text)
    except InvalidInput as exc:
        assert exc.fields == {"cursor": "invalid cursor"}
    else:  # a text that happens to be a valid cursor
        assert moment.tzinfo is not None and 0 < pk <= MAX_ROW_ID


@pytest.mark.parametrize("pk", [0, -1, MAX_ROW_ID + 1])
def test_ids_outside_a_row_id_are_refused(pk):
    with pytest.raises(InvalidInput):
        decode_keyset(encode_keyset(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), pk))


def test_a_naive_instant_is_refused():
    with pytest.raises(InvalidInput):
        decode_keyset(encode_keyset(dt.datetime(2026, 1, 1), 5))
