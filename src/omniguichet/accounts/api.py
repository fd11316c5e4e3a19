"""Login of the mobile app: NIR and password (and the SMS code when the account asks for it) give a token."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from omniguichet.accounts import services
from omniguichet.core.actors import Channel, insured_actor
from omniguichet.core.api import ErrorOut
from omniguichet.core.services import issue_token
from omniguichet.core.throttle import client_address
from omniguichet.outreach.api import InboxMessageOut

router = Router(tags=["accounts"])


class LoginIn(Schema):
    nir: str
    password: str


class SecondFactorIn(Schema):
    challenge: str
    code: str


class LoginOut(Schema):
    token: str | None = None
    second_factor_challenge: str | None = None
    second_factor_delivery: str | None = None  # where the code went: sms or email


@router.post(
    "/account/login",
    auth=None,
    response={200: LoginOut, 403: ErrorOut, 422: ErrorOut, 429: ErrorOut},
    summary="App login: a bearer token, or the challenge of the SMS code to confirm",
    description="Throttled like the web login: 429 with Retry-After (seconds) once too many attempts failed.",
)
def app_login(request: HttpRequest, payload: LoginIn) -> LoginOut:
    result = services.authenticate(
        nir=payload.nir, password=payload.password, channel=Channel.APP, address=client_address(request)
    )
    if result.second_factor is not None:
        return LoginOut(
            second_factor_challenge=result.second_factor.challenge,
            second_factor_delivery=result.second_factor.delivery,
        )
    assert result.user is not None
    _token, secret = issue_token(user=result.user, days=30, label="app")
    return LoginOut(token=secret)


@router.post(
    "/account/login/second-factor",
    auth=None,
    response={200: LoginOut, 403: ErrorOut, 422: ErrorOut, 429: ErrorOut},
    summary="App login, second step: the SMS code gives the bearer token",
    description="Wrong codes are throttled per address: 429 with Retry-After (seconds).",
)
def app_second_factor(request: HttpRequest, payload: SecondFactorIn) -> LoginOut:
    user = services.confirm_second_factor(
        challenge=payload.challenge, code=payload.code, channel=Channel.APP, address=client_address(request)
    )
    _token, secret = issue_token(user=user, days=30, label="app")
    return LoginOut(token=secret)


@router.post(
    "/me/inbox/{message_id}/read",
    response={200: InboxMessageOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Mark one of my messages read (the app; reading it twice keeps the first time)",
)
def read_inbox_message(request: HttpRequest, message_id: int) -> InboxMessageOut:
    actor = insured_actor(request.user)  # type: ignore[arg-type]
    message = services.read_message(actor=actor, channel=Channel.APP, message_id=message_id)
    return InboxMessageOut(
        id=message.pk,
        subject=message.subject,
        body=message.body,
        received_at=message.created_at,
        read=message.read_at is not None,
    )


class ReadAllOut(Schema):
    marked: int


@router.post(
    "/me/inbox/read",
    response={200: ReadAllOut, 401: ErrorOut, 403: ErrorOut},
    summary="Mark all my messages read",
)
def read_all_inbox(request: HttpRequest) -> ReadAllOut:
    actor = insured_actor(request.user)  # type: ignore[arg-type]
    return ReadAllOut(marked=services.mark_all_read(actor=actor, channel=Channel.APP))
