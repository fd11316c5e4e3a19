"""Business rules of the referential: persons, contact points, preferences, consents, employers, professionals."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from omniguichet.core.actors import Actor, Channel, scope_to_caisse
from omniguichet.core.errors import Conflict, Forbidden, InvalidInput, NotFound, collect
from omniguichet.core.text import check_text
from omniguichet.referential import calendars, validators
from omniguichet.referential.models import (
    Caisse,
    ChannelPreference,
    Closure,
    Consent,
    ConsentPurpose,
    ContactPoint,
    ContactPointKind,
    Employer,
    OpeningPeriod,
    Person,
    PersonStatus,
    Profession,
    Professional,
    Sex,
)


def visible_persons(*, actor: Actor):
    return scope_to_caisse(Person.objects.all(), actor)


def get_person(*, actor: Actor, person_id: int) -> Person:
    """The person if the actor may see them; another caisse's person is reported as not found, like a missing one."""
    person = visible_persons(actor=actor).select_related("caisse").filter(pk=person_id).first()
    if person is None:
        raise NotFound(_("no such person"))
    return person


def _require_caisse_access(actor: Actor, caisse_code: str) -> None:
    if not actor.sees_all_caisses and actor.caisse_code != caisse_code:
        raise Forbidden(_("you may only act for your own caisse"), fields={"caisse": _("not your caisse")})


def _find_caisse(fields: dict[str, str], code: str) -> Caisse | None:
    caisse = None
    if check_text(fields, "caisse", code, 3) is not None:
        caisse = Caisse.objects.filter(pk=code).first()
        if caisse is None:
            fields["caisse"] = _("unknown caisse %(code)s") % {"code": code}
    return caisse


def _check_choice(fields: dict[str, str], name: str, value: str, allowed: list[str]) -> None:
    if value not in allowed:
        fields[name] = _("must be one of %(choices)s") % {"choices": ", ".join(allowed)}


def create_person(
    *,
    actor: Actor,
    channel: Channel,
    nir: str,
    given_names: str,
    family_name: str,
    birth_date: dt.date,
    sex: str,
    birth_place: str,
    caisse_code: str,
    usage_name: str = "",
    address_line: str = "",
    postcode: str = "",
    city: str = "",
    status: str = PersonStatus.OTHER,
    parent_id: int | None = None,
    rights_from: dt.date | None = None,
    rights_to: dt.date | None = None,
) -> Person:
    """Register an insured person after checking every field; nothing is written when one field is refused."""
    fields: dict[str, str] = {}
    clean_nir = collect(fields, "nir", validators.validate_nir, nir)
    for name, value, max_length in (
        ("given_names", given_names, 150),
        ("family_name", family_name, 100),
        ("usage_name", usage_name, 100),
        ("address_line", address_line, 200),
        ("city", city, 100),
    ):
        check_text(fields, name, value, max_length)
    clean_place = collect(fields, "birth_place", validators.validate_insee_code, birth_place)
    for name, value in (("given_names", given_names), ("family_name", family_name)):
        if name not in fields and not value.strip():
            fields[name] = _("is required")
    _check_choice(fields, "sex", sex, Sex.values)
    _check_choice(fields, "status", status, PersonStatus.values)
    clean_postcode = collect(fields, "postcode", validators.validate_postcode, postcode) if postcode else ""
    caisse = _find_caisse(fields, caisse_code)
    # The rules spanning several fields: the same function as Person.clean(), so the admin refuses the same.
    for name, reason in validators.person_errors(
        nir=clean_nir,
        sex=sex,
        birth_date=birth_date,
        birth_place=clean_place or "",
        rights_from=rights_from,
        rights_to=rights_to,
    ).items():
        fields.setdefault(name, reason)
    parent = None
    if parent_id is not None:
        parent = visible_persons(actor=actor).filter(pk=parent_id).first()
        if parent is None:
            fields["parent_id"] = _("no such person")
    if fields:
        raise InvalidInput.from_fields(fields)
    assert caisse is not None and clean_nir is not None and clean_place is not None
    _require_caisse_access(actor, caisse.code)
    person = Person(
        nir=clean_nir,
        given_names=" ".join(given_names.split()),
        family_name=" ".join(family_name.split()),
        usage_name=" ".join(usage_name.split()),
        birth_date=birth_date,
        sex=sex,
        birth_place=clean_place,
        address_line=address_line.strip(),
        postcode=clean_postcode or "",
        city=city.strip(),
        caisse=caisse,
        status=status,
        parent=parent,
        rights_from=rights_from,
        rights_to=rights_to,
    )
    try:
        with transaction.atomic():
            person.save()
    except IntegrityError:
        if Person.objects.filter(nir=clean_nir).exists():
            raise Conflict(
                _("a person with this NIR already exists"), fields={"nir": _("already registered")}
            ) from None
        raise
    return person


