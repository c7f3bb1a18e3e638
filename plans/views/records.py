"""One small declaration per record type: model, table, filters, form. The generic views in
``plans.views.base`` do the rest."""

from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.urls import path

from plans import filters, forms, services, tables
from plans import models as m
from plans.views.base import (
    RecordDeleteView,
    RecordDetailView,
    RecordFormView,
    RecordHistoryView,
    RecordListView,
)
from recovery.access import role_of


class RecordType:
    """The pieces of one record type. ``url_name`` names its routes: ``<url_name>_list``..."""

    def __init__(
        self,
        *,
        model,
        url_name,
        segment,
        table,
        filterset,
        form,
        plan_path="plan",
        select_related=(),
        list_annotations=None,
        form_view=RecordFormView,
        delete_view=RecordDeleteView,
    ):
        self.model = model
        self.url_name = url_name
        self.segment = segment
        attrs = {
            "model": model,
            "url_name": url_name,
            "plan_path": plan_path,
            "select_related": tuple(select_related),
        }
        name = model.__name__
        list_attrs = {**attrs, "table_class": table, "filterset_class": filterset}
        if list_annotations:
            # An aggregate drops the model's default ordering; keep it for stable pages.
            list_attrs["get_queryset"] = lambda view: (
                RecordListView.get_queryset(view)
                .annotate(**list_annotations)
                .order_by(*model._meta.ordering)
            )
        self.list_view = type(f"{name}ListView", (RecordListView,), list_attrs)
        self.detail_view = type(f"{name}DetailView", (RecordDetailView,), attrs)
        self.form_view = type(f"{name}FormView", (form_view,), {**attrs, "form_class": form})
        self.delete_view = type(f"{name}DeleteView", (delete_view,), attrs)
        self.history_view = type(f"{name}HistoryView", (RecordHistoryView,), attrs)

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


class SavingsLineFormView(RecordFormView):
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


class ProgressEntryFormView(RecordFormView):
    def save(self, form):
        entry = super().save(form)
        services.refresh_line_rag(
            line=entry.line,
            user=self.request.user,
            reason=form.cleaned_data.get("change_reason", ""),
        )
        return entry


class ProgressEntryDeleteView(RecordDeleteView):
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


class CommentaryFormView(CommentaryRoleMixin, RecordFormView):
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


class CommentaryDeleteView(CommentaryRoleMixin, RecordDeleteView):
    def get_object(self):
        commentary = super().get_object()
        self.check_role(commentary)
        return commentary


RECORD_TYPES = [
    RecordType(
        model=m.Workstream,
        url_name="workstream",
        segment="workstreams",
        table=tables.WorkstreamTable,
        filterset=filters.WorkstreamFilter,
        form=forms.WorkstreamForm,
        list_annotations={"line_count": Count("lines")},
    ),
    RecordType(
        model=m.SavingsLine,
        url_name="line",
        segment="lines",
        table=tables.SavingsLineTable,
        filterset=filters.SavingsLineFilter,
        form=forms.SavingsLineForm,
        select_related=["workstream"],
        form_view=SavingsLineFormView,
    ),
    RecordType(
        model=m.PlannedAmount,
        url_name="amount",
        segment="amounts",
        table=tables.PlannedAmountTable,
        filterset=filters.PlannedAmountFilter,
        form=forms.PlannedAmountForm,
        plan_path="line__plan",
        select_related=["line"],
    ),
    RecordType(
        model=m.ProgressEntry,
        url_name="progress",
        segment="progress",
        table=tables.ProgressEntryTable,
        filterset=filters.ProgressEntryFilter,
        form=forms.ProgressEntryForm,
        plan_path="line__plan",
        select_related=["line", "entered_by"],
        form_view=ProgressEntryFormView,
        delete_view=ProgressEntryDeleteView,
    ),
    RecordType(
        model=m.OverspendForecast,
        url_name="forecast",
        segment="forecasts",
        table=tables.OverspendForecastTable,
        filterset=filters.OverspendForecastFilter,
        form=forms.OverspendForecastForm,
    ),
    RecordType(
        model=m.CostPressure,
        url_name="pressure",
        segment="pressures",
        table=tables.CostPressureTable,
        filterset=filters.CostPressureFilter,
        form=forms.CostPressureForm,
    ),
    RecordType(
        model=m.Funding,
        url_name="funding",
        segment="funding",
        table=tables.FundingTable,
        filterset=filters.FundingFilter,
        form=forms.FundingForm,
    ),
    RecordType(
        model=m.KPI,
        url_name="kpi",
        segment="kpis",
        table=tables.KPITable,
        filterset=filters.KPIFilter,
        form=forms.KPIForm,
    ),
    RecordType(
        model=m.KpiPoint,
        url_name="kpipoint",
        segment="kpi-values",
        table=tables.KpiPointTable,
        filterset=filters.KpiPointFilter,
        form=forms.KpiPointForm,
        plan_path="kpi__plan",
        select_related=["kpi"],
    ),
    RecordType(
        model=m.Risk,
        url_name="risk",
        segment="risks",
        table=tables.RiskTable,
        filterset=filters.RiskFilter,
        form=forms.RiskForm,
    ),
    RecordType(
        model=m.Commentary,
        url_name="commentary",
        segment="commentary",
        table=tables.CommentaryTable,
        filterset=filters.CommentaryFilter,
        form=forms.CommentaryForm,
        select_related=["author"],
        form_view=CommentaryFormView,
        delete_view=CommentaryDeleteView,
    ),
    RecordType(
        model=m.YearAdjustment,
        url_name="adjustment",
        segment="adjustments",
        table=tables.YearAdjustmentTable,
        filterset=filters.YearAdjustmentFilter,
        form=forms.YearAdjustmentForm,
    ),
    RecordType(
        model=m.NarrativeSection,
        url_name="section",
        segment="narrative",
        table=tables.NarrativeSectionTable,
        filterset=filters.NarrativeSectionFilter,
        form=forms.NarrativeSectionForm,
    ),
]

urlpatterns = [u for record_type in RECORD_TYPES for u in record_type.urls()]
