"""From cells to a validated description of the plan: the pure step, no database.

``parse(raw)`` reads every template sheet of a ``RawWorkbook`` and returns a
``ParsedWorkbook``: the plan's fields, each sheet's rows as field values, and every problem
found, each with its sheet, row, column letter and header. It never stops at the first
problem: officers fix a workbook once, not once per error.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils.text import slugify

from plans.rules import CONTEXT_YEARS
from plans.workbook import cells
from plans.workbook import schema as s
from plans.workbook.reader import HEADER_SEARCH_ROWS, MAX_ROWS, Problem, RawSheet, RawWorkbook
from recovery import fiscal
from recovery.money import Amount

MAX_PROBLEMS = 1_000


class Problems(list):
    """A list of ``Problem`` that stops growing at ``MAX_PROBLEMS`` but keeps counting."""

    dropped = 0

    def append(self, problem: Problem) -> None:
        if len(self) < MAX_PROBLEMS:
            super().append(problem)
        else:
            self.dropped += 1

    def add(self, message: str, **where) -> None:
        self.append(Problem(message, **where))

    def final(self) -> list[Problem]:
        out = sorted(self, key=problem_order)
        if self.dropped:
            out.append(
                Problem(
                    f"... and {self.dropped:,} more problems not listed. Fix those "
                    "above and upload again to see the rest."
                )
            )
        return out


def problem_order(p: Problem) -> tuple:
    """Whole-file problems first, then sheet by sheet in template order, row by row."""
    names = [spec.name for spec in s.SHEETS]
    sheet = names.index(p.sheet) + 1 if p.sheet in names else (0 if not p.sheet else 99)
    if p.message.startswith("... and "):
        sheet = 1000  # the count of problems not listed goes last
    return (sheet, p.sheet, p.row or 0, len(p.column), p.column)


@dataclass
class Row:
    """One record as the workbook gives it."""

    spec: s.SheetSpec
    number: int  # the sheet's row number (for the Plan sheet, its first row)
    position: int  # 1-based position among the sheet's data rows
    values: dict[str, Any] = field(default_factory=dict)
    present: set[str] = field(default_factory=set)  # fields that have a column (or Plan row)
    where: dict[str, tuple[int, str]] = field(default_factory=dict)  # field -> (row, letter)
    amounts: dict[str, Amount | None] = field(default_factory=dict)  # lines: year -> amount
    amount_where: dict[str, str] = field(default_factory=dict)  # year -> column letter
    bad: set[str] = field(default_factory=set)  # fields whose cell is already reported
    ok: bool = True

    def get(self, name, default=None):
        value = self.values.get(name)
        return default if value is None else value

    def problem(self, name: str | None, message: str) -> Problem:
        row, letter = self.where.get(name, (self.number, "")) if name else (self.number, "")
        column = self.spec.by_field.get(name)
        return Problem(
            message,
            sheet=self.spec.name,
            row=row,
            column=letter,
            header=column.header if column else "",
        )

    @property
    def key(self) -> tuple:
        return tuple(self.values.get(k) for k in self.spec.key)


@dataclass
class ParsedWorkbook:
    plan: Row | None
    rows: dict[str, list[Row]]  # sheet name (template spelling) -> rows
    present: set[str]  # template sheets found in the workbook
    years: list[str]  # the plan's years, if its first and last year could be read
    year_columns: dict[str, str]  # savings lines: year -> column letter
    problems: list[Problem]
    warnings: list[str]

    def sheet(self, spec: s.SheetSpec) -> list[Row]:
        return self.rows.get(spec.name, [])


def _find_header(raw: RawSheet, spec: s.SheetSpec) -> tuple[int, tuple] | None:
    wanted = {s.header_key(c.header) for c in spec.columns if c.required} or {
        s.header_key(spec.columns[0].header)
    }
    for number, values in raw.rows:
        if number > HEADER_SEARCH_ROWS:
            break
        keys = {s.header_key(v) for v in values if v is not None}
        if keys & wanted:
            return number, values
    return None


def _match_column(spec: s.SheetSpec, key: str) -> s.Column | None:
    for col in spec.columns:
        if key == s.header_key(col.header) or key in {s.header_key(a) for a in col.aliases}:
            return col
    return None


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def _parse_table(
    raw: RawSheet,
    spec: s.SheetSpec,
    problems: Problems,
    warnings: list[str],
    year_columns: dict[str, str],
) -> list[Row]:
    found = _find_header(raw, spec)
    if found is None:
        names = ", ".join(c.header for c in spec.columns[:6])
        problems.add(
            f"The header row is missing: row 1 should hold the column names ({names}, "
            "...). Copy it from the template.",
            sheet=spec.name,
            row=1,
        )
        return []
    header_row, headers = found
    columns: dict[int, s.Column] = {}
    years: dict[int, str] = {}
    thousand_columns: set[int] = set()  # year columns headed in £k: 2014/15 (£k)
    seen: dict[str, str] = {}
    unknown: list[str] = []
    for index, value in enumerate(headers):
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        letter, key = _letter(index), s.header_key(value)
        col = _match_column(spec, key)
        year = None
        if col is None and spec is s.LINES:
            try:
                found_year = cells.year_header(value)
            except cells.CellError as exc:
                # A year column whose header cannot be read is an error, never a skipped
                # column: skipping it would lose the amounts beneath it.
                problems.add(str(exc), sheet=spec.name, row=header_row, column=letter)
                continue
            if found_year:
                year, in_thousands = found_year
                if in_thousands:
                    thousand_columns.add(index)
        label = col.field if col else f"year {year}" if year else None
        if label and label in seen:
            problems.add(
                f"The column {str(value).strip()!r} appears twice (also in column "
                f"{seen[label]}); keep one.",
                sheet=spec.name,
                row=header_row,
                column=letter,
            )
            continue
        if col:
            columns[index], seen[label] = col, letter
        elif year:
            years[index], seen[label] = year, letter
            year_columns[year] = letter
        else:
            unknown.append(str(value).strip())
            warnings.append(
                f"{spec.name}: the column {str(value).strip()!r} (column {letter}) "
                "is not part of the template and was not read."
            )
    for col in spec.columns:
        if col.required and col.field not in seen:
            hint = difflib.get_close_matches(col.header, unknown, n=1, cutoff=0.5)
            extra = (
                f" Is {hint[0]!r} that column renamed? Use the template's name."
                if hint
                else " Copy the column from the template."
            )
            problems.add(
                f"The required column {col.header!r} is missing.{extra}",
                sheet=spec.name,
                row=header_row,
            )
    if any(p.sheet == spec.name and "required column" in p.message for p in problems):
        return []
    present = {c.field for c in columns.values()}
    no_result = set(raw.formulas_without_value)  # already reported; not also "required"
    rows: list[Row] = []
    for number, values in raw.rows:
        if number <= header_row:
            continue
        mapped = [
            i
            for i in list(columns) + list(years)
            if i < len(values) and not cells.is_blank(values[i])
        ]
        if not mapped:
            continue
        row = Row(spec, number, len(rows) + 1, present=set(present))
        for index, col in columns.items():
            row.where[col.field] = (number, _letter(index))
            value = values[index] if index < len(values) else None
            try:
                row.values[col.field] = cells.read(
                    col,
                    value,
                    percent=(number, index) in raw.percent,
                    thousands=(number, index) in raw.thousands,
                )
            except cells.CellError as exc:
                row.ok = False
                row.bad.add(col.field)
                problems.add(
                    str(exc), sheet=spec.name, row=number, column=_letter(index), header=col.header
                )
                continue
            if col.required and row.values[col.field] is None:
                row.ok = False
                row.bad.add(col.field)
                if f"{_letter(index)}{number}" not in no_result:
                    problems.add(
                        f"{col.header} is required.",
                        sheet=spec.name,
                        row=number,
                        column=_letter(index),
                        header=col.header,
                    )
        for index, year in years.items():
            value = values[index] if index < len(values) else None
            row.amount_where[year] = _letter(index)
            try:
                if isinstance(value, str) and value.strip().lower() in cells.CLEAR_WORDS:
                    row.amounts[year] = cells.CLEAR
                    continue
                amount = None if cells.is_blank(value) else cells.amount(value)
                if amount is not None and (
                    index in thousand_columns or (number, index) in raw.thousands
                ):
                    amount = cells.in_thousands(value, amount)
                row.amounts[year] = amount
            except cells.CellError as exc:
                row.ok = False
                problems.add(
                    str(exc), sheet=spec.name, row=number, column=_letter(index), header=year
                )
        rows.append(row)
    scaled = [c for c in raw.thousands if c[0] > header_row] or thousand_columns
    if scaled:
        warnings.append(
            f"{spec.name}: figures in cells or columns shown in £k were read as thousands of "
            "pounds (95 shown as £95k is £95,000)."
        )
    return rows


def _parse_plan_sheet(raw: RawSheet, problems: Problems) -> Row | None:
    spec = s.PLAN
    row = Row(spec, 0, 1, present=set())
    for number, values in raw.rows:
        label = values[0] if values else None
        if cells.is_blank(label):
            if len(values) > 1 and not cells.is_blank(values[1]):
                problems.add(
                    "This value has no field name in column A.",
                    sheet=spec.name,
                    row=number,
                    column="B",
                )
            continue
        key = s.header_key(label)
        if (
            key in {"field", "about", "plan"}
            and number <= HEADER_SEARCH_ROWS
            and _match_column(spec, key) is None
        ):
            continue  # the header row, or a title
        col = _match_column(spec, key)
        if col is None:
            fields = ", ".join(c.header for c in spec.columns)
            problems.add(
                f"{str(label).strip()!r} is not a plan field. The fields are: {fields}.",
                sheet=spec.name,
                row=number,
                column="A",
            )
            continue
        if col.field in row.present:
            problems.add(
                f"{col.header!r} is given twice (also on row {row.where[col.field][0]}); keep one.",
                sheet=spec.name,
                row=number,
                column="A",
            )
            continue
        row.present.add(col.field)
        row.where[col.field] = (number, "B")
        row.number = row.number or number
        try:
            row.values[col.field] = cells.read(col, values[1] if len(values) > 1 else None)
        except cells.CellError as exc:
            row.ok = False
            row.bad.add(col.field)
            problems.add(str(exc), sheet=spec.name, row=number, column="B", header=col.header)
            continue
        if col.required and row.values[col.field] is None:
            row.ok = False
            row.bad.add(col.field)
            problems.add(
                f"{col.header} is required.",
                sheet=spec.name,
                row=number,
                column="B",
                header=col.header,
            )
    for col in spec.columns:
        if col.required and col.field not in row.present:
            row.ok = False
            row.bad.add(col.field)
            problems.add(
                f"The {col.header!r} row is missing: put {col.header!r} in column A "
                "and its value in column B.",
                sheet=spec.name,
            )
    return row


def _derive_keys(spec: s.SheetSpec, row: Row, problems: Problems) -> None:
    """Keys an officer may leave blank, made as the template says."""
    v = row.values
    if spec is s.WORKSTREAMS and not v.get("code") and v.get("name"):
        v["code"] = slugify(v["name"])[:60].strip("-") or None
        if v["code"] is None:
            row.ok = False
            problems.append(
                row.problem(
                    "name",
                    "Give the workstream a code: its name has no "
                    "letters or digits to make one from.",
                )
            )
    elif spec is s.STATED and not v.get("key") and v.get("label"):
        v["key"] = slugify(f"{v['label']} {v.get('year') or ''}")[:80].strip("-")
    elif spec is s.NARRATIVE and v.get("order") is None:
        v["order"] = row.position
    elif spec is s.FORECASTS:
        v["service_area"] = v.get("service_area") or ""
        v["scenario"] = v.get("scenario") or "base"
    elif spec is s.KPI_VALUES:
        v["label"] = v.get("label") or ""
    elif spec is s.COMMENTARY:
        v["role"] = v.get("role") or "director"


def _key_text(spec: s.SheetSpec, key: tuple) -> str:
    parts = []
    for name, value in zip(spec.key, key, strict=True):
        col = spec.by_field.get(name)
        if isinstance(value, date):
            value = value.strftime("%d/%m/%Y")
        if value in ("", None):
            continue
        parts.append(f"{col.header.lower() if col else name} {value}")
    return ", ".join(parts)


def _check_duplicates(spec: s.SheetSpec, rows: list[Row], problems: Problems) -> None:
    first: dict[tuple, int] = {}
    for row in rows:
        key = row.key
        if any(k is None for k in key):
            continue
        norm = tuple(k.lower() if isinstance(k, str) else k for k in key)
        if norm in first:
            row.ok = False
            problems.append(
                row.problem(
                    spec.key[0],
                    f"Duplicate: {_key_text(spec, key)} is "
                    f"also on row {first[norm]}. Each must be unique.",
                )
            )
        else:
            first[norm] = row.number


def _check_dates(parsed: ParsedWorkbook, problems: Problems) -> None:
    """Dates and years must fall within the plan (or near it, for context figures)."""
    years = parsed.years
    if not years:
        return
    start, end = fiscal.year_start(years[0]), fiscal.year_end(years[-1])
    span = f"{years[0]} to {years[-1]}" if len(years) > 1 else years[0]
    near_start = date(start.year - CONTEXT_YEARS, 4, 1)
    near_end = date(end.year + CONTEXT_YEARS, 3, 31)

    def outside(row: Row, name: str, value, strict: bool) -> None:
        if value is None:
            return
        if isinstance(value, str):
            first, last = fiscal.year_start(value), fiscal.year_end(value)
            text = value
        else:
            first = last = value
            text = value.strftime("%d/%m/%Y")
        if strict and (first < start or last > end):
            problems.append(row.problem(name, f"{text} is outside the plan's years ({span})."))
            row.ok = False
        elif not strict and (last < near_start or first > near_end):
            problems.append(
                row.problem(
                    name,
                    f"{text} is more than {CONTEXT_YEARS} years "
                    f"outside the plan's years ({span}); is it a typing "
                    "slip?",
                )
            )
            row.ok = False

    for year, letter in parsed.year_columns.items():
        if year in years:
            continue
        for row in parsed.sheet(s.LINES):
            if row.amounts.get(year) is not None:
                row.ok = False
                problems.add(
                    f"The plan runs {span}, so it has no {year}: move the amount to a "
                    "year of the plan, or change the plan's first or last year.",
                    sheet=s.LINES.name,
                    row=row.number,
                    column=letter,
                    header=year,
                )
    strict = {
        s.PROGRESS.name: ("as_at",),
        s.DETAILS.name: ("year",),
        s.ADJUSTMENTS.name: ("year",),
        s.COMMENTARY.name: ("year",),
    }
    for spec in s.SHEETS[1:]:
        for row in parsed.sheet(spec):
            for col in spec.columns:
                if col.kind in (s.DATE, s.YEAR):
                    outside(
                        row,
                        col.field,
                        row.values.get(col.field),
                        col.field in strict.get(spec.name, ()),
                    )
    if parsed.plan:
        for name in ("approved_on", "published_on"):
            outside(parsed.plan, name, parsed.plan.values.get(name), strict=False)


def _stems(text: str) -> set[str]:
    return {w.rstrip("s") for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2}


def _looks_like(sheet: RawSheet, missing: list[s.SheetSpec]) -> str | None:
    """The template sheet an unknown sheet probably is (renamed), judged by its headers, then
    by its name; ``None`` if it looks like a sheet of the officer's own."""
    best, best_score = None, 1
    for spec in missing:
        if spec is s.PLAN:
            continue
        for number, values in sheet.rows:
            if number > HEADER_SEARCH_ROWS:
                break
            keys = {s.header_key(v) for v in values if v is not None}
            wanted = {s.header_key(c.header) for c in spec.columns}
            required = {s.header_key(c.header) for c in spec.columns if c.required}
            score = len(keys & wanted)
            if required <= keys and score > best_score:
                best, best_score = spec.name, score
    if best:
        return best
    names = [spec.name for spec in missing]
    close = difflib.get_close_matches(sheet.name, names, n=1, cutoff=0.6)
    if close:
        return close[0]
    words = _stems(sheet.name)
    return next((spec.name for spec in missing if words & _stems(spec.name)), None)


