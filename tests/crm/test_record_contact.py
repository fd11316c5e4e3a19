import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from omniguichet.core.actors import Actor, ActorKind
from omniguichet.core.errors import InvalidInput, NotFound
from omniguichet.crm.models import Contact, Motive
from omniguichet.crm.services import add_agent_contact, record_contact


def test_the_taxonomy_of_motives_is_shipped(db):
    codes = set(Motive.objects.values_list("code", flat=True))
    assert {
        "attestation_droits",
        "releve_remboursements",
        "carte_europeenne",
        "attestation_ij",
        "changement_adresse",
        "changement_rib",
        "ij_suivi",
        "remboursement",
        "carte_vitale",
        "css",
        "reclamation",
        "autre",
    } <= codes


def test_an_online_action_is_recorded_in_the_persons_caisse(paris_person):
    insured = Actor(kind=ActorKind.INSURED, person_id=paris_person.pk)
    contact = record_contact(actor=insured, channel="web", person=paris_person, motive="attestation_droits")
    assert contact.caisse_id == "751" and contact.is_online_action
    assert contact.started_at <= timezone.now()


def test_an_agent_contact_is_recorded_in_the_agents_caisse(paris_person, agent_paris):
    contact = add_agent_contact(
        actor=Actor.agent(agent_paris),
        channel="phone",
        person_id=paris_person.pk,
        motive="remboursement",
        outcome="pending",
        answered=True,
        note=" rappel ",
    )
    assert (contact.caisse_id, contact.agent, contact.actor_kind) == ("751", agent_paris, "agent")
    assert contact.answered is True and contact.note == "rappel" and not contact.is_online_action


def test_an_agent_cannot_record_for_another_caisses_person(paris_person, agent_ain):
    with pytest.raises(NotFound):
        add_agent_contact(
            actor=Actor.agent(agent_ain), channel="phone", person_id=paris_person.pk, motive="autre"
        )
    with pytest.raises(NotFound):
        record_contact(actor=Actor.agent(agent_ain), channel="phone", person=paris_person, motive="autre")
    assert Contact.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"channel": "fax"}, "channel"),
        ({"motive": "nope"}, "motive"),
        ({"direction": "sideways"}, "direction"),
        ({"outcome": "maybe"}, "outcome"),
        ({"started_at": dt.datetime(2024, 1, 1, 9, 0)}, "started_at"),  # no time zone
        ({"started_at": timezone.now() + dt.timedelta(hours=1)}, "started_at"),
        ({"waited_seconds": -3}, "waited_seconds"),
        (
            {"started_at": timezone.now(), "responded_at": timezone.now() - dt.timedelta(days=1)},
            "responded_at",
        ),
    ],
)
def test_bad_contacts_are_refused_with_the_field(paris_person, overrides, field):
    args = {
        "actor": Actor.system(),
        "channel": "phone",
        "person": paris_person,
        "motive": "autre",
        **overrides,
    }
    with pytest.raises(InvalidInput) as exc:
        record_contact(**args)
    assert field in exc.value.fields
    assert Contact.objects.count() == 0


def test_an_inactive_motive_is_refused(paris_person):
    Motive.objects.filter(code="autre").update(active=False)
    with pytest.raises(InvalidInput):
        record_contact(actor=Actor.system(), channel="phone", person=paris_person, motive="autre")


def test_database_checks_contacts(paris_person):
    contact = record_contact(
        actor=Actor.system(), channel="sms", person=paris_person, motive="autre", direction="outbound"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.filter(pk=contact.pk).update(channel="fax")
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.filter(pk=contact.pk).update(
            responded_at=contact.started_at - dt.timedelta(seconds=1)
        )


def test_a_contact_links_to_what_it_concerns(paris_person):
    contact = record_contact(
        actor=Actor.system(), channel="sms", direction="outbound", person=paris_person, motive="ij_suivi",
        subject_kind="case", subject_ref=42,
    )  # fmt: skip
    contact.refresh_from_db()
    assert (contact.subject_kind, contact.subject_ref) == ("case", "42")


@pytest.mark.parametrize(
    ("kind", "ref", "field"),
    [
        ("case", "", "subject_ref"),
        ("", "42", "subject_ref"),
        ("planet", "1", "subject_kind"),
        ("case", "x" * 65, "subject_ref"),
    ],
)
def test_an_incomplete_subject_is_refused(paris_person, kind, ref, field):
    with pytest.raises(InvalidInput) as refused:
        record_contact(
            actor=Actor.system(), channel="sms", person=paris_person, motive="autre", subject_kind=kind,
            subject_ref=ref,
        )  # fmt: skip
    assert field in refused.value.fields
    assert not Contact.objects.exists()


def test_the_database_refuses_a_half_subject(paris_person):
    contact = record_contact(actor=Actor.system(), channel="sms", person=paris_person, motive="autre")
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.filter(pk=contact.pk).update(subject_kind="case")
