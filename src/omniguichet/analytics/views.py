"""The steering dashboards (/analytics/): national view, one caisse's view, CSV downloads of every table."""

from __future__ import annotations

import csv
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from omniguichet.analytics import charts, services
from omniguichet.core.actors import Actor, Channel
from omniguichet.core.errors import Forbidden, InvalidInput, NotFound

INDICATOR_LABELS = {
    "demat_rate": gettext_lazy("Online share of simple requests"),
    "recontact_rate": gettext_lazy("Multichannel iteration rate"),
    "account_rate": gettext_lazy("Persons with an online account"),
    "phone_answer_rate": gettext_lazy("Phone calls answered"),
    "email_48h_rate": gettext_lazy("E-mails answered within 48 h"),
    "appointment_share": gettext_lazy("Reception visits on appointment"),
    "reception_20min_rate": gettext_lazy("Reception waits of 20 minutes or less"),
}
INDICATOR_HINTS = {
    "demat_rate": gettext_lazy(
        "certificates, statements, European card, address or bank details: on web, app or kiosk"
    ),
    "recontact_rate": gettext_lazy(
        "same person and motive again within 7 days, any channel (lower is better)"
    ),
    "account_rate": gettext_lazy(
        "persons of the caisse whose account was opened before the end of the period"
    ),
    "phone_answer_rate": gettext_lazy("inbound calls answered"),
    "email_48h_rate": gettext_lazy("inbound e-mails answered at most 48 hours later"),
    "appointment_share": gettext_lazy("reception visits that were booked"),
    "reception_20min_rate": gettext_lazy("among visits whose wait is known"),
}
TABLE_LABELS = {
    "indicators": gettext_lazy("Indicators of the year"),
    "monthly": gettext_lazy("Indicators by month"),
    "ranking": gettext_lazy("Ranking of the caisses"),
    "bonus": gettext_lazy("Bonus"),
    "channels": gettext_lazy("Channel mix"),
}
CHANNEL_LABELS = dict(Channel.choices)


def analytics_required(view):
    """Logged in as a manager or a national role; the view receives the actor."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            actor = services.analytics_actor(request.user)
        except Forbidden:
            raise PermissionDenied(
                _("The steering dashboards are reserved to managers and national roles.")
            ) from None
        return view(request, actor, *args, **kwargs)

    return wrapper


def _year(request: HttpRequest, actor: Actor) -> int:
    raw = request.GET.get("year")
    try:
        return services.dashboard_year(
            actor=actor, channel=Channel.BACKOFFICE, year=int(raw) if raw not in (None, "") else None
        )
    except (ValueError, InvalidInput):
        raise Http404(_("no such year")) from None


def _page(request: HttpRequest, actor: Actor, caisse: str | None) -> HttpResponse:
    year = _year(request, actor)
    context: dict[str, Any] = {
        "year": year,
        "years": [year - 2, year - 1, year, year + 1],
        "caisse": caisse,
        "actor_caisse": actor.caisse_code,
        "sees_all": actor.sees_all_caisses,
        "table_labels": TABLE_LABELS,
    }
    if actor.sees_all_caisses:  # the national role sees the last warehouse export and may start one
        latest = services.recent_exports(actor=actor, channel=Channel.BACKOFFICE, limit=1)
        context["last_export"] = latest[0] if latest else None
    try:
        board = services.dashboard(actor=actor, channel=Channel.BACKOFFICE, year=year, caisse=caisse)
    except services.NoWarehouse:
        context["no_warehouse"] = True
        return render(request, "analytics/dashboard.html", context)
    except NotFound:
        raise Http404(_("no such caisse")) from None
    month_labels = [m[5:] for m in board.months]
    context.update(
        board=board,
        panels=[
            {
                "p": p,
                "label": INDICATOR_LABELS[p.name],
                "hint": INDICATOR_HINTS[p.name],
                "lower_is_better": p.name == "recontact_rate",
                "value_pct": None if p.value is None else p.value * 100,
                "target_pct": None if p.target is None else p.target * 100,
                "chart": charts.trend_chart(
                    p.monthly,
                    target=p.target,
                    national=p.national_monthly,
                    title=f"{INDICATOR_LABELS[p.name]} — {year}",
                    labels=month_labels,
                ),
            }
            for p in board.indicators
        ],
        channels=[(CHANNEL_LABELS.get(ch, ch), n, share * 100) for ch, n, share in board.channels],
        channel_chart=charts.bar_chart(
            [(str(CHANNEL_LABELS.get(ch, ch)), share) for ch, _n, share in board.channels],
            title=_("Channel mix of inbound contacts"),
        ),
        indicator_labels=INDICATOR_LABELS,
        bonus=[
            (code, name, points, [(i, i in met) for i in INDICATOR_LABELS])
            for code, name, points, met in board.bonus
        ],
    )
    return render(request, "analytics/dashboard.html", context)


@require_GET
@analytics_required
def national(request: HttpRequest, actor: Actor) -> HttpResponse:
    return _page(request, actor, None)


@require_GET
@analytics_required
def caisse(request: HttpRequest, actor: Actor, code: str) -> HttpResponse:
    return _page(request, actor, code)


def _csv(request: HttpRequest, actor: Actor, caisse: str | None, table: str) -> HttpResponse:
    if table not in TABLE_LABELS:
        raise Http404(_("no such table"))
    year = _year(request, actor)
    try:
        board = services.dashboard(actor=actor, channel=Channel.BACKOFFICE, year=year, caisse=caisse)
    except NotFound:
        raise Http404(_("no figures")) from None
    if table == "ranking" and not board.ranking:
        raise Http404(_("no such table"))
    header, rows = board.tables()[table]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{caisse or "national"}-{year}-{table}.csv"'
    writer = csv.writer(response, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return response


@require_GET
@analytics_required
def national_csv(request: HttpRequest, actor: Actor, table: str) -> HttpResponse:
    return _csv(request, actor, None, table)


@require_GET
@analytics_required
def caisse_csv(request: HttpRequest, actor: Actor, code: str, table: str) -> HttpResponse:
    return _csv(request, actor, code, table)


@require_POST
@analytics_required
def export(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Queue a warehouse export (national role), run by the worker; the dashboards are refreshed after it."""
    try:
        services.request_export(actor=actor, channel=Channel.BACKOFFICE)
    except Forbidden:
        raise PermissionDenied(_("The warehouse export is reserved to the national role.")) from None
    return redirect("analytics:national")
