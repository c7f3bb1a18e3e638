"""The plan workbook template: its sheets, their columns and what each column means.

One declaration serves the export, the blank template, the About sheet, the parser and the
documentation (docs/workbook-template.md), so they cannot drift apart. Headers are matched
case-insensitively, ignoring spaces and punctuation, so "Start period" and "start-period" are
the same column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.core.exceptions import FieldDoesNotExist
from django.db import models

from plans import models as m

# Column kinds: how a cell is read and written (see plans.workbook.cells).
(
    TEXT,
    LONG,
    SLUG,
    MONEY,
    SIGNED_MONEY,
    NUMBER,
    VOLUME,
    SHARE,
    INT,
    DATE,
    YEAR,
    PERIOD,
    CHOICE,
    BOOL,
    REF,
) = (
    "text",
    "long",
    "slug",
    "money",
    "signed_money",
    "number",
    "volume",
    "share",
    "int",
    "date",
    "year",
    "period",
    "choice",
    "bool",
    "ref",
)
MONEY_KINDS = {MONEY, SIGNED_MONEY}


@dataclass(frozen=True)
class Column:
    header: str
    field: str
    kind: str = TEXT
    required: bool = False
    help: str = ""
    width: int = 16
    choices: type[models.TextChoices] | None = None
    low: int | None = None
    high: int | None = None
    aliases: tuple[str, ...] = ()
    max_length: int | None = None

    @property
    def accepts(self) -> str:
        """What an officer may type, for the About sheet and the docs."""
        if self.kind == CHOICE:
            return "; ".join(choice_label(self.choices, v) for v in self.choices.values)
        return ACCEPTS.get(self.kind, "").format(low=self.low, high=self.high)


@dataclass(frozen=True)
class SheetSpec:
    name: str
    model: type[models.Model]
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    help: str
    required: bool = False
    freeze: str = "B2"
    by_field: dict[str, Column] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        for col in self.columns:
            if col.kind in {TEXT, SLUG, REF} and col.max_length is None:
                try:
                    length = self.model._meta.get_field(col.field).max_length
                except FieldDoesNotExist:
                    length = None
                object.__setattr__(col, "max_length", length)
            self.by_field[col.field] = col

    @property
    def required_headers(self) -> list[str]:
        return [c.header for c in self.columns if c.required]


ACCEPTS = {
    TEXT: "Text.",
    LONG: "Text; line breaks are kept.",
    SLUG: "Letters, digits and hyphens, no spaces, e.g. mtfs-2017-21.",
    MONEY: "Pounds: 129000, £129,000, 129k or £1.2m. Not negative.",
    SIGNED_MONEY: "Pounds: 129000, £129,000, 129k or £1.2m; a minus sign or (brackets) for a "
    "negative figure.",
    NUMBER: "A number; 12.5% is read as 12.5.",
    VOLUME: "A number, e.g. 5 or 2.5.",
    SHARE: "A share between 0 and 1: 0.5 or 50%.",
    INT: "A whole number from {low} to {high}.",
    DATE: "A date: 31/10/2017, 2017-10-31 or 31 Oct 2017; a month alone (Oct 2017) means its "
    "last day.",
    YEAR: "A financial year written like 2017/18.",
    PERIOD: "1 (April) to 12 (March); P7, Oct or October are read too.",
    BOOL: "Y or N (Yes/No, True/False).",
    REF: "Text, matched without regard to capitals.",
}


def header_key(text) -> str:
    """How headers and choice labels are compared: lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9%£]", "", str(text or "").lower())


def choice_label(choices: type[models.TextChoices], value: str) -> str:
    """The label written to the workbook. Commas are dropped so the label can sit in a
    spreadsheet drop-down list (``Rate per 10000 children``); reading ignores them anyway."""
    return str(choices(value).label).replace(",", "")


def C(header, fld, kind=TEXT, **kw) -> Column:  # noqa: N802 - reads as a table below
    return Column(header, fld, kind, **kw)


PLAN_SHEET = "Plan"
LINES_SHEET = "Savings lines"
ABOUT_SHEET = "About"
SUMMARY_SHEET = "Summary"

