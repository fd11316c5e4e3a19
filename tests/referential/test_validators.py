"""Tests of the referential's validators (pure Python, no database).

The check digits (NIR key, Luhn) are computed here independently of the code under test, so that a test
checks the validators rather than repeating them.
"""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from omniguichet.referential.validators import (
    compose_nir,
    mask_nir,
    nir_identity_errors,
    parse_nir,
    validate_email_address,
    validate_insee_code,
    validate_mobile_phone,
    validate_nir,
    validate_phone_number,
    validate_postcode,
    validate_rpps,
    validate_siren,
    validate_siret,
)

DIGITS = "0123456789"
SEX_OF_DIGIT = {"1": "M", "2": "F", "7": "M", "8": "F"}
# INSEE: a pseudo-month 20-42 or 50-99 when the civil status gives no birth month.
UNKNOWN_MONTHS = [*range(20, 43), *range(50, 100)]


# --------------------------------------------------------------------------------------------------------
# Independent check-digit computations
# --------------------------------------------------------------------------------------------------------


def expected_nir_key(first13: str) -> str:
    """97 - (n mod 97), n being the 13 characters with Corsica 2A -> 19 and 2B -> 18."""
    assert len(first13) == 13
    numeric = first13[:5] + {"2A": "19", "2B": "18"}.get(first13[5:7], first13[5:7]) + first13[7:]
    return f"{97 - int(numeric) % 97:02d}"


def with_key(first13: str) -> str:
    return first13 + expected_nir_key(first13)


def luhn_check_digit(payload: str) -> str:
    total = 0
    for i, char in enumerate(reversed(payload)):
        d = int(char)
        if i % 2 == 0:  # the digit next to the (future) check digit is doubled
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def test_independent_check_digit_helpers_on_known_numbers():
    # Published examples: INSEE SIRET 732 829 320 00074 (SIREN 732 829 320), NIR key of the
    # classic 1 84 12 75 056 001 number, and a Corsican NIR (2A counts as 19).
    assert luhn_check_digit("73282932") == "0"
    assert luhn_check_digit("7328293200007") == "4"
    assert expected_nir_key("1841275056001") == f"{97 - 1841275056001 % 97:02d}"
    assert expected_nir_key("184122A004001") == f"{97 - 1841219004001 % 97:02d}"
    assert expected_nir_key("184122B004001") == f"{97 - 1841218004001 % 97:02d}"


# --------------------------------------------------------------------------------------------------------
# NIR strategy
# --------------------------------------------------------------------------------------------------------


def _two(n: int) -> str:
    return f"{n:02d}"


def _three(n: int) -> str:
    return f"{n:03d}"


metropolitan_departments = st.integers(1, 95).filter(lambda d: d != 20).map(_two)
three_digit_communes = st.integers(1, 990).map(_three)

# (department, commune) as parse_nir should return them.
birth_places = st.one_of(
    st.tuples(metropolitan_departments, three_digit_communes),
    st.tuples(st.sampled_from(["2A", "2B"]), three_digit_communes),
    st.tuples(st.just("20"), three_digit_communes),  # Corsica before 1976
    st.tuples(st.integers(971, 978).map(str), st.integers(1, 90).map(_two)),
    st.tuples(st.just("99"), st.integers(100, 990).map(str)),  # born abroad: country code
)
months = st.one_of(st.integers(1, 12), st.sampled_from(UNKNOWN_MONTHS))


@st.composite
def nir_cases(draw):
    """A valid NIR (15 characters) and the parts it was built from."""
    sex_digit = draw(st.sampled_from(sorted(SEX_OF_DIGIT)))
    year = draw(st.integers(0, 99))
    month = draw(months)
    department, commune = draw(birth_places)
    order = draw(st.integers(1, 999).map(_three))
    first13 = f"{sex_digit}{year:02d}{month:02d}{department}{commune}{order}"
    assert len(first13) == 13
    nir = first13 + expected_nir_key(first13)
    parts = {
        "sex": SEX_OF_DIGIT[sex_digit],
        "year": year,
        "month": month,
        "department": department,
        "commune": commune,
        "order": order,
        "key": nir[13:],
    }
    return nir, parts


nirs = nir_cases().map(lambda case: case[0])


def refused(validator, value) -> ValidationError:
    with pytest.raises(ValidationError) as excinfo:
        validator(value)
    return excinfo.value


