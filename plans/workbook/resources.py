"""The plan workbook's sheets: one django-import-export resource per sheet.

Each resource declares its columns in workbook order with the header and help an officer
reads; what a column accepts, whether it is required and each sheet's key come from the
model (see ``columns``). One declaration serves the import, the export, the blank template,
the About sheet and docs/workbook-template.md. Headers are matched case-insensitively,
ignoring spaces and punctuation, so "Start period" and "start-period" are the same column.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from types import SimpleNamespace

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.text import slugify

from plans import models as m
from plans import services
from plans.figures.plan import natural_key
from plans.selectors import amount_of
from plans.workbook import cells
from plans.workbook.columns import (  # noqa: F401 - the vocabulary of the workbook package
    ACCEPTS,
    BOOL,
    CHOICE,
    CREATE,
    DATE,
    DELETE,
    INT,
    LONG,
    MONEY,
    MONEY_KINDS,
    NUMBER,
    PERIOD,
    REF,
    SAME,
    SHARE,
    SIGNED_MONEY,
    SLUG,
    TEXT,
    UNREAD,
    UPDATE,
    VOLUME,
    YEAR,
    Column,
    FieldChange,
    RecordChange,
    SheetResource,
    choice_label,
    header_key,
    show,
)
from recovery import fiscal

C = Column
PLAN_SHEET, LINES_SHEET, ABOUT_SHEET, SUMMARY_SHEET = "Plan", "Savings lines", "About", "Summary"
WORKSTREAMS_SHEET = "Workstreams"
AMOUNTS = "Planned amounts"  # the records behind the Savings lines sheet's year columns


class PlanResource(SheetResource):
    authority = C(
        "Authority",
        kind=REF,
        max_length=200,
        help="The council: its short name (slug, e.g. torbay) or full name. It must already "
        "exist in the tracker.",
    )
    code = C("Plan code", help="Short unique name for the plan within the authority.")
    title = C("Title", help="The plan's title as the paper gives it.")
    kind = C("Kind", help="What sort of document the plan is.")
    directorate = C("Directorate", help="e.g. Children's Services.")
    first_year = C("First year", help="First financial year the plan covers.")
    last_year = C(
        "Last year",
        help="Last financial year the plan covers (the same as the first for one year).",
    )
    status = C("Status", help="Draft if left blank.")
    approved_on = C("Approved on", help="Date the plan was approved.")
    approved_by = C("Approved by", help="Who approved it, e.g. Cabinet.")
    published_on = C("Published on", help="Date of the paper or of this revision.")
    amount_basis = C(
        "Planned amounts are",
        help="Full-year values unless the plan's amounts are what the year itself should "
        "yield (an in-year recovery target).",
    )
    savings_start = C(
        "Savings expected from",
        help="Where the paper says when savings start (e.g. Feb 2012): nothing is expected "
        "before that month.",
    )
    savings_start_assumed = C(
        "Savings start assumed",
        help="Y when the paper gives no month and the start above was taken from what it says.",
    )
    revises = C(
        "Revises (plan code)",
        max_length=60,
        aliases=("revises",),
        help="Code of the earlier plan of the same authority that this one revises.",
    )
    source_document = C("Source document", help="The paper the plan was taken from.")
    summary = C("Summary", help="A paragraph summarising the plan.")
    notes = C("Notes", help="Anything else worth keeping.")

    class Meta:
        model, name, sheet_required, freeze = m.Plan, PLAN_SHEET, True, "A2"
        help = (
            "One row per field: the field's name in column A, its value in column B. Column C "
            "explains the field and is not read."
        )

    @classmethod
    def export_rows_of(cls, plan) -> dict:
        """The Plan sheet's field -> value for ``plan``."""
        return cls().export_rows(plan)[0]

    def export_rows(self, plan) -> list[dict]:
        names = [c.export_name for c in self.columns]
        dataset = self.export(m.Plan.objects.filter(pk=plan.pk).values(*names))
        return [dict(zip([c.field for c in self.columns], row, strict=True)) for row in dataset]


class WorkstreamResource(SheetResource):
    code = C("Code", required=False, help="Short name, e.g. placements. Made from the name.")
    name = C("Name", width=40, help="The theme or objective; savings lines name it in Workstream.")
    description = C("Description", width=50)
    lead = C("Lead", width=30, help="Who leads the workstream.")
    order = C("Order", width=8, help="Position in lists; the row's position when blank.")

    class Meta:
        model, name = m.Workstream, WORKSTREAMS_SHEET
        help = (
            "The themes or objectives that group savings lines. Optional: a workstream named on "
            "the Savings lines sheet and not listed here is created from its name."
        )

    def default_key(self, name, value, row):
        if name == "code" and value is None:
            try:
                named = self.fields["name"].clean(row)
            except ValueError:
                return None
            return (slugify(named or "")[:60].strip("-") or None) if named else None
        return super().default_key(name, value, row)


