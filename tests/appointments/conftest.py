import datetime as dt
import itertools
import json
from pathlib import Path

import pytest
from django.utils import timezone

from omniguichet.accounts.models import Account
from omniguichet.appointments.models import AgentAvailability, AppointmentMotive, OpeningHours, Site
from omniguichet.appointments.services import PARIS
from omniguichet.core.actors import insured_actor
from omniguichet.outreach.models import OutboundMessage
from omniguichet.referential.models import ContactPoint, Role
from tests.conftest import make_user

_logins = itertools.count(1)


@pytest.fixture(autouse=True)
def _sink(settings, tmp_path):
    """Links in messages use a fixed public address; the outreach providers' file sinks write under tmp_path."""
    settings.OMNIGUICHET_PUBLIC_URL = "https://omniguichet.test"
    settings.OUTREACH_OUTBOX_DIR = tmp_path / "outbox"
    settings.OUTREACH_SMS_PROVIDER = "file"
    return settings.OUTREACH_OUTBOX_DIR


def sent(channel: str = "sms", person=None) -> list[OutboundMessage]:
    """The messages of the outbound ledger on a channel (optionally to one person), oldest first."""
    messages = OutboundMessage.objects.filter(channel=channel)
    if person is not None:
        messages = messages.filter(person=person)
    return list(messages.order_by("id"))


def sink_lines(outbox: Path, channel: str = "sms") -> list[dict]:
    """What the outreach file provider handed over (after `outreach.services.drain()`)."""
    path = Path(outbox) / f"{channel}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


HOURS = [(dt.time(8, 30), dt.time(12, 0)), (dt.time(13, 30), dt.time(16, 30))]


def make_site(caisse, agents, *, name="Accueil Paris 11e", weekdays=range(5), hours=HOURS) -> Site:
    site = Site.objects.create(caisse=caisse, name=name, city="Paris", slot_minutes=15)
    for d in weekdays:
        for opens, closes in hours:
            OpeningHours.objects.create(site=site, weekday=d, opens=opens, closes=closes)
            for agent in agents:
                AgentAvailability.objects.create(site=site, agent=agent, weekday=d, starts=opens, ends=closes)
    return site


@pytest.fixture
def second_agent_paris(caisse_paris):
    return make_user("agent-paris-2", role=Role.RECEPTION_AGENT, caisse=caisse_paris)


@pytest.fixture
def site_paris(caisse_paris, agent_paris, second_agent_paris) -> Site:
    return make_site(caisse_paris, [agent_paris, second_agent_paris])


@pytest.fixture
def site_ain(caisse_ain, agent_ain) -> Site:
    return make_site(caisse_ain, [agent_ain], name="Accueil Bourg-en-Bresse")


@pytest.fixture
def motive(db) -> AppointmentMotive:
    return AppointmentMotive.objects.get(pk="ij_dossier")  # desk, 30 min, 24 h to 60 days ahead


@pytest.fixture
def phone_motive(db) -> AppointmentMotive:
    return AppointmentMotive.objects.get(pk="remboursement_rappel")  # phone, 15 min, 2 h to 30 days ahead


def next_workday(days_ahead: int = 3) -> dt.date:
    day = timezone.localdate() + dt.timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute)).replace(tzinfo=PARIS)


def insured_login(person):
    """A login attached to the person's online account."""
    user = make_user(f"insured-{next(_logins)}", role="")
    Account.objects.create(person=person, user=user, opened_at=timezone.now())
    return user


@pytest.fixture
def insured(make_person):
    """An insured person of the Paris caisse with a login, a verified mobile and e-mail; returns (person, actor)."""
    person = make_person(family_name="Lefèvre", given_names="Marie")
    now = timezone.now()
    ContactPoint.objects.create(
        person=person, kind="mobile", value="+33698765432", verified=True, verified_at=now
    )
    ContactPoint.objects.create(
        person=person, kind="email", value="marie.lefevre@orange.example", verified=True, verified_at=now
    )
    user = insured_login(person)
    return person, insured_actor(user)