# --------------------------------------------------------------------------------------------------------
# NIR properties
# --------------------------------------------------------------------------------------------------------


@settings(max_examples=200)
@given(nir_cases())
def test_generated_nir_is_valid_and_parsed_into_its_parts(case):
    nir, expected = case
    assert validate_nir(nir) == nir
    parts = parse_nir(nir)
    assert parts.sex == expected["sex"]
    assert parts.year == expected["year"]
    assert parts.month == expected["month"]
    assert parts.month_known == (1 <= expected["month"] <= 12)
    assert parts.department == expected["department"]
    assert parts.commune == expected["commune"]
    assert parts.birth_place == expected["department"] + expected["commune"]
    assert len(parts.birth_place) == 5
    assert parts.order == expected["order"]
    assert parts.key == expected["key"]


@given(nirs, st.lists(st.integers(0, 15), max_size=8), st.sampled_from([" ", "  ", "\t"]))
def test_nir_with_spaces_anywhere_is_accepted_and_normalised(nir, positions, blank):
    spaced = nir
    for position in sorted(positions, reverse=True):
        spaced = spaced[:position] + blank + spaced[position:]
    assert validate_nir(spaced) == nir
    assert parse_nir(spaced) == parse_nir(nir)


def test_nir_in_its_printed_format():
    nir = with_key("1841275056001")
    printed = f"1 84 12 75 056 001 {nir[13:]}"
    assert validate_nir(printed) == nir
    assert len(validate_nir(printed)) == 15
    parts = parse_nir(printed)
    assert (parts.sex, parts.year, parts.month, parts.birth_place, parts.order) == (
        "M",
        84,
        12,
        "75056",
        "001",
    )


def test_lower_case_corsica_is_accepted_and_upper_cased():
    nir = with_key("270032A004012")
    assert validate_nir(nir.lower()) == nir
    assert parse_nir(nir.lower()).department == "2A"


@settings(max_examples=100)
@given(nirs)
def test_any_single_digit_change_is_refused(nir):
    for position, char in enumerate(nir):
        if not char.isdigit():
            continue  # the A or B of Corsica
        for digit in DIGITS.replace(char, ""):
            changed = nir[:position] + digit + nir[position + 1 :]
            with pytest.raises(ValidationError):
                validate_nir(changed)


@settings(max_examples=100)
@given(nirs)
def test_swapping_two_adjacent_different_digits_is_refused(nir):
    for position in range(12):
        a, b = nir[position], nir[position + 1]
        if a.isdigit() and b.isdigit() and a != b:
            swapped = nir[:position] + b + a + nir[position + 2 :]
            with pytest.raises(ValidationError):
                validate_nir(swapped)


@given(nirs, st.integers(0, 99))
def test_wrong_key_message_names_given_and_expected_keys(nir, wrong):
    given_key = f"{wrong:02d}"
    correct = expected_nir_key(nir[:13])
    assume(given_key != correct)
    exc = refused(validate_nir, nir[:13] + given_key)
    assert exc.code == "key"
    assert exc.messages[0] == f"the key {given_key} does not match, expected {correct}"


# --------------------------------------------------------------------------------------------------------
# NIR structural refusals
# --------------------------------------------------------------------------------------------------------

VALID_NIR = with_key("1841275056001")