class SavingsLineResource(SheetResource):
    reference = C(
        "Reference",
        aliases=("ref",),
        help="The line's reference, unique in the plan, e.g. CHS/SAV/34. Lines are matched "
        "by reference when importing into an existing plan.",
    )
    workstream = C(
        "Workstream",
        max_length=300,
        width=24,
        help="Code or name of the line's workstream; a new name creates a workstream.",
    )
    title = C("Title", width=40, help="What the saving is.")
    description = C("Description", width=40)
    actions = C("Actions", width=40, help="How it will be delivered.")
    owner = C("Owner", width=24, help="Who is responsible.")
    category = C("Category", help="Other if left blank.")
    status = C("Status", help="Proposed if left blank.")
    rag = C(
        "Current RAG",
        aliases=("rag",),
        help="Delivery confidence now (B, G, A or R are read too); blank for not rated. A line "
        "whose progress the workbook changes takes its latest rated progress's RAG, as on the "
        "month-end page.",
    )
    original_rag = C("Original RAG", help="Delivery confidence at budget setting.")
    in_revenue_budget = C(
        "In revenue budget",
        width=10,
        help="Y when the saving is in the base revenue budget (* in the papers).",
    )
    recurrence = C("Recurring or one-off", aliases=("recurrence",), help="Recurring if blank.")
    start_period = C("Start period", width=10, help="Month the saving starts: 1 (April) to 12.")
    counts_towards_target = C(
        "Counts towards target",
        width=10,
        help="N for savings the paper reports outside its target (Y if left blank).",
    )
    order = C("Order", width=8, help="Position in lists; the row's position when blank.")
    notes = C("Notes", width=40, help="Discrepancies between papers and other notes.")

    class Meta:
        model, name, sheet_required, freeze = m.SavingsLine, LINES_SHEET, True, "C2"
        help = (
            "One row per savings line. After the columns below come the year columns, one per "
            "financial year, headed like 2017/18; each cell holds the line's planned saving that "
            "year: an amount (129000, £129,000, 129k, £1.2m), a range (50k-600k) or TBC. A blank "
            "cell means no planned saving that year; importing into an existing plan, it leaves "
            "an amount already recorded as it is, and (clear) removes it. A year column left out "
            "of the sheet leaves that year's amounts as they are."
        )

    # The year columns: ``years`` maps each column's year to whether it is headed in £k; each
    # cell is the line's planned amount that year (blank: none, or in an update the one
    # recorded left as it is; (clear) removes it).

    def __init__(self, *, years=None, **kwargs):
        super().__init__(**kwargs)
        self.years = years or {}
        self.new_workstreams: list[m.Workstream] = []
        # Each line with the amounts its row gives by year, and the row (the preview names it).
        self.amounts: list[tuple[m.SavingsLine, dict, int]] = []
        self.planned = {}
        self.plan_years = set(self.plan.years) if self.plan else set()
        if self.years and not self.new_plan:
            for pa in m.PlannedAmount.objects.filter(line__plan=self.plan, year__in=self.years):
                self.planned[(pa.line_id, pa.year)] = pa

    def import_instance(self, instance, row, **kwargs):
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.error_dict
        # A totals or help row is not a new line; a row matching a line the plan holds is that
        # line, whatever it is called (the plan's own export, re-imported).
        for name in ("reference", "title") if instance.pk is None else ():
            said = self.not_a_line(getattr(instance, name, ""))
            if said and name not in errors:
                errors[name] = [ValidationError(said)]
                break
        wanted = {}
        for year, thousands in self.years.items():
            value = row.get(year)
            if isinstance(value, cells.Formatted):  # a cell shown in £k (or as a percentage)
                if value.percent:
                    errors[year] = [ValidationError(cells.PERCENT_MONEY)]
                    continue
                value, thousands = value.value, thousands or value.thousands
            try:
                if isinstance(value, str):  # "95_x000D_": decoded before it is scaled
                    value = cells.unescape(value)
                if cells.is_clear(value):
                    wanted[year] = cells.CLEAR
                    continue
                if cells.is_blank(value):
                    amount = None
                else:
                    amount = cells.amount(cells.in_thousands(value) if thousands else value)
            except ValueError as exc:
                errors[year] = [ValidationError(str(exc))]
                continue
            if amount is not None and year not in self.plan_years:
                errors[year] = [
                    ValidationError(
                        f"The plan runs {self.plan.first_year} to {self.plan.last_year}, so it "
                        f"has no {year}: move the amount to a year of the plan, or change the "
                        "plan's first or last year."
                    )
                ]
            if amount is not None or instance.pk is None:
                wanted[year] = amount  # a blank cell in an update leaves that year as it is
        if errors:
            raise ValidationError(errors)
        self.amounts.append((instance, wanted, self.rows[kwargs["row_number"] - 1]))

    TOTAL = re.compile(r"\s*(grand\s+|sub[\s-]?)?totals?(\s+savings?)?\s*:?\s*", re.IGNORECASE)
    # "e.g. SAV/01", "e.g.SAV/01", "e.g., ...", "Eg: ...", "For example", "Example -": not
    # "EG.1", a reference.
    EXAMPLE = re.compile(
        r"\s*(e\.\s?g\.|e\.\s?g(?=[\s,:;]|$)|eg[.:](?!\d)|for example\b|example\s*([:\-–]|$))",
        re.IGNORECASE,
    )

    @classmethod
    def not_a_line(cls, text) -> str:
        """Why a row whose reference or title is ``text`` is no savings line ("" if it may be
        one): a totals row (the tracker adds the lines up itself) or a help row."""
        if not isinstance(text, str):
            return ""
        if cls.TOTAL.fullmatch(text):
            return (
                f"{text.strip()!r} looks like a totals row, not a savings line: the tracker adds "
                "the lines up itself. Delete the row; to compare with the paper's total, put "
                "it on the Stated totals sheet."
            )
        if cls.EXAMPLE.match(text):
            return (
                f"{text.strip()!r} looks like an example or a note, not a savings line: delete "
                "the row."
            )
        return ""

    def after_import(self, dataset, result, **kwargs):
        for workstream in self.new_workstreams:
            workstream.plan = self.plan
        services.create_many(
            m.Workstream, self.new_workstreams, user=self.user, reason=self.reason, plan=self.plan
        )
        super().after_import(dataset, result, **kwargs)
        if result.has_validation_errors() or result.has_errors():
            # Nothing is saved; the amounts the sheet gives are not missing for the Amount
            # details sheet, which would otherwise say so of each of their rows.
            self.refs[UNSAVED] = {
                (line.reference.lower(), year)
                for line, wanted, _row in self.amounts
                for year, amount in wanted.items()
                if amount is not None and amount is not cells.CLEAR
            }
            return
        create, update = [], []
        for line, wanted, row in self.amounts:
            for year, amount in wanted.items():
                old = self.planned.get((line.pk, year))
                label = f"{line.reference} {year}"
                if amount is cells.CLEAR or amount is None:
                    if old is None:
                        continue
                    # Its detail goes with it: the Amount details sheet says so of its row.
                    self.refs.setdefault(CLEARED, set()).add((line.reference.lower(), year))
                    services.delete_record(
                        instance=old,
                        user=self.user,
                        expected_version=old.version,
                        reason=self.reason,
                    )
                    change = FieldChange("Planned saving", show(amount_of(old)), "(none)")
                    self.noted.append(RecordChange(AMOUNTS, DELETE, label, row, [change]))
                elif old is None:
                    kind, low, high = str(amount.kind), amount.low, amount.high
                    create.append(
                        {"line_id": line.pk, "year": year, "kind": kind, "low": low, "high": high}
                    )
                    self.noted.append(
                        RecordChange(AMOUNTS, CREATE, f"{label}: {show(amount)}", row)
                    )
                elif amount_of(old) != amount:
                    change = FieldChange("Planned saving", show(amount_of(old)), show(amount))
                    old.kind, old.low, old.high = str(amount.kind), amount.low, amount.high
                    update.append(old)
                    self.noted.append(RecordChange(AMOUNTS, UPDATE, label, row, [change]))
                else:
                    self.noted.append(RecordChange(AMOUNTS, SAME, label, row))
        services.create_many(
            m.PlannedAmount, create, user=self.user, reason=self.reason, plan=self.plan
        )
        services.update_many(m.PlannedAmount, update, user=self.user, reason=self.reason)

    def export_rows(self, plan) -> list[dict]:
        """Lines name their workstream (its code where two share a name) and carry their
        planned amounts for the year columns."""
        workstreams = list(m.Workstream.objects.filter(plan=plan).values_list("code", "name"))
        names = Counter(name.lower() for _, name in workstreams)
        shown = {code: name if names[name.lower()] == 1 else code for code, name in workstreams}
        amounts = defaultdict(dict)
        for pa in (
            m.PlannedAmount.objects.filter(line__plan=plan)
            .select_related(None)
            .only("kind", "low", "high", "year", "line__reference")
            .values("line__reference", "year", "kind", "low", "high")
        ):
            amounts[pa["line__reference"]][pa["year"]] = amount_of(SimpleNamespace(**pa))
        rows = super().export_rows(plan)
        for row in rows:
            row["workstream"] = shown.get(row["workstream"])
            row["amounts"] = amounts[row["reference"]]
        return rows

    def resolve(self, col, text):
        if col.field != "workstream":
            return super().resolve(col, text)
        known = self.refs["workstream"]
        found = self.known("workstream", text) or known.get(slugify(text)[:60].lower())
        if found is None:  # a new name creates a workstream
            base = slugify(text)[:55].strip("-") or "workstream"
            code, n = base, 1
            while code.lower() in known:
                n += 1
                code = f"{base}-{n}"
            if not self.new_workstreams:  # counted once: each name is found under two keys
                self.workstream_order = len({id(w) for w in known.values()})
            self.workstream_order += 1
            found = m.Workstream(code=code, name=text[:300], order=self.workstream_order, version=1)
            self.new_workstreams.append(found)
            known[text.lower()] = known[code.lower()] = found
            label = f"{code} {text} (named on the Savings lines sheet)"
            self.noted.append(
                RecordChange(WORKSTREAMS_SHEET, CREATE, label, self.rows[self.number - 1])
            )
        return found


