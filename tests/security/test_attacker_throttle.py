"""Issue 19, replayed from outside: password guessing, account enumeration, lock-out by a stranger, check-in codes,
/verify/ and the API's login, against the throttling service, the staff's second factor and the session rules.
Runs on SQLite and on PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from django.test import Client
from django.utils import timezone, translation

from omniguichet.accounts import services as accounts
from omniguichet.accounts.models import Account
from omniguichet.core import guards, staff_otp, throttle
from omniguichet.core.errors import InvalidInput
from omniguichet.core.models import LoginFailure
from omniguichet.referential.models import ContactPoint, Role, User
from omniguichet.referential.validators import compose_nir
from tests.appointments.conftest import make_site

pytestmark = pytest.mark.django_db

PASSWORD = "Un-mot-de-passe-solide-2026"
STAFF_PASSWORD = "Le-mot-de-passe-du-superviseur-1"
STRANGER = "203.0.113.66"
OWNER = "198.51.100.20"


@pytest.fixture
def clock(monkeypatch):
    """The throttle's clock, moved forward by the test."""

    class Clock:
        offset = dt.timedelta()

        def advance(self, seconds: float) -> None:
            self.offset += dt.timedelta(seconds=seconds)

    c = Clock()
    real = timezone.now
    monkeypatch.setattr(throttle, "now", lambda: real() + c.offset)
    return c


@pytest.fixture
def superuser(db) -> User:
    user = User.objects.create_user(
        username="national-admin",
        password=STAFF_PASSWORD,
        role=Role.NATIONAL_SUPERVISOR,
        is_staff=True,
        is_superuser=True,
    )
    staff_otp.set_device(user=user, key_hex="3132333435363738393031323334353637383930")
    return user


@pytest.fixture
def person(make_person):
    person = make_person(
        family_name="Lefèvre",
        given_names="Marie",
        birth_date=dt.date(1984, 12, 3),
        address_line="3 rue des Lilas",
        postcode="75011",
        city="Paris",
    )
    ContactPoint.objects.create(
        person=person, kind="mobile", value="+33698765432", verified=True, verified_at=timezone.now()
    )
    user = User.objects.create_user(username=person.nir, password=PASSWORD)
    Account.objects.create(person=person, user=user, opened_at=timezone.now())
    return person


@pytest.fixture
def unknown_nir(db) -> str:
    """A well-formed NIR of nobody, born the same day as `person`."""
    return compose_nir(sex="F", birth_date=dt.date(1984, 12, 3), birth_place="75056", order=998)


def _client(address: str) -> Client:
    return Client(REMOTE_ADDR=address)


def _same_page(body: str, *variable: str) -> str:
    """A page with what legitimately differs taken out: the CSRF token and the values the visitor typed."""
    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body)
    for value in variable:
        body = body.replace(value, "VALUE")
    return body


# --- 1. staff logins --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/agent/login/", "/admin/login/"])
def test_thirty_wrong_staff_passwords_are_throttled_and_the_right_one_waits(superuser, clock, path):
    attacker = _client(STRANGER)
    statuses = [
        attacker.post(path, {"username": superuser.username, "password": f"guess-{n}"}).status_code
        for n in range(30)
    ]
    assert statuses[:5] == [200] * 5  # the form again, "wrong username or password"
    assert set(statuses[5:]) == {429}
    assert LoginFailure.objects.filter(user=superuser, factor="password").count() == 5  # audited
    refused = attacker.post(path, {"username": superuser.username, "password": STAFF_PASSWORD})
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 30
    assert "Too many attempts" in refused.content.decode()
    assert not refused.wsgi_request.user.is_authenticated
    clock.advance(31)
    device = staff_otp.device_for(superuser).device
    accepted = attacker.post(
        path,
        {
            "username": superuser.username,
            "password": STAFF_PASSWORD,
            "otp_device": device.persistent_id,
            "otp_token": staff_otp.current_code(device),
            "next": "/admin/" if path == "/admin/login/" else "/agent/",
        },
    )
    assert accepted.status_code == 302
    if path == "/agent/login/":  # the password is the first step; the code comes next
        assert accepted["Location"].startswith("/agent/login/code/")
    else:
        assert accepted["Location"] == "/admin/"
        assert attacker.get("/admin/").status_code == 200


