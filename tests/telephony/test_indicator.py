"""An abandoned call counts against phone_answer_rate: ingested events -> contacts -> warehouse -> indicator."""

import csv
import datetime as dt

from django.conf import settings as django_settings
from django.test import Client

from omniguichet.analytics import services as analytics
from omniguichet.core.actors import Actor, Channel
from omniguichet.referential.models import Role
from tests.conftest import make_user
from tests.telephony.conftest import call_lines, ingest, new_call_id


def test_abandoned_calls_count_against_the_answer_rate(
    settings, tmp_path, monkeypatch, paris_person, phone_agent
):
    monkeypatch.setenv("OMNIGUICHET_PSEUDONYM_KEY", "telephony-tests")
    settings.ANALYTICS_WAREHOUSE_DIR = tmp_path / "warehouse"
    settings.ANALYTICS_BONUS_WEIGHTS = ""
    analytics._memo.clear()
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    ingest(call_lines(new_call_id(), start=start))  # answered
    ingest(call_lines(new_call_id(), agent=None, waited=50, start=start + dt.timedelta(hours=1)))  # abandoned
    ingest(call_lines(new_call_id(), agent=None, waited=5, start=start + dt.timedelta(hours=2)))  # abandoned
    analytics.export_warehouse(
        actor=Actor.system(), channel=Channel.BACKOFFICE, out=django_settings.ANALYTICS_WAREHOUSE_DIR
    )
    client = Client()
    client.force_login(make_user("manager-paris", role=Role.MANAGER, caisse=paris_person.caisse))
    response = client.get("/analytics/caisses/751/indicators.csv?year=2026")
    indicators = {r["indicator"]: r for r in csv.DictReader(response.content.decode().splitlines())}
    rate = indicators["phone_answer_rate"]
    assert (rate["numerator"], rate["denominator"]) == ("1", "3")
