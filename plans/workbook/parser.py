"""Which sheet and column is which: the pure step before the import, no database.

``parse(raw)`` finds the template's sheets in a ``RawWorkbook`` (a renamed one is named),
each sheet's header row and which column is which (by header, in any order; the Savings
lines sheet's year columns as papers print them), and returns a ``ParsedWorkbook``: each
sheet's cells in its columns' order, ready for its resource, and the problems of the
workbook's shape, each with its sheet, row and column letter. Cells are read on import
(``plans.workbook.resources``), which lists every problem at once: officers fix a workbook
once, not once per error.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from openpyxl.utils import column_index_from_string, get_column_letter

from plans.workbook import cells
from plans.workbook import resources as s
from plans.workbook.reader import HEADER_SEARCH_ROWS, MAX_ROWS, Problem, RawSheet, RawWorkbook

MAX_PROBLEMS = 1_000
EXCEL_COLUMNS = 16_384  # A to XFD
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz$"
# A day number counted from 1904 is this many days less than the same day's from 1900.
DAYS_1900_TO_1904 = 1_462


def _from_1904(value):
    """A date column's day number in a workbook counting from 1904, as the 1900 day number
    the cell reader takes (``cells.a_date``). Only numbers that are then dates the reader
    accepts are moved: any other number is left as typed, so its message quotes it."""
    if type(value) in (int, float) and 20_000 <= value + DAYS_1900_TO_1904 <= 80_000:
        return value + DAYS_1900_TO_1904
    return value


MAX_RECORDS = 110_000  # the largest plan benchmarked holds 106,000 (reader.MAX_ROWS)


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
                    "above and upload again to see the rest.",
                    more=self.dropped,
                )
            )
        return out


def problem_order(p: Problem) -> tuple:
    """Whole-file problems first, then sheet by sheet in template order, row by row."""
    names = [spec.name for spec in s.SHEETS]
    sheet = names.index(p.sheet) + 1 if p.sheet in names else (0 if not p.sheet else 99)
    if p.more:
        sheet = 1000  # the count of problems not listed goes last
    return (sheet, p.sheet, p.row or 0, len(p.column), p.column)


@dataclass
class SheetData:
    """One template sheet's cells, mapped to its columns: what its resource imports."""

    name: str
    headers: list[str]  # each mapped column's template header, then the year columns
    rows: list[tuple]  # one tuple of cell values per data row, in ``headers`` order
    numbers: list[int]  # each data row's row number in the sheet
    letters: dict[str, str]  # field name (or year) -> column letter
    years: dict[str, bool] = field(default_factory=dict)  # year column -> headed in £k
    where: dict[str, int] = field(default_factory=dict)  # Plan sheet: field -> row number

    def problem(self, number: int | None, name: str | None, message: str) -> Problem:
        spec = s.BY_NAME[s.header_key(self.name)]
        col = spec.by_field.get(name) if name else None
        return Problem(
            message,
            sheet=self.name,
            row=self.where.get(name, number) if name else number,
            column=self.letters.get(name, "") if name else "",
            header=col.header if col else (name if name in self.years else ""),
        )


@dataclass
class ParsedWorkbook:
    plan: SheetData | None
    sheets: dict[str, SheetData]  # sheet name (template spelling) -> cells
    present: set[str]  # template sheets found in the workbook
    problems: list[Problem]
    warnings: list[str]


def _find_header(
    raw: RawSheet, spec: type[s.SheetResource], search: int = HEADER_SEARCH_ROWS
) -> tuple[int, tuple] | None:
    """The sheet's header row within its first ``search`` rows: the first to name one of the
    sheet's required columns."""
    wanted = {s.header_key(c.header) for c in spec.columns if c.required} or {
        s.header_key(spec.columns[0].header)
    }
    for number, values in raw.rows:
        if number > search:
            break
        keys = {s.header_key(v) for v in values if v is not None}
        if keys & wanted:
            return number, values
    return None


