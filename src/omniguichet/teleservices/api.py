"""The teleservices for the mobile app and for agents' tools: the catalogue, using a service, its document."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status

from omniguichet.core.actors import Actor, Channel, insured_actor, staff_actor
from omniguichet.core.api import ErrorOut
from omniguichet.core.errors import Forbidden
from omniguichet.core.throttle import client_address
from omniguichet.teleservices import services
from omniguichet.teleservices.models import TeleserviceRequest

router = Router(tags=["teleservices"])


def _actor(request: HttpRequest) -> Actor:
    """An insured person's token (the app) or a staff token (on a person's behalf)."""
    user = request.user
    if getattr(user, "account", None) is not None:
        return insured_actor(user)  # type: ignore[arg-type]
    if user.role or user.is_superuser:  # type: ignore[union-attr]
        return staff_actor(user)  # type: ignore[arg-type]
    raise Forbidden("online services are for insured persons (with an account) and caisse staff")


class FieldOut(Schema):
    name: str
    label: str
    kind: str
    required: bool
    max_length: int
    choices: list[str]


class ServiceOut(Schema):
    code: str
    title: str
    description: str
    audience: list[str]
    channels: list[str]
    motive: str
    self_service: bool
    required_documents: list[str]
    document: str
    available: bool
    reason: str
    fields: list[FieldOut]


@router.get(
    "/teleservices",
    response={200: list[ServiceOut], 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    summary="The online services offered to the caller",
)
def list_teleservices(request: HttpRequest) -> list[ServiceOut]:
    actor = _actor(request)
    channel = Channel.APP if actor.person_id else Channel.PHONE
    views = services.offered_services(actor=actor, channel=channel)
    return [
        ServiceOut(
            **{k: getattr(v, k) for k in ServiceOut.model_fields if k != "fields"},
            fields=[
                FieldOut(
                    name=f.name,
                    label=str(f.label),
                    kind=f.kind,
                    required=f.required,
                    max_length=f.max_length,
                    choices=[c for c, _l in f.choices],
                )
                for f in v.fields
            ],
        )
        for v in views
    ]


class UseIn(Schema):
    person_id: int | None = Field(None, description="for an agent's token: the person acted for")
    channel: Literal["phone", "reception", "email", "letter"] | None = Field(
        None, description="for an agent's token: the channel of the contact (default phone)"
    )
    idempotency_key: str | None = Field(
        None, max_length=64, description="the same key again returns the first request instead of a duplicate"
    )
    data: dict[str, Any] = Field(default_factory=dict, description="the service's fields (files in base64)")


class UseOut(Schema):
    request_id: int
    service: str
    status: str
    replayed: bool
    message: str
    result: dict[str, Any]
    document_url: str | None


def _out(req: TeleserviceRequest, replayed: bool) -> UseOut:
    result = dict(req.result)
    formats = result.get("document_formats") or []
    return UseOut(
        request_id=req.pk,
        service=req.service,
        status=req.status,
        replayed=replayed,
        message=str(result.pop("message", "")),
        result=result,
        document_url=f"/api/v1/teleservices/requests/{req.pk}/document?format={formats[0]}"
        if formats
        else None,
    )


@router.post(
    "/teleservices/{code}",
    response={
        200: UseOut,
        201: UseOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
    summary="Use an online service (an agent's token acts on behalf of person_id)",
)
def use_teleservice(request: HttpRequest, code: str, payload: UseIn) -> Status:
    actor = _actor(request)
    key = payload.idempotency_key or request.headers.get("Idempotency-Key")
    if actor.person_id:
        channel: str = Channel.APP
    else:
        channel = payload.channel or Channel.PHONE
    used = services.use_service(
        actor=actor,
        channel=channel,
        code=code,
        person_id=payload.person_id,
        data=payload.data,
        idempotency_key=key,
        address=client_address(request),
    )
    return Status(200 if used.replayed else 201, _out(used.request, used.replayed))


@router.get(
    "/teleservices/requests/{request_id}",
    response={200: UseOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="One request made through an online service",
)
def get_teleservice_request(request: HttpRequest, request_id: int) -> UseOut:
    return _out(services.get_request(actor=_actor(request), request_id=request_id), False)


@router.get(
    "/teleservices/requests/{request_id}/document",
    response={200: None, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="The document of a request (attestation PDF, statement PDF or CSV)",
)
def get_teleservice_document(request: HttpRequest, request_id: int, format: Literal["pdf", "csv"] = "pdf"):
    content, content_type, filename = services.request_document(
        actor=_actor(request), request_id=request_id, fmt=format
    )
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