@pytest.mark.parametrize(
    ("value", "code"),
    [
        pytest.param(VALID_NIR[:14], "length", id="14-characters"),
        pytest.param(VALID_NIR + "0", "length", id="16-characters"),
        pytest.param("", "length", id="empty"),
        pytest.param(VALID_NIR[:8] + "O" + VALID_NIR[9:], "format", id="letter-O-in-commune"),
        pytest.param("ABCDEFGHIJKLMNO", "format", id="letters"),
        pytest.param(VALID_NIR[:5] + "2C" + VALID_NIR[7:], "format", id="department-2C"),
        pytest.param(VALID_NIR[:6] + "A" + VALID_NIR[7:], "format", id="department-7A"),
        pytest.param(VALID_NIR[:2] + "X" + VALID_NIR[3:], "format", id="letter-in-year"),
        pytest.param(VALID_NIR[:13] + "8O", "format", id="letter-in-key"),
        pytest.param(with_key("3841275056001"), "sex", id="sex-3"),
        pytest.param(with_key("0841275056001"), "sex", id="sex-0"),
        pytest.param(with_key("9841275056001"), "sex", id="sex-9"),
        pytest.param(with_key("1841375056001"), "month", id="month-13"),
        pytest.param(with_key("1840075056001"), "month", id="month-00"),
        pytest.param(with_key("1841975056001"), "month", id="month-19"),
        pytest.param(with_key("1841675056001"), "month", id="month-16"),
        pytest.param(with_key("1844375056001"), "month", id="month-43"),
        pytest.param(with_key("1844975056001"), "month", id="month-49"),
        pytest.param(with_key("1841200056001"), "department", id="department-00"),
        pytest.param(with_key("1841297905001"), "department", id="overseas-979"),
        pytest.param(with_key("1841297005001"), "department", id="overseas-970"),
        pytest.param(with_key("1841275000001"), "commune", id="commune-000"),
        pytest.param(with_key("1841297100001"), "commune", id="overseas-commune-00"),
        pytest.param(with_key("1841299000001"), "commune", id="country-000"),
        pytest.param(with_key("1841275056000"), "order", id="order-000"),
        pytest.param(VALID_NIR[:13] + "00", "key", id="key-00"),
    ],
)
def test_structural_refusals_have_their_code(value, code):
    exc = refused(validate_nir, value)
    assert exc.code == code
    assert exc.messages[0]


def test_length_message_counts_characters_without_spaces():
    exc = refused(validate_nir, "1 84 12 75 056 001 8")
    assert exc.code == "length"
    assert exc.messages[0] == "must have 15 characters (13 plus a 2-digit key), got 14"


def test_structural_messages_name_the_wrong_part():
    assert "got 3" in refused(validate_nir, with_key("3841275056001")).messages[0]
    assert "13" in refused(validate_nir, with_key("1841375056001")).messages[0]
    assert "979" in refused(validate_nir, with_key("1841297905001")).messages[0]


# --------------------------------------------------------------------------------------------------------
# compose_nir / nir_identity_errors
# --------------------------------------------------------------------------------------------------------

identity_places = birth_places.filter(lambda place: place[0] != "20").map("".join)
birth_dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2030, 12, 31))


@st.composite
def identities(draw):
    return {
        "sex": draw(st.sampled_from(["M", "F"])),
        "birth_date": draw(birth_dates),
        "birth_place": draw(identity_places),
    }


def _nir_place(birth_place: str, birth_date: dt.date) -> str:
    if birth_place[:2] in {"2A", "2B"} and birth_date.year < 1976:
        return "20" + birth_place[2:]
    return birth_place


@given(identities(), st.integers(1, 999))
def test_compose_nir_round_trips_with_parse_nir(identity, order):
    nir = compose_nir(**identity, order=order)
    assert validate_nir(nir) == nir
    assert nir[13:] == expected_nir_key(nir[:13])
    parts = parse_nir(nir)
    assert parts.sex == identity["sex"]
    assert nir[0] == {"M": "1", "F": "2"}[identity["sex"]]
    assert parts.year == identity["birth_date"].year % 100
    assert parts.month == identity["birth_date"].month
    assert parts.birth_place == _nir_place(identity["birth_place"], identity["birth_date"])
    assert parts.order == f"{order:03d}"
    assert nir_identity_errors(nir, **identity) == {}


@given(identities(), st.integers(1, 999), st.sampled_from(UNKNOWN_MONTHS), st.integers(1, 12))
def test_unknown_nir_month_accepts_any_birth_month(identity, order, unknown, other_month):
    nir = compose_nir(**identity, order=order, month=unknown)
    parts = parse_nir(nir)
    assert parts.month == unknown
    assert not parts.month_known
    birth_date = identity["birth_date"]
    other = dt.date(birth_date.year, other_month, 1)
    assert nir_identity_errors(nir, **{**identity, "birth_date": other}) == {}


@given(identities(), st.integers(1, 999))
def test_other_sex_is_named(identity, order):
    nir = compose_nir(**identity, order=order)
    other = {"M": "F", "F": "M"}[identity["sex"]]
    errors = nir_identity_errors(nir, **{**identity, "sex": other})
    assert set(errors) == {"sex"}
    assert f"first digit {nir[0]}" in errors["sex"]


