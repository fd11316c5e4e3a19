"""The synthetic population of the demo and the benches: households generated from one random stream (the same seed
and reference date give the same population), loaded fast, with demo staff logins and a contact history. The
public names of the sub-modules are re-exported here.
"""

from omniguichet.demo.services.contacts import (
    CHANNEL_MIX as CHANNEL_MIX,
)
from omniguichet.demo.services.contacts import (
    CONTACT_COLUMNS as CONTACT_COLUMNS,
)
from omniguichet.demo.services.contacts import (
    CONTACT_HISTORY_DAYS as CONTACT_HISTORY_DAYS,
)
from omniguichet.demo.services.contacts import (
    CONTACT_SOURCE as CONTACT_SOURCE,
)
from omniguichet.demo.services.contacts import (
    EMAIL_KIND as EMAIL_KIND,
)
from omniguichet.demo.services.contacts import (
    FIXED_HOLIDAYS as FIXED_HOLIDAYS,
)
from omniguichet.demo.services.contacts import (
    MOTIVE_WEIGHTS as MOTIVE_WEIGHTS,
)
from omniguichet.demo.services.contacts import (
    OFFICE_HOURS as OFFICE_HOURS,
)
from omniguichet.demo.services.contacts import (
    OFFLINE_CHANNEL_MIX as OFFLINE_CHANNEL_MIX,
)
from omniguichet.demo.services.contacts import (
    ONLINE_HOURS as ONLINE_HOURS,
)
from omniguichet.demo.services.contacts import (
    OUTBOUND_CHANNELS as OUTBOUND_CHANNELS,
)
from omniguichet.demo.services.contacts import (
    OUTBOUND_HOURS as OUTBOUND_HOURS,
)
from omniguichet.demo.services.contacts import (
    OUTCOME_WEIGHTS as OUTCOME_WEIGHTS,
)
from omniguichet.demo.services.contacts import (
    PHONE_KIND as PHONE_KIND,
)
from omniguichet.demo.services.contacts import (
    PROFILE_TABLE_SIZE as PROFILE_TABLE_SIZE,
)
from omniguichet.demo.services.contacts import (
    RECEPTION_KIND as RECEPTION_KIND,
)
from omniguichet.demo.services.contacts import (
    SELF_SERVICE as SELF_SERVICE,
)
from omniguichet.demo.services.contacts import (
    ContactGenerator as ContactGenerator,
)
from omniguichet.demo.services.contacts import (
    _insert_contacts as _insert_contacts,
)
from omniguichet.demo.services.contacts import (
    seed_contacts as seed_contacts,
)
from omniguichet.demo.services.population import (
    ACCOUNT_COLUMNS as ACCOUNT_COLUMNS,
)
from omniguichet.demo.services.population import (
    ACCOUNT_RATE as ACCOUNT_RATE,
)
from omniguichet.demo.services.population import (
    ACCOUNTS_SINCE as ACCOUNTS_SINCE,
)
from omniguichet.demo.services.population import (
    BIRTH_COUNTRIES as BIRTH_COUNTRIES,
)
from omniguichet.demo.services.population import (
    CONSENT_COLUMNS as CONSENT_COLUMNS,
)
from omniguichet.demo.services.population import (
    CONTACT_POINT_COLUMNS as CONTACT_POINT_COLUMNS,
)
from omniguichet.demo.services.population import (
    DEMO_AGENT_PASSWORD as DEMO_AGENT_PASSWORD,
)
from omniguichet.demo.services.population import (
    DEMO_SUPERVISOR_PASSWORD as DEMO_SUPERVISOR_PASSWORD,
)
from omniguichet.demo.services.population import (
    DEMO_TOTP_KEY_HEX as DEMO_TOTP_KEY_HEX,
)
from omniguichet.demo.services.population import (
    EMAIL_DOMAINS as EMAIL_DOMAINS,
)
from omniguichet.demo.services.population import (
    MOBILE_BLOCKS as MOBILE_BLOCKS,
)
from omniguichet.demo.services.population import (
    MOBILE_SPACE as MOBILE_SPACE,
)
from omniguichet.demo.services.population import (
    OVERSEAS as OVERSEAS,
)
from omniguichet.demo.services.population import (
    PERSON_COLUMNS as PERSON_COLUMNS,
)
from omniguichet.demo.services.population import (
    PREFERENCE_COLUMNS as PREFERENCE_COLUMNS,
)
from omniguichet.demo.services.population import (
    STREET_TYPES as STREET_TYPES,
)
from omniguichet.demo.services.population import (
    PopulationGenerator as PopulationGenerator,
)
from omniguichet.demo.services.population import (
    SeedReport as SeedReport,
)
from omniguichet.demo.services.population import (
    T as T,
)
from omniguichet.demo.services.population import (
    _Chunk as _Chunk,
)
from omniguichet.demo.services.population import (
    _employer_rows as _employer_rows,
)
from omniguichet.demo.services.population import (
    _folded_pool as _folded_pool,
)
from omniguichet.demo.services.population import (
    _in_background as _in_background,
)
from omniguichet.demo.services.population import (
    _produce as _produce,
)
from omniguichet.demo.services.population import (
    _professional_rows as _professional_rows,
)
from omniguichet.demo.services.population import (
    _rpps as _rpps,
)
from omniguichet.demo.services.population import (
    _siret as _siret,
)
from omniguichet.demo.services.population import (
    ensure_demo_second_factor as ensure_demo_second_factor,
)
from omniguichet.demo.services.population import (
    ensure_demo_users as ensure_demo_users,
)
from omniguichet.demo.services.population import (
    seed_population as seed_population,
)
