"""Appointments: free-slot search, booking (no double booking, enforced by the database), cancellation,
rescheduling from a signed link, the waiting list, phone call-backs, reminders, confirmations and the demo sites.

Times: opening hours and availabilities are local wall-clock times in Europe/Paris; every slot is computed by
turning a local date and time into an aware datetime (non-existent local times on the spring-forward night are
skipped), and durations are added in absolute time. Appointments are stored in UTC.

The public functions of the sub-modules are re-exported here: callers write `services.book(...)`.
"""

from omniguichet.appointments.services.booking import (
    _after_booking as _after_booking,
)
from omniguichet.appointments.services.booking import (
    _appointment_for as _appointment_for,
)
from omniguichet.appointments.services.booking import (
    _callback_phone as _callback_phone,
)
from omniguichet.appointments.services.booking import (
    _candidate_agents as _candidate_agents,
)
from omniguichet.appointments.services.booking import (
    _check_channel as _check_channel,
)
from omniguichet.appointments.services.booking import (
    _check_delays as _check_delays,
)
from omniguichet.appointments.services.booking import (
    _lock_and_insert as _lock_and_insert,
)
from omniguichet.appointments.services.booking import (
    accept_offer as accept_offer,
)
from omniguichet.appointments.services.booking import (
    book as book,
)
from omniguichet.appointments.services.booking import (
    cancel as cancel,
)
from omniguichet.appointments.services.booking import (
    get_appointment as get_appointment,
)
from omniguichet.appointments.services.booking import (
    join_waiting_list as join_waiting_list,
)
from omniguichet.appointments.services.booking import (
    list_appointments as list_appointments,
)
from omniguichet.appointments.services.booking import (
    new_checkin_code as new_checkin_code,
)
from omniguichet.appointments.services.booking import (
    offer_freed_slot as offer_freed_slot,
)
from omniguichet.appointments.services.booking import (
    offer_from_link as offer_from_link,
)
from omniguichet.appointments.services.booking import (
    offer_token as offer_token,
)
from omniguichet.appointments.services.booking import (
    reschedule as reschedule,
)
from omniguichet.appointments.services.callbacks import (
    callbacks_for_day as callbacks_for_day,
)
from omniguichet.appointments.services.callbacks import (
    record_callback as record_callback,
)
from omniguichet.appointments.services.catalogue import (
    MOTIVE_DEPOSIT_TYPES as MOTIVE_DEPOSIT_TYPES,
)
from omniguichet.appointments.services.catalogue import (
    MOTIVES as MOTIVES,
)
from omniguichet.appointments.services.catalogue import (
    SITE_NAMES as SITE_NAMES,
)
from omniguichet.appointments.services.catalogue import (
    WEEK_HOURS as WEEK_HOURS,
)
from omniguichet.appointments.services.catalogue import (
    load_appointment_motives as load_appointment_motives,
)
from omniguichet.appointments.services.catalogue import (
    load_deposit_types as load_deposit_types,
)
from omniguichet.appointments.services.catalogue import (
    seed_sites as seed_sites,
)
from omniguichet.appointments.services.common import (
    _SLUG as _SLUG,
)
from omniguichet.appointments.services.common import (
    BOOKING_CHANNELS as BOOKING_CHANNELS,
)
from omniguichet.appointments.services.common import (
    CALLBACK_RETRY_DELAY as CALLBACK_RETRY_DELAY,
)
from omniguichet.appointments.services.common import (
    DEFAULT_SLOTS as DEFAULT_SLOTS,
)
from omniguichet.appointments.services.common import (
    MANAGE_SALT as MANAGE_SALT,
)
from omniguichet.appointments.services.common import (
    MAX_CALLBACK_ATTEMPTS as MAX_CALLBACK_ATTEMPTS,
)
from omniguichet.appointments.services.common import (
    MAX_DURATION as MAX_DURATION,
)
from omniguichet.appointments.services.common import (
    MAX_SEARCH_DAYS as MAX_SEARCH_DAYS,
)
from omniguichet.appointments.services.common import (
    MAX_SLOTS as MAX_SLOTS,
)
from omniguichet.appointments.services.common import (
    OFFER_SALT as OFFER_SALT,
)
from omniguichet.appointments.services.common import (
    PARIS as PARIS,
)
from omniguichet.appointments.services.common import (
    REMINDER_BEFORE as REMINDER_BEFORE,
)
from omniguichet.appointments.services.common import (
    WeeklyPattern as WeeklyPattern,
)
from omniguichet.appointments.services.common import (
    _active_sites as _active_sites,
)
from omniguichet.appointments.services.common import (
    _boundary as _boundary,
)
from omniguichet.appointments.services.common import (
    _caisse_of as _caisse_of,
)
from omniguichet.appointments.services.common import (
    _from_epoch as _from_epoch,
)
from omniguichet.appointments.services.common import (
    _label as _label,
)
from omniguichet.appointments.services.common import (
    _local as _local,
)
from omniguichet.appointments.services.common import (
    _minutes as _minutes,
)
from omniguichet.appointments.services.common import (
    _motive as _motive,
)
from omniguichet.appointments.services.common import (
    _person_for as _person_for,
)
from omniguichet.appointments.services.common import (
    _search_cache as _search_cache,
)
from omniguichet.appointments.services.common import (
    _search_cached as _search_cached,
)
from omniguichet.appointments.services.common import (
    _site as _site,
)
from omniguichet.appointments.services.common import (
    _time as _time,
)
from omniguichet.appointments.services.common import (
    active_motives as active_motives,
)
from omniguichet.appointments.services.common import (
    appointment_by_code as appointment_by_code,
)
from omniguichet.appointments.services.common import (
    appointments_by_case as appointments_by_case,
)
from omniguichet.appointments.services.common import (
    case_of as case_of,
)
from omniguichet.appointments.services.common import (
    day_bounds as day_bounds,
)
from omniguichet.appointments.services.common import (
    forget_weekly_patterns as forget_weekly_patterns,
)
from omniguichet.appointments.services.common import (
    local_datetime as local_datetime,
)
from omniguichet.appointments.services.common import (
    open_cases as open_cases,
)
from omniguichet.appointments.services.common import (
    person_for as person_for,
)
from omniguichet.appointments.services.common import (
    visible_sites as visible_sites,
)
from omniguichet.appointments.services.ics import (
    _fold_line as _fold_line,
)
from omniguichet.appointments.services.ics import (
    _ics_text as _ics_text,
)
from omniguichet.appointments.services.ics import (
    ics as ics,
)
from omniguichet.appointments.services.ics import (
    ics_attachments as ics_attachments,
)
from omniguichet.appointments.services.ics import (
    qr_svg as qr_svg,
)
from omniguichet.appointments.services.links import (
    _int as _int,
)
from omniguichet.appointments.services.links import (
    _unsign as _unsign,
)
from omniguichet.appointments.services.links import (
    appointment_from_link as appointment_from_link,
)
from omniguichet.appointments.services.links import (
    link_actor as link_actor,
)
from omniguichet.appointments.services.links import (
    link_max_age as link_max_age,
)
from omniguichet.appointments.services.links import (
    manage_token as manage_token,
)
from omniguichet.appointments.services.links import (
    public_url as public_url,
)
from omniguichet.appointments.services.links import (
    video_url as video_url,
)
from omniguichet.appointments.services.record import (
    _NEXT_APPOINTMENTS as _NEXT_APPOINTMENTS,
)
from omniguichet.appointments.services.record import (
    PROCESSING_BY_CONTACT_MOTIVE as PROCESSING_BY_CONTACT_MOTIVE,
)
from omniguichet.appointments.services.record import (
    deposit_url as deposit_url,
)
from omniguichet.appointments.services.record import (
    list_deposit_purposes as list_deposit_purposes,
)
from omniguichet.appointments.services.record import (
    next_appointments_section as next_appointments_section,
)
from omniguichet.appointments.services.record import (
    resolve_deposit_purpose as resolve_deposit_purpose,
)
from omniguichet.appointments.services.reminders import (
    MESSAGE_POLICY as MESSAGE_POLICY,
)
from omniguichet.appointments.services.reminders import (
    MODE_CHANNEL as MODE_CHANNEL,
)
from omniguichet.appointments.services.reminders import (
    _literal as _literal,
)
from omniguichet.appointments.services.reminders import (
    manage_url as manage_url,
)
from omniguichet.appointments.services.reminders import (
    mark_missed as mark_missed,
)
from omniguichet.appointments.services.reminders import (
    missed_after as missed_after,
)
from omniguichet.appointments.services.reminders import (
    notify as notify,
)
from omniguichet.appointments.services.reminders import (
    send_confirmation as send_confirmation,
)
from omniguichet.appointments.services.reminders import (
    send_reminder_now as send_reminder_now,
)
from omniguichet.appointments.services.reminders import (
    video_room as video_room,
)
from omniguichet.appointments.services.slots import (
    OFFER_HOLD as OFFER_HOLD,
)
from omniguichet.appointments.services.slots import (
    Schedule as Schedule,
)
from omniguichet.appointments.services.slots import (
    Slot as Slot,
)
from omniguichet.appointments.services.slots import (
    _availability_rows as _availability_rows,
)
from omniguichet.appointments.services.slots import (
    _booking_bounds as _booking_bounds,
)
from omniguichet.appointments.services.slots import (
    _busy_rows as _busy_rows,
)
from omniguichet.appointments.services.slots import (
    _sql_epoch as _sql_epoch,
)
from omniguichet.appointments.services.slots import (
    _sql_minutes as _sql_minutes,
)
from omniguichet.appointments.services.slots import (
    _weekly_pattern as _weekly_pattern,
)
from omniguichet.appointments.services.slots import (
    find_free_slots as find_free_slots,
)
from omniguichet.appointments.services.slots import (
    site_names as site_names,
)
