"""The online service "releve_remboursements": its declaration and its handler."""

from __future__ import annotations

from decimal import Decimal

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from omniguichet.core.errors import InvalidInput
from omniguichet.teleservices.catalogue.common import _DATE_FROM, _DATE_TO, _INSURED
from omniguichet.teleservices.models import (
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
from omniguichet.teleservices.services.documents import _reimbursements
from omniguichet.teleservices.services.handling import _document_result


def handle_releve(s: Submission) -> ServiceResult:
    if s.data.get("date_from") and s.data.get("date_to") and s.data["date_to"] < s.data["date_from"]:
        raise InvalidInput.from_fields({"date_to": _("must not be before date_from")})
    rows = _reimbursements(s.person, s.data)
    total = sum((r.amount_reimbursed for r in rows), Decimal("0"))
    lines = [
        {
            "care_date": r.care_date.isoformat(),
            "paid_on": r.paid_on.isoformat(),
            "care": r.label,
            "professional": r.professional,
            "charged": f"{r.amount_charged:.2f}",
            "reimbursed": f"{r.amount_reimbursed:.2f}",
        }
        for r in rows[:100]
    ]
    return ServiceResult(
        RequestStatus.DONE,
        _("%(n)d reimbursements, %(t)s EUR in all.") % {"n": len(rows), "t": number_format(total, 2)},
        {
            "count": len(rows),
            "total": f"{total:.2f}",
            "lines": lines,
            **_document_result(s.request, "pdf,csv"),
        },
    )


register(
    Teleservice(
        code="releve_remboursements",
        title=gettext_lazy("Statement of reimbursements"),
        description=gettext_lazy(
            "Your reimbursements of care, filtered by date or care; PDF or spreadsheet."
        ),
        audience=_INSURED,
        channels=ALL_OFFERS,
        motive="releve_remboursements",
        self_service=True,
        fields=(
            _DATE_FROM,
            _DATE_TO,
            InputField("care", gettext_lazy("Care contains"), required=False, max_length=60),
        ),
        handler=handle_releve,
        document="pdf,csv",
    )
)
