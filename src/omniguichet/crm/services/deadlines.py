"""Deadlines of work items (docs/deadlines.md): the policy of a kind and motive (the most specific wins), the
deadline and the "due soon" instant computed on the caisse's calendar (referential), and the re-timing of open
items when a policy changes. The apps that own work items (messaging, later e-mail and baskets) register a
retimer for their kind: this module never imports them."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from omniguichet.crm.models import DeadlinePolicy, DeadlineUnit
from omniguichet.referential.models import Caisse
from omniguichet.referential.services import caisse_calendar

log = logging.getLogger(__name__)

# Shown as "due soon" from this share of an item's time on (issue 17: 80 %).
DUE_SOON_SHARE = 0.8
# A kind without any policy (a kind registered before its policy is written): what the e-mail indicator counts.
FALLBACK_DURATION, FALLBACK_UNIT = 48, DeadlineUnit.CALENDAR_HOURS
# Policies are read once per process and kept this long (a save forgets them at once in the saving process).
CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class Policy:
    kind: str
    motive: str | None
    duration: int
    unit: str

    @property
    def label(self) -> str:
        return f"{self.duration} {DeadlineUnit(self.unit).label}"


_policies: dict[tuple[str, str | None], Policy] = {}
_loaded_at: list[float] = []


def forget_policies() -> None:
    _policies.clear()
    _loaded_at.clear()


def _all_policies() -> dict[tuple[str, str | None], Policy]:
    now = time.monotonic()
    if not _loaded_at or now - _loaded_at[0] > CACHE_SECONDS:
        rows = DeadlinePolicy.objects.values_list("kind", "motive_id", "duration", "unit")
        fresh: dict[tuple[str, str | None], Policy] = {
            (kind, motive): Policy(kind, motive, duration, unit) for kind, motive, duration, unit in rows
        }
        _policies.clear()
        _policies.update(fresh)
        _loaded_at[:] = [now]
    return _policies


def policy_for(*, kind: str, motive: str | None = None) -> Policy:
    """The policy of this kind and motive, else of the kind, else 48 calendar hours."""
    policies = _all_policies()
    found = (motive and policies.get((kind, motive))) or policies.get((kind, None))
    return found or Policy(kind, None, FALLBACK_DURATION, FALLBACK_UNIT)


def _code(value: object) -> str | None:
    if value is None or value == "":
        return None
    return str(getattr(value, "pk", value))


def deadline_for(
    *, kind: str, motive: object = None, caisse: Caisse | str, received_at: dt.datetime
) -> dt.datetime:
    """When an item of `kind` and `motive` (a code or a Motive) received by `caisse` at `received_at` is due: an
    aware UTC datetime, counted in the policy's unit on the caisse's calendar."""
    policy = policy_for(kind=kind, motive=_code(motive))
    return caisse_calendar(caisse).deadline(received_at, policy.duration, policy.unit)


def due_soon_at(
    *, kind: str, motive: object = None, caisse: Caisse | str, received_at: dt.datetime,
    deadline: dt.datetime | None = None,
) -> dt.datetime:  # fmt: skip
    """When the item becomes "due soon": 80 % of its time gone, counted in the policy's unit (opening time for
    working hours and days, elapsed time for calendar hours)."""
    return deadline_and_due_soon(
        kind=kind, motive=motive, caisse=caisse, received_at=received_at, deadline=deadline
    )[1]


def deadline_and_due_soon(
    *, kind: str, motive: object = None, caisse: Caisse | str, received_at: dt.datetime,
    deadline: dt.datetime | None = None,
) -> tuple[dt.datetime, dt.datetime]:  # fmt: skip
    """(deadline, due soon at) of one item, with one look-up of its policy and calendar."""
    policy = policy_for(kind=kind, motive=_code(motive))
    calendar = caisse_calendar(caisse)
    if deadline is None:
        deadline = calendar.deadline(received_at, policy.duration, policy.unit)
        if (
            policy.unit == DeadlineUnit.WORKING_HOURS
        ):  # the opening time to the deadline is the duration itself
            soon = calendar.add_working_time(received_at, policy.duration * 3600 * DUE_SOON_SHARE)
            return deadline, min(soon, deadline)
    return deadline, calendar.due_soon(received_at, deadline, policy.unit, DUE_SOON_SHARE)


# --- re-timing ---------------------------------------------------------------------------------------------------
# kind -> retimer(motives=[...] or None, exclude_motives=[...], batch=N) -> number of open items re-timed.
Retimer = Callable[..., int]
_retimers: dict[str, Retimer] = {}
# How a saved policy asks the worker to re-time (set at start-up by crm.apps to enqueue crm.tasks' task); without
# it, the re-timing runs right after the commit, in the saving process.
_retime_scheduler: list[Callable[[str, str | None], None]] = []


def register_retimer(kind: str, retimer: Retimer) -> None:
    """The app owning items of `kind` re-times its open ones (from its AppConfig.ready, core.apps.when_imported)."""
    _retimers[kind] = retimer


def register_retime_scheduler(schedule: Callable[[str, str | None], None]) -> None:
    _retime_scheduler[:] = [schedule]


def retime_open_items(*, kind: str, motive: str | None = None, batch: int = 1000) -> int:
    """Recompute the deadline of the open items of `kind` that the policy of (`kind`, `motive`) governs, from
    when each started waiting, in batches: with a motive, that motive's items; without, the items of every motive
    that has no policy of its own. Their history is not replayed. Returns how many items were re-timed."""
    retimer = _retimers.get(kind)
    if retimer is None:
        return 0
    forget_policies()
    if motive:
        return retimer(motives=[motive], exclude_motives=[], batch=batch)
    own = [m for (k, m) in _all_policies() if k == kind and m is not None]
    return retimer(motives=None, exclude_motives=own, batch=batch)


def policy_changed(*, kind: str, motive: str | None) -> None:
    """A policy was saved or deleted: forget the cached policies, and once committed re-time the open items."""
    forget_policies()

    def later() -> None:
        if _retime_scheduler:
            _retime_scheduler[0](kind, motive)
        else:
            count = retime_open_items(kind=kind, motive=motive)
            log.info("re-timed %d open %s items after a policy change", count, kind)

    transaction.on_commit(later)
