import datetime as dt
import json
import re
from pathlib import Path

import pytest
from django.utils import timezone

from omniguichet.accounts.models import Account
from omniguichet.referential.models import ContactPoint, User

PASSWORD = "Un-mot-de-passe-solide-2026"


@pytest.fixture(autouse=True)
def code_sink(settings, tmp_path):
    """The outreach providers' sinks of this test (SMS and letters in files, e-mail in Django's outbox)."""
    settings.OUTREACH_OUTBOX_DIR = tmp_path / "outbox"
    settings.OUTREACH_SMS_PROVIDER = "file"
    return settings.OUTREACH_OUTBOX_DIR


def sent_codes() -> list[dict]:
    """The one-time codes the providers received, oldest first: the ledger is dispatched first (as the worker
    would), then the code is read from what each provider got. Each has channel, to, text, code, purpose."""
    from django.conf import settings
    from django.core import mail

    from omniguichet.accounts.models import OneTimeCode
    from omniguichet.outreach.services import drain

    drain()
    received = []
    for channel, name in (("sms", "sms"), ("letter", "letters")):
        path = Path(settings.OUTREACH_OUTBOX_DIR) / f"{name}.jsonl"
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                item = json.loads(line)
                received.append(
                    {"channel": channel, "key": item["key"], "to": item["to"], "text": item["text"]}
                )
    for email in mail.outbox:
        key = email.extra_headers.get("X-Idempotency-Key", "")
        received.append({"channel": "email", "key": key, "to": email.to[0], "text": email.body})
    codes = []
    for item in received:
        match = re.match(r"request:otc-(\d+):", item["key"])
        if match is None:
            continue
        otc = OneTimeCode.objects.filter(pk=int(match.group(1))).first()
        if otc is None:
            continue
        found = re.search(r"\b(\d{6})\b", item["text"])
        item.update(code=found.group(1) if found else "", purpose=otc.purpose, otc_id=otc.pk)
        codes.append(item)
    return sorted(codes, key=lambda c: c["otc_id"])


def last_code(purpose: str | None = None) -> str:
    codes = [c for c in sent_codes() if purpose is None or c["purpose"] == purpose]
    return codes[-1]["code"]


@pytest.fixture
def person(make_person):
    person = make_person(
        family_name="Lefèvre",
        given_names="Marie",
        birth_date=dt.date(1984, 12, 3),
        address_line="3 rue des Lilas",
        postcode="75011",
        city="Paris",
        rights_from=dt.date(2010, 1, 1),
    )
    ContactPoint.objects.create(
        person=person, kind="mobile", value="+33698765432", verified=True, verified_at=timezone.now()
    )
    return person


@pytest.fixture
def insured(person) -> User:
    """An activated account with its login (username = NIR)."""
    user = User.objects.create_user(username=person.nir, password=PASSWORD)
    Account.objects.create(person=person, user=user, opened_at=timezone.now())
    return user
