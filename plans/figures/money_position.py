"""The money position beside the savings: overspend forecasts (variance, movement, RAG),
cost pressures month by month (slippage among them) and funding such as reserves drawn.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, F, Q, Sum, Window
from django.db.models.functions import Coalesce, Lag

from plans.figures._base import MONTHS, SUM_FIELD, ZERO, _ids
from plans.figures.rules import forecast_rag, forecast_threshold
from plans.models import CostPressure, Funding, OverspendForecast
from recovery import fiscal
from recovery.money import to_decimal


@dataclass
class ForecastPoint:
    """One month's forecast for a service area and scenario. Variance = outturn - budget, or
    the stated overspend; movement = variance - the previous recorded period's."""

    plan_id: int
    year: str
    period: int
    service_area: str
    scenario: str
    budget: Decimal | None
    outturn: Decimal | None
    stated: Decimal | None
    stated_high: Decimal | None
    variance: Decimal
    variance_high: Decimal
    previous_variance: Decimal | None
    previous_period: int | None
    commentary: str
    month_assumed: bool = False

    @property
    def series(self) -> tuple[str, str]:
        return (self.service_area, self.scenario)

    @property
    def scenario_label(self) -> str:
        return OverspendForecast.Scenario(self.scenario).label

    @property
    def series_label(self) -> str:
        area = self.service_area or "Whole service"
        return area if self.scenario == "base" else f"{area} ({self.scenario_label.lower()})"

    @property
    def label(self) -> str:
        return fiscal.period_label(self.year, self.period)

    @property
    def when(self) -> str:
        """The month, said as assumed where the paper gives none (``label`` is a chart's
        category)."""
        return fiscal.month_said(self.label, self.month_assumed)

    @property
    def previous_label(self) -> str:
        return fiscal.period_label(self.year, self.previous_period) if self.previous_period else ""

    @property
    def is_range(self) -> bool:
        return self.variance_high != self.variance

    @property
    def movement(self) -> Decimal | None:
        if self.previous_variance is None:
            return None
        return self.variance - self.previous_variance

    @property
    def threshold(self) -> Decimal:
        return forecast_threshold(self.budget)

    @property
    def rag(self) -> str:
        return forecast_rag(self.variance, self.budget)

    @property
    def stated_differs(self) -> bool:
        """The paper's stated overspend disagrees with its budget and outturn."""
        if self.stated is None or self.budget is None:
            return False
        high = self.stated_high if self.stated_high is not None else self.stated
        return not self.stated <= self.variance <= high  # a stated range holds its variance


def forecast_points(plans, year: str | None = None) -> list[ForecastPoint]:
    """Every forecast of the plans (in ``year``), with variance and movement computed in the
    database (a window over each plan, year, service area and scenario). One query."""
    variance = Coalesce(F("forecast_outturn") - F("budget"), F("overspend"), output_field=SUM_FIELD)
    high = Coalesce(
        F("forecast_outturn") - F("budget"),
        F("overspend_high"),
        F("overspend"),
        output_field=SUM_FIELD,
    )
    window = {
        "partition_by": [F("plan_id"), F("year"), F("service_area"), F("scenario")],
        "order_by": F("period").asc(),
    }
    qs = OverspendForecast.objects.filter(plan_id__in=_ids(plans))
    if year:
        qs = qs.filter(year=year)
    rows = qs.annotate(
        v=variance,
        vh=high,
        pv=Window(Lag(variance), **window),
        pp=Window(Lag("period"), **window),
    ).order_by("plan_id", "year", "service_area", "scenario", "period")
    return [
        ForecastPoint(
            plan_id=f.plan_id,
            year=f.year,
            period=f.period,
            service_area=f.service_area,
            scenario=f.scenario,
            budget=f.budget,
            outturn=f.forecast_outturn,
            stated=f.overspend,
            stated_high=f.overspend_high,
            variance=to_decimal(f.v),
            variance_high=to_decimal(f.vh),
            previous_variance=None if f.pv is None else to_decimal(f.pv),
            previous_period=f.pp,
            commentary=f.commentary,
            month_assumed=f.month_assumed,
        )
        for f in rows
    ]