CLEARED = "cleared amounts"  # refs: (line reference, year) of amounts an import clears
UNSAVED = "unsaved amounts"  # refs: (line reference, year) of amounts a wrong sheet gave


class AmountDetailResource(SheetResource):
    line = C("Reference", max_length=40, aliases=("ref",), help="Reference of the line.")
    year = C("Year", width=10, help="The financial year; the line must have an amount then.")
    driver_volume = C("Driver volume", kind=VOLUME, help="e.g. 2 (placements).")
    driver_unit = C("Driver unit", width=24, help="e.g. placements.")
    driver_unit_value = C("Driver unit value", help="Value per unit, e.g. £126,705.")
    stated_text = C("As printed", width=20, help="The figure as the paper printed it.")
    notes = C("Notes", width=40)

    class Meta:
        model, name = m.PlannedAmount, "Amount details"
        help = (
            "Optional detail behind a planned amount: its driver (volume x unit value) and the "
            "figure as the paper printed it."
        )

    export_ordering = ("line__reference", "year")

    def export_queryset(self, queryset):
        """Only amounts with some detail: the amount itself is in its line's year column."""
        detail = Q()
        for col in self.columns:
            if col.field not in self.key:
                blank = "" if col.blank() == "" else None
                detail |= (
                    ~Q(**{col.field: ""}) if blank == "" else Q(**{f"{col.field}__isnull": False})
                )
        return queryset.filter(detail)

    def import_instance(self, instance, row, **kwargs):
        if instance.pk is None:  # detail only: the amount itself is on the Savings lines sheet
            read, errors = {}, {}
            for name in self.key:  # the line's reference and the year, said on their cells
                col = self.fields[name]
                try:
                    read[name] = self.cell(col, row)
                    if read[name] is None:
                        errors[name] = f"{col.header} is required."
                    elif col.kind == REF:
                        self.resolve(col, read[name])  # says so if there is no such line
                except ValueError as exc:
                    errors[name] = str(exc)
            given = (str(read.get("line")).lower(), read.get("year"))
            unread = "line" in self.refs.get(UNREAD, ())
            if not errors and (unread or given in self.refs.get(UNSAVED, ())):
                errors["year"] = cells.REPORTED  # its sheet's own problems are said
            elif not errors and given in self.refs.get(CLEARED, ()):
                errors["year"] = (
                    f"The {read['year']} amount of {read['line']} is cleared on the Savings lines "
                    "sheet, and its detail with it: delete this row too, or keep the amount."
                )
            elif not errors:
                errors["year"] = (
                    f"The savings line {read['line']} has no planned amount in {read['year']} "
                    "to add detail to. Give the amount in its year column on the Savings lines "
                    "sheet."
                )
            raise ValidationError(errors)
        super().import_instance(instance, row, **kwargs)

    def after_import(self, dataset, result, **kwargs):
        super().after_import(dataset, result, **kwargs)
        if self.new_plan:  # a new plan's amounts are created with their detail, not changed
            for rc in self.noted:
                if rc.action == UPDATE:
                    rc.action = CREATE

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        if instance.pk is None:  # refused above, and never filled in to check further
            raise ValidationError(import_validation_errors)
        super().validate_instance(instance, import_validation_errors, validate_unique)


