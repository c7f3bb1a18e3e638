"""KPIs fed from the placement counts (children looked after, the in-house share of fostering,
the children in one kind of placement): the derivation once in plans.figures, unknown never 0,
typing an actual refused everywhere, every page showing the counts' value, and the as-at
month moved by a month with only counts or a move made."""

import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from dashboards import pack
from plans import models as m
from plans import month_end, workbook
from plans.figures import Selection, kpi_figures, plan_figures
from plans.figures.placements import load
from plans.figures.rules import rate_per_10k
from plans.selectors import as_at_month
from tests.factories import KPIFactory, KpiPointFactory, PlanFactory
from tests.plans.workbook_files import edit

pytestmark = pytest.mark.django_db
D = Decimal
Kind = m.PlacementType.Kind


@pytest.fixture
def fostering(authority):
    """A plan with residential, IFA and in-house fostering, counted in April and June 2017."""
    plan = PlanFactory(authority=authority, code="fostering")
    types = {
        kind: m.PlacementType.objects.create(
            plan=plan, code=kind, name=kind, kind=kind, unit_cost=D(50_000), order=i
        )
        for i, kind in enumerate([Kind.RESIDENTIAL, Kind.IFA, Kind.IN_HOUSE])
    }
    for period, counts in [(1, (10, 30, 60)), (3, (9, 29, 63))]:
        for kind, count in zip(types, counts, strict=True):
            m.PlacementCount.objects.create(
                type=types[kind], year="2017/18", period=period, count=count
            )
    return plan, types


def _actuals(plan, code, as_at=None):
    figures = {k.kpi.code: k for k in kpi_figures(plan, as_at=as_at, population=40000)}
    return [(v.date, v.value) for v in figures[code].actuals]


def test_children_looked_after_and_in_house_share_come_from_the_counts(fostering):
    plan, types = fostering
    KPIFactory(plan=plan, code="cla", source="children", per_child_population=True)
    KPIFactory(plan=plan, code="share", source="in_house_share", unit="percent")
    KPIFactory(plan=plan, code="res", source="residential")
    assert _actuals(plan, "cla") == [(date(2017, 4, 30), D(100)), (date(2017, 6, 30), D(101))]
    # 60 / (30 + 60) and 63 / (29 + 63), as a percentage to the hundredth.
    assert _actuals(plan, "share") == [
        (date(2017, 4, 30), D("66.67")),
        (date(2017, 6, 30), D("68.48")),
    ]
    assert _actuals(plan, "res") == [(date(2017, 4, 30), D(10)), (date(2017, 6, 30), D(9))]
    # Up to the page's as-at month only; the rate per 10,000 as for a typed count.
    assert _actuals(plan, "cla", as_at=date(2017, 5, 31)) == [(date(2017, 4, 30), D(100))]
    cla = next(k for k in kpi_figures(plan, as_at=None, population=40000) if k.kpi.code == "cla")
    assert cla.latest.rate == rate_per_10k(D(101), 40000)  # 101 / 40,000 x 10,000, one rule


def test_a_move_made_changes_the_counts_from_its_month(fostering):
    plan, types = fostering
    KPIFactory(plan=plan, code="res", source="residential")
    KPIFactory(plan=plan, code="cla", source="children")
    m.PlacementMove.objects.create(
        plan=plan,
        reference="M1",
        from_type=types[Kind.RESIDENTIAL],
        to_type=None,  # out of care
        planned_year="2017/18",
        planned_period=7,
        actual_year="2017/18",
        actual_period=8,
    )
    assert _actuals(plan, "res")[-1] == (date(2017, 11, 30), D(8))
    assert _actuals(plan, "cla")[-1] == (date(2017, 11, 30), D(100))


def test_unknown_is_never_zero(fostering, authority):
    plan, types = fostering
    # A type with no count at a month makes the total unknown: no actual, not 0.
    m.PlacementType.objects.create(plan=plan, code="sgo", name="SGO", kind=Kind.CONNECTED)
    KPIFactory(plan=plan, code="cla", source="children")
    KPIFactory(plan=plan, code="sgo", source="connected")
    KPIFactory(plan=plan, code="supported", source="supported")
    assert _actuals(plan, "cla") == []
    assert _actuals(plan, "sgo") == []
    assert _actuals(plan, "supported") == []  # no such type in the plan
    # A plan with no placements at all: nothing, and the KPI says so.
    empty = PlanFactory(authority=authority, code="empty")
    KPIFactory(plan=empty, code="cla", source="children")
    (figures,) = kpi_figures(empty, as_at=None, population=None)
    assert figures.actuals == [] and figures.rating_note == "no actual recorded"
    # Nobody fostered: the share is unknown, not 0%.
    share_plan = PlanFactory(authority=authority, code="nobody")
    for kind in (Kind.IFA, Kind.IN_HOUSE):
        t = m.PlacementType.objects.create(plan=share_plan, code=kind, name=kind, kind=kind)
        m.PlacementCount.objects.create(type=t, year="2017/18", period=1, count=0)
    KPIFactory(plan=share_plan, code="share", source="in_house_share", unit="percent")
    assert _actuals(share_plan, "share") == []


