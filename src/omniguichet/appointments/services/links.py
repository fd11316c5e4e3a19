"""Signed links to manage an appointment without logging in (reschedule, cancel, the video link)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core import signing
from django.utils.translation import gettext as _

from omniguichet.appointments.models import (
    Appointment,
)
from omniguichet.appointments.services.common import MANAGE_SALT
from omniguichet.core.actors import Actor, ActorKind
from omniguichet.core.errors import InvalidInput


def manage_token(appointment: Appointment) -> str:
    return signing.dumps(
        {"a": appointment.pk, "c": appointment.checkin_code}, salt=MANAGE_SALT, compress=True
    )


def _unsign(token: str, salt: str, max_age: dt.timedelta) -> dict[str, Any]:
    try:
        data = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired:
        raise InvalidInput.from_fields(
            {"token": _("this link has expired")},
        ) from None
    except signing.BadSignature:
        raise InvalidInput.from_fields({"token": _("this link is not valid")}) from None
    if not isinstance(data, dict):
        raise InvalidInput.from_fields({"token": _("this link is not valid")})
    return data


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def link_max_age() -> dt.timedelta:
    return dt.timedelta(days=settings.APPOINTMENTS_LINK_MAX_AGE_DAYS)


def appointment_from_link(token: str) -> tuple[Actor, Appointment]:
    """The appointment a signed link was made for, and the actor it lets act (the person themselves).
    A forged or altered link, an expired one, or one for an appointment since moved: a clear refusal."""
    data = _unsign(token, MANAGE_SALT, link_max_age())
    appointment = (
        Appointment.objects.select_related("motive", "site", "person", "case")
        .filter(pk=_int(data.get("a")), checkin_code=str(data.get("c")))
        .first()
    )
    if appointment is None:
        raise InvalidInput.from_fields({"token": _("this link is not valid")})
    return link_actor(appointment.person_id), appointment


def link_actor(person_id: int) -> Actor:
    return Actor(kind=ActorKind.INSURED, person_id=person_id, label="signed link")


def public_url(path: str) -> str:
    return settings.OMNIGUICHET_PUBLIC_URL.rstrip("/") + path


def video_url(appointment: Appointment) -> str:
    """The video link of a video appointment (its unguessable room), "" for the other modes."""
    return public_url(f"/rendez-vous/visio/{appointment.video_room}/") if appointment.video_room else ""
