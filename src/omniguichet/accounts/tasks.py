"""Background work of the online account: masking one-time codes in the outbound message ledger once served."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_tasks import task


@task()
def redact_code_message(otc_id: int) -> bool:
    """Mask the code of this one-time code in the ledger; while its message is still on its way, come back at
    the code's expiry (then it is masked whatever happened)."""
    from omniguichet.accounts import services
    from omniguichet.accounts.models import OneTimeCode

    otc = OneTimeCode.objects.filter(pk=otc_id).first()
    if otc is None:
        return True
    if services.redact_code_message(otc=otc):
        return True
    enqueue_redaction(otc.pk, max(otc.expires_at, timezone.now()))
    return False


def enqueue_redaction(otc_id: int, at: dt.datetime) -> None:
    """Set as accounts.services' redaction hook at start-up (accounts.apps)."""
    redact_code_message.using(run_after=at).enqueue(otc_id)
