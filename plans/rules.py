"""Rules about a plan's years that the web forms and the workbook import share."""

from __future__ import annotations

import functools
from datetime import date

from recovery import fiscal

# Dated context (forecasts, pressures, funding, KPI values) may reach this far outside the
# plan's years: a plan is written after the overspend it answers. Anything further is a typing
# slip such as 2107 for 2017.
CONTEXT_YEARS = 10


@functools.lru_cache(maxsize=1024)
def _span(first_year: str, last_year: str) -> tuple[date, date]:
    """The first and last day of ``first_year`` to ``last_year`` (an import asks per row)."""
    return fiscal.year_start(first_year), fiscal.year_end(last_year)


def year_problem(plan, value, *, strict: bool) -> str | None:
    """Why ``value`` (a financial year such as "2017/18", or a date) does not fit ``plan``,
    or None. Strict: within the plan's years; otherwise within CONTEXT_YEARS of them."""
    if value in (None, "") or not plan.first_year or not plan.last_year:
        return None
    start, end = _span(plan.first_year, plan.last_year)
    if isinstance(value, str):
        first, last = _span(value, value)
    else:
        first = last = value
    outside = first < start or last > end
    if not outside:
        return None
    text = value if isinstance(value, str) else f"{value:%d/%m/%Y}"
    span = (
        plan.first_year
        if plan.first_year == plan.last_year
        else f"{plan.first_year} to {plan.last_year}"
    )
    if strict:
        return f"{text} is outside the plan's years ({span})."
    if last < date(start.year - CONTEXT_YEARS, 4, 1) or first > date(
        end.year + CONTEXT_YEARS, 3, 31
    ):
        return (
            f"{text} is more than {CONTEXT_YEARS} years outside the plan's years ({span}); "
            "is it a typing slip?"
        )
    return None
