from django.contrib import admin

from omniguichet.messaging.models import Attachment, Message, ReplyTemplate, Thread


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(admin.ModelAdmin):
    list_display = ["code", "label", "active"]
    list_filter = ["active"]
    search_fields = ["code", "label"]


@admin.register(Thread)
class ThreadAdmin(admin.ModelAdmin):
    """Read only: conversations are written by the person and the agents, never edited afterwards."""

    list_display = ["pk", "caisse", "motive", "status", "last_message_at", "deadline", "claimed_by"]
    list_filter = ["status", "caisse"]
    raw_id_fields = ["person", "claimed_by", "closed_by"]
    # The person's words are not shown in lists; the conversation page is the agent console's.
    exclude = ["subject", "link_label"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Read only, without the text: what was written is read in the agent console, where access is scoped."""

    list_display = ["pk", "thread", "direction", "created_at", "read_at"]
    list_filter = ["direction"]
    raw_id_fields = ["thread", "agent"]
    exclude = ["body"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["pk", "message", "content_type", "size", "pages"]
    raw_id_fields = ["message"]
    exclude = ["name"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
