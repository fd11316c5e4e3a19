from django import forms
from django.contrib import admin
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite

from omniguichet.core import staff_otp
from omniguichet.core.models import (
    ApiToken,
    LoginFailure,
    PartitionEvent,
    ScheduleSlot,
    TaskOrigin,
    Throttle,
    WorkerHeartbeat,
)
from omniguichet.core.throttle import client_address


class StaffAdminLoginForm(OTPAdminAuthenticationForm):
    """The admin's login form (password and code together) checks the code like the agent console's second step:
    through `core.staff_otp.verify`, so that wrong codes given here are throttled per login and per address and
    written in the audit of failed logins too, and the login's own device is used whatever device is chosen."""

    def _verify_token(self, user, token, device=None):
        device = staff_otp.verify(user=user, code=token, address=client_address(self.request))
        if device is None:
            raise forms.ValidationError(self.otp_error_messages["invalid_token"], code="invalid_token")
        return device


class StaffAdminSite(OTPAdminSite):
    """django-otp's admin site (only a session verified by a second factor is let in) with the form above."""

    login_form = StaffAdminLoginForm


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "label", "created_at", "expires_at", "revoked_at", "last_used_at"]
    list_filter = ["revoked_at"]
    search_fields = ["prefix", "user__username"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]
    raw_id_fields = ["user"]


@admin.register(LoginFailure)
class LoginFailureAdmin(admin.ModelAdmin):
    """The audit of failed logins (staff and insured): read only."""

    list_display = ["at", "user", "factor", "channel", "address"]
    list_filter = ["factor", "channel"]
    search_fields = ["user__username"]
    raw_id_fields = ["user"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the platform only (audits, trigger-kept tables): listed, never added, changed or deleted
    here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PartitionEvent)
class PartitionEventAdmin(ReadOnlyAdmin):
    """The audit of the retention of monthly partitions (core.retention): read only, never deleted here."""

    list_display = ["at", "partition", "action", "rows", "actor", "channel", "rule"]
    list_filter = ["table", "action"]
    show_full_result_count = False


@admin.register(Throttle)
class ThrottleAdmin(admin.ModelAdmin):
    """The throttle's counters (keys are HMACs); deleting one lifts its delay at once."""

    list_display = ["scope", "key_hash", "attempts", "window_start", "last_at", "blocked_until"]
    list_filter = ["scope"]
    readonly_fields = ["scope", "key_hash", "attempts", "window_start", "last_at", "blocked_until"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False


@admin.register(TaskOrigin)
class TaskOriginAdmin(admin.ModelAdmin):
    list_display = ["task_id", "request_id", "created_at"]
    search_fields = ["task_id", "request_id"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["worker_id", "host", "pid", "beat_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ScheduleSlot)
class ScheduleSlotAdmin(admin.ModelAdmin):
    list_display = ["name", "slot", "claimed_at"]
    list_filter = ["name"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
