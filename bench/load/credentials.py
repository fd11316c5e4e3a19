"""The load test's logins, written straight into the load test's own database (nothing added to the server).

Logging in for real costs what it costs a person: an argon2 hash (about 0.1 s of CPU) for an insured person, a
password plus a TOTP code for an agent. The issue's mix has no login in it, and a few thousand simulated persons
logging in at each step would measure argon2, not the pages. So this module, run by `bench.load.run` in its own
process with the database's address and the server's SECRET_KEY, does what the login views and
`omniguichet token` do, directly:

- for a sample of seeded account holders: a login (username = NIR, one shared demo hash, like the demo's own
  insured logins), an API bearer token (`core.services.issue_token`, the function `omniguichet token` calls), and
  a session opened with Django's `login()` through the test client's `force_login` (the same session rows,
  cookies and `_auth_user_hash` as after the login page), plus a document request to deposit a file for;
- for every caisse's demo agent (`agent-<code>`, seeded by the demo with its TOTP device): a token, and a session
  opened with `login()` and marked verified by that device (django-otp's `otp_device_id`), so that the second
  factor is passed as after `/agent/login/code/`.

Nothing here is reachable through the web server, and no setting turns anything on: whoever can run it can
already write in the database. It refuses to run on a database that is not the load test's
(`BENCH_LOAD_DATABASE=1`, set by `bench.load.run` for the cluster it creates).
"""

from __future__ import annotations

import json
import os
import random
import sys


def mint(*, out: str, insured: int, per_caisse: int, seed: int = 18) -> dict:
    if os.environ.get("BENCH_LOAD_DATABASE") != "1":
        raise SystemExit(
            "bench.load.credentials writes logins into the database: only into the load test's own"
        )
    import django
    from django.apps import apps

    if not apps.ready:  # (in a test process Django is set up already: a second setup would reset its logging)
        django.setup()
    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.test import Client
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from omniguichet.accounts.models import Account, AccountStatus
    from omniguichet.appointments.models import AppointmentMotive, Mode, Site
    from omniguichet.core.services import issue_token
    from omniguichet.core.web import INSURED_BACKEND
    from omniguichet.documents.models import DocumentRequest
    from omniguichet.referential.models import Person, User

    rng = random.Random(seed)
    if "testserver" not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]  # the test client's login
    holders = list(
        Account.objects.filter(
            user__isnull=True,
            status=AccountStatus.ACTIVE,
            person__parent__isnull=True,
            person__rights_to__isnull=True,
        ).values_list("person_id", flat=True)
    )
    chosen = sorted(rng.sample(holders, min(insured, len(holders))))
    persons = {p.pk: p for p in Person.objects.filter(pk__in=chosen).only("pk", "nir", "caisse_id")}
    password = make_password("load-test-not-a-real-password")
    cookie = settings.SESSION_COOKIE_NAME
    insured_out = []
    with transaction.atomic():
        users = User.objects.bulk_create(
            [User(username=persons[pk].nir, password=password) for pk in chosen], batch_size=2000
        )
        for pk, user in zip(chosen, users, strict=True):
            Account.objects.filter(person_id=pk).update(user=user)
        requests = DocumentRequest.objects.bulk_create(
            [DocumentRequest(person_id=pk, document_types=["bank_details"], label="RIB") for pk in chosen],
            batch_size=2000,
        )
    for pk, user, request in zip(chosen, users, requests, strict=True):
        _token, secret = issue_token(user=user, label="load test")
        client = Client()
        client.force_login(user, backend=INSURED_BACKEND)
        insured_out.append(
            {
                "person_id": pk,
                "caisse": persons[pk].caisse_id,
                "token": secret,
                "session": client.cookies[cookie].value,
                "document_request": request.pk,
            }
        )
    agents_out = []
    devices = {d.user_id: d for d in TOTPDevice.objects.filter(user__username__startswith="agent-")}
    for agent in User.objects.filter(username__startswith="agent-").order_by("username"):
        device = devices.get(agent.pk)
        if device is None or agent.caisse_id is None:
            continue
        ids = list(Person.objects.filter(caisse_id=agent.caisse_id).values_list("pk", flat=True)[:20000])
        sample = rng.sample(ids, min(per_caisse, len(ids)))
        if not sample:
            continue
        # What an agent types: a name with a birth date, or a NIR (crm.services.search_persons).
        names = [
            f"{family} {birth:%d/%m/%Y}" if i % 2 else nir
            for i, (family, birth, nir) in enumerate(
                Person.objects.filter(pk__in=sample[:60]).values_list("family_name", "birth_date", "nir")
            )
        ]
        _token, secret = issue_token(user=agent, label="load test")
        client = Client()
        client.force_login(agent)
        session = client.session
        session["otp_device_id"] = device.persistent_id
        session.save()
        agents_out.append(
            {
                "caisse": agent.caisse_id,
                "token": secret,
                "session": client.cookies[cookie].value,
                "persons": sample,
                "searches": names,
            }
        )
    motives = list(
        AppointmentMotive.objects.filter(active=True, mode=Mode.DESK).values_list("code", flat=True)
    )
    sites: dict[str, list[int]] = {}
    for site_id, caisse in Site.objects.values_list("pk", "caisse_id"):
        sites.setdefault(caisse, []).append(site_id)
    result = {
        "cookie": cookie,
        "insured": insured_out,
        "agents": agents_out,
        "motives": motives,
        "sites": sites,
    }
    with open(out, "w") as f:
        json.dump(result, f)
    return {"insured": len(insured_out), "agents": len(agents_out), "motives": len(motives)}


if __name__ == "__main__":
    print(json.dumps(mint(out=sys.argv[1], insured=int(sys.argv[2]), per_caisse=int(sys.argv[3]))))
