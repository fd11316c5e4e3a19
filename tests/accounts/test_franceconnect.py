"""FranceConnect-style login against a real OpenID Connect provider (django-oauth-toolkit) served by the live
server: authorization code flow with state, nonce and PKCE over HTTP, then identity matching and confirmation.

The provider answers on 127.0.0.1 and the platform on localhost, so that the two keep separate cookies as two
sites would."""

import datetime as dt
import re
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from oauth2_provider.models import Application

from omniguichet.accounts.models import Account, ExternalIdentity
from omniguichet.referential.models import User
from tests.accounts import oidc_provider

CLIENT_SECRET = "rp-secret-for-the-test-only"
PROVIDER_PASSWORD = "provider-password-123"


@pytest.fixture
def provider(live_server, settings, transactional_db):
    port = urlparse(live_server.url).port
    op = f"http://127.0.0.1:{port}/fc"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    settings.ROOT_URLCONF = "tests.accounts.oidc_provider"
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
    scopes = [
        "openid",
        "given_name",
        "family_name",
        "birthdate",
        "gender",
        "birthplace",
        "birthcountry",
        "email",
    ]
    settings.OAUTH2_PROVIDER = {
        "OIDC_ENABLED": True,
        "OIDC_RSA_PRIVATE_KEY": pem,
        "PKCE_REQUIRED": True,
        "SCOPES": {s: s for s in scopes},
        "OAUTH2_VALIDATOR_CLASS": "tests.accounts.oidc_provider.ClaimsValidator",
        "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
    }
    app = Application.objects.create(
        name="omniguichet",
        client_id="omniguichet-rp",
        client_secret=CLIENT_SECRET,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=f"{live_server.url}/compte/franceconnect/callback/",
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )
    settings.OIDC_RP_CLIENT_ID = app.client_id
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{op}/authorize/"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{op}/token/"
    settings.OIDC_OP_USER_ENDPOINT = f"{op}/userinfo/"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{op}/.well-known/jwks.json"
    User.objects.create_user(username="fc-marie", password=PROVIDER_PASSWORD)
    oidc_provider.IDENTITIES["fc-marie"] = {
        "given_name": "Marie Hélène",
        "family_name": "LEFÈVRE",
        "birthdate": "1984-12-03",
        "gender": "female",
        "birthplace": "75056",
        "birthcountry": "99100",
        "email": "marie@example.org",
    }
    yield {"op": op, "rp": live_server.url}
    oidc_provider.IDENTITIES.clear()


def _browser_logged_in_at_provider(op: str) -> requests.Session:
    browser = requests.Session()
    origin = op.rsplit("/fc", 1)[0]
    browser.get(f"{origin}/agent/login/")
    response = browser.post(
        f"{origin}/agent/login/",
        allow_redirects=False,
        data={
            "username": "fc-marie",
            "password": PROVIDER_PASSWORD,
            "csrfmiddlewaretoken": browser.cookies.get("csrftoken", domain="127.0.0.1"),
        },
    )
    assert response.status_code == 302
    return browser


