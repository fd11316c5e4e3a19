"""The online service "rattachement_enfant": its declaration and its handler."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from omniguichet.core.actors import Actor, Channel
from omniguichet.core.errors import Conflict, InvalidInput
from omniguichet.referential.models import Person, Sex
from omniguichet.referential.services import create_person
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
from omniguichet.teleservices.services.handling import _is_adult_holder


def handle_rattachement_enfant(s: Submission) -> ServiceResult:
    d = s.data
    today = timezone.localdate()
    fields: dict[str, str] = {}
    if d["birth_date"] > today:
        fields["birth_date"] = _("cannot be in the future")
    elif (today - d["birth_date"]).days > 16 * 365.25:
        fields["birth_date"] = _("a child of 16 or more has their own account")
    if fields:
        raise InvalidInput.from_fields(fields)
    existing = Person.objects.filter(nir=d["nir"]).first()
    if existing is not None:
        if existing.parent_id == s.person.pk:
            raise Conflict(_("this child is already attached to you"), fields={"nir": _("already attached")})
        raise Conflict(
            _("this child is already registered: your caisse will contact you"),
            fields={"nir": _("already registered")},
        )
    child = create_person(
        actor=Actor.system("teleservice"),
        channel=Channel.BACKOFFICE,
        nir=d["nir"],
        given_names=d["given_names"],
        family_name=d["family_name"],
        birth_date=d["birth_date"],
        sex=d["sex"],
        birth_place=d["birth_place"],
        caisse_code=s.person.caisse_id,
        address_line=s.person.address_line,
        postcode=s.person.postcode,
        city=s.person.city,
        parent_id=s.person.pk,
        rights_from=today,
    )
    return ServiceResult(
        RequestStatus.DONE,
        _("%(n)s is attached to you and covered from %(d)s.")
        % {"n": child.display_name, "d": today.strftime("%d/%m/%Y")},
        {"child_id": child.pk},
    )


register(
    Teleservice(
        code="rattachement_enfant",
        title=gettext_lazy("Attach a child"),
        description=gettext_lazy("Cover your child (under 16) on your insurance."),
        audience=_INSURED,
        channels=frozenset({OFFER_WEB, OFFER_APP, OFFER_AGENT}),
        motive="rattachement_enfant",
        self_service=True,
        fields=(
            InputField("nir", gettext_lazy("Child's social security number"), kind="nir", max_length=21),
            InputField("given_names", gettext_lazy("Given names"), max_length=150),
            InputField("family_name", gettext_lazy("Family name"), max_length=100),
            InputField(
                "birth_date", gettext_lazy("Birth date"), kind="date", hint=gettext_lazy("DD/MM/YYYY")
            ),
            InputField(
                "sex", gettext_lazy("Sex"), kind="choice", choices=tuple((s.value, s.label) for s in Sex)
            ),
            InputField("birth_place", gettext_lazy("Birth place (INSEE code)"), max_length=5),
        ),
        handler=handle_rattachement_enfant,
        eligibility=_is_adult_holder,
    )
)
