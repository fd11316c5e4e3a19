"""The synthetic contact history of a population, on every channel, loaded in bulk."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import random
from collections.abc import Callable, Iterator, Sequence

from django.db import connection, transaction
from django.utils import timezone

from omniguichet.core.db import (
    bulk_insert_rows,
    fast_bulk_load,
    secondary_indexes_deferred,
)
from omniguichet.core.errors import InvalidInput
from omniguichet.crm.models import Contact, Motive
from omniguichet.crm.services import load_motives
from omniguichet.demo.services.population import _in_background
from omniguichet.referential.models import (
    Person,
)

CONTACT_COLUMNS = [
    "person_id",
    "caisse_id",
    "channel",
    "direction",
    "motive_id",
    "started_at",
    "actor_kind",
    "outcome",
    "note",
    "answered",
    "responded_at",
    "on_appointment",
    "waited_seconds",
    "source",
    "created_at",
]


CONTACT_SOURCE = "demo"


CONTACT_HISTORY_DAYS = 730  # two years before the reference date


CHANNEL_MIX = {
    "web": 0.45,
    "app": 0.20,
    "phone": 0.12,
    "email": 0.06,
    "reception": 0.05,
    "kiosk": 0.02,
    "sms": 0.05,
    "push": 0.03,
    "letter": 0.02,
}


OFFLINE_CHANNEL_MIX = {
    "phone": 0.38,
    "reception": 0.12,
    "email": 0.12,
    "kiosk": 0.08,
    "sms": 0.18,
    "letter": 0.12,
}


OUTBOUND_CHANNELS = ("sms", "push", "letter")


SELF_SERVICE = ("web", "app", "kiosk")


# are what people fetch themselves online; agents get the payments, daily allowances, cards and complaints.
MOTIVE_WEIGHTS = {
    "attestation_droits": (30, 4, 8),
    "releve_remboursements": (25, 3, 12),
    "carte_europeenne": (8, 3, 4),
    "attestation_ij": (8, 4, 2),
    "changement_adresse": (7, 4, 2),
    "changement_rib": (6, 5, 2),
    "ij_suivi": (4, 14, 10),
    "remboursement": (6, 22, 30),
    "carte_vitale": (3, 10, 10),
    "css": (2, 9, 10),
    "reclamation": (0.5, 8, 0),
    "autre": (0.5, 14, 10),
}


OUTCOME_WEIGHTS = (
    {"resolved": 97, "pending": 3},  # self-service
    {"resolved": 82, "transferred": 11, "pending": 7},  # handled by an agent
    {"resolved": 100},  # outbound
)


# office: opening hours of the caisses' phone platforms and reception desks.
ONLINE_HOURS = dict(enumerate([2, 1, 1, 1, 1, 2, 4, 6, 8, 9, 9, 9, 8, 8, 8, 8, 9, 10, 11, 11, 9, 6, 4, 3]))


OFFICE_HOURS = {7: 8, 8: 10, 9: 10, 10: 8, 11: 6, 12: 8, 13: 9, 14: 8, 15: 5}


OUTBOUND_HOURS = {h: 6 for h in range(7, 19)}


FIXED_HOLIDAYS = {(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)}


PROFILE_TABLE_SIZE = 1 << 16


PHONE_KIND, EMAIL_KIND, RECEPTION_KIND = 1, 2, 3


class ContactGenerator:
    """Generates the contact history of existing persons from one random stream, in person order: each person
    gets a number of contacts drawn from a skewed (log-normal) activity, so that a few records have hundreds
    of contacts while most have a handful. The database is only written by `seed_contacts`."""

    def __init__(
        self,
        *,
        seed: int,
        reference_date: dt.date,
        persons: Sequence[tuple[int, str, int | None, int | None]],
        motives: set[str],
        days: int = CONTACT_HISTORY_DAYS,
    ):
        self.days = days  # the history covers the `days` days before the reference date
        self.rng = random.Random(f"contacts:{seed}")  # not the population's stream for the same seed
        self.persons = persons  # (id, caisse, parent id, account id) in id order
        self.motives = motives
        self.first_day = reference_date - dt.timedelta(days=days)
        ops = connection.ops
        # Whole seconds: 7 bytes less in each of millions of rows.
        self.now = ops.adapt_datetimefield_value(timezone.now().replace(microsecond=0))
        # Timestamps are written as UTC text: naive on SQLite (what adapt_datetimefield_value gives there),
        # with an explicit offset on PostgreSQL. They are built from precomputed day and time-of-day parts.
        sample = ops.adapt_datetimefield_value(dt.datetime(2001, 2, 3, 4, 5, 6, tzinfo=dt.UTC))
        offset = "" if sample == "2001-02-03 04:05:06" else "+00:00"
        self.day_text = [f"{self.first_day + dt.timedelta(days=d)} " for d in range(days)]
        self.time_text = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{offset}" for s in range(86_400)]

    def _days(self, *, weekday: int, saturday: int, sunday: int, holiday: int) -> list[int]:
        pool: list[int] = []
        for d in range(self.days):
            day = self.first_day + dt.timedelta(days=d)
            if (day.month, day.day) in FIXED_HOLIDAYS:
                weight = holiday
            else:
                weight = (weekday, weekday, weekday, weekday, weekday, saturday, sunday)[day.weekday()]
            pool.extend([d] * weight)
        return pool

    def _profile_table(self, mix: dict[str, float]) -> list[tuple]:
        """A table of PROFILE_TABLE_SIZE contact profiles (channel, direction, actor, motive, outcome, kind,
        days, minutes) in which each profile appears as often as it should: one random number picks one."""
        online_days = self._days(weekday=10, saturday=6, sunday=5, holiday=4)
        office_days = self._days(weekday=1, saturday=0, sunday=0, holiday=0)

        def minutes(hours: dict[int, int]) -> list[int]:
            return [h * 60 + m for h, w in hours.items() for _ in range(w) for m in range(60)]

        schedules = {
            "online": (online_days, minutes(ONLINE_HOURS)),
            "office": (office_days, minutes(OFFICE_HOURS)),
            "outbound": (office_days, minutes(OUTBOUND_HOURS)),
        }
        entries: list[tuple] = []
        weights: list[float] = []
        for channel, share in mix.items():
            if share <= 0:
                continue
            group = 0 if channel in SELF_SERVICE else 2 if channel in OUTBOUND_CHANNELS else 1
            motive_weights = {
                m: w[group] for m, w in MOTIVE_WEIGHTS.items() if m in self.motives and w[group]
            }
            if not motive_weights:
                motive_weights = {m: 1 for m in sorted(self.motives)}
            motive_total = sum(motive_weights.values())
            outcomes = OUTCOME_WEIGHTS[group]
            outcome_total = sum(outcomes.values())
            direction = "outbound" if group == 2 else "inbound"
            actor = ("insured", "agent", "system")[group]
            kind = {"phone": PHONE_KIND, "email": EMAIL_KIND, "reception": RECEPTION_KIND}.get(channel, 0)
            if channel in ("web", "app", "email"):
                days, mins = schedules["online"]
            elif channel in ("sms", "push"):
                days, mins = schedules["outbound"]
            else:
                days, mins = schedules["office"]
            for motive, mw in motive_weights.items():
                for outcome, ow in outcomes.items():
                    entries.append(
                        (channel, direction, actor, motive, outcome, kind, days, len(days), mins, len(mins))
                    )
                    weights.append(share * mw / motive_total * ow / outcome_total)
        total = sum(weights)
        table: list[tuple] = []
        cumulative = 0.0
        for entry, weight in zip(entries, weights, strict=True):
            cumulative += weight
            table.extend([entry] * (round(cumulative / total * PROFILE_TABLE_SIZE) - len(table)))
        return table

    def _counts(self, count: int) -> tuple[list[int], float]:
        """How many contacts each person gets (summing to count), and the share that goes to persons without
        an online account."""
        lognormal = self.rng.lognormvariate
        weights = []
        for _pid, _caisse, parent_id, account_id in self.persons:
            activity = lognormal(0.0, 1.1)
            if parent_id is not None:
                activity *= 0.15  # most of a child's affairs go through the parent's record
            elif account_id is None:
                activity *= 0.6
            weights.append(activity)
        scale = count / sum(weights)
        counts = []
        cumulative, done = 0.0, 0
        for weight in weights:
            cumulative += weight * scale
            upto = min(int(cumulative + 0.5), count)
            counts.append(upto - done)
            done = upto
        counts[-1] += count - done  # rounding drift, if any
        offline = sum(n for n, p in zip(counts, self.persons, strict=True) if p[3] is None)
        return counts, offline / count

    def chunks(self, *, count: int, chunk_size: int) -> Iterator[list[tuple]]:
        counts, offline_share = self._counts(count)
        online_mix = dict.fromkeys(CHANNEL_MIX, 0.0)
        if offline_share < 1:
            # The persons with an account make up for the channels the others do not use, so that the whole
            # history keeps CHANNEL_MIX.
            for channel, share in CHANNEL_MIX.items():
                online_mix[channel] = max(0.0, share - offline_share * OFFLINE_CHANNEL_MIX.get(channel, 0.0))
        online_table = self._profile_table(online_mix) if offline_share < 1 else []
        offline_table = self._profile_table(OFFLINE_CHANNEL_MIX)
        random = self.rng.random
        day_text, time_text, now = self.day_text, self.time_text, self.now
        last_day = self.days
        size = PROFILE_TABLE_SIZE
        rows: list[tuple] = []
        append = rows.append
        for (pid, caisse, _parent, account_id), n in zip(self.persons, counts, strict=True):
            table = offline_table if account_id is None else online_table
            for _ in range(n):
                channel, direction, actor, motive, outcome, kind, days, ndays, mins, nmins = table[
                    int(random() * size)
                ]
                day = days[int(random() * ndays)]
                x = random() * nmins
                minute = int(x)
                second = mins[minute] * 60 + int((x - minute) * 60)
                answered = responded_at = on_appointment = waited = None
                if kind == PHONE_KIND:
                    answered = random() < 0.85
                    if not answered:
                        outcome = "pending"
                elif kind == EMAIL_KIND:
                    if random() < 0.9:
                        # Answered within 1 hour to 4 days, most often within a day.
                        late = day * 86_400 + second + 3600 + int(random() ** 2 * (4 * 86_400 - 3600))
                        late_day, late_second = divmod(late, 86_400)
                        if late_day < last_day:  # not in the future
                            responded_at = day_text[late_day] + time_text[late_second]
                    if responded_at is None:
                        outcome = "pending"
                elif kind == RECEPTION_KIND:
                    on_appointment = random() < 0.4
                    # On appointment: a few minutes; walk-ins wait longer, up to an hour.
                    r = random()
                    waited = 60 + int(r * 840) if on_appointment else 60 + int(r * r * 3540)
                append(
                    (pid, caisse, channel, direction, motive, day_text[day] + time_text[second], actor, outcome,
                     "", answered, responded_at, on_appointment, waited, CONTACT_SOURCE, now)
                )  # fmt: skip
            if len(rows) >= chunk_size:
                yield rows
                rows = []
                append = rows.append
        if rows:
            yield rows


def _insert_contacts(rows: list[tuple]) -> None:
    """bulk_insert_rows (COPY on PostgreSQL), except on SQLite, where the rows go many to a statement: the contact
    table has AUTOINCREMENT ids, which cost SQLite a read and a write of sqlite_sequence per statement, and
    executemany runs one statement per row (about 100,000 rows/s here, against 210,000 rows/s this way)."""
    if connection.vendor != "sqlite":
        bulk_insert_rows(Contact, CONTACT_COLUMNS, rows)
        return
    width = len(CONTACT_COLUMNS)
    per_statement = max(1, (connection.features.max_query_params or 999) // width)
    table = connection.ops.quote_name(Contact._meta.db_table)
    head = f"INSERT INTO {table} ({', '.join(connection.ops.quote_name(c) for c in CONTACT_COLUMNS)}) VALUES "
    one = "(" + ", ".join(["?"] * width) + ")"
    flatten = itertools.chain.from_iterable
    connection.ensure_connection()
    # The driver's own cursor (qmark placeholders): Django's rewrites every statement's placeholders, which
    # costs as much as the insert itself for statements of a thousand parameters.
    cursor = connection.connection.cursor()
    try:
        whole = len(rows) - len(rows) % per_statement
        full = head + ", ".join([one] * per_statement)
        for start in range(0, whole, per_statement):
            cursor.execute(full, list(flatten(rows[start : start + per_statement])))
        if whole < len(rows):
            rest = rows[whole:]
            cursor.execute(head + ", ".join([one] * len(rest)), list(flatten(rest)))
    finally:
        cursor.close()


def seed_contacts(
    *,
    count: int,
    seed: int = 42,
    reference_date: dt.date | None = None,
    chunk_size: int = 50_000,
    progress: Callable[[int], None] | None = None,
    days: int = CONTACT_HISTORY_DAYS,
) -> int:
    """Add a deterministic synthetic contact history (count contacts over the `days` days, two years by default,
    before the reference date, default today in UTC) to the persons already in the database. Returns how many
    were written.

    Into an empty table the load is one transaction and the secondary indexes are built once at the end; into a
    table that already has contacts, each chunk is appended in its own transaction with the indexes maintained
    (rebuilding the indexes of a large table would cost more than the rows added). A different `seed` adds a
    different history to the same persons."""
    if count < 0:
        raise InvalidInput.from_fields({"contacts": "must be zero or more"})
    if days < 1:
        raise InvalidInput.from_fields({"days": "must be 1 or more"})
    load_motives()
    # One query for the whole population: a million tuples is about 100 MB, and the generating process
    # inherits them without copying.
    persons = list(Person.objects.order_by("id").values_list("id", "caisse_id", "parent_id", "account__id"))
    if not persons:
        raise InvalidInput.from_fields({"persons": "there are no persons: seed a population first"})
    if count == 0:
        return 0
    generator = ContactGenerator(
        seed=seed,
        reference_date=reference_date or timezone.now().date(),
        persons=persons,
        motives=set(Motive.objects.filter(active=True).values_list("code", flat=True)),
        days=days,
    )
    chunks = _in_background(lambda: generator.chunks(count=count, chunk_size=chunk_size))
    written = 0

    def load() -> None:
        nonlocal written
        with contextlib.closing(chunks):  # stops the generating process whatever happens
            for rows in chunks:
                with transaction.atomic():  # appending: an interrupted seed keeps whole chunks only
                    _insert_contacts(rows)
                written += len(rows)
                if progress:
                    progress(len(rows))

    with fast_bulk_load():
        if Contact.objects.exists():
            load()
        else:
            # Empty table: all or nothing, and the timeline indexes built once at the end.
            with transaction.atomic(), secondary_indexes_deferred([Contact]):
                load()
    return written
