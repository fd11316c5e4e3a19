"""The messages case events trigger: the rules (outreach.MessageRule, managed in the admin) matched against the
events applied by an ingestion, in its transaction, written in the outbound ledger through its public functions;
the reminders of requested documents that have not arrived (a periodic job of the ledger's sweep); and the
event kinds and variables the ledger's templates may use, registered at start-up (cases.apps)."""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _

from omniguichet.cases.models import CaseStatus, CaseType, RequestedDocument
from omniguichet.cases.services.common import CASE_MOTIVES
from omniguichet.core.formatting import french_amount, french_date
from omniguichet.outreach.models import MessageRule
from omniguichet.outreach.services import Planned, caisse_names, person_context, render, write_ledger


def deposit_url(reference: str, document: str) -> str:
    base = getattr(settings, "OUTREACH_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
    return f"{base}/compte/dossiers/{reference}/pieces/{document}"


def _case_type_label(case_type: str) -> str:
    return _case_type_label_in(case_type, get_language() or "")


@functools.lru_cache(maxsize=256)
def _case_type_label_in(case_type: str, language: str) -> str:
    return str(CaseType(case_type).label) if case_type in CaseType.values else case_type


def event_context(event: Any, case: Any, *, names: dict[str, str] | None = None) -> dict[str, str]:
    """The variables of a message about this event of this case (`names`: caisse_names(), read once a batch)."""
    payload = event.payload
    ctx = person_context(case.person)
    ctx.update({
        "case_reference": case.reference,
        "case_type": _case_type_label(case.case_type),
        "caisse_name": (caisse_names() if names is None else names).get(case.caisse_id, case.caisse_id),
        "expected_decision_on": french_date(case.expected_decision_on),
    })  # fmt: skip
    if "document" in payload:
        ctx["document_label"] = payload.get("label") or payload["document"]
        ctx["deposit_url"] = deposit_url(case.reference, payload["document"])
    if payload.get("due_on"):
        ctx["due_on"] = french_date(payload["due_on"])
    if "amount" in payload:
        ctx["amount"] = french_amount(payload["amount"])
        ctx["paid_on"] = french_date(payload.get("paid_on") or event.occurred_at)
        ctx["period_from"] = french_date(payload.get("period_from"))
        ctx["period_to"] = french_date(payload.get("period_to"))
    if "outcome" in payload:
        accepted = payload["outcome"] == "accepted"
        ctx["outcome"] = (
            pgettext("a request was", "accepted") if accepted else pgettext("a request was", "refused")
        )
    if "reason" in payload:
        ctx["reason"] = payload["reason"]
    if event.event_type == "card_shipped":
        card = payload.get("card") or case.case_type
        ctx["card"] = _("European health insurance card") if card == "european_card" else _("Vitale card")
    return ctx


def _rule_matches(rule: MessageRule, event: Any, case: Any) -> bool:
    types = rule.case_type_list
    if types and case.case_type not in types:
        return False
    return all(event.payload.get(k) == v for k, v in (rule.condition or {}).items())


def on_case_events(applied: list[Any]) -> None:
    """The messages that applied case events trigger (called inside the ingestion transaction)."""
    event_types = {item.event.event_type for item in applied}
    rules = list(
        MessageRule.objects.filter(active=True, event_type__in=event_types)
        .select_related("template")
        .order_by("code")
    )
    if not rules:
        return
    by_type: dict[str, list[MessageRule]] = defaultdict(list)
    for rule in rules:
        by_type[rule.event_type].append(rule)
    now = timezone.now()
    horizon = now - dt.timedelta(days=getattr(settings, "OUTREACH_MAX_EVENT_AGE_DAYS", 30))
    planned: list[Planned] = []
    names = caisse_names()
    for item in applied:
        event, case = item.event, item.case
        if event.occurred_at < horizon:  # old history replayed: the timeline moves, nobody is messaged
            continue
        for rule in by_type.get(event.event_type, ()):
            if not _rule_matches(rule, event, case):
                continue
            ctx = event_context(event, case, names=names)
            template = rule.template
            planned.append(Planned(
                key=f"rule:{rule.code}:{event.event_id}", person=case.person, subject=render(template.subject, ctx),
                body=render(template.body, ctx), sms_body=render(template.sms_body, ctx), at=now, rule=rule.code,
                motive=CASE_MOTIVES.get(case.case_type, "autre"), subject_kind="case", subject_ref=str(case.pk),
                policy=rule.channel_policy,
            ))  # fmt: skip
    write_ledger(planned, now=now)


def send_document_reminders(*, now: dt.datetime | None = None, limit: int = 2000) -> int:
    """Remind the persons whose requested document has not arrived N days after the request (the rules with a
    reminder). Each document is reminded once; returns how many documents were reminded."""
    now = now or timezone.now()
    total = 0
    rules = MessageRule.objects.filter(
        active=True, event_type="document_missing", reminder_after_days__isnull=False
    ).select_related("reminder_template")
    for rule in rules:
        assert rule.reminder_after_days is not None and rule.reminder_template is not None
        docs_qs = RequestedDocument.objects.filter(
            received_at__isnull=True, reminded_at__isnull=True,
            requested_at__lte=now - dt.timedelta(days=rule.reminder_after_days),
            case__status=CaseStatus.WAITING_DOCUMENTS,
        ).select_related("case", "case__person")  # fmt: skip
        if rule.case_type_list:
            docs_qs = docs_qs.filter(case__case_type__in=rule.case_type_list)
        with transaction.atomic():
            docs = list(docs_qs.order_by("requested_at")[:limit])
            planned = []
            for doc in docs:
                case = doc.case
                fake_event = _ReminderEvent(
                    payload={
                        "document": doc.code,
                        "label": doc.label,
                        **({"due_on": doc.due_on.isoformat()} if doc.due_on else {}),
                    }
                )
                ctx = event_context(fake_event, case)
                template = rule.reminder_template
                planned.append(Planned(
                    key=f"reminder:{rule.code}:{doc.pk}:{doc.requested_at.isoformat()}", person=case.person,
                    subject=render(template.subject, ctx), body=render(template.body, ctx),
                    sms_body=render(template.sms_body, ctx), at=now, rule=rule.code,
                    motive=CASE_MOTIVES.get(case.case_type, "autre"), subject_kind="case", subject_ref=str(case.pk),
                    policy=rule.channel_policy,
                ))  # fmt: skip
            write_ledger(planned, now=now)
            RequestedDocument.objects.filter(pk__in=[d.pk for d in docs]).update(reminded_at=now)
        total += len(docs)
    return total


@dataclass
class _ReminderEvent:
    payload: dict[str, Any]
    event_type: str = "document_missing"
    event_id: str = ""
    occurred_at: dt.datetime = field(default_factory=timezone.now)
