"""The load test's own parts (bench/load/): the logins it writes open real sessions and tokens, its command line
refuses bad input clearly, its CPU accounting adds up, and its upload is a 300 KB PDF."""

from __future__ import annotations

import io
import itertools
import json

import pytest
from bench.load import credentials, run
from bench.load.payloads import scanned_pdf
from django.test import Client


def test_credentials_refuse_a_database_that_is_not_the_load_tests(monkeypatch, tmp_path):
    monkeypatch.delenv("BENCH_LOAD_DATABASE", raising=False)
    with pytest.raises(SystemExit, match="only into the load test's own"):
        credentials.mint(out=str(tmp_path / "c.json"), insured=2, per_caisse=2)
    assert not (tmp_path / "c.json").exists()


@pytest.mark.django_db
def test_minted_logins_open_the_pages_and_the_api_of_the_mix(monkeypatch, tmp_path):
    from omniguichet.appointments.services import seed_sites
    from omniguichet.demo.services import seed_population

    seed_population(persons=400, seed=7)
    seed_sites()
    monkeypatch.setenv("BENCH_LOAD_DATABASE", "1")
    out = tmp_path / "credentials.json"
    counts = credentials.mint(out=str(out), insured=5, per_caisse=3)
    data = json.loads(out.read_text())
    assert counts["insured"] == 5 and counts["agents"] >= 1 and data["motives"]
    cookie = data["cookie"]

    person = data["insured"][0]
    page = Client()
    page.cookies[cookie] = person["session"]
    assert page.get("/compte/").status_code == 200
    assert page.get("/compte/messages/").status_code == 200
    api = Client(HTTP_AUTHORIZATION=f"Bearer {person['token']}")
    assert api.get("/api/v1/me").status_code == 200
    purposes = api.get("/api/v1/documents/purposes").json()
    assert any(p["ref"] == str(person["document_request"]) for p in purposes)

    agent = data["agents"][0]
    console = Client()
    console.cookies[cookie] = agent["session"]
    purpose = "Appel téléphonique entrant"
    response = console.get(f"/agent/persons/{agent['persons'][0]}/", {"purpose": purpose})
    assert response.status_code == 200  # not a redirect to the login or to the second factor
    assert console.get("/agent/search/", {"q": agent["searches"][0]}).status_code == 200
    agent_api = Client(HTTP_AUTHORIZATION=f"Bearer {agent['token']}")
    record = agent_api.get(f"/api/v1/persons/{agent['persons'][0]}/record", {"purpose": purpose})
    assert record.status_code == 200
    for query in agent["searches"][:2]:
        assert agent_api.get("/api/v1/persons/search", {"q": query}).status_code == 200


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--web", "0"], "numbers of at least 1"),
        (["--web", "1,two"], "comma-separated list of whole numbers"),
        (["--persons", "10"], "below the minimum 1000"),
        (["--step-seconds", "abc"], "not a whole number"),
    ],
)
def test_the_command_line_names_what_is_wrong(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        run.parse_args(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_cpu_of_process_trees_and_of_the_rest_of_the_machine(monkeypatch):
    processes = {
        10: (1, 1.0, "python -m omniguichet.cli serve --production"),
        11: (10, 5.0, "python -m gunicorn omniguichet.wsgi:application --workers 2"),
        12: (10, 2.0, "python -m omniguichet.cli worker"),
        20: (1, 3.0, "postgres -D /tmp/x"),
        21: (20, 4.0, "postgres: bench"),
        30: (1, 9.0, "someone else"),
    }
    assert run._tree(processes, 10) == {10, 11, 12}
    monkeypatch.setattr(run, "_processes", lambda: processes)
    monkeypatch.setattr(run, "_machine_busy", lambda: 100.0)
    before = run.sample_cpu({"web": 10, "postgres": 20}, split={" worker": "task workers"})
    assert before.groups == {"web": 6.0, "task workers": 2.0, "postgres": 7.0}
    after = run.CpuSample(
        groups={"web": 16.0, "task workers": 3.0, "postgres": 12.0}, machine=130.0, at=before.at + 10
    )
    split = run.cpu_split(before, after)
    assert split == pytest.approx({"web": 1.0, "task workers": 0.1, "postgres": 0.5, "other": 1.4})
    step = run.Step(web=2, users=10, seconds=10, requests=500, rate=50.0, cpu=split)
    assert run.cpu_per_request(step) == pytest.approx({"web": 20.0, "postgres": 10.0, "task workers": 2.0})


def test_a_step_passes_only_with_no_error_and_p99_within_300_ms():
    assert run.Step(web=1, users=5, seconds=60, requests=100, p99=300.0).passed
    assert not run.Step(web=1, users=5, seconds=60, requests=100, p99=301.0).passed
    assert not run.Step(web=1, users=5, seconds=60, requests=100, failures=1, p99=10.0).passed
    assert not run.Step(web=1, users=5, seconds=60, requests=0).passed


def test_the_deposit_is_a_pdf_of_about_300_kb():
    from pypdf import PdfReader

    pdf = scanned_pdf()
    assert 290_000 <= len(pdf) <= 310_000
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1


def test_the_simulated_users_act_as_a_poisson_process_whatever_their_actions_take(monkeypatch):
    """bench/load/pacing.py (the locustfile's wait_time): exponential gaps between scheduled starts, mean 1 s, not
    phase-locked, and no burst to catch up after a slow action."""
    import random
    import statistics

    from bench.load import pacing

    clock = [100.0]
    monkeypatch.setattr(pacing.time, "monotonic", lambda: clock[0])
    random.seed(7)
    wait = pacing.poisson_pacing(1.0)

    class User:
        pass

    user = User()
    starts = []
    for n in range(4000):
        clock[0] += 0.3 if n % 2 else 0.01  # the action itself: short or slower
        pause = wait(user)
        assert pause >= 0
        clock[0] += pause
        starts.append(clock[0])
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    # A Poisson process of rate 1 (thinned a little where an action outlasts its gap): mean near 1 s and the
    # spread of an exponential law (standard deviation near the mean), where constant_throughput gives 1 s exactly.
    assert 0.95 < statistics.mean(gaps) < 1.15
    assert statistics.stdev(gaps) > 0.7
    # Behind schedule (an action of 5 s), the user acts at once, then goes on at its rate: no burst of zero waits.
    clock[0] += 5.0
    assert wait(user) == 0
    assert sum(wait(user) == 0 for _ in range(20)) <= 2
