"""Seed fixtures 000 (Torbay recovery plan 2011/12) and 001 (Torbay 5 year plan, Dec 2014)."""

from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db.models import Count, Sum

from plans.models import (
    KPI,
    Funding,
    KpiPoint,
    NarrativeSection,
    OverspendForecast,
    Plan,
    PlannedAmount,
    ProgressEntry,
    Risk,
    SavingsLine,
    StatedFigure,
    Workstream,
)
from recovery import fiscal
from tests.seeds import SEED_DIR as FIXTURES  # noqa: E402

pytestmark = pytest.mark.django_db

FILES = [
    str(FIXTURES / "000_torbay_recovery_plan_2011_12.json"),
    str(FIXTURES / "001_torbay_five_year_plan_2014.json"),
]
REC = "recovery-2011-12"
FYP = "five-year-plan-2014"


@pytest.fixture
def torbay_seeds(seeded):
    """Both files, as tests/conftest.py loads every seed once per session (the idempotence
    test loads them once more)."""


def plan(code):
    return Plan.objects.get(authority__slug="torbay", code=code)


def counts():
    return {
        m._meta.label: m.objects.count()
        for m in apps.get_models()
        if m._meta.app_label in ("plans", "recovery")
    }


# ------------------------------------------------------------------ 000: the £250k target


def test_planned_2011_12_counting_towards_target_is_250k(torbay_seeds):
    total = PlannedAmount.objects.filter(
        line__plan__code=REC, line__counts_towards_target=True, year="2011/12"
    ).aggregate(low=Sum("low"), high=Sum("high"))
    assert total == {"low": Decimal("250000"), "high": Decimal("250000")}


def test_achieved_counting_towards_target_is_144k_and_gap_106k(torbay_seeds):
    achieved = ProgressEntry.objects.filter(
        line__plan__code=REC,
        line__counts_towards_target=True,
        basis="achieved",
        year="2011/12",
    ).aggregate(s=Sum("achieved_to_date"))["s"]
    assert achieved == Decimal("144000")
    entry = ProgressEntry.objects.get(line__plan__code=REC, line__counts_towards_target=True)
    assert entry.as_at == date(2011, 10, 31)
    assert "This still leaves a gap of £106,000 against this target" in entry.commentary
    assert Decimal("250000") - achieved == Decimal("106000")


def test_stated_totals_match_computed(torbay_seeds):
    stated = {
        s.key: (s.measure, s.year, s.low, s.high)
        for s in StatedFigure.objects.filter(plan__code=REC)
    }
    assert stated["target-2011-12"] == ("planned", "2011/12", 250000, 250000)
    assert stated["achieved-2011-10"] == ("achieved", "2011/12", 144000, 144000)
    assert stated["gap-2011-10"] == ("gap", "2011/12", 106000, 106000)
    assert stated["projected-overspend-2011-12"][0] == "other"
    assert stated["projected-overspend-2011-12"][2] == Decimal("2200000")
    assert stated["vacancy-target-share-of-overspend"][2] == Decimal("600000")
    assert stated["projected-savings-elsewhere-2011-12"][2] == Decimal("1800000")
    assert stated["ifss-saving-per-family-total"][2] == Decimal("81624")
    assert stated["ifss-saving-per-family-la"][2] == Decimal("40341")


# ------------------------------------------------------------------ 000: outside the target


def test_lines_outside_target(torbay_seeds):
    outside = SavingsLine.objects.filter(plan__code=REC, counts_towards_target=False)
    assert outside.count() == 7
    assert all("not within" in line.notes for line in outside)
    assert PlannedAmount.objects.filter(line__in=outside).aggregate(s=Sum("low"))["s"] == 200000
    assert PlannedAmount.objects.get(line__in=outside).line.title.startswith(
        "Staffing savings on non social work posts"
    )
    by_basis = dict(
        ProgressEntry.objects.filter(line__in=outside)
        .values_list("basis")
        .annotate(s=Sum("achieved_to_date"))
    )
    # £10k + £18k + £10k + £601k + £872k achieved; £20k Business Support achievable.
    assert by_basis == {"achieved": Decimal("1511000"), "achievable": Decimal("20000")}
    vacancy = ProgressEntry.objects.filter(line__workstream__code="vacancy-management")
    assert vacancy.filter(basis="achieved").aggregate(s=Sum("achieved_to_date"))["s"] == 38000
    assert set(vacancy.values_list("as_at", flat=True)) == {date(2012, 2, 29)}


def test_workstreams_000(torbay_seeds):
    assert list(
        Workstream.objects.filter(plan__code=REC).order_by("order").values_list("code", "order")
    ) == [
        ("bring-forward-2012-13", 1),
        ("vacancy-management", 2),
        ("other-projected-savings", 4),
        ("intensive-family-support", 7),
    ]


def test_progress_year_matches_date(torbay_seeds):
    for entry in ProgressEntry.objects.filter(line__plan__code__in=[REC, FYP]):
        assert entry.year == fiscal.financial_year(entry.as_at)


