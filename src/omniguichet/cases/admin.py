from django.contrib import admin

from omniguichet.cases.models import Case, CaseEvent, PlatformEvent, RequestedDocument


class RequestedDocumentInline(admin.TabularInline):
    model = RequestedDocument
    extra = 0
    readonly_fields = ["code", "label", "requested_at", "due_on", "received_at", "reminded_at"]
    can_delete = False


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "case_type",
        "person",
        "caisse",
        "status",
        "expected_decision_on",
        "opened_at",
    ]
    list_filter = ["case_type", "status"]
    list_select_related = ["person", "caisse"]
    search_fields = ["=reference", "=person__nir"]
    raw_id_fields = ["person", "caisse"]
    readonly_fields = ["last_sequence", "updated_at"]
    inlines = [RequestedDocumentInline]
    show_full_result_count = False


@admin.register(CaseEvent)
class CaseEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "case", "sequence", "event_type", "occurred_at", "state", "source"]
    list_filter = ["event_type", "state"]
    list_select_related = ["case"]
    search_fields = ["=event_id", "=case__reference"]
    raw_id_fields = ["case"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # events are facts received from the back office


@admin.register(RequestedDocument)
class RequestedDocumentAdmin(admin.ModelAdmin):
    list_display = ["case", "code", "label", "requested_at", "due_on", "received_at", "reminded_at"]
    list_select_related = ["case"]
    search_fields = ["=case__reference"]
    raw_id_fields = ["case"]
    show_full_result_count = False


# (issue 6) Events the platform recorded on a case (documents deposited, then rejected): read only.
@admin.register(PlatformEvent)
class PlatformEventAdmin(admin.ModelAdmin):
    list_display = ["key", "case", "event_type", "document_code", "occurred_at"]
    list_filter = ["event_type"]
    list_select_related = ["case"]
    search_fields = ["=key", "=case__reference"]
    raw_id_fields = ["case"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
