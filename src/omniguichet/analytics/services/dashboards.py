"""The dashboards: figures per caisse and channel, precomputed after each export."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone

from omniguichet.analytics import engine
from omniguichet.analytics.services.common import ANALYTICS_ROLES
from omniguichet.analytics.services.indicators import _cached_warehouse_kpi
from omniguichet.core.actors import Actor, Channel
from omniguichet.core.errors import Forbidden, InvalidInput, NotFound
from omniguichet.core.routers import replica_reads
from omniguichet.referential.models import Role


# ------------------------------------------------------------------------------------------------ dashboards
def precompute_dashboards(*, actor: Actor, channel: Channel, years: list[int] | None = None) -> list[int]:
    """Compute (and cache) the figures the dashboards show first: this year and last year, in Paris."""
    if not actor.sees_all_caisses:
        raise Forbidden("computing the indicators of every caisse requires a national role")
    current = dt.datetime.now(engine.PARIS).year
    years = years or [current - 1, current]
    for year in years:
        dashboard_figures(actor=actor, channel=channel, year=year)
    return years


def analytics_actor(user: Any) -> Actor:
    """The actor for a dashboard request: a manager of a caisse or a national role."""
    if not (user.is_superuser or user.role in ANALYTICS_ROLES):
        raise Forbidden("the analytics dashboards are reserved to managers and national roles")
    if not user.is_superuser and user.role == Role.MANAGER and not user.caisse_id:
        raise Forbidden("a manager without caisse sees no figures")
    return Actor.agent(user)


def dashboard_year(*, actor: Actor, channel: Channel, year: int | None = None) -> int:
    """The year shown: the one asked for, else the current year in Paris."""
    if year is None:
        return dt.datetime.now(engine.PARIS).year
    if not 2000 <= year <= 2100:
        raise InvalidInput.from_fields({"year": "must be between 2000 and 2100"})
    return year


def dashboard_figures(*, actor: Actor, channel: Channel, year: int) -> engine.KpiResult:
    """The precomputed figures of the platform's warehouse for the dashboards (every caisse: the views filter)."""
    return _cached_warehouse_kpi(year, engine.parse_weights(settings.ANALYTICS_BONUS_WEIGHTS))


def check_caisse_visible(*, actor: Actor, caisse: str) -> None:
    """A manager sees their own caisse only: any other answers NotFound, exactly like an unknown one."""
    if not actor.sees_all_caisses and actor.caisse_code != caisse:
        raise NotFound("no such caisse")


@dataclass(frozen=True)
class IndicatorPanel:
    name: str
    value: float | None
    target: float | None
    met: bool
    numerator: int
    denominator: int
    monthly: list[float | None]  # the 12 months of the year
    national_monthly: list[float | None] | None  # on a caisse's view: the national line


@dataclass(frozen=True)
class WorkItems:
    """Work of one kind waiting in the caisses (live, not from the warehouse): open, due soon (past 80 % of their
    time), overdue, and the answers of the last 30 days given in time or late."""

    kind: str
    label: str
    open: int
    due_soon: int
    overdue: int
    in_time: int
    late: int

    @property
    def share_in_time(self) -> float | None:
        done = self.in_time + self.late
        return self.in_time / done if done else None


# Apps whose work waits in the caisses register its figures: provider(caisse or None, now) -> dict with the keys
# open, due_soon, overdue, in_time, late (one query).
_work_item_providers: dict[str, tuple[Any, Callable[[str | None, dt.datetime], dict[str, int]]]] = {}


def register_work_items(
    kind: str, label: Any, provider: Callable[[str | None, dt.datetime], dict[str, int]]
) -> None:
    _work_item_providers[kind] = (label, provider)


def work_items(*, caisse: str | None) -> list[WorkItems]:
    now = timezone.now()
    return [
        WorkItems(kind=kind, label=str(label), **provider(caisse, now))
        for kind, (label, provider) in sorted(_work_item_providers.items())
    ]


