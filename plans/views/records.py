"""The record pages, declared: for each record type, its pieces (model, route name, parent
path) and its five views (list, detail, create or edit, delete, history). The generic views in
``plans.views.base`` do the work; ``RECORD_TYPES`` gives the routes."""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count
from django.urls import path

from plans import filters, forms, services, tables
from plans import models as m
from plans.selectors import as_at_month
from plans.views.base import (
    RecordDeleteView,
    RecordDetailView,
    RecordFormView,
    RecordHistoryView,
    RecordListView,
    within_plan_ordering,
)
from recovery.access import role_of


class SavingsLineSave:
    """A line and its planned amount for every year of the plan, saved together."""

    def save(self, form):
        return services.save_line(
            line=form.instance,
            amounts=form.planned_amounts(),
            user=self.request.user,
            expected_version=form.cleaned_data.get("version"),
            reason=form.cleaned_data.get("change_reason", ""),
            seen_amounts=form.cleaned_data.get("amount_versions") if form.instance.pk else None,
        )


class ProgressEntrySave:
    def save(self, form):
        entry = super().save(form)
        services.refresh_line_rag(
            line=entry.line,
            user=self.request.user,
            reason=form.cleaned_data.get("change_reason", ""),
        )
        return entry


class ProgressEntryDeleteRefresh:
    def post(self, request, *args, **kwargs):
        line = self.get_object().line
        response = super().post(request, *args, **kwargs)
        if not m.ProgressEntry.objects.filter(pk=self.kwargs["pk"]).exists():
            services.refresh_line_rag(
                line=line, user=request.user, reason=request.POST.get("change_reason", "")
            )
        return response


class CommentaryRoleMixin:
    """Directors write the director's commentary and finance managers the finance commentary;
    neither may change or delete the other's."""

    def own_role(self):
        return role_of(self.request.user)

    def check_role(self, commentary):
        if not self.request.user.is_superuser and commentary.role != self.own_role():
            raise PermissionDenied(
                f"This is the {commentary.get_role_display().lower()}; only its own role may "
                "change it."
            )


class CommentaryFormRole(CommentaryRoleMixin):
    def get_object(self):
        commentary = super().get_object()
        if commentary.pk:
            self.check_role(commentary)
        return commentary

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        if not self.request.user.is_superuser:
            role = self.own_role()
            form.fields["role"].choices = [c for c in m.Commentary.Role.choices if c[0] == role]
            form.fields["role"].initial = role
        return form


class CommentaryDeleteRole(CommentaryRoleMixin):
    def get_object(self):
        commentary = super().get_object()
        self.check_role(commentary)
        return commentary


# Workstream


class WorkstreamPages:
    model = m.Workstream
    url_name = "workstream"
    select_related = ()


class WorkstreamList(WorkstreamPages, RecordListView):
    table_class = tables.WorkstreamTable
    filterset_class = filters.WorkstreamFilter

    def get_queryset(self):
        # An aggregate drops the model's default ordering; keep it for stable pages.
        return (
            super()
            .get_queryset()
            .annotate(
                **{"line_count": Count("lines")},
            )
            .order_by(*within_plan_ordering(self.model, m.plan_path(self.model)), "pk")
        )


class WorkstreamDetail(WorkstreamPages, RecordDetailView):
    pass


class WorkstreamEdit(WorkstreamPages, RecordFormView):
    form_class = forms.WorkstreamForm


class WorkstreamDelete(WorkstreamPages, RecordDeleteView):
    pass


class WorkstreamHistory(WorkstreamPages, RecordHistoryView):
    pass


# SavingsLine


class SavingsLinePages:
    model = m.SavingsLine
    url_name = "line"
    select_related = ("workstream",)


class SavingsLineList(SavingsLinePages, RecordListView):
    table_class = tables.SavingsLineTable
    filterset_class = filters.SavingsLineFilter


class SavingsLineDetail(SavingsLinePages, RecordDetailView):
    pass


