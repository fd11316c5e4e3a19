"""The online service "css": its declaration and its handler."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from omniguichet.core.errors import Conflict, InvalidInput
from omniguichet.teleservices.catalogue.common import _INSURED
from omniguichet.teleservices.models import (
    RequestStatus,
    TeleserviceRequest,
)
from omniguichet.teleservices.services.declaration import (
    ALL_OFFERS,
    InputField,
    ServiceResult,
    Submission,
    Teleservice,
    register,
)
from omniguichet.teleservices.services.handling import _rights_open

# The documents a CSS case waits for (code, label as the back office and the messages name them), how long the
# person has to send them, and the legal time to decide.
CSS_DOCUMENTS = (
    ("avis_imposition", "Dernier avis d'imposition du foyer"),
    ("justificatifs_ressources", "Justificatifs des ressources des 12 derniers mois"),
)


CSS_DOCUMENTS_DAYS = 30


CSS_DECISION_DAYS = 60


MAX_RESOURCES = Decimal("10000000")


def parse_euros(text: str) -> Decimal | None:
    """An amount in euros as people type it ("9 850", "9850,50", "9 850 €"), from 0 to 10 million with at most
    2 decimals; None when it is not one."""
    clean = re.sub(r"[\s\u00a0\u202f]", "", text).removesuffix("€").replace(",", ".")
    if not re.fullmatch(r"[0-9]{1,8}(\.[0-9]{1,2})?", clean):
        return None
    amount = Decimal(clean)
    return amount.quantize(Decimal("0.01")) if amount < MAX_RESOURCES else None


def css_case_reference(request: TeleserviceRequest) -> str:
    """The reference of the case a CSS request opens: one per request, so a replay finds the same case."""
    return f"TS-CSS-{request.pk}"


def handle_css(s: Submission) -> ServiceResult:
    """Complémentaire santé solidaire: opens a case (type css) waiting for its documents, through the cases
    services; one request in progress at a time."""
    from omniguichet.cases.models import OPEN_STATUSES, Case, CaseType
    from omniguichet.cases.services import open_case_from_request

    resources = parse_euros(s.data["annual_resources"])
    if resources is None:
        raise InvalidInput.from_fields(
            {"annual_resources": _("must be an amount in euros, e.g. 9 850 or 9850,50")}
        )
    current = (
        Case.objects.filter(person=s.person, case_type=CaseType.CSS, status__in=OPEN_STATUSES)
        .order_by("-opened_at")
        .first()
    )
    if current is not None:
        raise Conflict(
            _("a request for the Complémentaire santé solidaire is already in progress (case %(r)s)")
            % {"r": current.reference},
            code="in_progress",
        )
    today = timezone.localdate()
    due = today + dt.timedelta(days=CSS_DOCUMENTS_DAYS)
    decide_by = today + dt.timedelta(days=CSS_DECISION_DAYS)
    case = open_case_from_request(
        actor=s.actor,
        channel=s.channel,
        person=s.person,
        case_type=CaseType.CSS,
        reference=css_case_reference(s.request),
        required_documents=CSS_DOCUMENTS,
        documents_due_on=due,
        expected_decision_on=decide_by,
    )
    s.request.data = {**s.request.data, "annual_resources": str(resources)}
    s.request.save(update_fields=["data"])
    labels = "; ".join(label for _code, label in CSS_DOCUMENTS)
    return ServiceResult(
        RequestStatus.PENDING,
        _(
            "Your request is registered as case %(r)s. Send these documents before %(due)s: %(docs)s. "
            "We will decide by %(decide)s; you will find the case in your account."
        )
        % {
            "r": case.reference,
            "due": due.strftime("%d/%m/%Y"),
            "docs": labels,
            "decide": decide_by.strftime("%d/%m/%Y"),
        },
        {
            "case_reference": case.reference,
            "documents": [{"code": code, "label": label} for code, label in CSS_DOCUMENTS],
            "documents_due_on": due.isoformat(),
            "expected_decision_on": decide_by.isoformat(),
        },
    )


register(
    Teleservice(
        code="css",
        title=gettext_lazy("Complémentaire santé solidaire"),
        description=gettext_lazy(
            "Ask for the Complémentaire santé solidaire (free or low-cost complementary health cover)."
        ),
        audience=_INSURED,
        channels=ALL_OFFERS,
        motive="css",
        self_service=False,
        fields=(
            InputField(
                "household_size",
                gettext_lazy("Number of persons in your household"),
                kind="choice",
                choices=tuple((str(n), str(n)) for n in range(1, 10)),
            ),
            InputField(
                "annual_resources",
                gettext_lazy("Resources of your household over the last 12 months (euros)"),
                max_length=20,
                hint=gettext_lazy("e.g. 9 850"),
            ),
        ),
        required_documents=tuple(code for code, _label in CSS_DOCUMENTS),
        handler=handle_css,
        eligibility=_rights_open,
    )
)