def test_wrong_codes_on_the_admin_form_are_audited_and_throttled_like_the_consoles(
    superuser, clock, settings
):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp's own per-device delay aside: this is ours
    device = staff_otp.set_device(user=superuser, key_hex="3132333435363738393031323334353637383930")
    right = staff_otp.current_code(device)
    wrong = "000000" if right != "000000" else "111111"
    attacker = _client(STRANGER)
    form = {"username": superuser.username, "password": STAFF_PASSWORD, "otp_device": device.persistent_id}
    statuses = [attacker.post("/admin/login/", {**form, "otp_token": wrong}).status_code for _ in range(7)]
    assert statuses[:5] == [200] * 5  # the form again, the code refused
    assert set(statuses[5:]) == {429}
    assert LoginFailure.objects.filter(user=superuser, factor="code").count() == 5
    refused = attacker.post("/admin/login/", {**form, "otp_token": right})
    assert refused.status_code == 429 and not refused.wsgi_request.user.is_authenticated
    clock.advance(31)
    accepted = attacker.post(
        "/admin/login/", {**form, "otp_token": staff_otp.current_code(device), "next": "/admin/"}
    )
    assert accepted.status_code == 302 and accepted["Location"] == "/admin/"


def test_the_admin_needs_the_second_factor(superuser):
    client = _client(OWNER)
    response = client.post("/admin/login/", {"username": superuser.username, "password": STAFF_PASSWORD})
    assert response.status_code == 200 and not response.wsgi_request.user.is_authenticated
    password_only = _client(OWNER)
    password_only.post("/agent/login/", {"username": superuser.username, "password": STAFF_PASSWORD})
    assert password_only.get("/admin/")["Location"].startswith("/admin/login/")  # not verified yet
    assert password_only.get("/agent/")["Location"].startswith("/agent/login/code/")