def normalise_contact_point(kind: str, value: str) -> str:
    if kind == ContactPointKind.EMAIL:
        return validators.validate_email_address(value)
    if kind == ContactPointKind.MOBILE:
        return validators.validate_mobile_phone(value)
    raise InvalidInput.from_fields(
        {"kind": _("must be one of %(c)s") % {"c": ", ".join(ContactPointKind.values)}}
    )


def add_contact_point(
    *, actor: Actor, channel: Channel, person: Person, kind: str, value: str, verified: bool = False
) -> ContactPoint:
    """Attach an e-mail or mobile number to a person. A verified one must not belong to anybody else."""
    fields: dict[str, str] = {}
    clean = collect(fields, "value", lambda v: normalise_contact_point(kind, v), value)
    if fields:
        raise InvalidInput.from_fields(fields)
    point = ContactPoint(
        person=person,
        kind=kind,
        value=clean,
        verified=verified,
        verified_at=timezone.now() if verified else None,
    )
    try:
        with transaction.atomic():
            point.save()
    except IntegrityError:
        raise _contact_point_conflict(person, kind, clean) from None
    return point


def verify_contact_point(*, actor: Actor, channel: Channel, point: ContactPoint) -> ContactPoint:
    """Mark a contact point verified (after a code was confirmed); refused when another account holds it."""
    if point.verified:
        return point
    point.verified = True
    point.verified_at = timezone.now()
    try:
        with transaction.atomic():
            point.save(update_fields=["verified", "verified_at"])
    except IntegrityError:
        point.verified, point.verified_at = False, None
        raise _contact_point_conflict(point.person, point.kind, point.value) from None
    return point


def _contact_point_conflict(person: Person, kind: str, value: str) -> Conflict:
    if ContactPoint.objects.filter(person=person, kind=kind, value=value).exists():
        return Conflict(
            _("this person already has this contact point"), fields={"value": _("already recorded")}
        )
    return Conflict(
        _("this verified contact point already belongs to another account"),
        fields={"value": _("already verified for another account")},
    )


def set_channel_preference(
    *, actor: Actor, channel: Channel, person: Person, **choices: Any
) -> ChannelPreference:
    allowed = {"sms_allowed", "email_allowed", "paper_allowed", "e_documents", "preferred_channel"}
    unknown = set(choices) - allowed
    if unknown:
        raise InvalidInput.from_fields({name: _("unknown preference") for name in sorted(unknown)})
    preference, _created = ChannelPreference.objects.update_or_create(person=person, defaults=choices)
    return preference


def record_consent(*, actor: Actor, channel: Channel, person: Person, purpose: str, granted: bool) -> Consent:
    fields: dict[str, str] = {}
    _check_choice(fields, "purpose", purpose, ConsentPurpose.values)
    if fields:
        raise InvalidInput.from_fields(fields)
    consent, _created = Consent.objects.update_or_create(
        person=person,
        purpose=purpose,
        defaults={"granted": granted, "channel": channel, "decided_at": timezone.now()},
    )
    return consent


def create_employer(*, actor: Actor, channel: Channel, siret: str, name: str, caisse_code: str) -> Employer:
    fields: dict[str, str] = {}
    clean = collect(fields, "siret", validators.validate_siret, siret)
    if check_text(fields, "name", name, 200) is not None and not name.strip():
        fields["name"] = _("is required")
    _find_caisse(fields, caisse_code)
    if fields:
        raise InvalidInput.from_fields(fields)
    _require_caisse_access(actor, caisse_code)
    try:
        with transaction.atomic():
            return Employer.objects.create(siret=clean, name=name.strip(), caisse_id=caisse_code)
    except IntegrityError:
        raise Conflict(
            _("this SIRET is already registered"), fields={"siret": _("already registered")}
        ) from None


def create_professional(
    *,
    actor: Actor,
    channel: Channel,
    rpps: str,
    given_names: str,
    family_name: str,
    profession: str,
    caisse_code: str,
) -> Professional:
    fields: dict[str, str] = {}
    clean = collect(fields, "rpps", validators.validate_rpps, rpps)
    _check_choice(fields, "profession", profession, Profession.values)
    check_text(fields, "given_names", given_names, 150)
    if check_text(fields, "family_name", family_name, 100) is not None and not family_name.strip():
        fields["family_name"] = _("is required")
    _find_caisse(fields, caisse_code)
    if fields:
        raise InvalidInput.from_fields(fields)
    _require_caisse_access(actor, caisse_code)
    try:
        with transaction.atomic():
            return Professional.objects.create(
                rpps=clean,
                given_names=given_names.strip(),
                family_name=family_name.strip(),
                profession=profession,
                caisse_id=caisse_code,
            )
    except IntegrityError:
        raise Conflict(
            _("this RPPS is already registered"), fields={"rpps": _("already registered")}
        ) from None


