"""Forms validate input only; writes go through plans.services.

Money fields accept what officers type (``£1.2m``, ``129k``, ``£1,120,000``); planned amounts
also take ranges (``50k-600k``) and ``TBC``. Every edit form carries the record's ``version``
(to refuse lost updates) and a ``change_reason`` that the service requires when money moves.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from plans import models as m
from recovery import fiscal
from recovery.money import Amount, AmountKind, MoneyError, format_amount, parse_amount, parse_money


class MoneyField(forms.CharField):
    """A money input that reads ``£1.2m``, ``129k``, ``£1,120,000``."""

    def __init__(self, *, allow_negative: bool = False, **kwargs):
        self.allow_negative = allow_negative
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal",
                                                          "autocomplete": "off"}))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, Decimal):
            return f"{value:,.2f}".removesuffix(".00")
        return value

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        try:
            return parse_money(value, allow_negative=self.allow_negative)
        except MoneyError as exc:
            raise ValidationError(str(exc).capitalize(), code="money") from exc


class AmountField(forms.CharField):
    """A planned saving: an amount, a range (``50k-600k``) or ``TBC``."""

    def prepare_value(self, value):
        if isinstance(value, Amount):
            return format_amount(value)
        return value

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        try:
            return parse_amount(value)
        except MoneyError as exc:
            raise ValidationError(str(exc).capitalize(), code="money") from exc


class YearField(forms.CharField):
    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return ""
        return fiscal.parse_year(value)


def money_fields(model) -> list[str]:
    """The model's money fields (pounds), as opposed to counts, factors and KPI values."""
    from django.db.models import DecimalField

    return [
        f.name
        for f in model._meta.concrete_fields
        if isinstance(f, DecimalField) and f.name not in {"factor", "tolerance", "value",
                                                           "baseline_value", "driver_volume"}
    ]


