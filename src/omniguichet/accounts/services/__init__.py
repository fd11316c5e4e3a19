"""The online account: activation (by a code sent to a verified contact point or by letter), login (password, second
factor, FranceConnect-style OpenID Connect), password reset, the logged-in person's preferences and contact
changes, and the inbox. Answers never tell whether a person or an account exists (docs/security.md). The public
names of the sub-modules are re-exported here.
"""

from omniguichet.accounts.services.activation import (
    _check_password as _check_password,
)
from omniguichet.accounts.services.activation import (
    _decoy as _decoy,
)
from omniguichet.accounts.services.activation import (
    _decoy_challenge as _decoy_challenge,
)
from omniguichet.accounts.services.activation import (
    _identity as _identity,
)
from omniguichet.accounts.services.activation import (
    _notify as _notify,
)
from omniguichet.accounts.services.activation import (
    _parse_birth_date as _parse_birth_date,
)
from omniguichet.accounts.services.activation import (
    _verified_point as _verified_point,
)
from omniguichet.accounts.services.activation import (
    complete_activation as complete_activation,
)
from omniguichet.accounts.services.activation import (
    letter_challenge as letter_challenge,
)
from omniguichet.accounts.services.activation import (
    start_activation as start_activation,
)
from omniguichet.accounts.services.codes import (
    _DELIVERY_CHANNEL as _DELIVERY_CHANNEL,
)
from omniguichet.accounts.services.codes import (
    CODE_MASK as CODE_MASK,
)
from omniguichet.accounts.services.codes import (
    CODE_MOTIVE as CODE_MOTIVE,
)
from omniguichet.accounts.services.codes import (
    REDACT_CHECK as REDACT_CHECK,
)
from omniguichet.accounts.services.codes import (
    _code_message_keys as _code_message_keys,
)
from omniguichet.accounts.services.codes import (
    _code_subject as _code_subject,
)
from omniguichet.accounts.services.codes import (
    _consume as _consume,
)
from omniguichet.accounts.services.codes import (
    _enqueue_redaction as _enqueue_redaction,
)
from omniguichet.accounts.services.codes import (
    _hash_code as _hash_code,
)
from omniguichet.accounts.services.codes import (
    _postal_address as _postal_address,
)
from omniguichet.accounts.services.codes import (
    _send_code as _send_code,
)
from omniguichet.accounts.services.codes import (
    _wrong_code as _wrong_code,
)
from omniguichet.accounts.services.codes import (
    check_code as check_code,
)
from omniguichet.accounts.services.codes import (
    code_message as code_message,
)
from omniguichet.accounts.services.codes import (
    issue_code as issue_code,
)
from omniguichet.accounts.services.codes import (
    redact_code_message as redact_code_message,
)
from omniguichet.accounts.services.common import (
    CODE_LIFETIME as CODE_LIFETIME,
)
from omniguichet.accounts.services.common import (
    LETTER_CODE_LIFETIME as LETTER_CODE_LIFETIME,
)
from omniguichet.accounts.services.common import (
    MAX_CODE_ATTEMPTS as MAX_CODE_ATTEMPTS,
)
from omniguichet.accounts.services.common import (
    MAX_CODES_PER_HOUR as MAX_CODES_PER_HOUR,
)
from omniguichet.accounts.services.inbox import (
    _INBOX_PROVIDERS as _INBOX_PROVIDERS,
)
from omniguichet.accounts.services.inbox import (
    MAX_ID as MAX_ID,
)
from omniguichet.accounts.services.inbox import (
    InboxItem as InboxItem,
)
from omniguichet.accounts.services.inbox import (
    _home_services as _home_services,
)
from omniguichet.accounts.services.inbox import (
    _message_item as _message_item,
)
from omniguichet.accounts.services.inbox import (
    _person_id as _person_id,
)
from omniguichet.accounts.services.inbox import (
    active_accounts as active_accounts,
)
from omniguichet.accounts.services.inbox import (
    count_accounts as count_accounts,
)
from omniguichet.accounts.services.inbox import (
    home_services as home_services,
)
from omniguichet.accounts.services.inbox import (
    inbox as inbox,
)
from omniguichet.accounts.services.inbox import (
    inbox_messages as inbox_messages,
)
from omniguichet.accounts.services.inbox import (
    mark_all_read as mark_all_read,
)
from omniguichet.accounts.services.inbox import (
    read_message as read_message,
)
from omniguichet.accounts.services.inbox import (
    register_home_services as register_home_services,
)
from omniguichet.accounts.services.inbox import (
    register_inbox_provider as register_inbox_provider,
)
from omniguichet.accounts.services.inbox import (
    unread_count as unread_count,
)
from omniguichet.accounts.services.login import (
    FRANCE as FRANCE,
)
from omniguichet.accounts.services.login import (
    FRANCECONNECT as FRANCECONNECT,
)
from omniguichet.accounts.services.login import (
    IDENTITY_CLAIMS as IDENTITY_CLAIMS,
)
from omniguichet.accounts.services.login import (
    LoginResult as LoginResult,
)
from omniguichet.accounts.services.login import (
    _dummy_hash as _dummy_hash,
)
from omniguichet.accounts.services.login import (
    _wrong_credentials as _wrong_credentials,
)
from omniguichet.accounts.services.login import (
    authenticate as authenticate,
)
from omniguichet.accounts.services.login import (
    confirm_second_factor as confirm_second_factor,
)
from omniguichet.accounts.services.login import (
    external_login as external_login,
)
from omniguichet.accounts.services.login import (
    link_external_identity as link_external_identity,
)
from omniguichet.accounts.services.login import (
    match_identity as match_identity,
)
from omniguichet.accounts.services.login import (
    recent_failed_logins as recent_failed_logins,
)
from omniguichet.accounts.services.login import (
    second_factor_code as second_factor_code,
)
from omniguichet.accounts.services.login import (
    user_for_external_identity as user_for_external_identity,
)
from omniguichet.accounts.services.preferences import (
    Preferences as Preferences,
)
from omniguichet.accounts.services.preferences import (
    account_of as account_of,
)
from omniguichet.accounts.services.preferences import (
    confirm_contact_change as confirm_contact_change,
)
from omniguichet.accounts.services.preferences import (
    get_preferences as get_preferences,
)
from omniguichet.accounts.services.preferences import (
    start_contact_change as start_contact_change,
)
from omniguichet.accounts.services.preferences import (
    update_preferences as update_preferences,
)
from omniguichet.accounts.services.reset import (
    complete_password_reset as complete_password_reset,
)
from omniguichet.accounts.services.reset import (
    start_password_reset as start_password_reset,
)
