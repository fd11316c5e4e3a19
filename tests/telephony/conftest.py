import datetime as dt
import itertools

import pytest
from django.utils import timezone

from omniguichet.core.actors import Actor, Channel
from omniguichet.referential.models import Role
from omniguichet.telephony import services
from tests.conftest import make_user
from tests.crm.conftest import ain_person, paris_person  # noqa: F401  (shared fixtures)

_calls = itertools.count(1)


def new_call_id() -> str:
    return f"call-{next(_calls)}"


@pytest.fixture
def phone_agent(caisse_paris):
    return make_user("tel-paris", role=Role.PHONE_AGENT, caisse=caisse_paris)


@pytest.fixture
def phone_agent_ain(caisse_ain):
    return make_user("tel-ain", role=Role.PHONE_AGENT, caisse=caisse_ain)


@pytest.fixture
def platform(db):
    """The phone platform's service login (national)."""
    return make_user("cti-platform", role=Role.NATIONAL_SUPERVISOR)


def line(call_id: str, event: str, at: dt.datetime, *, caller: str = "+33698765432", **extra) -> dict:
    row = {"call_id": call_id, "event": event, "at": at.isoformat(), "from": caller, "to": "3646",
           "direction": "inbound"}  # fmt: skip
    row.update(extra)
    return row


def call_lines(call_id: str, *, caller: str = "+33698765432", agent: str | None = "tel-paris", waited: int = 20,
               talk: int = 240, ivr: str = "1", start: dt.datetime | None = None) -> list[dict]:  # fmt: skip
    """The five events of one inbound call (answered by `agent`, or abandoned after `waited` s when None)."""
    t0 = start or timezone.now() - dt.timedelta(minutes=30)
    rows = [
        line(call_id, "new", t0, caller=caller),
        line(call_id, "ivr", t0 + dt.timedelta(seconds=10), caller=caller, ivr_choice=ivr),
        line(call_id, "queued", t0 + dt.timedelta(seconds=20), caller=caller),
    ]
    queued = t0 + dt.timedelta(seconds=20)
    if agent is not None:
        answered = queued + dt.timedelta(seconds=waited)
        rows.append(line(call_id, "answer", answered, caller=caller, agent=agent))
        rows.append(line(call_id, "hangup", answered + dt.timedelta(seconds=talk), caller=caller))
    else:
        rows.append(line(call_id, "hangup", queued + dt.timedelta(seconds=waited), caller=caller))
    return rows


def ingest(rows):
    return services.ingest_events(actor=Actor.system("test"), channel=Channel.BACKOFFICE, rows=rows)