def _csrf(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def _through_provider(browser: requests.Session, rp: str) -> requests.Response:
    """Start the login at the platform, pass the provider, come back to the callback; the callback's answer."""
    start = browser.get(f"{rp}/compte/franceconnect/authenticate/?next=/compte/", allow_redirects=False)
    authorize = start.headers["Location"]
    query = parse_qs(urlparse(authorize).query)
    assert query["state"][0] and query["nonce"][0] and query["code_challenge_method"] == ["S256"]
    assert "birthplace" in query["scope"][0]
    back = browser.get(authorize, allow_redirects=False)
    assert back.status_code == 302 and back.headers["Location"].startswith(
        f"{rp}/compte/franceconnect/callback/"
    )
    return browser.get(back.headers["Location"], allow_redirects=False)


def test_first_login_matches_and_confirms_then_logs_in_directly(provider, make_person):
    person = make_person(
        given_names="Marie Hélène",
        family_name="Lefèvre",
        birth_date=dt.date(1984, 12, 3),
        birth_place="75056",
        sex="F",
    )
    make_person(
        given_names="Marie", family_name="Lefèvre", birth_date=dt.date(1984, 12, 3), birth_place="69123"
    )
    browser = _browser_logged_in_at_provider(provider["op"])
    callback = _through_provider(browser, provider["rp"])
    assert callback.headers["Location"] == "/compte/franceconnect/confirmer/"
    confirm_url = f"{provider['rp']}/compte/franceconnect/confirmer/"
    page = browser.get(confirm_url)
    assert page.status_code == 200 and "LEFÈVRE Marie Hélène" in page.text and "03/12/1984" in page.text
    assert not Account.objects.exists()  # nothing before the person confirms
    done = browser.post(
        confirm_url, data={"confirm": "yes", "csrfmiddlewaretoken": _csrf(page.text)}, allow_redirects=False
    )
    assert done.headers["Location"] == "/compte/"
    account = Account.objects.get(person=person)
    assert not account.user.has_usable_password()
    link = ExternalIdentity.objects.get()
    assert (link.provider, link.account) == ("franceconnect", account)
    home = browser.get(f"{provider['rp']}/compte/")
    assert "LEFÈVRE Marie Hélène" in home.text
    # Next time: straight in, no confirmation.
    browser.post(f"{provider['rp']}/compte/deconnexion/", data={"csrfmiddlewaretoken": _csrf(home.text)})
    assert browser.get(f"{provider['rp']}/compte/", allow_redirects=False).status_code == 302
    again = _through_provider(browser, provider["rp"])
    assert again.headers["Location"] == "/compte/"
    assert ExternalIdentity.objects.count() == 1


def test_an_identity_matching_nobody_is_not_linked(provider, make_person):
    make_person(
        given_names="Marie", family_name="Lefèvre", birth_date=dt.date(1984, 12, 3), birth_place="69123"
    )
    browser = _browser_logged_in_at_provider(provider["op"])
    _through_provider(browser, provider["rp"])
    page = browser.get(f"{provider['rp']}/compte/franceconnect/confirmer/")
    assert page.status_code == 404 and "We could not find you" in page.text
    assert not Account.objects.exists() and not ExternalIdentity.objects.exists()


def test_a_forged_state_is_refused(provider):
    browser = _browser_logged_in_at_provider(provider["op"])
    browser.get(f"{provider['rp']}/compte/franceconnect/authenticate/", allow_redirects=False)
    forged = browser.get(
        f"{provider['rp']}/compte/franceconnect/callback/?code=abc&state=forged", allow_redirects=False
    )
    assert forged.status_code == 400
    assert browser.get(f"{provider['rp']}/compte/franceconnect/confirmer/").status_code == 403


def _linked_person(make_person, *, second_factor: bool, mobile: bool):
    from django.utils import timezone

    from omniguichet.referential.models import ContactPoint

    person = make_person(given_names="Marie Hélène", family_name="Lefèvre", birth_date=dt.date(1984, 12, 3),
                         birth_place="75056", sex="F")  # fmt: skip
    if mobile:
        ContactPoint.objects.create(person=person, kind="mobile", value="+33698765432", verified=True,
                                    verified_at=timezone.now())  # fmt: skip
    user = User.objects.create_user(username=person.nir, password="Un-mot-de-passe-solide-2026")
    account = Account.objects.create(
        person=person, user=user, opened_at=timezone.now(), second_factor=second_factor
    )
    subject = str(User.objects.get(username="fc-marie").pk)  # the provider's sub: its user's id
    ExternalIdentity.objects.create(
        provider="franceconnect", subject=subject, account=account, linked_at=timezone.now()
    )
    return person


def test_a_linked_identity_still_asks_for_the_second_factor_the_person_chose(provider, make_person):
    from tests.accounts.conftest import last_code

    _linked_person(make_person, second_factor=True, mobile=True)
    browser = _browser_logged_in_at_provider(provider["op"])
    callback = _through_provider(browser, provider["rp"])
    assert callback.headers["Location"] == "/compte/connexion/code/"
    assert browser.get(f"{provider['rp']}/compte/", allow_redirects=False).status_code == 302  # not yet in
    page = browser.get(f"{provider['rp']}/compte/connexion/code/")
    assert "Code received by SMS" in page.text
    done = browser.post(f"{provider['rp']}/compte/connexion/code/", allow_redirects=False,
                        data={"code": last_code("second_factor"), "csrfmiddlewaretoken": _csrf(page.text)})  # fmt: skip
    assert done.headers["Location"] == "/compte/"
    assert "LEFÈVRE Marie Hélène" in browser.get(f"{provider['rp']}/compte/").text


def test_a_second_factor_without_any_verified_point_refuses_the_login_clearly(provider, make_person):
    _linked_person(make_person, second_factor=True, mobile=False)
    browser = _browser_logged_in_at_provider(provider["op"])
    callback = _through_provider(browser, provider["rp"])
    assert callback.status_code == 403 and "contact your caisse" in callback.text
    assert browser.get(f"{provider['rp']}/compte/", allow_redirects=False).status_code == 302


def test_an_id_token_with_another_nonce_is_refused(provider, make_person):
    """The platform keeps the nonce it sent with the state; an ID token carrying another one (a replayed or
    injected token) does not log anyone in, even a linked identity that would otherwise enter directly."""
    from django.contrib.sessions.backends.db import SessionStore

    _linked_person(make_person, second_factor=False, mobile=True)
    browser = _browser_logged_in_at_provider(provider["op"])
    start = browser.get(f"{provider['rp']}/compte/franceconnect/authenticate/?next=/compte/",
                        allow_redirects=False)  # fmt: skip
    authorize = start.headers["Location"]
    state = parse_qs(urlparse(authorize).query)["state"][0]
    # The platform's session (localhost), not the provider's (127.0.0.1).
    key = next(c.value for c in browser.cookies if c.name == "sessionid" and c.domain != "127.0.0.1")
    session = SessionStore(session_key=key)
    states = session["oidc_states"]
    assert states[state]["nonce"]
    states[state]["nonce"] = "not-the-nonce-sent"
    session["oidc_states"] = states
    session.save()
    back = browser.get(authorize, allow_redirects=False)
    callback = browser.get(back.headers["Location"], allow_redirects=False)
    assert callback.status_code in (302, 400) and callback.headers.get("Location") != "/compte/"
    assert browser.get(f"{provider['rp']}/compte/", allow_redirects=False).status_code == 302  # not logged in
