"""Activation, login (throttled, no lock), second factor, password reset, preferences: services and web pages."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone, translation

from omniguichet.accounts import services
from omniguichet.accounts.models import Account, OneTimeCode
from omniguichet.core.errors import InvalidInput
from omniguichet.referential.models import ChannelPreference, Consent
from tests.accounts.conftest import PASSWORD, last_code, sent_codes

pytestmark = pytest.mark.django_db


def test_activation_by_sms_then_login(person):
    client = Client()
    response = client.post(
        "/compte/activation/", {"nir": person.nir, "birth_date": "03/12/1984", "delivery": "sms"}
    )
    assert response.status_code == 302 and response["Location"] == "/compte/activation/code/"
    sent = sent_codes()
    assert sent[-1]["to"] == "+33698765432" and sent[-1]["channel"] == "sms"
    assert not OneTimeCode.objects.filter(
        code_hash__contains=sent[-1]["code"]
    ).exists()  # only a hash is kept
    response = client.post(
        "/compte/activation/code/", {"code": last_code(), "password": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == "/compte/"
    account = Account.objects.get(person=person)
    assert account.user.username == person.nir and account.user.check_password(PASSWORD)
    page = client.get("/compte/")
    assert page.status_code == 200 and "LEFÈVRE Marie" in page.content.decode()


def test_activation_by_letter_goes_to_the_postal_address(person):
    otc = services.start_activation(nir=person.nir, birth_date="1984-12-03", delivery="letter", channel="web")
    assert otc.delivery == "letter" and "75011 Paris" in otc.target
    assert otc.expires_at - otc.created_at == dt.timedelta(days=15)


def test_activation_refuses_field_by_field(person):
    response = Client().post(
        "/compte/activation/", {"nir": "123", "birth_date": "31/02/1984", "delivery": "x"}
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "must have 15 characters" in body and "enter a date as DD/MM/YYYY" in body
    assert "choose SMS or letter" in body
    # A right NIR with a wrong birth date: the same answer as a right pair (a decoy code, nothing sent).
    decoy = services.start_activation(nir=person.nir, birth_date="1990-01-01", delivery="sms", channel="web")
    assert decoy.pk is None and decoy.challenge and not OneTimeCode.objects.exists()


def test_activation_wrong_code_and_weak_password_write_nothing(person):
    otc = services.start_activation(nir=person.nir, birth_date="03/12/1984", delivery="sms", channel="web")
    good = last_code()
    wrong = "000000" if good != "000000" else "111111"
    with pytest.raises(InvalidInput) as exc:
        services.complete_activation(
            challenge=otc.challenge, code=wrong, password="1234", password2="1235", channel="web"
        )
    assert set(exc.value.fields) == {"code", "password", "password2"}
    assert Account.objects.filter(person=person).count() == 0
    user = services.complete_activation(
        challenge=otc.challenge, code=good, password=PASSWORD, password2=PASSWORD, channel="web"
    )
    assert user.account.person == person
    with pytest.raises(InvalidInput):  # a code serves once
        services.complete_activation(
            challenge=otc.challenge, code=good, password=PASSWORD, password2=PASSWORD, channel="web"
        )


def test_activation_of_an_active_account_is_told_to_the_person_only(insured, person):
    """The screen answers as for anyone; the person learns that their account is already active by a message
    to their verified mobile (at most one an hour)."""
    from omniguichet.outreach.models import OutboundMessage

    for _attempt in range(2):
        decoy = services.start_activation(
            nir=person.nir, birth_date="03/12/1984", delivery="sms", channel="web"
        )
        assert decoy.pk is None
    sent = OutboundMessage.objects.filter(person=person, subject="Your online account is already active")
    assert sent.count() == 1 and sent.get().recipient == "+33698765432"


def test_wrong_passwords_are_throttled_never_locked(insured, person):
    """Five wrong passwords from one address, then that address waits (429, growing delays); the account is not
    locked: its owner logs in from another address. Each failure is audited and shown to the person."""
    from omniguichet.core.models import LoginFailure

    stranger = Client(REMOTE_ADDR="203.0.113.7")
    for _attempt in range(5):
        response = stranger.post("/compte/connexion/", {"nir": person.nir, "password": "wrong-password"})
        assert response.status_code == 422
        assert "wrong social security number or password" in response.content.decode()
    response = stranger.post("/compte/connexion/", {"nir": person.nir, "password": PASSWORD})
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "Too many attempts" in response.content.decode()
    owner = Client(REMOTE_ADDR="198.51.100.20")
    response = owner.post("/compte/connexion/", {"nir": person.nir, "password": PASSWORD})
    assert response.status_code == 302
    assert LoginFailure.objects.filter(user=insured, factor="password").count() == 5
    page = owner.get("/compte/acces-a-mon-dossier/").content.decode()
    assert "Recent failed logins" in page and "203.0.113.x" in page


def test_unknown_nir_gets_the_same_answer(person):
    with pytest.raises(InvalidInput) as exc:
        services.authenticate(nir=person.nir, password="whatever-it-is", channel="web")
    assert exc.value.fields == {"password": "wrong social security number or password"}


def test_second_factor_by_sms(insured, person):
    Account.objects.filter(person=person).update(second_factor=True)
    client = Client()
    response = client.post(
        "/compte/connexion/", {"nir": person.nir, "password": PASSWORD, "next": "/compte/preferences/"}
    )
    assert response["Location"] == "/compte/connexion/code/"
    assert client.get("/compte/").status_code == 302  # not logged in yet
    response = client.post("/compte/connexion/code/", {"code": "12345"})
    assert response.status_code == 422 and "the code has 6 digits" in response.content.decode()
    response = client.post("/compte/connexion/code/", {"code": last_code("second_factor")})
    assert response["Location"] == "/compte/preferences/"
    assert client.get("/compte/").status_code == 200


def test_logout_ends_the_session(insured, person):
    client = Client()
    client.post("/compte/connexion/", {"nir": person.nir, "password": PASSWORD})
    assert client.get("/compte/").status_code == 200
    client.post("/compte/deconnexion/")
    assert client.get("/compte/").status_code == 302


def test_password_reset(insured, person):
    client = Client()
    assert (
        client.post("/compte/mot-de-passe/", {"nir": person.nir, "birth_date": "03/12/1984"}).status_code
        == 302
    )
    new = "Encore-un-autre-secret-42"
    response = client.post(
        "/compte/mot-de-passe/code/", {"code": last_code("password_reset"), "password": new, "password2": new}
    )
    assert response.status_code == 200 and "Your password was changed" in response.content.decode()
    assert services.authenticate(nir=person.nir, password=new, channel="web").user == insured


def test_too_many_codes_are_refused(person):
    from omniguichet.core.throttle import Throttled

    for _ in range(services.MAX_CODES_PER_HOUR):
        services.start_activation(nir=person.nir, birth_date="03/12/1984", delivery="sms", channel="web")
    with pytest.raises(Throttled, match="too many attempts"):
        services.start_activation(nir=person.nir, birth_date="03/12/1984", delivery="sms", channel="web")


def test_preferences_and_consents(insured, person):
    client = Client()
    client.post("/compte/connexion/", {"nir": person.nir, "password": PASSWORD})
    response = client.post("/compte/preferences/", {"preferred_channel": "paper", "e_documents": "1"})
    assert response.status_code == 422
    assert "e-documents cannot go with paper" in response.content.decode()
    assert not ChannelPreference.objects.filter(person=person).exists()  # nothing half-written
    response = client.post(
        "/compte/preferences/",
        {
            "preferred_channel": "account",
            "e_documents": "1",
            "sms_allowed": "1",
            "email_allowed": "1",
            "paper_allowed": "1",
            "consent_campaigns": "1",
            "second_factor": "1",
        },
    )
    assert response.status_code == 200 and "Your preferences are saved" in response.content.decode()
    pref = ChannelPreference.objects.get(person=person)
    assert pref.e_documents and not pref.paper_allowed  # e-documents replace paper
    assert Consent.objects.get(person=person, purpose="campaigns").granted
    assert not Consent.objects.get(person=person, purpose="surveys").granted
    assert Account.objects.get(person=person).second_factor


def test_app_login_gives_a_token(insured, person):
    client = Client()
    response = client.post(
        "/api/v1/account/login", {"nir": person.nir, "password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 200
    token = response.json()["token"]
    me = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/v1/me")
    assert me.json()["username"] == person.nir
    response = client.post(
        "/api/v1/account/login", {"nir": person.nir, "password": "nope-nope"}, content_type="application/json"
    )
    assert response.status_code == 422 and response.json()["error"]["fields"]["password"]


def test_pages_and_messages_are_in_french(person, settings):
    settings.LANGUAGE_CODE = "fr"
    with translation.override("fr"):
        page = Client(HTTP_ACCEPT_LANGUAGE="fr").post(
            "/compte/connexion/", {"nir": person.nir, "password": "x"}
        )
    body = page.content.decode()
    assert "Me connecter à mon compte" in body
    assert "numéro de sécurité sociale ou mot de passe erroné" in body


def test_the_person_sees_who_opened_their_record(
    insured, person, caisse_paris, django_assert_max_num_queries
):
    from tests.conftest import make_user

    agent = Client()
    agent.force_login(make_user("agent-751", caisse=caisse_paris))
    agent.get(f"/agent/persons/{person.pk}/?purpose=Visit at the reception desk")
    client = Client()
    client.post("/compte/connexion/", {"nir": person.nir, "password": PASSWORD})
    with django_assert_max_num_queries(9):  # with the failed logins to the account
        page = client.get("/compte/acces-a-mon-dossier/")
    body = page.content.decode()
    assert "agent-751" in body and "Visit at the reception desk" in body


def test_an_insured_login_cannot_use_other_login_forms(insured, person):
    """No lockout nor second factor to skip: the agent console and the admin refuse an account's login."""
    Account.objects.filter(person=person).update(second_factor=True)
    client = Client()
    response = client.post("/agent/login/", {"username": person.nir, "password": PASSWORD})
    assert response.status_code == 200 and not response.wsgi_request.user.is_authenticated
    assert client.get("/compte/").status_code == 302
    response = client.post("/admin/login/", {"username": person.nir, "password": PASSWORD})
    assert not response.wsgi_request.user.is_authenticated


def test_a_suspended_account_is_not_reactivated(person):
    Account.objects.create(person=person, opened_at=timezone.now(), status="suspended")
    decoy = services.start_activation(nir=person.nir, birth_date="03/12/1984", delivery="sms", channel="web")
    assert decoy.pk is None and not OneTimeCode.objects.exists()  # no code; the screen says the same as ever


def test_inbox_shows_the_answers_to_the_requests(insured, person, django_assert_max_num_queries):
    from tests.crm.conftest import client_for

    client_for(insured).post(
        "/api/v1/teleservices/changement_adresse",
        {"data": {"address_line": "8 avenue Foch", "postcode": "75016", "city": "Paris"}},
        content_type="application/json",
    )
    client = Client()
    client.post("/compte/connexion/", {"nir": person.nir, "password": PASSWORD})
    with django_assert_max_num_queries(9):
        page = client.get("/compte/messages/")
    body = page.content.decode()
    assert "Change of address" in body and "Your address is now 8 avenue Foch, 75016 Paris." in body
