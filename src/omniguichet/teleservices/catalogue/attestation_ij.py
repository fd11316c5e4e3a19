"""The online service "attestation_ij": its declaration and its handler."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from omniguichet.core.errors import InvalidInput
from omniguichet.referential import validators
from omniguichet.teleservices.catalogue.common import _DATE_FROM, _DATE_TO, _INSURED
from omniguichet.teleservices.models import (
    AttestationKind,
    RequestStatus,
    SickPayPayment,
)
from omniguichet.teleservices.services.declaration import (
    ALL_OFFERS,
    ServiceResult,
    Submission,
    Teleservice,
    register,
)
from omniguichet.teleservices.services.documents import _issue_attestation
from omniguichet.teleservices.services.handling import _document_result, _has_sick_pay


def handle_attestation_ij(s: Submission) -> ServiceResult:
    today = timezone.localdate()
    date_from = s.data.get("date_from") or today - dt.timedelta(days=365)
    date_to = s.data.get("date_to") or today
    if date_to < date_from:
        raise InvalidInput.from_fields({"date_to": _("must not be before date_from")})
    payments = list(
        SickPayPayment.objects.filter(person=s.person, paid_on__gte=date_from, paid_on__lte=date_to).order_by(
            "period_from"
        )
    )
    if not payments:
        raise InvalidInput.from_fields({"date_from": _("no daily allowance was paid in this period")})
    total = sum((p.amount for p in payments), Decimal("0"))
    content = {
        "name": s.person.display_name,
        "nir": validators.mask_nir(s.person.nir),
        "date_from": date_from.isoformat(),
        "date_to": date_to.isoformat(),
        "total": f"{total:.2f}",
        "payments": [
            {
                "from": p.period_from.isoformat(),
                "to": p.period_to.isoformat(),
                "days": p.days,
                "daily": f"{p.daily_amount:.2f}",
                "amount": f"{p.amount:.2f}",
                "paid_on": p.paid_on.isoformat(),
            }
            for p in payments
        ],
    }
    attestation = _issue_attestation(s.person, s.request, AttestationKind.SICK_PAY, content)
    return ServiceResult(
        RequestStatus.DONE,
        _("Your certificate of %(n)d daily allowance payments is ready.") % {"n": len(payments)},
        {"verification_code": attestation.code, "total": f"{total:.2f}", **_document_result(s.request)},
    )


register(
    Teleservice(
        code="attestation_ij",
        title=gettext_lazy("Certificate of daily allowance payments"),
        description=gettext_lazy(
            "The daily allowances paid to you during sick leave (last 12 months by default)."
        ),
        audience=_INSURED,
        channels=ALL_OFFERS,
        motive="attestation_ij",
        self_service=True,
        fields=(_DATE_FROM, _DATE_TO),
        handler=handle_attestation_ij,
        eligibility=_has_sick_pay,
        document="pdf",
    )
)
