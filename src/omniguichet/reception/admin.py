from django.contrib import admin

from omniguichet.reception.models import Ticket, TicketCounter


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["number", "site", "day", "category", "status", "arrived_at", "called_at", "closed_at"]
    list_filter = ["status", "category"]
    raw_id_fields = ["site", "person", "appointment", "called_by"]
    date_hierarchy = "arrived_at"


@admin.register(TicketCounter)
class TicketCounterAdmin(admin.ModelAdmin):
    list_display = ["site", "day", "last"]
    raw_id_fields = ["site"]
