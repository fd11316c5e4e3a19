"""The online service "perte_vol_vitale": its declaration and its handler."""

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


def handle_perte_vol_vitale(s: Submission) -> ServiceResult:
    if s.data["declared_on"] > timezone.localdate():
        raise InvalidInput.from_fields({"declared_on": _("cannot be in the future")})
    order = _card_order(s, CardKind.VITALE, s.data["reason"], 14)
    return ServiceResult(
        RequestStatus.PENDING,
        _("Your card is cancelled and a new carte Vitale is ordered; it will reach %(a)s by %(d)s.")
        % {"a": _address(s.person), "d": order.expected_by.strftime("%d/%m/%Y")},
        {"expected_by": order.expected_by.isoformat()},
    )


register(
    Teleservice(
        code="perte_vol_vitale",
        title=gettext_lazy("Lost or stolen carte Vitale"),
        description=gettext_lazy("Declare the loss or theft of your carte Vitale and order a new one."),
        audience=_INSURED,
        channels=ALL_OFFERS,
        motive="carte_vitale",
        self_service=True,
        fields=(
            InputField(
                "reason",
                gettext_lazy("What happened"),
                kind="choice",
                choices=(
                    ("lost", gettext_lazy("lost")),
                    ("stolen", gettext_lazy("stolen")),
                    ("damaged", gettext_lazy("damaged")),
                ),
            ),
            InputField("declared_on", gettext_lazy("Since"), kind="date", hint=gettext_lazy("DD/MM/YYYY")),
        ),
        handler=handle_perte_vol_vitale,
        eligibility=_rights_open,
    )
)
