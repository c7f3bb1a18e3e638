"""One cell at a time: what an officer typed, read into a value the model accepts.

Every reader takes the raw cell value openpyxl gives (``str``, ``int``, ``float``, ``bool``,
``datetime`` or ``None``) and returns the value, ``None`` for a blank cell, or raises
``CellError`` with a message written for the officer. Money goes through
``recovery.money``; floats never become money except through ``parse_money`` (by repr).
"""

from __future__ import annotations

import calendar
import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.text import slugify
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.utils.datetime import from_excel

from plans.rules import one_line, without_controls
from recovery import fiscal
from recovery.money import Amount, MoneyError, parse_amount, parse_money
from recovery.spreadsheet import (  # noqa: F401
    FORMULA_STARTS,
    MAX_CELL_CHARACTERS,
    cell_problem,
    neutralise,
    unneutralise,
)

MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
MONTHS["sept"] = 9


# Column kinds: how a cell of a column is read (and written back by the writer).
TEXT, LONG, SLUG, MONEY, SIGNED_MONEY, NUMBER, VOLUME, SHARE = (
    "text",
    "long",
    "slug",
    "money",
    "signed_money",
    "number",
    "volume",
    "share",
)
INT, DATE, YEAR, PERIOD, CHOICE, BOOL, REF = (
    "int",
    "date",
    "year",
    "period",
    "choice",
    "bool",
    "ref",
)
MONEY_KINDS = {MONEY, SIGNED_MONEY}


_NOT_KEY = re.compile(r"[^a-z0-9%£]")


def header_key(text) -> str:
    """How headers and choice labels are compared: lower case, letters and digits only."""
    return _NOT_KEY.sub("", str(text or "").lower())


def choice_label(choices, value: str) -> str:
    """The label written to the workbook. Commas are dropped so the label can sit in a
    spreadsheet drop-down list (``Rate per 10000 children``); reading ignores them anyway."""
    return _labels(choices)[value]


@functools.cache
def _labels(choices) -> dict[str, str]:
    return {value: str(label).replace(",", "") for value, label in choices.choices}


class CellError(ValueError):
    """A cell that cannot be read; the message says what to type instead."""


# Why a row that refers to a wrong row is refused: the wrong row is listed, not this one.
REPORTED = "(reported on its own row)"


