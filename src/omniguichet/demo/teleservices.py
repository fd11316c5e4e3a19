"""Demo data of the online services: reimbursements and sick-pay payments of account holders, and a few demo
logins of insured persons so that every service has something real to show."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from omniguichet.accounts.models import Account
from omniguichet.referential.models import Person, PersonStatus, User
from omniguichet.teleservices.models import Reimbursement, SickPayPayment

DEMO_INSURED_PASSWORD = "demo-assure-2026"
DEMO_INSURED_LOGINS = 3
BATCH = 5_000
CARE = [
    ("Consultation médecin généraliste", "30.00", 0.7, "Dr"),
    ("Consultation spécialiste", "50.00", 0.7, "Dr"),
    ("Pharmacie", "18.40", 0.65, "Pharmacie"),
    ("Soins infirmiers", "22.00", 0.6, "Cabinet infirmier"),
    ("Kinésithérapie", "16.13", 0.6, "Cabinet de kinésithérapie"),
    ("Analyses de laboratoire", "35.10", 0.6, "Laboratoire"),
    ("Soins dentaires", "60.00", 0.7, "Dr"),
]
SURNAMES = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
]


def _ensure_demo_logins(rng: random.Random) -> list[Person]:
    """Give a login to a few account holders with a verified mobile (username = NIR, demo password)."""
    persons = list(
        Person.objects.filter(
            account__isnull=False,
            account__user__isnull=True,
            parent__isnull=True,
            rights_to__isnull=True,
            contact_points__kind="mobile",
            contact_points__verified=True,
        ).order_by("pk")[:DEMO_INSURED_LOGINS]
    )
    password = make_password(DEMO_INSURED_PASSWORD)
    for person in persons:
        user = User.objects.create(
            username=person.nir,
            password=password,
            first_name=person.given_names[:150],
            last_name=person.family_name[:150],
        )
        Account.objects.filter(person=person).update(user=user)
    return persons


def seed_online_services(*, seed: int = 42, per_person: int = 8) -> str:
    """Reimbursements for every account holder, sick pay for some employees; returns a summary line."""
    rng = random.Random(seed)
    today = timezone.localdate()
    reimbursements = sick_pay = 0
    # Account holders without reimbursements yet: a second run (seed --append) only adds to the new persons.
    holders = Person.objects.filter(account__isnull=False, reimbursements__isnull=True).values_list(
        "pk", "status"
    )
    with transaction.atomic():
        has_logins = Account.objects.filter(user__isnull=False).exists()
        demo = [] if has_logins else _ensure_demo_logins(rng)
        demo_ids = {p.pk for p in demo}
        rows: list[Reimbursement] = []
        ij_rows: list[SickPayPayment] = []
        for pid, status in holders.iterator(chunk_size=BATCH):
            for _ in range(rng.randint(per_person // 2, per_person * 2)):
                label, base, rate, who = rng.choice(CARE)
                care = today - dt.timedelta(days=rng.randint(5, 720))
                charged = Decimal(base) * Decimal(rng.choice(["1", "1", "1.2", "1.5"]))
                rows.append(
                    Reimbursement(
                        person_id=pid,
                        care_date=care,
                        paid_on=care + dt.timedelta(days=rng.randint(2, 10)),
                        label=label,
                        professional=f"{who} {rng.choice(SURNAMES)}",
                        amount_charged=charged,
                        amount_reimbursed=(charged * Decimal(str(rate))).quantize(Decimal("0.01")),
                    )
                )
            if pid in demo_ids or (status == PersonStatus.EMPLOYEE and rng.random() < 0.08):
                start = today - dt.timedelta(days=rng.randint(40, 330))
                daily = Decimal(rng.randint(2500, 5500)) / 100
                for _ in range(rng.randint(1, 3)):
                    days = rng.randint(3, 20)
                    end = start + dt.timedelta(days=days - 1)
                    ij_rows.append(
                        SickPayPayment(
                            person_id=pid,
                            period_from=start,
                            period_to=end,
                            days=days,
                            daily_amount=daily,
                            amount=daily * days,
                            paid_on=min(end + dt.timedelta(days=7), today),
                        )
                    )
                    start = end + dt.timedelta(days=1)
            if len(rows) >= BATCH:
                Reimbursement.objects.bulk_create(rows, batch_size=1000)
                reimbursements += len(rows)
                rows = []
        Reimbursement.objects.bulk_create(rows, batch_size=1000)
        SickPayPayment.objects.bulk_create(ij_rows, batch_size=1000)
        reimbursements += len(rows)
        sick_pay = len(ij_rows)
    summary = f"Online services: {reimbursements:,} reimbursements, {sick_pay:,} sick-pay payments."
    if demo:
        logins = ", ".join(p.nir for p in demo)
        summary += f" Demo insured logins (NIR / {DEMO_INSURED_PASSWORD}) at /compte/connexion/: {logins}."
    return summary