class ProgressResource(SheetResource):
    line = C("Reference", max_length=40, aliases=("ref",), help="Reference of the line.")
    as_at = C("As at", width=12, help="Date of the figures; within the plan's years.")
    achieved_to_date = C("Achieved to date")
    basis = C(
        "Achieved or achievable", aliases=("basis",), width=20, help="Achieved if left blank."
    )
    forecast = C("Forecast for the year")
    rag = C("RAG", width=12)
    commentary = C("Commentary", width=50)

    export_ordering = ("line__order", "line__reference", "as_at")

    class Meta:
        model, name = m.ProgressEntry, "Progress"
        help = "What had been delivered on a line at a date, and the forecast for that year."

    def complete(self, instance, row, creating):
        super().complete(instance, row, creating)
        if instance.as_at:
            instance.year = fiscal.financial_year(instance.as_at)

    def after_import(self, dataset, result, **kwargs):
        super().after_import(dataset, result, **kwargs)
        rated = {e.line_id for e in self.saved if e.rag}
        if rated and not (result.has_validation_errors() or result.has_errors()):
            # As the month-end page does: a line's RAG is its latest rated entry's; said in
            # the preview as a change of the line.
            moved = services.follow_rated_progress(
                line_ids=rated, user=self.user, reason=self.reason
            )
            col = self.by_field["rag"]
            # A new plan's lines are new: their RAG from the progress is part of what they are
            # created with, not a change of them.
            for line, old, new in [] if self.new_plan else moved:
                header = "Current RAG (from its latest rated progress)"
                change = FieldChange(header, show(old, col), show(new, col))
                self.noted.append(RecordChange(LINES_SHEET, UPDATE, line.reference, None, [change]))


