"""The online service "attestation_droits": its declaration and its handler."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from omniguichet.teleservices.catalogue.common import _INSURED
from omniguichet.teleservices.models import (
    AttestationKind,
    RequestStatus,
)
from omniguichet.teleservices.services.declaration import (
    ALL_OFFERS,
    ServiceResult,
    Submission,
    Teleservice,
    register,
)
from omniguichet.teleservices.services.documents import _issue_attestation, rights_content
from omniguichet.teleservices.services.handling import _document_result


def handle_attestation_droits(s: Submission) -> ServiceResult:
    attestation = _issue_attestation(s.person, s.request, AttestationKind.RIGHTS, rights_content(s.person))
    return ServiceResult(
        RequestStatus.DONE,
        _("Your certificate of rights is ready (verification code %(c)s).") % {"c": attestation.code},
        {"verification_code": attestation.code, **_document_result(s.request)},
    )


register(
    Teleservice(
        code="attestation_droits",
        title=gettext_lazy("Certificate of rights"),
        description=gettext_lazy("Download a certificate of your rights, with your dependants."),
        audience=_INSURED,
        fields=(),
        channels=ALL_OFFERS,
        motive="attestation_droits",
        self_service=True,
        handler=handle_attestation_droits,
        document="pdf",
        eligibility=lambda p: None if p.rights_from else _("no rights are recorded for you"),
    )
)