def test_a_typed_actual_on_a_derived_kpi_is_refused_everywhere(client, fostering, finance_manager):
    plan, _ = fostering
    kpi = KPIFactory(plan=plan, code="cla", name="Children looked after", source="children")
    message = "takes its actuals from the placement counts"
    # The model's rule (the services and the workbook call it).
    with pytest.raises(ValidationError, match=message):
        m.KpiPoint(kpi=kpi, kind="actual", date=date(2017, 4, 30), value=D(5)).full_clean()
    m.KpiPoint(kpi=kpi, kind="target", date=date(2018, 3, 31), value=D(90)).full_clean()
    # The KPI value form.
    client.force_login(finance_manager)
    response = client.post(
        reverse("plans:kpipoint_create", args=[plan.pk]),
        {"kpi": kpi.pk, "kind": "actual", "date": "2017-04-30", "value": "5"},
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    # The month-end save.
    with pytest.raises(ValidationError, match=message):
        month_end.save(
            plan=plan,
            year="2017/18",
            period=1,
            user=finance_manager,
            lines=[],
            forecast=None,
            kpis=[month_end.KpiInput(kpi_id=kpi.pk, version=None, value=D(5))],
        )
    assert not m.KpiPoint.objects.filter(kpi=kpi).exists()


def test_the_month_end_page_shows_the_counts_value_with_no_box(client, fostering, finance_manager):
    plan, _ = fostering
    kpi = KPIFactory(plan=plan, code="cla", name="Children looked after", source="children")
    client.force_login(finance_manager)
    url = reverse("plans:month_end", args=[plan.pk]) + "?year=2017/18&period=3"
    html = client.get(url).content.decode()
    assert f'name="kpi-{kpi.pk}-value"' not in html
    assert "From the placement counts" in html
    assert "101 <span" in html  # June's count, from the counts saved
    # A hostile post of a value for it is not saved.
    client.post(url, {"year": "2017/18", "period": "3", f"kpi-{kpi.pk}-value": "7"})
    assert not m.KpiPoint.objects.filter(kpi=kpi).exists()


def test_the_workbook_refuses_an_actual_for_a_derived_kpi_by_sheet_row_and_column(mtfs):
    kpi = mtfs.kpis.get(code="residential-placements")
    assert kpi.source == "residential"

    def change(wb):
        wb["KPI values"].append(["residential-placements", "actual", "30/09/2017", 27])

    data = edit(workbook.export_plan(mtfs), change)
    changes = workbook.preview(data, into=mtfs)
    text = "\n".join(str(p) for p in changes.problems)
    assert "KPI values!B" in text and "(Kind): “Children in residential placements” takes" in text
    with pytest.raises(workbook.WorkbookRejected):
        workbook.import_workbook(data, filename="bad.xlsx", into=mtfs)
    assert not m.KpiPoint.objects.filter(kpi=kpi, kind="actual").exists()


def test_the_workbook_carries_the_source_and_no_derived_actuals(mtfs):
    data = workbook.export_plan(mtfs)
    wb = load_workbook(io.BytesIO(data))
    rows = list(wb["KPIs"].values)
    col = rows[0].index("Actuals from")
    by_code = {r[0]: r[col] for r in rows[1:]}
    assert by_code["residential-placements"] == "Children in residential placements (counts)"
    assert by_code["cla-count"] == "Typed in each month"
    values = [r for r in wb["KPI values"].values if r[0] == "residential-placements"]
    assert not [r for r in values if r[1] == "Actual"]
    mtfs.delete()
    imported = workbook.import_workbook(data, filename="mtfs.xlsx")
    assert imported.kpis.get(code="residential-placements").source == "residential"


def test_switching_a_kpi_with_typed_actuals_to_the_counts_is_refused(fostering):
    plan, _ = fostering
    kpi = KPIFactory(plan=plan, code="cla")
    KpiPointFactory(kpi=kpi, date=date(2017, 4, 30))
    kpi.source = "children"
    with pytest.raises(ValidationError, match="1 typed actual .30 Apr 2017.. Delete them"):
        kpi.full_clean()
    share = KPIFactory(plan=plan, code="share", source="in_house_share", unit="count")
    with pytest.raises(ValidationError, match="are a percentage"):
        share.full_clean()


def test_as_at_month_moves_with_counts_and_moves_made(authority):
    plan = PlanFactory(authority=authority, code="asat", published_on=date(2017, 1, 11))
    assert as_at_month(plan) == ("2016/17", 10)  # the paper's month
    t = m.PlacementType.objects.create(plan=plan, code="res", name="Res", kind=Kind.RESIDENTIAL)
    m.PlacementCount.objects.create(type=t, year="2017/18", period=2, count=5)
    m.PlacementCount.objects.create(type=t, year="2017/18", period=9, count=5, kind="budget")
    assert as_at_month(plan) == ("2017/18", 2)  # a budgeted count is not a record of a month
    move = m.PlacementMove.objects.create(
        plan=plan, reference="M", from_type=t, planned_year="2017/18", planned_period=4
    )
    assert as_at_month(plan) == ("2017/18", 2)  # planned only
    move.actual_year, move.actual_period = "2017/18", 6
    move.save()
    assert as_at_month(plan) == ("2017/18", 6)


def test_the_issue_scenario_moves_the_derived_kpi_on_every_page(client, mtfs, torbay_users):
    """One July move made in September: the MTFS's residential count (28, Jan 2017) is 27 from
    September 2017 on the dashboard, the report, its workbook and the pack; the plan opens
    on September, the month of the move."""
    first = mtfs.placement_moves.get(reference="MTFS-02/2017-1")
    first.actual_year, first.actual_period = "2017/18", 6
    first.save()
    assert as_at_month(mtfs) == ("2017/18", 6)
    f = plan_figures(mtfs, Selection("2017/18", 8))
    k = next(k for k in f.kpis if k.kpi.code == "residential-placements")
    assert [(v.date, v.value) for v in k.actuals] == [
        (date(2017, 1, 31), D(28)),
        (date(2017, 9, 30), D(27)),
    ]
    assert f.placements.children == 28  # 27 residential + 1 high-end IFA
    client.force_login(torbay_users["director"])
    query = "?year=2017/18&period=8"
    html = client.get(reverse("dashboards:plan_dashboard", args=[mtfs.pk]) + query)
    assert "Children in residential placements" in html.content.decode()
    report = client.get(reverse("dashboards:report", args=[mtfs.pk]) + query).content.decode()
    assert "Children in residential placements" in report
    xlsx = client.get(reverse("dashboards:report_xlsx", args=[mtfs.pk]) + query).content
    wb = load_workbook(io.BytesIO(xlsx))
    found = [
        row[:4]
        for ws in wb.worksheets
        for row in ws.iter_rows(values_only=True)
        if row and row[0] == "Children in residential placements"
    ]
    assert ("Children in residential placements", "Count", "Lower is better", 27) in found
    assert (
        "Children in residential placements",
        datetime(2017, 9, 30),
        "Actual",
        27,
    ) in found
    pack_html = pack.pack_html(f)
    assert "Children in residential placements" in pack_html


def test_a_derived_kpi_adds_no_query_to_the_pages(client, mtfs, torbay_users):
    client.force_login(torbay_users["director"])
    urls = [
        reverse("dashboards:plan_dashboard", args=[mtfs.pk]),
        reverse("dashboards:report", args=[mtfs.pk]),
        reverse("dashboards:report_xlsx", args=[mtfs.pk]),
    ]

    def counts():
        out = []
        for url in urls:
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            out.append(len(ctx.captured_queries))
        return out

    derived = counts()
    mtfs.kpis.filter(code="residential-placements").update(source="typed")
    m.Plan.objects.filter(pk=mtfs.pk).update(data_version=__import__("uuid").uuid4())
    assert counts() == derived


def test_kpi_figures_read_the_placements_once(django_assert_num_queries, fostering):
    plan, _ = fostering
    KPIFactory(plan=plan, code="cla", source="children")
    KPIFactory(plan=plan, code="res", source="residential")
    with django_assert_num_queries(5):  # KPI values, KPIs, then types, counts, moves once
        kpi_figures(plan, as_at=None, population=None)
    data = load(plan)
    with django_assert_num_queries(2):  # the caller's placement data
        kpi_figures(plan, as_at=None, population=None, placements=data)