def _check_sheets(raw: RawWorkbook, problems: Problems, warnings: list[str]) -> dict:
    """Template sheets by their template name; unknown sheets reported or noted."""
    found: dict[str, RawSheet] = {}
    unknown: list[RawSheet] = []
    for name, sheet in raw.sheets.items():
        key = s.header_key(name)
        if key in s.IGNORED_SHEETS:
            continue
        spec = s.BY_NAME.get(key)
        if spec is None:
            unknown.append(sheet)
        elif spec.name in found:
            problems.add(f"There are two {spec.name!r} sheets; keep one.", sheet=name)
        else:
            found[spec.name] = sheet
    missing = [spec for spec in s.SHEETS if spec.name not in found]
    for sheet in unknown:
        if not sheet.has_data:
            continue
        like = _looks_like(sheet, missing)
        if like:
            problems.add(
                f"The sheet {sheet.name!r} is not part of the template; it looks like "
                f"the {like!r} sheet renamed. Rename it back to {like!r}.",
                sheet=sheet.name,
            )
        else:
            warnings.append(
                f"The sheet {sheet.name!r} is not part of the template and was not read."
            )
    for spec in s.SHEETS:
        if spec.name not in found and spec.required:
            problems.add(
                f"The workbook has no {spec.name!r} sheet. Every plan workbook needs "
                "it: start from the template and keep the sheet names.",
                sheet=spec.name,
            )
        elif spec.name not in found:
            warnings.append(
                f"There is no {spec.name!r} sheet, so nothing of that kind is imported or changed."
            )
    for name, sheet in found.items():
        for ref in sheet.merged:
            first = ref.split(":")[0]
            letters = first.rstrip("0123456789")
            problems.add(
                f"Cells {ref} are merged. Unmerge them (Home > Merge & Center) so "
                "each value has its own cell.",
                sheet=name,
                row=int(first[len(letters) :] or 0) or None,
                column=letters,
            )
        for coordinate in sheet.formulas_without_value:
            letters = coordinate.rstrip("0123456789")
            problems.add(
                "This cell holds a formula with no saved result (the file was not "
                "saved by a spreadsheet that calculates). Open it in Excel or "
                "LibreOffice and save it, or type the value.",
                sheet=name,
                row=int(coordinate[len(letters) :]),
                column=letters,
            )
        if sheet.last_row > MAX_ROWS + HEADER_SEARCH_ROWS:
            problems.add(
                f"The sheet has data down to row {sheet.last_row:,}; a sheet may hold "
                f"at most {MAX_ROWS:,} rows. Delete the rows you do not need "
                "(including rows that only look empty).",
                sheet=name,
            )
        if sheet.last_column > 100:
            problems.add(
                f"The sheet has data in {sheet.last_column} columns; the template has "
                "far fewer. Delete the columns you added.",
                sheet=name,
            )
    return found


