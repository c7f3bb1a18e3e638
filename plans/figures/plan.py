"""A plan for a year and period: every figure the dashboard, the report and the workbook show,
gathered by ``plan_figures`` from the other modules of the package.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property

from django.db.models import Q

from plans.figures._base import MONTHS, ZERO
from plans.figures.kpis import KpiFigures, kpi_figures, workforce_rates
from plans.figures.lines import (
    LineFigures,
    RagSummary,
    delivered_by_period,
    expected_profile,
    line_figures,
    savings_by_rag,
)
from plans.figures.money_position import (
    ForecastFigures,
    FundingPosition,
    PressureMonth,
    forecast_points,
    funding_positions,
    pressure_months,
)
from plans.figures.placements import PlacementFigures, WhatIf, load, placement_figures, what_ifs
from plans.figures.rules import RAG_ORDER, share
from plans.figures.savings import (
    PlanTotals,
    Reconciliation,
    YearTotals,
    add_known,
    minus_known,
    plan_totals,
    reconcile,
)
from plans.figures.selection import Selection
from plans.models import Commentary, PaperDiscrepancy, Risk
from recovery import fiscal
from recovery.money import PENNY

# Red before Amber: the order every "most at risk" list follows (lines and KPIs alike).
RISK_RANK = {"red": 0, "amber": 1}


@dataclass
class Change:
    """One thing that changed since the previous period, for "what changed"."""

    area: str
    item: str
    before: Decimal | str | None
    after: Decimal | str | None
    unit: str = "money"  # "money", "rag" (before and after are RAGs) or a KPI unit
    note: str = ""
    line: object = None  # the savings line it concerns, if any
    after_high: Decimal | None = None  # the top of a range (an overspend of £3m–£4m)
    basis: str = ""  # how a figure nobody reported is known: "estimated", "assumed"

    @property
    def change(self) -> Decimal | None:
        if self.unit == "rag" or self.before is None or self.after is None:
            return None
        if self.after_high is not None and self.after_high != self.after:
            return None  # a range's movement is not one figure
        return self.after - self.before

    @property
    def first(self) -> str:
        """What the Change column says of a figure with nothing before it: "first reported"
        (money), "first recorded" (a KPI), "" otherwise."""
        if self.unit == "rag" or self.before is not None or self.after is None:
            return ""
        if self.basis:  # worked out from counts carried forward, or the paper's total spread
            return f"first {self.basis}"
        return "first reported" if self.unit == "money" else "first recorded"


@dataclass
class PlanFigures:
    plan: object
    sel: Selection
    totals: PlanTotals
    lines: list[LineFigures]
    outside_lines: list[LineFigures]
    profile: list[tuple[Decimal, Decimal]]  # expected to date per period (low, high)
    achieved_by_period: list[Decimal | None]
    anticipated_by_period: list[Decimal | None]
    rag: RagSummary
    forecasts: ForecastFigures
    pressures: list[PressureMonth]
    funding: FundingPosition
    kpis: list[KpiFigures]
    risks: list
    commentary: list
    reconciliation: list[Reconciliation]
    discrepancies: list
    placements: PlacementFigures | None = None
    what_ifs: list[WhatIf] = field(default_factory=list)

    @cached_property
    def recorded_in_year(self) -> bool:
        """Anything recorded in the selected year up to the period: progress, a forecast, a
        KPI actual or a cost pressure (not one the paper projects)."""
        sel = self.sel
        start = fiscal.year_start(sel.year)
        return bool(
            any(x.entries for x in self.lines + self.outside_lines)
            or self.forecasts.points
            or any(
                m.year == sel.year and m.period <= sel.period and m.recorded for m in self.pressures
            )
            or any(start <= v.date <= sel.as_at for k in self.kpis for v in k.actuals)
        )

    @property
    def year(self) -> YearTotals:
        return self.totals.years.get(self.sel.year) or YearTotals(self.sel.year)

    @property
    def population(self) -> int | None:
        return self.plan.authority.child_population

    @property
    def population_source(self) -> str:
        """Said wherever a rate rests on the population (``Authority.population_source``)."""
        return self.plan.authority.population_source

    @property
    def expected_low(self) -> Decimal | None:
        return self.profile[self.sel.period - 1][0]

    @property
    def expected_high(self) -> Decimal | None:
        return self.profile[self.sel.period - 1][1]

    @property
    def profile_ranged(self) -> bool:
        """Some month's expected figure is a range (a line planned low to high): every chart
        and table of the profile then gives its high end too."""
        return any(low != high for low, high in self.profile)

    @property
    def expected_in_year(self) -> tuple[Decimal | None, Decimal | None]:
        return self.profile[11]

    @property
    def delivery_variance(self) -> Decimal | None:
        """Achieved minus expected to date, known only when every line with a planned amount
        has reported an achieved figure (a partial sum is not compared with the whole)."""
        y = self.year
        if not y.lines or y.lines_achieved != y.lines:
            return None
        return minus_known(y.achieved, self.expected_low)

    @cached_property
    def months(self) -> list[dict]:
        """Per period: expected (low, high), achieved and achieved-or-achievable (None = gap)."""
        return [
            {
                "period": p,
                "label": fiscal.month_label(self.sel.year, p),
                "expected_low": self.profile[p - 1][0],
                "expected_high": self.profile[p - 1][1],
                "achieved": self.achieved_by_period[p - 1],
                "delivered": self.anticipated_by_period[p - 1],
            }
            for p in MONTHS
        ]

    @cached_property
    def achieved_share(self) -> Decimal | None:
        """Achieved as a share of the planned total of the same lines: those with a planned
        figure that have reported an achieved one (one basis for both sides)."""
        return share(self.year.achieved, self.reporting_planned)

    @cached_property
    def reporting_planned(self) -> Decimal | None:
        """The planned (low) total of the lines whose achieved figure is reported."""
        planned = [
            x.planned_low
            for x in self.target_lines
            if x.achieved is not None and x.planned_low is not None
        ]
        return sum(planned, ZERO) if planned else None

    @property
    def reporting_note(self) -> str:
        """Which lines the achieved figure covers, in words."""
        y = self.year
        if not y.lines:
            return ""
        tbc = f" ({y.tbc_lines} TBC)" if y.tbc_lines else ""
        # A figure carried from an earlier month says from when: Torbay's £144,000 of October
        # 2011 is not a February 2012 figure. (``as_at`` is the month's last day.)
        reported = self.achieved_reported_to
        carried = reported is not None and reported < self.sel.as_at.replace(day=1)
        latest = f"; latest reported {fiscal.recorded_date(reported)}" if carried else ""
        return f"on {y.coverage} with a planned amount{tbc}{latest}"

    @property
    def achieved_reported_to(self) -> date | None:
        """The date of the latest achieved figure behind the year's achieved total."""
        days = [x.achieved_entry["as_at"] for x in self.target_lines if x.achieved_entry]
        return max(days, default=None)

    @property
    def pressures_in_year(self) -> Decimal | None:
        """In-year cost pressures recorded for the year; None when none is recorded."""
        months = [m.total for m in self.pressures if m.year == self.sel.year]
        return sum(months, ZERO) if months else None

    @property
    def slippage_in_year(self) -> Decimal:
        return sum((m.slippage for m in self.pressures if m.year == self.sel.year), ZERO)

    @property
    def slippage_total(self) -> Decimal:
        return sum((m.slippage for m in self.pressures), ZERO)

    # What a cost the paper only projects is, wherever it is said.
    PROJECTION = "the paper's projection, with no cost recorded as incurred"

    def is_after(self, m: PressureMonth) -> bool:
        """A month after the one shown."""
        return (m.year, m.period) > (self.sel.year, self.sel.period)

    def is_ahead(self, m: PressureMonth) -> bool:
        """A cost not incurred at the month shown: one recorded for a later month, or one the
        paper projects for a month of the year shown (a table of what slippage "will" cost
        through the year). An earlier year's projection is said with that year's total."""
        return self.is_after(m) or (m.projected and m.year == self.sel.year)

    @property
    def ahead_kind(self) -> str:
        """Why the months of ``pressures_ahead`` are not costs to date: "later" (all after the
        month shown), "projected" (all the paper's projection) or "both"."""
        ahead = self.pressures_ahead
        if ahead and all(m.projected for m in ahead):
            return "projected"
        if any(m.projected and not self.is_after(m) for m in ahead):
            return "both"
        return "later"

    @property
    def ahead_label(self) -> str:
        """``ahead_kind`` in a few words."""
        return {
            "later": f"after {self.sel.label}",
            "projected": "the paper's projection",
            "both": f"projected, or after {self.sel.label}",
        }[self.ahead_kind]

    @property
    def ahead_months(self) -> str:
        """The months of ``pressures_ahead``, named."""
        return {
            "later": "later months",
            "projected": "the projected months",
            "both": "the projected and later months",
        }[self.ahead_kind]

    @property
    def ahead_said(self) -> str:
        """What the cost of ``pressures_ahead`` is, after "of which £X": every sentence,
        summary row and chart that gives it says it so."""
        return {
            "later": f"falls after {self.sel.label} and was not yet incurred",
            "projected": f"is {self.PROJECTION}",
            "both": f"is projected or falls after {self.sel.label}, not incurred by then",
        }[self.ahead_kind]

    def ahead_word(self, m: PressureMonth) -> str:
        """Why one month's cost is not a cost to date (``is_ahead``)."""
        if m.projected and (self.ahead_kind == "projected" or not self.is_after(m)):
            return "projected"
        return f"after {self.sel.label}"

    @property
    def pressure_rows(self) -> list[tuple[PressureMonth, str]]:
        """Each month with why its cost is not a cost to date ("" where it is): a month of
        ``pressures_ahead`` by ``ahead_word``, an earlier year's projection "projected". The
        table marks these months, the chart hatches them, the workbook names them."""
        ahead = self.pressures_ahead
        return [
            (m, self.ahead_word(m) if m in ahead else "projected" if m.projected else "")
            for m in self.pressures
        ]

    @property
    def slippage_projected(self) -> Decimal:
        """The slippage cost, of every year, that the paper only projects."""
        return sum((m.slippage_projected for m in self.pressures), ZERO)

    def slippage_recorded_through(self, year: str, period: int) -> Decimal | None:
        """The slippage cost of the months up to ``period`` of ``year``, or None when no
        month to then has one: nothing recorded is not a cost of £0."""
        costs = [
            m.slippage_incurred
            for m in self.pressures
            if m.slippage_incurred and (m.year, m.period) <= (year, period)
        ]
        return sum(costs, ZERO) if costs else None

    @cached_property
    def pressures_ahead(self) -> list[PressureMonth]:
        """The months after the one shown with a slippage cost."""
        return [m for m in self.pressures if self.is_ahead(m) and m.slippage]

    @property
    def pressures_in_year_ahead(self) -> Decimal:
        """The part of ``pressures_in_year`` recorded for months after the one shown."""
        return sum(
            (m.total for m in self.pressures if m.year == self.sel.year and self.is_ahead(m)),
            ZERO,
        )

    @property
    def slippage_to_date(self) -> Decimal:
        """The slippage cost of the months up to the one shown."""
        return self.slippage_recorded_through(self.sel.year, self.sel.period) or ZERO

    SLIPPAGE_TO_DATE = "Slippage cost to date"

    def slippage_change_since(self, before: Decimal | None, note: str) -> Change | None:
        """The slippage cost to date against an earlier one (None: none was recorded then),
        when it moved: a cost that rose is a change the month's reader needs."""
        after = self.slippage_recorded_through(self.sel.year, self.sel.period)
        if before == after:
            return None
        return Change("Cost pressures", self.SLIPPAGE_TO_DATE, before, after, note=note)

    @property
    def slippage_change(self) -> Change | None:
        """``slippage_change_since`` the month before."""
        year, period = self.sel.month_before
        before = self.slippage_recorded_through(year, period)
        return self.slippage_change_since(before, f"since {fiscal.period_label(year, period)}")

    @property
    def slippage_ahead(self) -> Decimal:
        """The slippage cost not incurred at the month shown: the later months' and what the
        paper projects for the year shown."""
        return sum((m.slippage for m in self.pressures_ahead), ZERO)

    @property
    def slippage_years(self) -> list[tuple[str, Decimal]]:
        years: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for m in self.pressures:
            years[m.year] += m.slippage
        return sorted((y, v) for y, v in years.items() if v)

    @property
    def net_at_risk_low(self) -> Decimal | None:
        """Planned - (achieved + anticipated) + in-year pressures; known only when every line
        with a planned amount has reported what it achieved or can achieve."""
        y = self.year
        if not y.all_reported:
            return None
        return add_known(minus_known(y.planned_low, y.found), self.pressures_in_year)

    @property
    def net_at_risk_high(self) -> Decimal | None:
        y = self.year
        if not y.all_reported:
            return None
        return add_known(minus_known(y.planned_high, y.found), self.pressures_in_year)

    @cached_property
    def target_lines(self) -> list[LineFigures]:
        """Lines with a planned amount in the year: the rows the totals foot."""
        return [x for x in self.lines if x.amount is not None]

    @property
    def nothing_planned(self) -> str:
        """A year with no line counting towards the target, in words: "No savings are planned
        in 2015/16", or, where lines are planned outside the target, that they are."""
        outside = [x for x in self.outside_lines if x.amount is not None]
        if not outside:
            return f"No savings are planned in {self.sel.year}"
        n = len(outside)
        return (
            f"No savings towards the target are planned in {self.sel.year} ({n} line"
            f"{'s are' if n != 1 else ' is'} planned outside the target)"
        )

    @property
    def starts_assumed(self) -> int:
        """Lines with a planned amount in the year whose profile starts in April for want of
        a start month: neither the line nor the plan states one."""
        return sum(1 for x in self.target_lines if not x.start_stated)

    @property
    def profile_basis(self) -> str:
        """What the monthly profile (the expected to date) rests on, in words: the paper's start
        month, or an even spread it does not state."""
        start = self.plan.savings_start
        if start and self.plan.savings_start_assumed:
            return (
                f"spread evenly from {start:%B %Y}, an assumption: the paper gives no start month"
            )
        if start:
            return f"from each line's start month; savings expected from {start:%B %Y}"
        if self.starts_assumed and self.starts_assumed == len(self.target_lines):
            return "spread evenly from April: the paper gives no start month"
        if self.starts_assumed:
            n = self.starts_assumed
            return (
                f"from each line's start month; {n} line{'s give' if n != 1 else ' gives'} none "
                f"and {'are' if n != 1 else 'is'} spread evenly from April"
            )
        return "from each line's start month"

    @property
    def profile_assumed(self) -> bool:
        """Whether any of the profile is an even spread the paper does not state."""
        return bool(
            (self.plan.savings_start and self.plan.savings_start_assumed)
            or (not self.plan.savings_start and self.starts_assumed)
        )

    SHOWN_LINES = 50  # a long plan's pages show the lines most at risk, and link to all

    @staticmethod
    def _risk(x: LineFigures) -> tuple:
        """Most at risk first: Red, then Amber, then worsened, then by planned value."""
        return (
            RISK_RANK.get(x.rag, 2),
            x.rag_move != "worsened",
            -(x.planned_low or 0),
            x.line.reference,
        )

    @cached_property
    def lines_by_risk(self) -> list[LineFigures]:
        """The year's lines, those most at risk first: Red, then Amber, then worsened, then by
        planned value."""
        return sorted(self.target_lines, key=self._risk)

    @property
    def shown_lines(self) -> list[LineFigures]:
        """All the year's lines in plan order when there are few; else the most at risk."""
        if len(self.target_lines) <= self.SHOWN_LINES:
            return self.target_lines
        return self.lines_by_risk[: self.SHOWN_LINES]

    @property
    def unrated_lines(self) -> int:
        """Lines with a planned amount in the year that carry no RAG."""
        return next((b.count for b in self.rag.current if b.rag == ""), 0)

    @property
    def pack_lines(self) -> list[LineFigures]:
        """The committee pack's lines: all, or the 25 most at risk of a long plan."""
        if len(self.target_lines) <= 25:
            return self.target_lines
        return self.lines_by_risk[:25]

    @property
    def pack_lines_not_shown(self) -> int:
        return len(self.target_lines) - len(self.pack_lines)

    @property
    def lines_not_shown(self) -> int:
        return len(self.target_lines) - len(self.shown_lines)

    @cached_property
    def untargeted_lines(self) -> list[LineFigures]:
        """Lines counting towards the target that report a figure in a year in which they
        have no planned amount: shown apart, never added to a ratio over the others."""
        return [
            x
            for x in self.lines
            if x.amount is None and (x.delivered is not None or x.forecast is not None)
        ]

    @cached_property
    def worsened_lines(self) -> list[LineFigures]:
        """Lines whose RAG worsened since the previous month, worst first: Red before Amber,
        then the largest planned saving (not known last)."""
        return sorted(
            (x for x in self.lines if x.rag_move == "worsened"),
            key=lambda x: (RISK_RANK.get(x.rag, 2), -(x.planned_high or 0)),
        )

    @cached_property
    def delivered_short(self) -> list[LineFigures]:
        """Lines rated Blue (delivered) whose delivered figure is not reported, or is below
        the saving due in the year: the rating and the figures disagree, and a reader is told
        both rather than trusting the colour."""
        return [
            x
            for x in self.lines
            if x.rag == "blue"
            and x.in_year_low  # a saving is due this year (not TBC, not from a later year)
            and (x.delivered is None or x.delivered < x.in_year_low)
        ]

    @property
    def at_risk(self) -> list:
        """The Red and Amber buckets of the year's savings (by current RAG), worst first."""
        return [b for b in self.rag.current if b.rag in ("red", "amber")]

    @property
    def carried_at_risk(self) -> int:
        """Red and Amber lines of the year whose rating is an earlier year's (none yet in the
        year by the period's end)."""
        return sum(1 for x in self.target_lines if x.rag in ("red", "amber") and x.rag_carried_from)

    @property
    def kpis_off_trajectory(self) -> list[KpiFigures]:
        """KPIs rated Red or Amber against the target in force, worst first."""
        return sorted(
            (k for k in self.kpis if k.rag in RISK_RANK),
            key=lambda k: (RISK_RANK[k.rag], k.kpi.name),
        )

    @cached_property
    def driven_lines(self) -> list[tuple]:
        """Each line driven by placement moves as ``(driven, recorded, same)``: the figures
        the moves give it at the month, the line's own as recorded (``LineFigures``, None when
        nothing is), and whether its RAG and achieved to date are the moves' (the month-end
        records them: ``services.sync_lines_from_moves``). Where they differ both are shown,
        so no page rates one line two ways unsaid."""
        if self.placements is None:
            return []
        recorded = {x.line.pk: x for x in self.lines + self.outside_lines}
        out = []
        for driven in self.placements.lines:
            x = recorded.get(driven.line.pk)
            same = x is not None and (x.rag, x.achieved) == (driven.rag, driven.achieved)
            out.append((driven, x, same))
        return out

    @property
    def moves_not_recorded(self) -> list[tuple]:
        return [(driven, x) for driven, x, same in self.driven_lines if not same]

    @property
    def moves_rate_at_risk(self) -> list:
        """The lines whose placement moves rate them Red or Amber where their record does not
        (yet): the first screen leads with them, and the summary names them."""
        return [
            driven
            for driven, x in self.moves_not_recorded
            if driven.rag in ("red", "amber") and (x is None or x.rag != driven.rag)
        ]

    @cached_property
    def red_amber_lines(self) -> list[LineFigures]:
        return [x for x in self.lines if x.rag in ("red", "amber")]

    @property
    def shown_red_amber_lines(self) -> list[LineFigures]:
        """The Red and Amber lines the report lists: all in plan order when there are few;
        else the most at risk, as a long plan's lines table shows them (the workbook and the
        lines list have them all)."""
        if len(self.red_amber_lines) <= self.SHOWN_LINES:
            return self.red_amber_lines
        return sorted(self.red_amber_lines, key=self._risk)[: self.SHOWN_LINES]

    @property
    def red_amber_not_shown(self) -> int:
        return len(self.red_amber_lines) - len(self.shown_red_amber_lines)

    @cached_property
    def noted_lines(self) -> list[LineFigures]:
        """Lines with no planned amount in the year whose progress this year carries a note
        (Telford's December 2013 notes on its 2014/15 lines): said, never dropped because no
        figure is planned. The 25 most recently noted."""
        targeted = {id(x) for x in self.target_lines}
        noted = [x for x in self.lines if x.commentary and id(x) not in targeted]
        return sorted(noted, key=lambda x: x.commentary_as_at, reverse=True)[:25]

    PACK_RED_AMBER = 10

    @property
    def pack_red_amber_lines(self) -> list[LineFigures]:
        """The pack's Red and Amber lines with their commentary: the ten most at risk, so that
        a long plan's pack stays a few pages (the report and its workbook list them all)."""
        if len(self.red_amber_lines) <= self.PACK_RED_AMBER:
            return self.red_amber_lines
        return sorted(self.red_amber_lines, key=self._risk)[: self.PACK_RED_AMBER]

    @property
    def kpi_rag_counts(self) -> list[tuple[str, int]]:
        counts = defaultdict(int)
        for k in self.kpis:
            counts[k.rag] += 1
        return [(r, counts[r]) for r in RAG_ORDER if counts[r]]

    @property
    def workforce(self):
        return workforce_rates(self.kpis)

    @property
    def differences(self) -> list[Reconciliation]:
        return [r for r in self.reconciliation if r.agrees is False]

    @property
    def agreements(self) -> list[Reconciliation]:
        return [r for r in self.reconciliation if r.agrees]

    @property
    def unchecked(self) -> list[Reconciliation]:
        """Stated totals with nothing to set beside them: not computed, or not yet reported."""
        return [r for r in self.reconciliation if r.agrees is None]

    @property
    def rate_differences(self) -> list[tuple]:
        """(KPI, value) where the paper's printed rate per 10,000 differs from the computed."""
        return [(k, v) for k in self.kpis for v in k.rate_differences]

    @property
    def reconciliation_summary(self) -> str:
        """The stated-vs-computed check in one sentence, counting the paper's own doubts."""
        parts = []
        checked = len(self.agreements) + len(self.differences)
        if checked:
            agree = len(self.agreements)
            verb = "agrees" if agree else "differs"
            parts.append(
                f"the paper's one stated total that can be computed {verb}"
                if checked == 1
                else f"{agree} of {checked} stated totals that can be computed agree"
            )
            if self.differences and checked > 1:
                n = len(self.differences)
                parts[-1] += f"; {n} {'differs' if n == 1 else 'differ'}"
        if self.discrepancies:
            n = len(self.discrepancies)
            parts.append(f"the paper disagrees with itself in {n} place{'s' * (n != 1)}")
        if self.rate_differences:
            n = len(self.rate_differences)
            verb = "differs" if n == 1 else "differ"
            parts.append(f"{n} printed rate{'s' * (n != 1)} per 10,000 {verb} from the computed")
        others = len(self.reconciliation) - checked
        if others and not checked:
            parts.append(
                f"{others} figure{'s' * (others != 1)} stated in the paper, none of which the "
                "app computes or has yet had reported"
            )
        if not parts:
            return "The paper states no totals to check."
        text = "; ".join(parts)
        return text[0].upper() + text[1:] + "."

    def as_json(self) -> dict:
        """The figures at the selected month as plain JSON: money as strings, a figure
        nobody reported as null (``plan_summary --json``)."""

        def money(value):
            return None if value is None else str(value)

        head = self.forecasts.headline
        return {
            "year": self.sel.year,
            "period": self.sel.period,
            "label": self.sel.label,
            "date": self.sel.as_at.isoformat(),
            "recorded_in_year": self.recorded_in_year,
            "expected_to_date_low": money(self.expected_low),
            "expected_to_date_high": money(self.expected_high),
            "expected_in_year_low": money(self.expected_in_year[0]),
            "achieved": money(self.year.achieved),
            "achieved_share_percent": money(self.achieved_share),
            "delivery_variance": money(self.delivery_variance),
            "net_at_risk_low": money(self.net_at_risk_low),
            "net_at_risk_high": money(self.net_at_risk_high),
            "pressures_in_year": money(self.pressures_in_year),
            "forecast_variance": None
            if head is None
            else {
                "series": head.series_label,
                "period": head.period,
                "variance": money(head.variance),
                "variance_high": money(head.variance_high),
                "movement": money(head.movement),
                "rag": head.rag or None,
            },
            "forecasts": [
                {
                    "period": p.period,
                    "service_area": p.service_area,
                    "scenario": p.scenario,
                    "variance": money(p.variance),
                    "variance_high": money(p.variance_high),
                    "movement": money(p.movement),
                }
                for p in self.forecasts.to_period
            ],
            "mitigations": [
                {
                    "label": m.label,
                    "before": money(m.gross.variance),
                    "after": money(m.net.variance),
                    "effect": money(m.effect),
                }
                for m in self.forecasts.mitigations
            ],
            "reserves": {
                "drawn": money(self.funding.drawn or None),
                "repaid": money(self.funding.repaid or None),
                "to_be_repaid_no_agreed_plan": money(self.funding.owed or None),
                "still_to_repay": money(self.funding.outstanding) if self.funding.repaid else None,
            },
            "kpis": [
                {
                    "code": k.kpi.code,
                    "latest": None
                    if k.latest is None
                    else {
                        "date": k.latest.date.isoformat(),
                        "value": money(k.latest.value),
                        "rate_per_10k": money(k.latest.rate),
                        "rate_as_printed": money(k.latest.stated_rate),
                    },
                    "target_in_force": None
                    if k.target is None
                    else {"date": k.target.date.isoformat(), "value": money(k.target.value)},
                    "rag": k.rag or None,
                }
                for k in self.kpis
            ],
            "reconciliation": [
                {
                    "key": r.key,
                    "stated_low": money(r.stated_low),
                    "stated_high": money(r.stated_high),
                    "computed_low": money(r.computed_low),
                    "computed_high": money(r.computed_high),
                    "status": r.status,
                }
                for r in self.reconciliation
            ],
            "reconciliation_summary": self.reconciliation_summary,
            "placements": self.placements_json(money),
        }

    def placements_json(self, money) -> dict | None:
        p = self.placements
        if p is None or p.empty:
            return None
        return {
            "forecast_outturn": money(p.position.outturn),
            "budget": money(p.position.budget),
            "variance": money(p.position.variance),
            "movement": money(p.movement),
            "slippage_total": money(p.slippage_total),
            "types": [
                {"code": t.type.code, "count": t.current, "annual_unit_cost": money(t.annual)}
                for t in p.types
            ],
            "lines": [
                {
                    "reference": x.line.reference,
                    "planned_from_moves": money(x.driver_total),
                    "planned_in_year": money(x.planned_in_year),
                    "achieved": money(x.achieved),
                    "forecast": money(x.forecast),
                    "rag": x.rag,
                }
                for x in p.lines
            ],
            "what_ifs": [
                {"scenario": w.scenario.name, "full_year_effect": money(w.full_year_effect)}
                for w in self.what_ifs
            ],
        }

    PLACEMENT_VARIANCE = "Placement forecast variance against budget"

    @property
    def placement_basis(self) -> str:
        """How the placement forecast is known where nobody reported its cost, for "first
        estimated" ("estimated", "assumed"; "" where counts of the year cost it)."""
        p = self.placements
        word = p.cost_word if p is not None and not p.empty else "Actual"
        return "" if word == "Actual" else word.lower()

    @property
    def placement_basis_note(self) -> str:
        """What such a forecast rests on, in words ("" where the year's counts cost it): said
        beside it wherever it is given without a recorded figure behind it."""
        return {
            "estimated": "estimated from counts carried forward from an earlier year",
            "assumed": "an assumption spreading the paper's yearly total",
        }.get(self.placement_basis, "")

    @property
    def placement_variance_change(self) -> Change | None:
        """The placement forecast's variance against the previous month's, when it moved (a
        move made late, a count changed): the cost driver's change, for "what changed"."""
        p = self.placements
        if p is None or p.empty or p.position.variance is None:
            return None
        before = p.previous.variance if p.previous is not None else None
        if before == p.position.variance:
            return None
        if before is not None:
            note = f"since {fiscal.period_label(p.year, p.period - 1)}"
        else:  # what the Change column's "first estimated" (or "first assumed") rests on
            note = self.placement_basis_note or "first this year"
        late = [m for m in p.moves if m.months_late]
        if late:
            note += f"; {len(late)} planned move{'s' if len(late) > 1 else ''} late"
            if any(m.month_assumed for m in late):
                note += " (against an assumed month)"
        return Change(
            "Placements",
            self.PLACEMENT_VARIANCE,
            before,
            p.position.variance,
            note=note,
            basis=self.placement_basis,
        )

    # Read by the page, its workbook and the pack several times each; found once.
    @cached_property
    def changes(self) -> list[Change]:
        """What changed since the previous period's report."""
        out = []
        for p in self.forecasts.this_period:
            if p.movement is not None:
                note = f"since {fiscal.period_label(p.year, p.previous_period)}"
                out.append(
                    Change(
                        "Overspend forecast",
                        p.series_label,
                        p.previous_variance,
                        p.variance,
                        note=note,
                        after_high=p.variance_high,
                    )
                )
            else:
                out.append(
                    Change(
                        "Overspend forecast",
                        p.series_label,
                        None,
                        p.variance,
                        note="first forecast this year",
                        after_high=p.variance_high,
                    )
                )
        for change in (self.placement_variance_change, self.slippage_change):
            if change is not None:
                out.append(change)
        # In P1 the comparison is with nothing reported yet this year: a figure first
        # reported in April is a change from "not reported".
        for x in self.lines + self.outside_lines:
            if x.delivered != x.delivered_previous and x.delivered is not None:
                out.append(
                    Change(
                        "Savings achieved or achievable",
                        f"{x.line.reference} {x.line.title}",
                        x.delivered_previous,
                        x.delivered,
                        note="first reported this year" if x.delivered_previous is None else "",
                        line=x.line,
                    )
                )
            if x.rag_move != "unchanged":
                out.append(
                    Change(
                        "Savings RAG",
                        f"{x.line.reference} {x.line.title}",
                        x.rag_previous,
                        x.rag,
                        unit="rag",
                        note=x.rag_move,
                        line=x.line,
                    )
                )
        # KPI actuals recorded in the month itself (after the previous month's end).
        start = self.sel.previous_as_at or (fiscal.year_start(self.sel.year) - timedelta(days=1))
        for k in self.kpis:
            for i, v in enumerate(k.actuals):
                if start < v.date <= self.sel.as_at:
                    before = k.actuals[i - 1].value if i else None
                    if before == v.value:
                        continue  # the same figure counted again: recorded, not changed
                    out.append(
                        Change(
                            "KPI",
                            k.kpi.name,
                            before,
                            v.value,
                            unit=k.kpi.unit,
                            note=f"recorded {fiscal.recorded_date(v.date)}",
                        )
                    )
        return out