def _match_column(spec: type[s.SheetResource], key: str) -> s.Column | None:
    for col in spec.columns:
        if key == s.header_key(col.header) or key in {s.header_key(a) for a in col.aliases}:
            return col
    return None


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def _parse_table(raw: RawSheet, spec, problems: Problems, warnings: list[str]) -> SheetData | None:
    found = _find_header(raw, spec)
    if found is None:
        names = ", ".join(c.header for c in spec.columns[:6])
        lower = _find_header(raw, spec, search=HEADER_SEARCH_ROWS * 10)
        if lower:  # a header further down than a title block goes: said where it is
            message = (
                f"The header row is row {lower[0]}, below the first {HEADER_SEARCH_ROWS} rows "
                "where headers are read: delete the rows above it (or move the header up)."
            )
        else:
            message = (
                f"The header row is missing: row 1 should hold the column names ({names}, "
                "...). Copy it from the template."
            )
        problems.add(message, sheet=spec.name, row=lower[0] if lower else 1)
        return None
    header_row, headers = found
    columns: dict[int, str] = {}  # index -> canonical header (a column's, or a year)
    day_numbers_from_1904: set[int] = set()  # date columns of a workbook counting from 1904
    letters: dict[str, str] = {}
    years: dict[str, bool] = {}
    unknown: list[str] = []
    in_k: set[int] = set()  # money columns whose header says £k: "Achieved to date (£k)"
    for index, value in enumerate(headers):
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        letter, key = _letter(index), s.header_key(value)
        col = _match_column(spec, key)
        if col is None and (given := cells.header_unit(value)):
            # A money column's header with its unit: read in that unit, never skipped.
            col = _match_column(spec, s.header_key(given[0]))
            unit_problem = None
            if col is not None and col.kind not in cells.MONEY_KINDS:
                unit_problem = (
                    f"{str(value).strip()!r} gives a unit of money, but {col.header} is not an "
                    f"amount: head the column {col.header!r}"
                )
            elif col is not None and given[1] == "m":
                unit_problem = f"{str(value).strip()!r} {cells.MILLIONS_HEADER}"
            if unit_problem:
                problems.add(unit_problem, sheet=spec.name, row=header_row, column=letter)
                continue
            if col is not None and given[1] == "k":
                in_k.add(index)
        elif col is None and (name := cells.name_before_unit(value)):
            # A money column's name with a unit the tracker does not read ("(k)", "in
            # thousands"): said, never a column of figures skipped.
            named = _match_column(spec, s.header_key(name))
            if named is not None and named.kind in cells.MONEY_KINDS:
                problems.add(
                    f"{value.strip()!r}: the unit is not one the tracker reads; head the column "
                    f"{named.header!r} with (£), (£k) or (£000) after it",
                    sheet=spec.name,
                    row=header_row,
                    column=letter,
                )
                continue
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
                year, years_thousands = found_year
        label = col.field if col else year
        if label and label in letters:
            problems.add(
                f"The column {str(value).strip()!r} appears twice (also in column "
                f"{letters[label]}); keep one.",
                sheet=spec.name,
                row=header_row,
                column=letter,
            )
            continue
        if col or year:
            columns[index], letters[label] = (col.header if col else year), letter
            if col and col.kind == cells.DATE and raw.date1904:
                day_numbers_from_1904.add(index)
            if year:
                years[year] = years_thousands
        else:
            unknown.append(str(value).strip())
            warnings.append(
                f"{spec.name}: the column {str(value).strip()!r} (column {letter}) "
                "is not part of the template and was not read."
            )
    missing = False
    for col in spec.columns:
        if col.required and col.field not in letters:
            missing = True
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
    if missing:
        return None
    data = SheetData(spec.name, list(columns.values()), [], [], letters, years)
    formatted = raw.percent | raw.thousands
    # Columns with values but no header: said, not dropped without a word.
    headerless = [i for i, v in enumerate(headers) if cells.is_blank(v)]
    stray: dict[int, int] = {}  # column index -> the first row with a value there
    heads = [s.header_key(headers[i]) for i in columns]
    for number, values in raw.rows:
        if number <= header_row:
            continue
        for i in (*headerless, *range(len(headers), len(values))):
            if i < len(values) and i not in stray and not cells.is_blank(values[i]):
                stray[i] = number
        row = tuple(
            _cell(raw, number, i, values[i] if i < len(values) else None, formatted, in_k)
            for i in columns
        )
        if day_numbers_from_1904:
            row = tuple(
                _from_1904(v) if i in day_numbers_from_1904 else v
                for i, v in zip(columns, row, strict=True)
            )
        if all(cells.is_blank(v) for v in row):
            continue
        if _repeats_header(row, heads):
            problems.add(
                "This row repeats the header row (pasted again, or a second table below "
                "the first): delete it.",
                sheet=spec.name,
                row=number,
            )
            continue
        data.rows.append(row)
        data.numbers.append(number)
    for i, number in sorted(stray.items()):
        warnings.append(
            f"{spec.name}: column {_letter(i)} has values (from row {number}) but no header, "
            "so it was not read; head it with a column name from the template if it should be."
        )
    if raw.hidden_sheet == "veryHidden":
        warnings.append(
            f"{spec.name}: the sheet is 'very hidden' (Excel's Unhide does not list it: a macro "
            "or another program hid it) and was read like any other; if it should not be "
            "imported, copy the sheets you want into the template and import that."
        )
    elif raw.hidden_sheet:
        warnings.append(
            f"{spec.name}: the sheet is hidden in the spreadsheet and was read like any other; "
            "delete it if it should not be imported."
        )
    if hidden_columns := [_letter(i) for i in columns if i in raw.hidden_columns]:
        warnings.append(
            f"{spec.name}: hidden column{'s' if len(hidden_columns) > 1 else ''} "
            f"{', '.join(hidden_columns)} {'were' if len(hidden_columns) > 1 else 'was'} read "
            "like any other; delete the values that should not be imported."
        )
    if hidden := [n for n in data.numbers if n in raw.hidden]:
        shown = ", ".join(map(str, hidden[:10])) + (" ..." if len(hidden) > 10 else "")
        warnings.append(
            f"{spec.name}: {len(hidden):,} hidden row{'s' if len(hidden) > 1 else ''} "
            f"({shown}) {'were' if len(hidden) > 1 else 'was'} read like any other; delete "
            "the rows that should not be imported."
        )
    if any(c[0] > header_row for c in raw.thousands) or any(years.values()) or in_k:
        warnings.append(
            f"{spec.name}: figures in cells or columns shown in £k were read as thousands of "
            "pounds (95 shown as £95k is £95,000)."
        )
    return data