def referential_figures() -> dict[str, int]:
    """Sizes of the referential shown on the home page. Counting millions of rows on every visit would be
    wasteful: cached a minute."""
    from django.core.cache import cache

    def count() -> dict[str, int]:
        return {
            "caisses": Caisse.objects.count(),
            "persons": Person.objects.count(),
            "employers": Employer.objects.count(),
            "professionals": Professional.objects.count(),
        }

    figures: dict[str, int] = cache.get_or_set("referential_figures", count, timeout=60)  # type: ignore[assignment]
    return figures


def search_term_variants(term: str) -> list[str]:
    """Forms under which a typed term is stored: the NIR without spaces, a phone in E.164, an e-mail lower-cased,
    a name folded (no accents, lower case)."""
    from omniguichet.core.text import fold

    term = term.strip()
    if not term:
        return []
    variants = [fold(term)]
    compact = "".join(term.split()).upper()
    if len(compact) == 15 and compact[:5].isdigit():
        variants.append(compact)
    if "@" in term:
        variants.append(term.lower())
    else:
        with contextlib.suppress(ValidationError):  # not a phone number: nothing to add
            variants.append(validators.validate_mobile_phone(term))
    return list(dict.fromkeys(variants))


def caisse_rows() -> list[dict[str, str]]:
    """The 101 local funds shipped with the package (referential/data/caisses.csv)."""
    import csv
    from importlib.resources import files

    text = files("omniguichet.referential").joinpath("data/caisses.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def load_caisses(caisse_model: Any = Caisse) -> int:
    """Create or update the caisses from the shipped data; returns how many there are. Idempotent.
    The model is a parameter so that the data migration can pass its historical model."""
    rows = caisse_rows()
    existing = {c.code: c for c in caisse_model.objects.all()}
    to_create, to_update = [], []
    for row in rows:
        caisse = existing.get(row["code"])
        if caisse is None:
            to_create.append(caisse_model(**row))
        elif any(getattr(caisse, k) != v for k, v in row.items()):
            for k, v in row.items():
                setattr(caisse, k, v)
            to_update.append(caisse)
    caisse_model.objects.bulk_create(to_create)
    caisse_model.objects.bulk_update(to_update, ["name", "department", "department_name", "city"])
    return len(rows)


# --- calendars (docs/deadlines.md) -------------------------------------------------------------------------------
# A caisse without any opening period (one created after the seeding migration) has these.
DEFAULT_OPENING = ((dt.time(8, 30), dt.time(12, 0)), (dt.time(13, 30), dt.time(17, 0)))


def caisse_calendar(caisse: Caisse | str) -> calendars.Calendar:
    """The caisse's calendar (opening periods, its department's holidays, its closures), built
    from its rows once per process and kept until they change (see referential.calendars.CACHE_SECONDS)."""
    import time

    code = caisse if isinstance(caisse, str) else caisse.pk
    now = time.monotonic()
    found = calendars.cached(code, now)
    if found is not None:
        return found
    row = caisse if isinstance(caisse, Caisse) else Caisse.objects.get(pk=code)
    periods = list(OpeningPeriod.objects.filter(caisse_id=code).values_list("weekday", "opens", "closes"))
    if not periods:
        periods = [(weekday, opens, closes) for weekday in range(5) for opens, closes in DEFAULT_OPENING]
    closures = Closure.objects.filter(caisse_id=code).values_list("date", flat=True)
    calendar = calendars.Calendar.build(
        department=row.department, periods=periods, closures=closures, tz_name=row.time_zone
    )
    calendars.remember(code, calendar, now)
    return calendar


def person_with_verified_contact(*, kind: str, value: str) -> Person | None:
    """The one person whose verified contact point this is (the value normalised as the referential does), or
    None: nobody, several (the partial unique index forbids it, but then nobody is the safe answer), or a value
    that is not valid. The way inbound channels identify who writes or calls."""
    try:
        clean = normalise_contact_point(kind, value)
    except (InvalidInput, ValidationError):
        return None
    found = list(
        Person.objects.filter(
            contact_points__kind=kind, contact_points__value=clean, contact_points__verified=True
        )
        .select_related("caisse")
        .distinct()[:2]
    )
    return found[0] if len(found) == 1 else None


def caisse_exists(code: str) -> bool:
    return Caisse.objects.filter(pk=code).exists()
