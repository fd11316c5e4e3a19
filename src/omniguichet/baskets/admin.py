from django.contrib import admin

from omniguichet.baskets.models import Basket, OpenItemCount, RoutingRule, Transfer, WorkItem
from omniguichet.core.admin import ReadOnlyAdmin


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    """The routing of incoming work: documents by type and purpose, messages and e-mails by motive and words of the
    subject (RoutingRule.clean refuses a criterion the kind does not use, and an unknown motive)."""

    list_display = [
        "item_kind",
        "document_type",
        "purpose_kind",
        "motive",
        "subject_words",
        "processing_kind",
        "priority",
    ]
    list_editable = ["processing_kind", "priority"]
    list_filter = ["item_kind", "processing_kind"]


@admin.register(Basket)
class BasketAdmin(admin.ModelAdmin):
    list_display = ["caisse", "kind"]
    list_filter = ["kind"]
    search_fields = ["caisse__code", "caisse__name"]


@admin.register(WorkItem)
class WorkItemAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "subject_id", "basket", "status", "received_at", "deadline", "routed_by"]
    list_filter = ["kind", "status"]
    raw_id_fields = ["person", "caisse", "basket", "claimed_by", "decided_by"]
    readonly_fields = ["kind", "subject_id"]


@admin.register(Transfer)
class TransferAdmin(admin.ModelAdmin):
    list_display = ["item", "from_basket", "to_basket", "reason", "agent", "at"]
    raw_id_fields = ["item", "from_basket", "to_basket", "agent"]


@admin.register(OpenItemCount)
class OpenItemCountAdmin(ReadOnlyAdmin):
    """The open counts' delta rows (written by database triggers, folded by `compact_counts`): read only; the
    `basket_counts` command checks, compacts or rebuilds them."""

    list_display = ["basket", "kind", "n"]
    list_filter = ["kind"]
    list_select_related = ["basket__caisse"]
    show_full_result_count = False