@given(identities(), st.integers(1, 999), st.integers(1, 99))
def test_other_birth_year_is_named(identity, order, shift):
    nir = compose_nir(**identity, order=order)
    birth_date = identity["birth_date"]
    other = dt.date(birth_date.year + shift, birth_date.month, 1)
    errors = nir_identity_errors(nir, **{**identity, "birth_date": other})
    assert set(errors) == {"birth_date"}
    assert errors["birth_date"] == f"the year does not match the NIR ({birth_date.year % 100:02d})"


@given(identities(), st.integers(1, 999), st.integers(1, 11))
def test_other_known_birth_month_is_named(identity, order, shift):
    nir = compose_nir(**identity, order=order)
    birth_date = identity["birth_date"]
    other = dt.date(birth_date.year, (birth_date.month - 1 + shift) % 12 + 1, 1)
    errors = nir_identity_errors(nir, **{**identity, "birth_date": other})
    assert set(errors) == {"birth_date"}
    assert errors["birth_date"] == f"the month does not match the NIR ({birth_date.month:02d})"


@given(identities(), st.integers(1, 999), identity_places)
def test_other_birth_place_is_named(identity, order, other_place):
    assume(other_place[2:] != identity["birth_place"][2:])
    nir = compose_nir(**identity, order=order)
    errors = nir_identity_errors(nir, **{**identity, "birth_place": other_place})
    assert set(errors) == {"birth_place"}
    assert errors["birth_place"] == f"does not match the NIR ({nir[5:10]})"


def test_corsica_before_1976_is_department_20_and_consistent():
    identity = {"sex": "F", "birth_date": dt.date(1970, 5, 17), "birth_place": "2A004"}
    nir = compose_nir(**identity, order=12)
    assert nir[5:10] == "20004"
    parts = parse_nir(nir)
    assert parts.department == "20"
    assert parts.commune == "004"
    assert nir_identity_errors(nir, **identity) == {}
    # The same NIR with another Corsican commune does not match.
    errors = nir_identity_errors(nir, **{**identity, "birth_place": "2A005"})
    assert set(errors) == {"birth_place"}


@pytest.mark.parametrize(
    ("birth_date", "nir_department"),
    [(dt.date(1975, 12, 31), "20"), (dt.date(1976, 1, 1), "2A")],
)
def test_corsica_split_boundary(birth_date, nir_department):
    identity = {"sex": "M", "birth_date": birth_date, "birth_place": "2A004"}
    nir = compose_nir(**identity, order=3)
    assert nir[5:7] == nir_department
    assert nir_identity_errors(nir, **identity) == {}


def test_corsica_since_1976_keeps_2a():
    identity = {"sex": "M", "birth_date": dt.date(1980, 1, 2), "birth_place": "2B033"}
    nir = compose_nir(**identity, order=7)
    assert nir[5:10] == "2B033"
    assert parse_nir(nir).department == "2B"
    assert nir_identity_errors(nir, **identity) == {}
    assert set(nir_identity_errors(nir, **{**identity, "birth_place": "2A033"})) == {"birth_place"}


def test_several_contradictions_are_all_named():
    identity = {"sex": "M", "birth_date": dt.date(1984, 12, 3), "birth_place": "75056"}
    nir = compose_nir(**identity, order=1)
    errors = nir_identity_errors(nir, sex="F", birth_date=dt.date(1985, 12, 3), birth_place="69123")
    assert set(errors) == {"sex", "birth_date", "birth_place"}


# --------------------------------------------------------------------------------------------------------
# mask_nir
# --------------------------------------------------------------------------------------------------------


@given(nirs)
def test_mask_never_shows_the_last_ten_characters(nir):
    mask = mask_nir(nir)
    assert nir[-10:] not in mask
    assert nir[-10:] not in mask.replace(" ", "")
    visible = "".join(char for char in mask if char.isalnum())
    assert visible == nir[:5]  # only sex, year and month are shown


# --------------------------------------------------------------------------------------------------------
# SIRET
# --------------------------------------------------------------------------------------------------------


@st.composite
def sirets(draw):
    """A SIRET: a SIREN (8 digits + Luhn) then a NIC (4 digits) and the Luhn digit of the whole 14.

    stdnum also checks the SIREN's own Luhn digit, so 13 random digits + Luhn is not enough.
    La Poste (356000000...) follows another rule and is left out.
    """
    siren8 = draw(st.text(DIGITS, min_size=8, max_size=8))
    siren = siren8 + luhn_check_digit(siren8)
    assume(siren != "356000000")
    first13 = siren + draw(st.text(DIGITS, min_size=4, max_size=4))
    return first13 + luhn_check_digit(first13)


