"""The Torbay MTFS 2017-2021 seed fixture carries the paper's figures faithfully."""

from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db.models import Count, Q, Sum

from plans.models import (
    KPI,
    CostPressure,
    Funding,
    OverspendForecast,
    Plan,
    PlannedAmount,
    SavingsLine,
    StatedFigure,
    YearAdjustment,
)
from tests.seeds import seed

pytestmark = pytest.mark.django_db

TORBAY_FIXTURES = [
    seed("000_torbay_recovery_plan_2011_12.json"),
    seed("001_torbay_five_year_plan_2014.json"),
    seed("002_torbay_mtfs_2017_21.json"),
]


def load():
    call_command("loaddata", *TORBAY_FIXTURES, verbosity=0)


@pytest.fixture
def plan(seeded):
    # The files as tests/conftest.py loads them once per session (and again after a
    # transactional test): test_loading_twice_changes_nothing loads them once more.
    return Plan.objects.get(authority__slug="torbay", code="mtfs-2017-21")


def amounts(plan, **filters):
    return PlannedAmount.objects.filter(
        line__plan=plan, line__counts_towards_target=True, **filters
    ).aggregate(low=Sum("low"), high=Sum("high"), tbc=Count("pk", filter=Q(kind="tbc")))


@pytest.mark.parametrize(
    ("year", "low", "high"),
    [
        ("2017/18", 1_578_000, 1_578_000),
        ("2018/19", 1_314_000, 1_864_000),
        ("2019/20", 1_769_000, 2_319_000),
        ("2020/21", 247_000, 797_000),
    ],
)
def test_yearly_planned_totals_match_the_summary_table(plan, year, low, high):
    got = amounts(plan, year=year)
    assert (got["low"], got["high"]) == (Decimal(low), Decimal(high))
    stated = StatedFigure.objects.get(plan=plan, measure="planned", year=year)
    assert (stated.low, stated.high) == (Decimal(low), Decimal(high))


def test_all_years_total_and_tbc_count(plan):
    got = amounts(plan)
    assert (got["low"], got["high"], got["tbc"]) == (Decimal(4_908_000), Decimal(6_558_000), 3)
    stated = StatedFigure.objects.get(plan=plan, key="planned-all-years")
    assert (stated.low, stated.high, stated.stated_text) == (
        Decimal(4_908_000),
        Decimal(6_558_000),
        "4.908m – 6.558m",
    )
    tbc = PlannedAmount.objects.filter(line__plan=plan, kind="tbc")
    assert {(a.line.reference, a.year) for a in tbc} == {
        ("MTFS-16", "2018/19"),
        ("MTFS-16", "2019/20"),
        ("MTFS-16", "2020/21"),
    }
    assert all(a.low is None and a.high is None for a in tbc)


def test_sixteen_lines_and_the_revenue_budget_stars(plan):
    lines = SavingsLine.objects.filter(plan=plan)
    assert lines.count() == 16
    assert list(lines.values_list("reference", flat=True)) == [
        f"MTFS-{n:02d}" for n in range(1, 17)
    ]
    assert set(lines.filter(in_revenue_budget=True).values_list("reference", flat=True)) == {
        "MTFS-07",
        "MTFS-10",
        "MTFS-11",
        "MTFS-12",
        "MTFS-14",
        "MTFS-16",
    }
    assert not lines.exclude(status="proposed").exists()
    assert not lines.filter(counts_towards_target=False).exists()


def test_each_line_total_matches_its_amounts(plan):
    totals = StatedFigure.objects.filter(plan=plan, measure="line_total")
    assert totals.count() == 16
    for stated in totals:
        got = stated.line.amounts.aggregate(low=Sum("low"), high=Sum("high"))
        assert (got["low"], got["high"]) == (stated.low, stated.high), stated.key
    assert totals.get(line__reference="MTFS-02").stated_text == "1,265m"
    assert totals.get(line__reference="MTFS-15").stated_text == "150k-1.8m"


def test_discrepancies_are_noted(plan):
    adoption = SavingsLine.objects.get(plan=plan, reference="MTFS-06")
    assert adoption.amounts.get().low == Decimal(173_000)
    assert "£174k" in adoption.notes and "£173k" in adoption.notes
    assert "£20.520" in SavingsLine.objects.get(plan=plan, reference="MTFS-12").notes
    assert "£51k" in SavingsLine.objects.get(plan=plan, reference="MTFS-14").notes
    assert "£57,500" in SavingsLine.objects.get(plan=plan, reference="MTFS-08").notes


