"""Login of the mobile app: NIR and password (and the SMS code when the account asks for it) give a token."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from omniguichet.accounts import services
from omniguichet.core.actors import Channel
from omniguichet.core.api import ErrorOut
from omniguichet.core.services import issue_token

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


@router.post(
    "/account/login",
    auth=None,
    response={200: LoginOut, 403: ErrorOut, 422: ErrorOut},
    summary="App login: a bearer token, or the challenge of the SMS code to confirm",
)
def app_login(request: HttpRequest, payload: LoginIn) -> LoginOut:
    result = services.authenticate(nir=payload.nir, password=payload.password, channel=Channel.APP)
    if result.second_factor is not None:
        return LoginOut(second_factor_challenge=result.second_factor.challenge)
    assert result.user is not None
    _token, secret = issue_token(user=result.user, days=30, label="app")
    return LoginOut(token=secret)


@router.post(
    "/account/login/second-factor",
    auth=None,
    response={200: LoginOut, 403: ErrorOut, 422: ErrorOut},
    summary="App login, second step: the SMS code gives the bearer token",
)
def app_second_factor(request: HttpRequest, payload: SecondFactorIn) -> LoginOut:
    user = services.confirm_second_factor(challenge=payload.challenge, code=payload.code, channel=Channel.APP)
    _token, secret = issue_token(user=user, days=30, label="app")
    return LoginOut(token=secret)
