"""What a spreadsheet download is made of, stated once for every download.

Every download that carries text an officer typed goes through ``neutralise``: the plan
workbook, the scrutiny report's workbook and the list exports (OWASP "CSV injection"). The two
workbooks are ``XlsxBook``s (XlsxWriter, text always written as text, never a formula), their
text is ``cell_text`` and their dates ``excel_serial``.
"""

import io
from datetime import date, datetime

import xlsxwriter
from django.utils import timezone
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The most a spreadsheet cell holds (Excel's limit): longer text is refused on the way in and
# cut on the way out.
MAX_CELL_CHARACTERS = 32_767


def neutralise(text: str) -> str:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe.

    Text that already starts with an apostrophe before such a character gets one more, so that
    ``unneutralise`` gives back exactly what was exported.
    """
    if text.lstrip("'").startswith(FORMULA_STARTS):
        return "'" + text
    return text


def cell_problem(text: str) -> str:
    """Why a spreadsheet cell could not hold ``text`` as a download writes it (neutralised),
    or "": the one limit of every text an officer types, on the web and in a workbook, so
    that every record exports whole and imports back unchanged."""
    if len(neutralise(text)) <= MAX_CELL_CHARACTERS:
        return ""
    limit = MAX_CELL_CHARACTERS
    if len(text) <= limit:  # within the limit, but for the apostrophe that neutralises it
        return (
            f"This text is {len(text):,} characters long and starts with "
            f"{text.lstrip(chr(39))[:1]!r}, which a spreadsheet would read as a formula: a "
            f"spreadsheet cell holds it as text in at most {limit - 1:,} characters."
        )
    return (
        f"This text is {len(text):,} characters long; a spreadsheet cell holds at most "
        f"{limit:,}, so it could not be downloaded whole. Shorten it."
    )


def fits_a_cell(text: str) -> None:
    """The model fields' validator of ``cell_problem``."""
    problem = cell_problem(text or "")
    if problem:
        from django.core.exceptions import ValidationError

        raise ValidationError(problem, code="max_length")


def unneutralise(text: str) -> str:
    if text.startswith("'") and text.lstrip("'").startswith(FORMULA_STARTS):
        return text[1:]
    return text


def safe_value(value):
    """A cell value for export: text neutralised, numbers and dates left as they are."""
    return neutralise(value) if isinstance(value, str) else value


def cell_text(value) -> str:
    """Text as a workbook cell holds it: control characters a workbook cannot hold dropped,
    neutralised, and cut to what a cell holds."""
    return neutralise(ILLEGAL_CHARACTERS_RE.sub("", str(value)))[:MAX_CELL_CHARACTERS]


EXCEL_EPOCH = date(1899, 12, 30)


def excel_serial(value: date) -> float:
    """A date (or a date and time, in local time) as the serial number a spreadsheet stores,
    worked out here: XlsxWriter's general conversion cost a 2,000-line plan's workbook a
    tenth of a second."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = timezone.localtime(value).replace(tzinfo=None)
        seconds = value.hour * 3600 + value.minute * 60 + value.second
        return (value.date() - EXCEL_EPOCH).days + seconds / 86400
    return (value - EXCEL_EPOCH).days


class XlsxBook:
    """A workbook written by XlsxWriter in memory (no temporary files), with each cell's
    type the value's own: text is never turned into a formula, a link or a number. Each cell
    format (XlsxWriter's properties) is registered once and shared by the cells that use it."""

    def __init__(self):
        self.out = io.BytesIO()
        self.wb = xlsxwriter.Workbook(
            self.out,
            {
                "in_memory": True,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
            },
        )
        self._formats = {}

    def format(self, style):
        """The format of ``style``: a dict of properties, or their (name, value) pairs."""
        key = tuple(sorted(dict(style).items()))
        if key not in self._formats:
            self._formats[key] = self.wb.add_format(dict(key))
        return self._formats[key]

    def close(self, **properties) -> bytes:
        if properties:
            self.wb.set_properties(properties)
        self.wb.close()
        return self.out.getvalue()
