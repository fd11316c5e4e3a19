"""The code of an e-mail or mobile change is a guess like any other: wrong codes count per client address too
(code.address, docs/security.md), on the API and the pages, not only on the code itself."""

from __future__ import annotations

from omniguichet.core import throttle
from tests.accounts.conftest import last_code

URL = "/api/v1/teleservices/changement_contact"


def test_wrong_contact_change_codes_are_throttled_per_address(app, person):
    started = app.post(URL, {"data": {"kind": "email", "value": "nouveau@example.org"}}, "application/json")
    assert started.status_code == 201
    challenge = started.json()["result"]["challenge"]
    free = throttle.limit("code.address").free
    statuses = [
        app.post(
            URL, {"data": {"kind": "email", "challenge": challenge, "code": "000000"}}, "application/json"
        ).status_code
        for _ in range(free + 1)
    ]
    assert set(statuses[:free]) == {422}
    assert statuses[free] == 429


def test_five_wrong_codes_use_the_code_up_even_though_each_refusal_rolls_the_request_back(
    app, person, code_sink
):
    started = app.post(URL, {"data": {"kind": "email", "value": "nouveau@example.org"}}, "application/json")
    challenge = started.json()["result"]["challenge"]
    right = last_code("contact_change")
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(5):
        body = {"data": {"kind": "email", "challenge": challenge, "code": wrong}}
        assert app.post(URL, body, "application/json").status_code == 422
    late = app.post(
        URL, {"data": {"kind": "email", "challenge": challenge, "code": right}}, "application/json"
    )
    assert late.status_code == 422  # the code is used up: its five attempts were kept
    assert not person.contact_points.filter(value="nouveau@example.org", verified=True).exists()
