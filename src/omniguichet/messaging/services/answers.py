"""What an agent does with the threads of their caisse: the queue (oldest deadline first), a thread, claiming it,
answering (from a reply template or not; the answer shows in the account and a notice goes through the outbound
ledger), and closing it with an outcome."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from omniguichet.core.actors import Actor, ActorKind, Channel, scope_to_caisse
from omniguichet.core.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceError
from omniguichet.crm.models import Direction, Outcome, SubjectKind
from omniguichet.crm.services import mark_contacts_responded, record_contact
from omniguichet.messaging.models import (
    LinkKind,
    Message,
    ReplyTemplate,
    Thread,
    ThreadChannel,
    ThreadOutcome,
    ThreadStatus,
)
from omniguichet.messaging.services.items import thread_claimed, thread_rerouted, thread_stops_waiting
from omniguichet.messaging.services.threads import _check_body, _thread_messages

QUEUE_PAGE = 50
# Shown as "due soon" from this share of the answer time on (issue 17: 80 %; crm.services.deadlines computes it).
DUE_SOON_SHARE = 0.8


# The queue's filter of e-mails whose sender no verified address identifies (no person yet).
TO_IDENTIFY = "to_identify"


@dataclass(frozen=True)
class QueueCounts:
    waiting: int
    overdue: int
    due_soon: int
    to_identify: int = 0


def _agent(actor: Actor) -> None:
    if actor.kind != ActorKind.AGENT:
        raise Forbidden(_("reserved to the caisses' staff"))


def _threads(actor: Actor):
    _agent(actor)
    return scope_to_caisse(Thread.objects.all(), actor)


def queue(*, actor: Actor, status: str = ThreadStatus.WAITING, limit: int = QUEUE_PAGE) -> list[Thread]:
    """The threads of the agent's caisse in one state, oldest deadline first (then oldest message); the e-mails
    of senders not identified yet are apart (`to_identify`), until an agent attaches them to a person."""
    if status not in [*ThreadStatus.values, TO_IDENTIFY]:
        raise InvalidInput.from_fields(
            {"status": _("must be one of %(all)s") % {"all": ", ".join([*ThreadStatus, TO_IDENTIFY])}}
        )
    threads = _threads(actor).select_related("person", "motive", "claimed_by")
    if status == TO_IDENTIFY:
        threads = threads.filter(person__isnull=True).exclude(status=ThreadStatus.CLOSED)
        status = ThreadStatus.WAITING
    else:
        threads = threads.filter(status=status, person__isnull=False)
    order = ("deadline", "id") if status == ThreadStatus.WAITING else ("-last_message_at", "-id")
    return list(threads.order_by(*order)[: max(1, min(limit, 200))])


def queue_counts(*, actor: Actor, now: dt.datetime | None = None) -> QueueCounts:
    """Waiting threads, and among them the overdue ones and those past 80 % of their time, as each thread's policy
    and caisse's calendar count it (`due_soon_at`, docs/deadlines.md) (one query)."""
    from django.db.models import Count, Q

    now = now or timezone.now()
    row = (
        _threads(actor)
        .filter(status=ThreadStatus.WAITING)
        .aggregate(
            waiting=Count("id", filter=Q(person__isnull=False)),
            overdue=Count("id", filter=Q(deadline__lt=now)),
            due_soon=Count("id", filter=Q(deadline__gte=now, due_soon_at__lte=now)),
            to_identify=Count("id", filter=Q(person__isnull=True)),
        )
    )
    return QueueCounts(**row)


def agent_thread(*, actor: Actor, thread_id: int) -> Thread:
    """A thread of the agent's caisse with its messages and files; another caisse's thread is not found."""
    thread = (
        _threads(actor)
        .filter(pk=thread_id)
        .select_related("person", "motive", "claimed_by", "caisse")
        .prefetch_related(_thread_messages())
        .first()
    )
    if thread is None:
        raise NotFound(_("no such conversation"))
    return thread


def claim_thread(*, actor: Actor, channel: str, thread_id: int) -> Thread:
    with transaction.atomic():
        thread = _threads(actor).select_for_update().filter(pk=thread_id).first()
        if thread is None:
            raise NotFound(_("no such conversation"))
        if thread.claimed_by_id and thread.claimed_by_id != actor.user.pk:  # type: ignore[union-attr]
            raise Conflict(_("another agent already took this conversation"))
        thread.claimed_by = actor.user
        thread.save(update_fields=["claimed_by"])
        thread_claimed(thread, actor.user)
    return thread


def reply_templates() -> list[ReplyTemplate]:
    return list(ReplyTemplate.objects.filter(active=True))


