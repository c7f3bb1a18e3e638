"""Random cell values in real .xlsx files, through the whole importer.

Whatever the cells hold, the importer either lists problems (each in a real place) or accepts
the workbook, and a workbook it accepts is always accepted by the database too: no value gets
past the checks to fail at save time, and nothing crashes.
"""

import io
from datetime import date, datetime

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from plans import workbook
from plans.workbook import resources as s

pytestmark = pytest.mark.django_db

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)
CELL = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(min_value=-1e12, max_value=1e12, allow_nan=False),
    TEXT,
    st.dates(min_value=date(1990, 1, 1), max_value=date(2040, 12, 31)),
    st.sampled_from(
        [
            "TBC",
            "£1.2m",
            "50k-600k",
            "129k",
            "-5",
            "P7",
            "Oct",
            "Amber",
            "R",
            "Y",
            "N",
            "2017/18",
            "2018/19",
            "31/10/2017",
            "Oct 2017",
            "50%",
            "0.5",
            "1",
            "12",
            "SAV/1",
            "SAV/2",
            "cla",
            "Target",
            "Actual",
            "Lower is better",
            "Reserves drawn",
            "Planned savings",
            "#DIV/0!",
            "  ",
            "1e3",
        ]
    ),
)
SHEETS = [
    s.LINES,
    s.PROGRESS,
    s.FORECASTS,
    s.PRESSURES,
    s.FUNDING,
    s.KPIS,
    s.KPI_VALUES,
    s.RISKS,
    s.ADJUSTMENTS,
    s.STATED,
    s.NARRATIVE,
    s.COMMENTARY,
    s.DETAILS,
]


def _workbook(plan_cells, sheets) -> bytes:
    wb = Workbook()
    plan = wb.active
    plan.title = "Plan"
    fixed = [
        ("Authority", "northshire"),
        ("Plan code", "random-plan"),
        ("Title", "Random"),
        ("Kind", "Budget update"),
        ("First year", "2017/18"),
        ("Last year", "2018/19"),
    ]
    for label, value in fixed:
        plan.append([label, value])
    for label, value in plan_cells:
        plan.append([label, value])
    for spec, rows in sheets:
        ws = wb.create_sheet(spec.name)
        headers = [c.header for c in spec.columns]
        if spec is s.LINES:
            headers += ["2017/18", "2018/19"]
        ws.append(headers)
        for row in rows:
            values = (row + [None] * len(headers))[: len(headers)]
            for index, value in enumerate(values, start=1):
                cell = ws.cell(row=ws.max_row + 1 if index == 1 else ws.max_row, column=index)
                if isinstance(value, str) and value.startswith("="):
                    cell.value, cell.data_type = value, "s"  # typed text, not a formula
                else:
                    cell.value = value
    if not any(spec is s.LINES for spec, _ in sheets):
        wb.create_sheet("Savings lines").append(["Reference", "Title"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@given(
    plan_cells=st.lists(
        st.tuples(
            st.sampled_from(["Status", "Approved on", "Published on", "Directorate", "Summary"]),
            CELL,
        ),
        max_size=3,
        unique_by=lambda t: t[0],
    ),
    sheets=st.lists(
        st.tuples(
            st.sampled_from(SHEETS),
            st.lists(st.lists(CELL, min_size=1, max_size=14), min_size=1, max_size=4),
        ),
        min_size=1,
        max_size=4,
        unique_by=lambda t: t[0].name,
    ),
)
# How many examples, and the deadline, come from the Hypothesis profile (tests/conftest.py).
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_random_workbooks_are_refused_cleanly_or_saved_whole(authority, plan_cells, sheets):
    data = _workbook(plan_cells, sheets)
    changes = workbook.preview(data)
    for problem in changes.problems:
        assert problem.message
        assert problem.sheet == "" or problem.sheet in {"Plan", *(sp.name for sp in SHEETS)}
    if changes.problems:
        return
    with transaction.atomic():
        saved, done = workbook.import_parsed(workbook.read(data), filename="random.xlsx")
        assert done and saved.plan.pk and saved.plan.code == "random-plan"
        transaction.set_rollback(True)


@given(
    amounts=st.lists(
        st.one_of(
            st.decimals(min_value=0, max_value=999_999_999, places=2).map(float),
            st.sampled_from(["TBC", "£1.2m", "129k", "50k-600k", "£1,120,000", None]),
        ),
        min_size=2,
        max_size=2,
    )
)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_good_amount_survives_export_and_import(authority, amounts):
    data = _workbook([], [(s.LINES, [["SAV/1", None, "A line"] + [None] * 13 + amounts])])
    changes = workbook.preview(data)
    assert changes.problems == []
    with transaction.atomic():
        plan = workbook.import_workbook(data, filename="a.xlsx")
        again = workbook.preview(workbook.export_plan(plan), into=plan)
        assert again.problems == [] and not again.has_changes
        transaction.set_rollback(True)


def test_dates_and_datetimes_in_every_date_column(authority):
    rows = [["SAV/1", datetime(2017, 10, 31), "1k", "Achieved", "2k", "G", "ok"]]
    data = _workbook([], [(s.LINES, [["SAV/1", None, "Line"]]), (s.PROGRESS, rows)])
    assert workbook.preview(data).problems == []