def headline_series(points: list[ForecastPoint]) -> tuple[str, str] | None:
    """The series a tile shows: the whole service's base case if recorded, else the base-case
    series with the latest (then the most) points."""
    base = [p for p in points if p.scenario == "base"] or points
    whole = [p for p in base if p.service_area == ""]
    counts: dict[tuple, list[int]] = defaultdict(list)
    for p in whole or base:  # forecast points or records: anything with a series and a month
        counts[(p.service_area, p.scenario)].append(p.period)
    if not counts:
        return None
    return max(counts, key=lambda s: (max(counts[s]), len(counts[s]), s))


@dataclass
class ForecastFigures:
    """A year's forecasts up to the selected period."""

    points: list[ForecastPoint]
    period: int

    @property
    def series(self) -> list[tuple[tuple[str, str], list[ForecastPoint | None]]]:
        """Each series with one slot per period (None where nothing was recorded)."""
        grid: dict[tuple, list] = {}
        for p in self.points:
            grid.setdefault(p.series, [None] * 12)[p.period - 1] = p
        head = self.headline_key
        return sorted(grid.items(), key=lambda kv: (kv[0] != head, kv[0]))

    @property
    def headline_key(self):
        return headline_series(self.points)

    @property
    def headline(self) -> ForecastPoint | None:
        """The headline series' latest point up to the selected period."""
        head = self.headline_key
        found = [p for p in self.points if p.series == head and p.period <= self.period]
        return found[-1] if found else None

    @property
    def to_period(self) -> list[ForecastPoint]:
        return [p for p in self.points if p.period <= self.period]

    @property
    def this_period(self) -> list[ForecastPoint]:
        return [p for p in self.points if p.period == self.period]

    @property
    def latest_by_series(self) -> list[ForecastPoint]:
        """Each series' latest point up to the period, the headline's first: a later worst
        case or service-area forecast is never hidden behind an older headline."""
        latest: dict[tuple, ForecastPoint] = {}
        for p in self.to_period:
            if p.series not in latest or p.period > latest[p.series].period:
                latest[p.series] = p
        head = self.headline_key
        return sorted(latest.values(), key=lambda p: (p.series != head, -p.period, p.series))

    @property
    def other_series(self) -> list[ForecastPoint]:
        """The latest point of each series but the headline's, leaving out the points a
        mitigation already states (before and after reserves, the same month): a first screen
        gives each figure once."""
        stated = {id(p) for m in self.mitigations for p in (m.gross, m.net)}
        return [p for p in self.latest_by_series[1:] if id(p) not in stated]

    @property
    def mitigations(self) -> list[Mitigation]:
        """Where a month records the position before and after reserves and other savings:
        the effect of those at that date (a basis, not a movement between months)."""
        S = OverspendForecast.Scenario
        # Up to the selected month: an earlier month's page never states a later position.
        gross = {(p.service_area, p.period): p for p in self.to_period if p.scenario == S.GROSS}
        out = []
        for p in self.to_period:
            if p.scenario == S.NET and (p.service_area, p.period) in gross:
                out.append(Mitigation(gross[(p.service_area, p.period)], p))
        return out


@dataclass
class Mitigation:
    """The position before and after reserves and other savings in one month."""

    gross: ForecastPoint
    net: ForecastPoint

    @property
    def effect(self) -> Decimal:
        return self.net.variance - self.gross.variance

    @property
    def label(self) -> str:
        return f"{self.gross.service_area or 'Whole service'}, {self.gross.label}"


@dataclass
class PressureMonth:
    year: str
    period: int
    total: Decimal
    slippage: Decimal
    cumulative_slippage: Decimal = ZERO
    # The part of ``slippage`` the paper only projects (``CostPressure.projected``).
    slippage_projected: Decimal = ZERO
    recorded: bool = True  # some cost of the month is not a projection: a month recorded

    @property
    def label(self) -> str:
        return fiscal.month_label(self.year, self.period)

    @property
    def slippage_incurred(self) -> Decimal:
        return self.slippage - self.slippage_projected

    @property
    def projected(self) -> bool:
        """The month's slippage cost is all a projection (or, with none, every cost is)."""
        return not self.slippage_incurred if self.slippage else not self.recorded