class ForecastResource(SheetResource):
    year = C("Year", width=10)
    period = C("Period", width=8, help="Month of the forecast: 1 (April) to 12 (March).")
    service_area = C("Service area", width=24, help="Blank for the whole service.")
    scenario = C("Scenario", width=12, help="Base if left blank.")
    budget = C("Budget")
    forecast_outturn = C("Forecast outturn")
    overspend = C(
        "Stated overspend",
        help="Only when the paper gives the overspend without budget and outturn.",
    )
    overspend_high = C(
        "Stated overspend (high)", help="Upper end when the overspend is a range (£3m-£4m)."
    )
    commentary = C("Commentary", width=50)
    month_assumed = C(
        "Month assumed",
        width=10,
        help="Y where the paper gives no month for the figure (say why in the commentary).",
    )

    class Meta:
        model, name = m.OverspendForecast, "Overspend forecast"
        help = (
            "The month's forecast outturn against budget. Give the budget and forecast outturn, "
            "or the stated overspend. Variance = outturn - budget (positive = overspend)."
        )


class PressureResource(SheetResource):
    title = C("Title", width=40)
    kind = C("Kind", width=20, help="Slippage if left blank.")
    year = C("Year", width=10)
    period = C("Period", width=8)
    amount = C("Amount", help="The month's cost.")
    projected = C(
        "Projected",
        width=10,
        help="Y for a cost the paper projects, not one incurred when it was written.",
    )
    line = C(
        "Savings line",
        max_length=40,
        help="Reference of the savings line whose slippage causes it, if any.",
    )
    notes = C("Notes", width=40)

    class Meta:
        model, name = m.CostPressure, "Cost pressures"
        help = "Monthly in-year pressures, e.g. the cost of slipped placement moves."


class FundingResource(SheetResource):
    title = C("Title", width=40, help="Unique within the plan.")
    kind = C("Kind", width=24)
    year = C("Year", width=10, help="Blank when it spans the plan.")
    amount = C("Amount")
    source = C("Source", width=24, help="Who provides it.")
    notes = C("Notes", width=40)

    class Meta:
        model, name = m.Funding, "Funding"
        help = "Money that props up or repays the position: reserves, grants, invest-to-save."


