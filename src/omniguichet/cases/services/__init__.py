"""Cases from the back office: event ingestion (idempotent, in sequence order, all or nothing), the case timeline
in plain words for the person, the documents a case asks for, the cases the platform opens itself, the messages
case events trigger, and the "open cases" section of the customer record.

Other apps react to applied events through `register_event_handler`; the handlers run in the ingestion
transaction, so an event and what it triggers (the messages written in the outbound ledger, which acts as an
outbox) are written together or not at all. The public names of the sub-modules are re-exported here.
"""

from omniguichet.cases.services.common import (
    _CASE_TYPES as _CASE_TYPES,
)
from omniguichet.cases.services.common import (
    _CHANNELS as _CHANNELS,
)
from omniguichet.cases.services.common import (
    _EVENT_TYPES as _EVENT_TYPES,
)
from omniguichet.cases.services.common import (
    CASE_MOTIVES as CASE_MOTIVES,
)
from omniguichet.cases.services.common import (
    CASE_REFERENCE_RE as CASE_REFERENCE_RE,
)
from omniguichet.cases.services.common import (
    DOCUMENT_CODE_RE as DOCUMENT_CODE_RE,
)
from omniguichet.cases.services.common import (
    EARLIEST_EVENT as EARLIEST_EVENT,
)
from omniguichet.cases.services.common import (
    FUTURE_TOLERANCE as FUTURE_TOLERANCE,
)
from omniguichet.cases.services.common import (
    INGEST_ROLES as INGEST_ROLES,
)
from omniguichet.cases.services.common import (
    MAX_AMOUNT as MAX_AMOUNT,
)
from omniguichet.cases.services.common import (
    MAX_BATCH as MAX_BATCH,
)
from omniguichet.cases.services.common import (
    MAX_ID as MAX_ID,
)
from omniguichet.cases.services.common import (
    PERSON_EVENTS as PERSON_EVENTS,
)
from omniguichet.cases.services.common import (
    M as M,
)
from omniguichet.cases.services.common import (
    TimelineEntry as TimelineEntry,
)
from omniguichet.cases.services.common import (
    _member as _member,
)
from omniguichet.cases.services.ingest import (
    _EVENT_CASE as _EVENT_CASE,
)
from omniguichet.cases.services.ingest import (
    CASE_COLUMNS as CASE_COLUMNS,
)
from omniguichet.cases.services.ingest import (
    CONTACT_SOURCE as CONTACT_SOURCE,
)
from omniguichet.cases.services.ingest import (
    DOCUMENT_COLUMNS as DOCUMENT_COLUMNS,
)
from omniguichet.cases.services.ingest import (
    EVENT_COLUMNS as EVENT_COLUMNS,
)
from omniguichet.cases.services.ingest import (
    AppliedEvent as AppliedEvent,
)
from omniguichet.cases.services.ingest import (
    EventHandler as EventHandler,
)
from omniguichet.cases.services.ingest import (
    _apply as _apply,
)
from omniguichet.cases.services.ingest import (
    _field_plan as _field_plan,
)
from omniguichet.cases.services.ingest import (
    _FieldPlan as _FieldPlan,
)
from omniguichet.cases.services.ingest import (
    _handlers as _handlers,
)
from omniguichet.cases.services.ingest import (
    _ingest_parsed as _ingest_parsed,
)
from omniguichet.cases.services.ingest import (
    _insert_cases as _insert_cases,
)
from omniguichet.cases.services.ingest import (
    _insert_documents as _insert_documents,
)
from omniguichet.cases.services.ingest import (
    _insert_events as _insert_events,
)
from omniguichet.cases.services.ingest import (
    _instance as _instance,
)
from omniguichet.cases.services.ingest import (
    _record_person_contacts as _record_person_contacts,
)
from omniguichet.cases.services.ingest import (
    _sees as _sees,
)
from omniguichet.cases.services.ingest import (
    ingest_case_events as ingest_case_events,
)
from omniguichet.cases.services.ingest import (
    register_event_handler as register_event_handler,
)
from omniguichet.cases.services.links import (
    case_appointments as case_appointments,
)
from omniguichet.cases.services.links import (
    register_case_appointments as register_case_appointments,
)
from omniguichet.cases.services.opening import (
    PLATFORM_SOURCE as PLATFORM_SOURCE,
)
from omniguichet.cases.services.opening import (
    open_case_from_request as open_case_from_request,
)
from omniguichet.cases.services.parsing import (
    PAYLOAD_KEYS as PAYLOAD_KEYS,
)
from omniguichet.cases.services.parsing import (
    IngestReport as IngestReport,
)
from omniguichet.cases.services.parsing import (
    ParsedEvent as ParsedEvent,
)
from omniguichet.cases.services.parsing import (
    RowResult as RowResult,
)
from omniguichet.cases.services.parsing import (
    _amount as _amount,
)
from omniguichet.cases.services.parsing import (
    _channel as _channel,
)
from omniguichet.cases.services.parsing import (
    _check_payload as _check_payload,
)
from omniguichet.cases.services.parsing import (
    _date as _date,
)
from omniguichet.cases.services.parsing import (
    _document_code as _document_code,
)
from omniguichet.cases.services.parsing import (
    _parse_row as _parse_row,
)
from omniguichet.cases.services.parsing import (
    _text as _text,
)
from omniguichet.cases.services.parsing import (
    check_ingest_actor as check_ingest_actor,
)
from omniguichet.cases.services.parsing import (
    parse_event_rows as parse_event_rows,
)
from omniguichet.cases.services.requests import (
    CASE_DOCUMENT_TYPES as CASE_DOCUMENT_TYPES,
)
from omniguichet.cases.services.requests import (
    CASE_PROCESSING as CASE_PROCESSING,
)
from omniguichet.cases.services.requests import (
    _case_request_purpose as _case_request_purpose,
)
from omniguichet.cases.services.requests import (
    _case_request_refusal as _case_request_refusal,
)
from omniguichet.cases.services.requests import (
    _no_such_request as _no_such_request,
)
from omniguichet.cases.services.requests import (
    case_document_types as case_document_types,
)
from omniguichet.cases.services.requests import (
    describe_platform_event as describe_platform_event,
)
from omniguichet.cases.services.requests import (
    list_case_requests as list_case_requests,
)
from omniguichet.cases.services.requests import (
    merge_timeline as merge_timeline,
)
from omniguichet.cases.services.requests import (
    platform_timeline as platform_timeline,
)
from omniguichet.cases.services.requests import (
    record_document_received as record_document_received,
)
from omniguichet.cases.services.requests import (
    reopen_case_request as reopen_case_request,
)
from omniguichet.cases.services.requests import (
    requested_document_for as requested_document_for,
)
from omniguichet.cases.services.requests import (
    resolve_case_request as resolve_case_request,
)
from omniguichet.cases.services.timeline import (
    _OPEN_CASES as _OPEN_CASES,
)
from omniguichet.cases.services.timeline import (
    CaseView as CaseView,
)
from omniguichet.cases.services.timeline import (
    describe_event as describe_event,
)
from omniguichet.cases.services.timeline import (
    my_cases as my_cases,
)
from omniguichet.cases.services.timeline import (
    open_cases_section as open_cases_section,
)
from omniguichet.cases.services.timeline import (
    person_cases as person_cases,
)