class SavingsLineEdit(SavingsLineSave, SavingsLinePages, RecordFormView):
    form_class = forms.SavingsLineForm


class SavingsLineDelete(SavingsLinePages, RecordDeleteView):
    pass


class SavingsLineHistory(SavingsLinePages, RecordHistoryView):
    pass


# PlannedAmount


class PlannedAmountPages:
    model = m.PlannedAmount
    url_name = "amount"
    select_related = ("line",)


class PlannedAmountList(PlannedAmountPages, RecordListView):
    table_class = tables.PlannedAmountTable
    filterset_class = filters.PlannedAmountFilter


class PlannedAmountDetail(PlannedAmountPages, RecordDetailView):
    pass


class PlannedAmountEdit(PlannedAmountPages, RecordFormView):
    form_class = forms.PlannedAmountForm


class PlannedAmountDelete(PlannedAmountPages, RecordDeleteView):
    pass


class PlannedAmountHistory(PlannedAmountPages, RecordHistoryView):
    pass


# ProgressEntry


class ProgressEntryPages:
    model = m.ProgressEntry
    url_name = "progress"
    select_related = ("line", "entered_by")


class ProgressEntryList(ProgressEntryPages, RecordListView):
    table_class = tables.ProgressEntryTable
    filterset_class = filters.ProgressEntryFilter


class ProgressEntryDetail(ProgressEntryPages, RecordDetailView):
    pass


class ProgressEntryEdit(ProgressEntrySave, ProgressEntryPages, RecordFormView):
    form_class = forms.ProgressEntryForm


class ProgressEntryDelete(ProgressEntryDeleteRefresh, ProgressEntryPages, RecordDeleteView):
    pass


class ProgressEntryHistory(ProgressEntryPages, RecordHistoryView):
    pass


# OverspendForecast


class OverspendForecastPages:
    model = m.OverspendForecast
    url_name = "forecast"
    select_related = ()


class OverspendForecastList(OverspendForecastPages, RecordListView):
    table_class = tables.OverspendForecastTable
    filterset_class = filters.OverspendForecastFilter


class OverspendForecastDetail(OverspendForecastPages, RecordDetailView):
    pass


class OverspendForecastEdit(OverspendForecastPages, RecordFormView):
    form_class = forms.OverspendForecastForm


class OverspendForecastDelete(OverspendForecastPages, RecordDeleteView):
    pass


class OverspendForecastHistory(OverspendForecastPages, RecordHistoryView):
    pass


# CostPressure


class CostPressurePages:
    model = m.CostPressure
    url_name = "pressure"
    select_related = ()


class CostPressureList(CostPressurePages, RecordListView):
    table_class = tables.CostPressureTable
    filterset_class = filters.CostPressureFilter


class CostPressureDetail(CostPressurePages, RecordDetailView):
    pass


class CostPressureEdit(CostPressurePages, RecordFormView):
    form_class = forms.CostPressureForm


class CostPressureDelete(CostPressurePages, RecordDeleteView):
    pass


class CostPressureHistory(CostPressurePages, RecordHistoryView):
    pass


# Funding


class FundingPages:
    model = m.Funding
    url_name = "funding"
    select_related = ()


class FundingList(FundingPages, RecordListView):
    table_class = tables.FundingTable
    filterset_class = filters.FundingFilter


class FundingDetail(FundingPages, RecordDetailView):
    pass


class FundingEdit(FundingPages, RecordFormView):
    form_class = forms.FundingForm


class FundingDelete(FundingPages, RecordDeleteView):
    pass


class FundingHistory(FundingPages, RecordHistoryView):
    pass


# KPI


class KPIPages:
    model = m.KPI
    url_name = "kpi"
    select_related = ()


class KPIList(KPIPages, RecordListView):
    table_class = tables.KPITable
    filterset_class = filters.KPIFilter


class KPIDetail(KPIPages, RecordDetailView):
    pass


