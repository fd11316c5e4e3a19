"""Demo data of the documents app: a few hundred deposits made through the real deposit service (checks,
encryption, routing, a Contact each), so that the baskets of the console have work in them, and an open request
for each demo login so that the web account and the kiosk have something to deposit for."""

from __future__ import annotations

import datetime as dt
import io
import random

from django.db.models import F
from django.utils import timezone
from rich.progress import track

from omniguichet.baskets.models import WorkItem
from omniguichet.core.actors import Actor, ActorKind, Channel
from omniguichet.documents import services
from omniguichet.documents.models import Deposit, Document, DocumentType
from omniguichet.referential.models import Person, User

MAX_DEPOSITS = 300
DEMO_CAISSE = "751"  # the demo agent agent-751 sees the fullest baskets
# (label of the request, document type) the demo agents ask for.
ASKED = [
    ("Changement de coordonnées bancaires", DocumentType.BANK_DETAILS),
    ("Arrêt de travail", DocumentType.SICK_LEAVE_FORM),
    ("Attestation de salaire pour les indemnités journalières", DocumentType.SALARY_CERTIFICATE),
    ("Complémentaire santé solidaire : ressources", DocumentType.PROOF_OF_INCOME),
    ("Changement d'adresse", DocumentType.PROOF_OF_ADDRESS),
    ("Rattachement d'un enfant", DocumentType.BIRTH_CERTIFICATE),
    ("Vérification d'identité", DocumentType.IDENTITY_DOCUMENT),
]
REJECTION_REASONS = ["document illisible", "document incomplet : il manque une page", "document expiré"]


def _pdf(pages: int) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _jpeg(rng: random.Random) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (320, 200), (rng.randrange(256), rng.randrange(256), rng.randrange(256))).save(
        out, "JPEG"
    )
    return out.getvalue()


def seed_documents(*, seed: int = 42, deposits: int | None = None, progress: bool = True) -> str:
    """Deposits for random adults (half of them in the Paris caisse), each for a request an agent of their caisse
    made, through the real services; some claimed, accepted, rejected or transferred. Does nothing when
    deposits exist already. `deposits`: default one per 20 persons, at most 300. Returns a summary line."""
    if Deposit.objects.exists():
        return "Documents: the baskets already have documents."
    if deposits is None:
        deposits = min(MAX_DEPOSITS, Person.objects.count() // 20)
    rng = random.Random(seed)
    services.seed_baskets()
    agents: dict[str, User] = {
        u.caisse_id: u
        for u in User.objects.filter(username__startswith="agent-", caisse__isnull=False)
        if u.caisse_id is not None
    }
    adults = Person.objects.filter(parent__isnull=True, rights_to__isnull=True, caisse_id__in=list(agents))
    paris = list(adults.filter(caisse_id=DEMO_CAISSE).values_list("pk", flat=True)[:5000])
    elsewhere = list(adults.exclude(caisse_id=DEMO_CAISSE).values_list("pk", flat=True)[:20000])
    if not agents or not (paris or elsewhere):
        return "Documents: no agent or person to deposit for."
    persons = {p.pk: p for p in Person.objects.filter(pk__in=paris + elsewhere)}
    made = 0
    for _n in track(range(deposits), description="Dépôts de pièces", disable=not progress):
        pool = paris if paris and (rng.random() < 0.5 or not elsewhere) else elsewhere
        person = persons[rng.choice(pool)]
        agent = Actor.agent(agents[person.caisse_id])
        label, document_type = rng.choice(ASKED)
        request = services.request_documents(
            actor=agent, channel=Channel.BACKOFFICE, person_id=person.pk, document_types=[document_type],
            label=label,
        )  # fmt: skip
        files = [(f"piece-{n}.pdf", _pdf(rng.randint(1, 3))) for n in range(rng.choice([1, 1, 1, 2]))]
        if rng.random() < 0.3:
            files = [("photo.jpg", _jpeg(rng))]
        if rng.random() < 0.8:
            actor = Actor(kind=ActorKind.INSURED, person_id=person.pk, label="demo")
            channel = rng.choice([Channel.WEB, Channel.WEB, Channel.APP, Channel.KIOSK])
            result = services.deposit_documents(
                actor=actor, channel=channel, purpose_kind="request", purpose_ref=str(request.pk),
                document_type=document_type, files=files,
            )  # fmt: skip
        else:
            channel = rng.choice([Channel.LETTER, Channel.RECEPTION])
            result = services.deposit_documents(
                actor=agent, channel=channel, purpose_kind="request", purpose_ref=str(request.pk),
                document_type=document_type, files=files, person_id=person.pk,
            )  # fmt: skip
        # Spread the receptions over the last three weeks: the console shows ages, and some are overdue.
        shift = dt.timedelta(hours=rng.randint(0, 21 * 24))
        ids = [d.pk for d in result.documents]
        Document.objects.filter(deposit=result.deposit).update(received_at=F("received_at") - shift)
        WorkItem.objects.filter(kind="document", subject_id__in=ids).update(
            received_at=F("received_at") - shift, deadline=F("deadline") - shift
        )
        made += 1
        roll = rng.random()
        if roll < 0.15:
            services.accept_documents(actor=agent, document_ids=ids)
        elif roll < 0.2:
            services.reject_documents(actor=agent, document_ids=ids, reason=rng.choice(REJECTION_REASONS))
        elif roll < 0.27:
            target = services.basket_for(caisse_code=person.caisse_id, processing_kind="general")
            if target.pk != result.documents[0].item.basket_id:
                services.transfer_documents(
                    actor=agent, document_ids=ids, to_basket_id=target.pk, reason="mauvaise corbeille"
                )
        elif roll < 0.35:
            services.claim_documents(actor=agent, document_ids=ids)
    logins = _requests_for_demo_logins(agents)
    return (
        f"Documents: {made} deposits ({Document.objects.count()} files) in the baskets, "
        f"{logins} open requests for the demo logins."
    )


def _requests_for_demo_logins(agents: dict[str, User]) -> int:
    """An open request (bank details, as for a change of bank details) for each insured demo login."""
    persons = Person.objects.filter(account__user__isnull=False, caisse_id__in=list(agents))
    count = 0
    for person in persons[:10]:
        services.request_documents(
            actor=Actor.agent(agents[person.caisse_id]), channel=Channel.BACKOFFICE, person_id=person.pk,
            document_types=[DocumentType.BANK_DETAILS], label="Changement de coordonnées bancaires",
            deadline=timezone.localdate() + dt.timedelta(days=30),
        )  # fmt: skip
        count += 1
    return count
