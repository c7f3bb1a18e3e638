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
    [planned] = [row[4:6] for row in wb["Savings lines"].iter_rows(min_row=5)]
    assert [(c.value, c.data_type) for c in planned] == [(120000, "n"), (120000, "n")]
