"""Analytics: the pseudonymised contact warehouse (Parquet, written incrementally and idempotently by export runs),
the seven steering indicators computed by DuckDB (analytics.engine) on it, the dashboards' precomputed figures, and
the import of history files. The public names of the sub-modules are re-exported here.
"""

from omniguichet.analytics.services.common import (
    ANALYTICS_ROLES as ANALYTICS_ROLES,
)
from omniguichet.analytics.services.common import (
    CACHE_DIR as CACHE_DIR,
)
from omniguichet.analytics.services.common import (
    CONTACT_FIELDS as CONTACT_FIELDS,
)
from omniguichet.analytics.services.common import (
    EXPORT_STATE as EXPORT_STATE,
)
from omniguichet.analytics.services.common import (
    PART_RE as PART_RE,
)
from omniguichet.analytics.services.common import (
    PERSONS_BUCKET as PERSONS_BUCKET,
)
from omniguichet.analytics.services.common import (
    PERSONS_STATE as PERSONS_STATE,
)
from omniguichet.analytics.services.common import (
    _contacts_arrow as _contacts_arrow,
)
from omniguichet.analytics.services.common import (
    _persons_arrow as _persons_arrow,
)
from omniguichet.analytics.services.common import (
    person_key as person_key,
)
from omniguichet.analytics.services.common import (
    pseudonym_key as pseudonym_key,
)
from omniguichet.analytics.services.dashboards import (
    Dashboard as Dashboard,
)
from omniguichet.analytics.services.dashboards import (
    IndicatorPanel as IndicatorPanel,
)
from omniguichet.analytics.services.dashboards import (
    WorkItems as WorkItems,
)
from omniguichet.analytics.services.dashboards import (
    analytics_actor as analytics_actor,
)
from omniguichet.analytics.services.dashboards import (
    check_caisse_visible as check_caisse_visible,
)
from omniguichet.analytics.services.dashboards import (
    dashboard as dashboard,
)
from omniguichet.analytics.services.dashboards import (
    dashboard_figures as dashboard_figures,
)
from omniguichet.analytics.services.dashboards import (
    dashboard_year as dashboard_year,
)
from omniguichet.analytics.services.dashboards import (
    precompute_dashboards as precompute_dashboards,
)
from omniguichet.analytics.services.dashboards import (
    register_work_items as register_work_items,
)
from omniguichet.analytics.services.dashboards import (
    work_items as work_items,
)
from omniguichet.analytics.services.export import (
    ExportReport as ExportReport,
)
from omniguichet.analytics.services.export import (
    _apply_changes as _apply_changes,
)
from omniguichet.analytics.services.export import (
    _contact_table as _contact_table,
)
from omniguichet.analytics.services.export import (
    _export as _export,
)
from omniguichet.analytics.services.export import (
    _export_contacts as _export_contacts,
)
from omniguichet.analytics.services.export import (
    _export_persons as _export_persons,
)
from omniguichet.analytics.services.export import (
    _exported_ids as _exported_ids,
)
from omniguichet.analytics.services.export import (
    _fail_interrupted_runs as _fail_interrupted_runs,
)
from omniguichet.analytics.services.export import (
    _held_guard as _held_guard,
)
from omniguichet.analytics.services.export import (
    _held_locks as _held_locks,
)
from omniguichet.analytics.services.export import (
    _load_state as _load_state,
)
from omniguichet.analytics.services.export import (
    _parts as _parts,
)
from omniguichet.analytics.services.export import (
    _persons_state as _persons_state,
)
from omniguichet.analytics.services.export import (
    _Position as _Position,
)
from omniguichet.analytics.services.export import (
    _position as _position,
)
from omniguichet.analytics.services.export import (
    _record_done as _record_done,
)
from omniguichet.analytics.services.export import (
    _recording as _recording,
)
from omniguichet.analytics.services.export import (
    _save_state as _save_state,
)
from omniguichet.analytics.services.export import (
    _write_atomic as _write_atomic,
)
from omniguichet.analytics.services.export import (
    _Writer as _Writer,
)
from omniguichet.analytics.services.export import (
    check_export_actor as check_export_actor,
)
from omniguichet.analytics.services.export import (
    export_lock as export_lock,
)
from omniguichet.analytics.services.export import (
    export_run as export_run,
)
from omniguichet.analytics.services.export import (
    export_warehouse as export_warehouse,
)
from omniguichet.analytics.services.export import (
    high_water as high_water,
)
from omniguichet.analytics.services.export import (
    is_platform_warehouse as is_platform_warehouse,
)
from omniguichet.analytics.services.export import (
    migrate_warehouse as migrate_warehouse,
)
from omniguichet.analytics.services.export import (
    pending_contacts as pending_contacts,
)
from omniguichet.analytics.services.export import (
    prune_change_log as prune_change_log,
)
from omniguichet.analytics.services.export import (
    recent_exports as recent_exports,
)
from omniguichet.analytics.services.export import (
    request_export as request_export,
)
from omniguichet.analytics.services.export import (
    run_export as run_export,
)
from omniguichet.analytics.services.export import (
    schedule_export as schedule_export,
)
from omniguichet.analytics.services.history import (
    HISTORY_DIR as HISTORY_DIR,
)
from omniguichet.analytics.services.history import (
    ImportReport as ImportReport,
)
from omniguichet.analytics.services.history import (
    _digest as _digest,
)
from omniguichet.analytics.services.history import (
    _duplicates as _duplicates,
)
from omniguichet.analytics.services.history import (
    _quoted as _quoted,
)
from omniguichet.analytics.services.history import (
    import_history as import_history,
)
from omniguichet.analytics.services.indicators import (
    NoWarehouse as NoWarehouse,
)
from omniguichet.analytics.services.indicators import (
    _cached_warehouse_kpi as _cached_warehouse_kpi,
)
from omniguichet.analytics.services.indicators import (
    _memo as _memo,
)
from omniguichet.analytics.services.indicators import (
    _memo_lock as _memo_lock,
)
from omniguichet.analytics.services.indicators import (
    compute_kpi as compute_kpi,
)
from omniguichet.analytics.services.indicators import (
    warehouse_sources as warehouse_sources,
)
from omniguichet.analytics.services.indicators import (
    warehouse_state as warehouse_state,
)
from omniguichet.analytics.services.layout import (
    migrate_layout as migrate_layout,
)
