"""dashboards.charts: the KPI chart's second axis (rate per 10,000 children)."""

from datetime import date
from decimal import Decimal

import pytest

from dashboards import charts
from plans import figures as fg
from plans.models import Plan
from tests.factories import KPIFactory, KpiPointFactory

pytestmark = pytest.mark.django_db
D = Decimal


def test_rate_axis_is_worked_out_in_decimal_and_aligned(mtfs):
    plan = Plan.objects.select_related("authority").get(pk=mtfs.pk)
    population = plan.authority.child_population
    kpis = {k.kpi.code: k for k in fg.kpi_figures(plan, as_at=None, population=population)}
    cla = kpis["cla-count"]
    top = max(v.value for v in cla.actuals + cla.targets) * D("1.1")  # 279 x 1.1 = 306.9
    layout = charts.kpi_chart(cla).figure["layout"]
    # Not 306.90000000000003, as float(279) * 1.1 gives.
    assert layout["yaxis"]["range"] == [0, 306.9] == [0, float(top)]
    assert layout["yaxis2"]["range"] == [0, float(top * 10_000 / population)]
    # The same top on both axes: a count reads as its rate across the chart.
    y_top, y2_top = layout["yaxis"]["range"][1], layout["yaxis2"]["range"][1]
    assert abs(279 / y_top - float(cla.latest.rate) / y2_top) < 0.001
    # Each axis ticks at whole numbers of its own (never 0, 39.8, 79.6, 119.4 per 10,000).
    for axis in ("yaxis", "yaxis2"):
        assert layout[axis]["tickmode"] == "linear" and layout[axis]["tick0"] == 0
        assert isinstance(layout[axis]["dtick"], int) and layout[axis]["tickformat"] == ",d"


def test_a_kpi_at_zero_gets_no_empty_axis_range(authority):
    authority.child_population = 30_000
    authority.save()
    kpi = KPIFactory(plan__authority=authority, per_child_population=True)
    KpiPointFactory(kpi=kpi, date=date(2017, 9, 30), value=D("0"))
    [k] = fg.kpi_figures(kpi.plan, as_at=None, population=authority.child_population)
    layout = charts.kpi_chart(k).figure["layout"]
    assert "range" not in layout["yaxis"] and "yaxis2" not in layout


@pytest.mark.django_db
def test_officers_words_are_text_in_every_chart(authority):
    import json

    from dashboards import charts
    from plans import figures as fg
    from tests.factories import KPIFactory, KpiPointFactory, OverspendForecastFactory

    payload = '<a href="https://elsewhere.example/">click</a>'
    forecast = OverspendForecastFactory(plan__authority=authority, period=3, service_area=payload)
    kpi = KPIFactory(plan=forecast.plan, name=payload)
    KpiPointFactory(kpi=kpi, date=fg.Selection("2017/18", 2).as_at, value=5)
    KpiPointFactory(
        kpi=kpi, kind="comparator", label=payload, date=fg.Selection("2017/18", 3).as_at, value=4
    )
    f = fg.plan_figures(forecast.plan, fg.Selection("2017/18", 3))
    drawn = json.dumps([c.figure for c in charts.dashboard_charts(f)["kpis"].values()])
    drawn += json.dumps(charts.dashboard_charts(f)["forecast"].figure)
    assert "<a href" not in drawn and "&lt;a href" in drawn


def test_a_money_axis_is_labelled_in_one_unit():
    # Found walking the app: the RAG chart's axis read £750k beside £1.0m.
    from dashboards.charts import _money_tick_values

    axis = _money_tick_values([0, 980_000])
    assert axis["ticktext"] == ["£0", "£0.25m", "£0.5m", "£0.75m", "£1m"]
    assert _money_tick_values([-400_000, 300_000])["ticktext"][:2] == ["-£400k", "-£200k"]


def test_the_forecast_chart_gives_each_service_area_its_own_panels(mtfs, seeded):
    # Found walking the app: Whole service (£28.9m) and Leaving care (£250k) shared one budget
    # panel, so Leaving care sat on £0; the Leaving care variance panel ticked at £0 alone; a
    # range forecast (£3m–£4m) was a bar to £3m; the movement marker had no legend entry.
    f = fg.plan_figures(mtfs, fg.Selection("2016/17", 12))
    figure = charts.forecast_chart(f).figure
    layout, data = figure["layout"], figure["data"]
    titles = [a["text"] for a in layout["annotations"]]
    assert titles == [
        "Budget and forecast outturn: Whole service",
        "Variance: Whole service",
        "Variance: Whole service (worst case)",
        "Budget and forecast outturn: Leaving care",
        "Variance: Leaving care",
    ]
    axes = [layout["yaxis" if row == 1 else f"yaxis{row}"] for row in range(1, 6)]
    variance_ranges = {tuple(axes[i]["range"]) for i in (1, 2, 4)}
    assert len(variance_ranges) == 1  # one scale for every variance panel, range and ticks
    low, high = variance_ranges.pop()
    assert low <= 0 < 197_086 < high
    leaving = axes[3]["range"]
    assert leaving[0] <= 250_000 and 447_000 <= leaving[1] < 1_000_000  # its own scale
    legend = [t["name"] for t in data if t.get("showlegend", True)]
    assert len(legend) == len(set(legend))  # each kind once in the legend

    barking = Plan.objects.get(authority__slug="barking-dagenham")
    figure = charts.forecast_chart(fg.plan_figures(barking, fg.Selection("2014/15", 10))).figure
    ranged = [t for t in figure["data"] if "error_y" in t]
    assert ranged and 1_000_000 in ranged[0]["error_y"]["array"]
    assert "£3,000,000 – £4,000,000" in ranged[0]["customdata"]
    legend = [t["name"] for t in figure["data"] if t.get("showlegend", True)]
    assert "Movement since the previous forecast" in legend


def test_a_placement_cost_known_for_some_months_only_is_said_to_be_so(mtfs):
    # Found walking the app: at P12 2016/17 the chart's words gave "a line of the actual cost
    # to P12 Mar 2017" beside a cost to date "not reported" (January's count, no earlier one).
    from dashboards.charts import placements_summary
    from plans import figures as fg

    f = fg.plan_figures(mtfs, fg.Selection("2016/17", 12))
    assert f.placements.position.to_date is None
    said = placements_summary(f)
    assert "cost of the months with a count (the cost to date is not known" in said
    assert "cost to P12 Mar 2017" not in said