def pressure_months(plans) -> dict[int, list[PressureMonth]]:
    """Cost pressures per plan and month (all kinds, and slippage alone). One query."""
    out: dict[int, list[PressureMonth]] = defaultdict(list)
    rows = (
        CostPressure.objects.filter(plan_id__in=_ids(plans))
        .values("plan_id", "year", "period")
        .annotate(
            total=Sum("amount"),
            slip=Sum("amount", filter=Q(kind=CostPressure.Kind.SLIPPAGE)),
            slip_projected=Sum("amount", filter=Q(kind=CostPressure.Kind.SLIPPAGE, projected=True)),
            incurred=Count("pk", filter=Q(projected=False)),
        )
        .order_by("plan_id", "year", "period")
    )
    for r in rows:
        months = out[r["plan_id"]]
        running = months[-1].cumulative_slippage if months else ZERO
        slip = to_decimal(r["slip"])
        months.append(
            PressureMonth(
                r["year"],
                r["period"],
                to_decimal(r["total"]),
                slip,
                running + slip,
                slippage_projected=to_decimal(r["slip_projected"]),
                recorded=bool(r["incurred"]),
            )
        )
    return out


def month_range(months: list[PressureMonth]) -> list[tuple[str, int, PressureMonth | None]]:
    """Every month from the first to the last recorded, with gaps as None."""
    if not months:
        return []
    found = {(m.year, m.period): m for m in months}
    out = []
    for year in fiscal.years_between(months[0].year, months[-1].year):
        for p in MONTHS:
            if (year, p) < (months[0].year, months[0].period):
                continue
            if (year, p) > (months[-1].year, months[-1].period):
                break
            out.append((year, p, found.get((year, p))))
    return out


@dataclass
class FundingPosition:
    """Reserves drawn and repaid and other funding, by year ("" = year not stated)."""

    by_year: dict[str, dict[str, Decimal]]

    def total(self, kind: str) -> Decimal:
        return sum((kinds.get(kind, ZERO) for kinds in self.by_year.values()), ZERO)

    @property
    def drawn(self) -> Decimal:
        return self.total(Funding.Kind.RESERVE_DRAW)

    @property
    def repaid(self) -> Decimal:
        return self.total(Funding.Kind.RESERVE_REPAYMENT)

    @property
    def owed(self) -> Decimal:
        """Reserves the plan says are to be repaid, with no agreed repayment plan."""
        return self.total(Funding.Kind.RESERVE_OWED)

    @property
    def outstanding(self) -> Decimal | None:
        """Reserves drawn and not yet repaid; None where the plan owes reserves with no
        agreed repayment plan (how much is repaid, and when, is not known)."""
        if self.owed:
            return None
        return self.drawn - self.repaid

    @property
    def recorded_kinds(self) -> list[str]:
        """The kinds of funding the plan records at all (the table's columns)."""
        found = {k for kinds in self.by_year.values() for k in kinds}
        return [k for k in Funding.Kind.values if k in found]

    @property
    def rows(self) -> list[tuple[str, list[Decimal | None]]]:
        """(year, one amount per recorded kind; None where nothing is recorded), dated years
        first."""
        years = sorted(self.by_year, key=lambda y: (y == "", y))
        kinds = self.recorded_kinds
        return [(y, [self.by_year[y].get(k) for k in kinds]) for y in years]

    @property
    def kinds(self) -> list[str]:
        return [Funding.Kind(k).label for k in self.recorded_kinds]

    @property
    def totals(self) -> list[Decimal]:
        return [self.total(k) for k in self.recorded_kinds]


def funding_positions(plans) -> dict[int, FundingPosition]:
    """Funding per plan, year and kind. One query."""
    out: dict[int, FundingPosition] = {pid: FundingPosition({}) for pid in _ids(plans)}
    rows = (
        Funding.objects.filter(plan_id__in=_ids(plans))
        .values("plan_id", "year", "kind")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    for r in rows:
        out[r["plan_id"]].by_year.setdefault(r["year"], {})[r["kind"]] = to_decimal(r["total"])
    return out
