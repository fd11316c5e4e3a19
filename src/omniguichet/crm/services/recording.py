"""Recording one contact (an agent's call, a visit, a message the platform sent), checked like a batch row."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from omniguichet.core.actors import CONTACT_CHANNEL_VALUES, Actor, ActorKind, scope_to_caisse
from omniguichet.core.errors import InvalidInput, NotFound
from omniguichet.crm.models import Contact, Direction, Motive, Outcome, SubjectKind
from omniguichet.crm.services.common import _CHANNELS, _DIRECTIONS, _OUTCOMES, FUTURE_TOLERANCE
from omniguichet.referential.models import Person


def _motives() -> dict[str, Motive]:
    return {m.code: m for m in Motive.objects.filter(active=True)}


# The active motives, read once per process and kept this long for the one-by-one paths (a contact recorded, a
# person's message): a query less on each. A save or deletion in the admin forgets them at once in the saving
# process (signals in crm.apps), as does load_motives; a code the cache does not know is read again at once (a
# motive added in another process is taken at once); a motive deactivated in another process is still taken there
# for at most MOTIVES_CACHE_SECONDS. Batches read them fresh.
MOTIVES_CACHE_SECONDS = 60.0
_active: dict[str, Motive] = {}
_active_loaded_at: list[float] = []


def forget_motives(**_kwargs: Any) -> None:
    _active.clear()
    _active_loaded_at.clear()


def active_motives(*, refresh: bool = False) -> Mapping[str, Motive]:
    """The active contact motives by code (cached in the process, see MOTIVES_CACHE_SECONDS; `refresh`: read now)."""
    now = time.monotonic()
    if refresh or not _active_loaded_at or now - _active_loaded_at[0] > MOTIVES_CACHE_SECONDS:
        fresh = _motives()
        _active.clear()
        _active.update(fresh)
        _active_loaded_at[:] = [now]
    return _active


def _check_contact_fields(
    fields: dict[str, str],
    *,
    channel: str,
    direction: str,
    motive: str,
    started_at: dt.datetime | None,
    outcome: str,
    waited_seconds: int | None,
    responded_at: dt.datetime | None,
    motives: Mapping[str, Motive],
    now: dt.datetime,
) -> None:
    if channel not in _CHANNELS:
        fields["channel"] = _("unknown channel %(c)s (one of %(all)s)") % {
            "c": channel,
            "all": ", ".join(CONTACT_CHANNEL_VALUES),
        }
    if direction not in _DIRECTIONS:
        fields["direction"] = _("must be inbound or outbound")
    if motive not in motives:
        fields["motive"] = _("unknown motive %(m)s") % {"m": motive}
    if outcome not in _OUTCOMES:
        fields["outcome"] = _("must be one of %(all)s") % {"all": ", ".join(Outcome.values)}
    if started_at is not None:
        if timezone.is_naive(started_at):
            fields["started_at"] = _("needs a time zone offset (ISO 8601, e.g. 2026-03-01T09:30:00+01:00)")
        elif started_at > now + FUTURE_TOLERANCE:
            fields["started_at"] = _("is in the future")
    if waited_seconds is not None and not (0 <= waited_seconds <= 86_400):
        fields["waited_seconds"] = _("must be between 0 and 86400")
    if responded_at is not None:
        if timezone.is_naive(responded_at):
            fields["responded_at"] = _("needs a time zone offset")
        elif started_at is not None and timezone.is_aware(started_at) and responded_at < started_at:
            fields["responded_at"] = _("cannot be before started_at")


_SUBJECT_KINDS = frozenset(SubjectKind.values)


def _check_subject(fields: dict[str, str], kind: Any, ref: Any) -> tuple[str, str]:
    """What a contact concerns: both empty, or a known kind with the object's id (at most 64 characters)."""
    kind = "" if kind is None else kind
    ref = "" if ref is None else ref
    if not isinstance(kind, str) or (kind and kind not in _SUBJECT_KINDS):
        fields["subject_kind"] = _("must be one of %(all)s") % {"all": ", ".join(SubjectKind.values)}
        return "", ""
    if isinstance(ref, bool) or not isinstance(ref, str | int):
        fields["subject_ref"] = _("must be a text or a number")
        return "", ""
    ref = str(ref).strip()
    if bool(kind) != bool(ref):
        fields["subject_ref"] = _("subject_kind and subject_ref go together")
    elif len(ref) > 64 or "\x00" in ref:
        fields["subject_ref"] = _("at most 64 characters, no NUL")
    return kind, ref


def _actor_fields(actor: Actor) -> dict[str, Any]:
    return {"actor_kind": actor.kind, "agent": actor.user if actor.kind == ActorKind.AGENT else None}


def _handling_caisse(actor: Actor, person: Person) -> str:
    """The caisse that handled the contact: the agent's own, otherwise the person's."""
    if actor.kind == ActorKind.AGENT and actor.caisse_code:
        return actor.caisse_code
    return person.caisse_id


def record_contact(
    *,
    actor: Actor,
    channel: str,
    person: Person,
    motive: str,
    direction: str = Direction.INBOUND,
    started_at: dt.datetime | None = None,
    outcome: str = Outcome.RESOLVED,
    note: str = "",
    answered: bool | None = None,
    responded_at: dt.datetime | None = None,
    on_appointment: bool | None = None,
    waited_seconds: int | None = None,
    subject_kind: str = "",
    subject_ref: str | int = "",
) -> Contact:
    """Record one contact in the person's record. Every module calls this; contacts are written nowhere else.

    `subject_kind` + `subject_ref` link the contact to what it concerns (a case, document, appointment, message,
    online-service request, reception ticket or letter: `SubjectKind`), as that app's id.
    """
    now = timezone.now()
    fields: dict[str, str] = {}
    motives = active_motives()
    if motive not in motives:  # perhaps added since the cache was read: once more from the database
        motives = active_motives(refresh=True)
    _check_contact_fields(
        fields, channel=channel, direction=direction, motive=motive, started_at=started_at, outcome=outcome,
        waited_seconds=waited_seconds, responded_at=responded_at, motives=motives, now=now,
    )  # fmt: skip
    subject_kind, subject_ref = _check_subject(fields, subject_kind, subject_ref)
    if fields:
        raise InvalidInput.from_fields(fields)
    if (
        actor.kind == ActorKind.AGENT
        and not scope_to_caisse(Person.objects.filter(pk=person.pk), actor).exists()
    ):
        raise NotFound(_("no such person"))
    return Contact.objects.create(
        person=person,
        caisse_id=_handling_caisse(actor, person),
        channel=channel,
        direction=direction,
        motive_id=motive,
        started_at=started_at or now,
        outcome=outcome,
        note=note.strip(),
        answered=answered,
        responded_at=responded_at,
        on_appointment=on_appointment,
        waited_seconds=waited_seconds,
        subject_kind=subject_kind,
        subject_ref=subject_ref,
        **_actor_fields(actor),
    )


def mark_contacts_responded(
    *, person_id: int, channel: str, subject_kind: str, subject_ref: str | int, responded_at: dt.datetime
) -> int:
    """The inbound contacts of one subject on one channel (an e-mail thread's e-mails) get their answer's time,
    once (what `email_48h_rate` counts); a pending one becomes resolved. Returns how many were marked."""
    return Contact.objects.filter(
        person_id=person_id,  # the record's timeline index
        channel=channel,
        direction=Direction.INBOUND,
        subject_kind=subject_kind,
        subject_ref=str(subject_ref),
        responded_at__isnull=True,
        started_at__lte=responded_at,
    ).update(responded_at=responded_at, outcome=Outcome.RESOLVED)