class KpiResource(SheetResource):
    code = C("Code", help="Short unique name, e.g. cla-count.")
    name = C("Name", width=40)
    unit = C("Unit", width=14, help="Count if left blank.")
    direction = C("Better when", aliases=("direction",), width=16)
    per_child_population = C(
        "Rate per 10000 children",
        width=10,
        help="Y to show a rate per 10,000 children beside the count.",
    )
    source = C(
        "Actuals from",
        aliases=("source",),
        width=24,
        help="Typed in each month if blank; or taken from the placement counts (children "
        "looked after, the in-house share of fostering, or the children in one kind of "
        "placement): then the KPI values sheet holds no actuals for it.",
    )
    open_range = C(
        "May be negative or over 100%",
        width=10,
        help="Y for a change or a difference (a net reduction can be negative) or a percentage "
        "that can pass 100%; otherwise a value is never negative and a percentage at most 100.",
    )
    baseline_value = C("Baseline value")
    baseline_date = C("Baseline date", width=12)
    tolerance = C(
        "Tolerance",
        width=10,
        help="Share of the target a value may miss by and still be Amber; blank for the default.",
    )
    definition = C("Definition", width=40)
    notes = C("Notes", width=40)
    order = C("Order", width=8)

    class Meta:
        model, name = m.KPI, "KPIs"
        help = "One row per KPI. Targets, actuals and comparators go on the KPI values sheet."


class KpiPointResource(SheetResource):
    kpi = C("KPI code", max_length=60, help="Code of the KPI.")
    kind = C("Kind", width=12)
    date = C("Date", width=12)
    value = C("Value")
    label = C(
        "Label",
        width=24,
        help="For comparators: statistical neighbours, England, previous plan...",
    )
    as_printed = C(
        "As printed",
        width=16,
        help="The value as the paper prints it, where that says more: below 10%, 35+.",
    )
    undated = C(
        "No date given",
        width=10,
        help="Y for a target the paper gives no date: its date only files it.",
    )
    applies_from = C(
        "In force from",
        width=12,
        help="For a target in force over a period: its first day. Blank: from its date.",
    )
    stated_rate = C(
        "Rate per 10,000 as printed",
        width=12,
        help="The rate the paper prints beside the count, to set beside the computed one.",
    )
    notes = C("Notes", width=40)

    export_ordering = ("kpi__order", "kpi__code", "date", "kind", "label")

    def import_instance(self, instance, row, **kwargs):
        """A value typed or shown as a percentage is one only for a KPI counted in per cent:
        "12%" against children looked after is refused, never saved as 12 children."""
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.error_dict
        typed = row.get(self.by_field["value"].column_name)
        as_percent = (isinstance(typed, str) and typed.strip().endswith("%")) or (
            isinstance(typed, cells.Formatted) and typed.percent
        )
        field = m.KpiPoint._meta.get_field("kpi")
        kpi = field.get_cached_value(instance, None)
        if as_percent and kpi is not None and kpi.unit != m.KPI.Unit.PERCENT:
            errors.setdefault("value", []).append(
                ValidationError(
                    f"{str(typed).strip() if isinstance(typed, str) else 'A percentage'} is a "
                    f"percentage, but the KPI {kpi.code!r} is counted in "
                    f"{kpi.get_unit_display().lower()}: give the number alone."
                )
            )
        if errors:
            raise ValidationError(errors)

    class Meta:
        model, name = m.KpiPoint, "KPI values"
        help = "Dated values of the KPIs: the target trajectory, actuals and comparators."


class RiskResource(SheetResource):
    reference = C("Reference", aliases=("ref",), width=10)
    description = C("Description", width=50)
    mitigations = C("Mitigations", width=50)
    likelihood = C("Likelihood", width=10)
    impact = C("Impact", width=10)
    owner = C("Owner", width=24)
    status = C("Status", width=12, help="Open if blank.")
    notes = C("Notes", width=40)

    class Meta:
        model, name = m.Risk, "Risks"
        help = "The plan's risks with their likelihood and impact (1-5)."

    def export_rows(self, plan) -> list[dict]:
        """In the order officers number them, R2 before R10 (SQL sorts references as text),
        as the report lists them."""
        rows = super().export_rows(plan)
        return sorted(rows, key=lambda row: natural_key(str(row["reference"] or "")))


class AdjustmentResource(SheetResource):
    year = C("Year", width=10, help="A financial year of the plan.")
    factor = C(
        "Factor", width=10, help="Share of the year's planned savings expected in-year: 0.5."
    )
    reason = C("Reason", width=60)

    class Meta:
        model, name = m.YearAdjustment, "Year adjustments"
        help = (
            "The share of a year's planned savings expected in-year (e.g. 50% of 2017/18 for "
            "gradual delivery)."
        )


