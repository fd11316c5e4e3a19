from django.contrib import admin

from omniguichet.accounts.models import Account, ExternalIdentity, OneTimeCode


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["person", "status", "opened_at", "second_factor"]
    list_filter = ["status", "second_factor"]
    search_fields = ["=person__nir", "person__family_name_folded", "=person__contact_points__value"]
    raw_id_fields = ["person", "user"]
    list_select_related = ["person"]
    show_full_result_count = False


@admin.register(OneTimeCode)
class OneTimeCodeAdmin(admin.ModelAdmin):
    list_display = [
        "person",
        "purpose",
        "delivery",
        "target",
        "created_at",
        "expires_at",
        "used_at",
        "attempts",
    ]
    list_filter = ["purpose", "delivery"]
    raw_id_fields = ["person"]
    list_select_related = ["person"]
    exclude = ["code_hash"]
    show_full_result_count = False


@admin.register(ExternalIdentity)
class ExternalIdentityAdmin(admin.ModelAdmin):
    list_display = ["provider", "subject", "account", "linked_at"]
    raw_id_fields = ["account"]
    list_select_related = ["account__person"]
