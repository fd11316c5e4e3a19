"""The attacker's probe list of issue 19, replayed from outside against a running platform (real HTTP).

    python -m tests.security.live_probes --url http://127.0.0.1:8000      # against `make demo`, from the project

Each probe prints one line: PASS or FAIL, what was sent and what came back. The probes come from several loopback
addresses (127.0.0.x: an attacker's and an owner's), as they would from the Internet, so that the per-address
limits show as they do in use. What an attacker is assumed to know (a NIR with an account and its birth date, a
reception site, a staff login) is looked up in the platform's database with `--discover` (the default), through
the same settings and environment as the server; an API token for the NUL probe is issued the same way.
`tests/security/test_live_probes.py` runs them against `omniguichet serve` on a fresh demo database.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

ATTACKER = "127.0.0.66"
OWNER = "127.0.0.20"
NEXT_VALUES = ["x y", "abc(", "(", "%2F%2F", "//evil.example/", "https://evil.example/", "/\\evil.example"]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass
class Browser:
    """A visitor from one source address, keeping its cookies, sending the CSRF token forms carry."""

    base: str
    address: str
    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> Answer:
        url = urlsplit(self.base)
        connection = http.client.HTTPConnection(
            url.hostname, url.port or 80, timeout=30, source_address=(self.address, 0)
        )
        sent = {"Host": url.netloc, "Referer": self.base + "/", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            answer = Answer(
                response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode()
            )
            for line in response.headers.get_all("Set-Cookie") or []:
                cookie = SimpleCookie(line)
                for name, morsel in cookie.items():
                    self.cookies[name] = morsel.value
        finally:
            connection.close()
        return answer

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def post_form(self, path: str, data: dict[str, str], *, form_path: str | None = None) -> Answer:
        """Open the form's page first (its CSRF token), then send the form as a browser would."""
        page = self.get(form_path or path)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
        fields = {
            **data,
            "csrfmiddlewaretoken": token.group(1) if token else self.cookies.get("csrftoken", ""),
        }
        return self.request(
            "POST", path, urlencode(fields).encode(), {"Content-Type": "application/x-www-form-urlencoded"}
        )

    def post_json(self, path: str, payload: object, token: str = "") -> Answer:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.request("POST", path, json.dumps(payload).encode(), headers)


@dataclass
class Target:
    """What the attacker is assumed to know."""

    nir: str
    birth_date: str  # dd/mm/yyyy as the forms take it
    password: str  # the owner's (the owner logs in after the attacker)
    unknown_nir: str  # a well-formed NIR of nobody, same birth date
    site_id: int
    staff_user: str
    person_id: int  # a person of the staff login's caisse (the API probe)
    api_token: str


def same_page(body: str, *typed: str) -> str:
    """A page with what legitimately differs taken out: the CSRF token and the values the visitor typed."""
    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body)
    for value in typed:
        body = body.replace(value, "VALUE")
    return body


Result = tuple[bool, str]


def staff_password_throttle(base: str, target: Target, path: str) -> Result:
    attacker = Browser(base, "127.0.0.31" if path.startswith("/agent") else "127.0.0.32")
    statuses = [
        attacker.post_form(path, {"username": target.staff_user, "password": f"guess-{n}"}).status
        for n in range(30)
    ]
    right = attacker.post_form(path, {"username": target.staff_user, "password": "demo-agent-2026"})
    ok = statuses[:5] == [200] * 5 and set(statuses[5:]) == {429} and right.status == 429
    ok = ok and int(right.header("Retry-After") or 0) > 0
    return ok, f"30 wrong passwords: {statuses[:6]}...; then the right one: {right.status}"


def insured_login_same_answer(base: str, target: Target) -> Result:
    answers = []
    for nir in (target.nir, target.unknown_nir):
        answer = Browser(base, "127.0.0.41").post_form(
            "/compte/connexion/", {"nir": nir, "password": "wrong-pass"}
        )
        answers.append((answer.status, same_page(answer.body, nir)))
    return answers[0] == answers[
        1
    ], f"known and unknown NIR: {answers[0][0]} / {answers[1][0]}, same page: " + str(
        answers[0][1] == answers[1][1]
    )