class StatedResource(SheetResource):
    key = C("Key", required=False, help="Short unique name; made from the label and year.")
    measure = C("Measure", width=20)
    year = C("Year", width=10, help="Blank for all years.")
    line = C("Savings line", max_length=40, help="Reference of the line, for a line total.")
    label = C("Label", width=40)
    low = C("Low")
    high = C("High", help="Only for a range.")
    stated_text = C("As printed", width=20, help="The figure as printed, e.g. 1.314m - 1.864m.")
    notes = C("Notes", width=40)

    class Meta:
        model, name = m.StatedFigure, "Stated totals"
        help = (
            "Totals as the paper prints them, so the tracker can set its own figure beside them "
            "and flag any difference."
        )

    def default_key(self, name, value, row):
        if name == "key" and value is None:
            try:
                label, year = self.fields["label"].clean(row), self.fields["year"].clean(row)
            except ValueError:
                return None
            if not label:
                return None
            # In an update, the plan's total of that label and year, whatever its key (as a
            # workstream is found by its name): a blank key never makes a second of it.
            for stated in self.kept.values():
                if stated.label.lower() == label.lower() and (stated.year or None) == year:
                    return stated.key
            return slugify(f"{label} {year or ''}")[:80].strip("-") or None
        return super().default_key(name, value, row)


class DiscrepancyResource(SheetResource):
    key = C("Key", help="Short unique name, e.g. adoption-2017-18.")
    subject = C("Subject", width=40, help="What the two figures are of.")
    year = C("Year", width=10, help="Blank when not tied to a year.")
    line = C("Savings line", max_length=40, help="Reference of the line, if any.")
    first_text = C("First figure", width=16, help="As printed.")
    first_value = C("First value")
    first_where = C("Where the first is printed", width=40)
    second_text = C("Second figure", width=16, help="As printed.")
    second_value = C("Second value")
    second_where = C("Where the second is printed", width=40)
    uses = C("The plan uses", width=18, help="The second figure if left blank.")
    notes = C("Notes", width=40)

    class Meta:
        model, name = m.PaperDiscrepancy, "Paper discrepancies"
        help = (
            "Where the paper contradicts itself: both figures, where each is printed, and which "
            "the plan uses."
        )


class NarrativeResource(SheetResource):
    order = C(
        "Order", required=False, width=8, help="Position of the section; the row's when blank."
    )
    heading = C("Heading", width=40)
    body = C("Body", width=100)

    class Meta:
        model, name = m.NarrativeSection, "Narrative"
        help = "The plan's narrative: background, why previous plans failed..."

    def default_key(self, name, value, row):
        if name == "order" and value is None:
            return self.number
        return super().default_key(name, value, row)


class CommentaryResource(SheetResource):
    year = C("Year", width=10)
    period = C("Period", width=8)
    role = C("Role", width=22, help="Director's commentary if left blank.")
    body = C("Body", width=100)

    export_ordering = ("year", "period", "role")

    class Meta:
        model, name = m.Commentary, "Commentary"
        help = "The director's or finance manager's commentary for a month of the plan."

    def complete(self, instance, row, creating):
        if creating:
            instance.author = self.user
            instance.mark_written()  # saved in bulk, without ``save``


class PlacementRefs:
    """Placement types are named by code (or name) on the counts, moves and what-if sheets."""

    TYPE_FIELDS = ("type", "from_type", "to_type", "placement_type")

    def resolve(self, col, text):
        if col.field not in self.TYPE_FIELDS:
            return super().resolve(col, text)
        found = self.known("type", text)
        if found is None:
            where = "" if self.new_plan else " or in the plan"
            raise ValueError(
                f"There is no placement type {text!r} on the Placement types sheet{where}."
            )
        return found


class PlacementTypeResource(SheetResource):
    code = C("Code", help="Short unique name, e.g. residential.")
    name = C("Name", width=30)
    kind = C("Kind", width=22, help="Other if left blank.")
    unit_cost = C("Unit cost", help="Blank when the paper gives none (its costs are unknown).")
    cost_basis = C(
        "Unit cost is",
        aliases=("cost basis",),
        width=20,
        help="Per child per year if blank; per week (x 52 a year); or the whole spend a year "
        "where the paper gives no count.",
    )
    stated_text = C("As printed", width=20, help="The unit cost as the paper printed it.")
    assumption = C(
        "Assumption", width=50, help="What is assumed where the paper gives only a total."
    )
    notes = C("Notes", width=40)
    order = C("Order", width=8)

    class Meta:
        model, name = m.PlacementType, "Placement types"
        help = (
            "Placement types with their unit cost: residential, independent fostering agency, "
            "in-house fostering... Counts and moves name a type by its code."
        )