@given(sirets())
def test_generated_siret_is_valid(siret):
    assert validate_siret(siret) == siret
    spaced = f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}"
    assert validate_siret(spaced) == siret


@given(sirets())
def test_siret_single_digit_change_is_refused(siret):
    for position, char in enumerate(siret):
        for digit in DIGITS.replace(char, ""):
            changed = siret[:position] + digit + siret[position + 1 :]
            if changed.startswith("356000000"):
                continue  # La Poste: another rule
            exc = refused(validate_siret, changed)
            assert exc.code == "checksum"


def test_siret_known_example():
    assert validate_siret("732 829 320 00074") == "73282932000074"


def test_siret_luhn_valid_but_siren_invalid_is_refused():
    siren = "12345678" + str((int(luhn_check_digit("12345678")) + 1) % 10)  # wrong SIREN key
    first13 = siren + "0001"
    value = first13 + luhn_check_digit(first13)  # Luhn-valid as 14 digits
    assert refused(validate_siret, value).code == "checksum"


@given(
    st.integers(1, 30).filter(lambda n: n != 14).flatmap(lambda n: st.text(DIGITS, min_size=n, max_size=n))
)
def test_siret_wrong_length_message(value):
    exc = refused(validate_siret, value)
    assert exc.code == "length"
    assert exc.messages[0] == f"must have 14 digits, got {len(value)}"


@pytest.mark.parametrize("value", ["7328293200007A", "ABCDEFGHIJKLMN", "732829320-0007"])
def test_siret_letters_are_refused(value):
    exc = refused(validate_siret, value)
    assert exc.code == "format"
    assert exc.messages[0] == "only digits are allowed"


# --------------------------------------------------------------------------------------------------------
# RPPS
# --------------------------------------------------------------------------------------------------------

rpps_numbers = st.text(DIGITS, min_size=10, max_size=10).map(
    lambda first10: first10 + luhn_check_digit(first10)
)


@given(rpps_numbers)
def test_generated_rpps_is_valid(rpps):
    assert validate_rpps(rpps) == rpps
    assert validate_rpps(f" {rpps[:5]} {rpps[5:]} ") == rpps


@given(rpps_numbers)
def test_rpps_single_digit_change_is_refused_naming_the_expected_digit(rpps):
    for position, char in enumerate(rpps):
        for digit in DIGITS.replace(char, ""):
            changed = rpps[:position] + digit + rpps[position + 1 :]
            exc = refused(validate_rpps, changed)
            assert exc.code == "checksum"
            expected = luhn_check_digit(changed[:-1])
            assert exc.messages[0] == f"the check digit {changed[-1]} does not match, expected {expected}"


@pytest.mark.parametrize("length", [10, 12])
def test_rpps_wrong_length_is_refused(length):
    first = "1000000000"[: length - 1].ljust(length - 1, "0")
    value = first + luhn_check_digit(first)  # Luhn-valid, only the length is wrong
    exc = refused(validate_rpps, value)
    assert exc.code == "length"
    assert exc.messages[0] == f"must have 11 digits, got {length}"


def test_rpps_letters_are_refused():
    assert refused(validate_rpps, "1000000000A").code == "format"


# --------------------------------------------------------------------------------------------------------
# Mobile phone
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["06 12 34 56 78", "+33 6 12 34 56 78", "0033612345678", "06.12.34.56.78"])
def test_french_mobile_is_normalised_to_e164(value):
    assert validate_mobile_phone(value) == "+33612345678"


@pytest.mark.parametrize(
    ("value", "e164"),
    [("+262 692 12 34 56", "+262692123456"), ("+590 690 12 34 56", "+590690123456")],
)
def test_overseas_mobile_is_normalised_to_e164(value, e164):
    assert validate_mobile_phone(value) == e164


def test_overseas_mobile_written_nationally_is_not_french():
    # Parsed in region FR, 0690... would be +33 690..., which does not exist.
    assert refused(validate_mobile_phone, "0690 12 34 56").code == "invalid"
    assert validate_mobile_phone("0690 12 34 56", region="GP") == "+590690123456"


