"""Fixtures for the dashboard tests: plans built to a size, and headless Chromium.

The headless Chromium fixture ``chromium_page`` lives in tests/conftest.py.
"""

from datetime import date
from decimal import Decimal

import pytest

from recovery import fiscal
from tests.factories import (
    CostPressureFactory,
    FundingFactory,
    KPIFactory,
    KpiPointFactory,
    OverspendForecastFactory,
    PlanFactory,
    PlannedAmountFactory,
    ProgressEntryFactory,
    RiskFactory,
    SavingsLineFactory,
)

RAGS = ["green", "amber", "red", "blue"]


def build_plan(authority, n_lines: int, *, months: int = 6, code: str | None = None):
    """A plan with ``n_lines`` lines, each with amounts in two years and progress in
    ``months`` months, forecasts for every month, KPIs, pressures, funding and risks."""
    plan = PlanFactory(
        authority=authority,
        code=code or f"built-{n_lines}",
        title=f"Built plan with {n_lines} lines",
    )
    for i in range(n_lines):
        line = SavingsLineFactory(
            plan=plan, rag=RAGS[i % 4], original_rag=RAGS[(i + 1) % 4], start_period=1 + i % 6
        )
        PlannedAmountFactory(line=line, year="2017/18", low=Decimal(12000 * (i + 1)))
        PlannedAmountFactory(
            line=line, year="2018/19", kind="range", low=Decimal(1000), high=Decimal(5000)
        )
        for p in range(1, months + 1):
            ProgressEntryFactory(
                line=line,
                as_at=fiscal.period_end("2017/18", p),
                achieved_to_date=Decimal(1000 * p),
                rag=RAGS[(i + p) % 4],
                commentary=f"Month {p} on line {i}",
            )
    for p in range(1, months + 1):
        OverspendForecastFactory(
            plan=plan, period=p, forecast_outturn=Decimal(30_000_000 + 10_000 * p)
        )
        CostPressureFactory(plan=plan, period=p)
    for k in range(3):
        kpi = KPIFactory(plan=plan, per_child_population=k == 0)
        for p in range(1, months + 1):
            KpiPointFactory(kpi=kpi, date=fiscal.period_end("2017/18", p), value=200 - p)
        KpiPointFactory(kpi=kpi, kind="target", date=date(2018, 3, 31), value=150)
        KpiPointFactory(
            kpi=kpi, kind="comparator", date=date(2018, 3, 31), value=120, label="England"
        )
    FundingFactory(plan=plan)
    FundingFactory(plan=plan, kind="reserve_repay", year="2018/19", amount=Decimal(500000))
    RiskFactory(plan=plan)
    return plan


@pytest.fixture
def built_plan(authority):
    return lambda n, **kw: build_plan(authority, n, **kw)