def activation_and_reset_same_answer(base: str, target: Target) -> Result:
    seen = []
    for path, data in (
        ("/compte/activation/", {"birth_date": target.birth_date, "delivery": "sms"}),
        ("/compte/mot-de-passe/", {"birth_date": target.birth_date}),
    ):
        answers = []
        for nir in (target.nir, target.unknown_nir):
            visitor = Browser(base, "127.0.0.42")
            answer = visitor.post_form(path, {"nir": nir, **data})
            answers.append((answer.status, answer.header("Location")))
        seen.append(answers)
    ok = all(a[0] == a[1] and a[0][0] == 302 for a in seen)
    return ok, f"activation {seen[0]}, reset {seen[1]}"


def kiosk_same_answer(base: str, target: Target) -> Result:
    iso = "-".join(reversed(target.birth_date.split("/")))
    answers = []
    for nir in (target.nir, target.unknown_nir):
        answer = Browser(base, "127.0.0.43").post_form(
            f"/reception/{target.site_id}/kiosk", {"nir": nir, "birth_date": iso}
        )
        answers.append((answer.status, same_page(answer.body, nir)))
    return answers[0] == answers[1], f"kiosk identification: {answers[0][0]} / {answers[1][0]}"


def stranger_cannot_lock_out(base: str, target: Target) -> Result:
    stranger = Browser(base, ATTACKER)
    statuses = [
        stranger.post_form("/compte/connexion/", {"nir": target.nir, "password": f"guess-{n}"}).status
        for n in range(30)
    ]
    owner = Browser(base, OWNER).post_form(
        "/compte/connexion/", {"nir": target.nir, "password": target.password}
    )
    ok = 429 in statuses and owner.status == 302 and "connexion" not in owner.header("Location")
    return ok, f"stranger: {statuses[:6]}...; owner from home: {owner.status} -> {owner.header('Location')}"


def check_in_codes_throttled(base: str, target: Target) -> Result:
    kiosk = Browser(base, "127.0.0.44")
    statuses = [
        kiosk.post_form(f"/reception/{target.site_id}/kiosk", {"code": f"WRONG{n:05d}"}).status
        for n in range(20)
    ]
    return 429 in statuses and statuses[0] == 422, f"20 wrong check-in codes: {statuses}"


def nul_refused(base: str, target: Target) -> Result:
    api = Browser(base, "127.0.0.45")
    answer = api.post_json(
        f"/api/v1/persons/{target.person_id}/contacts",
        {"channel": "phone", "motive": "autre", "note": "a\u0000b"},
        target.api_token,
    )
    try:
        error = json.loads(answer.body)["error"]
    except (ValueError, KeyError):
        return False, f"API contact with NUL: {answer.status}, not the API's error format"
    form = Browser(base, "127.0.0.45").post_form("/compte/connexion/", {"nir": "1\u00002", "password": "x"})
    ok = answer.status == 422 and "note" in error.get("fields", {}) and form.status == 422
    return (
        ok,
        f"API contact with NUL: {answer.status} fields={list(error.get('fields', {}))}; login form: {form.status}",
    )


def next_values_stay_local(base: str, target: Target) -> Result:
    seen = []
    for value in NEXT_VALUES:
        owner = Browser(base, OWNER)
        answer = owner.post_form(
            "/compte/connexion/?" + urlencode({"next": value}),
            {"nir": target.nir, "password": target.password},
            form_path="/compte/connexion/",
        )
        location = answer.header("Location")
        seen.append((value, answer.status, location))
    ok = all(
        status == 302 and location.startswith("/") and not location.startswith("//")
        for _, status, location in seen
    )
    ok = ok and not any(urlsplit(location).netloc for _, _, location in seen)
    return ok, "; ".join(f"{v!r} -> {s} {loc}" for v, s, loc in seen)


def verify_private_and_throttled(base: str, target: Target) -> Result:
    visitor = Browser(base, "127.0.0.46")
    first = visitor.get("/verify/AAAA-BBBB-0000")
    statuses = [visitor.get(f"/verify/AAAA-BBBB-{n:04d}").status for n in range(1, 31)]
    headers_ok = "no-store" in first.header("Cache-Control") and "noindex" in first.header("X-Robots-Tag")
    ok = headers_ok and first.status == 404 and statuses[-1] == 429
    cache, robots = first.header("Cache-Control"), first.header("X-Robots-Tag")
    return ok, f"/verify/: Cache-Control {cache!r}, X-Robots-Tag {robots!r}, 31st check {statuses[-1]}"


