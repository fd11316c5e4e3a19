"""The population: persons and households, employers, professionals, demo staff logins and their second factor,
generated in a forked process while the main process writes."""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone
from faker.providers.address.fr_FR import Provider as AddressProvider
from faker.providers.company.fr_FR import Provider as CompanyProvider
from faker.providers.person.fr_FR import Provider as PersonProvider
from stdnum import luhn

from omniguichet.accounts.models import Account
from omniguichet.core.db import (
    bulk_insert_rows,
    fast_bulk_load,
    reset_id_sequence,
    secondary_indexes_deferred,
)
from omniguichet.core.errors import Conflict, InvalidInput
from omniguichet.core.text import fold
from omniguichet.referential.models import (
    Caisse,
    ChannelPreference,
    Consent,
    ContactPoint,
    Employer,
    Person,
    Profession,
    Professional,
    Role,
    User,
)
from omniguichet.referential.services import load_caisses
from omniguichet.referential.validators import nir_key

DEMO_AGENT_PASSWORD = "demo-agent-2026"


DEMO_SUPERVISOR_PASSWORD = "demo-supervisor-2026"


# trying the demo can log in: `omniguichet totp --user agent-751` prints the current code, or an authenticator app
# given the base32 key N5WW42LHOVUWG2DFOQWWIZLNN4WWWZLZ computes it. Never for a real deployment.
DEMO_TOTP_KEY_HEX = "6f6d6e69677569636865742d64656d6f2d6b6579"  # b"omniguichet-demo-key"


ACCOUNT_RATE = 0.77  # share of adults with an online account (77% in 2021)


ACCOUNTS_SINCE = dt.date(2008, 1, 1)  # the online account opened at the end of 2007


EMAIL_DOMAINS = ["orange.example", "gmail.example", "laposte.example", "free.example", "sfr.example"]


STREET_TYPES = ["rue", "rue", "rue", "avenue", "boulevard", "place", "chemin", "allée", "impasse"]


BIRTH_COUNTRIES = ["352", "350", "351", "139", "134", "127", "109", "131", "132", "243", "341", "335", "406"]


OVERSEAS = ["971", "972", "973", "974", "976"]


MOBILE_BLOCKS = [*range(600, 639), *range(640, 690), *range(730, 800)]


MOBILE_SPACE = len(MOBILE_BLOCKS) * 1_000_000


PERSON_COLUMNS = [
    "id",
    "nir",
    "given_names",
    "family_name",
    "usage_name",
    "family_name_folded",
    "usage_name_folded",
    "birth_date",
    "sex",
    "birth_place",
    "address_line",
    "postcode",
    "city",
    "caisse_id",
    "status",
    "parent_id",
    "rights_from",
    "rights_to",
    "created_at",
    "updated_at",
]


CONTACT_POINT_COLUMNS = ["person_id", "kind", "value", "verified", "verified_at", "created_at"]


ACCOUNT_COLUMNS = ["person_id", "opened_at", "status"]


PREFERENCE_COLUMNS = [
    "person_id",
    "sms_allowed",
    "email_allowed",
    "paper_allowed",
    "e_documents",
    "preferred_channel",
    "updated_at",
]


CONSENT_COLUMNS = ["person_id", "purpose", "granted", "channel", "decided_at"]


T = TypeVar("T")


@dataclass
class SeedReport:
    persons: int = 0
    dependants: int = 0
    accounts: int = 0
    contact_points: int = 0
    preferences: int = 0
    consents: int = 0
    employers: int = 0
    professionals: int = 0
    users: int = 0
    seconds: float = 0.0


@dataclass
class _Chunk:
    persons: list[tuple] = field(default_factory=list)
    contact_points: list[tuple] = field(default_factory=list)
    accounts: list[tuple] = field(default_factory=list)
    preferences: list[tuple] = field(default_factory=list)
    consents: list[tuple] = field(default_factory=list)
    dependants: int = 0


def _folded_pool(names: tuple[str, ...] | list[str]) -> list[tuple[str, str]]:
    return [(name, fold(name)) for name in dict.fromkeys(names)]


