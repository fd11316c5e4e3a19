from django.contrib import admin

from omniguichet.documents.models import (
    Basket,
    Deposit,
    Document,
    DocumentRequest,
    KeyCanary,
    RoutingRule,
    Transfer,
)


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ["document_type", "purpose_kind", "processing_kind"]
    list_editable = ["processing_kind"]
    list_filter = ["processing_kind", "purpose_kind"]


@admin.register(Basket)
class BasketAdmin(admin.ModelAdmin):
    list_display = ["caisse", "kind"]
    list_filter = ["kind"]
    search_fields = ["caisse__code", "caisse__name"]


@admin.register(DocumentRequest)
class DocumentRequestAdmin(admin.ModelAdmin):
    list_display = ["id", "person", "label", "status", "deadline", "created_at"]
    list_filter = ["status"]
    raw_id_fields = ["person", "requested_by"]


@admin.register(Deposit)
class DepositAdmin(admin.ModelAdmin):
    list_display = ["id", "person", "purpose_kind", "purpose_ref", "channel", "created_at"]
    raw_id_fields = ["person", "agent"]


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    # The file itself is only served, decrypted, by the basket console to agents of the document's caisse.
    list_display = ["id", "document_type", "basket", "status", "received_at", "deadline", "transfer_count"]
    list_filter = ["status", "document_type"]
    raw_id_fields = ["deposit", "person", "basket", "claimed_by", "decided_by"]
    readonly_fields = ["file", "checksum", "size", "pages", "content_type"]


@admin.register(Transfer)
class TransferAdmin(admin.ModelAdmin):
    list_display = ["document", "from_basket", "to_basket", "reason", "agent", "at"]
    raw_id_fields = ["document", "from_basket", "to_basket", "agent"]


@admin.register(KeyCanary)
class KeyCanaryAdmin(admin.ModelAdmin):
    """Which document keys encrypted documents here (docs/operations.md). A retired key's canary is deleted here
    once no document uses that key any more."""

    list_display = ["key_id", "created_at"]
    exclude = ["blob"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
