"""A realistic day of calls for the demo (`omniguichet simulate-calls`), played through the same ingestion as the
phone platform's events: arrivals peaking at 09:00 and 14:00, a wait that grows with the load of the moment,
callers hanging up when their patience runs out (so abandonment grows with the wait), one random stream (the same
seed gives the same day, and replaying it changes nothing)."""

from __future__ import annotations

import datetime as dt
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from omniguichet.core.actors import Actor, Channel
from omniguichet.core.errors import InvalidInput
from omniguichet.referential.models import LOCAL_ROLES, Caisse, ContactPoint, User
from omniguichet.telephony.models import Call
from omniguichet.telephony.services.common import MAX_BATCH
from omniguichet.telephony.services.ingest import ingest_events

PARIS = ZoneInfo("Europe/Paris")
OPENS, CLOSES = 8.5, 17.5  # the phone line's opening hours (local time, hours)
# Arrivals: two bumps (the morning's around 09:00, the afternoon's around 14:00) over a flat floor.
PEAKS = [(9.1, 0.6, 0.5), (14.0, 0.8, 0.35)]  # (hour, spread in hours, share of the calls)
# The voice menu: choices and how often callers press them (9: anything else).
IVR_WEIGHTS = {"1": 30, "2": 18, "3": 12, "4": 10, "5": 8, "6": 7, "7": 5, "8": 4, "9": 6}
IDENTIFIED_SHARE = 0.75  # callers phoning from their verified mobile
MEAN_PATIENCE = 180.0  # seconds a caller waits on average before hanging up
MEAN_TALK = 270.0  # seconds with the agent, on average


@dataclass
class SimulationReport:
    calls: int
    events: int
    answered: int
    abandoned: int
    identified: int
    callbacks_offered: int
    seconds: float

    @property
    def answer_rate(self) -> float:
        return self.answered / self.calls if self.calls else 0.0


def _arrival_hour(rng: random.Random) -> float:
    while True:
        pick = rng.random()
        for hour, spread, share in PEAKS:
            if pick < share:
                at = rng.gauss(hour, spread)
                break
            pick -= share
        else:
            at = rng.uniform(OPENS, CLOSES)
        if OPENS <= at < CLOSES:
            return at


def _load_wait(hours: list[float]) -> Callable[[float], float]:
    """The mean wait at an hour of the day, from how many calls arrive in its quarter of an hour: short when the
    line is quiet, long at the peaks (a queue near saturation)."""
    quarters: dict[int, int] = {}
    for h in hours:
        quarters[int(h * 4)] = quarters.get(int(h * 4), 0) + 1
    busiest = max(quarters.values(), default=1)

    def mean_wait(hour: float) -> float:
        load = quarters.get(int(hour * 4), 0) / busiest  # 0..1
        return 10 + 110 * load**2

    return mean_wait


def _callers(caisse: str | None, rng: random.Random, limit: int = 20_000) -> list[str]:
    points = ContactPoint.objects.filter(kind="mobile", verified=True)
    if caisse:
        points = points.filter(person__caisse_id=caisse)
    numbers = list(points.order_by("id").values_list("value", flat=True)[:limit])
    rng.shuffle(numbers)
    return numbers


def _agents(caisse: str | None) -> list[str]:
    staff = User.objects.filter(is_active=True, role__in=LOCAL_ROLES)
    if caisse:
        staff = staff.filter(caisse_id=caisse)
    return list(staff.order_by("username").values_list("username", flat=True)[:200])