# ------------------------------------------------------------------ overspends and funding


def test_overspends(torbay_seeds):
    f = OverspendForecast.objects.get(plan__code=REC, year="2011/12")
    assert (f.period, f.overspend, f.budget) == (11, Decimal("2200000"), None)
    f = OverspendForecast.objects.get(plan__code=REC, year="2010/11")
    assert (f.period, f.overspend) == (12, Decimal("1000000"))
    assert "£1.3m" in f.commentary
    f = OverspendForecast.objects.get(plan__code=FYP)
    assert (f.year, f.period, f.overspend) == ("2014/15", 7, Decimal("1400000"))
    assert "managed by in-year savings" in f.commentary


def test_funding_000(torbay_seeds):
    rows = Funding.objects.filter(plan__code=REC)
    assert rows.filter(kind="invest_to_save").get().amount == Decimal("500000")
    grants = rows.filter(kind="grant").order_by("year")
    assert list(grants.values_list("year", "amount")) == [
        ("2011/12", Decimal("75000")),
        ("2012/13", Decimal("75000")),
        ("2013/14", Decimal("75000")),
    ]
    assert all("assumed" in g.notes for g in grants)


def test_funding_001(torbay_seeds):
    rows = Funding.objects.filter(plan__code=FYP)
    assert list(rows.order_by("year", "kind").values_list("kind", "year", "amount")) == [
        ("contingency", "2014/15", Decimal("2000000")),
        ("invest_to_save", "2014/15", Decimal("500000")),
        ("reserve_draw", "2015/16", Decimal("2300000")),
        ("reserve_draw", "2016/17", Decimal("1100000")),
    ]
    assert rows.filter(kind="reserve_draw").aggregate(s=Sum("amount"))["s"] == 3400000
    assert not rows.filter(kind="reserve_repay").exists()


# ------------------------------------------------------------------ KPIs, risks, narrative


def point(plan_code, kpi, kind, day):
    return KpiPoint.objects.get(kpi__plan__code=plan_code, kpi__code=kpi, kind=kind, date=day).value


def test_kpis_000(torbay_seeds):
    assert KPI.objects.filter(plan__code=REC).count() == 1
    # "Based on 25 families successfully completing in the first year": the savings
    # estimate's basis, never a target the plan is rated against.
    assert point(REC, "ifss-families-completing", "comparator", date(2013, 1, 31)) == 25
    assert not KpiPoint.objects.filter(kpi__plan__code=REC, kind="target").exists()


def test_kpis_001(torbay_seeds):
    vac = KPI.objects.get(plan__code=FYP, code="sw-vacancy-rate")
    assert (vac.unit, vac.direction, vac.baseline_value) == ("percent", "lower", 46)
    assert point(FYP, "sw-vacancy-rate", "actual", date(2014, 11, 30)) == 10
    assert point(FYP, "sw-front-line-vacancies", "actual", date(2014, 11, 30)) == 3
    assert point(FYP, "children-adopted-2014-15", "actual", date(2014, 12, 11)) == 11
    assert point(FYP, "children-with-adoption-plan", "actual", date(2014, 12, 11)) == 35
    assert point(FYP, "in-house-parent-child-placements", "actual", date(2014, 12, 11)) == 1
    assert point(FYP, "in-house-parent-child-placements", "target", date(2015, 3, 31)) == 5
    assert point(FYP, "section-20-de-lac", "target", date(2015, 4, 30)) == 1
    assert "exceeded" in KPI.objects.get(plan__code=FYP, code="section-20-de-lac").notes
    assert KpiPoint.objects.filter(kpi__plan__code=FYP).count() == 7


def test_risks_and_narrative(torbay_seeds):
    for code, n_risks, n_sections in [(REC, 6, 10), (FYP, 6, 8)]:
        risks = Risk.objects.filter(plan__code=code)
        assert risks.count() == n_risks
        assert not risks.exclude(likelihood=None).exists()
        assert not risks.exclude(impact=None).exists()
        assert not risks.filter(mitigations="").exists()
        assert NarrativeSection.objects.filter(plan__code=code).count() == n_sections
    assert Risk.objects.filter(plan__code=FYP, description__contains="CSE").exists()
    assert Risk.objects.filter(plan__code=FYP, description__contains="Ofsted").exists()
    assert not SavingsLine.objects.filter(plan__code=FYP).exists()


def test_plans_have_summaries(torbay_seeds):
    assert plan(REC).summary and plan(FYP).summary
    assert plan(FYP).revises == plan(REC)


# ------------------------------------------------------------------ idempotence


def test_loading_twice_changes_no_counts(torbay_seeds):
    before = counts()
    call_command("loaddata", *FILES, verbosity=0)
    assert counts() == before
    per_plan = dict(
        SavingsLine.objects.filter(plan__code__in=[REC, FYP])
        .values_list("plan__code")
        .annotate(n=Count("id"))
    )
    assert per_plan == {REC: 8}
