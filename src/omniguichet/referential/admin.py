import itertools

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from omniguichet.referential.models import (
    Caisse,
    ChannelPreference,
    Closure,
    Consent,
    ContactPoint,
    Employer,
    OpeningPeriod,
    Person,
    Professional,
    User,
)


def _overlap_error(first: OpeningPeriod, second: OpeningPeriod) -> str:
    return _("%(first)s overlaps %(second)s") % {"first": first, "second": second}


class OpeningPeriodFormSet(forms.BaseInlineFormSet):
    """The periods of one day must not overlap (checked on the rows as submitted, not as stored)."""

    def clean(self) -> None:
        super().clean()
        kept = [
            form.instance
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE") and form.instance.opens is not None
            and form.instance.closes is not None and form.instance.weekday is not None
        ]  # fmt: skip
        kept.sort(key=lambda p: (p.weekday, p.opens))
        for first, second in itertools.pairwise(kept):
            if first.weekday == second.weekday and second.opens < first.closes:
                raise forms.ValidationError(_overlap_error(first, second))


class OpeningPeriodInline(admin.TabularInline):
    model = OpeningPeriod
    formset = OpeningPeriodFormSet
    extra = 0


class ClosureInline(admin.TabularInline):
    model = Closure
    extra = 0


@admin.register(Caisse)
class CaisseAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "department", "city", "time_zone"]
    search_fields = ["code", "name", "department_name", "city"]
    inlines = [OpeningPeriodInline, ClosureInline]


class OpeningPeriodForm(forms.ModelForm):
    class Meta:
        model = OpeningPeriod
        fields = ["caisse", "weekday", "opens", "closes"]

    def clean(self):
        cleaned = super().clean() or {}
        if not self.errors:
            period = OpeningPeriod(
                pk=self.instance.pk, caisse=cleaned["caisse"], weekday=cleaned["weekday"],
                opens=cleaned["opens"], closes=cleaned["closes"],
            )  # fmt: skip
            other = period.overlapping()
            if other is not None:
                self.add_error("opens", _overlap_error(period, other))
        return cleaned


@admin.register(OpeningPeriod)
class OpeningPeriodAdmin(admin.ModelAdmin):
    form = OpeningPeriodForm
    list_display = ["caisse", "weekday", "opens", "closes"]
    list_filter = ["weekday"]
    search_fields = ["=caisse__code"]
    list_select_related = ["caisse"]


@admin.register(Closure)
class ClosureAdmin(admin.ModelAdmin):
    list_display = ["caisse", "date", "label"]
    list_filter = ["date"]
    search_fields = ["=caisse__code", "label"]
    date_hierarchy = "date"


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