def natural_key(text: str) -> list:
    """R2 before R10: digits compared as numbers."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]


def latest_commentary(plan, sel: Selection) -> list:
    """Each role's latest commentary written for a month up to the selected one (a later
    month's report shows it with its own month and date, and says so: ``earlier`` is
    "(the latest written; none for P8 Nov 2017)" for a commentary of an earlier month, ""
    otherwise; every page, the pack, the workbook and a published version use it). One
    query."""
    earlier = Q(year__lt=sel.year) | Q(year=sel.year, period__lte=sel.period)
    found = {}
    for c in (
        Commentary.objects.filter(earlier, plan=plan)
        .select_related("author", "written_by")
        .order_by("role", "-year", "-period")
    ):
        found.setdefault(c.role, c)
    for c in found.values():
        mine = (c.year, c.period) == (sel.year, sel.period)
        c.earlier = "" if mine else f"(the latest written; none for {sel.label})"
    return [found[role] for role in sorted(found)]


def plan_figures(plan, sel: Selection) -> PlanFigures:
    """Every figure of DESIGN.md for one plan, year and period. A fixed number of queries
    (twenty-four: placements are four) whatever the number of lines, months or KPIs."""
    totals = plan_totals([plan], as_at=sel.as_at)[plan.pk]
    year = totals.years.get(sel.year) or YearTotals(sel.year)
    lines = line_figures(plan, sel, year.factor)
    raw = expected_profile([plan], sel.year).get(plan.pk, [(None, None)] * 12)

    def monthly(total):
        return None if total is None else (total * year.factor / 12).quantize(PENNY)

    profile = [(monthly(low), monthly(high)) for low, high in raw]
    counting = [x for x in lines if x.line.counts_towards_target]
    placements = load(plan)
    achieved, anticipated = delivered_by_period(plan, sel)
    return PlanFigures(
        plan=plan,
        sel=sel,
        totals=totals,
        lines=counting,
        outside_lines=[x for x in lines if not x.line.counts_towards_target],
        profile=profile,
        achieved_by_period=achieved,
        anticipated_by_period=anticipated,
        rag=savings_by_rag(counting),
        forecasts=ForecastFigures(
            [p for p in forecast_points([plan], sel.year) if p.period <= sel.period], sel.period
        ),
        pressures=pressure_months([plan]).get(plan.pk, []),
        funding=funding_positions([plan])[plan.pk],
        kpis=kpi_figures(
            plan,
            as_at=sel.as_at,
            population=plan.authority.child_population,
            placements=placements,
        ),
        risks=sorted(Risk.objects.filter(plan=plan), key=lambda r: natural_key(r.reference)),
        commentary=latest_commentary(plan, sel),
        reconciliation=reconcile(plan, totals=totals),
        discrepancies=list(
            PaperDiscrepancy.objects.filter(plan=plan).select_related("line").order_by("key")
        ),
        placements=placement_figures(plan, sel.year, sel.period, data=placements),
        what_ifs=what_ifs(plan, sel.year, sel.period, data=placements),
    )
