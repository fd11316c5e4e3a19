from django.contrib import admin

from omniguichet.core.models import ApiToken, LoginFailure, Throttle


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


@admin.register(Throttle)
class ThrottleAdmin(admin.ModelAdmin):
    """The throttle's counters (keys are HMACs); deleting one lifts its delay at once."""

    list_display = ["scope", "key_hash", "attempts", "window_start", "last_at", "blocked_until"]
    list_filter = ["scope"]
    readonly_fields = ["scope", "key_hash", "attempts", "window_start", "last_at", "blocked_until"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False
