"""Which year and period a page shows: ``Selection`` and a plan's calendar with its default."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Max, Q, Value

from plans.models import CostPressure, OverspendForecast, PlannedAmount, ProgressEntry
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
    def previous_label(self) -> str:
        return fiscal.period_label(self.year, self.previous) if self.previous else ""

    @property
    def previous_as_at(self) -> date | None:
        return fiscal.period_end(self.year, self.previous) if self.previous else None


def plan_calendar(plan) -> tuple[list[str], Selection]:
    """The years a plan's pages can show, and the default selection. Three queries.

    The years are the plan's own and any other year with a forecast, progress entry or cost
    pressure. The default year is the latest plan year with a forecast or a progress entry
    that has an amount (achieved to date or forecast), at the latest period in it with one;
    else the first plan year with planned savings, at P12; else the plan's first year, at P12.
    Progress entries that are commentary only do not choose the default: a plan reporting on
    its preparations a year before its savings are due opens on the year they are due.
    """
    latest: dict[str, int] = {}  # year -> latest period with a forecast or an amount
    recorded: set[str] = set()  # years with any forecast or progress entry

    def found(year: str, period: int) -> None:
        latest[year] = max(latest.get(year, 0), period)

    rows = OverspendForecast.objects.filter(plan=plan).values_list("year").annotate(p=Max("period"))
    for year, p in rows.order_by():
        recorded.add(year)
        found(year, p)
    with_amount = Q(achieved_to_date__isnull=False) | Q(forecast__isnull=False)
    rows = ProgressEntry.objects.filter(line__plan=plan).values_list("year")
    for year, day in rows.annotate(d=Max("as_at", filter=with_amount)).order_by():
        recorded.add(year)
        if day is not None:
            found(year, fiscal.period(day))
    # The years with cost pressures (offered) and with planned savings (the fallback default)
    # in one query.
    pressures = CostPressure.objects.filter(plan=plan).values_list("year", Value("pressure"))
    planned = PlannedAmount.objects.filter(line__plan=plan).values_list("year", Value("planned"))
    sources: dict[str, set[str]] = {"pressure": set(), "planned": set()}
    for year, source in pressures.order_by().union(planned.order_by()):
        sources[source].add(year)
    years = sorted(set(plan.years) | recorded | sources["pressure"])

    def in_plan(found_years) -> list[str]:
        return sorted(y for y in found_years if plan.first_year <= y <= plan.last_year)

    if with_figures := in_plan(latest):
        year = with_figures[-1]
        return years, Selection(year, latest[year])
    if with_savings := in_plan(sources["planned"]):
        return years, Selection(with_savings[0], 12)
    return years, Selection(plan.first_year, 12)
