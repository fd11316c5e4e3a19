"""Telephony (CTI): ingesting the phone platform's event lines, computing each call from its events, writing its
one Contact at hangup (with the call-back offer by SMS), the screen-pop of the answering agent's console, and the
simulated day of calls of the demo. The public names of the sub-modules are re-exported here.
"""

from omniguichet.telephony.services.common import (
    CALLBACK_OFFER_AFTER as CALLBACK_OFFER_AFTER,
)
from omniguichet.telephony.services.common import (
    DEFAULT_MOTIVE as DEFAULT_MOTIVE,
)
from omniguichet.telephony.services.common import (
    IVR_MOTIVES as IVR_MOTIVES,
)
from omniguichet.telephony.services.common import (
    MAX_BATCH as MAX_BATCH,
)
from omniguichet.telephony.services.common import (
    RANK as RANK,
)
from omniguichet.telephony.services.common import (
    SCREEN_POP_WINDOW as SCREEN_POP_WINDOW,
)
from omniguichet.telephony.services.common import (
    SEQUENCE as SEQUENCE,
)
from omniguichet.telephony.services.common import (
    SOURCE as SOURCE,
)
from omniguichet.telephony.services.common import (
    active_motives as active_motives,
)
from omniguichet.telephony.services.common import (
    motive_for as motive_for,
)
from omniguichet.telephony.services.ingest import (
    IngestReport as IngestReport,
)
from omniguichet.telephony.services.ingest import (
    booking_url as booking_url,
)
from omniguichet.telephony.services.ingest import (
    check_ingest_actor as check_ingest_actor,
)
from omniguichet.telephony.services.ingest import (
    ingest_events as ingest_events,
)
from omniguichet.telephony.services.parsing import (
    InvalidLine as InvalidLine,
)
from omniguichet.telephony.services.parsing import (
    LineResult as LineResult,
)
from omniguichet.telephony.services.parsing import (
    ParsedEvent as ParsedEvent,
)
from omniguichet.telephony.services.parsing import (
    check_content_type as check_content_type,
)
from omniguichet.telephony.services.parsing import (
    normalise_number as normalise_number,
)
from omniguichet.telephony.services.parsing import (
    parse_event as parse_event,
)
from omniguichet.telephony.services.parsing import (
    parse_lines as parse_lines,
)
from omniguichet.telephony.services.screen_pop import (
    ScreenPop as ScreenPop,
)
from omniguichet.telephony.services.screen_pop import (
    agents_with_pending_pop as agents_with_pending_pop,
)
from omniguichet.telephony.services.screen_pop import (
    calls_of_agent as calls_of_agent,
)
from omniguichet.telephony.services.screen_pop import (
    mask_number as mask_number,
)
from omniguichet.telephony.services.screen_pop import (
    next_screen_pop as next_screen_pop,
)
from omniguichet.telephony.services.screen_pop import (
    record_url as record_url,
)
from omniguichet.telephony.services.screen_pop import (
    search_url as search_url,
)
from omniguichet.telephony.services.simulate import (
    SimulationReport as SimulationReport,
)
from omniguichet.telephony.services.simulate import (
    call_lines as call_lines,
)
from omniguichet.telephony.services.simulate import (
    simulate_day as simulate_day,
)