def wrong_tokens_throttled(base: str, target: Target) -> Result:
    api = Browser(base, "127.0.0.47")
    statuses = [
        api.request("GET", "/api/v1/me", headers={"Authorization": f"Bearer og_wrong{n}"}).status
        for n in range(22)
    ]
    last = api.request("GET", "/api/v1/me", headers={"Authorization": "Bearer og_wrong"})
    ok = (
        set(statuses[:20]) == {401}
        and last.status == 429
        and json.loads(last.body)["error"]["code"] == "rate_limited"
    )
    return ok, f"22 wrong bearer tokens: {statuses[:3]}... {statuses[-2:]}, then {last.status}"


PROBES: list[tuple[str, Callable[[str, Target], Result]]] = [
    (
        "staff passwords throttled on /agent/login/",
        lambda b, t: staff_password_throttle(b, t, "/agent/login/"),
    ),
    (
        "staff passwords throttled on /admin/login/",
        lambda b, t: staff_password_throttle(b, t, "/admin/login/"),
    ),
    ("insured login: same answer, known or unknown NIR", insured_login_same_answer),
    ("activation and reset: same answer", activation_and_reset_same_answer),
    ("kiosk identification: same answer", kiosk_same_answer),
    ("a stranger cannot lock a person out", stranger_cannot_lock_out),
    ("check-in codes throttled", check_in_codes_throttled),
    ("NUL refused in the API's format and on forms", nul_refused),
    ("next= stays on the site, never a 500", next_values_stay_local),
    ("/verify/: private, not indexed, throttled", verify_private_and_throttled),
    ("wrong bearer tokens throttled", wrong_tokens_throttled),
]


def discover() -> Target:
    """What an attacker is assumed to know, looked up in the platform's database (same settings as the server)."""
    import datetime as dt
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omniguichet.settings")
    django.setup()
    from omniguichet.appointments.models import Site
    from omniguichet.core.services import issue_token
    from omniguichet.referential.models import Person, User
    from omniguichet.referential.validators import compose_nir

    demo_password = "demo-assure-2026"
    person = next(
        p
        for p in Person.objects.filter(account__user__isnull=False)
        .select_related("account__user")
        .order_by("pk")[:50]
        if p.account.user.check_password(demo_password)  # type: ignore[attr-defined]
    )
    existing = set(Person.objects.values_list("nir", flat=True).filter(birth_date=person.birth_date))
    birth: dt.date = person.birth_date
    unknown = next(
        nir
        for order in range(999, 0, -1)
        if (nir := compose_nir(sex=person.sex, birth_date=birth, birth_place="75056", order=order))
        not in existing
    )
    staff = User.objects.get(username=f"agent-{person.caisse_id}")
    _, token = issue_token(user=staff, days=1, label="live probes")
    site = Site.objects.filter(active=True).order_by("pk").first()
    if site is None:
        raise SystemExit("no reception site: seed the demo first (make demo)")
    return Target(
        nir=person.nir,
        birth_date=birth.strftime("%d/%m/%Y"),
        password=demo_password,
        unknown_nir=unknown,
        site_id=site.pk,
        staff_user=staff.username,
        person_id=person.pk,
        api_token=token,
    )


def run(base: str, target: Target, *, out=sys.stdout) -> list[tuple[str, bool, str]]:
    results = []
    for name, probe in PROBES:
        started = time.monotonic()
        try:
            ok, detail = probe(base, target)
        except Exception as exc:  # a probe that crashes is a finding too
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        results.append((name, ok, detail))
        print(
            f"{'PASS' if ok else 'FAIL'}  {name} ({time.monotonic() - started:.1f} s): {detail}",
            file=out,
            flush=True,
        )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="where the platform answers")
    args = parser.parse_args(argv)
    target = discover()
    results = run(args.url.rstrip("/"), target)
    failed = [name for name, ok, _ in results if not ok]
    print(
        f"{len(results) - len(failed)}/{len(results)} probes found nothing"
        + (f"; FAILED: {failed}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
