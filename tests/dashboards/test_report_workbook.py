"""The scrutiny report's workbook writes officer-typed text as text, never as a formula."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from tests.factories import (
    PlannedAmountFactory,
    ProgressEntryFactory,
    RiskFactory,
    SavingsLineFactory,
    WorkstreamFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def hostile_plan(authority):
    line = SavingsLineFactory(
        plan__authority=authority,
        plan__title='=HYPERLINK("http://evil.example","x")',
        title="=1+1",
        owner="@SUM(1)",
        workstream=None,
    )
    plan = line.plan
    line.workstream = WorkstreamFactory(plan=plan, name="-2+3")
    line.save()
    PlannedAmountFactory(line=line, year="2017/18", low=Decimal("120000"))
    ProgressEntryFactory(
        line=line,
        as_at=date(2017, 10, 31),
        rag="red",
        commentary="+cmd|' /C calc'!A0\x0b and a vertical tab pasted from a paper",
    )
    RiskFactory(plan=plan, description="\tTab-led risk", owner="@SUM(1)")
    return plan


def test_officer_text_is_written_as_text(client, director, hostile_plan):
    client.force_login(director)
    response = client.get(
        reverse("dashboards:report_xlsx", args=[hostile_plan.pk]),
        {"year": "2017/18", "period": "7"},
    )
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.content))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value]
    assert not [c.coordinate for c in cells if c.data_type == "f"]

    def cell(sheet, value):
        [found] = [c for row in wb[sheet].iter_rows() for c in row if c.value == value]
        return found

    for sheet, value in [
        ("Savings lines", "'=1+1"),
        ("Savings lines", "'-2+3"),
        ("Risks", "'@SUM(1)"),
        ("Risks", "'\tTab-led risk"),
        ("Summary", '\'=HYPERLINK("http://evil.example","x") – Northshire County Council'),
    ]:
        c = cell(sheet, value)
        assert c.data_type == "s" and c.value.startswith("'"), (sheet, value)
    # A control character a workbook cannot hold is dropped rather than failing the download.
    comment = cell("Savings lines", "'+cmd|' /C calc'!A0 and a vertical tab pasted from a paper")
    assert comment.data_type == "s"
    # Numbers stay numbers: planned (low) and (high) of the line.
    # Numbers stay numbers, on the line and on the total row beneath it.
    [planned, total] = [row[4:6] for row in wb["Savings lines"].iter_rows(min_row=5)]
    assert [(c.value, c.data_type) for c in planned] == [(120000, "n"), (120000, "n")]
    assert [(c.value, c.data_type) for c in total] == [(120000, "n"), (120000, "n")]


def _sheet_rows(wb, name):
    return [[c.value for c in row] for row in wb[name].iter_rows(min_row=5)]


def test_unknowns_are_empty_cells_and_the_papers_doubts_are_listed(client, torbay_users, mtfs):
    client.force_login(torbay_users["director"])
    url = reverse("dashboards:report_xlsx", args=[mtfs.pk])
    wb = load_workbook(io.BytesIO(client.get(url, {"year": "2017/18", "period": "12"}).content))
    # Nothing reported for 2017/18: no line's achieved, variance or forecast is written as 0.
    header = [c.value for c in wb["Savings lines"][4]]
    rows = _sheet_rows(wb, "Savings lines")
    for column in ("Achieved", "Delivery variance", "Forecast for the year"):
        i = header.index(column)
        assert {row[i] for row in rows} == {None}, column
    summary = {row[0]: row for row in _sheet_rows(wb, "Summary")}
    assert "Reported in 2017/18" in summary and "Achieved to date" not in summary
    owed = summary["Reserves to be repaid"]
    assert owed[1] == 3400000 and "no agreed repayment plan" in owed[4]
    assert (
        "disagrees with itself in 8 places"
        in summary["Stated totals and the paper's own doubts"][4]
    )
    doubts = _sheet_rows(wb, "Paper disagrees")
    adoption = next(r for r in doubts if r[0].startswith("Acceleration of adoption"))
    assert (adoption[3], adoption[5], adoption[7]) == ("£174k", "173k", "173k")
    # Every rate the paper prints holds for the seed's population: none is listed as a doubt.
    assert not any("rate per 10,000" in (r[0] or "") for r in doubts)


def test_barking_achieved_is_not_reported_and_the_deficit_is_a_basis(client, seeded):
    from plans.models import Plan
    from tests.factories import UserFactory

    plan = Plan.objects.get(authority__slug="barking-dagenham")
    client.force_login(UserFactory(authority=plan.authority, role="director"))
    wb = load_workbook(
        io.BytesIO(client.get(reverse("dashboards:report_xlsx", args=[plan.pk])).content)
    )
    summary = {row[0]: row for row in _sheet_rows(wb, "Summary")}
    achieved = summary["Achieved to date"]
    assert achieved[1] is None and achieved[4].startswith("Not reported")
    assert summary["Achievable, not yet achieved"][1] == 224537
    effect = summary["Effect of reserves and other savings: Children's Services, P10 Jan 2015"]
    assert effect[1] == -901000
    assert not [k for k in summary if k.startswith("Movement")]  # no movement is invented
    # A goal the paper gives no date is the KPI's target, said to have none.
    kpis = {row[0]: row for row in _sheet_rows(wb, "KPIs")}
    caseload = kpis["Social worker caseload (children)"]
    assert (caseload[6], caseload[7]) == (20, "No date given")


@pytest.mark.parametrize(("year", "period"), [("2016/17", 12), ("2017/18", 8)])
def test_money_is_written_to_the_penny_as_the_pages_show_it(
    client, torbay_users, mtfs, year, period
):
    # Found walking the app: a placement type's outturn was written as 5193333.333333333.
    client.force_login(torbay_users["director"])
    data = client.get(
        reverse("dashboards:report_xlsx", args=[mtfs.pk]), {"year": year, "period": period}
    ).content
    book = load_workbook(io.BytesIO(data), read_only=True)
    long = [
        (ws.title, cell.coordinate, cell.value)
        for ws in book.worksheets
        for row in ws.iter_rows()
        for cell in row
        if isinstance(cell.value, float)
        and "£" in (cell.number_format or "")
        and Decimal(repr(cell.value)) != Decimal(repr(cell.value)).quantize(Decimal("0.01"))
    ]
    assert not long, long


@pytest.mark.parametrize("query", [{"year": "2030/31"}, {"year": "2017/18", "period": "13"}])
@pytest.mark.parametrize("name", ["dashboards:report_xlsx", "dashboards:report_pdf"])
def test_a_download_of_a_month_the_plan_has_not_is_a_404_never_another_month(
    client, torbay_users, mtfs, query, name
):
    client.force_login(torbay_users["director"])
    assert client.get(reverse(name, args=[mtfs.pk]), query).status_code == 404


def test_a_sheet_with_nothing_to_list_says_so_and_a_first_figure_is_first_reported(
    client, torbay_users, mtfs
):
    # Found walking the app: the Overspend forecast sheet of P8 2017/18 was its headers
    # alone, and the Changes sheet left Change blank where the report says "first reported".
    from io import BytesIO

    from openpyxl import load_workbook as load

    client.force_login(torbay_users["director"])
    url = reverse("dashboards:report_xlsx", args=[mtfs.pk]) + "?year=2017/18&period={}"
    book = load(BytesIO(client.get(url.format(8)).content), read_only=True)
    rows = list(book["Overspend forecast"].iter_rows(values_only=True))
    assert rows[4][0] == "None recorded for 2017/18 up to P8 Nov 2017."
    first = []
    for period in (1, 8):
        book = load(BytesIO(client.get(url.format(period)).content), read_only=True)
        for row in list(book["Changes"].iter_rows(values_only=True))[4:]:
            if row[2] is None and row[3] is not None and row[4] is None:
                first.append(row)  # not reported before: the cells stay empty, the note says
                words = ("First reported", "First recorded", "First estimated")
                assert row[5].startswith(words), row
    assert first


def test_money_columns_are_shown_in_whole_pounds_and_hold_the_pence(client, torbay_users, mtfs):
    # Found walking the app: £43,000 sat above £84,333.33 in one column, and a budget read
    # £5,129,942.50 where every page says £5,129,943.
    from io import BytesIO

    from openpyxl import load_workbook as load

    client.force_login(torbay_users["director"])
    url = reverse("dashboards:report_xlsx", args=[mtfs.pk]) + "?year=2017/18&period=8"
    book = load(BytesIO(client.get(url).content))
    formats = {
        c.number_format
        for ws in book.worksheets
        for row in ws.iter_rows(min_row=5)
        for c in row
        if "£" in c.number_format
    }
    assert formats == {'"£"#,##0;-"£"#,##0'}
    assert any(
        isinstance(c.value, float) and c.value != int(c.value)
        for ws in book.worksheets
        for row in ws.iter_rows(min_row=5)
        for c in row
        if "£" in c.number_format
    )


def test_the_savings_by_rag_total_fills_every_column(client, torbay_users, mtfs):
    # Found walking the app: the total row left the original RAG's lines and planned blank
    # where the dashboard gives 14 lines and £1,578,000 at budget setting.
    from io import BytesIO

    from openpyxl import load_workbook as load

    client.force_login(torbay_users["director"])
    url = reverse("dashboards:report_xlsx", args=[mtfs.pk]) + "?year=2017/18&period=8"
    rows = list(
        load(BytesIO(client.get(url).content))["Savings by RAG"].iter_rows(values_only=True)
    )
    [total] = [r for r in rows if r[0] == "Total"]
    assert total[1:] == (14, 0, 1578000, 1578000, 14, 1578000)
