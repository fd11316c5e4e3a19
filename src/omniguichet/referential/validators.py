"""Validators of the referential's identifiers, places and contact points.

Each validator returns the normalised value or raises django.core.exceptions.ValidationError with a message that
says why (the caller adds which field). Check digits come from python-stdnum; the structural rules (sex digit,
month, department) are checked here so that a refusal can say precisely what is wrong.

The same functions are the model fields' validators (`referential.fields`), so that the admin, model forms,
`Model.full_clean()`, the services and the API refuse the same values with the same message; rules spanning
several fields of a person are in `person_errors()`, called by the service and by `Person.clean()`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum import luhn
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength
from stdnum.fr import nir as stdnum_nir
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

if TYPE_CHECKING:  # phonenumbers and email-validator are imported where used: start-up skips them (issue 15)
    import phonenumbers

# When the civil status gives no birth month (incomplete birth certificate, persons born abroad), the NIR carries
# a pseudo-month: 20 to 42, or 50 to 99. 13-19, 43-49 and 00 never occur.
NIR_UNKNOWN_MONTHS = frozenset({*range(20, 43), *range(50, 100)})
# 1 and 2: definitive numbers; 7 and 8: provisional numbers (people being registered).
NIR_SEX_DIGITS = {"1": "M", "2": "F", "7": "M", "8": "F"}
OVERSEAS_DEPARTMENTS = frozenset({"971", "972", "973", "974", "975", "976", "977", "978"})


@dataclass(frozen=True)
class NirParts:
    sex: str  # "M" or "F"
    year: int  # two digits
    month: int  # 1-12, or one of NIR_UNKNOWN_MONTHS
    department: str  # "01".."95", "2A", "2B", "20" (Corsica before 1976), "971".."978", "98", "99"
    commune: str  # INSEE commune (or country, for 99) code within the department
    order: str
    key: str

    @property
    def birth_place(self) -> str:
        """INSEE code of the birth place (5 characters), as written in the NIR."""
        return f"{self.department}{self.commune}"

    @property
    def month_known(self) -> bool:
        return 1 <= self.month <= 12


def _digits(text: str) -> bool:
    """ASCII digits only: str.isdigit() alone would accept "²" or Arabic-Indic digits."""
    return text.isascii() and text.isdigit()


def remove_spaces(value: str) -> str:
    """The value without any whitespace (a postcode typed "75 001")."""
    return "".join(str(value).split())


def compact_identifier(value: str) -> str:
    """A NIR or an RPPS as typed ("1 84 12 75.056-001 15", "2a") in its stored form: no spaces, dots, dashes."""
    return remove_spaces(value).replace(".", "").replace("-", "").upper()


def compact_place(value: str) -> str:
    """An INSEE place code as typed ("2a 004") in its stored form."""
    return remove_spaces(value).upper()


def compact_siret(value: str) -> str:
    """A SIRET as typed ("732 829 320 00074") without its spaces and dots."""
    return str(stdnum_siret.compact(value))


def _split_place(place: str) -> tuple[str, str]:
    """(department, commune) of a 5-character INSEE place code whose format was checked, or ValidationError.
    Overseas departments have 3 digits (971-978) and their communes 2."""
    department = place[:2]
    if department == "00":
        raise ValidationError(_("the department 00 does not exist"), code="department")
    if department == "97":
        department = place[:3]
        if department not in OVERSEAS_DEPARTMENTS:
            raise ValidationError(
                _("the overseas department %(d)s does not exist (971-978)") % {"d": department},
                code="department",
            )
    commune = place[len(department) :]
    if int(commune) == 0:
        raise ValidationError(_("the commune or country code cannot be zero"), code="commune")
    return department, commune


def nir_key(first13: str) -> str:
    """The 2-digit key of a NIR from its first 13 characters (Corsica 2A/2B count as 19/18)."""
    return str(stdnum_nir.calc_check_digits(first13 + "00"))


def compose_nir(
    *, sex: str, birth_date: dt.date, birth_place: str, order: int, month: int | None = None
) -> str:
    """Build the NIR of an identity (the inverse of parse_nir); month overrides the birth month when unknown."""
    digit = "1" if sex == "M" else "2"
    place = birth_place
    if place[:2] in {"2A", "2B"} and birth_date.year < 1976:
        place = "20" + place[2:]  # Corsica was one department until 1976
    first13 = f"{digit}{birth_date.year % 100:02d}{month or birth_date.month:02d}{place}{order:03d}"
    return first13 + nir_key(first13)


def parse_nir(value: str) -> NirParts:
    """Validate a NIR (15 characters, spaces allowed) and return its parts."""
    nir = compact_identifier(value)
    if len(nir) != 15:
        raise ValidationError(
            _("must have 15 characters (13 plus a 2-digit key), got %(n)d") % {"n": len(nir)},
            code="length",
        )
    department = nir[5:7]
    if not (_digits(nir[:5]) and _digits(nir[7:]) and (_digits(department) or department in {"2A", "2B"})):
        raise ValidationError(
            _("only digits are allowed, except 2A or 2B for Corsica in positions 6-7"), code="format"
        )
    sex_digit = nir[0]
    if sex_digit not in NIR_SEX_DIGITS:
        raise ValidationError(
            _("the first digit (sex) must be 1 or 2 (7 or 8 for a provisional number), got %(d)s")
            % {"d": sex_digit},
            code="sex",
        )
    month = int(nir[3:5])
    if not (1 <= month <= 12 or month in NIR_UNKNOWN_MONTHS):
        raise ValidationError(
            _("the birth month %(m)s is not possible (01-12, or 20-42, 50-99 when unknown)")
            % {"m": nir[3:5]},
            code="month",
        )
    department, commune = _split_place(nir[5:10])
    if nir[10:13] == "000":
        raise ValidationError(_("the order number cannot be 000"), code="order")
    expected = nir_key(nir[:13])
    if nir[13:] != expected:
        raise ValidationError(
            _("the key %(got)s does not match, expected %(expected)s")
            % {"got": nir[13:], "expected": expected},
            code="key",
        )
    return NirParts(
        sex=NIR_SEX_DIGITS[sex_digit],
        year=int(nir[1:3]),
        month=month,
        department=department,
        commune=commune,
        order=nir[10:13],
        key=nir[13:],
    )


def validate_nir(value: str) -> str:
    """Return the NIR normalised (15 characters, no spaces) or raise ValidationError."""
    parse_nir(value)
    return compact_identifier(value)


def nir_identity_errors(nir: str, *, sex: str, birth_date: dt.date, birth_place: str) -> dict[str, str]:
    """Fields of an identity that contradict its (valid) NIR, with the reason."""
    parts = parse_nir(nir)
    errors: dict[str, str] = {}
    if parts.sex != sex:
        errors["sex"] = _("does not match the NIR (first digit %(d)s)") % {"d": nir[0]}
    if parts.year != birth_date.year % 100:
        errors["birth_date"] = _("the year does not match the NIR (%(y)02d)") % {"y": parts.year}
    elif parts.month_known and parts.month != birth_date.month:
        errors["birth_date"] = _("the month does not match the NIR (%(m)02d)") % {"m": parts.month}
    place_in_nir = parts.birth_place
    corsica_before_1976 = parts.department == "20" and birth_place[:2] in {"2A", "2B"}
    if birth_place != place_in_nir and not (corsica_before_1976 and birth_place[2:] == parts.commune):
        errors["birth_place"] = _("does not match the NIR (%(p)s)") % {"p": place_in_nir}
    return errors


def person_errors(
    *,
    nir: str | None,
    sex: str,
    birth_date: dt.date | None,
    birth_place: str,
    rights_from: dt.date | None = None,
    rights_to: dt.date | None = None,
) -> dict[str, str]:
    """Rules spanning several fields of a person, with the field each refusal is reported under.

    The service (`create_person`) and `Person.clean()` (so the admin and any model form) both call it. Each field
    is expected to have passed its own validator: a NIR that does not parse, a sex other than M or F or a missing
    birth date are left to those, and the NIR is then not compared.
    """
    errors: dict[str, str] = {}
    if birth_date is not None and birth_date > timezone.localdate():
        errors["birth_date"] = _("cannot be in the future")
    if rights_from and rights_to and rights_to < rights_from:
        errors["rights_to"] = _("must not be before rights_from")
    if not nir or sex not in {"M", "F"} or birth_date is None or "birth_date" in errors:
        return errors
    try:
        parse_nir(nir)
    except ValidationError:
        return errors  # the NIR's own validator says why
    place = compact_place(birth_place)
    for name, reason in nir_identity_errors(
        compact_identifier(nir), sex=sex, birth_date=birth_date, birth_place=place
    ).items():
        errors.setdefault(name, reason)
    return errors


def mask_nir(nir: str) -> str:
    """NIR shown to people who do not need it whole: sex and birth year/month kept, the rest hidden."""
    return f"{nir[0]} {nir[1:3]} {nir[3:5]} •• ••• ••• ••"


def validate_siren(value: str) -> str:
    """A SIREN (9 digits, Luhn), spaces allowed; returns the 9 digits."""
    try:
        return str(stdnum_siren.validate(value))
    except InvalidLength:
        digits = stdnum_siren.compact(value)
        raise ValidationError(
            _("must have 9 digits, got %(n)d") % {"n": len(digits)}, code="length"
        ) from None
    except InvalidFormat:
        raise ValidationError(_("only digits are allowed"), code="format") from None
    except InvalidChecksum:
        raise ValidationError(_("the check digit does not match (Luhn)"), code="checksum") from None


LA_POSTE_SIREN = "356000000"
LA_POSTE_HEAD_OFFICE = "35600000000048"


def validate_siret(value: str) -> str:
    """A SIRET (14 digits, spaces allowed): Luhn on its SIREN and on the whole, except La Poste's establishments
    (SIREN 356 000 000, head office excepted), whose digits must add up to a multiple of 5."""
    try:
        return str(stdnum_siret.validate(value))
    except InvalidLength:
        digits = stdnum_siret.compact(value)
        raise ValidationError(
            _("must have 14 digits, got %(n)d") % {"n": len(digits)}, code="length"
        ) from None
    except InvalidFormat:
        raise ValidationError(_("only digits are allowed"), code="format") from None
    except InvalidChecksum:
        digits = stdnum_siret.compact(value)
        if digits.startswith(LA_POSTE_SIREN) and digits != LA_POSTE_HEAD_OFFICE:
            raise ValidationError(
                _("the digits of a La Poste SIRET must add up to a multiple of 5, they add up to %(sum)d")
                % {"sum": sum(map(int, digits))},
                code="checksum",
            ) from None
        raise ValidationError(_("the check digit does not match (Luhn)"), code="checksum") from None


def validate_rpps(value: str) -> str:
    rpps = compact_identifier(value)
    if not _digits(rpps):
        raise ValidationError(_("only digits are allowed"), code="format")
    if len(rpps) != 11:
        raise ValidationError(_("must have 11 digits, got %(n)d") % {"n": len(rpps)}, code="length")
    if not luhn.is_valid(rpps):
        raise ValidationError(
            _("the check digit %(got)s does not match, expected %(expected)s")
            % {"got": rpps[-1], "expected": luhn.calc_check_digit(rpps[:-1])},
            code="checksum",
        )
    return rpps


def _parse_phone(value: str, region: str) -> phonenumbers.PhoneNumber:
    import phonenumbers

    try:
        number = phonenumbers.parse(str(value), region)
    except phonenumbers.NumberParseException:
        raise ValidationError(_("is not a phone number"), code="format") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("is not a valid phone number"), code="invalid")
    return number


def validate_phone_number(value: str, *, region: str = "FR") -> str:
    """Return any valid phone number (landline, mobile, ...) in E.164; French numbers may be written nationally."""
    import phonenumbers

    number = _parse_phone(value, region)
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def validate_mobile_phone(value: str, *, region: str = "FR") -> str:
    """Return a mobile number (one SMS can reach) in E.164 (+33612345678); French numbers may be written
    nationally."""
    import phonenumbers

    number = _parse_phone(value, region)
    mobile_types = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
    if phonenumbers.number_type(number) not in mobile_types:
        raise ValidationError(_("is not a mobile number (SMS cannot reach it)"), code="not_mobile")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def validate_email_address(value: str) -> str:
    """Return the e-mail address lower-cased, after a syntax check (no DNS lookup)."""
    from email_validator import EmailNotValidError
    from email_validator import validate_email as _validate_email

    try:
        result = _validate_email(str(value).strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationError(
            _("is not a valid e-mail address: %(reason)s") % {"reason": exc}, code="invalid"
        ) from None
    return str(result.normalized).lower()


# First two digits of French postcodes: the department (20 for Corsica), 97 and 98 overseas (and Monaco),
# 00 for the armed forces' postal sectors. 96 and 99 are not used.
POSTCODE_PREFIXES = frozenset({f"{n:02d}" for n in range(96)} | {"97", "98"})


def validate_postcode(value: str) -> str:
    """A French postcode: 5 digits (spaces ignored), starting with a department, 97 or 98."""
    code = remove_spaces(value)
    if not (len(code) == 5 and _digits(code)):
        raise ValidationError(_("must have 5 digits"), code="format")
    if code[:2] not in POSTCODE_PREFIXES:
        raise ValidationError(_("no French postcode starts with %(d)s") % {"d": code[:2]}, code="department")
    return code


def validate_insee_code(value: str) -> str:
    """An INSEE place code (commune, or 99 + country for persons born abroad): 5 characters, the department (2
    digits, 2A or 2B; 3 digits overseas) then the commune. Returned upper-cased, without spaces."""
    code = compact_place(value)
    department = code[:2]
    if not (len(code) == 5 and _digits(code[2:]) and (_digits(department) or department in {"2A", "2B"})):
        raise ValidationError(
            _("must have 5 characters: the department (2 digits, 2A or 2B) then the commune"), code="format"
        )
    _split_place(code)
    return code


def validate_time_zone(value: str) -> None:
    """An IANA time zone known to zoneinfo ("Europe/Paris", "Indian/Mayotte")."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(_("unknown time zone"), code="invalid") from None