def template_context(thread: Thread) -> dict[str, str]:
    """The values a reply template may use, read from the thread, its person and the case it is about."""
    from omniguichet.cases.services import person_cases
    from omniguichet.core.formatting import french_date
    from omniguichet.outreach.services import person_context

    person = thread.person
    assert person is not None  # an unknown sender's e-mail has no template (fill_template refuses it)
    # The person's names as every message of the ledger writes them.
    context = {
        **person_context(person), "caisse_name": thread.caisse.name,
        "case_reference": "", "case_status": "", "decision_date": "",
    }  # fmt: skip
    cases = person_cases(person_id=person.pk, limit=20)
    case = next(
        (c for c in cases if thread.link_kind == LinkKind.CASE and c.reference == thread.link_ref), None
    )
    case = case or (cases[0] if cases else None)
    if case is not None:
        with translation.override(settings.LANGUAGE_CODE):
            context.update(
                case_reference=case.reference,
                case_status=str(case.get_status_display()),
                decision_date=french_date(case.expected_decision_on) if case.expected_decision_on else "",
            )
    return context


def fill_template(*, actor: Actor, thread_id: int, template_code: str) -> str:
    """The template's text with the thread's values, for the agent to read over before sending."""
    from omniguichet.outreach.templating import render

    thread = agent_thread(actor=actor, thread_id=thread_id)
    if thread.person is None:
        raise InvalidInput.from_fields({"template": _("attach this e-mail to a person first")})
    template = ReplyTemplate.objects.filter(pk=template_code, active=True).first()
    if template is None:
        raise InvalidInput.from_fields({"template": _("unknown reply template")})
    return render(template.body, template_context(thread))


def _notify(thread: Thread, message: Message) -> None:
    """Tell the person an answer waits in their account: SMS or e-mail as they allow (quiet hours and caps are the
    ledger's). The text carries no content of the answer: it is read in the account only."""
    from omniguichet.outreach.services import send_to_person

    assert thread.person is not None
    link = settings.OMNIGUICHET_PUBLIC_URL.rstrip("/") + reverse("messaging:thread", args=[thread.pk])
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Your caisse answered your message")
        body = _(
            "Hello {full_name},\n\nYour caisse answered your message. Read the answer in your account: %(link)s"
        ) % {"link": link}
        sms_body = _("Your caisse answered your message. Read it in your account: %(link)s") % {"link": link}
    send_to_person(
        actor=Actor.system("messaging"), person=thread.person, idempotency_key=f"thread-answer-{message.pk}",
        subject=subject, body=body, sms_body=sms_body, channel_policy="sms>email",
        subject_kind=SubjectKind.MESSAGE, subject_ref=str(thread.pk), motive=thread.motive_id,
    )  # fmt: skip


def answer_thread(*, actor: Actor, channel: str, thread_id: int, body: str) -> Message:
    """An agent's answer: shown in the person's account, a contact of the record, the thread's clock stopped, and
    a notice queued in the outbound ledger once the answer is committed. An e-mail thread's answer goes by
    e-mail (SMTP, threading headers) when the sender's address is verified for the person, before the commit:
    a mail server that refuses it leaves nothing written (MailNotSent, 503). An unknown sender's e-mail is
    answered only once attached to a person."""
    from omniguichet.messaging.services.mailin import answer_recipient, send_answer

    fields: dict[str, str] = {}
    text = _check_body(body, fields)
    if fields:
        raise InvalidInput.from_fields(fields)
    now = timezone.now()
    with transaction.atomic():
        thread = (
            _threads(actor)
            .select_for_update(of=("self",))
            .select_related("person")
            .filter(pk=thread_id)
            .first()
        )
        if thread is None:
            raise NotFound(_("no such conversation"))
        if thread.status == ThreadStatus.CLOSED:
            raise Conflict(_("this conversation is closed"))
        if thread.person is None:
            raise Conflict(
                _("the sender of this e-mail is not identified: attach it to a person before answering")
            )
        message = Message.objects.create(
            thread=thread, direction=Direction.OUTBOUND, agent=actor.user, body=text, created_at=now
        )
        if thread.status == ThreadStatus.WAITING and thread.deadline is not None:
            if now <= thread.deadline:
                thread.answered_in_time += 1
            else:
                thread.answered_late += 1
        is_email = thread.channel == ThreadChannel.EMAIL
        recipient = answer_recipient(thread) if is_email else ""
        thread.status, thread.waiting_since, thread.deadline = ThreadStatus.ANSWERED, None, None
        thread.due_soon_at = None
        thread.last_message_at = now
        thread.claimed_by = thread.claimed_by or actor.user
        thread.save()
        thread_stops_waiting(thread, outcome="answered", user=actor.user)
        record_contact(
            actor=actor, channel=Channel.EMAIL if recipient else Channel.SECURE_MESSAGE, person=thread.person,
            motive=thread.motive_id, direction=Direction.OUTBOUND, started_at=now, outcome=Outcome.RESOLVED,
            responded_at=now, subject_kind=SubjectKind.MESSAGE, subject_ref=thread.pk,
        )  # fmt: skip
        if is_email:  # the thread's e-mails are answered (what email_48h_rate counts)
            mark_contacts_responded(
                person_id=thread.person.pk, channel=Channel.EMAIL, subject_kind=SubjectKind.MESSAGE,
                subject_ref=thread.pk, responded_at=now,
            )  # fmt: skip
        if recipient:
            # Last, so that a refusal by the mail server rolls the answer back.
            message.message_id = send_answer(thread, message, recipient)
            message.save(update_fields=["message_id"])
        else:
            transaction.on_commit(lambda: _notify(thread, message))
    return message


