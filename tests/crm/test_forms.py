"""The record's "add a contact" form (django-dsfr): sent by htmx and refused, it comes back in place of the one
sent, each refusal under its field with the recording service's words (the API's and the imports'), and no
contact is recorded."""

from __future__ import annotations

from django.test import Client

from omniguichet.crm.models import Contact
from tests.forms import error_under


def _htmx_post(client: Client, person, data: dict):
    return client.post(f"/agent/persons/{person.pk}/contacts/", data, headers={"HX-Request": "true"})


def test_a_refused_contact_is_answered_under_its_fields(agent_paris, make_person):
    person = make_person()
    client = Client()
    client.force_login(agent_paris)
    client.get(f"/agent/persons/{person.pk}/")
    answer = _htmx_post(
        client, person, {"channel": "sms", "motive": "nope", "outcome": "resolved", "waited_minutes": "x"}
    )
    assert answer.status_code == 200  # htmx swaps successful answers only: the form is put back in place
    assert (answer["HX-Retarget"], answer["HX-Reswap"]) == ("#contact-form", "outerHTML")
    assert error_under(answer.content, "waited_minutes") == "Enter a whole number."
    assert b'id="contact-form"' in answer.content and b'id="contact-error"' in answer.content
    service = _htmx_post(client, person, {"channel": "sms", "motive": "nope", "outcome": "resolved"})
    assert (
        error_under(service.content, "channel")
        == "an agent records phone, reception, email or letter contacts"
    )
    unknown = _htmx_post(client, person, {"channel": "reception", "motive": "nope", "waited_minutes": "-3"})
    assert error_under(unknown.content, "motive") == "unknown motive nope"
    assert error_under(unknown.content, "waited_minutes") == "must be between 0 and 86400"
    assert not Contact.objects.exists()