def test_drivers(plan):
    residential = PlannedAmount.objects.get(
        line__plan=plan, line__reference="MTFS-02", year="2017/18"
    )
    assert residential.driver_volume == 2
    assert residential.driver_unit_value == Decimal(126_705)
    assert residential.driver_total == Decimal("253410.00")
    agency = PlannedAmount.objects.get(line__plan=plan, line__reference="MTFS-14", year="2017/18")
    assert (agency.driver_volume, agency.driver_unit_value) == (4, Decimal(25_267))
    cla = PlannedAmount.objects.get(line__plan=plan, line__reference="MTFS-15", year="2019/20")
    assert (cla.kind, cla.low, cla.high, cla.stated_text) == (
        "range",
        Decimal(50_000),
        Decimal(600_000),
        "50k-600k",
    )


def test_fifty_percent_adjustment(plan):
    adjustment = YearAdjustment.objects.get(plan=plan, year="2017/18")
    assert adjustment.factor == Decimal("0.5")
    planned = amounts(plan, year="2017/18")["low"]
    adjusted = StatedFigure.objects.get(plan=plan, key="adjusted-2017-18")
    assert planned * adjustment.factor == adjusted.low == Decimal(789_000)


def test_slippage_table(plan):
    rows = CostPressure.objects.filter(plan=plan, kind="slippage", year="2016/17")
    assert list(rows.values_list("period", flat=True)) == list(range(4, 13))
    assert rows.get(period=4).amount == Decimal(7_526)
    assert rows.get(period=12).amount == Decimal(181_763)
    total = rows.aggregate(total=Sum("amount"))["total"]
    assert total == Decimal(1_007_221)
    assert StatedFigure.objects.get(plan=plan, key="slippage-2016-17").low == total


def test_overspend_and_funding(plan):
    q1 = OverspendForecast.objects.get(
        plan=plan, year="2016/17", period=3, scenario="base", service_area=""
    )
    assert q1.forecast_outturn - q1.budget == q1.overspend == Decimal(1_300_000)
    worst = OverspendForecast.objects.get(plan=plan, year="2016/17", scenario="worst")
    assert (worst.period, worst.overspend) == (8, Decimal(2_200_000))
    draws = Funding.objects.filter(plan=plan, kind="reserve_draw")
    assert dict(draws.values_list("year", "amount")) == {
        "2015/16": Decimal(2_300_000),
        "2016/17": Decimal(1_100_000),
    }
    # "how and when the department will be in a position to return the £3.4m": owed, with
    # no agreed repayment plan and no year.
    owed = Funding.objects.get(plan=plan, kind="reserve_owed")
    assert (owed.year, owed.amount) == ("", draws.aggregate(s=Sum("amount"))["s"])
    assert not Funding.objects.filter(plan=plan, kind="reserve_repay").exists()


def test_cla_trajectory(plan):
    cla = KPI.objects.get(plan=plan, code="cla-count")
    assert cla.per_child_population and cla.direction == "lower"
    # Table 1 is the *previous* five-year plan's trajectory: a comparator, with the rates
    # per 10,000 the paper prints beside each count.
    previous = "Previous five-year plan (2014)"
    points = {(p.kind, p.label, p.date): (p.value, p.stated_rate) for p in cla.points.all()}
    assert points == {
        ("actual", "", date(2016, 11, 30)): (279, 111),
        ("comparator", previous, date(2017, 3, 31)): (242, 97),
        ("comparator", previous, date(2018, 3, 31)): (211, 84),
        ("comparator", previous, date(2019, 3, 31)): (180, 72),
    }
    rate = KPI.objects.get(plan=plan, code="cla-rate")
    assert rate.unit == "rate"
    assert sorted(rate.points.values_list("value", flat=True)) == [72, 84, 97, 111]
    assert not rate.points.filter(kind="target").exists()
    sgo = KPI.objects.get(plan=plan, code="leaving-care-sgo-cp")
    assert set(sgo.points.filter(kind="comparator").values_list("label", "value")) == {
        ("Statistical neighbours", 11),
        ("England", 11),
    }


def test_loading_twice_changes_nothing(plan):
    models = [m for m in apps.get_models() if m._meta.app_label in ("plans", "recovery")]
    before = {m._meta.label: m.objects.count() for m in models}
    load()
    assert {m._meta.label: m.objects.count() for m in models} == before
