"""plans.figures against the seed papers' own figures, and the rules on their own."""

import re
from datetime import date
from decimal import Decimal
from html import unescape

import pytest
from django.test import override_settings
from django.urls import reverse

from plans import figures as fg
from plans.models import KPI, KpiPoint, Plan
from plans.selectors import month_end_month
from tests.factories import (
    CostPressureFactory,
    KPIFactory,
    KpiPointFactory,
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
    # Nothing has been reported for 2017/18: achieved, gap, variance and net at risk are
    # not known, never £0 (and never "£789,000 behind profile").
    assert f.year.achieved is None and f.year.gap_low is None
    assert f.delivery_variance is None and f.net_at_risk_low is None
    assert f.year.forecast is None


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
    # ...but the paper disagrees with itself, and the summary says so.
    keys = {d.key for d in mtfs_figures.discrepancies}
    assert {"adoption-acceleration-2017-18", "escorts-2017-18", "agency-staff-2018-19"} <= keys
    assert "childrens-centres-2017-18" in keys
    adoption = next(d for d in mtfs_figures.discrepancies if d.key.startswith("adoption"))
    assert (adoption.first_text, adoption.second_text, adoption.used_text) == (
        "£174k",
        "173k",
        "173k",
    )
    summary = mtfs_figures.reconciliation_summary
    assert "disagrees with itself in 8 places" in summary
    # Every printed rate holds for the seed's population (test_mtfs_cla_trajectory_and_rates).
    assert "printed rate" not in summary


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
    # The previous five-year plan's trajectory, which the MTFS calls unrealistic, is a
    # comparator, not this plan's target: the KPI is not rated against it.
    assert cla.targets == []
    previous = cla.comparators["Previous five-year plan (2014)"]
    assert [v.value for v in previous] == [D("242"), D("211"), D("180")]
    assert cla.target is None and cla.rag == ""
    assert "previous plan" in cla.rating_note
    # 279 / 25,050 x 10,000; the paper prints 111, 97, 84, 72 (Table 1): both are shown,
    # and agree at the paper's precision. The population is the one every printed rate holds
    # for (25,023 to 25,077): worked back from 111 alone (25,135) it had flagged the paper's
    # 97 as a computed 96.3, a disagreement of the seed's making, not the paper's.
    assert cla.latest.rate == D("111.4") and cla.latest.stated_rate == D("111")
    assert [v.rate for v in previous] == [D("96.6"), D("84.2"), D("71.9")]
    assert [v.stated_rate for v in previous] == [D("97"), D("84"), D("72")]
    assert not any(v.rate_differs for v in [cla.latest, *previous])
    # A rate that does differ at the paper's precision is still flagged.
    assert fg.KpiValue(
        date(2017, 3, 31), D("242"), rate=D("96.3"), stated_rate=D("97")
    ).rate_differs
    assert mtfs_figures.rate_differences == []
    printed = kpis["cla-rate"]
    assert [v.value for v in printed.actuals] == [D("111")]
    assert printed.rag == ""


def test_torbay_2011_12_gap_and_net_at_risk(torbay):
    plan = _plan("torbay", "recovery-2011-12")
    years, default = fg.plan_calendar(plan)
    assert default == fg.Selection("2011/12", 11)
    f = fg.plan_figures(plan, default)
    assert f.year.planned_low == D("250000")
    # An in-year target expected from February 2012: nothing before it, all of it by March.
    assert f.expected_in_year == (D("250000"), D("250000"))
    assert f.profile[9] == (0, 0) and f.expected_low == D("125000")
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
    # £4,652,000 to £3,751,000 is the effect of reserves and other savings at one date (a
    # basis), not a month-on-month movement.
    gross = series[("Children's Services", "gross")][9]
    net = series[("Children's Services", "net")][9]
    assert (gross.variance, net.variance) == (D("4652000"), D("3751000"))
    assert gross.movement is None and net.movement is None
    [mitigation] = f.forecasts.mitigations
    assert mitigation.effect == D("-901000")
    possible = series[("Children's Services", "base")][9]
    assert (possible.variance, possible.variance_high, possible.is_range) == (
        D("3000000"),
        D("4000000"),
        True,
    )
    assert all(p.rag == "red" for p in f.forecasts.points)
    # £224,537 of the £250,000 health contributions identified: achievable, not achieved.
    # The paper says most savings are implemented but gives no figure: not reported, not £0.
    assert f.year.anticipated == D("224537") and f.year.achieved is None
    assert f.year.lines_found == 1 and f.year.lines == 8
    assert f.year.gap_low is None and f.net_at_risk_low is None and f.year.forecast is None
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
    assert f.year.lines == 0 and f.net_at_risk_low is None  # nothing planned in 2016/17
    # The £3.4m is owed to reserves with no agreed repayment plan: not "£0 still to repay".
    assert f.funding.owed == D("3400000") and f.funding.outstanding is None
    assert f.funding.drawn == D("3400000") and f.funding.repaid == 0


def test_telford_total_and_default_period(seeded):
    plan = _plan("telford", "cip-2014-15")
    f = fg.plan_figures(plan, fg.Selection("2014/15", 12))
    assert f.year.planned_low == D("1329000")


@pytest.mark.parametrize(
    ("slug", "code", "expected"),
    [
        # The latest thing recorded is the progress commentary of December 2013.
        ("telford", "cip-2014-15", fg.Selection("2013/14", 9)),
        # The paper's month, January 2017 (its counts): the slippage table runs to March 2017,
        # but January to March are what it projects, not costs recorded.
        ("torbay", "mtfs-2017-21", fg.Selection("2016/17", 10)),
        # Achieved to date recorded at the end of February 2012.
        ("torbay", "recovery-2011-12", fg.Selection("2011/12", 11)),
        # KPI actuals of November and December 2014 (the forecast is October's).
        ("torbay", "five-year-plan-2014", fg.Selection("2014/15", 9)),
        # The paper's month, January 2015.
        ("barking-dagenham", "budget-update-2015", fg.Selection("2014/15", 10)),
    ],
)
def test_seed_plans_open_on_the_year_with_figures(seeded, slug, code, expected):
    plan = _plan(slug, code)
    years, default = fg.plan_calendar(plan)
    assert default == expected
    assert set(plan.years) <= set(years)


def test_telford_opens_on_its_latest_month_and_rates_against_the_target_in_force(
    seeded, django_assert_num_queries
):
    plan = _plan("telford", "cip-2014-15")
    with django_assert_num_queries(4):
        years, default = fg.plan_calendar(plan)
    assert default == fg.Selection("2013/14", 9)
    assert years == ["2012/13", "2013/14", "2014/15"]  # a KPI actual of September 2012
    f = fg.plan_figures(plan, default)
    assert f.year.lines == 0 and f.year.planned_low is None  # no savings planned in 2013/14
    assert f.recorded_in_year
    later = fg.plan_figures(plan, fg.Selection("2014/15", 12))
    assert later.year.planned_low == D("1329000") and later.year.lines == 12
    assert later.year.achieved is None and later.delivery_variance is None
    # "5 agency SWs until end Sept 2014, then 0": 7 at October 2013 is before either target
    # is in force, so it is not rated (the paper reports it as progress from 14).
    agency = next(k for k in f.kpis if k.kpi.code == "agency-social-workers")
    assert agency.latest.value == D("7") and agency.target is None and agency.rag == ""
    assert agency.next_target.value == D("5")
    by_day = {t.date: t for t in agency.targets}
    assert fg.target_in_force(agency.targets, date(2014, 6, 30)) == by_day[date(2014, 9, 30)]
    assert fg.target_in_force(agency.targets, date(2015, 3, 31)) == by_day[date(2015, 3, 31)]
    assert fg.target_in_force(agency.targets, date(2014, 10, 1)).value == D("0")


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


def test_an_in_year_target_is_due_in_full_by_march_from_its_start():
    # Torbay 2011/12: £250,000 in-year, savings from February 2012 (P11).
    assert fg.profile_value(D("250000"), start_period=11, period=10, in_year=True) == 0
    assert fg.profile_value(D("250000"), start_period=11, period=11, in_year=True) == D("125000")
    assert fg.profile_value(D("250000"), start_period=11, period=12, in_year=True) == D("250000")
    assert fg.slippage_cost(D("250000"), start_period=11, in_year=True) == D("125000")


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


def test_a_milestone_still_to_come_does_not_rate_an_earlier_actual(mtfs):
    plan = _plan("torbay", "mtfs-2017-21")
    kpis = {k.kpi.code: k for k in fg.kpi_figures(plan, as_at=None, population=None)}
    cla = kpis["cla-count"]
    assert cla.rate_note == "population not recorded" and cla.latest.rate is None
    adoption = kpis["leaving-care-adoption"]
    # 16% in 2015 against the 23% the plan aims for by March 2021: not in force yet.
    assert adoption.target is None and adoption.rag == ""
    assert adoption.next_target.date == date(2021, 3, 31)
    assert "next 23% by 31 Mar 2021" in adoption.rating_note


def test_slippage_of_months_after_the_one_shown_is_a_projection(client, mtfs, torbay_users):
    """Table 2 of the MTFS paper gives what slippage "will" cost each month to March 2017: at
    P6 Sep 2016 the cost to date is July to September, and the rest is projected."""
    plan = _plan("torbay", "mtfs-2017-21")
    f = fg.plan_figures(plan, fg.Selection("2016/17", 6))
    assert f.slippage_to_date == D("7526") + D("21560") + D("82105") == D("111191")
    assert f.slippage_total == D("1007221")
    assert [m.label for m in f.pressures_ahead][0] == "Oct 2016" and len(f.pressures_ahead) == 6
    client.force_login(torbay_users["director"])
    url = reverse("dashboards:plan_dashboard", args=[plan.pk]) + "?year=2016/17&period=6"
    text = unescape(re.sub(r"<[^>]+>", "", client.get(url).content.decode()))
    assert (
        "Slippage cost to P6 Sep 2016: £111,191. With later months, £1,007,221 to Mar 2017, "
        "of which £896,030 falls after P6 Sep 2016 and was not yet incurred." in text
    )
    assert "Oct 2016 after P6 Sep 2016" in text
    # At P8 2017/18 the year 2016/17 is over: its cost is given in one figure, with the
    # paper's January to March still projections, since nobody recorded them as incurred.
    f = fg.plan_figures(plan, fg.Selection("2017/18", 8))
    assert not f.pressures_ahead and f.slippage_projected == D("527699")
    assert f.slippage_to_date == D("479522") and f.slippage_total == D("1007221")
    url = reverse("dashboards:plan_dashboard", args=[plan.pk]) + "?year=2017/18&period=8"
    text = unescape(re.sub(r"<[^>]+>", "", client.get(url).content.decode()))
    assert (
        "Slippage cost recorded: £1,007,221, of which £527,699 is the paper's projection, with "
        "no cost recorded as incurred." in text
    )
    assert "Jan 2017 projected" in text
    # At P10 Jan 2017 (the paper's month) January to March are all the paper's projection.
    f = fg.plan_figures(plan, fg.Selection("2016/17", 10))
    assert f.ahead_kind == "projected" and f.ahead_label == "the paper's projection"
    assert [f.ahead_word(m) for m in f.pressures_ahead] == ["projected"] * 3
    url = reverse("dashboards:plan_dashboard", args=[plan.pk]) + "?year=2016/17&period=10"
    text = unescape(re.sub(r"<[^>]+>", "", client.get(url).content.decode()))
    assert (
        "Slippage cost to P10 Jan 2017: £479,522. With the projected months, £1,007,221 to Mar "
        "2017, of which £527,699 is the paper's projection, with no cost recorded as incurred."
        in text
    )


def test_only_slippage_after_the_month_shown_is_said_to_be_after_it(plan):
    # Found in review: a demand pressure alone in a later month made "slippage after it".
    CostPressureFactory(plan=plan, year="2017/18", period=3, kind="slippage", amount=D("500"))
    CostPressureFactory(plan=plan, year="2017/18", period=9, kind="demand", amount=D("900"))
    f = fg.plan_figures(plan, fg.Selection("2017/18", 6))
    assert f.pressures_ahead == [] and f.slippage_to_date == f.slippage_total == D("500")
    assert f.pressures_in_year == D("1400") and f.pressures_in_year_ahead == D("900")
    from dashboards.reports import summary_rows

    [row] = [r for r in summary_rows(f) if r.label.startswith("In-year cost pressures")]
    assert row.note == "of which £900 falls after P6 Sep 2017 and was not yet incurred"


def test_a_goal_the_paper_gives_no_date_is_shown_but_never_rated_nor_due(plan):
    """ "Caseloads no higher than 20" has no date: an actual of 25 filed after the day the goal
    is filed under is not rated Red against it, and no page says it was due by that day."""
    from dashboards.charts import kpi_chart

    kpi = KPIFactory(plan=plan, code="caseload", unit="count", direction=KPI.Direction.LOWER)
    target = KpiPoint.Kind.TARGET
    KpiPointFactory(kpi=kpi, kind=target, date=date(2017, 4, 30), value=20, undated=True)
    KpiPointFactory(kpi=kpi, date=date(2017, 10, 31), value=25)
    [k] = fg.kpi_figures(plan, as_at=date(2017, 10, 31), population=None)
    assert k.target is None and k.next_target is None and k.rag == ""
    assert k.goal.value == 20
    assert k.rating_note == (
        "20 is a goal the paper gives no date: the actual is not rated against it"
    )
    assert k.table_rows[-1][0] is None and k.table_rows[-1][3] == 20
    chart = kpi_chart(k)
    names = [t["name"] for t in chart.figure["data"]]
    assert "Target" not in names and "Goal (no date given)" in names
    [goal] = [t for t in chart.figure["data"] if t["name"] == "Goal (no date given)"]
    assert goal["y"] == [20, 20] and goal["mode"] == "lines"  # a level, not a dated point
    assert "a goal of 20 the paper gives no date" in chart.description
    # A dated target later on is rated as ever; the goal stays beside it, unrated.
    KpiPointFactory(kpi=kpi, kind=target, date=date(2017, 9, 30), value=30)
    [k] = fg.kpi_figures(plan, as_at=date(2017, 10, 31), population=None)
    assert k.target.value == 30 and k.rag == "green"


def test_the_target_due_at_the_month_shown_is_the_one_said(seeded):
    """Telford's agency social workers: 5 by September 2014, then 0 by March 2015, and no
    actual after October 2013. At March 2015 the 0 is due, not only the 5 before it."""
    telford = _plan("telford", "cip-2014-15")
    march = fg.kpi_figures(telford, as_at=date(2015, 3, 31), population=None)
    [agency] = [k for k in march if k.kpi.code == "agency-social-workers"]
    assert agency.due_target.value == 0 and agency.due_target.date == date(2015, 3, 31)
    assert agency.rating_note == "no actual since Oct 2013"  # the target column says which
    early = {
        k.kpi.code: k for k in fg.kpi_figures(telford, as_at=date(2014, 6, 30), population=None)
    }
    assert early["agency-social-workers"].due_target is None
    assert "next 5 by 30 Sep 2014" in early["agency-social-workers"].rating_note


def test_a_target_due_is_one_whose_date_has_passed_never_a_later_one(plan):
    # Found in review: a target in force over a period ending later was said "due by" then.
    kpi = KPIFactory(plan=plan, code="agency", unit="count")
    target = KpiPoint.Kind.TARGET
    KpiPointFactory(kpi=kpi, date=date(2014, 3, 31), value=10)
    KpiPointFactory(kpi=kpi, kind=target, date=date(2014, 9, 30), value=8)
    KpiPointFactory(
        kpi=kpi, kind=target, date=date(2016, 3, 31), value=5, applies_from=date(2014, 10, 1)
    )
    [k] = fg.kpi_figures(plan, as_at=date(2015, 3, 31), population=None)
    assert k.due_target.value == 8 and k.due_target.date == date(2014, 9, 30)
    assert k.rating_note == "no actual since Mar 2014"


def test_an_undated_goals_printed_words_stay_on_its_own_row(seeded):
    # Found in review: "no higher than 20 children" was lost, and "1:6" sat on the actual's row.
    barking = _plan("barking-dagenham", "budget-update-2015")
    kpis = {k.kpi.code: k for k in fg.kpi_figures(barking, as_at=None, population=None)}
    ratio, caseload = kpis["tm-sw-ratio"], kpis["sw-caseload-children"]
    assert ratio.printed_texts[None] == "target: 1:6"
    assert "target" not in ratio.printed_texts.get(date(2015, 1, 31), "")
    assert "no higher than 20 children" in caseload.printed_texts[None]


def test_telfords_undated_targets_are_goals_as_its_paper_prints_them(seeded):
    telford = _plan("telford", "cip-2014-15")
    kpis = {k.kpi.code: k for k in fg.kpi_figures(telford, as_at=None, population=None)}
    for code, value in (("contract-carer-usage", 60), ("queensway-occupancy", 75)):
        assert kpis[code].goal.value == value and kpis[code].next_target is None, code


def test_five_year_plan_kpis_the_paper_calls_on_track_are_not_red(seeded):
    plan = _plan("torbay", "five-year-plan-2014")
    f = fg.plan_figures(plan, fg.plan_calendar(plan)[1])
    kpis = {k.kpi.code: k for k in f.kpis}
    # "So far 1 with a further 4 ... by the end of 2014/5": 1 in December is on the way to 5.
    parent_child = kpis["in-house-parent-child-placements"]
    assert parent_child.latest.value == D("1") and parent_child.rag == ""
    assert all(k.rag != "red" for k in f.kpis)
    # The November and December actuals are within the default month.
    assert kpis["children-adopted-2014-15"].latest.value == D("11")


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
    assert f.pressures_in_year == D("5000")
    assert f.net_at_risk_low is None  # no savings planned: nothing to be at risk


def test_default_selection_is_the_latest_month_with_anything_recorded(
    authority, django_assert_num_queries
):
    line = SavingsLineFactory(plan__authority=authority, plan__published_on=None)
    PlannedAmountFactory(line=line, year="2019/20")
    # Nothing recorded and no paper date: the plan's first month, never a month with no data
    # dressed up as the year's end.
    assert fg.plan_calendar(line.plan)[1] == fg.Selection("2017/18", 1)
    line.plan.published_on = date(2018, 1, 11)
    assert fg.plan_calendar(line.plan)[1] == fg.Selection("2017/18", 10)  # the paper's month
    CostPressureFactory(plan=line.plan, year="2016/17", period=3)
    assert fg.plan_calendar(line.plan)[1] == fg.Selection("2016/17", 3)
    # A commentary-only progress entry is something recorded too.
    ProgressEntryFactory(
        line=line, year="2018/19", as_at=date(2019, 1, 31), achieved_to_date=None, forecast=None
    )
    with django_assert_num_queries(4):
        years, sel = fg.plan_calendar(line.plan)
    assert sel == fg.Selection("2018/19", 10)
    assert years == ["2016/17", "2017/18", "2018/19", "2019/20", "2020/21"]
    # A KPI actual and an overspend forecast count as well; the latest month wins.
    KpiPoint.objects.create(
        kpi=KPI.objects.create(plan=line.plan, code="cla", name="CLA", direction="lower"),
        kind="actual",
        date=date(2019, 2, 14),
        value=3,
    )
    assert fg.plan_calendar(line.plan)[1] == fg.Selection("2018/19", 11)
    OverspendForecastFactory(plan=line.plan, year="2020/21", period=4)
    assert fg.plan_calendar(line.plan)[1] == fg.Selection("2020/21", 4)
    # The month-end page opens on the month after it.
    assert month_end_month(line.plan) == ("2020/21", 5)


def test_plan_stated_start_holds_back_the_profile(authority):
    line = SavingsLineFactory(plan__authority=authority, plan__savings_start=date(2018, 2, 1))
    PlannedAmountFactory(line=line, year="2017/18", low=D("120000"), high=D("120000"))
    PlannedAmountFactory(line=line, year="2018/19", low=D("120000"), high=D("120000"))
    f = fg.plan_figures(line.plan, fg.Selection("2017/18", 10))
    assert f.expected_low == 0  # nothing expected before February 2018
    [x] = f.lines
    assert x.start_period == 11 and x.expected_low == 0
    assert fg.plan_figures(line.plan, fg.Selection("2017/18", 12)).expected_low == D("20000")
    assert fg.plan_figures(line.plan, fg.Selection("2018/19", 1)).expected_low == D("10000")


def test_what_changed_in_the_first_month_is_what_was_recorded_in_it(mtfs):
    from datetime import date as d

    line = mtfs.lines.get(reference="MTFS-01")
    ProgressEntryFactory(line=line, as_at=d(2017, 4, 30), achieved_to_date=D("12500"), rag="amber")
    f = fg.plan_figures(mtfs, fg.Selection("2017/18", 1))
    [saved] = [c for c in f.changes if c.area == "Savings achieved or achievable"]
    assert (saved.before, saved.after, saved.note) == (None, D("12500"), "first reported this year")
    # KPI actuals of 2016 and 2015 are not "changes" of April 2017.
    assert not [c for c in f.changes if c.area == "KPI"]
    # Risks in their natural order: R2 before R10.
    refs = [r.reference for r in f.risks]
    assert refs.index("R2") < refs.index("R10")


def test_a_kpi_counted_again_at_the_same_figure_is_no_change(mtfs):
    # Found walking the app: Telford's "What changed" listed agency social workers 7 -> 7.
    cla = mtfs.kpis.get(name="Children looked after")
    latest = cla.points.filter(kind=KpiPoint.Kind.ACTUAL).order_by("date").last()
    for day, value in ((date(2017, 11, 10), latest.value), (date(2017, 11, 20), D("281"))):
        KpiPoint.objects.create(kpi=cla, kind=KpiPoint.Kind.ACTUAL, date=day, value=value)
    f = fg.plan_figures(mtfs, fg.Selection("2017/18", 8))
    [change] = [c for c in f.changes if c.area == "KPI"]
    assert (change.before, change.after) == (latest.value, D("281"))


def test_a_comparator_is_the_point_for_the_actuals_date_never_its_last(mtfs):
    # The previous five-year plan's CLA trajectory (242/211/180 to March 2019) beside the
    # latest actual (279 in November 2016): its first point, March 2017's 242, dated on the
    # pages, never March 2019's 180.
    f = fg.plan_figures(mtfs, fg.Selection("2017/18", 8))
    [cla] = [k for k in f.kpis if k.kpi.name == "Children looked after"]
    assert cla.latest.date == date(2016, 11, 30)
    [previous] = [c for c in cla.latest_comparators if c.label.startswith("Previous")]
    assert (previous.value, previous.date) == (242, date(2017, 3, 31))
    # With an actual of March 2018, the trajectory's point of that date.
    KpiPoint.objects.create(
        kpi=cla.kpi, kind=KpiPoint.Kind.ACTUAL, date=date(2018, 3, 31), value=Decimal("250")
    )
    f = fg.plan_figures(mtfs, fg.Selection("2017/18", 12))
    [cla] = [k for k in f.kpis if k.kpi.name == "Children looked after"]
    [previous] = [c for c in cla.latest_comparators if c.label.startswith("Previous")]
    assert (previous.value, previous.date) == (211, date(2018, 3, 31))


def test_what_changed_shows_a_range_whole_and_a_rag_by_its_words(client, director, plan):
    OverspendForecastFactory(
        plan=plan,
        period=7,
        budget=None,
        forecast_outturn=None,
        overspend=D("3000000"),
        overspend_high=D("4000000"),
    )
    line = SavingsLineFactory(plan=plan, rag="red", original_rag="green")
    PlannedAmountFactory(line=line, year="2017/18", low=D("120000"))
    ProgressEntryFactory(line=line, as_at=date(2017, 10, 31), achieved_to_date=None, rag="red")
    f = fg.plan_figures(plan, fg.Selection("2017/18", 7))
    [forecast] = [c for c in f.changes if c.area == "Overspend forecast"]
    assert (forecast.after, forecast.after_high, forecast.change) == (
        D("3000000"),
        D("4000000"),
        None,
    )
    [rag] = [c for c in f.changes if c.area == "Savings RAG"]
    assert (rag.before, rag.after, rag.unit) == ("green", "red", "rag")
    client.force_login(director)
    html = client.get(
        reverse("dashboards:report", args=[plan.pk]) + "?year=2017/18&period=7"
    ).content.decode()
    changes = html[html.index('aria-label="Table: what changed"') :]
    assert "Green</td>" in changes and "Red</td>" in changes
    # (On paper each figure is in £k: the page keeps both, the pounds shown on screen.)
    shown = re.sub(r'<span class="money-k"[^>]*>[^<]*</span>|<[^>]+>', "", changes)
    assert "£3,000,000 – £4,000,000" in shown


def test_a_projected_slippage_cost_stays_projected_beside_another_cost_incurred(mtfs):
    # Found reviewing the change: a £1,000 "other" pressure recorded for January 2017 made
    # the paper's projected January slippage a cost to date.
    from dashboards import charts
    from plans.models import CostPressure

    CostPressure.objects.create(
        plan=mtfs, title="Other", kind="other", year="2016/17", period=10, amount=D("1000")
    )
    f = fg.plan_figures(mtfs, fg.Selection("2016/17", 12))
    assert f.slippage_to_date == D("479522") and f.slippage_ahead == D("527699")
    january = next(m for m in f.pressures if m.label == "Jan 2017")
    assert january.recorded and january.projected and january.slippage_incurred == 0
    # The legend keeps its capitals ("after P8 Nov 2016", never "p8 nov 2016").
    at_p8 = fg.plan_figures(mtfs, fg.Selection("2016/17", 8))
    names = [t["name"] for t in charts.slippage_chart(at_p8).figure["data"]]
    assert "After P8 Nov 2016 (not yet incurred)" in names
