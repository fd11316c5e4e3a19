"""The online service "changement_contact": its declaration and its handler."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from omniguichet.accounts import services as accounts
from omniguichet.core.errors import InvalidInput
from omniguichet.referential.models import ContactPointKind
from omniguichet.teleservices.catalogue.common import _INSURED
from omniguichet.teleservices.models import (
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


def handle_changement_contact(s: Submission) -> ServiceResult:
    if s.data.get("code"):
        if not s.data.get("challenge"):
            raise InvalidInput.from_fields({"challenge": _("is required with the code")})
        point = accounts.confirm_contact_change(
            actor=s.actor,
            channel=s.channel,
            person=s.person,
            challenge=s.data["challenge"],
            code=s.data["code"],
            address=s.address,  # wrong codes count per client address too (code.address)
        )
        return ServiceResult(
            RequestStatus.DONE,
            _("Your %(k)s is now %(v)s.") % {"k": point.get_kind_display(), "v": point.value},
            {},
        )
    if not s.data.get("value"):
        raise InvalidInput.from_fields({"value": _("is required")})
    otc = accounts.start_contact_change(
        actor=s.actor, channel=s.channel, person=s.person, kind=s.data["kind"], value=s.data["value"]
    )
    return ServiceResult(
        RequestStatus.AWAITING_CODE,
        _("A code was sent to %(t)s: enter it to confirm the change.") % {"t": otc.target},
        {"challenge": otc.challenge, "kind": s.data["kind"]},
    )


register(
    Teleservice(
        code="changement_contact",
        title=gettext_lazy("Change of e-mail or mobile"),
        description=gettext_lazy("A new e-mail address or mobile number, confirmed by a code sent to it."),
        audience=_INSURED,
        channels=frozenset({OFFER_WEB, OFFER_APP, OFFER_AGENT}),
        motive="changement_contact",
        self_service=True,
        fields=(
            InputField(
                "kind",
                gettext_lazy("What changes"),
                kind="choice",
                choices=(
                    (ContactPointKind.EMAIL.value, gettext_lazy("e-mail")),
                    (ContactPointKind.MOBILE.value, gettext_lazy("mobile phone")),
                ),
            ),
            InputField("value", gettext_lazy("New e-mail or mobile"), required=False, max_length=254),
            InputField("challenge", gettext_lazy("Request"), kind="hidden", required=False, max_length=64),
            InputField("code", gettext_lazy("Code received"), kind="code", required=False, max_length=12),
        ),
        handler=handle_changement_contact,
    )
)
