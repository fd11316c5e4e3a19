from django.contrib import admin

from omniguichet.outreach.models import (
    InboxMessage,
    MessageRule,
    MessageTemplate,
    OutboundKey,
    OutboundMessage,
)


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ["code", "event_type", "subject"]
    search_fields = ["code", "subject"]


@admin.register(MessageRule)
class MessageRuleAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "event_type",
        "case_types",
        "template",
        "channel_policy",
        "reminder_after_days",
        "active",
    ]
    list_editable = ["active"]
    list_filter = ["event_type", "active"]
    list_select_related = ["template"]


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "person", "channel", "state", "not_before", "attempts", "rule"]
    list_filter = ["state", "channel", "rule"]
    list_select_related = ["person"]
    search_fields = ["=idempotency_key", "=provider_ref", "=person__nir"]
    raw_id_fields = ["person"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # the ledger is written by the platform only


@admin.register(InboxMessage)
class InboxMessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "person", "subject", "read_at"]
    list_select_related = ["person"]
    raw_id_fields = ["person"]
    search_fields = ["=person__nir"]
    show_full_result_count = False


@admin.register(OutboundKey)
class OutboundKeyAdmin(admin.ModelAdmin):
    """Which message holds each idempotency key (PostgreSQL; written by the ledger's triggers): read only."""

    list_display = ["idempotency_key", "message_id", "created_at"]
    search_fields = ["=idempotency_key"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