PLAN = SheetSpec(
    PLAN_SHEET,
    m.Plan,
    (
        C(
            "Authority",
            "authority",
            REF,
            required=True,
            max_length=200,
            help="The council: its short name (slug, e.g. torbay) or full name. It must already "
            "exist in the tracker.",
        ),
        C(
            "Plan code",
            "code",
            SLUG,
            required=True,
            help="Short unique name for the plan within the authority, e.g. mtfs-2017-21.",
        ),
        C("Title", "title", required=True, help="The plan's title as the paper gives it."),
        C(
            "Kind",
            "kind",
            CHOICE,
            required=True,
            choices=m.Plan.Kind,
            help="What sort of document the plan is.",
        ),
        C("Directorate", "directorate", help="e.g. Children's Services."),
        C(
            "First year",
            "first_year",
            YEAR,
            required=True,
            help="First financial year the plan covers.",
        ),
        C(
            "Last year",
            "last_year",
            YEAR,
            required=True,
            help="Last financial year the plan covers (the same as the first for one year).",
        ),
        C("Status", "status", CHOICE, choices=m.Plan.Status, help="Draft if left blank."),
        C("Approved on", "approved_on", DATE, help="Date the plan was approved."),
        C("Approved by", "approved_by", help="Who approved it, e.g. Cabinet."),
        C("Published on", "published_on", DATE, help="Date of the paper or of this revision."),
        C(
            "Planned amounts are",
            "amount_basis",
            CHOICE,
            choices=m.Plan.AmountBasis,
            help="Full-year values unless the plan's amounts are what the year itself should "
            "yield (an in-year recovery target).",
        ),
        C(
            "Savings expected from",
            "savings_start",
            DATE,
            help="Where the paper says when savings start (e.g. Feb 2012): nothing is expected "
            "before that month.",
        ),
        C(
            "Revises (plan code)",
            "revises",
            REF,
            max_length=60,
            aliases=("revises",),
            help="Code of the earlier plan of the same authority that this one revises.",
        ),
        C("Source document", "source_document", help="The paper the plan was taken from."),
        C("Summary", "summary", LONG, help="A paragraph summarising the plan."),
        C("Notes", "notes", LONG, help="Anything else worth keeping."),
    ),
    key=("code",),
    required=True,
    freeze="A2",
    help="One row per field: the field's name in column A, its value in column B. Column C "
    "explains the field and is not read.",
)

WORKSTREAMS = SheetSpec(
    "Workstreams",
    m.Workstream,
    (
        C(
            "Code",
            "code",
            SLUG,
            help="Short name, e.g. placements. Made from the name when left blank.",
        ),
        C(
            "Name",
            "name",
            required=True,
            width=40,
            help="The theme or objective; savings lines name it in their Workstream column.",
        ),
        C("Description", "description", LONG, width=50),
        C("Lead", "lead", width=30, help="Who leads the workstream."),
        C(
            "Order",
            "order",
            INT,
            low=0,
            high=32767,
            width=8,
            help="Position in lists; the row's position when blank.",
        ),
    ),
    key=("code",),
    help="The themes or objectives that group savings lines. Optional: a workstream named on "
    "the Savings lines sheet and not listed here is created from its name.",
)

LINES = SheetSpec(
    LINES_SHEET,
    m.SavingsLine,
    (
        C(
            "Reference",
            "reference",
            required=True,
            aliases=("ref",),
            help="The line's reference, unique in the plan, e.g. CHS/SAV/34. Lines are matched "
            "by reference when importing into an existing plan.",
        ),
        C(
            "Workstream",
            "workstream",
            REF,
            max_length=300,
            width=24,
            help="Code or name of the line's workstream; a new name creates a workstream.",
        ),
        C("Title", "title", required=True, width=40, help="What the saving is."),
        C("Description", "description", LONG, width=40),
        C("Actions", "actions", LONG, width=40, help="How it will be delivered."),
        C("Owner", "owner", width=24, help="Who is responsible."),
        C(
            "Category",
            "category",
            CHOICE,
            choices=m.SavingsLine.Category,
            help="Other if left blank.",
        ),
        C("Status", "status", CHOICE, choices=m.SavingsLine.Status, help="Proposed if left blank."),
        C(
            "Current RAG",
            "rag",
            CHOICE,
            choices=m.RAG,
            aliases=("rag",),
            help="Delivery confidence now (B, G, A or R are read too); blank for not rated.",
        ),
        C(
            "Original RAG",
            "original_rag",
            CHOICE,
            choices=m.RAG,
            help="Delivery confidence at budget setting.",
        ),
        C(
            "In revenue budget",
            "in_revenue_budget",
            BOOL,
            width=10,
            help="Y when the saving is in the base revenue budget (* in the papers).",
        ),
        C(
            "Recurring or one-off",
            "recurrence",
            CHOICE,
            choices=m.SavingsLine.Recurrence,
            aliases=("recurrence",),
            help="Recurring if left blank.",
        ),
        C(
            "Start period",
            "start_period",
            PERIOD,
            width=10,
            help="Month the saving starts: 1 (April) to 12 (March).",
        ),
        C(
            "Counts towards target",
            "counts_towards_target",
            BOOL,
            width=10,
            help="N for savings the paper reports outside its target (Y if left blank).",
        ),
        C(
            "Order",
            "order",
            INT,
            low=0,
            high=32767,
            width=8,
            help="Position in lists; the row's position when blank.",
        ),
        C("Notes", "notes", LONG, width=40, help="Discrepancies between papers and other notes."),
    ),
    key=("reference",),
    required=True,
    freeze="C2",
    help="One row per savings line. After the columns below come the year columns, one per "
    "financial year, headed like 2017/18; each cell holds the line's planned saving that year: "
    "an amount (129000, £129,000, 129k, £1.2m), a range (50k-600k) or TBC. A blank cell means "
    "no planned saving that year (and removes one already recorded when importing into an "
    "existing plan). A year column left out of the sheet leaves that year's amounts as they "
    "are.",
)