def _repeats_header(row: tuple, heads: list[str]) -> bool:
    """A data row most of whose cells are their own column's header: the header row again,
    not a record with a problem in each cell."""
    texts = [(v, h) for v, h in zip(row, heads, strict=True) if isinstance(v, str) and v.strip()]
    same = sum(1 for v, h in texts if s.header_key(v) == h)
    return same >= 2 and same * 2 >= len(texts)


def _cell(raw: RawSheet, number: int, index: int, value, formatted: set, in_k: set):
    """A cell's value, marked when its cell or its column's header shows it in £k (or the
    cell as a percentage)."""
    if isinstance(value, bool) or cells.is_blank(value):
        return value
    if (number, index) in formatted or index in in_k:
        return cells.Formatted(
            value,
            percent=(number, index) in raw.percent,
            thousands=(number, index) in raw.thousands or index in in_k,
        )
    return value


def _parse_plan_sheet(raw: RawSheet, problems: Problems) -> SheetData:
    """The Plan sheet (field names in column A, values in B) as a one-row sheet."""
    spec = s.PLAN
    data = SheetData(spec.name, [], [()], [0], {})
    values: list = []
    for number, row in raw.rows:
        label = row[0] if row else None
        if cells.is_blank(label):
            if len(row) > 1 and not cells.is_blank(row[1]):
                problems.add(
                    "This value has no field name in column A.",
                    sheet=spec.name,
                    row=number,
                    column="B",
                )
            continue
        key = s.header_key(label)
        col = _match_column(spec, key)
        if col is None and key in {"field", "about", "plan"} and number <= HEADER_SEARCH_ROWS:
            continue  # the header row, or a title
        if (
            col is None
            and not data.where
            and number <= HEADER_SEARCH_ROWS
            and all(cells.is_blank(v) for v in row[1:])
        ):
            continue  # a title or an instruction above the fields ("Plan details")
        if col is None:
            fields = ", ".join(c.header for c in spec.columns)
            problems.add(
                f"{str(label).strip()!r} is not a plan field. The fields are: {fields}.",
                sheet=spec.name,
                row=number,
                column="A",
            )
            continue
        if col.field in data.where:
            problems.add(
                f"{col.header!r} is given twice (also on row {data.where[col.field]}); keep one.",
                sheet=spec.name,
                row=number,
                column="A",
            )
            continue
        data.where[col.field], data.letters[col.field] = number, "B"
        data.numbers[0] = data.numbers[0] or number
        data.headers.append(col.header)
        value = row[1] if len(row) > 1 else None
        values.append(_from_1904(value) if raw.date1904 and col.kind == cells.DATE else value)
    data.rows[0] = tuple(values)
    for col in spec.columns:
        if col.required and col.field not in data.where:
            problems.add(
                f"The {col.header!r} row is missing: put {col.header!r} in column A "
                "and its value in column B.",
                sheet=spec.name,
            )
    return data


