"""Telling the person what became of their document, through the outbound ledger."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from omniguichet.core.actors import Actor, ActorKind
from omniguichet.documents.models import (
    Document,
)
from omniguichet.documents.services.common import DEPOSIT_MOTIVE


def deposit_link(*, purpose_kind: str, purpose_ref: str, absolute: bool = False) -> str:
    """The page where the person deposits for this purpose (absolute for messages)."""
    link = reverse("documents:deposit") + "?" + urlencode({"kind": purpose_kind, "ref": purpose_ref})
    if absolute:
        base = getattr(settings, "OUTREACH_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
        link = base + link
    return link


def notify_document_rejected(*, actor: Actor, document: Document, reason: str) -> None:
    """THE ONE PLACE a rejection is told to the person: a message through the outbound message ledger
    (outreach.send_to_person, on the channels the person allows), with a link to deposit again. Called after the
    rejection commits; the idempotency key makes a second call send nothing more."""
    from omniguichet.outreach.services import SMS_MAX, send_to_person

    def literal(text: str) -> str:  # the message texts are templates: braces of the values stay braces
        return text.replace("{", "{{").replace("}", "}}")

    link = deposit_link(purpose_kind=document.purpose_kind, purpose_ref=document.purpose_ref, absolute=True)
    with translation.override(settings.LANGUAGE_CODE):  # the person's language, not the agent's
        values = {
            "type": literal(str(document.get_document_type_display())),
            "reason": literal(reason),
            "link": literal(link),
        }
        subject = _("Your document could not be accepted")
        body = (
            _(
                "Hello {full_name},\n\nYour document (%(type)s) could not be accepted: %(reason)s.\n"
                "Please send it again here: %(link)s"
            )
            % values
        )
        sms_body = _("Your document (%(type)s) could not be accepted. Send it again: %(link)s") % values
    send_to_person(
        actor=actor if actor.kind != ActorKind.INSURED else Actor.system("documents"),
        person=document.person,
        idempotency_key=f"document-rejected-{document.pk}",
        subject=subject,
        body=body,
        sms_body=sms_body if len(sms_body) <= SMS_MAX else subject,
        subject_kind="document",
        subject_ref=str(document.pk),
        motive=DEPOSIT_MOTIVE,
    )