DETAILS = SheetSpec(
    "Amount details",
    m.PlannedAmount,
    (
        C(
            "Reference",
            "line",
            REF,
            required=True,
            max_length=40,
            aliases=("ref",),
            help="Reference of the savings line.",
        ),
        C(
            "Year",
            "year",
            YEAR,
            required=True,
            width=10,
            help="The financial year; the line must have an amount that year.",
        ),
        C("Driver volume", "driver_volume", VOLUME, help="e.g. 2 (placements)."),
        C("Driver unit", "driver_unit", width=24, help="e.g. placements."),
        C("Driver unit value", "driver_unit_value", MONEY, help="Value per unit, e.g. £126,705."),
        C("As printed", "stated_text", width=20, help="The figure as the paper printed it."),
        C("Notes", "notes", LONG, width=40),
    ),
    key=("line", "year"),
    help="Optional detail behind a planned amount: its driver (volume x unit value) and the "
    "figure as the paper printed it.",
)

PROGRESS = SheetSpec(
    "Progress",
    m.ProgressEntry,
    (
        C(
            "Reference",
            "line",
            REF,
            required=True,
            max_length=40,
            aliases=("ref",),
            help="Reference of the savings line.",
        ),
        C(
            "As at",
            "as_at",
            DATE,
            required=True,
            width=12,
            help="Date of the figures; it must fall within the plan's years.",
        ),
        C("Achieved to date", "achieved_to_date", MONEY),
        C(
            "Achieved or achievable",
            "basis",
            CHOICE,
            choices=m.ProgressEntry.Basis,
            aliases=("basis",),
            width=20,
            help="Achieved if left blank.",
        ),
        C("Forecast for the year", "forecast", MONEY),
        C("RAG", "rag", CHOICE, choices=m.RAG, width=12),
        C("Commentary", "commentary", LONG, width=50),
    ),
    key=("line", "as_at"),
    help="What had been delivered on a line at a date, and the forecast for that year.",
)

FORECASTS = SheetSpec(
    "Overspend forecast",
    m.OverspendForecast,
    (
        C("Year", "year", YEAR, required=True, width=10),
        C(
            "Period",
            "period",
            PERIOD,
            required=True,
            width=8,
            help="Month of the forecast: 1 (April) to 12 (March).",
        ),
        C("Service area", "service_area", width=24, help="Blank for the whole service."),
        C(
            "Scenario",
            "scenario",
            CHOICE,
            choices=m.OverspendForecast.Scenario,
            width=12,
            help="Base if left blank.",
        ),
        C("Budget", "budget", MONEY),
        C("Forecast outturn", "forecast_outturn", MONEY),
        C(
            "Stated overspend",
            "overspend",
            SIGNED_MONEY,
            help="Only when the paper gives the overspend without budget and outturn.",
        ),
        C(
            "Stated overspend (high)",
            "overspend_high",
            SIGNED_MONEY,
            help="Upper end when the overspend is a range (£3m-£4m).",
        ),
        C("Commentary", "commentary", LONG, width=50),
    ),
    key=("year", "period", "scenario", "service_area"),
    help="The month's forecast outturn against budget. Give the budget and forecast outturn, "
    "or the stated overspend. Variance = outturn - budget (positive = overspend).",
)

