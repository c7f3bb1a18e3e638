"""Forms validate input only; writes go through plans.services.

Money fields accept what officers type (``£1.2m``, ``129k``, ``£1,120,000``); planned amounts
also take ranges (``50k-600k``) and ``TBC``. Every edit form carries the record's ``version``
(to refuse lost updates) and a ``change_reason`` that the service requires when money moves.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import UniqueConstraint
from django.utils.text import capfirst

from plans import models as m
from plans.rules import one_line, same_key, without_controls, year_problem
from recovery import fiscal
from recovery.money import Amount, AmountKind, MoneyError, format_amount, parse_amount, parse_money

_GROUPED = re.compile(r"-?\d{1,3}(,\d{3})+(\.\d+)?")


class KpiValueField(forms.DecimalField):
    """A KPI value as officers type it: ``55%``, ``1,234``, ``12.5``; shown as typed (``275``,
    never ``275.00``)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 12)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal"}))
        super().__init__(**kwargs)

    def to_python(self, value):
        if isinstance(value, str) and value.strip():
            typed = value.strip().removesuffix("%").strip()
            if _GROUPED.fullmatch(typed):  # 1,234.5: thousands grouped as written
                typed = typed.replace(",", "")
            if not typed:  # "%" alone: no figure, never a cleared box
                raise ValidationError("Enter a number, like 55 or 55%.", code="invalid")
            value = typed
        return super().to_python(value)

    def prepare_value(self, value):
        if isinstance(value, Decimal):
            return f"{value.normalize():f}"
        return value


class MoneyField(forms.CharField):
    """A money input that reads ``£1.2m``, ``129k``, ``£1,120,000``."""

    def __init__(self, *, allow_negative: bool = False, **kwargs):
        self.allow_negative = allow_negative
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
        )
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
            raise ValidationError(capfirst(str(exc)), code="money") from exc


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
            raise ValidationError(capfirst(str(exc)), code="money") from exc


class YearField(forms.CharField):
    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return ""
        return fiscal.parse_year(value)


def money_fields(model) -> list[str]:
    """The model's money fields (``plans.models.MoneyField``), as opposed to counts, factors,
    rates and KPI values."""
    return [f.name for f in model._meta.concrete_fields if m.is_money(f)]


class CellText(forms.CharField):
    """Text as a spreadsheet cell holds it (``rules.without_controls``): every free-text box
    takes it so, and a plan's own export imports unchanged."""

    def to_python(self, value):
        value = super().to_python(value)
        return without_controls(value) if isinstance(value, str) else value


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
    # The parent fields a record's uniqueness is scoped by; the plan itself is always known.
    SCOPE_FIELDS = {"plan", "authority"}
    # Where a clash's message goes when the constraint names one of these; else on its last
    # field (a reference, a code, a title).
    MESSAGE_FIELDS = ("period", "date", "as_at")
    # Year or date fields that must fall within the plan's years (strict), or near them
    # (context: forecasts and funding may predate the plan). Shared with the workbook import.
    context_years: tuple[str, ...] = ()

    @property
    def strict_years(self) -> tuple[str, ...]:
        return getattr(self._meta.model, "STRICT_YEARS", ())

    def __init__(self, *args, plan: m.Plan, **kwargs):
        self.plan = plan
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version
        for name in money_fields(self._meta.model):
            if name in self.fields:
                old = self.fields[name]
                allow_negative = self._meta.model._meta.get_field(name).signed
                self.fields[name] = MoneyField(
                    label=old.label,
                    required=old.required,
                    help_text=old.help_text,
                    allow_negative=allow_negative,
                )
        for name, field in self.fields.items():
            if name == "kpi":  # named after its model ("Kpi")
                field.label = "KPI"
            if isinstance(field, forms.DateField):
                field.widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
            if name == "year" or name.endswith("_year"):
                self.fields[name] = YearField(
                    label=field.label,
                    required=field.required,
                    help_text="Financial year, written like 2017/18.",
                )

    def unique_checks(self) -> list[tuple[tuple[str, ...], str, str]]:
        """(fields, field the message goes on, message) for each unique constraint of the
        model, derived from the model so the rule is written once (the database enforces it
        too). Checked here so the message sits on the field the officer can change."""
        checks = []
        for constraint in self._meta.model._meta.constraints:
            if not isinstance(constraint, UniqueConstraint) or constraint.condition is not None:
                continue
            fields = tuple(f for f in constraint.fields if f not in self.SCOPE_FIELDS)
            if not fields or not all(f in self.fields for f in fields):
                continue
            target = next((f for f in self.MESSAGE_FIELDS if f in fields), fields[-1])
            checks.append((fields, target, str(constraint.violation_error_message)))
        return checks

    def plan_queryset(self):
        model = self._meta.model
        return model._default_manager.filter(**{m.plan_path(model): self.plan})

    def clean(self):
        cleaned = super().clean()
        keys = {name for fields, _, _ in self.unique_checks() for name in fields}
        for name, field in self.fields.items():  # text: as the workbook reads it
            if isinstance(field, forms.CharField) and isinstance(cleaned.get(name), str):
                cleaned[name] = without_controls(cleaned[name])
            short = isinstance(field, forms.CharField) and not isinstance(
                field.widget, forms.Textarea
            )
            if short and isinstance(cleaned.get(name), str):
                # A value that names the record is read as a workbook key.
                cleaned[name], problem = one_line(cleaned[name], key=name in keys)
                # Only what the officer typed: a value already saved stays savable.
                problem = name in self.changed_data and problem
                if problem and name not in self.errors:
                    self.add_error(name, problem)
        for names, strict in ((self.strict_years, True), (self.context_years, False)):
            for name in names:
                problem = year_problem(self.plan, cleaned.get(name), strict=strict)
                if problem and name not in self.errors:
                    self.add_error(name, problem)
        for fields, target, message in self.unique_checks():
            values = {name: cleaned.get(name, "") for name in fields}
            if any(
                v is None or (v == "" and name != "service_area" and name != "label")
                for name, v in values.items()
            ):
                continue
            clash = self.plan_queryset().filter(**same_key(values))
            if self.instance.pk:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists() and target not in self.errors:
                self.add_error(target, message.format(**values))
        return cleaned

    def _post_clean(self):
        # Attach the plan before model validation so constraints and clean() can see it.
        if hasattr(self.instance, "plan_id") and not self.instance.plan_id:
            self.instance.plan = self.plan
        super()._post_clean()


