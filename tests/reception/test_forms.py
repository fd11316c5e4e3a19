"""The reception pages' forms (django-dsfr): the kiosk's ticket and the desk's forms answer a refused value under
its field, with the model field's message (the admin's) or the service's, and write nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from omniguichet.crm.models import Contact
from omniguichet.reception import services
from omniguichet.reception.models import Ticket, TicketStatus
from omniguichet.referential.models import Person
from tests.forms import error_under


def _model_message(model, name: str, value: str) -> str:
    with pytest.raises(ValidationError) as refused:
        model._meta.get_field(name).clean(value, None)
    return refused.value.messages[0]


def test_the_kiosk_refuses_a_wrong_nir_and_date_under_their_fields(site_paris):
    page = Client().post(f"/reception/{site_paris.pk}/kiosk", {"nir": "1234", "birth_date": "1984-13-45"})
    assert page.status_code == 422
    assert error_under(page.content, "nir") == _model_message(Person, "nir", "1234")
    assert error_under(page.content, "birth_date") == "is not a date"
    assert b'id="kiosk-error"' in page.content
    assert not Ticket.objects.exists()


def test_the_kiosk_says_the_services_refusals_under_their_fields(insured, site_paris):
    person, _actor = insured
    url = f"/reception/{site_paris.pk}/kiosk"
    no_date = Client().post(url, {"nir": person.nir})
    assert error_under(no_date.content, "birth_date") == "is required with the NIR"
    unknown = Client().post(url, {"code": "NOPE"})
    assert error_under(unknown.content, "code").startswith("unknown code")
    no_motive = Client().post(url, {})
    assert no_motive.status_code == 422
    assert error_under(no_motive.content, "motive") == "choose the reason of your visit"
    assert not Ticket.objects.exists()


def test_the_desk_refuses_a_wrong_record_number_under_its_field(client, site_paris, agent_paris):
    services.take_ticket(site_id=site_paris.pk, motive="autre")
    client.force_login(agent_paris)
    client.post(f"/reception/{site_paris.pk}/call-next", {"desk": "Guichet 1"})
    ticket = Ticket.objects.get()
    page = client.post(f"/reception/tickets/{ticket.pk}/close", {"outcome": "resolved", "person_id": "abc"})
    assert page.status_code == 422
    assert error_under(page.content, "person_id") == "Enter a whole number."
    too_long = client.post(f"/reception/{site_paris.pk}/call-next", {"desk": "x" * 21})
    assert too_long.status_code == 422
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CALLED and not Contact.objects.exists()


def test_the_desk_draws_the_call_form_with_the_model_fields_refusal(client, site_paris, agent_paris):
    client.force_login(agent_paris)
    page = client.post(f"/reception/{site_paris.pk}/call-next", {"desk": "x" * 21})
    assert page.status_code == 422
    assert "at most 20 characters" in error_under(page.content, "desk")
    assert not Ticket.objects.exists()
