"""Text bound for a spreadsheet (xlsx or CSV) that a spreadsheet would run as a formula.

Every download that carries text an officer typed goes through ``neutralise``: the plan
workbook, the scrutiny report's workbook and the list exports (OWASP "CSV injection"). The plan
workbook writes its styled cells with ``styled``.
"""

from copy import copy

from openpyxl.cell import WriteOnlyCell

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


def styled(ws, value, **style) -> WriteOnlyCell:
    """A write-only cell with ``style`` (font, fill, number format...). Each style is
    registered with the workbook once, and the cells that share it share its entry: setting
    the styles cell by cell looks each up in the workbook's tables, most of the time of a
    long sheet's rows."""
    cell = WriteOnlyCell(ws, value)
    known = ws.parent.__dict__.setdefault("_styles_written", {})
    key = tuple(style.items())
    if key in known:
        cell._style = copy(known[key])
        return cell
    for name, setting in style.items():
        setattr(cell, name, setting)
    known[key] = copy(cell._style)
    return cell