class KeepsPlanYears:
    """A plan form whose years may not strand the plan's amounts or progress
    (``Plan.stranded_problem``): the plan's page and the admin's."""

    def clean(self):
        cleaned = super().clean()
        first, last = cleaned.get("first_year"), cleaned.get("last_year")
        stranded = (
            first and last and not self.errors and self.instance.stranded_problem(first, last)
        )
        if stranded:
            self.add_error(*stranded)
        return cleaned


class PlanForm(KeepsPlanYears, RecordForm):
    class Meta:
        model = m.Plan
        fields = [
            "title",
            "code",
            "kind",
            "status",
            "directorate",
            "first_year",
            "last_year",
            "approved_on",
            "approved_by",
            "published_on",
            "revises",
            "source_document",
            "summary",
            "notes",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        revisable = m.Plan.objects.filter(authority=self.plan.authority)
        if self.instance.pk:
            revisable = revisable.exclude(pk=self.instance.pk)
        self.fields["revises"].queryset = revisable

    def plan_queryset(self):
        return m.Plan.objects.filter(authority=self.plan.authority)

    def _post_clean(self):
        if not self.instance.authority_id:
            self.instance.authority = self.plan.authority
        super()._post_clean()


class WorkstreamForm(RecordForm):
    class Meta:
        model = m.Workstream
        fields = ["code", "name", "description", "lead", "order"]


class SavingsLineForm(RecordForm):
    """A savings line with its planned amount for each of the plan's years."""

    class Meta:
        model = m.SavingsLine
        fields = [
            "reference",
            "title",
            "workstream",
            "description",
            "actions",
            "owner",
            "category",
            "status",
            "rag",
            "original_rag",
            "in_revenue_budget",
            "recurrence",
            "start_period",
            "counts_towards_target",
            "order",
            "notes",
        ]

    # The versions of the planned amounts the officer saw ("2017/18:3,2018/19:1"), so that a
    # colleague's change to an amount is not overwritten from this form.
    amount_versions = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["workstream"].queryset = m.Workstream.objects.filter(plan=self.plan)
        existing = {}
        if self.instance.pk:
            from plans.selectors import amount_of

            amounts = list(self.instance.amounts.all())
            existing = {a.year: amount_of(a) for a in amounts}
            self.fields["amount_versions"].initial = ",".join(
                f"{a.year}:{a.version}" for a in amounts
            )
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

    def clean_amount_versions(self) -> dict[str, int]:
        seen = {}
        for part in filter(None, self.cleaned_data.get("amount_versions", "").split(",")):
            year, _, version = part.partition(":")
            if version.isdigit():
                seen[year] = int(version)
        return seen


class PlannedAmountForm(RecordForm):
    amount = AmountField(
        label="Planned saving", help_text="An amount (£129k), a range (50k-600k) or TBC."
    )

    class Meta:
        model = m.PlannedAmount
        fields = [
            "line",
            "year",
            "amount",
            "driver_volume",
            "driver_unit",
            "driver_unit_value",
            "stated_text",
            "notes",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["line"].queryset = m.SavingsLine.objects.filter(plan=self.plan)
        self.order_fields(["line", "year", "amount"])
        if self.instance.pk:
            from plans.selectors import amount_of

            self.fields["amount"].initial = amount_of(self.instance)

    def clean(self):
        cleaned = super().clean()
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


class OverspendForecastForm(RecordForm):
    context_years = ("year",)

    class Meta:
        model = m.OverspendForecast
        fields = [
            "year",
            "period",
            "service_area",
            "scenario",
            "budget",
            "forecast_outturn",
            "overspend",
            "overspend_high",
            "commentary",
            "month_assumed",
        ]

    def clean(self):
        cleaned = super().clean()
        budget, outturn = cleaned.get("budget"), cleaned.get("forecast_outturn")
        if (budget is None) != (outturn is None):
            self.add_error(
                "forecast_outturn" if outturn is None else "budget",
                "Give both the budget and the forecast outturn, or neither.",
            )
        elif budget is None and cleaned.get("overspend") is None and not self.errors:
            self.add_error(
                "budget", "Give the budget and forecast outturn, or the stated overspend."
            )
        low, high = cleaned.get("overspend"), cleaned.get("overspend_high")
        if low is not None and high is not None and low > high:
            self.add_error("overspend_high", "The high end must not be below the low end.")
        return cleaned


class CostPressureForm(RecordForm):
    context_years = ("year",)

    class Meta:
        model = m.CostPressure
        fields = ["title", "kind", "year", "period", "amount", "projected", "line", "notes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["line"].queryset = m.SavingsLine.objects.filter(plan=self.plan)


class FundingForm(RecordForm):
    context_years = ("year",)

    class Meta:
        model = m.Funding
        fields = ["title", "kind", "year", "amount", "source", "notes"]


class KPIForm(RecordForm):
    class Meta:
        model = m.KPI
        fields = [
            "code",
            "name",
            "unit",
            "direction",
            "per_child_population",
            "open_range",
            "source",
            "baseline_value",
            "baseline_date",
            "tolerance",
            "definition",
            "notes",
            "order",
        ]


class KpiPointForm(RecordForm):
    context_years = ("date",)

    class Meta:
        model = m.KpiPoint
        fields = ["kpi", "kind", "date", "undated", "value", "label", "notes"]
        field_classes = {"value": KpiValueField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kpi"].queryset = m.KPI.objects.filter(plan=self.plan)


class RiskForm(RecordForm):
    class Meta:
        model = m.Risk
        fields = [
            "reference",
            "description",
            "mitigations",
            "likelihood",
            "impact",
            "owner",
            "status",
            "notes",
        ]


class CommentaryForm(RecordForm):
    context_years = ("year",)

    class Meta:
        model = m.Commentary
        fields = ["year", "period", "role", "body"]


class YearAdjustmentForm(RecordForm):
    class Meta:
        model = m.YearAdjustment
        fields = ["year", "factor", "reason"]


class NarrativeSectionForm(RecordForm):
    class Meta:
        model = m.NarrativeSection
        fields = ["order", "heading", "body"]


AMOUNT_KIND = {AmountKind.POINT: "point", AmountKind.RANGE: "range", AmountKind.TBC: "tbc"}


# Placements: counts and moves of children, never a name or identifier.


class PlacementTypeForm(RecordForm):
    class Meta:
        model = m.PlacementType
        fields = [
            "code",
            "name",
            "kind",
            "unit_cost",
            "cost_basis",
            "stated_text",
            "assumption",
            "notes",
            "order",
        ]


class PlacementCountForm(RecordForm):
    context_years = ("year",)

    class Meta:
        model = m.PlacementCount
        fields = ["type", "year", "period", "kind", "count", "assumed", "notes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type"].queryset = m.PlacementType.objects.filter(plan=self.plan)


class PlacementMoveForm(RecordForm):
    class Meta:
        model = m.PlacementMove
        fields = [
            "reference",
            "from_type",
            "to_type",
            "number",
            "planned_year",
            "planned_period",
            "month_assumed",
            "actual_year",
            "actual_period",
            "line",
            "notes",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        types = m.PlacementType.objects.filter(plan=self.plan)
        self.fields["from_type"].queryset = types
        self.fields["to_type"].queryset = types
        self.fields["to_type"].empty_label = "Out of care"
        self.fields["line"].queryset = m.SavingsLine.objects.filter(plan=self.plan)

    def clean(self):
        cleaned = super().clean()
        year, period = cleaned.get("actual_year"), cleaned.get("actual_period")
        if bool(year) != (period is not None) and "actual_period" not in self.errors:
            self.add_error(
                "actual_period", "Give both the year and the month the move happened, or neither."
            )
        return cleaned


class PlacementScenarioForm(RecordForm):
    class Meta:
        model = m.PlacementScenario
        fields = [
            "name",
            "description",
            "unit_cost_change",
            "placement_type",
            "count_change",
            "count_change_from",
            "move_delay_months",
            "moves_delayed",
            "notes",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["placement_type"].queryset = m.PlacementType.objects.filter(plan=self.plan)
        self.fields["placement_type"].empty_label = "Every type"
        self.fields["count_change_from"] = YearField(
            label="Count change from year",
            required=False,
            help_text="Financial year, written like 2018/19.",
        )
