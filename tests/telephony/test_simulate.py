import datetime as dt
import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from omniguichet.crm.models import Contact
from omniguichet.referential.models import ContactPoint
from omniguichet.telephony.models import Call, CallEvent

DAY = (timezone.localdate() - dt.timedelta(days=1)).isoformat()


@pytest.fixture
def callers(make_person, phone_agent):
    now = timezone.now()
    for i in range(20):
        person = make_person()
        ContactPoint.objects.create(
            person=person, kind="mobile", value=f"+336000000{i:02d}", verified=True, verified_at=now
        )


def run(*args) -> str:
    out = io.StringIO()
    call_command("simulate-calls", *args, "--no-progress", stdout=out)
    return out.getvalue()


def test_a_day_of_calls(callers):
    out = run("--calls", "400", "--day", DAY, "--caisse", "751")
    answered, abandoned = (int(n) for n in re.search(r"([\d,]+) answered, ([\d,]+) abandoned", out).groups())
    assert answered + abandoned == 400 == Call.objects.count()
    rate = float(re.search(r"answer rate ([\d.]+)%", out).group(1))
    assert 55 <= rate <= 97
    assert Call.objects.filter(answered_at__isnull=True).count() == abandoned
    identified = Call.objects.filter(person__isnull=False).count()
    assert 0.6 * 400 <= identified <= 0.9 * 400
    assert Contact.objects.filter(channel="phone").count() == identified
    assert (
        Contact.objects.filter(channel="phone", answered=False).count()
        == Call.objects.filter(person__isnull=False, answered_at__isnull=True).count()
    )
    # Peaks at 09:00 and 14:00: more calls in those hours than at 12:00 or 16:00.
    hours = [timezone.localtime(c.started_at).hour for c in Call.objects.all()]
    assert hours.count(9) > hours.count(12) and hours.count(14) > hours.count(16)
    before = (CallEvent.objects.count(), Contact.objects.count())
    assert "400 calls" in run("--calls", "400", "--day", DAY, "--caisse", "751")  # a replay changes nothing
    assert (CallEvent.objects.count(), Contact.objects.count()) == before


def test_refusals(callers):
    with pytest.raises(CommandError, match="caisse"):
        run("--calls", "10", "--day", DAY, "--caisse", "999")
    with pytest.raises(CommandError, match="past day"):
        run("--calls", "10", "--day", timezone.localdate().isoformat())
    with pytest.raises(CommandError, match="not a date"):
        run("--calls", "10", "--day", "yesterday")