def close_thread(*, actor: Actor, channel: str, thread_id: int, outcome: str) -> Thread:
    if outcome not in ThreadOutcome.values:
        raise InvalidInput.from_fields(
            {"outcome": _("choose an outcome: %(all)s") % {"all": ", ".join(ThreadOutcome.values)}}
        )
    with transaction.atomic():
        thread = _threads(actor).select_for_update().filter(pk=thread_id).first()
        if thread is None:
            raise NotFound(_("no such conversation"))
        if thread.status == ThreadStatus.CLOSED:
            raise Conflict(_("this conversation is already closed"))
        thread.status, thread.outcome = ThreadStatus.CLOSED, outcome
        thread.closed_at, thread.closed_by = timezone.now(), actor.user
        thread.waiting_since, thread.deadline, thread.due_soon_at = None, None, None
        thread.save()
        thread_stops_waiting(thread, outcome=outcome, user=actor.user)
    return thread


def close_action(*, actor: Actor, subject_ids: list[int], reason: str = "") -> list[tuple[int, bool, str]]:
    """The basket console's bulk "close, no answer needed" on conversations (a duplicate, a thank-you): each
    closed with the outcome no_action, or refused with its own reason."""
    results = []
    for thread_id in subject_ids:
        try:
            close_thread(
                actor=actor, channel=Channel.BACKOFFICE, thread_id=thread_id, outcome=ThreadOutcome.NO_ACTION
            )
        except ServiceError as exc:
            results.append((thread_id, False, exc.message))
        else:
            results.append((thread_id, True, ""))
    return results


def work_item_figures(caisse: str | None, now: dt.datetime) -> dict[str, int]:
    """The conversations of one caisse (None: all) for the dashboards: waiting, due soon, overdue, and the answers
    of the last 30 days in time or late (one query, on the queue's index)."""
    from django.db.models import Count, Q, Sum

    threads = Thread.objects.all() if caisse is None else Thread.objects.filter(caisse_id=caisse)
    waiting = Q(status=ThreadStatus.WAITING)
    recent = Q(last_message_at__gte=now - dt.timedelta(days=30))
    row = threads.aggregate(
        open=Count("id", filter=waiting),
        due_soon=Count("id", filter=waiting & Q(deadline__gte=now, due_soon_at__lte=now)),
        overdue=Count("id", filter=waiting & Q(deadline__lt=now)),
        in_time=Sum("answered_in_time", filter=recent),
        late=Sum("answered_late", filter=recent),
    )
    return {key: int(value or 0) for key, value in row.items()}


def correct_motive(*, actor: Actor, channel: str, thread_id: int, motive: str) -> Thread:
    """An agent gives the conversation its right motive; the person's first message is kept as a labelled example
    for the classifier, with what was suggested before (docs/classifier.md)."""
    from omniguichet.crm.models import Motive
    from omniguichet.crm.services import keep_labelled_example

    chosen = Motive.objects.filter(pk=str(motive)[:40], active=True).first()
    if chosen is None:
        raise InvalidInput.from_fields({"motive": _("unknown subject")})
    with transaction.atomic():
        thread = _threads(actor).select_for_update().filter(pk=thread_id).first()
        if thread is None:
            raise NotFound(_("no such conversation"))
        if thread.motive_id == chosen.pk:
            return thread
        first = thread.messages.filter(direction=Direction.INBOUND).order_by("created_at", "id").first()
        keep_labelled_example(
            actor=actor, subject=thread.subject, body=first.body if first else "", motive=chosen,
            suggested=thread.suggested_motive or thread.motive_id, confidence=thread.suggestion_confidence,
            source=thread.channel,
        )  # fmt: skip
        thread.motive = chosen
        thread.save(update_fields=["motive"])
        thread_rerouted(thread)
    return thread
