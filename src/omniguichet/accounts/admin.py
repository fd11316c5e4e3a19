from django.contrib import admin

from omniguichet.accounts.models import Account


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["person", "status", "opened_at"]
    list_filter = ["status"]
    search_fields = ["=person__nir", "person__family_name_folded", "=person__contact_points__value"]
    raw_id_fields = ["person"]
    list_select_related = ["person"]
    show_full_result_count = False
