"""django-filter FilterSets for the record lists; choices are scoped to the plan."""

import django_filters as df
from django import forms
from django.db.models import Q
from django.utils.text import Truncator

from plans import models as m
from recovery import fiscal


class PlanScopedFilterSet(df.FilterSet):
    search_fields: tuple[str, ...] = ()
    q = df.CharFilter(label="Search", method="search")

    def __init__(self, *args, plan=None, **kwargs):
        self.plan = plan
        super().__init__(*args, **kwargs)
        for name, flt in self.filters.items():
            if name == "workstream" or name.endswith("workstream"):
                flt.queryset = m.Workstream.objects.filter(plan=plan)
            elif name in {"kpi"}:
                flt.queryset = m.KPI.objects.filter(plan=plan)
        if "year" in self.filters:
            self.filters["year"].extra["choices"] = [(y, y) for y in self.year_choices()]

    @property
    def form(self):
        form = super().form
        # Bootstrap's classes are set here rather than by a script on the page: the
        # Content-Security-Policy allows no inline script.
        for field in form.fields.values():
            widget = field.widget
            base = "form-select" if isinstance(widget, forms.Select) else "form-control"
            widget.attrs["class"] = f"{base} {base}-sm"
        return form

    def year_choices(self) -> list[str]:
        return self.plan.years if self.plan else []

    def search(self, queryset, name, value):
        query = Q()
        for fieldname in self.search_fields:
            query |= Q(**{f"{fieldname}__icontains": value})
        return queryset.filter(query)


class WorkstreamFilter(PlanScopedFilterSet):
    search_fields = ("name", "description", "lead")

    class Meta:
        model = m.Workstream
        fields = ["q"]


class SavingsLineFilter(PlanScopedFilterSet):
    search_fields = ("reference", "title", "description", "owner", "notes")
    year = df.ChoiceFilter(label="Planned in year", field_name="amounts__year", distinct=True)
    owner = df.CharFilter(lookup_expr="icontains")

    class Meta:
        model = m.SavingsLine
        fields = [
            "q",
            "year",
            "workstream",
            "category",
            "status",
            "rag",
            "owner",
            "in_revenue_budget",
            "counts_towards_target",
        ]


def line_reference_filter():
    """A line chosen by typing its reference: a plan may have thousands of lines, and a
    drop-down of them all would weigh more than the page."""
    return df.CharFilter(
        label="Savings line (reference)", field_name="line__reference", lookup_expr="iexact"
    )


class PlannedAmountFilter(PlanScopedFilterSet):
    line = line_reference_filter()
    search_fields = ("line__reference", "line__title", "notes")
    year = df.ChoiceFilter(label="Financial year")
    workstream = df.ModelChoiceFilter(field_name="line__workstream", queryset=m.Workstream.objects)

    class Meta:
        model = m.PlannedAmount
        fields = ["q", "year", "kind", "workstream", "line"]


class ProgressEntryFilter(PlanScopedFilterSet):
    line = line_reference_filter()
    search_fields = ("line__reference", "line__title", "commentary")
    year = df.ChoiceFilter(label="Financial year")
    workstream = df.ModelChoiceFilter(field_name="line__workstream", queryset=m.Workstream.objects)

    class Meta:
        model = m.ProgressEntry
        fields = ["q", "year", "rag", "basis", "workstream", "line"]


class DatedYearMixin:
    """Years to offer: the plan's own plus any the records hold (forecasts before the plan)."""

    @property
    def form(self):
        form = super().form
        # Bootstrap's classes are set here rather than by a script on the page: the
        # Content-Security-Policy allows no inline script.
        for field in form.fields.values():
            widget = field.widget
            base = "form-select" if isinstance(widget, forms.Select) else "form-control"
            widget.attrs["class"] = f"{base} {base}-sm"
        return form

    def year_choices(self) -> list[str]:
        years = set(super().year_choices())
        if self.plan is not None:
            years |= set(
                self.Meta.model.objects.filter(plan=self.plan)
                .values_list("year", flat=True)
                .distinct()
            )
        return sorted(y for y in years if y)


class OverspendForecastFilter(DatedYearMixin, PlanScopedFilterSet):
    search_fields = ("service_area", "commentary")
    year = df.ChoiceFilter(label="Financial year")
    period = df.ChoiceFilter(
        choices=[(p, f"P{p} {fiscal.MONTH_ABBR[p - 1]}") for p in range(1, 13)]
    )

    class Meta:
        model = m.OverspendForecast
        fields = ["q", "year", "period", "scenario"]


class CostPressureFilter(DatedYearMixin, PlanScopedFilterSet):
    search_fields = ("title", "notes")
    year = df.ChoiceFilter(label="Financial year")

    class Meta:
        model = m.CostPressure
        fields = ["q", "year", "kind"]


class FundingFilter(DatedYearMixin, PlanScopedFilterSet):
    search_fields = ("title", "source", "notes")
    year = df.ChoiceFilter(label="Financial year")

    class Meta:
        model = m.Funding
        fields = ["q", "year", "kind"]


class KPIFilter(PlanScopedFilterSet):
    search_fields = ("name", "code", "definition", "notes")

    class Meta:
        model = m.KPI
        fields = ["q", "unit", "direction"]


class KpiPointFilter(PlanScopedFilterSet):
    search_fields = ("kpi__name", "label", "notes")
    date_from = df.DateFilter(field_name="date", lookup_expr="gte", label="From date")
    date_to = df.DateFilter(field_name="date", lookup_expr="lte", label="To date")

    class Meta:
        model = m.KpiPoint
        fields = ["q", "kpi", "kind", "date_from", "date_to"]