@pytest.mark.parametrize("value", ["01 42 34 56 78", "+33 1 42 34 56 78"])
def test_landline_is_refused(value):
    exc = refused(validate_mobile_phone, value)
    assert exc.code == "not_mobile"


def test_not_a_phone_number_is_refused():
    assert refused(validate_mobile_phone, "hello").code == "format"


def test_too_short_number_is_refused():
    assert refused(validate_mobile_phone, "06 12").code == "invalid"


# --------------------------------------------------------------------------------------------------------
# E-mail
# --------------------------------------------------------------------------------------------------------


def test_email_is_stripped_and_lower_cased():
    assert validate_email_address("  Marie.Dupont@Example.FR ") == "marie.dupont@example.fr"


@pytest.mark.parametrize(
    "value",
    [
        "marie.dupont.example.fr",
        "marie..dupont@example.fr",
        "marie dupont@example.fr",
        "marie@exa mple.fr",
        "",
    ],
)
def test_invalid_email_is_refused(value):
    exc = refused(validate_email_address, value)
    assert exc.code == "invalid"
    assert "is not a valid e-mail address" in exc.messages[0]


local_atoms = st.text("abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=10)
local_parts = st.lists(local_atoms, min_size=1, max_size=4).map(".".join)
domains = st.sampled_from(["example.fr", "example.com", "mairie-paris.fr", "mail.example.org", "ameli.fr"])


@given(local_parts, domains, st.data())
def test_simple_address_round_trips_to_lower_case(local, domain, data):
    address = f"{local}@{domain}"
    mixed = "".join(char.upper() if data.draw(st.booleans()) else char for char in address)
    assert validate_email_address(mixed) == address
    assert validate_email_address(address) == address


# --------------------------------------------------------------------------------------------------------
# Non-ASCII digits: str.isdigit() alone would accept them (int() then crashes or they pass through).
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("validator", "value"),
    [
        pytest.param(validate_nir, "184\u00b2275056001" + "80", id="nir-superscript-two"),
        pytest.param(validate_nir, "184\u0661\u066275056001" + "80", id="nir-arabic-indic-digits"),
        pytest.param(validate_rpps, "\u06610000000000", id="rpps-arabic-indic-digit"),
    ],
)
def test_non_ascii_digits_are_refused_as_format(validator, value):
    assert refused(validator, value).code == "format"


# --------------------------------------------------------------------------------------------------------
# NIR pseudo-months (INSEE): 20-42 and 50-99 when the civil status gives no month; 00, 13-19, 43-49 never.
# --------------------------------------------------------------------------------------------------------


@given(nir_cases(), st.sampled_from([0, *range(13, 20), *range(43, 50)]))
def test_impossible_month_is_refused_even_with_its_key(case, month):
    nir, _parts = case
    first13 = nir[:3] + f"{month:02d}" + nir[5:13]
    exc = refused(validate_nir, with_key(first13))
    assert exc.code == "month"
    assert exc.messages[0] == (
        f"the birth month {month:02d} is not possible (01-12, or 20-42, 50-99 when unknown)"
    )


@pytest.mark.parametrize("month", [20, 21, 29, 30, 42, 50, 51, 99])
def test_every_pseudo_month_is_accepted(month):
    nir = with_key(f"184{month:02d}99350012")
    assert validate_nir(nir) == nir
    assert not parse_nir(nir).month_known


# --------------------------------------------------------------------------------------------------------
# SIREN, and La Poste's SIRETs
# --------------------------------------------------------------------------------------------------------

sirens = st.text(DIGITS, min_size=8, max_size=8).map(lambda first8: first8 + luhn_check_digit(first8))


@given(sirens)
def test_generated_siren_is_valid(siren):
    assert validate_siren(siren) == siren
    assert validate_siren(f"{siren[:3]} {siren[3:6]} {siren[6:]}") == siren


@given(sirens, st.integers(0, 8), st.integers(1, 9))
def test_siren_single_digit_change_is_refused(siren, position, shift):
    changed = siren[:position] + str((int(siren[position]) + shift) % 10) + siren[position + 1 :]
    exc = refused(validate_siren, changed)
    assert exc.code == "checksum"
    assert exc.messages[0] == "the check digit does not match (Luhn)"


@pytest.mark.parametrize(
    ("value", "code"), [("73282932", "length"), ("7328293200", "length"), ("73282932A", "format")]
)
def test_siren_structural_refusals(value, code):
    assert refused(validate_siren, value).code == code


