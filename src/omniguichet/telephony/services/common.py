"""What the telephony services share: the limits, the sequence of a call's events, the voice menu's
mapping to contact motives."""

from __future__ import annotations

import datetime as dt

from omniguichet.core.text import MAX_BATCH_ROWS
from omniguichet.telephony.models import EventKind

MAX_BATCH = MAX_BATCH_ROWS
EARLIEST_EVENT = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
# The order a call's events are applied in (each at most once per call).
SEQUENCE = [EventKind.NEW, EventKind.IVR, EventKind.QUEUED, EventKind.ANSWER, EventKind.HANGUP]
RANK = {kind.value: i for i, kind in enumerate(SEQUENCE)}
# A caller identified who hung up unanswered after more than this in the queue is offered a call-back by SMS.
CALLBACK_OFFER_AFTER = 30
# The screen-pop opens the record of a call answered at most this long ago (an agent logging in later is not
# thrown onto an old caller's record).
SCREEN_POP_WINDOW = dt.timedelta(minutes=10)
SOURCE = "telephony"

# The voice menu's choices and the contact motive each stands for (crm/data/motives.csv). A choice that is itself
# a motive code is taken as it is; any other choice, or none, is DEFAULT_MOTIVE.
IVR_MOTIVES: dict[str, str] = {
    "1": "remboursement",  # reimbursements of care
    "2": "ij_suivi",  # daily allowances (sick pay)
    "3": "carte_vitale",  # the carte Vitale
    "4": "attestation_droits",  # certificates
    "5": "css",  # complémentaire santé solidaire
    "6": "changement_adresse",  # change of address or bank details
    "7": "reclamation",  # complaints
    "8": "depot_piece",  # a document to send
}
DEFAULT_MOTIVE = "autre"


def active_motives() -> frozenset[str]:
    from omniguichet.crm.services import iter_motives

    return frozenset(m.code for m in iter_motives())


def motive_for(ivr_choice: str, motives: frozenset[str] | None = None) -> str:
    """The contact motive of a voice-menu choice (IVR_MOTIVES; a motive code stands for itself), among the active
    motives (DEFAULT_MOTIVE when the mapped one was retired)."""
    motives = active_motives() if motives is None else motives
    code = IVR_MOTIVES.get(ivr_choice, ivr_choice)
    return code if code in motives else DEFAULT_MOTIVE
