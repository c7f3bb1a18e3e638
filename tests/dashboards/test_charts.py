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