def test_la_poste_siren_is_luhn_valid():
    assert validate_siren("356 000 000") == "356000000"


@st.composite
def la_poste_sirets(draw):
    """An establishment of La Poste: SIREN 356000000, a NIC of 4 digits and a last digit that brings the sum of
    the 14 digits to a multiple of 5 (their rule instead of Luhn)."""
    nic4 = draw(st.text(DIGITS, min_size=4, max_size=4))
    first13 = "356000000" + nic4
    total = sum(map(int, first13))
    last = draw(st.sampled_from([d for d in range(10) if (total + d) % 5 == 0]))
    siret = first13 + str(last)
    assume(siret != "35600000000048")  # the head office follows Luhn
    return siret


@given(la_poste_sirets())
def test_la_poste_siret_is_valid_when_its_digits_add_up_to_a_multiple_of_5(siret):
    assert validate_siret(siret) == siret


@given(la_poste_sirets(), st.integers(9, 13), st.integers(1, 9))
def test_la_poste_siret_with_a_changed_digit_is_refused_naming_the_rule(siret, position, shift):
    changed = siret[:position] + str((int(siret[position]) + shift) % 10) + siret[position + 1 :]
    assume(shift % 5 != 0 or int(siret[position]) + shift >= 10)  # the sum must stop being a multiple of 5
    total = sum(map(int, changed))
    assume(total % 5 != 0)
    exc = refused(validate_siret, changed)
    assert exc.code == "checksum"
    assert exc.messages[0] == (
        f"the digits of a La Poste SIRET must add up to a multiple of 5, they add up to {total}"
    )


def test_la_poste_head_office_follows_luhn():
    assert validate_siret("356 000 000 00048") == "35600000000048"


# --------------------------------------------------------------------------------------------------------
# Phone numbers: any number to call, a mobile for SMS
# --------------------------------------------------------------------------------------------------------

# Prefixes checked against phonenumbers' metadata: every 10-digit number under them is valid.
MOBILE_PREFIXES = ["060", "061", "062", "064", "065", "066", "067", "068", *[f"07{d}" for d in range(3, 10)]]
LANDLINE_PREFIXES = ["01", "03", "09"]

mobiles = st.tuples(st.sampled_from(MOBILE_PREFIXES), st.text(DIGITS, min_size=7, max_size=7)).map("".join)
landlines = st.tuples(st.sampled_from(LANDLINE_PREFIXES), st.text(DIGITS, min_size=8, max_size=8)).map(
    "".join
)


def spaced_pairs(national: str) -> str:
    return " ".join(national[i : i + 2] for i in range(0, 10, 2))


@given(mobiles)
def test_generated_mobile_is_valid_in_every_written_form(national):
    e164 = "+33" + national[1:]
    for written in (
        national,
        spaced_pairs(national),
        e164,
        "0033" + national[1:],
        national.replace("0", "0.", 1),
    ):
        assert validate_mobile_phone(written) == e164
        assert validate_phone_number(written) == e164


@given(mobiles, st.sampled_from("139"))
def test_mobile_turned_into_a_landline_is_refused_for_sms_but_callable(national, digit):
    landline = "0" + digit + national[2:]
    exc = refused(validate_mobile_phone, landline)
    assert exc.code == "not_mobile"
    assert exc.messages[0] == "is not a mobile number (SMS cannot reach it)"
    assert validate_phone_number(landline) == "+33" + landline[1:]


@given(landlines)
def test_generated_landline_is_a_phone_number_not_a_mobile(national):
    assert validate_phone_number(spaced_pairs(national)) == "+33" + national[1:]
    assert refused(validate_mobile_phone, national).code == "not_mobile"


@given(st.one_of(mobiles, landlines), st.integers(2, 9))
def test_phone_with_a_digit_missing_or_added_is_refused(national, position):
    for changed in (national[:position] + national[position + 1 :], national + national[position]):
        for validator in (validate_phone_number, validate_mobile_phone):
            exc = refused(validator, changed)
            assert exc.code == "invalid"
            assert exc.messages[0] == "is not a valid phone number"


# --------------------------------------------------------------------------------------------------------
# Postcodes and INSEE place codes
# --------------------------------------------------------------------------------------------------------