# Excel writes characters XML cannot hold as _xHHHH_ (a pasted carriage return is _x000D_),
# and a literal "_x" sequence as _x005F_x...; openpyxl leaves both as they are.
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def unescape(text: str) -> str:
    """Excel's ``_xHHHH_`` escapes decoded: ``Line one_x000D_`` is ``Line one\r``. Two
    escapes of the halves of a character beyond 16 bits (an emoji: ``_xD83D__xDE00_``) are
    that character; a half alone is no character, and is refused."""
    if "_x" not in text:
        return without_controls(text)
    decoded = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    if "\x00" in decoded:  # _x0000_: no spreadsheet holds it, and PostgreSQL text cannot
        raise CellError("holds a NUL character (_x0000_), which no cell holds: retype the text")
    try:
        return without_controls(decoded.encode("utf-16", "surrogatepass").decode("utf-16"))
    except UnicodeDecodeError:
        raise CellError(
            "holds half of a character (an escape such as _xD83D_ with nothing to pair "
            "with): retype the text in a spreadsheet and save it again"
        ) from None


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _describe(value) -> str:
    text = str(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def text(value, *, max_length: int | None = None, long: bool = False) -> str:
    """Text as typed. Numbers typed in a text column become their digits (34, not 34.0)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        value = "Y" if value else "N"
    elif isinstance(value, float) and value.is_integer():
        value = str(int(value))
    elif isinstance(value, datetime):
        value = value.strftime("%d/%m/%Y") if value.time() == time() else value.isoformat(" ")
    elif isinstance(value, date):
        value = value.strftime("%d/%m/%Y")
    value = str(value)
    if len(value) > MAX_CELL_CHARACTERS:
        raise CellError(
            f"holds {len(value):,} characters, more than a spreadsheet cell can hold "
            f"({MAX_CELL_CHARACTERS:,}); the file was not saved by a spreadsheet as typed"
        )
    value = unneutralise(unescape(value)).strip()
    if problem := cell_problem(value):  # as the export would write it back
        raise CellError(problem)
    if not long and ("\n" in value or "\r" in value):
        # A short field is one line; stray line breaks from pasting become spaces.
        value = re.sub(r"\s*[\r\n]+\s*", " ", value)
    if max_length is not None and len(value) > max_length:
        raise CellError(
            f"{_describe(value)} is {len(value):,} characters long; at most {max_length:,} fit here"
        )
    return value


# Dashes a word processor or mail client writes for a typed hyphen (non-breaking, en, em,
# minus...): a code holding them looks right and matches nothing.
_NOT_HYPHENS = re.compile("[\u2010-\u2015\u2212\ufe58\ufe63\uff0d]")


def slug(value, *, max_length: int | None = None) -> str:
    raw = key_text(value, max_length=max_length)
    if not re.fullmatch(r"[-a-zA-Z0-9_]+", raw):
        hyphened = _NOT_HYPHENS.sub("-", raw)
        if re.fullmatch(r"[-a-zA-Z0-9_]+", hyphened):
            raise CellError(
                f"{_describe(raw)} has dashes that are not hyphens (as Word or Outlook writes "
                f"them when text is pasted): retype them as hyphens, {hyphened}"
            )
        suggestion = slugify(hyphened) or "a-short-name"
        raise CellError(
            f"{_describe(raw)} is not a code: use letters, digits and hyphens only, "
            f"e.g. {suggestion}"
        )
    return raw


def _not_a_date_or_flag(value, what: str) -> None:
    if isinstance(value, bool):
        raise CellError(f"holds TRUE/FALSE, not {what}")
    if isinstance(value, (datetime, date)):
        raise CellError(f"holds a date, not {what}")


def money(value, *, allow_negative: bool = False) -> Decimal:
    _not_a_date_or_flag(value, "an amount of money")
    _no_dash(value)
    if isinstance(value, str) and value.strip().lower() in {"tbc", "tbd", "to be confirmed"}:
        raise CellError(
            "TBC is only allowed in the year columns of the Savings lines sheet; "
            "give an amount or leave the cell blank"
        )
    try:
        return parse_money(
            value.strip() if isinstance(value, str) else value, allow_negative=allow_negative
        )
    except MoneyError as exc:
        raise CellError(str(exc)) from None
    except ArithmeticError:  # recovery.money lets InvalidOperation out for 29+ digit figures
        raise CellError(f"{_describe(value)} is not a usable amount") from None


_PLAIN_NUMBER = re.compile(r"\s*\d[\d,]*(\.\d+)?\s*([-–]\s*\d[\d,]*(\.\d+)?\s*)?")
# A unit in a money column's header, after or before its name: "Achieved to date (£k)",
# "Budget £'000", "(£000's)", "(£ thousands)", "£k 2014/15", "Forecast (£m)". Only a pound
# sign, GBP or thousands of pounds ('000) says money: a bare "k" or "m" after a name is a
# word's end. The one list of units, for year headers and every other money column.
_UNIT = r"£\s*['’]?000['’]?s?|£\s*k|£\s*thousands?|£\s*m(?:n|illions?)?|£|['’]000['’]?s?|gbp"
# A year header with a unit: 2014/15 (£), 2014/15 £k, 14/15 (£000); after a year, a bare
# "k" or "000" is a unit too.
_HEADER_UNIT = re.compile(rf"\s*\(?\s*({_UNIT}|000s?|k)\s*\)?\s*$", re.IGNORECASE)
_CALENDAR_YEAR = re.compile(r"(?:fy\s*)?\d{4}", re.IGNORECASE)
_SAVINGS_WORDS = re.compile(
    r"^\s*(planned\s+)?(savings?|targets?)(\s+(target|planned))?\s*[:\-–]?\s*"
    r"|\s*[:\-–]?\s*(planned\s+)?(savings?|targets?)(\s+target)?\s*$",
    re.IGNORECASE,
)
_YEAR_LIKE = re.compile(r"(^\s*fy)|(\d{2,4}\s*[/\-–]\s*\d{2,4})", re.IGNORECASE)
# A header of years alone, however joined: 2017.18, 2017_18, 2017 to 2018, Apr17-Mar18.
_YEARS_ONLY = re.compile(
    r"\s*(apr(il)?\s*)?\d{2,4}\s*([/\-–._ ]|to)?\s*(mar(ch)?\s*)?\d{2,4}\s*", re.IGNORECASE
)


_UNIT_AFTER = re.compile(rf"\s*[(\[]?\s*({_UNIT})\s*[)\]]?\s*$", re.IGNORECASE)
_UNIT_BEFORE = re.compile(rf"^\s*[(\[]?\s*({_UNIT})\s*[)\]]?\s+(?=\S)", re.IGNORECASE)
_FOOTNOTE_MARKS = re.compile(r"\s*[*†‡]+\s*$")
MILLIONS_HEADER = (
    "gives its figures in £m, which are not read from a header: head the column in £k "
    "(2017/18 £k) and type thousands, or type each figure with its unit (£1.2m)"
)


# Where a header's name ends and words of a unit may start: "Achieved to date (k)",
# "Budget in thousands", "Forecast £ thousands".
_BEFORE_UNIT = re.compile(r"\s*[(\[£]|\s+in\s+", re.IGNORECASE)


def name_before_unit(value) -> str | None:
    """The name of a header that goes on with other words, perhaps of a unit that
    ``header_unit`` does not read (``Achieved to date (k)``); None for a header of a name
    alone."""
    if not isinstance(value, str):
        return None
    name = _BEFORE_UNIT.split(value)[0]
    return name if name and name != value.strip() else None


def _scale(unit: str) -> str:
    """A header unit's scale: "k" (thousands), "m" (millions) or "" (pounds)."""
    unit = unit.lower()
    if "000" in unit or "k" in unit or "thousand" in unit:
        return "k"
    return "m" if "m" in unit else ""


def header_unit(value) -> tuple[str, str] | None:
    """A header's name and the money unit it gives: ``("Achieved to date", "k")`` for
    ``Achieved to date (£k)``; the unit is "k" (thousands), "m" (millions) or "" (pounds).
    None when the header gives no unit."""
    if not isinstance(value, str):
        return None
    for pattern in (_UNIT_AFTER, _UNIT_BEFORE):
        found = pattern.search(value)
        if found and (core := (value[: found.start()] + value[found.end() :]).strip()):
            return core, _scale(found.group(1))
    return None


def year_header(value) -> tuple[str, bool] | None:
    """A savings-line year column header: ``(year, in_thousands)``, None for a header that
    names no year, ``CellError`` for one that looks like a year but is not (2014/16)."""
    if isinstance(value, (datetime, date)):
        # Excel turns a header typed as Apr-17 or 1/4/2017 into a date.
        raise CellError(
            f"holds the date {value:%d/%m/%Y}, not a financial year; a year column is headed "
            "by its financial year written as text, like 2017/18"
        )
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    raw = str(int(value) if isinstance(value, float) and value.is_integer() else value).strip()
    if _CALENDAR_YEAR.fullmatch(raw) and 1990 <= int(raw[-4:]) <= 2100:
        start = int(raw[-4:])
        raise CellError(
            f"{raw!r} is a calendar year, not a financial year: head the column "
            f"{start - 1}/{start % 100:02d} or {start}/{(start + 1) % 100:02d}"
        )
    if raw.lower().startswith(("total", "sub-total", "subtotal")):
        return None  # "Total 2017/18-2019/20": the officer's own sum of the years, not a year
    raw = _FOOTNOTE_MARKS.sub("", raw)  # "2014/15*": a paper's footnote mark
    if (given := header_unit(raw)) and _YEAR_LIKE.search(given[0]):
        if given[1] == "m":
            raise CellError(f"{_describe(raw)} {MILLIONS_HEADER}")
        if _UNIT_BEFORE.search(raw):  # "£k 2014/15": the unit first, as ledgers print it
            raw = f"{given[0]} ({_UNIT_BEFORE.search(raw).group(1)})"
    unit = _HEADER_UNIT.search(raw)
    thousands = bool(unit and _scale(unit.group(1)) == "k")
    core = raw[: unit.start()] if unit else raw
    # "Savings 2017/18", "2017/18 target": words that say the column is the year's savings.
    core = _SAVINGS_WORDS.sub("", core) if _YEAR_LIKE.search(core) else core
    if not (_YEAR_LIKE.search(raw) or _YEARS_ONLY.fullmatch(core)):
        return None
    try:
        return fiscal.parse_year(core), thousands
    except ValidationError as exc:
        words = _YEAR_LIKE.sub(" ", core).strip(" -–:()")
        if re.search(r"[a-z]{3}", words, re.IGNORECASE) and not _YEARS_ONLY.fullmatch(core):
            # "Budget 2017/18", "Gross spend 2017/18": a column of something else for a year.
            raise CellError(
                f"{_describe(raw)} names a year with other words, so it is not read as that "
                "year's savings: head a year's savings column with the year (2017/18, 2017/18 £k "
                "or Savings 2017/18), and move any other figures to a sheet of your own"
            ) from None
        why = exc.messages[0]
        raise CellError(
            f"{_describe(raw)} looks like a year column but is not a financial year"
            + (f": {why}" if "write it like" in why else f" ({why}); write it like 2014/15")
        ) from None


def in_thousands(value):
    """A figure typed as a plain number where the cell or column shows £k (95 shown as £95k)
    is thousands of pounds: it is read as typed with "k" after it, so 12.3456 is £12,345.60
    (scaled before it is checked for fractions of a penny, not rounded first). Text with its
    own unit (£95,000, 95k, £1.2m) is read as typed."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        figure = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        return f"{figure:f}k" if figure.is_finite() else value
    if isinstance(value, str) and _PLAIN_NUMBER.fullmatch(value):
        return value.strip() + "k"
    return value


PERCENT_MONEY = (
    "this cell shows its figure as a percentage, but the column takes pounds: format the "
    "cell as a number or currency and type the amount"
)


_DASHES = {"-", "–", "—", "−"}  # a dash alone: "nothing" in a printed table, not a figure


def _no_dash(value) -> None:
    if isinstance(value, str) and value.strip() in _DASHES:
        raise CellError(
            f"{value.strip()!r} has no figure in it: leave the cell blank for none, or type 0"
        )
    if isinstance(value, str) and value.strip().lower() in {"clear", "delete", "remove"}:
        raise CellError(
            f"{value.strip()!r} is not a figure: to remove the figure recorded, type (clear) "
            "with its brackets; a blank cell leaves it as it is"
        )


def amount(value) -> Amount:
    _not_a_date_or_flag(value, "a planned saving")
    _no_dash(value)
    if isinstance(value, str) and value.strip() in ERROR_CODES:
        raise CellError(
            f"holds the spreadsheet error {value.strip()}; correct the formula or type the value"
        )
    try:
        return parse_amount(value)
    except MoneyError as exc:
        raise CellError(str(exc)) from None
    except ArithmeticError:  # see money() above
        raise CellError(f"{_describe(value)} is not a usable amount") from None


def number(
    value, *, places: int = 2, max_digits: int = 12, percent: bool = False, what: str = "a number"
) -> Decimal:
    """A plain number (KPI values, driver volumes), rounded to ``places`` decimal places.

    ``percent`` is set when the cell is formatted as a percentage: Excel stores 12.5% as
    0.125, and KPI values are kept as 12.5.
    """
    _not_a_date_or_flag(value, what)
    if isinstance(value, (int, float)):
        result = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if percent:
            result *= 100
    else:
        # "12.5%" typed as text is 12.5: a KPI's unit column says it is a percentage.
        raw = str(value).strip().replace(",", "").replace("\u00a0", "").rstrip("%").strip()
        try:
            result = Decimal(raw)
        except InvalidOperation:
            raise CellError(f"{_describe(value)} is not {what}") from None
    if not result.is_finite():
        raise CellError(f"{_describe(value)} is not {what}")
    # Checked before rounding (quantizing 1e26 to pence overflows Decimal's precision), by
    # the exponent alone: any arithmetic on 1e999999999, even abs(), overflows.
    if result and result.adjusted() >= max_digits - places:
        raise CellError(f"{_describe(value)} is too large for {what}")
    return result.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def share(value) -> Decimal:
    """A share from 0 to 1; ``50%`` and a percentage-formatted 0.5 both mean one half."""
    _not_a_date_or_flag(value, "a share")
    if isinstance(value, str) and value.strip().endswith("%"):
        result = number(value.strip().rstrip("%"), places=6, max_digits=12, what="a share") / 100
    else:
        result = number(value, places=6, max_digits=12, what="a share")
    if not Decimal(0) <= result <= Decimal(1):
        raise CellError(f"{result.normalize():f} is not a share between 0 and 1 (0% to 100%)")
    if result != result.quantize(Decimal("0.0001")):
        raise CellError(f"{result.normalize():f} has more than four decimal places")
    return result.quantize(Decimal("0.0001"))


def integer(value, *, low: int | None = None, high: int | None = None) -> int:
    _not_a_date_or_flag(value, "a whole number")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+(\.0+)?\s*", value):
        value = int(Decimal(value))  # Decimal strips what \s matched (\x1f too); float does not
    if not isinstance(value, int):
        raise CellError(f"{_describe(value)} is not a whole number")
    if (low is not None and value < low) or (high is not None and value > high):
        raise CellError(f"{value} is not between {low} and {high}")
    return value


_DATE_FORMATS = (
    "%d/%m/%Y",
    "%d/%m/%y",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%d %b %Y",
    "%d %B %Y",
    "%d %b %y",
    "%d %B %y",
    "%d-%b-%Y",  # 31-Oct-2017 and 31-Oct-17: Excel's own date display, pasted as text
    "%d-%B-%Y",
    "%d-%b-%y",
)


def a_date(value) -> date:
    if isinstance(value, bool):
        raise CellError("holds TRUE/FALSE, not a date")
    if isinstance(value, datetime):
        if value.time() != time():
            raise CellError(f"{value:%d/%m/%Y %H:%M} has a time of day; give the date alone")
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)):
        # A date whose cell lost its date format shows as Excel's day number, e.g. 43039.
        if 20000 <= value <= 80000 and float(value).is_integer():
            return from_excel(value).date()
        raise CellError(f"{value} is a number, not a date; write it like 31/10/2017")
    raw = re.sub(r"\s+", " ", str(value).strip()).replace("Sept ", "Sep ")
    raw = re.sub(r"\b(\d{1,2})(?:st|nd|rd|th)\b", r"\1", raw, flags=re.IGNORECASE)  # 31st
    # A date pasted from a finance system with its time: midnight is the date alone.
    timed = re.fullmatch(r"(.*\d)[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?", raw)
    if timed:
        if any(int(part or 0) for part in timed.groups()[1:]):
            raise CellError(f"{_describe(value)} has a time of day; give the date alone")
        raw = timed.group(1)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    # A month without a day: Oct 2017, and Oct-17 / Oct 17 as committee papers print it.
    match = re.fullmatch(r"([A-Za-z]+)\.?[ -](\d{4}|\d{2})", raw)
    if match and match.group(1).lower() in MONTHS and int(match.group(2)) >= 1:
        # A month without a day is its last day (docs/fixture-conventions.md). (Year 0 is no
        # year: "Jan 0000" is refused below, not a traceback.)
        digits = match.group(2)
        year = int(digits) if len(digits) == 4 else 2000 + int(digits)
        month = MONTHS[match.group(1).lower()]
        return date(year, month, calendar.monthrange(year, month)[1])
    raise CellError(f"{_describe(value)} is not a date; write it like 31/10/2017")


def year(value) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise CellError(f"{value} is not a financial year; write it like 2017/18 (as text)")
    _not_a_date_or_flag(value, "a financial year")
    try:
        return fiscal.parse_year(str(value).strip())
    except ValidationError as exc:
        if exc.code == "fy_range":  # a year, but none a plan can have: a typing slip?
            raise CellError(exc.messages[0]) from None
        raise CellError(
            f"{_describe(value)} is not a financial year; write it like 2017/18"
        ) from None


def period(value) -> int:
    _not_a_date_or_flag(value, "a period")
    if isinstance(value, str):
        raw = value.strip().lower().rstrip(".")
        if raw in MONTHS:
            return (MONTHS[raw] - 4) % 12 + 1
        # P7, Period 7, Month 7, M7, Mth 7: as finance reports name the month.
        match = re.fullmatch(r"(?:p|period|m|mth|month)?\s*(\d{1,2})", raw)
        if match:
            value = int(match.group(1))
    try:
        return integer(value, low=1, high=12)
    except CellError:
        raise CellError(
            f"{_describe(value)} is not a period: give 1 (April) to 12 (March), P7 or a month name"
        ) from None


_TRUE = {"y", "yes", "true", "1", "x", "✓", "✔"}
_FALSE = {"n", "no", "false", "0"}


def flag(value) -> bool:
    if isinstance(value, bool):
        return value
    raw = str(value).strip().lower()
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise CellError(f"{_describe(value)} is not Y or N")


@functools.cache
def _choice_keys(choices) -> dict[str, str]:
    """Each choice by its value and its label, compared as headers are."""
    keys = {}
    for val, label in reversed(choices.choices):
        keys[header_key(label)] = keys[header_key(val)] = val
    if set(choices.values) >= {"red", "green"}:  # RAG as officers abbreviate it
        keys.update(dict(zip("bgar", ("blue", "green", "amber", "red"), strict=True)))
    return keys


def choice(value, choices) -> str:
    keys = _choice_keys(choices)
    found = keys.get(header_key(text(value)))
    if found is not None:
        return found
    # A label's words before its explanation: "In-year values" for "In-year values (due in
    # full by March from the start month)".
    short = {header_key(re.sub(r"\s*\(.*", "", label)): v for v, label in choices.choices}
    found = short.get(header_key(text(value)))
    if found is not None:
        return found
    allowed = ", ".join(choice_label(choices, v) for v in choices.values)
    raise CellError(f"{_describe(value)} is not one of: {allowed}")


class _Clear:
    """What ``(clear)`` in a cell reads as: empty the field (a blank cell leaves it)."""

    def __repr__(self):
        return "CLEAR"


CLEAR = _Clear()
_CLEAR_WORDS = re.compile(r"[(\[]\s*clear\s*[)\]]", re.IGNORECASE)  # (clear), [ Clear ]


def is_clear(value) -> bool:
    """Whether a cell says ``(clear)``, however bracketed, spaced or capitalised."""
    return isinstance(value, str) and _CLEAR_WORDS.fullmatch(value.strip()) is not None


@dataclass(frozen=True)
class Formatted:
    """A number whose cell shows it as a percentage or in £k (the reader marks it)."""

    value: float | int
    percent: bool = False
    thousands: bool = False


def read(column, value, *, percent: bool = False, thousands: bool = False):
    """The value of ``column`` in a cell, ``None`` if blank, ``CLEAR`` for ``(clear)``."""
    if value is None:
        return None
    if type(value) is Formatted:
        value, percent, thousands = value.value, value.percent, value.thousands
    if type(value) is str:
        if column.kind not in _TEXT_KINDS:  # text decodes its own escapes (cells.text)
            value = unescape(value)  # "50,000_x000D_": a pasted carriage return
        stripped = value.strip()
        if not stripped:
            return None
        if is_clear(stripped):
            if column.required:
                raise CellError(f"{column.header} is required; it cannot be cleared")
            return CLEAR
        if stripped in ERROR_CODES:
            raise CellError(
                f"holds the spreadsheet error {stripped}; correct the formula or type the value"
            )
    return _READERS[column.kind](column, value, percent, thousands)


def key_text(value, *, max_length: int | None = None, key: bool = False) -> str:
    """One-line text as every form takes it (``plans.rules.one_line``), refused where it would
    pass for another value."""
    found, problem = one_line(text(value, max_length=max_length), key=key)
    if problem:
        raise CellError(problem)
    return found


def _money_cell(column, value, percent, thousands):
    if percent:
        raise CellError(PERCENT_MONEY)
    value = in_thousands(value) if thousands else value
    return money(value, allow_negative=column.kind == SIGNED_MONEY)


# How each kind of column reads a cell that is not blank, "(clear)" or an error.
_TEXT_KINDS = frozenset({TEXT, REF, LONG, SLUG, CHOICE})  # read through text(): decoded there
_READERS = {
    TEXT: lambda c, v, p, t: key_text(v, max_length=c.max_length, key=c.names_record) or None,
    REF: lambda c, v, p, t: key_text(v, max_length=c.max_length, key=True) or None,
    LONG: lambda c, v, p, t: text(v, long=True) or None,
    SLUG: lambda c, v, p, t: slug(v, max_length=c.max_length),
    MONEY: _money_cell,
    SIGNED_MONEY: _money_cell,
    NUMBER: lambda c, v, p, t: number(v, percent=p, max_digits=c.max_digits),
    VOLUME: lambda c, v, p, t: number(v, max_digits=c.max_digits, what="a volume"),
    SHARE: lambda c, v, p, t: share(v),
    INT: lambda c, v, p, t: integer(v, low=c.low, high=c.high),
    DATE: lambda c, v, p, t: a_date(v),
    YEAR: lambda c, v, p, t: year(v),
    PERIOD: lambda c, v, p, t: period(v),
    CHOICE: lambda c, v, p, t: choice(v, c.choices),
    BOOL: lambda c, v, p, t: flag(v),
}
