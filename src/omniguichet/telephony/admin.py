from django.contrib import admin

from omniguichet.telephony.models import Call, CallEvent


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = [
        "call_id",
        "status",
        "started_at",
        "motive",
        "agent",
        "waited_seconds",
        "duration_seconds",
    ]
    list_filter = ["status", "direction"]
    search_fields = ["call_id"]
    raw_id_fields = ["person", "agent", "contact"]
    date_hierarchy = "started_at"


@admin.register(CallEvent)
class CallEventAdmin(admin.ModelAdmin):
    list_display = ["call_id", "event", "at", "applied", "source"]
    list_filter = ["event", "applied"]
    search_fields = ["call_id"]
    raw_id_fields = ["agent"]
