from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from omniguichet.documents.models import (
    Deposit,
    Document,
    DocumentRequest,
    KeyCanary,
)


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
    # Its place in the queue (basket, claimant, deadline, transfers) is its work item's, read in the same query.
    list_display = ["id", "document_type", "status", "received_at", "basket", "deadline", "transfers"]
    list_select_related = ["item__basket"]
    list_filter = ["status", "document_type"]
    raw_id_fields = ["deposit", "person", "decided_by"]
    readonly_fields = ["file", "checksum", "size", "pages", "content_type"]

    @admin.display(description=_("basket"))
    def basket(self, document: Document) -> object:
        return document.item.basket

    @admin.display(description=_("deadline"))
    def deadline(self, document: Document) -> object:
        return document.item.deadline

    @admin.display(description=_("transfers"))
    def transfers(self, document: Document) -> object:
        return document.item.transfer_count


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
