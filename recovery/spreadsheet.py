"""Text bound for a spreadsheet (xlsx or CSV) that a spreadsheet would run as a formula.

Every download that carries text an officer typed goes through ``neutralise``: the plan
workbook, the scrutiny report's workbook and the list exports (OWASP "CSV injection"). Both
workbooks are written by XlsxWriter with text always written as text (never a formula).
"""

import xlsxwriter

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


def unneutralise(text: str) -> str:
    if text.startswith("'") and text.lstrip("'").startswith(FORMULA_STARTS):
        return text[1:]
    return text


def safe_value(value):
    """A cell value for export: text neutralised, numbers and dates left as they are."""
    return neutralise(value) if isinstance(value, str) else value


def xlsx_workbook(out) -> xlsxwriter.Workbook:
    """A workbook written by XlsxWriter into ``out`` (a file or BytesIO), in memory (no
    temporary files), with each cell's type the value's own: text is never turned into a
    formula, a link or a number."""
    return xlsxwriter.Workbook(
        out,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