class PopulationGenerator:
    """Generates households from one random stream; the database is only written by `seed_population`."""

    def __init__(self, *, seed: int, reference_date: dt.date, caisses: list[Caisse], used_nirs: set[str]):
        self.rng = random.Random(seed)
        self.today = reference_date
        self.caisses = [(c.code, c.department, c.city) for c in caisses]
        self.metro_departments = sorted({c.department for c in caisses if len(c.department) == 2})
        self.used = used_nirs  # first 13 characters of every NIR already taken
        self.male_names = list(dict.fromkeys(PersonProvider.first_names_male))
        self.female_names = list(dict.fromkeys(PersonProvider.first_names_female))
        self.last_names = _folded_pool(PersonProvider.last_names)
        self.street_names = [*PersonProvider.last_names[:150], *AddressProvider.street_prefixes]
        ops = connection.ops
        self.adapt_date: Callable = ops.adapt_datefield_value
        self.adapt_datetime: Callable = ops.adapt_datetimefield_value
        self.now = self.adapt_datetime(timezone.now())

    # --- identity ------------------------------------------------------------------------------------------
    def _birth_place(self, year: int) -> tuple[str, str]:
        """(the 5 characters of the NIR after the month, the INSEE birth-place code)."""
        r = self.rng.random()
        if r < 0.86:
            dept = self.metro_departments[int(self.rng.random() * len(self.metro_departments))]
            place = f"{dept}{1 + int(self.rng.random() * 400):03d}"
            # Corsica was one department (20) until 1976: older NIRs say 20.
            return (f"20{place[2:]}" if dept in ("2A", "2B") and year < 1976 else place), place
        if r < 0.90:
            place = f"{OVERSEAS[int(self.rng.random() * len(OVERSEAS))]}{1 + int(self.rng.random() * 30):02d}"
            return place, place
        place = f"99{BIRTH_COUNTRIES[int(self.rng.random() * len(BIRTH_COUNTRIES))]}"
        return place, place

    def _nir(self, sex: str, birth: dt.date) -> tuple[str, str]:
        place_in_nir, place = self._birth_place(birth.year)
        month = f"{birth.month:02d}"
        if place.startswith("99") and self.rng.random() < 0.02:
            month = self.rng.choice(["20", "30", "35", "41", "50"])  # civil status without a known month
        head = f"{'1' if sex == 'M' else '2'}{birth.year % 100:02d}{month}{place_in_nir}"
        while True:
            first13 = f"{head}{1 + int(self.rng.random() * 999):03d}"
            if first13 not in self.used:
                self.used.add(first13)
                return first13 + nir_key(first13), place

    def _birth_date(self, min_age: int, max_age: int) -> dt.date:
        days = int((min_age + self.rng.random() * (max_age - min_age)) * 365.25)
        return self.today - dt.timedelta(days=days)

    def _given_names(self, sex: str) -> str:
        pool = self.male_names if sex == "M" else self.female_names
        count = 1 + (self.rng.random() < 0.55) + (self.rng.random() < 0.2)
        return " ".join(pool[int(self.rng.random() * len(pool))] for _ in range(count))

    def _status(self, age: int) -> str:
        r = self.rng.random()
        if age < 18:
            return "other"
        if age < 26:
            return "student" if r < 0.55 else "employee" if r < 0.85 else "unemployed"
        if age >= 63:
            return "retired" if r < 0.9 else "employee"
        return (
            "employee" if r < 0.72 else "self_employed" if r < 0.84 else "unemployed" if r < 0.93 else "other"
        )

    def _person_row(
        self,
        pid: int,
        *,
        sex: str,
        birth: dt.date,
        family: tuple[str, str],
        usage: tuple[str, str],
        address: tuple[str, str, str],
        caisse: str,
        status: str,
        parent_id: int | None,
    ) -> tuple:
        nir, place = self._nir(sex, birth)
        rights_from = max(birth, dt.date(1990, 1, 1))
        rights_to = None
        if self.rng.random() < 0.03:  # rights closed recently (moved abroad, changed scheme)
            rights_to = self.today - dt.timedelta(days=int(self.rng.random() * 700))
            rights_to = max(rights_to, rights_from)
        return (
            pid,
            nir,
            self._given_names(sex),
            family[0],
            usage[0],
            family[1],
            usage[1],
            self.adapt_date(birth),
            sex,
            place,
            address[0],
            address[1],
            address[2],
            caisse,
            status,
            parent_id,
            self.adapt_date(rights_from),
            self.adapt_date(rights_to) if rights_to else None,
            self.now,
            self.now,
        )

    def _address(self, caisse: tuple[str, str, str]) -> tuple[str, str, str]:
        _code, dept, city = caisse
        street = self.street_names[int(self.rng.random() * len(self.street_names))]
        kind = STREET_TYPES[int(self.rng.random() * len(STREET_TYPES))]
        line = f"{1 + int(self.rng.random() * 180)} {kind} {street}"
        if dept in ("2A", "2B"):
            postcode = f"20{(0 if dept == '2A' else 200) + int(self.rng.random() * 190):03d}"
        elif len(dept) == 3:
            postcode = f"{dept}{int(self.rng.random() * 90) + 10:02d}"
        else:
            postcode = f"{dept}{int(self.rng.random() * 100) * 10:03d}"
        return line, postcode, city

    # --- online side ---------------------------------------------------------------------------------------
    def _online(self, chunk: _Chunk, pid: int, birth: dt.date, given: str, family_folded: str) -> str | None:
        """Account, contact points, preferences and consents of an adult. Returns their mobile, if any."""
        rng = self.rng
        has_account = rng.random() < ACCOUNT_RATE
        opened = None
        if has_account:
            earliest = max(ACCOUNTS_SINCE, birth + dt.timedelta(days=18 * 366))
            span = max((self.today - earliest).days, 1)
            # Account openings accelerated over the years: later dates are more likely.
            day = earliest + dt.timedelta(days=int(span * rng.random() ** 0.6))
            opened = self.adapt_datetime(
                dt.datetime.combine(day, dt.time(8 + int(rng.random() * 13), int(rng.random() * 60)), dt.UTC)
            )
            chunk.accounts.append((pid, opened, "active"))
            if rng.random() < 0.35:
                chunk.preferences.append(
                    (pid, rng.random() < 0.9, True, rng.random() < 0.5, True, "account", self.now)
                )
            if rng.random() < 0.3:
                chunk.consents.append((pid, "campaigns", rng.random() < 0.7, "web", opened))
        mobile = None
        if rng.random() < (0.95 if has_account else 0.7):
            # An affine map of the person id (48271 is prime to the size) is a bijection: mobiles never collide.
            k = (pid * 48271 + 12345) % MOBILE_SPACE
            mobile = f"+33{MOBILE_BLOCKS[k // 1_000_000]}{k % 1_000_000:06d}"
            chunk.contact_points.append(
                (pid, "mobile", mobile, has_account, opened if has_account else None, self.now)
            )
        if rng.random() < (0.9 if has_account else 0.4):
            first = fold(given.split(" ")[0]).replace(" ", "-")
            email = f"{first}.{family_folded.replace(' ', '-')}.{pid:x}@{rng.choice(EMAIL_DOMAINS)}"
            verified = has_account and rng.random() < 0.92
            chunk.contact_points.append(
                (pid, "email", email, verified, opened if verified else None, self.now)
            )
        return mobile

    # --- households ----------------------------------------------------------------------------------------
    def chunks(self, *, count: int, first_id: int, chunk_size: int) -> Iterator[_Chunk]:
        rng = self.rng
        pid = first_id
        remaining = count
        chunk = _Chunk()
        while remaining > 0:
            caisse = self.caisses[int(rng.random() * len(self.caisses))]
            sex = "F" if rng.random() < 0.52 else "M"
            birth = self._birth_date(18, 96)
            age = (self.today - birth).days // 365
            family = self.last_names[int(rng.random() * len(self.last_names))]
            usage = ("", "")
            if sex == "F" and age > 25 and rng.random() < 0.35:
                usage = self.last_names[int(rng.random() * len(self.last_names))]
            address = self._address(caisse)
            row = self._person_row(
                pid,
                sex=sex,
                birth=birth,
                family=family,
                usage=usage,
                address=address,
                caisse=caisse[0],
                status=self._status(age),
                parent_id=None,
            )
            chunk.persons.append(row)
            mobile = self._online(chunk, pid, birth, row[2], family[1])
            parent_id = pid
            pid += 1
            remaining -= 1
            children = 0
            if 22 <= age <= 58 and rng.random() < 0.45:
                children = min(1 + int(rng.random() * 3), remaining)
            for _ in range(children):
                child_sex = "F" if rng.random() < 0.49 else "M"
                child_birth = self._birth_date(0, min(17, age - 18))
                chunk.persons.append(
                    self._person_row(
                        pid,
                        sex=child_sex,
                        birth=child_birth,
                        family=family,
                        usage=("", ""),
                        address=address,
                        caisse=caisse[0],
                        status="other",
                        parent_id=parent_id,
                    )
                )
                if mobile and rng.random() < 0.1:
                    # Families share phones: an unverified copy of the parent's number on the child's record.
                    chunk.contact_points.append((pid, "mobile", mobile, False, None, self.now))
                chunk.dependants += 1
                pid += 1
                remaining -= 1
            if len(chunk.persons) >= chunk_size:
                yield chunk
                chunk = _Chunk()
        if chunk.persons:
            yield chunk


