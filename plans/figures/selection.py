"""Which year and period a page shows: ``Selection`` and a plan's calendar with its default."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from plans.selectors import as_at_month, recorded_months
from recovery import fiscal


@dataclass(frozen=True)
class Selection:
    year: str
    period: int

    @property
    def as_at(self) -> date:
        return fiscal.period_end(self.year, self.period)

    @property
    def label(self) -> str:
        return fiscal.period_label(self.year, self.period)

    @property
    def previous(self) -> int | None:
        return self.period - 1 if self.period > 1 else None

    @property
    def month_before(self) -> tuple[str, int]:
        """(year, period) of the month before, across the year's start (P1's is March)."""
        return (self.year, self.previous) if self.previous else (fiscal.year_before(self.year), 12)

    @property
    def previous_label(self) -> str:
        return fiscal.period_label(self.year, self.previous) if self.previous else ""

    @property
    def previous_as_at(self) -> date | None:
        return fiscal.period_end(self.year, self.previous) if self.previous else None


def plan_calendar(plan) -> tuple[list[str], Selection]:
    """The years a plan's pages can show, and the default selection. Five queries.

    The years are the plan's own and any other year with anything recorded. The default is
    the as-at rule (``plans.selectors.as_at_month``): the latest month with anything recorded
    for the plan (progress, forecast, KPI actual, cost pressure), else the paper's month.
    """
    recorded = recorded_months(plan)
    year, period = as_at_month(plan, recorded)
    years = sorted(set(plan.years) | set(recorded) | {year})
    return years, Selection(year, period)


def period_for_year(plan, year: str) -> int:
    """The period a page shows when only a year is asked for: the latest recorded in that
    year, else P12."""
    return recorded_months(plan).get(year, 12)
