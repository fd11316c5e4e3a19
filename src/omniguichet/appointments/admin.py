from django.contrib import admin

from omniguichet.appointments.models import (
    AgentAvailability,
    Appointment,
    AppointmentMotive,
    OpeningHours,
    Site,
    SiteClosure,
    WaitingListEntry,
)


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


class SiteClosureInline(admin.TabularInline):
    model = SiteClosure
    extra = 0


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["name", "caisse", "city", "slot_minutes", "active"]
    list_filter = ["active"]
    search_fields = ["name", "city", "caisse__code"]
    inlines = [OpeningHoursInline, SiteClosureInline]


@admin.register(AgentAvailability)
class AgentAvailabilityAdmin(admin.ModelAdmin):
    list_display = ["agent", "site", "weekday", "starts", "ends"]
    raw_id_fields = ["agent", "site"]


@admin.register(AppointmentMotive)
class AppointmentMotiveAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "label",
        "mode",
        "duration_minutes",
        "min_delay_hours",
        "max_delay_days",
        "active",
    ]


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    list_display = ["start", "motive", "site", "agent", "status", "mode"]
    list_filter = ["status", "mode"]
    raw_id_fields = ["person", "site", "agent", "booked_by"]
    date_hierarchy = "start"


@admin.register(WaitingListEntry)
class WaitingListEntryAdmin(admin.ModelAdmin):
    list_display = ["person", "site", "motive", "earliest", "latest", "status", "offers_sent"]
    raw_id_fields = ["person", "site"]


@admin.register(OpeningHours)
class OpeningHoursAdmin(admin.ModelAdmin):
    list_display = ["site", "weekday", "opens", "closes"]
    raw_id_fields = ["site"]


@admin.register(SiteClosure)
class SiteClosureAdmin(admin.ModelAdmin):
    list_display = ["site", "first_day", "last_day", "reason"]
    raw_id_fields = ["site"]
