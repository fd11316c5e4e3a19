"""The speed benches' own parts (bench/messaging.py, bench/mailin.py): the CPU read from /proc adds up, the
profile by layer runs on real requests and e-mails, the HTTP client sends real messages over a keep-alive
connection and counts them."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time

import pytest
from bench import mailin as mailin_bench
from bench import messaging as messaging_bench
from django.test import Client

from omniguichet.core.services import issue_token
from omniguichet.messaging.models import Message


def test_cpu_of_a_process_tree_is_read_from_proc():
    import os

    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\nt=time.process_time()\nwhile time.process_time()-t<0.3: pass\ntime.sleep(5)",
        ]
    )
    try:
        time.sleep(1.0)
        tree = messaging_bench._tree(os.getpid())
        assert os.getpid() in tree and child.pid in tree
        assert messaging_bench._cpu_seconds(child.pid) >= 0.25
        assert messaging_bench._cpu_seconds(2**22 + 7) == 0.0  # no such process
    finally:
        child.kill()
        child.wait()


def _clients(user):
    token = issue_token(user=user)[1]
    client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {token}")
    thread = client.post(
        "/api/v1/me/threads", {"motive": "autre", "body": "Bonjour"}, content_type="application/json"
    )
    assert thread.status_code == 201, thread.content
    return [client], {0: thread.json()["thread"]["id"]}


def test_the_messaging_profile_prints_its_layers(insured, capsys):
    _person, user = insured
    clients, threads = _clients(user)
    messaging_bench._profile(clients, threads, 6)
    out = capsys.readouterr().out
    assert "the service (messaging.services.write_message)" in out and "SQL statements" in out
    assert Message.objects.count() == 7


@pytest.mark.django_db(transaction=True)
def test_the_http_client_sends_messages_over_one_connection(live_server, make_person):
    from django.utils import timezone

    from omniguichet.accounts.models import Account
    from tests.conftest import make_user

    person = make_person(family_name="Martin", given_names="Claire")
    user = make_user("claire.http", role="", caisse=None)
    Account.objects.create(person=person, user=user, opened_at=timezone.now())
    clients, threads = _clients(user)
    port = int(live_server.url.rsplit(":", 1)[1])
    start, results = threading.Event(), queue.Queue()
    start.set()
    tokens = [(clients[0].defaults["HTTP_AUTHORIZATION"], threads[0])]
    messaging_bench._http_client(port, tokens, 1.0, start, results)
    durations, errors, cpu = results.get(timeout=5)
    assert durations and errors == 0 and cpu >= 0
    assert Message.objects.count() == 1 + len(durations)


def test_the_mailin_profile_stores_the_mix(make_person, capsys):
    from django.utils import timezone

    from omniguichet.referential.models import ContactPoint

    person = make_person(family_name="Martin", given_names="Claire")
    sender = "claire.martin@example.org"
    ContactPoint.objects.create(
        person=person, kind="email", value=sender, verified=True, verified_at=timezone.now()
    )
    pdf = mailin_bench._pdf()
    batches = {c: mailin_bench._messages(c, 4, [sender], pdf) for c in (1, 2, 3)}
    mailin_bench._profile(batches, 6)
    out = capsys.readouterr().out
    assert "parsing (email package, nh3)" in out and "classifier" in out
    assert Message.objects.count() == 6
