import datetime as dt
import itertools

import pytest
from django.utils import timezone

from omniguichet.referential.models import Role
from tests.conftest import make_user

_ids = itertools.count(1)


@pytest.fixture
def backoffice_paris(caisse_paris):
    return make_user("bo-paris", role=Role.BACKOFFICE_AGENT, caisse=caisse_paris)


def event(reference: str, sequence: int, event_type: str, payload: dict | None = None, *,
          event_id: str | None = None, occurred_at: dt.datetime | None = None) -> dict:  # fmt: skip
    when = occurred_at or timezone.now() - dt.timedelta(minutes=60 - sequence)
    return {
        "event_id": event_id or f"ev-{next(_ids)}",
        "case_reference": reference,
        "sequence": sequence,
        "type": event_type,
        "occurred_at": when.isoformat(),
        "payload": payload or {},
    }


def opened(reference: str, person, case_type: str = "sick_pay", **payload) -> dict:
    return event(reference, 1, "opened", {"person_id": person.pk, "case_type": case_type, **payload})


from tests.crm.conftest import ain_person, paris_person  # noqa: E402, F401  (shared fixtures)
