"""What the services of the catalogue share: eligibility rules, the document a request produces, card orders and
the cases they open."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from omniguichet.core.errors import Conflict
from omniguichet.referential.models import Person
from omniguichet.teleservices.models import (
    CardKind,
    CardOrder,
    SickPayPayment,
    TeleserviceRequest,
)
from omniguichet.teleservices.services.declaration import Submission


def _rights_open(person: Person) -> str | None:
    today = timezone.localdate()
    if person.rights_from is None or person.rights_from > today:
        return _("your rights are not open yet")
    if person.rights_to is not None and person.rights_to < today:
        return _("your rights closed on %(d)s") % {"d": person.rights_to.strftime("%d/%m/%Y")}
    return None


def _has_sick_pay(person: Person) -> str | None:
    if not SickPayPayment.objects.filter(person=person).exists():
        return _("no daily allowance was paid to you")
    return None


def _is_adult_holder(person: Person) -> str | None:
    if person.parent_id is not None:
        return _("a dependant cannot attach a child; the parent's account can")
    return None


def _document_result(request: TeleserviceRequest, fmt: str = "pdf") -> dict[str, Any]:
    return {"document_formats": fmt.split(","), "document_request_id": request.pk}


def _card_order(s: Submission, kind: str, reason: str, days: int) -> CardOrder:
    since = timezone.now() - dt.timedelta(days=days)
    if CardOrder.objects.filter(person=s.person, kind=kind, ordered_at__gte=since).exists():
        raise Conflict(
            _("a card was already ordered less than %(d)d days ago; it is on its way") % {"d": days},
            code="already_ordered",
        )
    order = CardOrder.objects.create(
        person=s.person,
        kind=kind,
        reason=reason,
        request=s.request,
        ordered_at=timezone.now(),
        expected_by=timezone.localdate() + dt.timedelta(days=days),
    )
    _open_card_case(s, kind, order.expected_by)
    return order


CARD_CASE_TYPES: dict[str, tuple[str, str]] = {
    CardKind.EHIC: ("european_card", "TS-CEAM"),
    CardKind.VITALE: ("vitale_card", "TS-VITALE"),
}


def card_case_reference(kind: str, request: TeleserviceRequest) -> str:
    """The reference of the case a card order opens: one per request, so a replay finds the same case."""
    return f"{CARD_CASE_TYPES[kind][1]}-{request.pk}"


def _open_card_case(s: Submission, kind: str, expected_by: dt.date) -> None:
    """A card is made by the back office: the order opens a case (like the CSS request), so the person follows
    it in their cases and the back office's "card shipped" event lands on it (it numbers from 2 on)."""
    from omniguichet.cases.services import open_case_from_request

    open_case_from_request(
        actor=s.actor,
        channel=s.channel,
        person=s.person,
        case_type=CARD_CASE_TYPES[kind][0],
        reference=card_case_reference(kind, s.request),
        expected_decision_on=expected_by,
    )


def _address(person: Person) -> str:
    return f"{person.address_line}, {person.postcode} {person.city}".strip(", ")
