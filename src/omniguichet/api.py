"""The HTTP API under /api/v1: the one API object, with every app's router mounted on it (the channel assembly,
above the apps: the apps' routers import `core.api` for the error format, never this module)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Schema

from omniguichet.accounts.api import router as accounts_router
from omniguichet.analytics.api import router as analytics_router
from omniguichet.appointments.api import router as appointments_router
from omniguichet.baskets.api import router as baskets_router
from omniguichet.cases.api import router as cases_router
from omniguichet.core.api import ErrorOut, build_api
from omniguichet.crm.api import router as crm_router
from omniguichet.documents.api import router as documents_router
from omniguichet.messaging.api import router as messaging_router
from omniguichet.outreach.api import router as outreach_router
from omniguichet.referential.api import router as referential_router
from omniguichet.telephony.api import router as telephony_router
from omniguichet.teleservices.api import router as teleservices_router

api = build_api(
    title="omniguichet API",
    version="1",
    description="API of the omniguichet platform. Authenticate with `Authorization: Bearer <token>` "
    '(`omniguichet token --user NAME`). Errors: `{"error": {"code", "message", "fields"}}`.',
    urls_namespace="api-v1",
)


class MeOut(Schema):
    username: str
    role: str
    caisse: str | None
    national: bool


@api.get("/me", response={200: MeOut, 401: ErrorOut}, tags=["core"], summary="Who the token belongs to")
def me(request: HttpRequest) -> MeOut:
    user = request.user
    return MeOut(
        username=user.get_username(),
        role=user.role,  # type: ignore[union-attr]
        caisse=user.caisse_id,  # type: ignore[union-attr]
        national=user.is_national,  # type: ignore[union-attr]
    )


api.add_router("/", referential_router)
api.add_router("/", crm_router)
api.add_router("/", cases_router)
api.add_router("/", outreach_router)
api.add_router("/", accounts_router)
api.add_router("/", teleservices_router)
api.add_router("/", baskets_router)
api.add_router("/", documents_router)
api.add_router("/", appointments_router)
api.add_router("/", analytics_router)
api.add_router("/", messaging_router)
api.add_router("/", telephony_router)
