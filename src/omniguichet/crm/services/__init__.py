"""The customer record: contacts on every channel (recorded one by one or ingested in batches, idempotently), the
search of persons, the record on one screen with its timeline and the sections other apps register, and the access
log of who opened it. The public names of the sub-modules are re-exported here.
"""

from omniguichet.crm.services.common import (
    _CHANNELS as _CHANNELS,
)
from omniguichet.crm.services.common import (
    _DIRECTIONS as _DIRECTIONS,
)
from omniguichet.crm.services.common import (
    _OUTCOMES as _OUTCOMES,
)
from omniguichet.crm.services.common import (
    FUTURE_TOLERANCE as FUTURE_TOLERANCE,
)
from omniguichet.crm.services.common import (
    INGEST_COLUMNS as INGEST_COLUMNS,
)
from omniguichet.crm.services.common import (
    MAX_BATCH as MAX_BATCH,
)
from omniguichet.crm.services.common import (
    MAX_TIMELINE_PAGE as MAX_TIMELINE_PAGE,
)
from omniguichet.crm.services.common import (
    TIMELINE_PAGE as TIMELINE_PAGE,
)
from omniguichet.crm.services.deadlines import (
    DUE_SOON_SHARE as DUE_SOON_SHARE,
)
from omniguichet.crm.services.deadlines import (
    Policy as Policy,
)
from omniguichet.crm.services.deadlines import (
    deadline_and_due_soon as deadline_and_due_soon,
)
from omniguichet.crm.services.deadlines import (
    deadline_for as deadline_for,
)
from omniguichet.crm.services.deadlines import (
    due_soon_at as due_soon_at,
)
from omniguichet.crm.services.deadlines import (
    forget_policies as forget_policies,
)
from omniguichet.crm.services.deadlines import (
    policy_changed as policy_changed,
)
from omniguichet.crm.services.deadlines import (
    policy_for as policy_for,
)
from omniguichet.crm.services.deadlines import (
    register_retime_scheduler as register_retime_scheduler,
)
from omniguichet.crm.services.deadlines import (
    register_retimer as register_retimer,
)
from omniguichet.crm.services.deadlines import (
    retime_open_items as retime_open_items,
)
from omniguichet.crm.services.ingest import (
    EARLIEST_CONTACT as EARLIEST_CONTACT,
)
from omniguichet.crm.services.ingest import (
    MAX_ID as MAX_ID,
)
from omniguichet.crm.services.ingest import (
    RowResult as RowResult,
)
from omniguichet.crm.services.ingest import (
    _optional_bool as _optional_bool,
)
from omniguichet.crm.services.ingest import (
    _parse_time as _parse_time,
)
from omniguichet.crm.services.ingest import (
    _reserve_contact_ids as _reserve_contact_ids,
)
from omniguichet.crm.services.ingest import (
    ingest_contacts as ingest_contacts,
)
from omniguichet.crm.services.labels import (
    keep_labelled_example as keep_labelled_example,
)
from omniguichet.crm.services.labels import (
    labelled_examples_jsonl as labelled_examples_jsonl,
)
from omniguichet.crm.services.record import (
    _BENEFICIARIES as _BENEFICIARIES,
)
from omniguichet.crm.services.record import (
    _CONSENTS as _CONSENTS,
)
from omniguichet.crm.services.record import (
    _CONTACT_POINTS as _CONTACT_POINTS,
)
from omniguichet.crm.services.record import (
    _RECORD_PERSON as _RECORD_PERSON,
)
from omniguichet.crm.services.record import (
    _TIMELINE as _TIMELINE,
)
from omniguichet.crm.services.record import (
    CONSULTATION_WINDOW as CONSULTATION_WINDOW,
)
from omniguichet.crm.services.record import (
    RECORD_SECTIONS as RECORD_SECTIONS,
)
from omniguichet.crm.services.record import (
    CustomerRecord as CustomerRecord,
)
from omniguichet.crm.services.record import (
    RecordItem as RecordItem,
)
from omniguichet.crm.services.record import (
    TimelinePage as TimelinePage,
)
from omniguichet.crm.services.record import (
    _decode_cursor as _decode_cursor,
)
from omniguichet.crm.services.record import (
    _encode_cursor as _encode_cursor,
)
from omniguichet.crm.services.record import (
    _section_providers as _section_providers,
)
from omniguichet.crm.services.record import (
    _timeline_query as _timeline_query,
)
from omniguichet.crm.services.record import (
    add_agent_contact as add_agent_contact,
)
from omniguichet.crm.services.record import (
    consulted_timeline as consulted_timeline,
)
from omniguichet.crm.services.record import (
    iter_motives as iter_motives,
)
from omniguichet.crm.services.record import (
    load_motives as load_motives,
)
from omniguichet.crm.services.record import (
    my_record_accesses as my_record_accesses,
)
from omniguichet.crm.services.record import (
    open_record as open_record,
)
from omniguichet.crm.services.record import (
    parse_contact_rows as parse_contact_rows,
)
from omniguichet.crm.services.record import (
    record_section_count as record_section_count,
)
from omniguichet.crm.services.record import (
    register_record_section as register_record_section,
)
from omniguichet.crm.services.record import (
    register_subject_link as register_subject_link,
)
from omniguichet.crm.services.record import (
    subject_link as subject_link,
)
from omniguichet.crm.services.record import (
    timeline as timeline,
)
from omniguichet.crm.services.recording import (
    _SUBJECT_KINDS as _SUBJECT_KINDS,
)
from omniguichet.crm.services.recording import (
    _actor_fields as _actor_fields,
)
from omniguichet.crm.services.recording import (
    _check_contact_fields as _check_contact_fields,
)
from omniguichet.crm.services.recording import (
    _check_subject as _check_subject,
)
from omniguichet.crm.services.recording import (
    _handling_caisse as _handling_caisse,
)
from omniguichet.crm.services.recording import (
    _motives as _motives,
)
from omniguichet.crm.services.recording import (
    active_motives as active_motives,
)
from omniguichet.crm.services.recording import (
    forget_motives as forget_motives,
)
from omniguichet.crm.services.recording import (
    mark_contacts_responded as mark_contacts_responded,
)
from omniguichet.crm.services.recording import (
    record_contact as record_contact,
)
from omniguichet.crm.services.search import (
    _SEARCH as _SEARCH,
)
from omniguichet.crm.services.search import (
    DATE_RE as DATE_RE,
)
from omniguichet.crm.services.search import (
    SEARCH_LIMIT as SEARCH_LIMIT,
)
from omniguichet.crm.services.search import (
    _caisse_scope as _caisse_scope,
)
from omniguichet.crm.services.search import (
    _extract_date as _extract_date,
)
from omniguichet.crm.services.search import (
    _scoped as _scoped,
)
from omniguichet.crm.services.search import (
    _search_kind as _search_kind,
)
from omniguichet.crm.services.search import (
    _search_query as _search_query,
)
from omniguichet.crm.services.search import (
    search_persons as search_persons,
)