def _at(coordinate: str, header: tuple | None = None) -> dict:
    """Where a cell like ``B12`` is, as a problem names it: its row and column, and the
    column's header where the sheet's header row (``_find_header``) names it."""
    letters = coordinate.rstrip("0123456789")
    row = int(coordinate[len(letters) :] or 0) or None
    where = {"row": row, "column": letters}
    if header and row and row > header[0]:
        index = column_index_from_string(letters) - 1
        if index < len(header[1]) and header[1][index] not in (None, ""):
            where["header"] = str(header[1][index]).strip()
    return where


def _stems(text: str) -> set[str]:
    return {w.rstrip("s") for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2}


def _looks_like(sheet: RawSheet, missing: list[type[s.SheetResource]]) -> str | None:
    """The template sheet an unknown sheet probably is (renamed), judged by its headers, then
    by its name; ``None`` if it looks like a sheet of the officer's own."""
    best = _by_headers(sheet, missing)
    if best:
        return best
    names = [spec.name for spec in missing]
    close = difflib.get_close_matches(sheet.name, names, n=1, cutoff=0.6)
    if close:
        return close[0]
    words = _stems(sheet.name)
    return next((spec.name for spec in missing if words & _stems(spec.name)), None)


def _by_headers(sheet: RawSheet, specs: list[type[s.SheetResource]]) -> str | None:
    """The template sheet whose columns ``sheet`` has (its required ones, and more than one)."""
    best, best_score = None, 1
    for spec in specs:
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
    return best


