"""The outbound message ledger: every message the platform sends, on every channel, written once under an
idempotency key (a replay writes nothing), placed under the quiet hours and the frequency cap, dispatched by the
worker through the channel providers, with delivery receipts, the person's inbox and the messages a person asked
for (one-time codes).

The ledger knows no domain: the apps whose events trigger messages register what it needs at start-up (event
kinds and template variables: `register_event_kinds`; periodic jobs: `register_periodic_job`; who has an account:
`register_account_provider`; e-mail attachments: `register_email_attachments`) and write through its public
functions (`write_ledger`, `send_to_person`). The public names of the sub-modules are re-exported here.
"""

from omniguichet.outreach.models import (
    parse_policy as parse_policy,
)
from omniguichet.outreach.services.cap import (
    DAY as DAY,
)
from omniguichet.outreach.services.cap import (
    _paris_midnight as _paris_midnight,
)
from omniguichet.outreach.services.cap import (
    _planned as _planned,
)
from omniguichet.outreach.services.cap import (
    daily_caps as daily_caps,
)
from omniguichet.outreach.services.cap import (
    in_quiet_hours as in_quiet_hours,
)
from omniguichet.outreach.services.cap import (
    next_send_time as next_send_time,
)
from omniguichet.outreach.services.cap import (
    outside_quiet_hours as outside_quiet_hours,
)
from omniguichet.outreach.services.cap import (
    schedule as schedule,
)
from omniguichet.outreach.services.cap import (
    schedule_sms as schedule_sms,
)
from omniguichet.outreach.services.cap import (
    sms_quiet_hours as sms_quiet_hours,
)
from omniguichet.outreach.services.common import (
    _CHANNELS as _CHANNELS,
)
from omniguichet.outreach.services.common import (
    CONTACT_CHANNEL as CONTACT_CHANNEL,
)
from omniguichet.outreach.services.common import (
    CONTACT_SOURCE as CONTACT_SOURCE,
)
from omniguichet.outreach.services.common import (
    DEFAULT_POLICY as DEFAULT_POLICY,
)
from omniguichet.outreach.services.common import (
    PARIS as PARIS,
)
from omniguichet.outreach.services.common import (
    SMS_MAX as SMS_MAX,
)
from omniguichet.outreach.services.common import (
    _setting as _setting,
)
from omniguichet.outreach.services.common import (
    log as log,
)
from omniguichet.outreach.services.dispatch import (
    DispatchReport as DispatchReport,
)
from omniguichet.outreach.services.dispatch import (
    _claim as _claim,
)
from omniguichet.outreach.services.dispatch import (
    _claimable as _claimable,
)
from omniguichet.outreach.services.dispatch import (
    _digest as _digest,
)
from omniguichet.outreach.services.dispatch import (
    _digest_members as _digest_members,
)
from omniguichet.outreach.services.dispatch import (
    _digest_text as _digest_text,
)
from omniguichet.outreach.services.dispatch import (
    _hold_to_cap as _hold_to_cap,
)
from omniguichet.outreach.services.dispatch import (
    _record_sent as _record_sent,
)
from omniguichet.outreach.services.dispatch import (
    backoff as backoff,
)
from omniguichet.outreach.services.dispatch import (
    contact_external_id as contact_external_id,
)
from omniguichet.outreach.services.dispatch import (
    dispatch_due as dispatch_due,
)
from omniguichet.outreach.services.dispatch import (
    drain as drain,
)
from omniguichet.outreach.services.dispatch import (
    merge_released as merge_released,
)
from omniguichet.outreach.services.ledger import (
    LEDGER_COLUMNS as LEDGER_COLUMNS,
)
from omniguichet.outreach.services.ledger import (
    Planned as Planned,
)
from omniguichet.outreach.services.ledger import (
    _dispatch_scheduler as _dispatch_scheduler,
)
from omniguichet.outreach.services.ledger import (
    _enqueue_dispatch as _enqueue_dispatch,
)
from omniguichet.outreach.services.ledger import (
    _periodic_jobs as _periodic_jobs,
)
from omniguichet.outreach.services.ledger import (
    _person_context as _person_context,
)
from omniguichet.outreach.services.ledger import (
    caisse_names as caisse_names,
)
from omniguichet.outreach.services.ledger import (
    person_context as person_context,
)
from omniguichet.outreach.services.ledger import (
    register_dispatch_scheduler as register_dispatch_scheduler,
)
from omniguichet.outreach.services.ledger import (
    register_periodic_job as register_periodic_job,
)
from omniguichet.outreach.services.ledger import (
    run_periodic_jobs as run_periodic_jobs,
)
from omniguichet.outreach.services.ledger import (
    send_to_person as send_to_person,
)
from omniguichet.outreach.services.ledger import (
    write_ledger as write_ledger,
)
from omniguichet.outreach.services.policy import (
    PREFERRED_TO_CHANNEL as PREFERRED_TO_CHANNEL,
)
from omniguichet.outreach.services.policy import (
    Reach as Reach,
)
from omniguichet.outreach.services.policy import (
    _account_providers as _account_providers,
)
from omniguichet.outreach.services.policy import (
    _parsed_policy as _parsed_policy,
)
from omniguichet.outreach.services.policy import (
    choose_channels as choose_channels,
)
from omniguichet.outreach.services.policy import (
    load_reach as load_reach,
)
from omniguichet.outreach.services.policy import (
    register_account_provider as register_account_provider,
)
from omniguichet.outreach.services.providers import (
    AttachmentProvider as AttachmentProvider,
)
from omniguichet.outreach.services.providers import (
    EmailAttachment as EmailAttachment,
)
from omniguichet.outreach.services.providers import (
    FileSink as FileSink,
)
from omniguichet.outreach.services.providers import (
    HttpSmsProvider as HttpSmsProvider,
)
from omniguichet.outreach.services.providers import (
    InboxProvider as InboxProvider,
)
from omniguichet.outreach.services.providers import (
    Provider as Provider,
)
from omniguichet.outreach.services.providers import (
    SendOutcome as SendOutcome,
)
from omniguichet.outreach.services.providers import (
    SmtpEmailProvider as SmtpEmailProvider,
)
from omniguichet.outreach.services.providers import (
    _email_attachments as _email_attachments,
)
from omniguichet.outreach.services.providers import (
    email_attachments as email_attachments,
)
from omniguichet.outreach.services.providers import (
    outbox_dir as outbox_dir,
)
from omniguichet.outreach.services.providers import (
    provider_for as provider_for,
)
from omniguichet.outreach.services.providers import (
    register_email_attachments as register_email_attachments,
)
from omniguichet.outreach.services.receipts import (
    RECEIPT_STATES as RECEIPT_STATES,
)
from omniguichet.outreach.services.receipts import (
    ReceiptResult as ReceiptResult,
)
from omniguichet.outreach.services.receipts import (
    apply_receipts as apply_receipts,
)
from omniguichet.outreach.services.receipts import (
    check_receipt_actor as check_receipt_actor,
)
from omniguichet.outreach.services.requested import (
    ON_REQUEST_CHANNELS as ON_REQUEST_CHANNELS,
)
from omniguichet.outreach.services.requested import (
    my_inbox as my_inbox,
)
from omniguichet.outreach.services.requested import (
    redact_messages as redact_messages,
)
from omniguichet.outreach.services.requested import (
    send_on_request as send_on_request,
)
from omniguichet.outreach.templating import (
    PERSON_VARIABLES as PERSON_VARIABLES,
)
from omniguichet.outreach.templating import (
    EventKinds as EventKinds,
)
from omniguichet.outreach.templating import (
    check_template as check_template,
)
from omniguichet.outreach.templating import (
    event_kinds as event_kinds,
)
from omniguichet.outreach.templating import (
    placeholders as placeholders,
)
from omniguichet.outreach.templating import (
    register_event_kinds as register_event_kinds,
)
from omniguichet.outreach.templating import (
    render as render,
)
from omniguichet.outreach.templating import (
    template_variables as template_variables,
)
