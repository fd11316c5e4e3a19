"""Referential endpoints: caisses, registering persons, employers, professionals and contact points."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from omniguichet.core.actors import Channel, staff_actor
from omniguichet.core.api import ErrorOut
from omniguichet.referential import services
from omniguichet.referential.models import Caisse, ContactPoint, Employer, Person, PersonStatus, Professional
from omniguichet.referential.validators import mask_nir

router = Router(tags=["referential"])

ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 413: ErrorOut, 422: ErrorOut}


class CaisseOut(Schema):
    code: str
    name: str
    department: str
    city: str


class PersonIn(Schema):
    nir: str = Field(..., description="15 characters; spaces allowed", examples=["1 84 12 75 056 001 15"])
    given_names: str
    family_name: str
    usage_name: str = ""
    birth_date: dt.date
    sex: str = Field(..., description="M or F")
    birth_place: str = Field(..., description="INSEE code of the birth place (5 characters)")
    caisse: str
    address_line: str = ""
    postcode: str = ""
    city: str = ""
    status: str = PersonStatus.OTHER
    parent_id: int | None = None
    rights_from: dt.date | None = None
    rights_to: dt.date | None = None


class PersonOut(Schema):
    id: int
    nir_masked: str
    given_names: str
    family_name: str
    usage_name: str
    birth_date: dt.date
    sex: str
    caisse: str
    status: str
    parent_id: int | None

    @staticmethod
    def of(person: Person) -> PersonOut:
        return PersonOut(
            id=person.pk,
            nir_masked=mask_nir(person.nir),
            given_names=person.given_names,
            family_name=person.family_name,
            usage_name=person.usage_name,
            birth_date=person.birth_date,
            sex=person.sex,
            caisse=person.caisse_id,
            status=person.status,
            parent_id=person.parent_id,
        )


class ContactPointIn(Schema):
    kind: str = Field(..., description="email or mobile")
    value: str
    verified: bool = False


class ContactPointOut(Schema):
    id: int
    kind: str
    value: str
    verified: bool


class EmployerIn(Schema):
    siret: str
    name: str
    caisse: str


class EmployerOut(Schema):
    id: int
    siret: str
    name: str
    caisse: str = Field(..., alias="caisse_id")


class ProfessionalIn(Schema):
    rpps: str
    given_names: str
    family_name: str
    profession: str
    caisse: str


class ProfessionalOut(Schema):
    id: int
    rpps: str
    given_names: str
    family_name: str
    profession: str
    caisse: str = Field(..., alias="caisse_id")


@router.get("/caisses", response={200: list[CaisseOut], 401: ErrorOut}, summary="The local funds")
def list_caisses(request: HttpRequest) -> list[Caisse]:
    return list(Caisse.objects.all())


@router.post("/persons", response={201: PersonOut, **ERRORS}, summary="Register an insured person")
def create_person(request: HttpRequest, payload: PersonIn) -> Status[PersonOut]:
    actor = staff_actor(request.user)  # type: ignore[arg-type]
    data = payload.dict()
    caisse = data.pop("caisse")
    person = services.create_person(actor=actor, channel=Channel.BACKOFFICE, caisse_code=caisse, **data)
    return Status(201, PersonOut.of(person))


@router.post(
    "/persons/{person_id}/contact-points",
    response={201: ContactPointOut, **ERRORS},
    summary="Add an e-mail address or a mobile number to a person",
)
def add_contact_point(request: HttpRequest, person_id: int, payload: ContactPointIn) -> Status[ContactPoint]:
    actor = staff_actor(request.user)  # type: ignore[arg-type]
    person = services.get_person(actor=actor, person_id=person_id)
    point = services.add_contact_point(
        actor=actor,
        channel=Channel.BACKOFFICE,
        person=person,
        kind=payload.kind,
        value=payload.value,
        verified=payload.verified,
    )
    return Status(201, point)


@router.post("/employers", response={201: EmployerOut, **ERRORS}, summary="Register an employer (SIRET)")
def create_employer(request: HttpRequest, payload: EmployerIn) -> Status[Employer]:
    actor = staff_actor(request.user)  # type: ignore[arg-type]
    employer = services.create_employer(
        actor=actor,
        channel=Channel.BACKOFFICE,
        siret=payload.siret,
        name=payload.name,
        caisse_code=payload.caisse,
    )
    return Status(201, employer)


@router.post(
    "/professionals",
    response={201: ProfessionalOut, **ERRORS},
    summary="Register a health professional (RPPS)",
)
def create_professional(request: HttpRequest, payload: ProfessionalIn) -> Status[Professional]:
    actor = staff_actor(request.user)  # type: ignore[arg-type]
    professional = services.create_professional(
        actor=actor,
        channel=Channel.BACKOFFICE,
        rpps=payload.rpps,
        given_names=payload.given_names,
        family_name=payload.family_name,
        profession=payload.profession,
        caisse_code=payload.caisse,
    )
    return Status(201, professional)