PRESSURES = SheetSpec(
    "Cost pressures",
    m.CostPressure,
    (
        C("Title", "title", required=True, width=40),
        C(
            "Kind",
            "kind",
            CHOICE,
            choices=m.CostPressure.Kind,
            width=20,
            help="Slippage if left blank.",
        ),
        C("Year", "year", YEAR, required=True, width=10),
        C("Period", "period", PERIOD, required=True, width=8),
        C("Amount", "amount", MONEY, required=True, help="The month's cost."),
        C(
            "Savings line",
            "line",
            REF,
            max_length=40,
            help="Reference of the savings line whose slippage causes it, if any.",
        ),
        C("Notes", "notes", LONG, width=40),
    ),
    key=("year", "period", "title"),
    help="Monthly in-year pressures, e.g. the cost of slipped placement moves.",
)

FUNDING = SheetSpec(
    "Funding",
    m.Funding,
    (
        C("Title", "title", required=True, width=40, help="Unique within the plan."),
        C("Kind", "kind", CHOICE, required=True, choices=m.Funding.Kind, width=24),
        C("Year", "year", YEAR, width=10, help="Blank when it spans the plan."),
        C("Amount", "amount", MONEY, required=True),
        C("Source", "source", width=24, help="Who provides it."),
        C("Notes", "notes", LONG, width=40),
    ),
    key=("title",),
    help="Money that props up or repays the position: reserves, grants, invest-to-save.",
)

KPIS = SheetSpec(
    "KPIs",
    m.KPI,
    (
        C("Code", "code", SLUG, required=True, help="Short unique name, e.g. cla-count."),
        C("Name", "name", required=True, width=40),
        C("Unit", "unit", CHOICE, choices=m.KPI.Unit, width=14, help="Count if left blank."),
        C(
            "Better when",
            "direction",
            CHOICE,
            required=True,
            choices=m.KPI.Direction,
            aliases=("direction",),
            width=16,
        ),
        C(
            "Rate per 10000 children",
            "per_child_population",
            BOOL,
            width=10,
            help="Y to show a rate per 10,000 children beside the count.",
        ),
        C("Baseline value", "baseline_value", NUMBER),
        C("Baseline date", "baseline_date", DATE, width=12),
        C(
            "Tolerance",
            "tolerance",
            SHARE,
            width=10,
            help="Share of the target a value may miss by and still be Amber; blank for the "
            "default.",
        ),
        C("Definition", "definition", LONG, width=40),
        C("Notes", "notes", LONG, width=40),
        C("Order", "order", INT, low=0, high=32767, width=8),
    ),
    key=("code",),
    help="One row per KPI. Targets, actuals and comparators go on the KPI values sheet.",
)

KPI_VALUES = SheetSpec(
    "KPI values",
    m.KpiPoint,
    (
        C("KPI code", "kpi", REF, required=True, max_length=60, help="Code of the KPI."),
        C("Kind", "kind", CHOICE, required=True, choices=m.KpiPoint.Kind, width=12),
        C("Date", "date", DATE, required=True, width=12),
        C("Value", "value", NUMBER, required=True),
        C(
            "Label",
            "label",
            width=24,
            help="For comparators: statistical neighbours, England, previous plan...",
        ),
        C(
            "As printed",
            "as_printed",
            width=16,
            help="The value as the paper prints it, where that says more: below 10%, 35+.",
        ),
        C(
            "In force from",
            "applies_from",
            DATE,
            width=12,
            help="For a target in force over a period: its first day. Blank: from its date.",
        ),
        C(
            "Rate per 10,000 as printed",
            "stated_rate",
            NUMBER,
            width=12,
            help="The rate the paper prints beside the count, to set beside the computed one.",
        ),
        C("Notes", "notes", LONG, width=40),
    ),
    key=("kpi", "kind", "date", "label"),
    help="Dated values of the KPIs: the target trajectory, actuals and comparators.",
)

RISKS = SheetSpec(
    "Risks",
    m.Risk,
    (
        C("Reference", "reference", required=True, aliases=("ref",), width=10),
        C("Description", "description", LONG, required=True, width=50),
        C("Mitigations", "mitigations", LONG, width=50),
        C("Likelihood", "likelihood", INT, low=1, high=5, width=10),
        C("Impact", "impact", INT, low=1, high=5, width=10),
        C("Owner", "owner", width=24),
        C("Status", "status", CHOICE, choices=m.Risk.Status, width=12, help="Open if blank."),
        C("Notes", "notes", LONG, width=40),
    ),
    key=("reference",),
    help="The plan's risks with their likelihood and impact (1-5).",
)

