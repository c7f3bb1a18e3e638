"""dashboards.figures against the seed papers' own figures, and the rules on their own."""

from datetime import date
from decimal import Decimal

import pytest
from django.test import override_settings

from dashboards import figures as fg
from plans.models import KPI, Plan, ProgressEntry
from tests.factories import (
    CostPressureFactory,
    OverspendForecastFactory,
    PlannedAmountFactory,
    ProgressEntryFactory,
    SavingsLineFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal


def _plan(slug, code):
    return Plan.objects.select_related("authority").get(authority__slug=slug, code=code)


@pytest.fixture
def mtfs_figures(mtfs):
    plan = _plan("torbay", "mtfs-2017-21")
    return fg.plan_figures(plan, fg.Selection("2017/18", 12))


# --------------------------------------------------------------------------------------------
# The seed papers


def test_mtfs_2017_18_matches_the_paper(mtfs_figures):
    f = mtfs_figures
    assert f.year.planned_low == f.year.planned_high == D("1578000")  # "TOTAL 1.578m"
    assert f.year.factor == D("0.5")
    assert f.year.adjusted_low == D("789000")  # "Budget adjustment of 50% ... 789k"
    assert f.expected_in_year == (D("789000"), D("789000"))
    assert f.year.tbc_lines == 0 and f.year.lines == 14
    assert f.net_at_risk_low == D("1578000")


def test_mtfs_totals_across_years_match_the_summary_table(mtfs_figures):
    years = mtfs_figures.totals.years
    assert (years["2018/19"].planned_low, years["2018/19"].planned_high) == (
        D("1314000"),
        D("1864000"),
    )
    assert (years["2019/20"].planned_low, years["2019/20"].planned_high) == (
        D("1769000"),
        D("2319000"),
    )
    assert (years["2020/21"].planned_low, years["2020/21"].planned_high) == (
        D("247000"),
        D("797000"),
    )
    total = mtfs_figures.totals.total
    assert (total.planned_low, total.planned_high, total.tbc_lines) == (
        D("4908000"),
        D("6558000"),
        3,
    )
    assert not mtfs_figures.differences  # every stated total that can be computed agrees


def test_mtfs_slippage_table_month_by_month(mtfs_figures):
    f = mtfs_figures
    assert f.slippage_total == D("1007221")  # Table 2 total
    assert f.slippage_years == [("2016/17", D("1007221"))]
    by_month = {(m.year, m.period): m.slippage for m in f.pressures}
    assert by_month[("2016/17", 4)] == D("7526")  # July 2016
    assert by_month[("2016/17", 12)] == D("181763")  # March 2017
    assert f.pressures[-1].cumulative_slippage == D("1007221")
    # The slippage figure agrees with the one plans/plan_summary use.
    assert fg.slippage_by_year([f.plan])[f.plan.pk]["2016/17"] == D("1007221")
    # The months run from July 2016 to March 2017 with no gap.
    assert [p for _, p, _ in fg.month_range(f.pressures)] == list(range(4, 13))


def test_mtfs_cla_trajectory_and_rates(mtfs_figures):
    kpis = {k.kpi.code: k for k in mtfs_figures.kpis}
    cla = kpis["cla-count"]
    assert [v.value for v in cla.actuals] == [D("279")]
    assert [v.value for v in cla.targets] == [D("242"), D("211"), D("180")]
    # 279 / 25,135 x 10,000; the paper prints 111, 97, 84, 72 (Table 1).
    assert cla.latest.rate == D("111.0")
    assert [v.rate for v in cla.targets] == [D("96.3"), D("83.9"), D("71.6")]
    printed = kpis["cla-rate"]
    assert [v.value for v in printed.actuals + printed.targets] == [
        D("111"),
        D("97"),
        D("84"),
        D("72"),
    ]
    # 279 against the 242 due by March 2017 misses by 15%: Red at a 5% tolerance.
    assert cla.target.value == D("242") and cla.rag == "red"


def test_torbay_2011_12_gap_and_net_at_risk(torbay):
    plan = _plan("torbay", "recovery-2011-12")
    years, default = fg.plan_calendar(plan)
    assert default == fg.Selection("2011/12", 11)
    f = fg.plan_figures(plan, default)
    assert f.year.planned_low == D("250000")
    assert f.year.achieved == D("144000")
    assert f.year.gap_low == D("106000")
    assert f.net_at_risk_low == D("106000")
    # The vacancy-management savings are reported outside the target.
    assert {x.line.reference for x in f.outside_lines} >= {"REC-03", "REC-07"}
    # Achieved was recorded in October only: the other months are gaps, not zeros.
    assert f.achieved_by_period[6] == D("144000")
    assert f.achieved_by_period[:6] == [None] * 6 and f.achieved_by_period[7] is None


def test_barking_forecast_movement(seeded):
    plan = _plan("barking-dagenham", "budget-update-2015")
    f = fg.plan_figures(plan, fg.Selection("2014/15", 10))
    series = dict(f.forecasts.series)
    care = series[("Children's Social Care and Complex Needs", "base")]
    assert care[5].variance == D("5466000")  # September
    assert care[8].variance == D("4681000")
    assert care[8].movement == D("-785000") and care[8].previous_period == 6
    deficit = series[("Children's Services (after reserves and other savings)", "base")]
    assert deficit[9].movement == D("-901000")  # £4,652,000 to £3,751,000
    possible = series[("Children's Services", "base")][9]
    assert (possible.variance, possible.variance_high, possible.is_range) == (
        D("3000000"),
        D("4000000"),
        True,
    )
    assert all(p.rag == "red" for p in f.forecasts.points)
    # £224,537 of the £250,000 health contributions identified: achievable, not achieved.
    assert f.year.anticipated == D("224537") and f.year.achieved == 0
    assert f.year.planned_low == D("1120000")


def test_mtfs_stated_overspend_agrees_with_budget_and_outturn(mtfs):
    plan = _plan("torbay", "mtfs-2017-21")
    f = fg.plan_figures(plan, fg.Selection("2016/17", 8))
    head = f.forecasts.headline
    assert (head.budget, head.outturn, head.variance) == (
        D("28900000"),
        D("30200000"),
        D("1300000"),
    )
    assert not head.stated_differs
    assert head.threshold == D("100000")  # lower of 5% of £28.9m and £100k
    assert f.pressures_in_year == D("1007221")
    assert f.net_at_risk_low == D("1007221")  # nothing planned in 2016/17


def test_telford_total_and_default_period(seeded):
    plan = _plan("telford", "cip-2014-15")
    f = fg.plan_figures(plan, fg.Selection("2014/15", 12))
    assert f.year.planned_low == D("1329000")


@pytest.mark.parametrize(
    ("slug", "code", "expected"),
    [
        # Progress in 2013/14 is commentary only; every saving is planned in 2014/15.
        ("telford", "cip-2014-15", fg.Selection("2014/15", 12)),
        # No forecast or progress within the plan's years: its first year with savings.
        ("torbay", "mtfs-2017-21", fg.Selection("2017/18", 12)),
        # Achieved to date recorded at the end of February 2012.
        ("torbay", "recovery-2011-12", fg.Selection("2011/12", 11)),
    ],
)
def test_seed_plans_open_on_the_year_with_figures(seeded, slug, code, expected):
    plan = _plan(slug, code)
    years, default = fg.plan_calendar(plan)
    assert default == expected
    assert set(plan.years) <= set(years)


def test_telford_opens_on_2014_15_where_its_savings_are(seeded, django_assert_num_queries):
    plan = _plan("telford", "cip-2014-15")
    with django_assert_num_queries(3):
        years, default = fg.plan_calendar(plan)
    assert default == fg.Selection("2014/15", 12)
    assert years == ["2013/14", "2014/15"]  # 2013/14 and its commentary are still offered
    f = fg.plan_figures(plan, default)
    assert f.year.planned_low == D("1329000") and f.year.lines == 12


def test_overview_and_lineage_of_torbays_plans(torbay):
    plans = list(Plan.objects.filter(authority=torbay).select_related("authority"))
    overview = fg.authority_overview(plans)
    assert len(overview.summaries) == 3
    [lineage] = overview.lineages
    assert [s.plan.code for s in lineage.summaries] == [
        "recovery-2011-12",
        "five-year-plan-2014",
        "mtfs-2017-21",
    ]
    rows = dict(lineage.rows)
    first = rows["2011/12"][0]
    assert (first.promised.planned_low, first.promised.achieved) == (D("250000"), D("144000"))
    assert rows["2015/16"][1].reserves_drawn == D("2300000")
    assert rows["2016/17"][2].slippage == D("1007221")
    assert rows["2017/18"][2].promised.adjusted_low == D("789000")
    assert rows["2014/15"][1].forecast.variance == D("1400000")


# --------------------------------------------------------------------------------------------
# The rules


@pytest.mark.parametrize(
    ("start", "period", "expected"),
    [
        (None, 12, D("1200")),
        (1, 6, D("600")),
        (7, 12, D("600")),
        (7, 6, D("0")),
        (12, 12, D("100")),
    ],
)
def test_profile_a_line_starting_in_month_m_yields_13_minus_m_twelfths(start, period, expected):
    assert fg.profile_value(D("1200"), start_period=start, period=period) == expected


def test_profile_applies_the_year_factor_and_slippage_cost():
    assert fg.profile_value(D("1578000"), start_period=None, period=12, factor=D("0.5")) == D(
        "789000"
    )
    assert fg.slippage_cost(D("1200"), months=3) == D("300")
    assert fg.slippage_cost(D("1200"), start_period=11, months=5) == D("200")  # 2 months left


@override_settings(RAG_RED_SHARE_OF_BUDGET=D("0.05"), RAG_RED_AMOUNT=D("100000"))
def test_forecast_rag_thresholds():
    assert fg.forecast_threshold(D("1000000")) == D("50000")  # 5% is lower
    assert fg.forecast_threshold(D("28900000")) == D("100000")
    assert fg.forecast_threshold(None) == D("100000")
    assert fg.forecast_rag(D("50000"), D("1000000")) == "red"
    assert fg.forecast_rag(D("49999.99"), D("1000000")) == "amber"
    assert fg.forecast_rag(D("0"), D("1000000")) == "green"
    assert fg.forecast_rag(D("-5"), None) == "green"


def test_kpi_rag_honours_direction_and_tolerance():
    lower, higher = KPI.Direction.LOWER, KPI.Direction.HIGHER
    t = D("0.05")
    assert fg.kpi_rag(D("100"), D("100"), direction=lower, tolerance=t) == "green"
    assert fg.kpi_rag(D("105"), D("100"), direction=lower, tolerance=t) == "amber"
    assert fg.kpi_rag(D("106"), D("100"), direction=lower, tolerance=t) == "red"
    assert fg.kpi_rag(D("95"), D("100"), direction=higher, tolerance=t) == "amber"
    assert fg.kpi_rag(D("120"), D("100"), direction=higher, tolerance=t) == "green"
    assert fg.kpi_rag(D("1"), D("0"), direction=lower, tolerance=t) == "red"


def test_rates_and_workforce_rates():
    assert fg.rate_per_10k(279, 25135) == D("111.0")
    assert fg.rate_per_10k(279, None) is None
    assert fg.workforce_rate(3, 27) == D("10.0")  # 3 vacancies, 27 in post
    assert fg.workforce_rate(0, 0) is None


def test_kpi_target_is_the_nearest_on_or_after_the_actual(mtfs):
    plan = _plan("torbay", "mtfs-2017-21")
    kpis = {k.kpi.code: k for k in fg.kpi_figures(plan, as_at=None, population=None)}
    cla = kpis["cla-count"]
    assert cla.rate_note == "population not recorded" and cla.latest.rate is None
    adoption = kpis["leaving-care-adoption"]
    assert adoption.target.date == date(2021, 3, 31)  # the only target, after the actual
    assert adoption.rag == "red"  # 16% against 23%, higher is better


# --------------------------------------------------------------------------------------------
# Built plans: database aggregates agree with the line rows


def test_database_aggregates_agree_with_line_rows(built_plan):
    plan = built_plan(9, months=5)
    sel = fg.Selection("2017/18", 5)
    f = fg.plan_figures(plan, sel)
    assert sum(x.achieved for x in f.lines) == f.year.achieved
    assert sum(x.planned_low for x in f.lines) == f.year.planned_low
    by_rag = {}
    for x in f.lines:
        by_rag.setdefault(x.rag, [0, D(0)])
        by_rag[x.rag][0] += 1
        by_rag[x.rag][1] += x.planned_low
    assert {b.rag: [b.count, b.value_low] for b in f.rag.current if b.count} == by_rag
    assert abs(sum(x.expected_low for x in f.lines) - f.expected_low) <= D("0.01") * len(f.lines)
    assert f.achieved_by_period[4] == f.year.achieved
    assert f.achieved_by_period[5:] == [None] * 7


def test_previous_month_rag_and_achieved_movement(authority):
    line = SavingsLineFactory(plan__authority=authority, rag="green")
    PlannedAmountFactory(line=line, year="2017/18", low=D("120000"))
    ProgressEntryFactory(
        line=line, as_at=date(2017, 9, 30), achieved_to_date=D("40000"), rag="amber"
    )
    ProgressEntryFactory(
        line=line,
        as_at=date(2017, 10, 31),
        achieved_to_date=D("55000"),
        rag="red",
        commentary="Placements slipped",
    )
    f = fg.plan_figures(line.plan, fg.Selection("2017/18", 7))
    [x] = f.lines
    assert (x.rag_previous, x.rag, x.rag_move) == ("amber", "red", "worsened")
    assert (x.achieved_previous, x.achieved, x.achieved_movement) == (
        D("40000"),
        D("55000"),
        D("15000"),
    )
    assert x.expected_low == D("70000") and x.delivery_variance == D("-15000")
    assert f.red_amber_lines == [x]
    areas = {c.area for c in f.changes}
    assert {"Savings achieved or achievable", "Savings RAG"} <= areas


def test_forecast_movement_skips_unrecorded_months_and_ranges(authority):
    plan = OverspendForecastFactory(plan__authority=authority, period=2).plan
    OverspendForecastFactory(plan=plan, period=5, forecast_outturn=D("29000000"))
    OverspendForecastFactory(plan=plan, period=6, forecast_outturn=D("28950000"))
    CostPressureFactory(plan=plan, period=3, amount=D("5000"))
    f = fg.plan_figures(plan, fg.Selection("2017/18", 5))
    [(_, points)] = f.forecasts.series
    assert points[2] is None and points[3] is None  # gaps, not zeros
    assert points[4].movement == D("100000") - D("1300000")
    assert points[4].previous_period == 2
    assert points[4].rag == "red"  # £100k over: "at least" the £100k threshold
    assert points[5] is None  # after the selected period
    later = fg.plan_figures(plan, fg.Selection("2017/18", 6)).forecasts.headline
    assert (later.variance, later.rag, later.movement) == (D("50000"), "amber", D("-50000"))
    assert f.net_at_risk_low == D("5000")


def test_default_selection_follows_the_latest_progress(authority):
    line = SavingsLineFactory(plan__authority=authority)
    PlannedAmountFactory(line=line, year="2018/19")
    # Nothing recorded yet: the first year with planned savings, not the plan's first year.
    assert fg.plan_calendar(line.plan)[1] == fg.Selection("2018/19", 12)
    ProgressEntry.objects.create(line=line, as_at=date(2018, 11, 30), achieved_to_date=1)
    years, sel = fg.plan_calendar(line.plan)
    assert sel == fg.Selection("2018/19", 8)
    assert years == ["2017/18", "2018/19", "2019/20", "2020/21"]


def test_default_selection_ignores_commentary_only_progress(authority, django_assert_num_queries):
    line = SavingsLineFactory(plan__authority=authority)
    PlannedAmountFactory(line=line, year="2019/20")
    PlannedAmountFactory(line=SavingsLineFactory(plan=line.plan), year="2020/21")
    CostPressureFactory(plan=line.plan, year="2016/17", period=3)
    ProgressEntryFactory(
        line=line, year="2018/19", as_at=date(2019, 1, 31), achieved_to_date=None, forecast=None
    )
    with django_assert_num_queries(3):
        years, sel = fg.plan_calendar(line.plan)
    assert sel == fg.Selection("2019/20", 12)  # the first year with planned savings
    assert years == ["2016/17", "2017/18", "2018/19", "2019/20", "2020/21"]
    # A forecast alone is an amount: its year and period become the default.
    ProgressEntryFactory(
        line=line, year="2018/19", as_at=date(2018, 6, 30), achieved_to_date=None, forecast=5
    )
    assert fg.plan_calendar(line.plan)[1] == fg.Selection("2018/19", 3)
    # An overspend forecast in a later plan year wins over progress in an earlier one.
    OverspendForecastFactory(plan=line.plan, year="2020/21", period=4)
    assert fg.plan_calendar(line.plan)[1] == fg.Selection("2020/21", 4)


def test_default_selection_without_planned_savings_is_the_first_year(authority):
    plan = SavingsLineFactory(plan__authority=authority).plan
    # Planned savings before the plan starts do not choose the default.
    PlannedAmountFactory(line__plan=plan, year="2016/17")
    assert fg.plan_calendar(plan)[1] == fg.Selection("2017/18", 12)