class KPIEdit(KPIPages, RecordFormView):
    form_class = forms.KPIForm


class KPIDelete(KPIPages, RecordDeleteView):
    pass


class KPIHistory(KPIPages, RecordHistoryView):
    pass


# KpiPoint


class KpiPointPages:
    model = m.KpiPoint
    url_name = "kpipoint"
    select_related = ("kpi",)


class KpiPointList(KpiPointPages, RecordListView):
    table_class = tables.KpiPointTable
    filterset_class = filters.KpiPointFilter


class KpiPointDetail(KpiPointPages, RecordDetailView):
    pass


class KpiPointEdit(KpiPointPages, RecordFormView):
    form_class = forms.KpiPointForm


class KpiPointDelete(KpiPointPages, RecordDeleteView):
    pass


class KpiPointHistory(KpiPointPages, RecordHistoryView):
    pass


# Risk


class RiskPages:
    model = m.Risk
    url_name = "risk"
    select_related = ()


class RiskList(RiskPages, RecordListView):
    table_class = tables.RiskTable
    filterset_class = filters.RiskFilter


class RiskDetail(RiskPages, RecordDetailView):
    pass


class RiskEdit(RiskPages, RecordFormView):
    form_class = forms.RiskForm


class RiskDelete(RiskPages, RecordDeleteView):
    pass


class RiskHistory(RiskPages, RecordHistoryView):
    pass


# Commentary


class CommentaryPages:
    model = m.Commentary
    url_name = "commentary"
    select_related = ("author",)


class CommentaryList(CommentaryPages, RecordListView):
    table_class = tables.CommentaryTable
    filterset_class = filters.CommentaryFilter


class CommentaryDetail(CommentaryPages, RecordDetailView):
    pass


class CommentaryEdit(CommentaryFormRole, CommentaryPages, RecordFormView):
    form_class = forms.CommentaryForm


class CommentaryDelete(CommentaryDeleteRole, CommentaryPages, RecordDeleteView):
    pass


class CommentaryHistory(CommentaryPages, RecordHistoryView):
    pass


# YearAdjustment


class YearAdjustmentPages:
    model = m.YearAdjustment
    url_name = "adjustment"
    select_related = ()


class YearAdjustmentList(YearAdjustmentPages, RecordListView):
    table_class = tables.YearAdjustmentTable
    filterset_class = filters.YearAdjustmentFilter


class YearAdjustmentDetail(YearAdjustmentPages, RecordDetailView):
    pass


class YearAdjustmentEdit(YearAdjustmentPages, RecordFormView):
    form_class = forms.YearAdjustmentForm


class YearAdjustmentDelete(YearAdjustmentPages, RecordDeleteView):
    pass


class YearAdjustmentHistory(YearAdjustmentPages, RecordHistoryView):
    pass


# NarrativeSection


class NarrativeSectionPages:
    model = m.NarrativeSection
    url_name = "section"
    select_related = ()


class NarrativeSectionList(NarrativeSectionPages, RecordListView):
    table_class = tables.NarrativeSectionTable
    filterset_class = filters.NarrativeSectionFilter


class NarrativeSectionDetail(NarrativeSectionPages, RecordDetailView):
    pass


class NarrativeSectionEdit(NarrativeSectionPages, RecordFormView):
    form_class = forms.NarrativeSectionForm


class NarrativeSectionDelete(NarrativeSectionPages, RecordDeleteView):
    pass


class NarrativeSectionHistory(NarrativeSectionPages, RecordHistoryView):
    pass


# Placements: types, monthly counts, planned moves and what-if scenarios. Counts and moves of
# children, never a name or an identifier.


class PlacementMoveSync:
    """A move saved or corrected here moves the savings line it drives: the line's progress
    is written from its moves at the plan's as-at month, or the month the move was made if
    later (as the month-end page does for its month)."""

    def save(self, form):
        move = super().save(form)
        month = as_at_month(self.plan)
        if move.actual_year and (move.actual_year, move.actual_period) > month:
            month = (move.actual_year, move.actual_period)
        services.sync_lines_from_moves(
            plan=self.plan, year=month[0], period=month[1], user=self.request.user
        )
        return move


