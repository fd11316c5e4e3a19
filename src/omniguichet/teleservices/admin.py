from django.contrib import admin

from omniguichet.teleservices.models import (
    Attestation,
    BankDetails,
    CardOrder,
    Reimbursement,
    SickPayPayment,
    TeleserviceRequest,
)


@admin.register(TeleserviceRequest)
class TeleserviceRequestAdmin(admin.ModelAdmin):
    list_display = ["pk", "service", "person", "channel", "actor_kind", "status", "created_at"]
    list_filter = ["service", "channel", "status"]
    raw_id_fields = ["person", "agent"]
    list_select_related = ["person"]
    show_full_result_count = False


@admin.register(Attestation)
class AttestationAdmin(admin.ModelAdmin):
    list_display = ["code", "kind", "person", "issued_at"]
    search_fields = ["=code"]
    raw_id_fields = ["person", "request"]
    list_select_related = ["person"]
    show_full_result_count = False


@admin.register(Reimbursement)
class ReimbursementAdmin(admin.ModelAdmin):
    list_display = ["person", "care_date", "label", "amount_reimbursed", "paid_on"]
    raw_id_fields = ["person"]
    list_select_related = ["person"]
    show_full_result_count = False


@admin.register(SickPayPayment)
class SickPayPaymentAdmin(admin.ModelAdmin):
    list_display = ["person", "period_from", "period_to", "days", "amount", "paid_on"]
    raw_id_fields = ["person"]
    list_select_related = ["person"]
    show_full_result_count = False


@admin.register(CardOrder)
class CardOrderAdmin(admin.ModelAdmin):
    list_display = ["person", "kind", "reason", "ordered_at", "expected_by"]
    list_filter = ["kind"]
    raw_id_fields = ["person", "request"]
    list_select_related = ["person"]


@admin.register(BankDetails)
class BankDetailsAdmin(admin.ModelAdmin):
    list_display = ["person", "holder", "updated_at"]
    raw_id_fields = ["person"]
    list_select_related = ["person"]
