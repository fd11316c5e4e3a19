from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from omniguichet.referential.models import (
    Caisse,
    ChannelPreference,
    Consent,
    ContactPoint,
    Employer,
    Person,
    Professional,
    User,
)


@admin.register(Caisse)
class CaisseAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "department", "city"]
    search_fields = ["code", "name", "department_name", "city"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "role", "caisse", "is_active", "last_login"]
    list_filter = ["role", "is_active", "caisse"]
    fieldsets = (*DjangoUserAdmin.fieldsets, (_("Caisse and role"), {"fields": ("caisse", "role")}))  # type: ignore[misc]
    add_fieldsets = (*DjangoUserAdmin.add_fieldsets, (_("Caisse and role"), {"fields": ("caisse", "role")}))


class ContactPointInline(admin.TabularInline):
    model = ContactPoint
    extra = 0


class ConsentInline(admin.TabularInline):
    model = Consent
    extra = 0


class ChannelPreferenceInline(admin.StackedInline):
    model = ChannelPreference
    extra = 0


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ["nir", "family_name", "usage_name", "given_names", "birth_date", "caisse", "status"]
    list_filter = ["status", "sex"]
    list_select_related = ["caisse"]
    # With millions of rows an exact count on every page is too slow to be worth it.
    show_full_result_count = False
    search_fields = [
        "=nir",
        "family_name_folded",
        "usage_name_folded",
        "given_names",
        "=contact_points__value",
    ]
    search_help_text = _("NIR, name, e-mail or phone (+33…)")
    raw_id_fields = ["parent", "caisse"]
    inlines = [ContactPointInline, ChannelPreferenceInline, ConsentInline]

    def get_search_results(self, request, queryset, search_term):
        from omniguichet.core.text import fold
        from omniguichet.referential.services import search_term_variants

        # Names are searched on their folded form and phones in E.164, whatever the person typed.
        terms = search_term_variants(search_term) or [fold(search_term)]
        results, may_have_duplicates = super().get_search_results(request, queryset, terms[0])
        for term in terms[1:]:
            more, dup = super().get_search_results(request, queryset, term)
            results = results | more
            may_have_duplicates = may_have_duplicates or dup
        return results, may_have_duplicates


@admin.register(ContactPoint)
class ContactPointAdmin(admin.ModelAdmin):
    list_display = ["value", "kind", "verified", "person"]
    list_filter = ["kind", "verified"]
    search_fields = ["=value", "=person__nir"]
    raw_id_fields = ["person"]
    show_full_result_count = False


@admin.register(Employer)
class EmployerAdmin(admin.ModelAdmin):
    list_display = ["siret", "name", "caisse"]
    search_fields = ["=siret", "name_folded"]
    raw_id_fields = ["caisse"]


@admin.register(Professional)
class ProfessionalAdmin(admin.ModelAdmin):
    list_display = ["rpps", "family_name", "given_names", "profession", "caisse"]
    list_filter = ["profession"]
    search_fields = ["=rpps", "family_name_folded"]
    raw_id_fields = ["caisse"]


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    list_display = ["person", "purpose", "granted", "channel", "decided_at"]
    list_filter = ["purpose", "granted"]
    search_fields = ["=person__nir"]
    raw_id_fields = ["person"]


@admin.register(ChannelPreference)
class ChannelPreferenceAdmin(admin.ModelAdmin):
    list_display = ["person", "preferred_channel", "sms_allowed", "email_allowed", "e_documents"]
    search_fields = ["=person__nir"]
    raw_id_fields = ["person"]
