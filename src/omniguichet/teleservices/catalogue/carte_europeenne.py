"""The online service "carte_europeenne": its declaration and its handler."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from omniguichet.core.errors import InvalidInput
from omniguichet.teleservices.catalogue.common import _INSURED
from omniguichet.teleservices.models import (
    CardKind,
    RequestStatus,
)
from omniguichet.teleservices.services.declaration import (
    ALL_OFFERS,
    InputField,
    ServiceResult,
    Submission,
    Teleservice,
    register,
)
from omniguichet.teleservices.services.handling import _address, _card_order, _rights_open


def handle_carte_europeenne(s: Submission) -> ServiceResult:
    departure = s.data.get("departure_date")
    if departure is not None and departure < timezone.localdate():
        raise InvalidInput.from_fields({"departure_date": _("cannot be in the past")})
    order = _card_order(s, CardKind.EHIC, "order", 15)
    message = _("Your European card will be sent to %(a)s by %(d)s.") % {
        "a": _address(s.person),
        "d": order.expected_by.strftime("%d/%m/%Y"),
    }
    if departure is not None and departure < order.expected_by:
        message += " " + _(
            "You leave before: a provisional replacement certificate is available at your caisse."
        )
    return ServiceResult(RequestStatus.PENDING, message, {"expected_by": order.expected_by.isoformat()})


register(
    Teleservice(
        code="carte_europeenne",
        title=gettext_lazy("European health insurance card"),
        description=gettext_lazy("Order your European card before travelling in Europe."),
        audience=_INSURED,
        channels=ALL_OFFERS,
        motive="carte_europeenne",
        self_service=True,
        fields=(
            InputField(
                "departure_date",
                gettext_lazy("Departure date"),
                kind="date",
                required=False,
                hint=gettext_lazy("DD/MM/YYYY"),
            ),
        ),
        handler=handle_carte_europeenne,
        eligibility=_rights_open,
    )
)