def _produce(make_chunks: Callable[[], Iterable[Any]], queue) -> None:
    import signal

    # A forked child inherits the parent's handlers (e.g. the worker's graceful SIGTERM); the parent's
    # terminate() must end it at once.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        for chunk in make_chunks():
            queue.put(chunk)
        queue.put(None)
    except BaseException as exc:  # the parent re-raises it
        queue.put(exc)


def _in_background(make_chunks: Callable[[], Iterable[T]]) -> Generator[T, None, None]:
    """Generate in a forked process while this one inserts: the two halves of a seed take about the same time
    and this machine has two cores. Falls back to generating inline where fork is not available."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        yield from make_chunks()
        return
    context = multiprocessing.get_context("fork")
    queue = context.Queue(maxsize=4)
    # The child only computes; it never touches the inherited database connection.
    process = context.Process(target=_produce, args=(make_chunks, queue), daemon=True)
    process.start()
    try:
        while (item := queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        process.terminate()
        process.join()


def _siret(rng: random.Random) -> str:
    while True:
        # Both the SIREN (first 9 digits) and the whole SIRET carry a Luhn check digit.
        siren8 = f"{rng.randrange(10**7, 10**8):08d}"
        siren = siren8 + luhn.calc_check_digit(siren8)
        body = f"{siren}{rng.randrange(1, 10**4):04d}"
        if siren != "356000000":  # La Poste's establishments follow another rule
            return body + luhn.calc_check_digit(body)


def _rpps(rng: random.Random) -> str:
    body = f"1{rng.randrange(10**9):09d}"
    return body + luhn.calc_check_digit(body)


def _employer_rows(rng: random.Random, count: int, caisses: list[Caisse]) -> list[Employer]:
    suffixes = CompanyProvider.company_suffixes
    names = PersonProvider.last_names
    seen: set[str] = set()
    rows: list[Employer] = []
    while len(rows) < count:
        siret = _siret(rng)
        if siret in seen:
            continue
        seen.add(siret)
        caisse = caisses[rng.randrange(len(caisses))]
        name = f"{rng.choice(names)} {rng.choice(['et Fils', 'Frères', 'Services', 'Transports', 'Santé', 'Bâtiment', 'Conseil'])} {rng.choice(suffixes)}"  # noqa: E501
        rows.append(Employer(siret=siret, name=name, name_folded=fold(name), caisse=caisse, city=caisse.city))
    return rows


def _professional_rows(rng: random.Random, count: int, caisses: list[Caisse]) -> list[Professional]:
    weights = {
        Profession.GENERAL_PRACTITIONER: 25,
        Profession.SPECIALIST: 20,
        Profession.NURSE: 25,
        Profession.PHARMACIST: 10,
        Profession.PHYSIOTHERAPIST: 10,
        Profession.DENTIST: 6,
        Profession.MIDWIFE: 3,
        Profession.OTHER: 1,
    }
    professions, cum = list(weights), list(weights.values())
    seen: set[str] = set()
    rows: list[Professional] = []
    while len(rows) < count:
        rpps = _rpps(rng)
        if rpps in seen:
            continue
        seen.add(rpps)
        sex_pool = (
            PersonProvider.first_names_female if rng.random() < 0.55 else PersonProvider.first_names_male
        )
        family = rng.choice(PersonProvider.last_names)
        rows.append(
            Professional(
                rpps=rpps,
                given_names=rng.choice(sex_pool),
                family_name=family,
                family_name_folded=fold(family),
                profession=rng.choices(professions, cum)[0],
                caisse=caisses[rng.randrange(len(caisses))],
            )
        )
    return rows


def ensure_demo_users() -> int:
    """agent-<code> for every caisse (a manager: every local role of the caisse) and one national supervisor.
    Demo passwords are documented in the README. Returns how many users were created."""
    # One argon2 hash per password (about 0.1 s each) instead of one per user: these are demo accounts.
    agent_hash = make_password(DEMO_AGENT_PASSWORD)
    existing = set(User.objects.filter(username__startswith="agent-").values_list("username", flat=True))
    new_users = [
        User(
            username=f"agent-{c.code}",
            password=agent_hash,
            caisse=c,
            role=Role.MANAGER,
            first_name="Agent",
            last_name=c.name,
        )
        for c in Caisse.objects.all()
        if f"agent-{c.code}" not in existing
    ]
    if not User.objects.filter(username="supervisor").exists():
        new_users.append(
            User(
                username="supervisor",
                password=make_password(DEMO_SUPERVISOR_PASSWORD),
                role=Role.NATIONAL_SUPERVISOR,
                is_staff=True,
                is_superuser=True,
                first_name="Superviseur",
                last_name="national",
            )
        )
    User.objects.bulk_create(new_users)
    ensure_demo_second_factor()
    return len(new_users)


def ensure_demo_second_factor() -> None:
    """Every demo staff login without a second factor gets the demo's TOTP device (DEMO_TOTP_KEY_HEX). Also run on
    a demo database seeded before the second factor existed (`seed --if-empty`)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    staff = User.objects.filter(Q(username__startswith="agent-") | Q(username="supervisor")).exclude(
        pk__in=TOTPDevice.objects.values("user_id")
    )
    TOTPDevice.objects.bulk_create(
        TOTPDevice(user=user, name="demo", key=DEMO_TOTP_KEY_HEX, confirmed=True) for user in staff
    )