class RiskFilter(PlanScopedFilterSet):
    search_fields = ("reference", "description", "mitigations", "owner")
    owner = df.CharFilter(lookup_expr="icontains")

    class Meta:
        model = m.Risk
        fields = ["q", "status", "owner", "likelihood", "impact"]


class CommentaryFilter(PlanScopedFilterSet):
    search_fields = ("body",)
    year = df.ChoiceFilter(label="Financial year")

    class Meta:
        model = m.Commentary
        fields = ["q", "year", "role"]


class YearAdjustmentFilter(PlanScopedFilterSet):
    class Meta:
        model = m.YearAdjustment
        fields = ["q"]

    search_fields = ("year", "reason")


class NarrativeSectionFilter(PlanScopedFilterSet):
    search_fields = ("heading", "body")

    class Meta:
        model = m.NarrativeSection
        fields = ["q"]


class AuditTrailFilter(df.FilterSet):
    """The plan's audit trail by kind of record, person and date. The same filters apply to
    every history table of the trail (``plans.audit.narrowing``). A value that cannot be read
    (a hand-edited or old link) leaves that filter out, never the others, and is said: the
    form's own errors, worded for an officer, listed by ``problems()``."""

    NOT_A_DATE = "Not a date: write it as year-month-day, e.g. 2017-10-31."
    kind = df.ChoiceFilter(
        label="Record",
        choices=(),
        empty_label="Every kind of record",
        error_messages={
            "invalid_choice": "Not a kind of record in this trail: choose one from the list."
        },
    )
    who = df.ModelChoiceFilter(
        label="Person",
        field_name="history_user",
        queryset=None,
        empty_label="Anyone",
        error_messages={
            "invalid_choice": "Not one of the people who can have changed this plan: choose one "
            "from the list."
        },
    )
    since = df.DateFilter(
        label="From (date)",
        field_name="history_date",
        lookup_expr="date__gte",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": NOT_A_DATE},
    )
    until = df.DateFilter(
        label="To (date)",
        field_name="history_date",
        lookup_expr="date__lte",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": NOT_A_DATE},
    )

    def __init__(self, *args, plan=None, **kwargs):
        from plans.audit import KIND_CHOICES
        from recovery.models import User

        super().__init__(*args, **kwargs)
        self.filters["kind"].extra["choices"] = KIND_CHOICES
        # The people who can have changed the plan: its authority's officers and the
        # administrators.
        self.filters["who"].queryset = User.objects.filter(
            Q(authority_id=plan.authority_id) | Q(is_superuser=True)
        ).order_by("username")
        for f in self.form.fields.values():
            css = "form-select" if isinstance(f.widget, forms.Select) else "form-control"
            f.widget.attrs["class"] = f"{css} form-control-sm"

    def readable(self) -> dict:
        """The filters' values that could be read (every field is cleaned; one that cannot be
        read is left out of ``cleaned_data`` by the form, and reported by ``problems``)."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return self.form.cleaned_data

    def problems(self) -> list[tuple[str, str, str, str]]:
        """(field id, filter label, value given, what is wrong) for each filter whose value
        could not be read; each such field is marked invalid for assistive technology."""
        self.readable()
        out = []
        for name, errors in self.form.errors.items():
            if name not in self.form.fields:
                continue
            bound = self.form[name]
            given = str(self.form.data.get(name, ""))
            bound.field.widget.attrs.update(
                {"aria-invalid": "true", "aria-describedby": f"{bound.auto_id}_error"}
            )
            out.append((bound.auto_id, bound.label, Truncator(given).chars(40), " ".join(errors)))
        return out


class PlacementTypeFilter(PlanScopedFilterSet):
    search_fields = ("name", "code", "stated_text", "assumption", "notes")

    class Meta:
        model = m.PlacementType
        fields = ["q", "kind", "cost_basis"]


class PlacementCountFilter(PlanScopedFilterSet):
    search_fields = ("type__name", "notes")
    year = df.ChoiceFilter(label="Financial year")
    type = df.ModelChoiceFilter(queryset=m.PlacementType.objects.none(), label="Placement type")

    class Meta:
        model = m.PlacementCount
        fields = ["q", "year", "type", "kind"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["type"].queryset = m.PlacementType.objects.filter(plan=self.plan)

    def year_choices(self) -> list[str]:
        """The plan's years and any a count holds (a baseline before the plan)."""
        years = set(super().year_choices())
        if self.plan is not None:
            years |= set(
                m.PlacementCount.objects.filter(type__plan=self.plan)
                .values_list("year", flat=True)
                .distinct()
            )
        return sorted(years)


class PlacementMoveFilter(PlanScopedFilterSet):
    search_fields = ("reference", "notes", "from_type__name", "to_type__name")
    planned_year = df.ChoiceFilter(label="Planned in year")
    made = df.BooleanFilter(
        field_name="actual_period", lookup_expr="isnull", exclude=True, label="Made"
    )

    class Meta:
        model = m.PlacementMove
        fields = ["q", "planned_year", "made"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["planned_year"].extra["choices"] = [(y, y) for y in self.year_choices()]


class PlacementScenarioFilter(PlanScopedFilterSet):
    search_fields = ("name", "description", "notes")

    class Meta:
        model = m.PlacementScenario
        fields = ["q"]
