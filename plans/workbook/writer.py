"""Write a plan, the blank template or the worked example as a plan workbook.

Everything is written through ``write_workbook(content)``, so the export, the template and the
example have the same sheets and columns. Money cells are numbers formatted as money; text that
a spreadsheet would run as a formula gets a leading apostrophe (``neutralise``) and is written
as text, never as a formula, link or number; headers are frozen, sized and explained (in a cell
comment and on the About sheet). Totals on the Summary sheet come from ``plans.figures``, like
every other page and report. Written by XlsxWriter in memory: a 2,000-line plan's 600,000 cells
in a fraction of openpyxl's time (openpyxl still reads every workbook on import).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

from django.conf import settings
from xlsxwriter.utility import xl_cell_to_rowcol

from plans.workbook import resources as s
from recovery import fiscal
from recovery.money import Amount, AmountKind, format_money, parse_amount
from recovery.spreadsheet import XlsxBook, cell_text, excel_serial

EXAMPLE = Path(settings.BASE_DIR) / "docs" / "templates" / "plan-workbook-example.json"
BOLD, ITALIC = (("bold", True),), (("italic", True),)
WRAP = (("text_wrap", True), ("valign", "top"))
HEADER = (("bold", True), ("bg_color", "#DDE4EE"), ("text_wrap", True), ("valign", "top"))
TITLE, SHEET_TITLE = (("bold", True), ("font_size", 14)), (("bold", True), ("font_size", 12))
DATE = (("num_format", "dd/mm/yyyy"),)
VALIDATION_ROWS = 1000
ABOUT = (
    "Fill in one sheet per kind of record. Keep the sheet names and the column headers in row "
    "1; the columns can be in any order, and columns marked Required must be there.",
    "Type amounts as you would write them: 129000, £129,000, 129k, £1.2m, a range such as "
    "50k-600k, or TBC. Dates like 31/10/2017. Financial years like 2017/18.",
    "Formulas are fine: their last calculated value is imported. Do not merge cells.",
    "Import checks the whole workbook first. If anything is wrong nothing is saved, and every "
    "problem is listed with its sheet, row and column.",
    "Importing into an existing plan matches savings lines by reference and every other "
    "record by its key (shown below); records not in the workbook are left as they are.",
    "The Summary sheet (in exports) is calculated by the tracker and is not read on import.",
)
YEARS_ABOUT = (
    "2017/18, 2018/19, ...",
    None,
    "One column per financial year of the plan: the line's planned saving that year.",
    "An amount (129k, £1.2m), a range (50k-600k) or TBC; blank for none.",
)
SUMMARY_NOTE = "Calculated by the tracker when this workbook was exported; not read on import."
SUMMARY = {  # header: (attribute of plans.figures' year totals, kind)
    "Planned (low)": ("planned_low", s.MONEY),
    "Planned (high)": ("planned_high", s.MONEY),
    "TBC lines": ("tbc_lines", s.INT),
    "In-year factor": ("factor", s.SHARE),
    "In-year adjusted (low)": ("adjusted_low", s.MONEY),
    "In-year adjusted (high)": ("adjusted_high", s.MONEY),
    "Achieved": ("achieved", s.MONEY),
    "Anticipated": ("anticipated", s.MONEY),
    "Gap (low)": ("gap_low", s.MONEY),
    "Gap (high)": ("gap_high", s.MONEY),
}


@dataclass
class Content:
    """What a workbook holds, as Python values (choice values, not labels)."""

    plan: dict = field(default_factory=dict)
    years: list[str] = field(default_factory=list)
    sheets: dict[str, list[dict]] = field(default_factory=dict)  # lines: row["amounts"][year]
    summary: object = None  # a plan's totals from plans.figures, for the Summary sheet
    title: str = "Plan workbook"


class Styled(NamedTuple):
    """A value with its cell format (XlsxWriter's properties, as sorted pairs)."""

    value: object
    style: tuple


def styled(value, style: tuple = (), **properties) -> Styled | None:
    if value is None:
        return None
    if isinstance(value, Styled):  # a header over a written value: its style added
        value, style = value.value, value.style + style
    return Styled(value, tuple(sorted(dict(style + tuple(properties.items())).items())))


def written(value, kind=None, choices=None):
    """``value`` as its cell, written the way a column of ``kind`` is read back: a plain value,
    or a value carrying its number format or wrapping."""
    if value is None or value == "":
        return None
    if isinstance(value, Amount):
        if value.kind == AmountKind.POINT:
            return written(value.low, s.MONEY)
        if value.kind == AmountKind.RANGE:
            return f"{format_money(value.low)} – {format_money(value.high)}"
        return "TBC"
    if kind in s.MONEY_KINDS:
        value = Decimal(value)
        pence = value != value.to_integral_value()
        return styled(value, num_format='"£"#,##0.00' if pence else '"£"#,##0')
    if kind == s.SHARE:
        value = Decimal(value)
        return styled(value, num_format="0%" if (value * 100) % 1 == 0 else "0.00%")
    if kind in (s.NUMBER, s.VOLUME):
        return Decimal(value)
    if kind in (s.INT, s.PERIOD):
        return int(value)
    if kind == s.DATE:
        value = date.fromisoformat(value) if isinstance(value, str) else value
        return styled(value, DATE)
    if kind == s.BOOL:
        return "Y" if value else "N"
    if kind == s.CHOICE:
        return s.choice_label(choices, value)
    text = cell_text(value)
    return styled(text, WRAP) if kind == s.LONG else text


def wrapped(text):
    return styled(text, WRAP) if text else None


class Sheet:
    """A sheet written a row at a time, its cells typed as the values are (text is text)."""

    def __init__(self, book: XlsxBook, name: str, widths: list[int], freeze: str):
        self.book, self.ws, self.rows = book, book.wb.add_worksheet(name), 0
        for index, width in enumerate(widths):
            self.ws.set_column(index, index, width)
        self.ws.freeze_panes(*xl_cell_to_rowcol(freeze))

    def append(self, cells: list, comments=()) -> None:
        row, ws = self.rows, self.ws
        self.rows += 1
        for col, cell in enumerate(cells):
            if cell is None:
                continue
            fmt = None
            if isinstance(cell, Styled):
                cell, fmt = cell.value, self.book.format(cell.style)
            if isinstance(cell, str):
                ws.write_string(row, col, cell, fmt)
            elif isinstance(cell, date):
                ws.write_number(row, col, excel_serial(cell), fmt or self.book.format(DATE))
            else:
                ws.write_number(row, col, cell, fmt)
        for col, text in enumerate(comments):
            if text:
                ws.write_comment(row, col, text, COMMENT)


COMMENT = {"author": "Recovery tracker", "x_scale": 2.2, "y_scale": 1.6}


def headers(texts) -> list:
    return [styled(written(text), HEADER) for text in texts]


def validate(ws: Sheet, col: s.Column, column: int, first: int, last: int) -> None:
    """A drop-down list for a choice or Y/N column (a warning, so other text stays possible),
    on rows ``first`` to ``last`` (counted from 0) of ``column``."""
    if col.kind == s.BOOL:
        options = ["Y", "N"]
    elif col.kind == s.CHOICE:
        options = [s.choice_label(col.choices, v) for v in col.choices.values]
    else:
        return
    if len('"' + ",".join(options) + '"') <= 255:
        ws.ws.data_validation(
            first, column, last, column,
            {
                "validate": "list", "source": options, "ignore_blank": True,
                "error_type": "warning", "show_error": True,
                "error_message": f"Choose one of: {', '.join(options)}"[:255],
                "error_title": col.header[:32],
            },
        )  # fmt: skip


def help_of(col: s.Column) -> str:
    return " ".join(p for p in ["Required." if col.required else "", col.help, col.accepts] if p)


def write_about(wb, title: str) -> None:
    ws = Sheet(wb, s.ABOUT_SHEET, [28, 11, 70, 60], "A3")
    ws.append([styled(written(title), TITLE)])
    ws.append([])
    for text in [*ABOUT, None]:
        ws.append([text])
    for spec in s.SHEETS:
        ws.append([styled(spec.name, SHEET_TITLE), None, wrapped(spec.help)])
        if spec is not s.PLAN:
            keys = ", ".join(spec.by_field[k].header for k in spec.key if k in spec.by_field)
            ws.append([None, None, f"Each row is identified by: {keys}."])
        first = "Field" if spec is s.PLAN else "Column"
        ws.append(headers([first, "Required", "Meaning", "What to type"]))
        rows = [
            (c.header, "Required" if c.required else None, c.help, c.accepts) for c in spec.columns
        ]
        for name, required, meaning, accepts in rows + ([YEARS_ABOUT] if spec is s.LINES else []):
            ws.append([name, required, wrapped(meaning), wrapped(accepts)])


def write_plan_sheet(wb, plan: dict) -> None:
    ws = Sheet(wb, s.PLAN_SHEET, [22, 60, 80], s.PLAN.freeze)
    ws.append(headers(["Field", "Value", "Meaning"]))
    for row, col in enumerate(s.PLAN.columns, start=1):
        value = written(plan.get(col.field), col.kind, col.choices)
        ws.append([styled(col.header, BOLD), value, wrapped(help_of(col))])
        validate(ws, col, 1, row, row)


def write_table(wb, spec: type[s.SheetResource], rows: list[dict], years: list[str]) -> None:
    columns, years = list(spec.columns), years if spec is s.LINES else []
    widths = [max(c.width, min(len(c.header) + 2, 30)) for c in columns] + [14] * len(years)
    ws = Sheet(wb, spec.name, widths, spec.freeze)
    year_help = [f"Planned saving in {y}: an amount, a range (50k-600k) or TBC." for y in years]
    ws.append(
        headers([c.header for c in columns] + years),
        comments=[help_of(c) for c in columns] + year_help,
    )
    for record in rows:
        amounts = record.get("amounts", {})
        ws.append(
            [written(record.get(c.field), c.kind, c.choices) for c in columns]
            + [written(amounts.get(year)) for year in years]
        )
    last = max(len(rows) + 1, VALIDATION_ROWS)
    for index, col in enumerate(columns):
        validate(ws, col, index, 1, last - 1)
    ws.ws.autofilter(0, 0, max(len(rows), 1), len(widths) - 1)


def write_summary(wb, totals) -> None:
    ws = Sheet(wb, s.SUMMARY_SHEET, [12] + [16] * len(SUMMARY), "B4")
    ws.append([styled(SUMMARY_NOTE, ITALIC)])
    ws.append([])
    ws.append(headers(["Year", *SUMMARY]))
    for t in [*totals.years.values(), totals.total]:
        every = t.year == "all"  # the whole plan has no in-year factor
        cells = [
            written(None if every and name == "factor" else getattr(t, name), kind)
            for name, kind in SUMMARY.values()
        ]
        ws.append(["All years" if every else t.year, *cells])


def write_workbook(content: Content) -> bytes:
    wb = XlsxBook()
    write_about(wb, content.title)
    write_plan_sheet(wb, content.plan)
    for spec in s.SHEETS[1:]:
        write_table(wb, spec, content.sheets.get(spec.name, []), content.years)
    if content.summary:
        write_summary(wb, content.summary)
    return wb.close()


def export_plan(plan) -> bytes:
    """Every record of ``plan``, each sheet exported by its resource. A fixed number of
    queries."""
    from plans.figures import plan_totals

    sheets = {spec.name: spec().export_rows(plan) for spec in s.SHEETS[1:]}
    years = set(plan.years).union(*(row["amounts"] for row in sheets[s.LINES.name]))
    content = Content(
        plan=s.PLAN.export_rows_of(plan),
        years=sorted(years),
        sheets=sheets,
        summary=plan_totals([plan])[plan.pk],
        title=f"{plan.title} – plan workbook",
    )
    return write_workbook(content)


def export_filename(plan) -> str:
    return f"{plan.authority.slug}-{plan.code}.xlsx"


def template(*, authority=None, example: bool = False, today: date | None = None) -> bytes:
    """The blank template (four years from this financial year), or the worked example."""
    if example:
        return write_workbook(example_content(authority))
    first = fiscal.financial_year(today or date.today())
    years = fiscal.years_between(first, fiscal.year_label(fiscal.year_start_int(first) + 3))
    plan = {"authority": authority.name} if authority is not None else {}
    return write_workbook(Content(plan=plan, years=years, title="Plan workbook template"))


def example_content(authority=None) -> Content:
    """A small, made-up plan that shows every sheet in use (and imports cleanly): the data in
    docs/templates/plan-workbook-example.json, amounts typed as an officer would."""
    data = json.loads(EXAMPLE.read_text(encoding="utf-8"), parse_float=Decimal)
    data["plan"]["authority"] = authority.name if authority else "your-authority"
    for line in data["sheets"][s.LINES.name]:
        line["amounts"] = {year: parse_amount(text) for year, text in line["amounts"].items()}
    return Content(**data, title="Plan workbook template – worked example")
