"""Property tests of the input parsers: any input is either accepted or refused field by field, never a crash."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.exceptions import ValidationError

from omniguichet.core.errors import InvalidInput
from omniguichet.teleservices import services

values = st.one_of(
    st.none(),
    st.text(max_size=60),
    st.integers(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
)


@pytest.mark.parametrize("code", sorted(services.CATALOGUE))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_input_is_accepted_or_refused_by_field(code, data):
    service = services.CATALOGUE[code]
    names = [f.name for f in service.fields] + ["other", "\x00"]
    raw = data.draw(st.dictionaries(st.sampled_from(names), values, max_size=len(names)))
    try:
        clean, files = services.clean_input(service, raw)
    except InvalidInput as exc:
        assert exc.fields and set(exc.fields) <= {n[:40] for n in names} | set(raw)
    else:
        assert set(clean) | set(files) <= {f.name for f in service.fields}


@given(st.text(max_size=40))
def test_iban_check_refuses_with_a_reason(text):
    try:
        assert services.validate_iban(text).isalnum()
    except ValidationError as exc:
        assert str(exc)


@given(
    st.text(alphabet=services.CODE_ALPHABET, min_size=12, max_size=12), st.sampled_from(["", "-", " ", "  "])
)
def test_a_code_typed_with_any_separator_or_case_is_found(chars, sep):
    typed = sep.join([chars[:4], chars[4:8], chars[8:]]).lower()
    assert services.normalise_verification_code(typed) == f"{chars[:4]}-{chars[4:8]}-{chars[8:]}"


@given(st.text(max_size=40))
def test_normalising_any_text_never_fails(text):
    assert len(services.normalise_verification_code(text)) <= 24


@given(st.text(max_size=30))
def test_parse_euros_never_fails_and_is_exact(text):
    from omniguichet.teleservices.catalogue.css import parse_euros

    amount = parse_euros(text)
    if amount is not None:
        assert 0 <= amount < 10_000_000 and amount == amount.quantize(Decimal("0.01"))


@given(st.decimals(min_value=0, max_value=9_999_999, places=2))
def test_parse_euros_reads_french_amounts(value):
    from omniguichet.teleservices.catalogue.css import parse_euros

    french = f"{value:,.2f}".replace(",", "\u202f").replace(".", ",") + " €"
    assert parse_euros(french) == value
    assert parse_euros(str(value)) == value