ADJUSTMENTS = SheetSpec(
    "Year adjustments",
    m.YearAdjustment,
    (
        C("Year", "year", YEAR, required=True, width=10, help="A financial year of the plan."),
        C(
            "Factor",
            "factor",
            SHARE,
            required=True,
            width=10,
            help="Share of the year's planned savings expected in-year: 0.5 or 50%.",
        ),
        C("Reason", "reason", LONG, width=60),
    ),
    key=("year",),
    help="The share of a year's planned savings expected in-year (e.g. 50% of 2017/18 for "
    "gradual delivery).",
)

STATED = SheetSpec(
    "Stated totals",
    m.StatedFigure,
    (
        C("Key", "key", SLUG, help="Short unique name; made from the label and year when blank."),
        C("Measure", "measure", CHOICE, required=True, choices=m.StatedFigure.Measure, width=20),
        C("Year", "year", YEAR, width=10, help="Blank for all years."),
        C(
            "Savings line",
            "line",
            REF,
            max_length=40,
            help="Reference of the line, for a line total.",
        ),
        C("Label", "label", required=True, width=40),
        C("Low", "low", SIGNED_MONEY),
        C("High", "high", SIGNED_MONEY, help="Only for a range."),
        C(
            "As printed",
            "stated_text",
            required=True,
            width=20,
            help="The figure as printed, e.g. 1.314m - 1.864m.",
        ),
        C("Notes", "notes", LONG, width=40),
    ),
    key=("key",),
    help="Totals as the paper prints them, so the tracker can set its own figure beside them "
    "and flag any difference.",
)

DISCREPANCIES = SheetSpec(
    "Paper discrepancies",
    m.PaperDiscrepancy,
    (
        C("Key", "key", SLUG, required=True, help="Short unique name, e.g. adoption-2017-18."),
        C("Subject", "subject", required=True, width=40, help="What the two figures are of."),
        C("Year", "year", YEAR, width=10, help="Blank when not tied to a year."),
        C("Savings line", "line", REF, max_length=40, help="Reference of the line, if any."),
        C("First figure", "first_text", required=True, width=16, help="As printed."),
        C("First value", "first_value", SIGNED_MONEY),
        C("Where the first is printed", "first_where", required=True, width=40),
        C("Second figure", "second_text", required=True, width=16, help="As printed."),
        C("Second value", "second_value", SIGNED_MONEY),
        C("Where the second is printed", "second_where", required=True, width=40),
        C(
            "The plan uses",
            "uses",
            CHOICE,
            choices=m.PaperDiscrepancy.Uses,
            width=18,
            help="The second figure if left blank.",
        ),
        C("Notes", "notes", LONG, width=40),
    ),
    key=("key",),
    help="Where the paper contradicts itself: both figures, where each is printed, and which "
    "the plan uses.",
)

NARRATIVE = SheetSpec(
    "Narrative",
    m.NarrativeSection,
    (
        C(
            "Order",
            "order",
            INT,
            low=0,
            high=32767,
            width=8,
            help="Position of the section; the row's position when blank.",
        ),
        C("Heading", "heading", required=True, width=40),
        C("Body", "body", LONG, required=True, width=100),
    ),
    key=("order",),
    help="The plan's narrative: background, why previous plans failed...",
)

COMMENTARY = SheetSpec(
    "Commentary",
    m.Commentary,
    (
        C("Year", "year", YEAR, required=True, width=10),
        C("Period", "period", PERIOD, required=True, width=8),
        C(
            "Role",
            "role",
            CHOICE,
            choices=m.Commentary.Role,
            width=22,
            help="Director's commentary if left blank.",
        ),
        C("Body", "body", LONG, required=True, width=100),
    ),
    key=("year", "period", "role"),
    help="The director's or finance manager's commentary for a month of the plan.",
)

# In workbook order; children after the records they refer to, which is also the apply order.
SHEETS: tuple[SheetSpec, ...] = (
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
)
BY_NAME = {header_key(s.name): s for s in SHEETS}
# Sheets the export writes for people and the import does not read.
IGNORED_SHEETS = {header_key(ABOUT_SHEET), header_key(SUMMARY_SHEET)}
