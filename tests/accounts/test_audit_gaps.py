"""Requirements of issue 4 that no other test held on its own: argon2 hashing with the project's settings, the
web session's lifetime, the second factor of the mobile app to its end (the token), the second factor at a kiosk."""

import pytest
from django.test import Client

from omniguichet.accounts import services
from omniguichet.accounts.models import Account
from omniguichet.crm.models import Contact
from tests.accounts.conftest import PASSWORD, last_code

pytestmark = pytest.mark.django_db


def test_passwords_are_hashed_with_argon2(person, settings):
    from omniguichet import settings as project_settings

    # The tests swap in a fast hasher; the project's own setting is argon2 first.
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
    assert settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    otc = services.start_activation(nir=person.nir, birth_date="03/12/1984", delivery="sms", channel="web")
    user = services.complete_activation(
        challenge=otc.challenge, code=last_code(), password=PASSWORD, password2=PASSWORD, channel="web"
    )
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
    assert services.authenticate(nir=person.nir, password=PASSWORD, channel="web").user == user


def test_the_web_session_ends_after_its_lifetime(insured, person, settings):
    settings.ACCOUNT_SESSION_SECONDS = 600
    client = Client()
    client.post("/compte/connexion/", {"nir": person.nir, "password": PASSWORD})
    assert client.session.get_expiry_age() == 600


def test_the_app_second_factor_gives_the_token(insured, person):
    Account.objects.filter(person=person).update(second_factor=True)
    client = Client()
    first = client.post(
        "/api/v1/account/login", {"nir": person.nir, "password": PASSWORD}, content_type="application/json"
    ).json()
    assert first["token"] is None and first["second_factor_delivery"] == "sms"
    challenge = first["second_factor_challenge"]
    code = last_code("second_factor")
    wrong = "000000" if code != "000000" else "111111"
    bad = client.post(
        "/api/v1/account/login/second-factor",
        {"challenge": challenge, "code": wrong},
        content_type="application/json",
    )
    assert bad.status_code == 422 and "code" in bad.json()["error"]["fields"]
    good = client.post(
        "/api/v1/account/login/second-factor",
        {"challenge": challenge, "code": code},
        content_type="application/json",
    )
    assert good.status_code == 200
    token = good.json()["token"]
    me = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/v1/me")
    assert me.status_code == 200 and me.json()["username"] == person.nir
    # A code serves once.
    again = client.post(
        "/api/v1/account/login/second-factor",
        {"challenge": challenge, "code": code},
        content_type="application/json",
    )
    assert again.status_code == 422


def test_the_kiosk_asks_for_the_second_factor(insured, person):
    Account.objects.filter(person=person).update(second_factor=True)
    kiosk = Client()
    page = kiosk.post("/borne/connexion/", {"nir": person.nir, "password": PASSWORD})
    assert page.status_code == 200 and 'name="code"' in page.content.decode()
    assert kiosk.get("/borne/")["Location"] == "/borne/connexion/"  # not in yet
    bad = kiosk.post("/borne/connexion/", {"step": "code", "code": "12345"})
    assert bad.status_code == 422 and "the code has 6 digits" in bad.content.decode()
    response = kiosk.post("/borne/connexion/", {"step": "code", "code": last_code("second_factor")})
    assert response["Location"] == "/borne/"
    assert kiosk.get("/borne/").status_code == 200
    kiosk.post("/borne/services/attestation_droits/", {"idempotency_key": "k-2fa"})
    assert Contact.objects.get(motive_id="attestation_droits").channel == "kiosk"
