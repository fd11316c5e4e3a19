"""The online service "changement_adresse": its declaration and its handler."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from omniguichet.teleservices.catalogue.common import _INSURED
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
from omniguichet.teleservices.services.handling import _address


def handle_changement_adresse(s: Submission) -> ServiceResult:
    person = s.person
    old = _address(person)
    person.address_line = s.data["address_line"]
    person.postcode = s.data["postcode"]
    person.city = s.data["city"]
    person.save(update_fields=["address_line", "postcode", "city", "updated_at"])
    s.request.data = {**s.request.data, "previous_address": old}
    s.request.save(update_fields=["data"])
    return ServiceResult(RequestStatus.DONE, _("Your address is now %(a)s.") % {"a": _address(person)}, {})


register(
    Teleservice(
        code="changement_adresse",
        title=gettext_lazy("Change of address"),
        description=gettext_lazy("Tell us your new postal address."),
        audience=_INSURED,
        channels=ALL_OFFERS,
        motive="changement_adresse",
        self_service=True,
        fields=(
            InputField("address_line", gettext_lazy("Number and street"), max_length=200),
            InputField("postcode", gettext_lazy("Postcode"), kind="postcode", max_length=5),
            InputField("city", gettext_lazy("City"), max_length=100),
        ),
        handler=handle_changement_adresse,
    )
)
