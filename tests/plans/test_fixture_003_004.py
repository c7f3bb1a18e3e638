"""The Barking and Dagenham (003) and Telford (004) seed fixtures carry their papers' figures."""

from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db.models import Count, Sum

from plans.models import (
    KPI,
    KpiPoint,
    OverspendForecast,
    Plan,
    PlannedAmount,
    ProgressEntry,
    Risk,
    SavingsLine,
    StatedFigure,
)
from tests.seeds import seed

pytestmark = pytest.mark.django_db

FIXTURES = (
    seed("003_barking_dagenham_budget_update_2015.json"),
    seed("004_telford_cost_improvement_plan_2013.json"),
)
BARKING = {"plan__authority__slug": "barking-dagenham", "plan__code": "budget-update-2015"}
TELFORD = {"plan__authority__slug": "telford", "plan__code": "cip-2014-15"}


def _counts():
    models = [
        m
        for label in ("recovery", "plans")
        for m in apps.get_app_config(label).get_models()
        if not m.__name__.startswith("Historical")
    ]
    return {m.__name__: m.objects.count() for m in models}


@pytest.fixture
def seeds(seeded):
    """The files as tests/conftest.py loads them once per session (the idempotence test
    loads them once more)."""


def _prefixed(filters, prefix):
    return {f"{prefix}{key}": value for key, value in filters.items()}


def test_barking_immediate_actions_total_1120000(seeds):
    lines = SavingsLine.objects.filter(**BARKING, workstream__code="immediate-actions")
    assert lines.count() == 8
    assert list(lines.order_by("order").values_list("reference", flat=True)) == [
        f"IA-{i:02d}" for i in range(1, 9)
    ]
    assert all(lines.values_list("counts_towards_target", flat=True))
    amounts = PlannedAmount.objects.filter(line__in=lines)
    totals = amounts.aggregate(n=Count("id"), low=Sum("low"), high=Sum("high"))
    assert totals == {"n": 8, "low": Decimal("1120000"), "high": Decimal("1120000")}
    assert set(amounts.values_list("year", "kind")) == {("2014/15", "point")}
    stated = StatedFigure.objects.get(**BARKING, measure="planned", year="2014/15")
    assert stated.low == stated.high == Decimal("1120000")
    # Savings outside the £1,120,000 do not count towards it.
    counted = PlannedAmount.objects.filter(
        **_prefixed(BARKING, "line__"), line__counts_towards_target=True
    ).aggregate(total=Sum("low"))
    assert counted["total"] == Decimal("1120000")
    placements = SavingsLine.objects.get(**BARKING, reference="PR-01")
    assert placements.counts_towards_target is False
    assert placements.amounts.get().low == Decimal("170000")
    assert SavingsLine.objects.get(**BARKING, reference="CHS/SAV/34").amounts.get().kind == "tbc"


def test_barking_health_contribution_progress(seeds):
    entry = ProgressEntry.objects.get(**_prefixed(BARKING, "line__"), line__reference="IA-08")
    assert entry.as_at == date(2015, 1, 31)
    assert entry.year == "2014/15"
    assert entry.achieved_to_date == Decimal("224537")
    assert entry.basis == ProgressEntry.Basis.ACHIEVABLE
    assert entry.line.amounts.get(year="2014/15").low == Decimal("250000")


def test_barking_overspend_forecasts(seeds):
    def series(area):
        return list(
            OverspendForecast.objects.filter(**BARKING, service_area=area)
            .order_by("year", "period")
            .values_list("period", "overspend")
        )

    assert series("Children's Social Care and Complex Needs") == [
        (6, Decimal("5466000")),
        (9, Decimal("4681000")),
    ]
    # The deficit before and after reserves and other savings: two bases at one date.
    deficit = OverspendForecast.objects.filter(**BARKING, service_area="Children's Services")
    assert set(deficit.exclude(scenario="base").values_list("scenario", "period", "overspend")) == {
        ("gross", 10, Decimal("4652000")),
        ("net", 10, Decimal("3751000")),
    }
    possible = deficit.get(scenario="base")
    assert (possible.overspend, possible.overspend_high) == (
        Decimal("3000000"),
        Decimal("4000000"),
    )
    assert OverspendForecast.objects.filter(**BARKING).aggregate(s=Sum("overspend"))["s"] == (
        Decimal("5466000")
        + Decimal("4681000")
        + Decimal("4652000")
        + Decimal("3751000")
        + Decimal("3000000")
    )


def test_barking_kpis_and_risks(seeds):
    court = KpiPoint.objects.filter(
        kpi__plan__code="budget-update-2015", kpi__code="cases-in-court", kind="actual"
    ).order_by("date")
    assert list(court.values_list("date", "value")) == [
        (date(2014, 8, 31), Decimal("79")),
        (date(2014, 12, 31), Decimal("65")),
    ]
    risks = Risk.objects.filter(**BARKING)
    assert risks.count() >= 5
    assert not risks.filter(likelihood__isnull=False).exists()
    assert not risks.filter(impact__isnull=False).exists()


