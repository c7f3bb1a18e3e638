from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from plans import models as m


class VersionedAdmin(SimpleHistoryAdmin):
    """Administrators' saves move records' versions too, so an officer who opened a record
    before an administrator changed it is told, not silently overwriting the change."""

    def save_model(self, request, obj, form, change):
        if change:
            obj.version += 1
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        for inline_form in formset.forms:
            if inline_form.instance.pk and inline_form.has_changed():
                inline_form.instance.version += 1
        super().save_formset(request, form, formset, change)


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


@admin.register(m.Plan)
class PlanAdmin(VersionedAdmin):
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
    list_display = ["name", "plan", "unit", "direction", "baseline_value"]
    list_filter = ["plan__authority", "plan", "unit"]
    search_fields = ["name", "code"]
    inlines = [KpiPointInline]


def _simple(model, display, filters=("plan__authority", "plan")):
    admin.site.register(
        model,
        type(
            f"{model.__name__}Admin",
            (VersionedAdmin,),
            {"list_display": display, "list_filter": list(filters)},
        ),
    )


_simple(m.NarrativeSection, ["heading", "plan", "order"])
_simple(m.Workstream, ["name", "plan", "code", "order"])
_simple(m.PlannedAmount, ["line", "year", "kind", "low", "high"], ["line__plan", "year", "kind"])
_simple(
    m.ProgressEntry,
    ["line", "as_at", "achieved_to_date", "basis", "forecast", "rag"],
    ["line__plan", "year", "basis", "rag"],
)
_simple(m.YearAdjustment, ["plan", "year", "factor"])
_simple(m.StatedFigure, ["label", "plan", "measure", "year", "stated_text"])
_simple(m.PaperDiscrepancy, ["subject", "plan", "year", "first_text", "second_text", "uses"])
_simple(
    m.OverspendForecast,
    [
        "plan",
        "year",
        "period",
        "service_area",
        "scenario",
        "budget",
        "forecast_outturn",
        "overspend",
    ],
)
_simple(m.CostPressure, ["title", "plan", "year", "period", "amount"])
_simple(m.Funding, ["title", "plan", "kind", "year", "amount"])
_simple(m.KpiPoint, ["kpi", "kind", "date", "value", "label"], ["kpi__plan", "kind"])
_simple(m.Risk, ["reference", "plan", "likelihood", "impact", "status"])
_simple(m.Commentary, ["plan", "year", "period", "role", "author"])


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