def call_lines(
    *, calls: int, day: dt.date, callers: list[str], agents: list[str], seed: int = 11, prefix: str = "sim-",
    per_batch: int = MAX_BATCH // 5,
) -> Iterator[tuple[list[dict], int, int]]:  # fmt: skip
    """The event lines of a day of `calls` calls, in batches of `per_batch` whole calls: (lines, calls, callers
    phoning from a verified mobile). Callers come from `callers` (IDENTIFIED_SHARE of them) or unknown numbers;
    answers are given by `agents` (logins)."""
    rng = random.Random(f"{seed}:{day.isoformat()}:{prefix}")
    hours = sorted(_arrival_hour(rng) for _i in range(calls))
    mean_wait = _load_wait(hours)
    midnight = dt.datetime.combine(day, dt.time(), tzinfo=PARIS)
    ivr_choices, ivr_weights = list(IVR_WEIGHTS), list(IVR_WEIGHTS.values())
    batch: list[dict] = []
    identified = 0
    for i, hour in enumerate(hours):
        call_id = f"{prefix}{i:06d}"
        if callers and rng.random() < IDENTIFIED_SHARE:
            number = callers[rng.randrange(len(callers))]
            identified += 1
        else:
            number = f"+337{rng.randrange(10**8):08d}"
        t0 = midnight + dt.timedelta(hours=hour)
        ivr_at = t0 + dt.timedelta(seconds=rng.uniform(8, 25))
        queued_at = ivr_at + dt.timedelta(seconds=rng.uniform(1, 4))
        wait = rng.expovariate(1 / mean_wait(hour))
        patience = rng.expovariate(1 / MEAN_PATIENCE)  # abandonment: the wait outlasts the caller's patience
        base = {"call_id": call_id, "from": number, "to": "3646", "direction": "inbound"}
        batch.append({**base, "event": "new", "at": t0.isoformat()})
        batch.append({**base, "event": "ivr", "at": ivr_at.isoformat(),
                      "ivr_choice": rng.choices(ivr_choices, ivr_weights)[0]})  # fmt: skip
        batch.append({**base, "event": "queued", "at": queued_at.isoformat()})
        if patience > wait:  # answered
            answer_at = queued_at + dt.timedelta(seconds=wait)
            talk = min(3600.0, rng.lognormvariate(math.log(MEAN_TALK) - 0.32, 0.8))
            hangup_at = answer_at + dt.timedelta(seconds=talk)
            batch.append(
                {**base, "event": "answer", "at": answer_at.isoformat(), "agent": rng.choice(agents)}
            )
            batch.append({**base, "event": "hangup", "at": hangup_at.isoformat()})
        else:
            hangup_at = queued_at + dt.timedelta(seconds=patience)
            batch.append({**base, "event": "hangup", "at": hangup_at.isoformat()})
        if (i + 1) % per_batch == 0 or i + 1 == calls:
            yield batch, (i % per_batch) + 1, identified
            batch, identified = [], 0


def simulate_day(
    *, calls: int, day: dt.date, caisse: str | None = None, seed: int = 11,
    progress: Callable[[int], None] | None = None,
) -> SimulationReport:  # fmt: skip
    """Play `calls` inbound calls of `day` (a past day) through the telephony ingestion."""
    fields: dict[str, str] = {}
    if calls < 1 or calls > 999_999:
        fields["calls"] = _("must be between 1 and 999999")
    if day >= dt.datetime.now(PARIS).date():
        fields["day"] = _("must be a past day (the platform refuses events in the future)")
    if caisse and not Caisse.objects.filter(code=caisse).exists():
        fields["caisse"] = _("unknown caisse %(c)s") % {"c": caisse}
    agents = _agents(caisse) if not fields else []
    if not fields and not agents:
        fields["caisse"] = _("no agent to answer the calls (a staff login of the caisse is needed)")
    if fields:
        raise InvalidInput.from_fields(fields)
    prefix = f"sim-{day:%Y%m%d}-{caisse or 'all'}-{seed}-"
    callers = _callers(caisse, random.Random(prefix))
    started = time.perf_counter()
    events = identified = offered = 0
    for lines, count, known in call_lines(
        calls=calls, day=day, callers=callers, agents=agents, seed=seed, prefix=prefix
    ):
        report = ingest_events(actor=Actor.system("simulate-calls"), channel=Channel.BACKOFFICE, rows=lines)
        events += len(lines)
        identified += known
        offered += report.callbacks_offered
        if progress:
            progress(count)
    played = Call.objects.filter(call_id__gte=prefix, call_id__lt=f"{prefix}{calls:06d}")
    answered = played.filter(answered_at__isnull=False).count()
    total = played.count()
    return SimulationReport(
        calls=total, events=events, answered=answered, abandoned=total - answered, identified=identified,
        callbacks_offered=offered, seconds=time.perf_counter() - started,
    )  # fmt: skip
