"""The UK local-government financial calendar: years run 1 April to 31 March, written
``2017/18``; period 1 is April and period 12 is March."""

from __future__ import annotations

import calendar
import re
from datetime import date
from functools import lru_cache

from django.core.exceptions import ValidationError

YEAR_PATTERN = r"^[0-9]{4}/[0-9]{2}$"
# 2017/18, 2017-18, 2017/2018, and the short forms papers print: 17/18, 13/14.
_YEAR_RE = re.compile(r"^\s*(?:FY\s*)?(\d{4}|\d{2})\s*[/\-–]\s*(\d{2}|\d{4})\s*$", re.IGNORECASE)
MONTH_ABBR = ["Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Jan", "Feb", "Mar"]


def year_label(start: int) -> str:
    return f"{start}/{(start + 1) % 100:02d}"


@lru_cache(maxsize=4096)  # an import's or a page's dates repeat
def financial_year(day: date) -> str:
    """``date(2017, 3, 31)`` -> ``2016/17``; ``date(2017, 4, 1)`` -> ``2017/18``."""
    return year_label(day.year if day.month >= 4 else day.year - 1)


def period(day: date) -> int:
    """P1 = April ... P12 = March."""
    return (day.month - 4) % 12 + 1


def parse_year(text: str) -> str:
    """Accept ``2017/18``, ``2017-18``, ``2017/2018`` or the short ``17/18``; return
    ``2017/18``. The one rule for reading a financial year, on forms and in workbooks."""
    match = _YEAR_RE.match(str(text or ""))
    if not match:
        raise ValidationError(
            "%(value)s is not a financial year; write it like 2017/18", params={"value": text}
        )
    start, end = int(match.group(1)), match.group(2)
    if len(match.group(1)) == 2:
        if len(end) != 2:
            raise ValidationError(
                "%(value)s is not a financial year; write it like 2017/18", params={"value": text}
            )
        start += 1900 if start >= 90 else 2000
    expected_end = (start + 1) % 100 if len(end) == 2 else start + 1
    if int(end) != expected_end:
        raise ValidationError(
            "%(value)s is not a financial year: the second year must follow the first "
            "(e.g. 2017/18)",
            params={"value": text},
        )
    if not 1990 <= start <= 2100:
        raise ValidationError(
            "%(value)s is not a year a plan can have (1990/91 to 2100/01): is it a typing slip, "
            "such as 2107/08 for 2017/18?",
            params={"value": text},
            code="fy_range",
        )
    return year_label(start)


def parse_month(raw_year, raw_period, years, *, default_period: int | None = 12):
    """A month asked for as text (a query string, a form): ``(year, period)`` if the year is
    one of ``years`` and the period 1..12, else None. A blank period is ``default_period``
    (None: a period must be given).
    The one reading of a month for every page that takes one."""
    try:
        year = parse_year(raw_year or "")
        period = int(raw_period) if raw_period not in (None, "") else default_period
    except (ValidationError, ValueError):
        return None
    if period is None or year not in years or not 1 <= period <= 12:
        return None
    return year, period


def validate_year(value: str) -> None:
    if parse_year(value) != value:
        raise ValidationError(
            "%(value)s must be written like 2017/18", params={"value": value}, code="fy_format"
        )


# Pure functions of a year and a period that a long plan's figures ask thousands of times
# (every line's start and month ends): remembered. An invalid year raises, and is not cached.
@lru_cache(maxsize=1024)
def year_start_int(year: str) -> int:
    return int(parse_year(year)[:4])


def year_start(year: str) -> date:
    return date(year_start_int(year), 4, 1)


def year_end(year: str) -> date:
    return date(year_start_int(year) + 1, 3, 31)


def year_before(year: str) -> str:
    return year_label(year_start_int(year) - 1)


def years_between(first: str, last: str) -> list[str]:
    return [year_label(y) for y in range(year_start_int(first), year_start_int(last) + 1)]


def period_month(year: str, p: int) -> tuple[int, int]:
    """(calendar year, month) of period ``p`` of ``year``."""
    if not 1 <= p <= 12:
        raise ValidationError("Period must be between 1 (April) and 12 (March).")
    start = year_start_int(year)
    month = (p + 2) % 12 + 1
    return (start if month >= 4 else start + 1, month)


@lru_cache(maxsize=4096)
def period_end(year: str, p: int) -> date:
    y, m = period_month(year, p)
    return date(y, m, calendar.monthrange(y, m)[1])


def period_label(year: str, p: int) -> str:
    """``P7 Oct 2017``; a month an officer mistyped (P13, a year that is not one) is shown as
    typed rather than failing the page that names it."""
    if isinstance(p, int) and 1 <= p <= 12:
        try:
            return _period_label(year, p)
        except (ValidationError, ValueError, TypeError):
            pass
    return f"P{p} {year}"


def _period_label(year: str, p: int) -> str:
    """``P7 Oct 2017``."""
    y, m = period_month(year, p)
    return f"P{p} {calendar.month_abbr[m]} {y}"


def month_label(year: str, p: int) -> str:
    y, m = period_month(year, p)
    return f"{calendar.month_abbr[m]} {y}"


def long_date(day, *, short_month: bool = False, time: bool = False) -> str:
    """A date as the pages write it: ``7 December 2026`` (never 07), ``7 Dec 2026`` with
    ``short_month``, with ``19:04`` when asked; the workbooks, notes and published versions
    write theirs the same way."""
    text = f"{day.day} {day:%b %Y}" if short_month else f"{day.day} {day:%B %Y}"
    return f"{text} {day:%H:%M}" if time else text


def month_said(label: str, assumed: bool) -> str:
    """A month (or what is said of it) as every page gives it, "(month assumed)" where the
    paper does not give it."""
    return f"{label} (month assumed)" if assumed else label


def recorded_date(day: date) -> str:
    """The date of a recorded figure as its paper gives it: a month's last day is the month
    ("Nov 2016"), since a month without a day is recorded as its last day
    (docs/fixture-conventions.md) and no page may print a day the paper never did; any other
    day in full ("11 Dec 2014")."""
    if day.day == calendar.monthrange(day.year, day.month)[1]:
        return f"{day:%b %Y}"
    return long_date(day, short_month=True)
