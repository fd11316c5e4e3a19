from django.contrib import admin

from omniguichet.crm.models import (
    Contact,
    ContactChange,
    DeadlinePolicy,
    LabelledExample,
    Motive,
    RecordAccess,
)


@admin.register(Motive)
class MotiveAdmin(admin.ModelAdmin):
    list_display = ["code", "label", "active"]
    list_editable = ["active"]
    search_fields = ["code", "label"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = [
        "started_at",
        "person",
        "caisse",
        "channel",
        "direction",
        "motive",
        "outcome",
        "actor_kind",
    ]
    list_filter = ["channel", "direction", "outcome", "actor_kind"]
    list_select_related = ["person", "caisse", "motive"]
    search_fields = ["=person__nir", "=external_id"]
    raw_id_fields = ["person", "caisse", "agent"]
    date_hierarchy = "started_at"
    show_full_result_count = False


@admin.register(RecordAccess)
class RecordAccessAdmin(admin.ModelAdmin):
    list_display = ["accessed_at", "user", "person", "purpose", "channel"]
    list_select_related = ["user", "person"]
    search_fields = ["=person__nir", "user__username"]
    raw_id_fields = ["person", "user"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):
        return False  # an audit trail is not edited

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ContactChange)
class ContactChangeAdmin(admin.ModelAdmin):
    """The change log of contacts, written by database triggers for the warehouse export: read only."""

    list_display = ["id", "contact_id", "changed_at"]
    search_fields = ["=contact_id"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DeadlinePolicy)
class DeadlinePolicyAdmin(admin.ModelAdmin):
    """Saving or deleting a policy re-times the open items it governs, once committed (docs/deadlines.md)."""

    list_display = ["kind", "motive", "duration", "unit", "updated_at"]
    list_filter = ["kind", "unit"]
    search_fields = ["kind", "motive__code", "motive__label"]
    list_select_related = ["motive"]


@admin.register(LabelledExample)
class LabelledExampleAdmin(admin.ModelAdmin):
    """Read only, without the text (a person's words): `omniguichet export_corrections` writes them for training."""

    list_display = ["created_at", "suggested", "motive", "confidence", "source", "agent"]
    list_filter = ["motive", "source"]
    exclude = ["subject", "body"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
