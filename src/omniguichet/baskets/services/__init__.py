"""Baskets' public services: routing, the work items kept in step by the subjects' apps, and the console."""

from omniguichet.baskets.services.counts import (
    CountCheck as CountCheck,
)
from omniguichet.baskets.services.counts import (
    basket_counts as basket_counts,
)
from omniguichet.baskets.services.counts import (
    check_counts as check_counts,
)
from omniguichet.baskets.services.counts import (
    compact_counts as compact_counts,
)
from omniguichet.baskets.services.counts import (
    compact_counts_job as compact_counts_job,
)
from omniguichet.baskets.services.items import (
    BASKET_PAGE as BASKET_PAGE,
)
from omniguichet.baskets.services.items import (
    MAX_BULK as MAX_BULK,
)
from omniguichet.baskets.services.items import (
    BasketPage as BasketPage,
)
from omniguichet.baskets.services.items import (
    BasketSummary as BasketSummary,
)
from omniguichet.baskets.services.items import (
    BulkResult as BulkResult,
)
from omniguichet.baskets.services.items import (
    TransferReport as TransferReport,
)
from omniguichet.baskets.services.items import (
    basket_items as basket_items,
)
from omniguichet.baskets.services.items import (
    caisse_baskets as caisse_baskets,
)
from omniguichet.baskets.services.items import (
    claim_items as claim_items,
)
from omniguichet.baskets.services.items import (
    close_items as close_items,
)
from omniguichet.baskets.services.items import (
    describe as describe,
)
from omniguichet.baskets.services.items import (
    due_soon_at as due_soon_at,
)
from omniguichet.baskets.services.items import (
    get_basket as get_basket,
)
from omniguichet.baskets.services.items import (
    get_item as get_item,
)
from omniguichet.baskets.services.items import (
    item_url as item_url,
)
from omniguichet.baskets.services.items import (
    items_of as items_of,
)
from omniguichet.baskets.services.items import (
    kind_label as kind_label,
)
from omniguichet.baskets.services.items import (
    list_baskets as list_baskets,
)
from omniguichet.baskets.services.items import (
    mark_claimed as mark_claimed,
)
from omniguichet.baskets.services.items import (
    open_item as open_item,
)
from omniguichet.baskets.services.items import (
    reopen_item as reopen_item,
)
from omniguichet.baskets.services.items import (
    reroute_item as reroute_item,
)
from omniguichet.baskets.services.items import (
    retime_items as retime_items,
)
from omniguichet.baskets.services.items import (
    run_kind_action as run_kind_action,
)
from omniguichet.baskets.services.items import (
    transfer_items as transfer_items,
)
from omniguichet.baskets.services.items import (
    transfer_report as transfer_report,
)
from omniguichet.baskets.services.items import (
    transfer_targets as transfer_targets,
)
from omniguichet.baskets.services.routing import (
    Route as Route,
)
from omniguichet.baskets.services.routing import (
    basket_for as basket_for,
)
from omniguichet.baskets.services.routing import (
    forget_routing as forget_routing,
)
from omniguichet.baskets.services.routing import (
    load_routing_rules as load_routing_rules,
)
from omniguichet.baskets.services.routing import (
    processing_kind_for as processing_kind_for,
)
from omniguichet.baskets.services.routing import (
    route as route,
)
from omniguichet.baskets.services.routing import (
    seed_baskets as seed_baskets,
)
