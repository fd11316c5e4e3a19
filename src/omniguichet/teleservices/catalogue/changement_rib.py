"""The online service "changement_rib": its declaration and its handler."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from omniguichet.teleservices.catalogue.common import _INSURED
from omniguichet.teleservices.models import (
    BankDetails,
    RequestStatus,
)
from omniguichet.teleservices.services.declaration import (
    OFFER_AGENT,
    OFFER_APP,
    OFFER_WEB,
    InputField,
    ServiceResult,
    Submission,
    Teleservice,
    register,
)


def handle_changement_rib(s: Submission) -> ServiceResult:
    iban = s.data["iban"]
    BankDetails.objects.update_or_create(
        person=s.person, defaults={"iban": iban, "holder": s.data["holder"], "updated_at": timezone.now()}
    )
    s.request.data = {**s.request.data, "iban": f"{iban[:4]}…{iban[-4:]}"}  # the full IBAN is not kept twice
    s.request.save(update_fields=["data"])
    return ServiceResult(
        RequestStatus.DONE,
        _("Your reimbursements will now be paid to the account ending in %(e)s.") % {"e": iban[-4:]},
        {},
    )


register(
    Teleservice(
        code="changement_rib",
        title=gettext_lazy("Change of bank details"),
        description=gettext_lazy(
            "The account where your reimbursements are paid (with your bank details document)."
        ),
        audience=_INSURED,
        channels=frozenset({OFFER_WEB, OFFER_APP, OFFER_AGENT}),
        motive="changement_rib",
        self_service=True,
        required_documents=("rib_document",),
        fields=(
            InputField(
                "iban",
                gettext_lazy("IBAN"),
                kind="iban",
                max_length=42,
                hint=gettext_lazy("e.g. FR76 3000 6000 0112 3456 7890 189"),
            ),
            InputField("holder", gettext_lazy("Account holder"), max_length=140),
            InputField(
                "rib_document",
                gettext_lazy("Bank details document (PDF, JPEG or PNG, 5 MB at most)"),
                kind="file",
                document_type="bank_details",
            ),
        ),
        handler=handle_changement_rib,
    )
)