def _more_of(sheet: RawSheet, found: dict[str, RawSheet]) -> str | None:
    """The template sheet the workbook has whose every template column ``sheet`` has too:
    more of its rows ("Savings lines (2)"), not a sheet of the officer's own that shares a
    few columns."""
    for name, template_sheet in found.items():
        spec = s.BY_NAME[s.header_key(name)]
        header = _find_header(template_sheet, spec)
        if header is None:
            continue
        keys = {s.header_key(v) for v in header[1] if not cells.is_blank(v)}
        columns = {k for k in keys if _match_column(spec, k)}  # the template's, not years
        for number, values in sheet.rows:
            if number > HEADER_SEARCH_ROWS:
                break
            if len(columns) > 1 and columns <= {s.header_key(v) for v in values if v is not None}:
                return name
    return None


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
        more = None if like else _more_of(sheet, found)
        if like:
            problems.add(
                f"The sheet {sheet.name!r} is not part of the template; it looks like "
                f"the {like!r} sheet renamed. Rename it back to {like!r}.",
                sheet=sheet.name,
            )
        elif more:  # "Savings lines (2)": rows continued on a second sheet
            problems.add(
                f"The sheet {sheet.name!r} has the columns of the {more!r} sheet, which "
                f"the workbook already has. Move its rows onto {more!r}, or delete the sheet "
                "if it is a copy; only that sheet is read.",
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
        spec = s.BY_NAME[s.header_key(name)]
        header = _find_header(sheet, spec) if spec is not s.PLAN else None
        for ref in sheet.merged:
            first, last = (ref.split(":") + [ref])[:2]
            row_text = last.lstrip(_LETTERS)
            if header and row_text.isdigit() and int(row_text) < header[0]:
                continue  # a title merged across the columns above the header row holds no data
            problems.add(
                f"Cells {ref} are merged. Unmerge them (Home > Merge & Center) so "
                "each value has its own cell.",
                sheet=name,
                **_at(first),
            )
        for coordinate in sheet.formulas_without_value:
            problems.add(
                "This cell holds a formula with no calculated result (the file was "
                "written by a program that does not calculate, not saved by a "
                "spreadsheet). Open it in Excel or LibreOffice and save it, or type the "
                "value.",
                sheet=name,
                **_at(coordinate, header),
            )
        for coordinate in sheet.millions:
            problems.add(
                "This cell shows its figure in millions or billions (a number format "
                'ending "m", "million" or "bn"), but '
                "only thousands (£k) are read that way: the figure typed would be read as "
                "pounds. Type it with its unit, like £1.2m, or in pounds.",
                sheet=name,
                **_at(coordinate, header),
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
                "The sheet has data as far across as column "
                + (
                    f"{get_column_letter(sheet.last_column)} (number {sheet.last_column:,}); "
                    if sheet.last_column <= EXCEL_COLUMNS
                    else f"number {sheet.last_column:,}, past Excel's last (XFD); "
                )
                + "the template's columns end long before. Delete the columns past the table "
                "(including cells that only look empty).",
                sheet=name,
            )
    return found


def parse(raw: RawWorkbook) -> ParsedWorkbook:
    """The workbook's template sheets mapped to their columns; cells are read on import."""
    problems = Problems()
    warnings: list[str] = []
    found = _check_sheets(raw, problems, warnings)
    if raw.external_links:
        warnings.append(
            f"The workbook takes figures from {raw.external_links} other "
            f"workbook{'s' if raw.external_links > 1 else ''} through its formulas: what is "
            "imported is the value last saved in this file, which may be out of date. To be "
            "sure, open it in Excel and break the links (Data > Edit Links > Break Link) "
            "before importing."
        )
    plan = _parse_plan_sheet(found[s.PLAN_SHEET], problems) if s.PLAN_SHEET in found else None
    sheets: dict[str, SheetData] = {}
    for spec in s.SHEETS[1:]:
        if spec.name not in found or found[spec.name].last_row > MAX_ROWS + HEADER_SEARCH_ROWS:
            continue
        data = _parse_table(found[spec.name], spec, problems, warnings)
        if data is not None:
            sheets[spec.name] = data
    records = sum(len(d.rows) * (1 + len(d.years)) for d in sheets.values())
    if records > MAX_RECORDS:  # bounds the import's time whatever the sheets hold
        problems.add(
            f"The workbook holds about {records:,} records (rows, and amounts in the year "
            f"columns); at most {MAX_RECORDS:,} are imported at once. Split the plan into "
            "several workbooks, or remove the rows you do not need."
        )
        sheets = {}
    return ParsedWorkbook(plan, sheets, set(found), problems, warnings)


def sheet_rows_wanted(name: str) -> int | None:
    """For ``read_workbook``: read template sheets whole, and only the first rows of others
    (enough to see whether they are a template sheet renamed)."""
    key = s.header_key(name)
    if key in s.IGNORED_SHEETS:
        return 0
    return None if key in s.BY_NAME else HEADER_SEARCH_ROWS
