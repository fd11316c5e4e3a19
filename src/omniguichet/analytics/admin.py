from django.contrib import admin

from omniguichet.analytics.models import ExportRun


@admin.register(ExportRun)
class ExportRunAdmin(admin.ModelAdmin):
    """The export runs, read only: they are queued through the API or by the schedule."""

    list_display = ["id", "trigger", "status", "requested_at", "finished_at", "contacts", "changed", "floor"]
    list_filter = ["status", "trigger"]
    readonly_fields = [f.name for f in ExportRun._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