class PlacementTypePages:
    model = m.PlacementType
    url_name = "placementtype"
    select_related = ()


class PlacementTypeList(PlacementTypePages, RecordListView):
    table_class = tables.PlacementTypeTable
    filterset_class = filters.PlacementTypeFilter


class PlacementTypeDetail(PlacementTypePages, RecordDetailView):
    pass


class PlacementTypeEdit(PlacementTypePages, RecordFormView):
    form_class = forms.PlacementTypeForm


class PlacementTypeDelete(PlacementTypePages, RecordDeleteView):
    pass


class PlacementTypeHistory(PlacementTypePages, RecordHistoryView):
    pass


class PlacementCountPages:
    model = m.PlacementCount
    url_name = "placementcount"
    select_related = ("type",)


class PlacementCountList(PlacementCountPages, RecordListView):
    table_class = tables.PlacementCountTable
    filterset_class = filters.PlacementCountFilter


class PlacementCountDetail(PlacementCountPages, RecordDetailView):
    pass


class PlacementCountEdit(PlacementCountPages, RecordFormView):
    form_class = forms.PlacementCountForm


class PlacementCountDelete(PlacementCountPages, RecordDeleteView):
    pass


class PlacementCountHistory(PlacementCountPages, RecordHistoryView):
    pass


class PlacementMovePages:
    model = m.PlacementMove
    url_name = "placementmove"
    select_related = ("from_type", "to_type", "line")


class PlacementMoveList(PlacementMovePages, RecordListView):
    table_class = tables.PlacementMoveTable
    filterset_class = filters.PlacementMoveFilter


class PlacementMoveDetail(PlacementMovePages, RecordDetailView):
    pass


class PlacementMoveEdit(PlacementMoveSync, PlacementMovePages, RecordFormView):
    form_class = forms.PlacementMoveForm


class PlacementMoveDelete(PlacementMovePages, RecordDeleteView):
    @transaction.atomic
    def remove(self, obj, **kwargs) -> None:
        """A deleted move no longer drives its line: the line's progress at the plan's as-at
        month (or the month the move was made, if later) is written again from the moves
        left, or, where none is left, the entry the moves wrote goes."""
        line_id, made = obj.line_id, (obj.actual_year, obj.actual_period)
        super().remove(obj, **kwargs)
        month = as_at_month(self.plan)
        if made[0] and made > month:
            month = made
        services.sync_lines_from_moves(
            plan=self.plan,
            year=month[0],
            period=month[1],
            user=kwargs["user"],
            released={line_id} if line_id else (),
        )


class PlacementMoveHistory(PlacementMovePages, RecordHistoryView):
    pass


class PlacementScenarioPages:
    model = m.PlacementScenario
    url_name = "placementscenario"
    select_related = ("placement_type",)


class PlacementScenarioList(PlacementScenarioPages, RecordListView):
    table_class = tables.PlacementScenarioTable
    filterset_class = filters.PlacementScenarioFilter


class PlacementScenarioDetail(PlacementScenarioPages, RecordDetailView):
    pass


class PlacementScenarioEdit(PlacementScenarioPages, RecordFormView):
    form_class = forms.PlacementScenarioForm


class PlacementScenarioDelete(PlacementScenarioPages, RecordDeleteView):
    pass


class PlacementScenarioHistory(PlacementScenarioPages, RecordHistoryView):
    pass


