"""For every service of the catalogue: 401 without a token, 403 for a login that is neither an insured person
with an account nor staff, 403 when not offered on the channel, 404 for another caisse's agent, 422 for an
unknown field. The valid cases of each service are in test_services.py."""

import dataclasses

import pytest
from django.test import Client

from omniguichet.crm.models import Contact
from omniguichet.teleservices import services
from tests.conftest import make_user
from tests.crm.conftest import client_for
from tests.teleservices.conftest import use

pytestmark = pytest.mark.django_db
CODES = sorted(services.CATALOGUE)


@pytest.mark.parametrize("code", CODES)
def test_anonymous_is_401(code, db):
    response = Client().post(f"/api/v1/teleservices/{code}", {"data": {}}, content_type="application/json")
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize("code", CODES)
def test_a_login_without_account_nor_role_is_403(code, db):
    assert use(client_for(make_user("someone", role="")), code).status_code == 403


@pytest.mark.parametrize("code", CODES)
def test_not_offered_on_the_app_is_403(code, app, monkeypatch):
    service = services.CATALOGUE[code]
    monkeypatch.setitem(services.CATALOGUE, code, dataclasses.replace(service, channels=frozenset({"web"})))
    response = use(app, code)
    assert response.status_code == 403 and response.json()["error"]["code"] == "not_offered"


@pytest.mark.parametrize("code", CODES)
def test_another_caisse_agent_gets_404(code, person, agent_ain):
    assert use(client_for(agent_ain), code, person_id=person.pk).status_code == 404


@pytest.mark.parametrize("code", CODES)
def test_an_unknown_field_is_422_and_writes_nothing(code, app, history):
    response = use(app, code, {"unexpected": "x"})
    assert response.status_code == 422
    assert response.json()["error"]["fields"]["unexpected"] == "unknown field"
    assert not Contact.objects.exists()
