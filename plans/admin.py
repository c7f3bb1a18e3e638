from django import forms
from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from plans import models as m
from plans.forms import KeepsPlanYears
from plans.services import data_changed


class VersionedAdmin(SimpleHistoryAdmin):
    """Administrators' saves move records' versions too, so an officer who opened a record
    before an administrator changed it is told, not silently overwriting the change; and
    they give the record's plan a new data version, as plans.services does, so no cached
    figure outlives the change."""

    def save_model(self, request, obj, form, change):
        if change:
            obj.version += 1
        super().save_model(request, obj, form, change)
        data_changed([obj])

    def save_formset(self, request, form, formset, change):
        for inline_form in formset.forms:
            if inline_form.instance.pk and inline_form.has_changed():
                inline_form.instance.version += 1
        super().save_formset(request, form, formset, change)
        data_changed([form.instance])  # the inline rows are the parent's plan's

    def delete_model(self, request, obj):
        data_changed([obj])
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        data_changed(list(queryset))
        super().delete_queryset(request, queryset)


class PlannedAmountInline(admin.TabularInline):
    model = m.PlannedAmount
    extra = 0


class ProgressInline(admin.TabularInline):
    model = m.ProgressEntry
    extra = 0
    raw_id_fields = ["entered_by"]


class KpiPointInline(admin.TabularInline):
    model = m.KpiPoint
    extra = 0
    exclude = ["entered_by"]


class PlanAdminForm(KeepsPlanYears, forms.ModelForm):
    class Meta:
        model = m.Plan
        fields = "__all__"  # noqa: DJ007 - the admin chooses the fields it shows


@admin.register(m.Plan)
class PlanAdmin(VersionedAdmin):
    form = PlanAdminForm
    list_display = ["title", "authority", "kind", "first_year", "last_year", "status"]
    list_filter = ["authority", "kind", "status"]
    search_fields = ["title", "code"]


@admin.register(m.SavingsLine)
class SavingsLineAdmin(VersionedAdmin):
    list_display = [
        "reference",
        "title",
        "plan",
        "category",
        "status",
        "rag",
        "in_revenue_budget",
        "counts_towards_target",
    ]
    list_filter = ["plan__authority", "plan", "category", "status", "rag"]
    search_fields = ["reference", "title", "owner"]
    inlines = [PlannedAmountInline, ProgressInline]


@admin.register(m.KPI)
class KPIAdmin(VersionedAdmin):
    list_display = ["name", "plan", "unit", "direction", "source", "baseline_value"]
    list_filter = ["plan__authority", "plan", "unit", "source"]
    search_fields = ["name", "code"]
    inlines = [KpiPointInline]


PLAN_FILTERS = ["plan__authority", "plan"]


@admin.register(m.NarrativeSection)
class NarrativeSectionAdmin(VersionedAdmin):
    list_display = ["heading", "plan", "order"]
    list_filter = PLAN_FILTERS


@admin.register(m.Workstream)
class WorkstreamAdmin(VersionedAdmin):
    list_display = ["name", "plan", "code", "order"]
    list_filter = PLAN_FILTERS


@admin.register(m.PlannedAmount)
class PlannedAmountAdmin(VersionedAdmin):
    list_display = ["line", "year", "kind", "low", "high"]
    list_filter = ["line__plan", "year", "kind"]


@admin.register(m.ProgressEntry)
class ProgressEntryAdmin(VersionedAdmin):
    list_display = ["line", "as_at", "achieved_to_date", "basis", "forecast", "rag"]
    list_filter = ["line__plan", "year", "basis", "rag"]


@admin.register(m.YearAdjustment)
class YearAdjustmentAdmin(VersionedAdmin):
    list_display = ["plan", "year", "factor"]
    list_filter = PLAN_FILTERS


@admin.register(m.StatedFigure)
class StatedFigureAdmin(VersionedAdmin):
    list_display = ["label", "plan", "measure", "year", "stated_text"]
    list_filter = PLAN_FILTERS


@admin.register(m.PaperDiscrepancy)
class PaperDiscrepancyAdmin(VersionedAdmin):
    list_display = ["subject", "plan", "year", "first_text", "second_text", "uses"]
    list_filter = PLAN_FILTERS


@admin.register(m.OverspendForecast)
class OverspendForecastAdmin(VersionedAdmin):
    list_display = [
        "plan",
        "year",
        "period",
        "service_area",
        "scenario",
        "budget",
        "forecast_outturn",
        "overspend",
    ]
    list_filter = PLAN_FILTERS


@admin.register(m.CostPressure)
class CostPressureAdmin(VersionedAdmin):
    list_display = ["title", "plan", "year", "period", "amount"]
    list_filter = PLAN_FILTERS


@admin.register(m.PlacementType)
class PlacementTypeAdmin(VersionedAdmin):
    list_display = ["name", "plan", "kind", "unit_cost", "cost_basis"]
    list_filter = PLAN_FILTERS


@admin.register(m.PlacementCount)
class PlacementCountAdmin(VersionedAdmin):
    list_display = ["type", "year", "period", "kind", "count"]
    list_filter = [("type__plan__authority", admin.RelatedOnlyFieldListFilter)]


@admin.register(m.PlacementMove)
class PlacementMoveAdmin(VersionedAdmin):
    list_display = ["reference", "plan", "from_type", "to_type", "number", "planned_year"]
    list_filter = PLAN_FILTERS


@admin.register(m.PlacementScenario)
class PlacementScenarioAdmin(VersionedAdmin):
    list_display = ["name", "plan", "unit_cost_change", "count_change", "move_delay_months"]
    list_filter = PLAN_FILTERS


@admin.register(m.Funding)
class FundingAdmin(VersionedAdmin):
    list_display = ["title", "plan", "kind", "year", "amount"]
    list_filter = PLAN_FILTERS


@admin.register(m.KpiPoint)
class KpiPointAdmin(VersionedAdmin):
    list_display = ["kpi", "kind", "date", "value", "label"]
    list_filter = ["kpi__plan", "kind"]


@admin.register(m.Risk)
class RiskAdmin(VersionedAdmin):
    list_display = ["reference", "plan", "likelihood", "impact", "status"]
    list_filter = PLAN_FILTERS


@admin.register(m.Commentary)
class CommentaryAdmin(VersionedAdmin):
    list_display = ["plan", "year", "period", "role", "author"]
    list_filter = PLAN_FILTERS


@admin.register(m.PendingImport)
class PendingImportAdmin(admin.ModelAdmin):
    """Uploads waiting for their owner's confirmation; an administrator may only remove one."""

    list_display = ["filename", "user", "plan", "created_at"]
    exclude = ["parsed"]
    readonly_fields = ["token", "user", "plan", "filename", "fingerprint", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(m.MonthClose)
class MonthCloseAdmin(VersionedAdmin):
    list_display = ["plan", "year", "period", "state", "submitted_by", "signed_off_by"]
    list_filter = ["plan__authority", "state"]


@admin.register(m.PublishedReport)
class PublishedReportAdmin(admin.ModelAdmin):
    """What went to the committee is never changed, not even here."""

    list_display = ["plan", "year", "period", "number", "published_by", "published_at"]
    list_filter = ["plan__authority"]
    exclude = ["pdf", "xlsx"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