@dataclass(frozen=True)
class RecordType:
    """The routes of one record type: ``<url_name>_list``, ``_create``, ``_detail``..."""

    segment: str
    list_view: type
    detail_view: type
    form_view: type
    delete_view: type
    history_view: type

    @property
    def url_name(self) -> str:
        return self.list_view.url_name

    @property
    def model(self):
        return self.list_view.model

    def urls(self):
        base, n = f"plans/<int:plan_pk>/{self.segment}/", self.url_name
        return [
            path(base, self.list_view.as_view(), name=f"{n}_list"),
            path(f"{base}new/", self.form_view.as_view(), name=f"{n}_create"),
            path(f"{base}<int:pk>/", self.detail_view.as_view(), name=f"{n}_detail"),
            path(f"{base}<int:pk>/edit/", self.form_view.as_view(), name=f"{n}_edit"),
            path(f"{base}<int:pk>/delete/", self.delete_view.as_view(), name=f"{n}_delete"),
            path(f"{base}<int:pk>/history/", self.history_view.as_view(), name=f"{n}_history"),
        ]


RECORD_TYPES = [
    RecordType(
        "workstreams",
        WorkstreamList,
        WorkstreamDetail,
        WorkstreamEdit,
        WorkstreamDelete,
        WorkstreamHistory,
    ),
    RecordType(
        "lines",
        SavingsLineList,
        SavingsLineDetail,
        SavingsLineEdit,
        SavingsLineDelete,
        SavingsLineHistory,
    ),
    RecordType(
        "amounts",
        PlannedAmountList,
        PlannedAmountDetail,
        PlannedAmountEdit,
        PlannedAmountDelete,
        PlannedAmountHistory,
    ),
    RecordType(
        "progress",
        ProgressEntryList,
        ProgressEntryDetail,
        ProgressEntryEdit,
        ProgressEntryDelete,
        ProgressEntryHistory,
    ),
    RecordType(
        "forecasts",
        OverspendForecastList,
        OverspendForecastDetail,
        OverspendForecastEdit,
        OverspendForecastDelete,
        OverspendForecastHistory,
    ),
    RecordType(
        "pressures",
        CostPressureList,
        CostPressureDetail,
        CostPressureEdit,
        CostPressureDelete,
        CostPressureHistory,
    ),
    RecordType("funding", FundingList, FundingDetail, FundingEdit, FundingDelete, FundingHistory),
    RecordType("kpis", KPIList, KPIDetail, KPIEdit, KPIDelete, KPIHistory),
    RecordType(
        "kpi-values", KpiPointList, KpiPointDetail, KpiPointEdit, KpiPointDelete, KpiPointHistory
    ),
    RecordType("risks", RiskList, RiskDetail, RiskEdit, RiskDelete, RiskHistory),
    RecordType(
        "commentary",
        CommentaryList,
        CommentaryDetail,
        CommentaryEdit,
        CommentaryDelete,
        CommentaryHistory,
    ),
    RecordType(
        "adjustments",
        YearAdjustmentList,
        YearAdjustmentDetail,
        YearAdjustmentEdit,
        YearAdjustmentDelete,
        YearAdjustmentHistory,
    ),
    RecordType(
        "placement-types",
        PlacementTypeList,
        PlacementTypeDetail,
        PlacementTypeEdit,
        PlacementTypeDelete,
        PlacementTypeHistory,
    ),
    RecordType(
        "placement-counts",
        PlacementCountList,
        PlacementCountDetail,
        PlacementCountEdit,
        PlacementCountDelete,
        PlacementCountHistory,
    ),
    RecordType(
        "placement-moves",
        PlacementMoveList,
        PlacementMoveDetail,
        PlacementMoveEdit,
        PlacementMoveDelete,
        PlacementMoveHistory,
    ),
    RecordType(
        "what-ifs",
        PlacementScenarioList,
        PlacementScenarioDetail,
        PlacementScenarioEdit,
        PlacementScenarioDelete,
        PlacementScenarioHistory,
    ),
    RecordType(
        "narrative",
        NarrativeSectionList,
        NarrativeSectionDetail,
        NarrativeSectionEdit,
        NarrativeSectionDelete,
        NarrativeSectionHistory,
    ),
]

urlpatterns = [u for record_type in RECORD_TYPES for u in record_type.urls()]
