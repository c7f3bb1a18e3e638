"""All of an authority's plans side by side, and the lineage of plans that revise one another."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from plans.figures._base import ZERO
from plans.figures.money_position import (
    ForecastPoint,
    FundingPosition,
    forecast_points,
    funding_positions,
    headline_series,
)
from plans.figures.savings import (
    PlanTotals,
    YearAmounts,
    YearTotals,
    plan_totals,
    slippage_by_year,
)
from plans.models import Funding


@dataclass
class PlanSummary:
    plan: object
    totals: PlanTotals
    slippage: YearAmounts
    forecasts: list[ForecastPoint]
    funding: FundingPosition

    @property
    def slippage_total(self) -> Decimal:
        return sum(self.slippage.values(), ZERO)

    @property
    def slippage_projected(self) -> Decimal:
        """The part of ``slippage_total`` the paper only projects."""
        return self.slippage.projected

    def forecast_for(self, year: str) -> ForecastPoint | None:
        """The headline series' latest forecast in ``year``."""
        points = [p for p in self.forecasts if p.year == year]
        head = headline_series(points)
        found = [p for p in points if p.series == head]
        return found[-1] if found else None

    @property
    def latest_forecast(self) -> ForecastPoint | None:
        years = sorted({p.year for p in self.forecasts})
        return self.forecast_for(years[-1]) if years else None


@dataclass
class LineageCell:
    summary: PlanSummary
    year: str

    @property
    def in_plan(self) -> bool:
        plan = self.summary.plan
        return plan.first_year <= self.year <= plan.last_year

    @property
    def promised(self) -> YearTotals | None:
        t = self.summary.totals.years.get(self.year)
        return t if t and (t.lines or t.planned_low) else None

    @property
    def forecast(self) -> ForecastPoint | None:
        return self.summary.forecast_for(self.year)

    @property
    def reserves_drawn(self) -> Decimal:
        return self.summary.funding.by_year.get(self.year, {}).get(Funding.Kind.RESERVE_DRAW, ZERO)

    @property
    def slippage(self) -> Decimal:
        return self.summary.slippage.get(self.year, ZERO)

    @property
    def other_funding(self) -> list[tuple[str, Decimal]]:
        """Grants, invest-to-save money, contingency and repayments in the year."""
        kinds = self.summary.funding.by_year.get(self.year, {})
        return [
            (label, kinds[kind])
            for kind, label in Funding.Kind.choices
            if kind != Funding.Kind.RESERVE_DRAW and kinds.get(kind)
        ]

    @property
    def empty(self) -> bool:
        return not (
            self.promised
            or self.forecast
            or self.reserves_drawn
            or self.slippage
            or self.other_funding
        )


@dataclass
class Lineage:
    """A chain of plans, each revising the one before, with what each promised and what was
    delivered year by year."""

    summaries: list[PlanSummary]

    @property
    def years(self) -> list[str]:
        years = set()
        for s in self.summaries:
            years |= set(s.plan.years) | set(s.slippage) | {p.year for p in s.forecasts}
            years |= {y for y in s.funding.by_year if y}
        return sorted(years)

    @property
    def rows(self) -> list[tuple[str, list[LineageCell]]]:
        return [(y, [LineageCell(s, y) for s in self.summaries]) for y in self.years]


def _chains(plans) -> list[list]:
    """Each path from a plan that revises nothing (among ``plans``) to a plan nothing revises."""
    by_id = {p.pk: p for p in plans}
    children = defaultdict(list)
    for p in plans:
        if p.revises_id in by_id:
            children[p.revises_id].append(p)
    chains = []

    def walk(plan, path):
        path = [*path, plan]
        if not children[plan.pk]:
            chains.append(path)
        for child in sorted(children[plan.pk], key=lambda c: (c.first_year, c.pk)):
            walk(child, path)

    for p in plans:
        if p.revises_id not in by_id:
            walk(p, [])
    return [c for c in chains if len(c) > 1]


@dataclass
class AuthorityOverview:
    summaries: list[PlanSummary]
    lineages: list[Lineage]


def authority_overview(plans) -> AuthorityOverview:
    """Every plan side by side, and the lineages. Six queries whatever the number of plans."""
    plans = list(plans)
    totals = plan_totals(plans)
    slippage = slippage_by_year(plans)
    forecasts = defaultdict(list)
    for p in forecast_points(plans):
        forecasts[p.plan_id].append(p)
    funding = funding_positions(plans)
    summaries = {
        p.pk: PlanSummary(p, totals[p.pk], slippage[p.pk], forecasts[p.pk], funding[p.pk])
        for p in plans
    }
    lineages = [Lineage([summaries[p.pk] for p in chain]) for chain in _chains(plans)]
    return AuthorityOverview(list(summaries.values()), lineages)