def test_telford_twelve_lines_total_1329000(seeds):
    amounts = PlannedAmount.objects.filter(**_prefixed(TELFORD, "line__"), year="2014/15")
    totals = amounts.aggregate(n=Count("id"), low=Sum("low"), high=Sum("high"))
    assert totals == {"n": 12, "low": Decimal("1329000"), "high": Decimal("1329000")}
    assert list(amounts.order_by("line__order").values_list("stated_text", flat=True)) == [
        "95",
        "550",
        "285",
        "110",
        "45",
        "8",
        "106",
        "10",
        "25",
        "50",
        "35",
        "10",
    ]
    assert SavingsLine.objects.filter(**TELFORD).count() == 12
    by_workstream = dict(
        SavingsLine.objects.filter(**TELFORD)
        .values_list("workstream__order")
        .annotate(n=Count("id"))
        .values_list("workstream__order", "n")
    )
    assert by_workstream == {1: 1, 2: 4, 3: 3, 4: 4}
    stated = StatedFigure.objects.get(**TELFORD, key="total-savings-2014-15")
    assert (stated.measure, stated.low, stated.stated_text) == (
        "planned",
        Decimal("1329000"),
        "1,329",
    )
    progress = ProgressEntry.objects.filter(**_prefixed(TELFORD, "line__"))
    assert progress.filter(achieved_to_date__isnull=False).count() == 0
    # "December 2013", no day: the month's last day (docs/fixture-conventions.md), never a
    # "1 Dec 2013" the paper does not print.
    assert set(progress.values_list("as_at", flat=True)) == {date(2013, 12, 31)}


def _points(code, kind):
    return list(
        KpiPoint.objects.filter(kpi__plan__code="cip-2014-15", kpi__code=code, kind=kind)
        .order_by("date")
        .values_list("date", "value")
    )


def test_telford_kpi_targets_and_actuals(seeds):
    assert _points("agency-social-workers", "target") == [
        (date(2014, 9, 30), Decimal("5")),
        (date(2015, 3, 31), Decimal("0")),
    ]
    assert _points("agency-social-workers", "actual") == [
        (date(2012, 9, 30), Decimal("14")),
        (date(2013, 10, 31), Decimal("7")),
    ]
    assert _points("residential-placements", "target") == [(date(2015, 3, 31), Decimal("40"))]
    assert _points("external-fostering-placements", "target") == [
        (date(2015, 3, 31), Decimal("77"))
    ]
    # The placement KPIs take their actuals from the placement counts, which hold the
    # paper's figures: none is typed twice.
    from plans.figures import kpi_figures

    telford = Plan.objects.get_by_natural_key("telford", "cip-2014-15")
    figures = {k.kpi.code: k for k in kpi_figures(telford, as_at=None, population=None)}
    for code, source in [
        ("residential-placements", "residential"),
        ("external-fostering-placements", "ifa"),
        ("internal-foster-placements", "in_house"),
    ]:
        assert KPI.objects.get(**TELFORD, code=code).source == source
        assert _points(code, "actual") == []

    def actuals(code):
        return [(v.date, v.value) for v in figures[code].actuals]

    assert actuals("external-fostering-placements") == [
        (date(2013, 3, 31), Decimal("92")),  # "from 92 at the end of March 2013"
        (date(2013, 9, 30), Decimal("84")),  # "reduced to 84 as at Sept 2013"
    ]
    assert actuals("internal-foster-placements") == [
        (date(2013, 3, 31), Decimal("115")),  # "from 115 at the end of March 2013"
        (date(2013, 9, 30), Decimal("130")),  # "all time high of 130 at end of Sept 2013"
    ]
    assert actuals("residential-placements") == []  # the paper gives no actual: not 0
    assert figures["residential-placements"].rating_note == "no actual recorded"
    assert KPI.objects.get(**TELFORD, code="internal-foster-placements").direction == "higher"
    cic = KPI.objects.get(**TELFORD, code="children-in-care")
    assert cic.per_child_population is True
    assert _points("children-in-care", "target") == [(date(2015, 4, 30), Decimal("310"))]
    assert _points("contract-carer-usage", "target")[0][1] == Decimal("60")
    assert _points("queensway-occupancy", "target")[0][1] == Decimal("75")


def test_telford_risks(seeds):
    risks = Risk.objects.filter(**TELFORD)
    assert risks.count() == 10
    assert set(risks.values_list("reference", flat=True)) == {f"R{i}" for i in range(1, 11)}
    assert risks.filter(likelihood__isnull=True, impact__isnull=True).count() == 10
    assert not risks.filter(mitigations="").exists()


def test_plans_keep_their_records(seeds):
    barking = Plan.objects.get_by_natural_key("barking-dagenham", "budget-update-2015")
    telford = Plan.objects.get_by_natural_key("telford", "cip-2014-15")
    assert barking.summary and telford.summary
    assert not OverspendForecast.objects.filter(plan=telford).exists()


def test_loading_twice_changes_no_counts(seeds):
    before = _counts()
    ours = SavingsLine.objects.filter(plan__code__in=["budget-update-2015", "cip-2014-15"])
    assert ours.count() == 23
    call_command("loaddata", *FIXTURES, verbosity=0)
    assert _counts() == before


def test_every_seed_text_fits_its_column():
    # Found on PostgreSQL: a population note of 360 characters in a 300-character column
    # loaded on SQLite, which does not enforce a CharField's length, and failed there.
    import json
    from pathlib import Path

    from django.apps import apps
    from django.db import models

    checked = 0
    for path in sorted((Path(__file__).resolve().parents[2] / "fixtures").glob("*.json")):
        for record in json.loads(path.read_text()):
            model = apps.get_model(record["model"])
            for name, value in record["fields"].items():
                field = model._meta.get_field(name)
                if isinstance(field, models.CharField) and isinstance(value, str):
                    assert len(value) <= field.max_length, (path.name, record["model"], name)
                    checked += 1
    assert checked > 500
