"""The teleservice engine: each online service is declared ONCE (code, title, audience, input schema, required
documents, eligibility, channels, motive, self-service, handler) and offered from that declaration on the web
account, the mobile-app API, the kiosk and the agent console. Every use is a `TeleserviceRequest` (idempotent by
key) and a Contact in the customer record.

The services themselves are declared in `omniguichet.teleservices.catalogue`, one module each, registered with
the engine when it is first imported (teleservices.apps); see docs/teleservices.md. The public names of the
engine's sub-modules are re-exported here.
"""

from omniguichet.teleservices.services.declaration import (
    AGENT_CHANNELS as AGENT_CHANNELS,
)
from omniguichet.teleservices.services.declaration import (
    ALL_OFFERS as ALL_OFFERS,
)
from omniguichet.teleservices.services.declaration import (
    AUDIENCE_EMPLOYER as AUDIENCE_EMPLOYER,
)
from omniguichet.teleservices.services.declaration import (
    AUDIENCE_INSURED as AUDIENCE_INSURED,
)
from omniguichet.teleservices.services.declaration import (
    AUDIENCE_PROFESSIONAL as AUDIENCE_PROFESSIONAL,
)
from omniguichet.teleservices.services.declaration import (
    CATALOGUE as CATALOGUE,
)
from omniguichet.teleservices.services.declaration import (
    CHANNEL_LABELS as CHANNEL_LABELS,
)
from omniguichet.teleservices.services.declaration import (
    DOCUMENT_SIGNATURES as DOCUMENT_SIGNATURES,
)
from omniguichet.teleservices.services.declaration import (
    MAX_DOCUMENT_BYTES as MAX_DOCUMENT_BYTES,
)
from omniguichet.teleservices.services.declaration import (
    OFFER_AGENT as OFFER_AGENT,
)
from omniguichet.teleservices.services.declaration import (
    OFFER_APP as OFFER_APP,
)
from omniguichet.teleservices.services.declaration import (
    OFFER_KIOSK as OFFER_KIOSK,
)
from omniguichet.teleservices.services.declaration import (
    OFFER_WEB as OFFER_WEB,
)
from omniguichet.teleservices.services.declaration import (
    InputField as InputField,
)
from omniguichet.teleservices.services.declaration import (
    ServiceResult as ServiceResult,
)
from omniguichet.teleservices.services.declaration import (
    Submission as Submission,
)
from omniguichet.teleservices.services.declaration import (
    Teleservice as Teleservice,
)
from omniguichet.teleservices.services.declaration import (
    _clean_date as _clean_date,
)
from omniguichet.teleservices.services.declaration import (
    _decode_file as _decode_file,
)
from omniguichet.teleservices.services.declaration import (
    clean_input as clean_input,
)
from omniguichet.teleservices.services.declaration import (
    get_service as get_service,
)
from omniguichet.teleservices.services.declaration import (
    register as register,
)
from omniguichet.teleservices.services.declaration import (
    validate_iban as validate_iban,
)
from omniguichet.teleservices.services.documents import (
    CODE_ALPHABET as CODE_ALPHABET,
)
from omniguichet.teleservices.services.documents import (
    _date_fr as _date_fr,
)
from omniguichet.teleservices.services.documents import (
    _issue_attestation as _issue_attestation,
)
from omniguichet.teleservices.services.documents import (
    _latin1 as _latin1,
)
from omniguichet.teleservices.services.documents import (
    _line as _line,
)
from omniguichet.teleservices.services.documents import (
    _pdf_footer as _pdf_footer,
)
from omniguichet.teleservices.services.documents import (
    _pdf_start as _pdf_start,
)
from omniguichet.teleservices.services.documents import (
    _reimbursements as _reimbursements,
)
from omniguichet.teleservices.services.documents import (
    attestation_pdf as attestation_pdf,
)
from omniguichet.teleservices.services.documents import (
    new_verification_code as new_verification_code,
)
from omniguichet.teleservices.services.documents import (
    normalise_verification_code as normalise_verification_code,
)
from omniguichet.teleservices.services.documents import (
    request_document as request_document,
)
from omniguichet.teleservices.services.documents import (
    rights_content as rights_content,
)
from omniguichet.teleservices.services.documents import (
    statement_csv as statement_csv,
)
from omniguichet.teleservices.services.documents import (
    statement_pdf as statement_pdf,
)
from omniguichet.teleservices.services.documents import (
    statement_rows as statement_rows,
)
from omniguichet.teleservices.services.documents import (
    verify_attestation as verify_attestation,
)
from omniguichet.teleservices.services.handling import (
    CARD_CASE_TYPES as CARD_CASE_TYPES,
)
from omniguichet.teleservices.services.handling import (
    _address as _address,
)
from omniguichet.teleservices.services.handling import (
    _card_order as _card_order,
)
from omniguichet.teleservices.services.handling import (
    _document_result as _document_result,
)
from omniguichet.teleservices.services.handling import (
    _has_sick_pay as _has_sick_pay,
)
from omniguichet.teleservices.services.handling import (
    _is_adult_holder as _is_adult_holder,
)
from omniguichet.teleservices.services.handling import (
    _open_card_case as _open_card_case,
)
from omniguichet.teleservices.services.handling import (
    _rights_open as _rights_open,
)
from omniguichet.teleservices.services.handling import (
    card_case_reference as card_case_reference,
)
from omniguichet.teleservices.services.motives import (
    MOTIVES as MOTIVES,
)
from omniguichet.teleservices.services.motives import (
    load_motives as load_motives,
)
from omniguichet.teleservices.services.offering import (
    ServiceView as ServiceView,
)
from omniguichet.teleservices.services.offering import (
    _offer_of as _offer_of,
)
from omniguichet.teleservices.services.offering import (
    _person_for as _person_for,
)
from omniguichet.teleservices.services.offering import (
    offered_services as offered_services,
)
from omniguichet.teleservices.services.offering import (
    refusal as refusal,
)
from omniguichet.teleservices.services.requests import (
    DEPOSIT_DAYS as DEPOSIT_DAYS,
)
from omniguichet.teleservices.services.requests import (
    Used as Used,
)
from omniguichet.teleservices.services.requests import (
    _deposit_files as _deposit_files,
)
from omniguichet.teleservices.services.requests import (
    _forget_files as _forget_files,
)
from omniguichet.teleservices.services.requests import (
    _json_safe as _json_safe,
)
from omniguichet.teleservices.services.requests import (
    get_request as get_request,
)
from omniguichet.teleservices.services.requests import (
    inbox_items as inbox_items,
)
from omniguichet.teleservices.services.requests import (
    recent_requests as recent_requests,
)
from omniguichet.teleservices.services.requests import (
    record_opened_recently as record_opened_recently,
)
from omniguichet.teleservices.services.requests import (
    resolve_deposit_purpose as resolve_deposit_purpose,
)
from omniguichet.teleservices.services.requests import (
    use_service as use_service,
)