def parse(raw: RawWorkbook) -> ParsedWorkbook:
    problems = Problems()
    warnings: list[str] = []
    found = _check_sheets(raw, problems, warnings)
    year_columns: dict[str, str] = {}
    plan = _parse_plan_sheet(found[s.PLAN_SHEET], problems) if s.PLAN_SHEET in found else None
    rows: dict[str, list[Row]] = {}
    for spec in s.SHEETS[1:]:
        if spec.name not in found or found[spec.name].last_row > MAX_ROWS + HEADER_SEARCH_ROWS:
            continue
        sheet_rows = _parse_table(
            found[spec.name], spec, problems, warnings, year_columns if spec is s.LINES else {}
        )
        for row in sheet_rows:
            _derive_keys(spec, row, problems)
        _check_duplicates(spec, sheet_rows, problems)
        rows[spec.name] = sheet_rows
    years: list[str] = []
    if plan and plan.values.get("first_year") and plan.values.get("last_year"):
        first, last = plan.values["first_year"], plan.values["last_year"]
        if first > last:
            plan.ok = False
            problems.append(
                plan.problem("last_year", f"The last year {last} is before the first year {first}.")
            )
        elif fiscal.year_start_int(last) - fiscal.year_start_int(first) > 20:
            plan.ok = False
            problems.append(
                plan.problem(
                    "last_year",
                    f"{first} to {last} is more than 20 years; is one of them a typing slip?",
                )
            )
        else:
            years = fiscal.years_between(first, last)
    parsed = ParsedWorkbook(plan, rows, set(found), years, year_columns, problems, warnings)
    _check_dates(parsed, problems)
    parsed.problems = problems.final()
    return parsed


def sheet_rows_wanted(name: str) -> int | None:
    """For ``read_workbook``: read template sheets whole, and only the first rows of others
    (enough to see whether they are a template sheet renamed)."""
    key = s.header_key(name)
    if key in s.IGNORED_SHEETS:
        return 0
    return None if key in s.BY_NAME else HEADER_SEARCH_ROWS