def test_wrong_totp_codes_are_throttled_and_audited(superuser, clock, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp's own per-device delay aside: this is ours
    client = _client(STRANGER)
    client.post("/agent/login/", {"username": superuser.username, "password": STAFF_PASSWORD})
    device = staff_otp.device_for(superuser).device
    right = staff_otp.current_code(device)
    wrong = "000000" if right != "000000" else "111111"
    statuses = [client.post("/agent/login/code/", {"code": wrong}).status_code for _ in range(8)]
    assert statuses[:5] == [422] * 5 and set(statuses[5:]) == {429}
    assert client.post("/agent/login/code/", {"code": right}).status_code == 429
    assert LoginFailure.objects.filter(user=superuser, factor="code").count() == 5
    clock.advance(31)
    assert client.post("/agent/login/code/", {"code": right})["Location"] == "/agent/"


# --- 2. enumeration ---------------------------------------------------------------------------------------------
def test_login_answers_the_same_for_a_known_and_an_unknown_nir(person, unknown_nir):
    answers = []
    for nir in (person.nir, unknown_nir):
        response = _client(OWNER).post("/compte/connexion/", {"nir": nir, "password": "wrong-password"})
        answers.append((response.status_code, _same_page(response.content.decode(), nir)))
    assert answers[0] == answers[1] and answers[0][0] == 422
    api = [
        Client()
        .post(
            "/api/v1/account/login",
            {"nir": nir, "password": "wrong-password"},
            content_type="application/json",
        )
        .json()
        for nir in (person.nir, unknown_nir)
    ]
    assert api[0] == api[1]


def test_login_takes_about_the_same_time_for_a_known_and_an_unknown_nir(person, unknown_nir, settings):
    """The hasher runs against a dummy hash when the NIR has no account (argon2, as in production)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    user = User.objects.get(username=person.nir)
    user.set_password(PASSWORD)
    user.save()
    accounts._dummy_hash.cache_clear()
    accounts._dummy_hash()

    def timed(nir: str) -> float:
        start = time.perf_counter()
        with pytest.raises(InvalidInput):
            accounts.authenticate(nir=nir, password="wrong-password", channel="web")
        return time.perf_counter() - start

    known = sorted(timed(person.nir) for _ in range(3))[1]
    unknown = sorted(timed(unknown_nir) for _ in range(3))[1]
    assert unknown > known / 3 and known > unknown / 3, (known, unknown)
    accounts._dummy_hash.cache_clear()


def test_activation_answers_the_same_for_a_known_and_an_unknown_nir(person, unknown_nir):
    from omniguichet.outreach.models import OutboundMessage

    answers = []
    for nir in (person.nir, unknown_nir):
        client = _client(OWNER)
        response = client.post(
            "/compte/activation/", {"nir": nir, "birth_date": "03/12/1984", "delivery": "sms"}
        )
        page = client.get("/compte/activation/code/")
        code = client.post(
            "/compte/activation/code/", {"code": "123456", "password": PASSWORD, "password2": PASSWORD}
        )
        answers.append(
            (
                response.status_code,
                response["Location"],
                page.status_code,
                _same_page(page.content.decode()),
                code.status_code,
                _same_page(code.content.decode()),
            )
        )
    assert answers[0] == answers[1] and answers[0][:3] == (302, "/compte/activation/code/", 200)
    assert "already active" not in answers[0][3]
    # The account already active is told to its owner only: by SMS to the verified mobile.
    notice = OutboundMessage.objects.get(person=person, subject="Your online account is already active")
    assert notice.recipient == "+33698765432"


def test_password_reset_answers_the_same_for_a_known_and_an_unknown_nir(person, unknown_nir):
    answers = []
    for nir in (person.nir, unknown_nir):
        client = _client(OWNER)
        response = client.post("/compte/mot-de-passe/", {"nir": nir, "birth_date": "03/12/1984"})
        page = client.get("/compte/mot-de-passe/code/")
        answers.append((response.status_code, response["Location"], _same_page(page.content.decode())))
    assert answers[0] == answers[1] and answers[0][0] == 302


def test_kiosk_check_in_answers_the_same_for_a_known_and_an_unknown_nir(
    person, unknown_nir, caisse_paris, agent_paris
):
    site = make_site(caisse_paris, [agent_paris])
    answers = []
    for nir in (person.nir, unknown_nir):
        without_motive = _client(OWNER).post(
            f"/reception/{site.pk}/kiosk", {"nir": nir, "birth_date": "1984-12-03"}
        )
        ticket = _client(OWNER).post(
            f"/reception/{site.pk}/kiosk", {"nir": nir, "birth_date": "1984-12-03", "motive": "autre"}
        )
        body = re.sub(r'id="ticket-number">[^<]+<', "", ticket.content.decode())
        answers.append(
            (
                without_motive.status_code,
                _same_page(without_motive.content.decode(), nir),
                ticket.status_code,
                _same_page(body, nir),
            )
        )
    assert answers[0] == answers[1] and (answers[0][0], answers[0][2]) == (422, 200)
    assert "choose the reason" in answers[0][1] and "no match" not in answers[0][1]


# --- 2. no lock-out by a stranger -------------------------------------------------------------------------------
def test_a_stranger_cannot_lock_a_person_out(person):
    stranger = _client(STRANGER)
    statuses = [
        stranger.post("/compte/connexion/", {"nir": person.nir, "password": f"guess-{n}"}).status_code
        for n in range(30)
    ]
    assert statuses[:5] == [422] * 5 and set(statuses[5:]) == {429}
    api = [
        stranger.post(
            "/api/v1/account/login", {"nir": person.nir, "password": "guess"}, content_type="application/json"
        ).status_code
        for _ in range(5)
    ]
    assert set(api) == {429}  # the same counters on every channel
    owner = _client(OWNER)
    assert owner.post("/compte/connexion/", {"nir": person.nir, "password": PASSWORD}).status_code == 302
    token = _client(OWNER).post(
        "/api/v1/account/login", {"nir": person.nir, "password": PASSWORD}, content_type="application/json"
    )
    assert token.status_code == 200 and token.json()["token"]
    page = owner.get("/compte/acces-a-mon-dossier/").content.decode()
    assert "Recent failed logins" in page and "203.0.113.x" in page


def test_the_owner_waits_only_past_the_much_higher_limit_of_the_account(person, settings):
    """Per account across addresses: a much higher limit (a stranger would need many addresses)."""
    settings.THROTTLE_LIMITS = {"login.account": (12, 60, 300, 86400)}
    for n in range(12):
        address = f"203.0.113.{n + 1}"
        _client(address).post("/compte/connexion/", {"nir": person.nir, "password": "guess"})
    assert (
        _client(OWNER).post("/compte/connexion/", {"nir": person.nir, "password": PASSWORD}).status_code
        == 429
    )


# --- rate limits: kiosk, /verify/, API -------------------------------------------------------------------------
def test_twenty_wrong_check_in_codes_are_throttled(caisse_paris, agent_paris):
    site = make_site(caisse_paris, [agent_paris])
    kiosk = _client(STRANGER)
    statuses = [
        kiosk.post(f"/reception/{site.pk}/kiosk", {"code": f"WRONG{n:05d}"}).status_code for n in range(20)
    ]
    assert statuses[:10] == [422] * 10 and set(statuses[10:]) == {429}
    last = kiosk.post(f"/reception/{site.pk}/kiosk", {"code": "WRONG99999"})
    assert int(last["Retry-After"]) > 0 and "Too many attempts" in last.content.decode()
    # Another kiosk (address) is not concerned; a walk-in ticket without a code needs no guess.
    assert _client(OWNER).post(f"/reception/{site.pk}/kiosk", {"code": "WRONG00000"}).status_code == 422
    assert kiosk.post(f"/reception/{site.pk}/kiosk", {"motive": "autre"}).status_code == 200


def test_verify_is_rate_limited(db):
    visitor = _client(STRANGER)
    statuses = [visitor.get(f"/verify/AAAA-BBBB-{n:04d}").status_code for n in range(31)]
    assert statuses[:30] == [404] * 30 and statuses[30] == 429
    assert int(visitor.get("/verify/AAAA-BBBB-CCCC")["Retry-After"]) > 0
    assert visitor.get("/verify/").status_code == 200  # the empty form checks nothing
    assert _client(OWNER).get("/verify/AAAA-BBBB-CCCC").status_code == 404


def _api_429(response) -> None:
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == "rate_limited"
    assert body["error"]["fields"] == {} and body["error"]["message"]


def test_api_login_answers_429_with_retry_after_in_the_error_format(person):
    api = _client(STRANGER)

    def login():
        return api.post(
            "/api/v1/account/login", {"nir": person.nir, "password": "guess"}, content_type="application/json"
        )

    assert [login().status_code for _ in range(5)] == [422] * 5
    _api_429(login())


def test_api_second_factor_answers_429_when_codes_are_guessed(person):
    api = _client(STRANGER)
    statuses = []
    for _ in range(21):
        response = api.post(
            "/api/v1/account/login/second-factor",
            {"challenge": "not-a-challenge", "code": "123456"},
            content_type="application/json",
        )
        statuses.append(response.status_code)
    assert statuses[:20] == [422] * 20
    _api_429(response)


def test_wrong_bearer_tokens_are_throttled(db):
    api = Client(REMOTE_ADDR=STRANGER, HTTP_AUTHORIZATION="Bearer og_not-a-token")
    assert [api.get("/api/v1/me").status_code for _ in range(20)] == [401] * 20
    _api_429(api.get("/api/v1/me"))


# --- sessions --------------------------------------------------------------------------------------------------
def test_staff_sessions_end_when_idle_and_after_a_working_day(agent_paris, monkeypatch, settings):
    start = time.time()
    now = {"t": start}
    monkeypatch.setattr(guards, "_now", lambda: now["t"])
    client = Client()
    client.force_login(agent_paris)
    assert client.get("/agent/").status_code == 200
    now["t"] = start + settings.STAFF_SESSION_IDLE_SECONDS - 60
    assert client.get("/agent/").status_code == 200  # still active: the idle clock starts again
    now["t"] += settings.STAFF_SESSION_IDLE_SECONDS + 1
    assert client.get("/agent/")["Location"].startswith("/agent/login/")
    assert not client.get("/agent/login/").wsgi_request.user.is_authenticated
    # Active all day long, the session still ends after STAFF_SESSION_MAX_SECONDS.
    client.force_login(agent_paris)
    start = now["t"]
    while now["t"] - start < settings.STAFF_SESSION_MAX_SECONDS - 600:
        now["t"] += 1200
        assert client.get("/agent/").status_code == 200
    now["t"] = start + settings.STAFF_SESSION_MAX_SECONDS + 1
    assert client.get("/agent/")["Location"].startswith("/agent/login/")


def test_session_lifetimes(person, agent_paris, settings):
    assert settings.STAFF_SESSION_IDLE_SECONDS == 1800 and settings.STAFF_SESSION_MAX_SECONDS <= 12 * 3600
    insured = Client()
    insured.post("/compte/connexion/", {"nir": person.nir, "password": PASSWORD})
    assert insured.session.get_expiry_age() == settings.ACCOUNT_SESSION_SECONDS == 1800
    staff = Client()
    staff.force_login(agent_paris)
    assert staff.session.get_expiry_age() == 1800  # not Django's 14 days


def test_the_429_page_speaks_french(db, settings):
    settings.LANGUAGE_CODE = "fr"
    settings.THROTTLE_LIMITS = {"verify.address": (1, 60, 3600, 600)}
    visitor = Client(REMOTE_ADDR=STRANGER, HTTP_ACCEPT_LANGUAGE="fr")
    visitor.get("/verify/AAAA-BBBB-CCCC")
    with translation.override("fr"):
        page = visitor.get("/verify/AAAA-BBBB-CCCC")
    body = page.content.decode()
    assert page.status_code == 429 and "Trop de tentatives" in body and "réessayez dans" in body