@dataclass
class Dashboard:
    """What the national or one caisse's dashboard shows, computed from the cached figures."""

    year: int
    caisse: str | None  # None: the national view
    caisse_name: str
    months: list[str]
    indicators: list[IndicatorPanel]
    ranking: list[tuple[int, str, str, float]]  # (rank, caisse, name, points); empty when not visible
    own_rank: tuple[int, int] | None  # (rank, number of caisses) of the manager's caisse
    bonus: list[tuple[str, str, float, tuple[str, ...]]]  # (caisse, name, points, indicators met)
    channels: list[tuple[str, int, float]]  # (channel, inbound contacts, share)
    work_items: list[WorkItems] = field(default_factory=list)

    def tables(self) -> dict[str, tuple[list[str], list[list[str]]]]:
        """The downloadable tables: name -> (header, rows)."""
        scope = self.caisse or "national"
        num = engine.format_number
        indicators = [
            [scope, str(self.year), p.name, str(p.numerator), str(p.denominator), num(p.value), num(p.target),
             "true" if p.met else "false"]
            for p in self.indicators
        ]  # fmt: skip
        monthly = [
            [scope, month, p.name, engine.format_number(p.monthly[i]), engine.format_number(p.target)]
            for p in self.indicators
            for i, month in enumerate(self.months)
        ]
        return {
            "indicators": (engine.INDICATOR_COLUMNS, indicators),
            "monthly": (["caisse", "period", "indicator", "value", "target"], monthly),
            "ranking": (
                ["rank", "caisse", "name", "points"],
                [[str(r), c, n, engine.format_points(p)] for r, c, n, p in self.ranking],
            ),
            "bonus": (
                ["caisse", "name", "year", "points", "indicators_met"],
                [[c, n, str(self.year), engine.format_points(p), ";".join(m)] for c, n, p, m in self.bonus],
            ),
            "channels": (
                ["caisse", "year", "channel", "contacts", "share"],
                [[scope, str(self.year), ch, str(n), engine.format_number(s)] for ch, n, s in self.channels],
            ),
        }


def dashboard(*, actor: Actor, channel: Channel, year: int, caisse: str | None = None) -> Dashboard:
    """The national view (caisse None) or one caisse's, as the actor may see it (NotFound for another caisse).
    Its reads go to the read replica when one is configured (core.routers)."""
    with replica_reads():
        return _dashboard(actor=actor, channel=channel, year=year, caisse=caisse)


def _dashboard(*, actor: Actor, channel: Channel, year: int, caisse: str | None) -> Dashboard:
    from omniguichet.referential.models import Caisse

    if caisse is not None:
        check_caisse_visible(actor=actor, caisse=caisse)
    result = dashboard_figures(actor=actor, channel=channel, year=year)
    names = dict(Caisse.objects.values_list("code", "name"))
    if caisse is not None and caisse not in names and caisse not in result.caisses():
        raise NotFound("no such caisse")
    months = [f"{year}-{m:02d}" for m in range(1, 13)]
    national_year = {r.indicator: r for r in result.national("year")}
    national_month = {(r.period, r.indicator): r.value for r in result.national("month")}
    if caisse is None:
        yearly = national_year
        monthly = national_month
    else:
        yearly = {r.indicator: r for r in result.yearly if r.caisse == caisse}
        monthly = {(r.period, r.indicator): r.value for r in result.monthly if r.caisse == caisse}
    panels = []
    for name in engine.INDICATORS:
        row = yearly.get(name) or engine.indicator_value(
            caisse or "national", str(year), name, 0, 0, result.targets[name]
        )
        panels.append(
            IndicatorPanel(
                name=name,
                value=row.value,
                target=row.target,
                met=row.met,
                numerator=row.numerator,
                denominator=row.denominator,
                monthly=[monthly.get((m, name)) for m in months],
                national_monthly=None if caisse is None else [national_month.get((m, name)) for m in months],
            )
        )
    ordered = sorted(result.bonus, key=lambda b: (-b.points, b.caisse))
    ranks: list[tuple[int, str, str, float]] = []
    for position, b in enumerate(ordered, start=1):
        rank = ranks[-1][0] if ranks and ranks[-1][3] == b.points else position  # ties share a rank
        ranks.append((rank, b.caisse, names.get(b.caisse, ""), b.points))
    own = actor.caisse_code
    own_rank = next(((r, len(ranks)) for r, c, _name, _points in ranks if c == own), None)
    if actor.sees_all_caisses:
        bonus = [(b.caisse, names.get(b.caisse, ""), b.points, b.indicators_met) for b in result.bonus]
        if caisse is not None:
            bonus = [row for row in bonus if row[0] == caisse]
        ranking = ranks if caisse is None else []
    else:
        # A manager sees the national figures and their own caisse, not the other caisses one by one.
        bonus = [
            (b.caisse, names.get(b.caisse, ""), b.points, b.indicators_met)
            for b in result.bonus
            if b.caisse == own
        ]
        ranking = []
    counts: dict[str, int] = dict.fromkeys(engine.CHANNELS, 0)
    for c in result.channel_mix:
        if c.period == str(year) and (caisse is None or c.caisse == caisse):
            counts[c.channel] += c.contacts
    total = sum(counts.values())
    channels = [(ch, n, n / total if total else 0.0) for ch, n in counts.items()]
    return Dashboard(
        year=year,
        caisse=caisse,
        caisse_name=names.get(caisse, "") if caisse else "",
        months=months,
        indicators=panels,
        ranking=ranking,
        own_rank=own_rank if not actor.sees_all_caisses else None,
        bonus=bonus,
        channels=channels,
        work_items=work_items(caisse=caisse),
    )
