"""Documents deposited by persons: what a deposit is for (purposes other apps register), the checks every file
passes (nothing is kept unless every file of the deposit passes), encryption at rest, routing to the basket of the
right caisse, the deposit itself (idempotent), the basket console where agents process them, the notices to the
person, and the documents section of the customer record. The public names of the sub-modules are re-exported here.
"""

from omniguichet.documents.services.baskets import (
    RECORD_BESIDE_CONTACTS as RECORD_BESIDE_CONTACTS,
)
from omniguichet.documents.services.baskets import (
    BasketPage as BasketPage,
)
from omniguichet.documents.services.baskets import (
    BasketSummary as BasketSummary,
)
from omniguichet.documents.services.baskets import (
    BulkResult as BulkResult,
)
from omniguichet.documents.services.baskets import (
    _check_open as _check_open,
)
from omniguichet.documents.services.baskets import (
    _decide as _decide,
)
from omniguichet.documents.services.baskets import (
    accept_action as accept_action,
)
from omniguichet.documents.services.baskets import (
    accept_documents as accept_documents,
)
from omniguichet.documents.services.baskets import (
    basket_documents as basket_documents,
)
from omniguichet.documents.services.baskets import (
    claim_documents as claim_documents,
)
from omniguichet.documents.services.baskets import (
    document_content as document_content,
)
from omniguichet.documents.services.baskets import (
    document_with_record as document_with_record,
)
from omniguichet.documents.services.baskets import (
    get_basket as get_basket,
)
from omniguichet.documents.services.baskets import (
    get_document as get_document,
)
from omniguichet.documents.services.baskets import (
    list_baskets as list_baskets,
)
from omniguichet.documents.services.baskets import (
    reject_action as reject_action,
)
from omniguichet.documents.services.baskets import (
    reject_documents as reject_documents,
)
from omniguichet.documents.services.baskets import (
    transfer_documents as transfer_documents,
)
from omniguichet.documents.services.baskets import (
    transfer_report as transfer_report,
)
from omniguichet.documents.services.baskets import (
    work_item_figures as work_item_figures,
)
from omniguichet.documents.services.checks import (
    _KNOWN_OTHERS as _KNOWN_OTHERS,
)
from omniguichet.documents.services.checks import (
    _MAGIC as _MAGIC,
)
from omniguichet.documents.services.checks import (
    _PDF_FILE_KEYS as _PDF_FILE_KEYS,
)
from omniguichet.documents.services.checks import (
    _PDF_SCRIPT_KEYS as _PDF_SCRIPT_KEYS,
)
from omniguichet.documents.services.checks import (
    EXTENSIONS as EXTENSIONS,
)
from omniguichet.documents.services.checks import (
    JPEG as JPEG,
)
from omniguichet.documents.services.checks import (
    MAX_PDF_OBJECTS as MAX_PDF_OBJECTS,
)
from omniguichet.documents.services.checks import (
    PDF as PDF,
)
from omniguichet.documents.services.checks import (
    PNG as PNG,
)
from omniguichet.documents.services.checks import (
    CheckedFile as CheckedFile,
)
from omniguichet.documents.services.checks import (
    FileRefused as FileRefused,
)
from omniguichet.documents.services.checks import (
    _check_pdf as _check_pdf,
)
from omniguichet.documents.services.checks import (
    _mb as _mb,
)
from omniguichet.documents.services.checks import (
    _other_format as _other_format,
)
from omniguichet.documents.services.checks import (
    _pdf_active_content as _pdf_active_content,
)
from omniguichet.documents.services.checks import (
    _reencode_image as _reencode_image,
)
from omniguichet.documents.services.checks import (
    _refuse as _refuse,
)
from omniguichet.documents.services.checks import (
    check_deposit as check_deposit,
)
from omniguichet.documents.services.checks import (
    check_file as check_file,
)
from omniguichet.documents.services.checks import (
    read_uploads as read_uploads,
)
from omniguichet.documents.services.checks import (
    scan_for_viruses as scan_for_viruses,
)
from omniguichet.documents.services.checks import (
    sniff_type as sniff_type,
)
from omniguichet.documents.services.common import (
    AGENT_CHANNELS as AGENT_CHANNELS,
)
from omniguichet.documents.services.common import (
    BASKET_PAGE as BASKET_PAGE,
)
from omniguichet.documents.services.common import (
    DEFAULT_DEADLINE_DAYS as DEFAULT_DEADLINE_DAYS,
)
from omniguichet.documents.services.common import (
    DEPOSIT_MOTIVE as DEPOSIT_MOTIVE,
)
from omniguichet.documents.services.common import (
    INSURED_CHANNELS as INSURED_CHANNELS,
)
from omniguichet.documents.services.common import (
    MAX_BASKET_PAGE as MAX_BASKET_PAGE,
)
from omniguichet.documents.services.common import (
    MAX_BULK as MAX_BULK,
)
from omniguichet.documents.services.common import (
    MAX_ID as MAX_ID,
)
from omniguichet.documents.services.common import (
    _scoped_person as _scoped_person,
)
from omniguichet.documents.services.common import (
    _valid_id as _valid_id,
)
from omniguichet.documents.services.deposit import (
    IDEMPOTENCY_KEY as IDEMPOTENCY_KEY,
)
from omniguichet.documents.services.deposit import (
    DepositResult as DepositResult,
)
from omniguichet.documents.services.deposit import (
    _replayed_deposit as _replayed_deposit,
)
from omniguichet.documents.services.deposit import (
    deposit_documents as deposit_documents,
)
from omniguichet.documents.services.notices import (
    deposit_link as deposit_link,
)
from omniguichet.documents.services.notices import (
    notify_document_rejected as notify_document_rejected,
)
from omniguichet.documents.services.purposes import (
    DepositPurpose as DepositPurpose,
)
from omniguichet.documents.services.purposes import (
    Lister as Lister,
)
from omniguichet.documents.services.purposes import (
    OpenPurpose as OpenPurpose,
)
from omniguichet.documents.services.purposes import (
    RejectionHook as RejectionHook,
)
from omniguichet.documents.services.purposes import (
    Resolver as Resolver,
)
from omniguichet.documents.services.purposes import (
    _list_document_requests as _list_document_requests,
)
from omniguichet.documents.services.purposes import (
    _listers as _listers,
)
from omniguichet.documents.services.purposes import (
    _rejection_hooks as _rejection_hooks,
)
from omniguichet.documents.services.purposes import (
    _request_purpose as _request_purpose,
)
from omniguichet.documents.services.purposes import (
    _resolve_document_request as _resolve_document_request,
)
from omniguichet.documents.services.purposes import (
    _resolvers as _resolvers,
)
from omniguichet.documents.services.purposes import (
    closed_refusal as closed_refusal,
)
from omniguichet.documents.services.purposes import (
    describe_purpose as describe_purpose,
)
from omniguichet.documents.services.purposes import (
    open_purposes as open_purposes,
)
from omniguichet.documents.services.purposes import (
    open_requests as open_requests,
)
from omniguichet.documents.services.purposes import (
    person_for_agent as person_for_agent,
)
from omniguichet.documents.services.purposes import (
    register_deposit_purpose as register_deposit_purpose,
)
from omniguichet.documents.services.purposes import (
    registered_purpose_kinds as registered_purpose_kinds,
)
from omniguichet.documents.services.purposes import (
    request_documents as request_documents,
)
from omniguichet.documents.services.purposes import (
    resolve_purpose as resolve_purpose,
)
from omniguichet.documents.services.record import (
    _RECENT_DOCUMENTS as _RECENT_DOCUMENTS,
)
from omniguichet.documents.services.record import (
    RECENT_DOCUMENTS as RECENT_DOCUMENTS,
)
from omniguichet.documents.services.record import (
    my_documents as my_documents,
)
from omniguichet.documents.services.record import (
    recent_documents_section as recent_documents_section,
)
from omniguichet.documents.services.routing import (
    DEFAULT_ROUTING_RULES as DEFAULT_ROUTING_RULES,
)
from omniguichet.documents.services.routing import (
    WORK_ITEM_KIND as WORK_ITEM_KIND,
)
from omniguichet.documents.services.routing import (
    basket_for as basket_for,
)
from omniguichet.documents.services.routing import (
    load_routing_rules as load_routing_rules,
)
from omniguichet.documents.services.routing import (
    processing_kind_for as processing_kind_for,
)
from omniguichet.documents.services.routing import (
    seed_baskets as seed_baskets,
)
from omniguichet.documents.services.storage import (
    KEY_ID_BYTES as KEY_ID_BYTES,
)
from omniguichet.documents.services.storage import (
    MAGIC as MAGIC,
)
from omniguichet.documents.services.storage import (
    NONCE_BYTES as NONCE_BYTES,
)
from omniguichet.documents.services.storage import (
    TamperedDocument as TamperedDocument,
)
from omniguichet.documents.services.storage import (
    _key_id as _key_id,
)
from omniguichet.documents.services.storage import (
    _load_keys as _load_keys,
)
from omniguichet.documents.services.storage import (
    decrypt as decrypt,
)
from omniguichet.documents.services.storage import (
    document_storage as document_storage,
)
from omniguichet.documents.services.storage import (
    encrypt as encrypt,
)
from omniguichet.documents.services.storage import (
    generate_key as generate_key,
)
from omniguichet.documents.services.storage import (
    read_plain as read_plain,
)
from omniguichet.documents.services.storage import (
    store_encrypted as store_encrypted,
)
