"""The load test's mix (issue 18, section 4), run by `python -m bench.load.run` against `serve --production`.

One action of a simulated user is one of these, drawn with these weights (an action is one to three requests):

- 55 % (insured person) account pages and the app's API, one request: one of the pages `/compte/`,
  `/compte/messages/`, `/compte/documents/`, `/compte/rendez-vous/`, `/compte/acces-a-mon-dossier/` (session
  cookie), or `GET /api/v1/me`, `/me/inbox`, `/me/cases`, `/me/threads` (bearer token);
- 25 % (agent) the customer record, one request: the page `/agent/persons/<id>/` or
  `GET /api/v1/persons/<id>/record` (with a purpose), or a search (a name with a birth date, or a NIR) on the
  page `/agent/search/` or `GET /api/v1/persons/search`;
- 10 % (insured person) the attestation of rights, two requests: `POST /api/v1/teleservices/attestation_droits`,
  then the `GET` of its PDF;
- 5 % (insured person) the deposit of a 300 KB PDF (a scanned page) for a document request, one request:
  `POST /api/v1/documents/deposits`;
- 5 % (insured person) appointments, three requests: the free slots of a desk motive at one site of the caisse,
  booking one, cancelling it.

The user classes carry the split between persons (75) and agents (25); each person's tasks carry 55:10:5:5.
Each simulated user acts once a second on average, at random instants: its actions are a Poisson process
(`poisson_pacing(1)`: exponential gaps between scheduled starts, whatever the actions take), so the users' arrivals
add up to a Poisson process too, as those of millions of independent people do. The offered rate is set by the
number of users. (Until 2026-12-04 the users kept `constant_throughput(1)`, which keeps each user's phase: users
that start together act together every second. That made bursts no real population makes, and the requests queued
behind each burst: at 40 users on `/api/v1/me` alone, p50 70 ms at the client against 6 ms in the server; with
Poisson arrivals, 7 ms. See bench/RESULTS.md, "load test: the load generator's bursts".)

Logins and credentials come from `LOAD_CREDENTIALS` (a JSON file written by
`bench.load.credentials`); every request carries `X-Forwarded-Proto: https`, as behind the TLS proxy.

A booking answered 409 (the slot was taken in the meantime by another simulated person) is counted as a success
under the name `book (slot taken)`: it is the right answer under contention, not an error. Every other non-2xx
answer is a failure.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import uuid
from pathlib import Path

from locust import HttpUser, task

from bench.load.pacing import poisson_pacing
from bench.load.payloads import scanned_pdf

CREDENTIALS = (
    json.loads(Path(os.environ["LOAD_CREDENTIALS"]).read_text()) if "LOAD_CREDENTIALS" in os.environ else {}
)
_insured = itertools.cycle(CREDENTIALS.get("insured", []))
_agents = itertools.cycle(CREDENTIALS.get("agents", []))
PURPOSE = "Appel téléphonique entrant"

ACCOUNT_PAGES = [
    "/compte/",
    "/compte/messages/",
    "/compte/documents/",
    "/compte/rendez-vous/",
    "/compte/acces-a-mon-dossier/",
]
APP_API = ["/api/v1/me", "/api/v1/me/inbox", "/api/v1/me/cases", "/api/v1/me/threads"]


PDF = scanned_pdf() if CREDENTIALS else b""


class _Base(HttpUser):
    abstract = True
    wait_time = poisson_pacing(1.0)
    proxied = {"X-Forwarded-Proto": "https"}

    def page(self, path: str, name: str, **params: str) -> None:
        """A page of a logged-in session: only a 200 is a success (a redirect to the login page is a failure)."""
        with self.client.get(
            path,
            params=params,
            headers=self.page_headers,
            name=name,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")

    def _headers(self, creds: dict, *, session: bool) -> dict[str, str]:
        if session:
            return {**self.proxied, "Cookie": f"{CREDENTIALS['cookie']}={creds['session']}"}
        return {**self.proxied, "Authorization": f"Bearer {creds['token']}"}


class InsuredPerson(_Base):
    weight = 75

    def on_start(self) -> None:
        self.creds = next(_insured)
        self.page_headers = self._headers(self.creds, session=True)
        self.api = self._headers(self.creds, session=False)

    @task(55)
    def account(self) -> None:
        if random.random() < 0.5:
            path = random.choice(ACCOUNT_PAGES)
            self.page(path, path)
        else:
            path = random.choice(APP_API)
            self.client.get(path, headers=self.api, name=path)

    @task(10)
    def attestation(self) -> None:
        response = self.client.post(
            "/api/v1/teleservices/attestation_droits",
            json={"idempotency_key": uuid.uuid4().hex},
            headers=self.api,
            name="POST /api/v1/teleservices/attestation_droits",
        )
        if response.status_code == 201:
            url = response.json()["document_url"]
            self.client.get(url, headers=self.api, name="GET attestation PDF")

    @task(5)
    def deposit(self) -> None:
        self.client.post(
            "/api/v1/documents/deposits",
            data={
                "purpose_kind": "request",
                "purpose_ref": str(self.creds["document_request"]),
                "document_type": "bank_details",
            },
            files={"files": ("scan.pdf", PDF, "application/pdf")},
            headers=self.api,
            name="POST /api/v1/documents/deposits (300 KB PDF)",
        )

    @task(5)
    def appointment(self) -> None:
        sites = CREDENTIALS["sites"].get(self.creds["caisse"]) or []
        if not sites or not CREDENTIALS["motives"]:
            return
        motive = random.choice(CREDENTIALS["motives"])
        slots = self.client.get(
            "/api/v1/appointments/slots",
            params={"motive": motive, "site": random.choice(sites), "limit": 10},
            headers=self.api,
            name="GET /api/v1/appointments/slots",
        )
        if slots.status_code != 200 or not slots.json():
            return
        slot = random.choice(slots.json())
        with self.client.post(
            "/api/v1/appointments",
            json={"site": slot["site"], "motive": motive, "start": slot["start"]},
            headers=self.api,
            name="POST /api/v1/appointments",
            catch_response=True,
        ) as booked:
            if booked.status_code == 409:
                booked.request_meta["name"] = "POST /api/v1/appointments (slot taken)"
                booked.success()
                return
            if booked.status_code == 422:  # named by its error code and fields, to be explained in the report
                try:
                    error = booked.json().get("error", {})
                except ValueError:
                    error = {}
                booked.failure(f"422 {error.get('code')} {sorted(error.get('fields') or {})}")
                return
        if booked.status_code == 201:
            self.client.post(
                f"/api/v1/appointments/{booked.json()['id']}/cancel",
                json={"reason": "test de charge"},
                headers=self.api,
                name="POST /api/v1/appointments/{id}/cancel",
            )


class Agent(_Base):
    weight = 25

    def on_start(self) -> None:
        self.creds = next(_agents)
        self.page_headers = self._headers(self.creds, session=True)
        self.api = self._headers(self.creds, session=False)

    @task(3)
    def record(self) -> None:
        person = random.choice(self.creds["persons"])
        if random.random() < 0.5:
            self.page(f"/agent/persons/{person}/", "/agent/persons/{id}/", purpose=PURPOSE)
        else:
            self.client.get(
                f"/api/v1/persons/{person}/record",
                params={"purpose": PURPOSE},
                headers=self.api,
                name="GET /api/v1/persons/{id}/record",
            )

    @task(2)
    def search(self) -> None:
        name = random.choice(self.creds["searches"])
        if random.random() < 0.5:
            self.page("/agent/search/", "/agent/search/", q=name)
        else:
            self.client.get(
                "/api/v1/persons/search",
                params={"q": name},
                headers=self.api,
                name="GET /api/v1/persons/search",
            )