postcode_prefixes = st.sampled_from([*[f"{n:02d}" for n in range(96)], "97", "98"])
postcodes = st.tuples(postcode_prefixes, st.text(DIGITS, min_size=3, max_size=3)).map("".join)


@given(postcodes)
def test_generated_postcode_is_valid(postcode):
    assert validate_postcode(postcode) == postcode
    assert validate_postcode(f" {postcode[:2]} {postcode[2:]} ") == postcode


@given(postcodes, st.sampled_from(["96", "99"]))
def test_postcode_of_no_department_is_refused(postcode, prefix):
    exc = refused(validate_postcode, prefix + postcode[2:])
    assert exc.code == "department"
    assert exc.messages[0] == f"no French postcode starts with {prefix}"


@given(postcodes, st.integers(0, 4), st.sampled_from(["A", "O", "-", "\u00b2"]))
def test_postcode_with_a_character_changed_or_missing_is_refused(postcode, position, char):
    for changed in (
        postcode[:position] + char + postcode[position + 1 :],
        postcode[:position] + postcode[position + 1 :],
    ):
        exc = refused(validate_postcode, changed)
        assert exc.code == "format"
        assert exc.messages[0] == "must have 5 digits"


insee_codes = st.one_of(
    st.tuples(metropolitan_departments, three_digit_communes).map("".join),
    st.tuples(st.sampled_from(["2A", "2B", "20"]), three_digit_communes).map("".join),
    st.tuples(st.integers(971, 978).map(str), st.integers(1, 99).map(_two)).map("".join),
    st.tuples(st.just("99"), st.integers(100, 990).map(str)).map("".join),
)


@given(insee_codes)
def test_generated_insee_code_is_valid(code):
    assert validate_insee_code(code) == code
    assert validate_insee_code(code.lower()) == code


@given(insee_codes)
def test_insee_code_of_a_nir_is_valid(code):
    # Every birth place a NIR can carry is an INSEE code the person's birth_place field accepts.
    nir = with_key(f"18412{code}001")
    assert parse_nir(nir).birth_place == validate_insee_code(code)


@pytest.mark.parametrize(
    ("value", "code", "message"),
    [
        ("7505", "format", "must have 5 characters: the department (2 digits, 2A or 2B) then the commune"),
        ("2C004", "format", "must have 5 characters: the department (2 digits, 2A or 2B) then the commune"),
        ("75O56", "format", "must have 5 characters: the department (2 digits, 2A or 2B) then the commune"),
        ("00056", "department", "the department 00 does not exist"),
        ("97912", "department", "the overseas department 979 does not exist (971-978)"),
        ("75000", "commune", "the commune or country code cannot be zero"),
        ("97100", "commune", "the commune or country code cannot be zero"),
        ("99000", "commune", "the commune or country code cannot be zero"),
    ],
)
def test_insee_code_refusals(value, code, message):
    exc = refused(validate_insee_code, value)
    assert (exc.code, exc.messages[0]) == (code, message)


# --------------------------------------------------------------------------------------------------------
# French messages of the newer rules (referential/locale)
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("validator", "value", "french"),
    [
        (validate_nir, with_key("1841375056001"), "le mois de naissance 13 n'est pas possible"),
        (validate_siren, "7328293", "doit comporter 9 chiffres, 7 reçus"),
        (
            validate_siret,
            "35600000000012",
            "la somme des chiffres d'un SIRET de La Poste doit être un multiple de 5",
        ),
        (validate_postcode, "99001", "aucun code postal français ne commence par 99"),
        (validate_insee_code, "7505", "doit comporter 5 caractères : le département"),
    ],
)
def test_new_messages_are_translated_into_french(validator, value, french):
    from django.utils import translation

    with translation.override("fr"):
        assert refused(validator, value).messages[0].startswith(french)


@given(local_parts, domains, st.data())
def test_address_with_a_space_a_double_dot_or_no_at_sign_is_refused(local, domain, data):
    address = f"{local}@{domain}"
    position = data.draw(st.integers(1, len(local)))
    for broken in (
        address[:position] + " " + address[position:],
        f"{local}..x@{domain}",
        address.replace("@", ""),
        f"{local}@{domain}@{domain}",
    ):
        exc = refused(validate_email_address, broken)
        assert exc.code == "invalid"
        assert exc.messages[0].startswith("is not a valid e-mail address: ")
