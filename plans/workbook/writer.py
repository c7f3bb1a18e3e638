"""Write a plan, the blank template or the worked example as a plan workbook.

Everything is written through ``write_workbook(content)``, so the export, the template and the
example have the same sheets and columns. Money cells are numbers formatted as money; text that
a spreadsheet would run as a formula gets a leading apostrophe (``cells.neutralise``); headers
are frozen, sized and explained (in a cell comment and on the About sheet). Totals on the
Summary sheet come from ``plans.figures``, like every other page and report.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from plans.workbook import resources as s
from plans.workbook.cells import neutralise
from recovery import fiscal
from recovery.money import Amount, AmountKind, format_money

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")
TITLE_FONT = Font(bold=True, size=14)
WRAP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")
DATE_FORMAT = "dd/mm/yyyy"
VALIDATION_ROWS = 1000


def money_format(value: Decimal) -> str:
    return '"£"#,##0.00' if value != value.to_integral_value() else '"£"#,##0'


@dataclass
class Content:
    """What a workbook holds, as Python values (choice values, not labels)."""

    plan: dict = field(default_factory=dict)
    years: list[str] = field(default_factory=list)
    sheets: dict[str, list[dict]] = field(default_factory=dict)  # lines: row["amounts"][year]
    summary: list[list] | None = None  # rows for the Summary sheet, header first
    title: str = "Plan workbook"


def _text(value) -> str:
    return neutralise(ILLEGAL_CHARACTERS_RE.sub("", str(value)))


def cell_value(col: s.Column | None, value) -> tuple:
    """``(value, number format, wrap)`` for one value, written the way its column is read
    back; ``(None, None, False)`` for nothing."""
    if value is None or value == "":
        return None, None, False
    kind = col.kind if col else None
    if isinstance(value, Amount):
        if value.kind == AmountKind.POINT:
            return value.low, money_format(value.low), False
        if value.kind == AmountKind.RANGE:
            return f"{format_money(value.low)} – {format_money(value.high)}", None, False
        return "TBC", None, False
    if kind in s.MONEY_KINDS:
        return Decimal(value), money_format(Decimal(value)), False
    if kind == s.SHARE:
        return Decimal(value), "0%" if (Decimal(value) * 100) % 1 == 0 else "0.00%", False
    if kind in (s.NUMBER, s.VOLUME):
        return Decimal(value), None, False
    if kind in (s.INT, s.PERIOD):
        return int(value), None, False
    if kind == s.DATE:
        return value, DATE_FORMAT, False
    if kind == s.BOOL:
        return ("Y" if value else "N"), None, False
    if kind == s.CHOICE:
        return s.choice_label(col.choices, value), None, False
    return _text(value), None, kind == s.LONG


def put(ws, row: int, column: int, col: s.Column | None, value) -> None:
    """Write one value into its cell."""
    value, fmt, wrap = cell_value(col, value)
    if value is not None:
        cell = ws.cell(row=row, column=column, value=value)
        if fmt:
            cell.number_format = fmt
        if wrap:
            cell.alignment = WRAP


def _validation(ws, col: s.Column, ref: str) -> None:
    if col.kind == s.CHOICE:
        options = [s.choice_label(col.choices, v) for v in col.choices.values]
    elif col.kind == s.BOOL:
        options = ["Y", "N"]
    else:
        return
    formula = '"' + ",".join(options) + '"'
    if len(formula) > 255:
        return
    dv = DataValidation(
        type="list",
        formula1=formula,
        allow_blank=True,
        errorStyle="warning",
        showErrorMessage=True,
        error=f"Choose one of: {', '.join(options)}",
        errorTitle=col.header,
    )
    dv.add(ref)
    ws.add_data_validation(dv)


def _header(ws, row: int, headers: list[str], helps: list[str] | None = None) -> None:
    for index, text in enumerate(headers, start=1):
        cell = ws.cell(row=row, column=index, value=text)
        cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, WRAP
        if helps and helps[index - 1]:
            cell.comment = Comment(helps[index - 1], "Recovery tracker", width=300, height=120)


def _help(col: s.Column) -> str:
    parts = [col.help, col.accepts]
    if col.required:
        parts.insert(0, "Required.")
    return " ".join(p for p in parts if p)


def write_about(ws, content: Content) -> None:
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 11
    ws.column_dimensions["C"].width = 70
    ws.column_dimensions["D"].width = 60
    ws["A1"] = _text(content.title)
    ws["A1"].font = TITLE_FONT
    lines = [
        "Fill in one sheet per kind of record. Keep the sheet names and the column headers "
        "in row 1; the columns can be in any order, and columns marked Required must be there.",
        "Type amounts as you would write them: 129000, £129,000, 129k, £1.2m, a range such as "
        "50k-600k, or TBC. Dates like 31/10/2017. Financial years like 2017/18.",
        "Formulas are fine: their last calculated value is imported. Do not merge cells.",
        "Import checks the whole workbook first. If anything is wrong nothing is saved, and "
        "every problem is listed with its sheet, row and column.",
        "Importing into an existing plan matches savings lines by reference and every other "
        "record by its key (shown below); records not in the workbook are left as they are.",
        "The Summary sheet (in exports) is calculated by the tracker and is not read on import.",
    ]
    row = 3
    for text in lines:
        ws.cell(row=row, column=1, value=text).alignment = Alignment(wrap_text=False)
        row += 1
    for spec in s.SHEETS:
        row += 1
        ws.cell(row=row, column=1, value=spec.name).font = Font(bold=True, size=12)
        ws.cell(row=row, column=3, value=spec.help).alignment = WRAP
        keys = ", ".join(spec.by_field[k].header for k in spec.key if k in spec.by_field)
        if spec is not s.PLAN:
            row += 1
            ws.cell(row=row, column=3, value=f"Each row is identified by: {keys}.")
        row += 1
        _header(
            ws,
            row,
            ["Column" if spec is not s.PLAN else "Field", "Required", "Meaning", "What to type"],
        )
        for col in spec.columns:
            row += 1
            ws.cell(row=row, column=1, value=col.header)
            ws.cell(row=row, column=2, value="Required" if col.required else "")
            ws.cell(row=row, column=3, value=col.help).alignment = WRAP
            ws.cell(row=row, column=4, value=col.accepts).alignment = WRAP
        if spec is s.LINES:
            row += 1
            ws.cell(row=row, column=1, value="2017/18, 2018/19, ...")
            ws.cell(
                row=row,
                column=3,
                value="One column per financial year of the plan: the "
                "line's planned saving that year.",
            ).alignment = WRAP
            ws.cell(
                row=row,
                column=4,
                value="An amount (129k, £1.2m), a range (50k-600k) or TBC; blank for none.",
            ).alignment = WRAP
    ws.freeze_panes = "A3"


def write_plan_sheet(ws, content: Content) -> None:
    _header(ws, 1, ["Field", "Value", "Meaning"])
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 60
    ws.column_dimensions["C"].width = 80
    for index, col in enumerate(s.PLAN.columns, start=2):
        ws.cell(row=index, column=1, value=col.header).font = HEADER_FONT
        put(ws, index, 2, col, content.plan.get(col.field))
        ws.cell(row=index, column=3, value=_help(col)).alignment = WRAP
        _validation(ws, col, f"B{index}")
    ws.freeze_panes = s.PLAN.freeze


def write_table(ws, spec: type[s.SheetResource], rows: list[dict], years: list[str]) -> None:
    columns = list(spec.columns)
    headers = [c.header for c in columns] + (years if spec is s.LINES else [])
    helps = [_help(c) for c in columns] + [
        f"Planned saving in {y}: an amount, a range (50k-600k) or TBC."
        for y in (years if spec is s.LINES else [])
    ]
    _header(ws, 1, headers, helps)
    for r, record in enumerate(rows, start=2):
        written = [cell_value(col, record.get(col.field)) for col in columns]
        if spec is s.LINES:
            amounts = record.get("amounts", {})
            written += [cell_value(None, amounts.get(year)) for year in years]
        ws.append([value for value, _, _ in written])  # then format only the cells that need it
        for c, (_, fmt, wrap) in enumerate(written, start=1):
            if fmt or wrap:
                cell = ws.cell(row=r, column=c)
                if fmt:
                    cell.number_format = fmt
                if wrap:
                    cell.alignment = WRAP

    last = max(len(rows) + 1, VALIDATION_ROWS)
    for c, col in enumerate(columns, start=1):
        letter = get_column_letter(c)
        ws.column_dimensions[letter].width = max(col.width, min(len(col.header) + 2, 30))
        _validation(ws, col, f"{letter}2:{letter}{last}")
    for offset in range(len(years) if spec is s.LINES else 0):
        ws.column_dimensions[get_column_letter(len(columns) + 1 + offset)].width = 14
    ws.freeze_panes = spec.freeze
    ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(len(rows) + 1, 2)}"


def write_summary(ws, rows: list[list]) -> None:
    ws["A1"] = "Calculated by the tracker when this workbook was exported; not read on import."
    ws["A1"].font = Font(italic=True)
    _header(ws, 3, rows[0])
    for r, values in enumerate(rows[1:], start=4):
        for c, value in enumerate(values, start=1):
            cell = ws.cell(row=r, column=c, value=value)
            if isinstance(value, Decimal) and c > 1 and rows[0][c - 1] != "In-year factor":
                cell.number_format = money_format(value)
            elif isinstance(value, Decimal):
                cell.number_format = "0%" if (value * 100) % 1 == 0 else "0.00%"
    ws.column_dimensions["A"].width = 12
    for c in range(2, len(rows[0]) + 1):
        ws.column_dimensions[get_column_letter(c)].width = 16
    ws.freeze_panes = "B4"


def write_workbook(content: Content) -> bytes:
    wb = Workbook()
    write_about(wb.active, content)
    wb.active.title = s.ABOUT_SHEET
    write_plan_sheet(wb.create_sheet(s.PLAN_SHEET), content)
    for spec in s.SHEETS[1:]:
        write_table(
            wb.create_sheet(spec.name), spec, content.sheets.get(spec.name, []), content.years
        )
    if content.summary:
        write_summary(wb.create_sheet(s.SUMMARY_SHEET), content.summary)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------
# A plan from the database


def content_from_plan(plan) -> Content:
    """Every record of ``plan`` as workbook rows, each sheet exported by its resource. A fixed
    number of queries."""
    from plans.figures import plan_totals

    values = s.PLAN.export_rows_of(plan)
    content = Content(plan=values, title=f"{plan.title} – plan workbook")
    for spec in s.SHEETS[1:]:
        content.sheets[spec.name] = spec().export_rows(plan)
    years = set(plan.years)
    for row in content.sheets[s.LINES.name]:
        years.update(row["amounts"])
    content.years = sorted(years)
    content.summary = summary_rows(plan_totals([plan])[plan.pk])
    return content


def summary_rows(totals) -> list[list]:
    header = [
        "Year",
        "Planned (low)",
        "Planned (high)",
        "TBC lines",
        "In-year factor",
        "In-year adjusted (low)",
        "In-year adjusted (high)",
        "Achieved",
        "Anticipated",
        "Gap (low)",
        "Gap (high)",
    ]
    rows = [header]
    for t in [*totals.years.values(), totals.total]:
        rows.append(
            [
                "All years" if t.year == "all" else t.year,
                t.planned_low,
                t.planned_high,
                t.tbc_lines,
                None if t.year == "all" else Decimal(t.factor),
                t.adjusted_low,
                t.adjusted_high,
                t.achieved,
                t.anticipated,
                t.gap_low,
                t.gap_high,
            ]
        )
    return rows


def export_plan(plan) -> bytes:
    return write_workbook(content_from_plan(plan))


def export_filename(plan) -> str:
    return f"{plan.authority.slug}-{plan.code}.xlsx"


# --------------------------------------------------------------------------------------------
# The template, blank or with a worked example


def template(*, authority=None, example: bool = False, today: date | None = None) -> bytes:
    today = today or date.today()
    first = fiscal.financial_year(today)
    years = fiscal.years_between(first, fiscal.year_label(fiscal.year_start_int(first) + 3))
    content = Content(years=years, title="Plan workbook template")
    if authority is not None:
        content.plan["authority"] = authority.name
    if example:
        content = example_content(authority)
    return write_workbook(content)


def example_content(authority=None) -> Content:
    """A small, made-up plan that shows every sheet in use (and imports cleanly)."""
    D = Decimal  # noqa: N806
    years = ["2024/25", "2025/26", "2026/27"]
    plan = {
        "authority": authority.name if authority else "your-authority",
        "code": "example-recovery-2024",
        "title": "Example children's services recovery plan",
        "kind": "recovery",
        "directorate": "Children's Services",
        "first_year": years[0],
        "last_year": years[-1],
        "status": "draft",
        "published_on": date(2024, 3, 1),
        "source_document": "Example: Cabinet report, March 2024",
        "summary": "A worked example. Replace it with your own plan, or delete its rows.",
    }
    A = Amount  # noqa: N806
    lines = [
        {
            "reference": "EX/01",
            "workstream": "Placements",
            "title": "Step down residential placements to fostering",
            "owner": "Head of Placements",
            "category": "placements",
            "status": "approved",
            "rag": "amber",
            "original_rag": "green",
            "in_revenue_budget": True,
            "recurrence": "recurring",
            "start_period": 4,
            "counts_towards_target": True,
            "order": 1,
            "amounts": {"2024/25": A.point(D(450000)), "2025/26": A.point(D(1200000))},
        },
        {
            "reference": "EX/02",
            "workstream": "Placements",
            "title": "Reduce children looked after through edge-of-care support",
            "category": "placements",
            "status": "proposed",
            "rag": "red",
            "recurrence": "recurring",
            "counts_towards_target": True,
            "order": 2,
            "amounts": {"2025/26": A.range(D(50000), D(600000)), "2026/27": A.tbc()},
        },
        {
            "reference": "EX/03",
            "workstream": "Workforce",
            "title": "Replace agency social workers with permanent staff",
            "category": "staffing",
            "status": "in_delivery",
            "rag": "green",
            "recurrence": "recurring",
            "counts_towards_target": True,
            "order": 3,
            "amounts": {"2024/25": A.point(D(129000)), "2025/26": A.point(D(181000))},
        },
    ]
    sheets = {
        s.WORKSTREAMS.name: [
            {"code": "placements", "name": "Placements", "lead": "Head of Placements", "order": 1},
            {"code": "workforce", "name": "Workforce", "order": 2},
        ],
        s.LINES.name: lines,
        s.DETAILS.name: [
            {
                "line": "EX/01",
                "year": "2024/25",
                "driver_volume": D(3),
                "driver_unit": "placements",
                "driver_unit_value": D(150000),
                "stated_text": "£450k",
            }
        ],
        s.PROGRESS.name: [
            {
                "line": "EX/03",
                "as_at": date(2024, 10, 31),
                "achieved_to_date": D(60000),
                "basis": "achieved",
                "forecast": D(120000),
                "rag": "green",
                "commentary": "Six posts filled by permanent staff.",
            }
        ],
        s.FORECASTS.name: [
            {
                "year": "2024/25",
                "period": 7,
                "scenario": "base",
                "budget": D(31500000),
                "forecast_outturn": D(33200000),
                "commentary": "Residential placements above budget.",
            }
        ],
        s.PRESSURES.name: [
            {
                "title": "Slipped step-downs",
                "kind": "slippage",
                "year": "2024/25",
                "period": 7,
                "amount": D(37500),
                "line": "EX/01",
            }
        ],
        s.FUNDING.name: [
            {
                "title": "Reserve drawn 2024/25",
                "kind": "reserve_draw",
                "year": "2024/25",
                "amount": D(1000000),
                "source": "Council general reserve",
            }
        ],
        s.KPIS.name: [
            {
                "code": "cla",
                "name": "Children looked after",
                "unit": "count",
                "direction": "lower",
                "per_child_population": True,
                "baseline_value": D(412),
                "baseline_date": date(2024, 3, 31),
                "order": 1,
            }
        ],
        s.KPI_VALUES.name: [
            {"kpi": "cla", "kind": "target", "date": date(2025, 3, 31), "value": D(395)},
            {"kpi": "cla", "kind": "actual", "date": date(2024, 9, 30), "value": D(405)},
            {
                "kpi": "cla",
                "kind": "comparator",
                "date": date(2024, 3, 31),
                "value": D(70),
                "label": "England rate per 10,000",
            },
        ],
        s.RISKS.name: [
            {
                "reference": "R1",
                "description": "Too few in-house foster carers for step-downs.",
                "mitigations": "Recruitment campaign.",
                "likelihood": 3,
                "impact": 4,
                "owner": "Head of Placements",
                "status": "open",
            }
        ],
        s.ADJUSTMENTS.name: [
            {
                "year": "2024/25",
                "factor": D("0.5"),
                "reason": "Savings start part-way through the year.",
            }
        ],
        s.STATED.name: [
            {
                "key": "planned-2024-25",
                "measure": "planned",
                "year": "2024/25",
                "label": "Savings planned for 2024/25",
                "low": D(579000),
                "high": D(579000),
                "stated_text": "£579k",
            }
        ],
        s.NARRATIVE.name: [
            {
                "order": 1,
                "heading": "Background",
                "body": "Why the plan is needed.\nWhy the previous plan fell short.",
            }
        ],
        s.COMMENTARY.name: [
            {
                "year": "2024/25",
                "period": 7,
                "role": "director",
                "body": "Placement step-downs are three months late.",
            }
        ],
        s.PLACEMENT_TYPES.name: [
            {
                "code": "residential",
                "name": "Residential",
                "kind": "residential",
                "unit_cost": D(190000),
                "cost_basis": "annual",
                "stated_text": "£190k per annum (average)",
                "order": 1,
            },
            {
                "code": "ifa",
                "name": "Independent fostering agency",
                "kind": "ifa",
                "unit_cost": D(900),
                "cost_basis": "weekly",
                "assumption": "Average weekly fee from the framework contract.",
                "order": 2,
            },
        ],
        s.PLACEMENT_COUNTS.name: [
            {"type": "residential", "year": "2024/25", "period": 1, "kind": "actual", "count": 30},
            {"type": "ifa", "year": "2024/25", "period": 1, "kind": "actual", "count": 80},
            {"type": "residential", "year": "2024/25", "period": 1, "kind": "budget", "count": 28},
            {"type": "ifa", "year": "2024/25", "period": 1, "kind": "budget", "count": 82},
        ],
        s.PLACEMENT_MOVES.name: [
            {
                "reference": "EX/01-1",
                "from_type": "residential",
                "to_type": "ifa",
                "number": 1,
                "planned_year": "2024/25",
                "planned_period": 4,
                "actual_year": "2024/25",
                "actual_period": 6,
                "line": "EX/01",
            },
            {
                "reference": "EX/01-2",
                "from_type": "residential",
                "to_type": None,
                "number": 1,
                "planned_year": "2024/25",
                "planned_period": 4,
                "line": "EX/01",
                "notes": "Out of care: return home with support.",
            },
        ],
        s.PLACEMENT_SCENARIOS.name: [
            {
                "name": "1% reduction in unit costs",
                "unit_cost_change": D(-1),
                "description": "Providers challenged to reduce their fees.",
            }
        ],
    }
    return Content(
        plan=plan, years=years, sheets=sheets, title="Plan workbook template – worked example"
    )