class PlacementCountResource(PlacementRefs, SheetResource):
    type = C("Placement type", max_length=60, help="Code of the placement type.")
    year = C("Year", width=10)
    period = C("Period", width=8, help="Month of the count: 1 (April) to 12 (March).")
    kind = C("Kind", width=20, help="Actual if left blank; or budgeted or planned.")
    count = C("Children", aliases=("count",), width=10, help="A number of children, never who.")
    assumed = C(
        "Assumed",
        width=10,
        help="Y for a count the paper does not print, worked out from what it does (say how).",
    )
    notes = C("Notes", width=40)

    export_ordering = ("type__order", "type__code", "year", "period", "kind")

    class Meta:
        model, name = m.PlacementCount, "Placement counts"
        help = (
            "Children in each placement type at a month end: actual, or budgeted or planned. "
            "A count stands until the next one of its kind."
        )


class PlacementMoveResource(PlacementRefs, SheetResource):
    reference = C(
        "Reference", aliases=("ref",), width=16, help="Unique in the plan; never a child's."
    )
    from_type = C("From", max_length=60, help="Code of the placement type moved from.")
    to_type = C("To", max_length=60, help="Code of the type moved to; blank for out of care.")
    number = C("Children", aliases=("number",), width=10, help="1 if left blank.")
    planned_year = C("Planned year", width=10)
    planned_period = C("Planned period", width=8, help="1 (April) to 12 (March).")
    actual_year = C("Made in year", width=10, help="Blank until the move is made.")
    actual_period = C("Made in period", width=8, help="Blank until the move is made.")
    month_assumed = C(
        "Month assumed",
        width=10,
        help="Y where the paper gives the year, not the month (say why in the notes).",
    )
    line = C(
        "Savings line",
        max_length=40,
        help="Reference of the savings line the move delivers, if any.",
    )
    notes = C("Notes", width=40)

    class Meta:
        model, name = m.PlacementMove, "Placement moves"
        help = (
            "Planned moves of children between placement types or out of care, and the month "
            "each was made. A late move costs the unit-cost difference for each month of delay."
        )


class PlacementScenarioResource(PlacementRefs, SheetResource):
    name = C("Name", width=30, help="Unique in the plan.")
    description = C("Description", width=40)
    unit_cost_change = C("Unit cost change %", width=10, help="e.g. -1 for a 1% reduction.")
    placement_type = C("Placement type", max_length=60, help="Code of the type; blank for all.")
    count_change = C("Change in children", width=10, help="e.g. -10 for ten fewer.")
    count_change_from = C("From year", width=10, help="When the change in children starts.")
    move_delay_months = C("Moves late by (months)", width=10)
    moves_delayed = C("Number of moves late", width=10, help="Blank: every move not yet made.")
    notes = C("Notes", width=40)

    class Meta:
        model, name = m.PlacementScenario, "What-if scenarios"
        help = (
            "Named what-ifs shown beside the base figures, never changing them: unit costs, "
            "numbers of children or move dates."
        )


PLAN, WORKSTREAMS, LINES, DETAILS, PROGRESS = (
    PlanResource,
    WorkstreamResource,
    SavingsLineResource,
    AmountDetailResource,
    ProgressResource,
)
FORECASTS, PRESSURES, FUNDING, KPIS, KPI_VALUES = (
    ForecastResource,
    PressureResource,
    FundingResource,
    KpiResource,
    KpiPointResource,
)
PLACEMENT_TYPES, PLACEMENT_COUNTS, PLACEMENT_MOVES, PLACEMENT_SCENARIOS = (
    PlacementTypeResource,
    PlacementCountResource,
    PlacementMoveResource,
    PlacementScenarioResource,
)
RISKS, ADJUSTMENTS, STATED, DISCREPANCIES, NARRATIVE, COMMENTARY = (
    RiskResource,
    AdjustmentResource,
    StatedResource,
    DiscrepancyResource,
    NarrativeResource,
    CommentaryResource,
)
# In workbook order; children after the records they refer to, which is also the import order.
SHEETS: tuple[type[SheetResource], ...] = (
    PLAN,
    WORKSTREAMS,
    LINES,
    DETAILS,
    PROGRESS,
    FORECASTS,
    PRESSURES,
    FUNDING,
    KPIS,
    KPI_VALUES,
    RISKS,
    ADJUSTMENTS,
    STATED,
    DISCREPANCIES,
    NARRATIVE,
    COMMENTARY,
    PLACEMENT_TYPES,
    PLACEMENT_COUNTS,
    PLACEMENT_MOVES,
    PLACEMENT_SCENARIOS,
)
for _sheet in SHEETS:
    _sheet.bind()
BY_NAME = {header_key(s.name): s for s in SHEETS}
# Sheets the export writes for people and the import does not read.
IGNORED_SHEETS = {header_key(ABOUT_SHEET), header_key(SUMMARY_SHEET)}