def seed_population(
    *,
    persons: int,
    seed: int = 42,
    append: bool = False,
    employers: int | None = None,
    professionals: int | None = None,
    reference_date: dt.date | None = None,
    chunk_size: int = 20_000,
    progress: Callable[[int], None] | None = None,
) -> SeedReport:
    """Create a deterministic synthetic population. Refuses a database that already has persons unless append."""
    import time

    if persons < 0:
        raise InvalidInput.from_fields({"persons": "must be zero or more"})
    if Person.objects.exists() and not append:
        raise Conflict(
            "the database already has persons: use --append to add more, or start from an empty database",
            fields={"persons": "database not empty"},
        )
    started = time.perf_counter()
    report = SeedReport()
    load_caisses()
    caisses = list(Caisse.objects.order_by("code"))
    report.users = ensure_demo_users()
    used = {nir[:13] for nir in Person.objects.values_list("nir", flat=True)} if append else set()
    generator = PopulationGenerator(
        seed=seed, reference_date=reference_date or timezone.localdate(), caisses=caisses, used_nirs=used
    )
    first_id = (Person.objects.aggregate(m=Max("id"))["m"] or 0) + 1
    loaded_models = [Person, Account, ContactPoint, ChannelPreference, Consent]
    chunks = _in_background(lambda: generator.chunks(count=persons, first_id=first_id, chunk_size=chunk_size))

    def write(chunk: _Chunk) -> None:
        # One transaction per chunk when appending: an interrupted seed keeps whole households only.
        with transaction.atomic():
            bulk_insert_rows(Person, PERSON_COLUMNS, chunk.persons)
            bulk_insert_rows(Account, ACCOUNT_COLUMNS, chunk.accounts)
            bulk_insert_rows(ContactPoint, CONTACT_POINT_COLUMNS, chunk.contact_points)
            bulk_insert_rows(ChannelPreference, PREFERENCE_COLUMNS, chunk.preferences)
            bulk_insert_rows(Consent, CONSENT_COLUMNS, chunk.consents)
        report.persons += len(chunk.persons)
        report.dependants += chunk.dependants
        report.accounts += len(chunk.accounts)
        report.contact_points += len(chunk.contact_points)
        report.preferences += len(chunk.preferences)
        report.consents += len(chunk.consents)
        if progress:
            progress(len(chunk.persons))

    def load() -> None:
        with contextlib.closing(chunks):  # stops the generating process whatever happens
            for chunk in chunks:
                write(chunk)

    with fast_bulk_load():
        if any(m._default_manager.exists() for m in loaded_models):
            load()
        else:
            # Empty tables: load all or nothing, and build the secondary indexes once at the end.
            with transaction.atomic(), secondary_indexes_deferred(loaded_models):
                load()
        reset_id_sequence(Person)
        side_rng = random.Random(seed * 7919 + 1)
        employer_rows = _employer_rows(side_rng, persons // 200 if employers is None else employers, caisses)
        existing_sirets = set(Employer.objects.values_list("siret", flat=True))
        Employer.objects.bulk_create(
            [e for e in employer_rows if e.siret not in existing_sirets], batch_size=5000
        )
        report.employers = len(employer_rows)
        prof_rows = _professional_rows(
            side_rng, persons // 300 if professionals is None else professionals, caisses
        )
        existing_rpps = set(Professional.objects.values_list("rpps", flat=True))
        Professional.objects.bulk_create(
            [p for p in prof_rows if p.rpps not in existing_rpps], batch_size=5000
        )
        report.professionals = len(prof_rows)
    report.seconds = time.perf_counter() - started
    return report