class RecordForm(forms.ModelForm):
    """Base for every edit form: version for optimistic locking, a reason for the history,
    money inputs, and uniqueness within the plan checked on the field."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    change_reason = forms.CharField(
        label="Reason for the change",
        required=False,
        max_length=100,
        help_text="Kept in the history. Required when a money figure changes.",
    )
    # Fields that must be unique within the plan, checked here so the message sits on the field.
    unique_in_plan: tuple[str, ...] = ()

    def __init__(self, *args, plan: m.Plan, **kwargs):
        self.plan = plan
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version
        for name in money_fields(self._meta.model):
            if name in self.fields:
                old = self.fields[name]
                allow_negative = name in {"amount"} and self._meta.model is m.CostPressure
                self.fields[name] = MoneyField(
                    label=old.label, required=old.required, help_text=old.help_text,
                    allow_negative=allow_negative,
                )
        for name, field in self.fields.items():
            if isinstance(field, forms.DateField):
                field.widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
            if name == "year" or name.endswith("_year"):
                self.fields[name] = YearField(
                    label=field.label, required=field.required,
                    help_text="Financial year, written like 2017/18.",
                )

    def plan_queryset(self):
        return self._meta.model._default_manager.filter(plan=self.plan)

    def clean(self):
        cleaned = super().clean()
        for name in self.unique_in_plan:
            value = cleaned.get(name)
            if value in (None, ""):
                continue
            clash = self.plan_queryset().filter(**{name: value})
            if self.instance.pk:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                label = self.fields[name].label or name
                self.add_error(name, f"This plan already has a record with {label.lower()} "
                                     f"{value!s}.")
        return cleaned

    def _post_clean(self):
        # Attach the plan before model validation so constraints and clean() can see it.
        if hasattr(self.instance, "plan_id") and not self.instance.plan_id:
            self.instance.plan = self.plan
        super()._post_clean()


class PlanForm(RecordForm):
    class Meta:
        model = m.Plan
        fields = ["title", "code", "kind", "status", "directorate", "first_year", "last_year",
                  "approved_on", "approved_by", "published_on", "revises", "source_document",
                  "summary", "notes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        revisable = m.Plan.objects.filter(authority=self.plan.authority)
        if self.instance.pk:
            revisable = revisable.exclude(pk=self.instance.pk)
        self.fields["revises"].queryset = revisable

    def plan_queryset(self):
        return m.Plan.objects.filter(authority=self.plan.authority)

    unique_in_plan = ("code",)

    def _post_clean(self):
        if not self.instance.authority_id:
            self.instance.authority = self.plan.authority
        super()._post_clean()


class WorkstreamForm(RecordForm):
    unique_in_plan = ("code",)

    class Meta:
        model = m.Workstream
        fields = ["code", "name", "description", "lead", "order"]


class SavingsLineForm(RecordForm):
    """A savings line with its planned amount for each of the plan's years."""

    unique_in_plan = ("reference",)

    class Meta:
        model = m.SavingsLine
        fields = ["reference", "title", "workstream", "description", "actions", "owner",
                  "category", "status", "rag", "original_rag", "in_revenue_budget",
                  "recurrence", "start_period", "counts_towards_target", "order", "notes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["workstream"].queryset = m.Workstream.objects.filter(plan=self.plan)
        existing = {}
        if self.instance.pk:
            from plans.selectors import amount_of

            existing = {a.year: amount_of(a) for a in self.instance.amounts.all()}
        for year in self.plan.years:
            self.fields[self.year_field(year)] = AmountField(
                label=f"Planned saving {year}",
                required=False,
                initial=existing.get(year),
                help_text="An amount (£129k), a range (50k-600k) or TBC. Leave blank for none.",
            )

    @staticmethod
    def year_field(year: str) -> str:
        return "amount_" + year.replace("/", "_")

    def planned_amounts(self) -> dict[str, Amount | None]:
        return {y: self.cleaned_data.get(self.year_field(y)) for y in self.plan.years}


class PlannedAmountForm(RecordForm):
    amount = AmountField(
        label="Planned saving", help_text="An amount (£129k), a range (50k-600k) or TBC."
    )

    class Meta:
        model = m.PlannedAmount
        fields = ["line", "year", "amount", "driver_volume", "driver_unit",
                  "driver_unit_value", "stated_text", "notes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["line"].queryset = m.SavingsLine.objects.filter(plan=self.plan)
        self.order_fields(["line", "year", "amount"])
        if self.instance.pk:
            from plans.selectors import amount_of

            self.fields["amount"].initial = amount_of(self.instance)

    def plan_queryset(self):
        return m.PlannedAmount.objects.filter(line__plan=self.plan)

    def clean(self):
        cleaned = super().clean()
        year, line = cleaned.get("year"), cleaned.get("line")
        if year and year not in self.plan.years:
            self.add_error("year", f"{year} is outside the plan's years "
                                   f"({self.plan.first_year} to {self.plan.last_year}).")
        if year and line:
            clash = m.PlannedAmount.objects.filter(line=line, year=year)
            if self.instance.pk:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error("year", "This line already has a planned amount for that year.")
        amount: Amount | None = cleaned.get("amount")
        if amount is not None:
            self.instance.kind = amount.kind.value
            self.instance.low = amount.low
            self.instance.high = amount.high
        return cleaned


class ProgressEntryForm(RecordForm):
    class Meta:
        model = m.ProgressEntry
        fields = ["line", "as_at", "achieved_to_date", "basis", "forecast", "rag", "commentary"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["line"].queryset = m.SavingsLine.objects.filter(plan=self.plan)

    def clean(self):
        cleaned = super().clean()
        as_at = cleaned.get("as_at")
        if as_at and not (fiscal.year_start(self.plan.first_year) <= as_at
                          <= fiscal.year_end(self.plan.last_year)):
            self.add_error("as_at", f"{as_at:%d %B %Y} is outside the plan's years "
                                    f"({self.plan.first_year} to {self.plan.last_year}).")
        line = cleaned.get("line")
        if as_at and line:
            clash = m.ProgressEntry.objects.filter(line=line, as_at=as_at)
            if self.instance.pk:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error("as_at", "This line already has progress recorded at that date.")
        return cleaned


class OverspendForecastForm(RecordForm):
    class Meta:
        model = m.OverspendForecast
        fields = ["year", "period", "service_area", "scenario", "budget", "forecast_outturn",
                  "overspend", "overspend_high", "commentary"]

    def clean(self):
        cleaned = super().clean()
        budget, outturn = cleaned.get("budget"), cleaned.get("forecast_outturn")
        if (budget is None) != (outturn is None):
            self.add_error("forecast_outturn" if outturn is None else "budget",
                           "Give both the budget and the forecast outturn, or neither.")
        elif budget is None and cleaned.get("overspend") is None and not self.errors:
            self.add_error("budget", "Give the budget and forecast outturn, or the stated "
                                     "overspend.")
        low, high = cleaned.get("overspend"), cleaned.get("overspend_high")
        if low is not None and high is not None and low > high:
            self.add_error("overspend_high", "The high end must not be below the low end.")
        return cleaned

    def validate_unique(self):
        # The plan is not a form field, so check the month/scenario/area clash by hand.
        super().validate_unique()
        data = self.cleaned_data
        if all(k in data for k in ("year", "period", "scenario")):
            clash = self.plan_queryset().filter(
                year=data["year"], period=data["period"], scenario=data["scenario"],
                service_area=data.get("service_area", ""),
            )
            if self.instance.pk:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error("period", "There is already a forecast for that month, scenario "
                                         "and service area.")


class CostPressureForm(RecordForm):
    class Meta:
        model = m.CostPressure
        fields = ["title", "kind", "year", "period", "amount", "line", "notes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["line"].queryset = m.SavingsLine.objects.filter(plan=self.plan)

    def validate_unique(self):
        super().validate_unique()
        data = self.cleaned_data
        if all(data.get(k) for k in ("year", "period", "title")):
            clash = self.plan_queryset().filter(year=data["year"], period=data["period"],
                                                title=data["title"])
            if self.instance.pk:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error("period", "That pressure is already recorded for that month.")


class FundingForm(RecordForm):
    unique_in_plan = ("title",)

    class Meta:
        model = m.Funding
        fields = ["title", "kind", "year", "amount", "source", "notes"]


class KPIForm(RecordForm):
    unique_in_plan = ("code",)

    class Meta:
        model = m.KPI
        fields = ["code", "name", "unit", "direction", "per_child_population", "baseline_value",
                  "baseline_date", "tolerance", "definition", "notes", "order"]


class KpiPointForm(RecordForm):
    class Meta:
        model = m.KpiPoint
        fields = ["kpi", "kind", "date", "value", "label", "notes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kpi"].queryset = m.KPI.objects.filter(plan=self.plan)

    def clean(self):
        cleaned = super().clean()
        kpi, kind, date = cleaned.get("kpi"), cleaned.get("kind"), cleaned.get("date")
        if kpi and kind and date:
            clash = m.KpiPoint.objects.filter(kpi=kpi, kind=kind, date=date,
                                              label=cleaned.get("label", ""))
            if self.instance.pk:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error("date", "This KPI already has that kind of value at that date.")
        return cleaned


class RiskForm(RecordForm):
    unique_in_plan = ("reference",)

    class Meta:
        model = m.Risk
        fields = ["reference", "description", "mitigations", "likelihood", "impact", "owner",
                  "status", "notes"]


class CommentaryForm(RecordForm):
    class Meta:
        model = m.Commentary
        fields = ["year", "period", "role", "body"]

    def validate_unique(self):
        super().validate_unique()
        data = self.cleaned_data
        if all(data.get(k) for k in ("year", "period", "role")):
            clash = self.plan_queryset().filter(year=data["year"], period=data["period"],
                                                role=data["role"])
            if self.instance.pk:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error("period", "There is already commentary of that kind for that "
                                         "month; edit it instead.")


class YearAdjustmentForm(RecordForm):
    class Meta:
        model = m.YearAdjustment
        fields = ["year", "factor", "reason"]


class NarrativeSectionForm(RecordForm):
    unique_in_plan = ("order",)

    class Meta:
        model = m.NarrativeSection
        fields = ["order", "heading", "body"]


AMOUNT_KIND = {AmountKind.POINT: "point", AmountKind.RANGE: "range", AmountKind.TBC: "tbc"}
