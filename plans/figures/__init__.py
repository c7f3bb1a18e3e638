"""Every figure of DESIGN.md, computed once, in this package.

Pages, reports, downloads and management commands all call these functions, so they cannot
disagree. Each function aggregates in the database with a fixed number of queries whatever the
number of lines or months, and returns plain data (dataclasses of ``Decimal``).

The package re-exports every public name, so callers import from ``plans.figures`` and
need not know which module holds what:

- ``rules``: the rules behind the figures as small pure functions (profile, RAG, rates).
- ``selection``: which year and period a page shows, and a plan's default.
- ``savings``: planned, adjusted, achieved and gap per plan and year; slippage; reconciliation.
- ``lines``: savings lines in a year, the expected profile and the RAG summary.
- ``money_position``: overspend forecasts, cost pressures and funding.
- ``kpis``: KPIs with targets, comparators, rates and the workforce rates.
- ``plan``: ``plan_figures``, every figure for one plan, year and period.
- ``overview``: all of an authority's plans, and the lineage of plans that revise one another.
- ``_base``: what the modules share (``ZERO``, ``MONTHS``, ``SUM_FIELD``).
"""

from plans.figures._base import MONTHS, SUM_FIELD, ZERO
from plans.figures.kpis import KpiFigures, KpiValue, kpi_figures, workforce_rates
from plans.figures.lines import (
    LineFigures,
    RagBucket,
    RagSummary,
    expected_profile,
    latest_achieved,
    line_figures,
    savings_by_rag,
)
from plans.figures.money_position import (
    ForecastFigures,
    ForecastPoint,
    FundingPosition,
    PressureMonth,
    forecast_points,
    funding_positions,
    headline_series,
    month_range,
    pressure_months,
)
from plans.figures.overview import (
    AuthorityOverview,
    Lineage,
    LineageCell,
    PlanSummary,
    authority_overview,
)
from plans.figures.plan import Change, PlanFigures, plan_figures
from plans.figures.rules import (
    RAG_LABELS,
    RAG_ORDER,
    RATE_PLACES,
    dated_targets,
    forecast_rag,
    forecast_threshold,
    forecast_thresholds,
    kpi_rag,
    months_elapsed,
    profile_value,
    rag_movement,
    rate_per_10k,
    share,
    slippage_cost,
    start_period,
    target_in_force,
    workforce_rate,
)
from plans.figures.savings import (
    PlanTotals,
    Reconciliation,
    YearTotals,
    latest_progress,
    plan_totals,
    reconcile,
    slippage_by_year,
    year_totals,
)
from plans.figures.selection import Selection, period_for_year, plan_calendar

__all__ = [
    "MONTHS",
    "RAG_LABELS",
    "RAG_ORDER",
    "RATE_PLACES",
    "SUM_FIELD",
    "ZERO",
    "AuthorityOverview",
    "Change",
    "ForecastFigures",
    "ForecastPoint",
    "FundingPosition",
    "KpiFigures",
    "KpiValue",
    "LineFigures",
    "Lineage",
    "LineageCell",
    "PlanFigures",
    "PlanSummary",
    "PlanTotals",
    "PressureMonth",
    "RagBucket",
    "RagSummary",
    "Reconciliation",
    "Selection",
    "YearTotals",
    "authority_overview",
    "expected_profile",
    "forecast_points",
    "forecast_rag",
    "forecast_threshold",
    "forecast_thresholds",
    "funding_positions",
    "headline_series",
    "kpi_figures",
    "kpi_rag",
    "latest_achieved",
    "latest_progress",
    "line_figures",
    "month_range",
    "months_elapsed",
    "period_for_year",
    "plan_calendar",
    "plan_figures",
    "plan_totals",
    "pressure_months",
    "profile_value",
    "rag_movement",
    "rate_per_10k",
    "reconcile",
    "savings_by_rag",
    "share",
    "slippage_by_year",
    "slippage_cost",
    "start_period",
    "dated_targets",
    "target_in_force",
    "workforce_rate",
    "workforce_rates",
    "year_totals",
]
