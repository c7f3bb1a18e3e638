"""What an exported workbook looks like in a spreadsheet, and the documentation of it."""

import io
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from plans import workbook
from plans.figures import plan_totals
from plans.workbook import resources as s
from tests.plans.workbook_files import header_column

pytestmark = pytest.mark.django_db
DOCS = Path(__file__).resolve().parents[2] / "docs" / "workbook-template.md"


@pytest.fixture
def exported(mtfs):
    return load_workbook(io.BytesIO(workbook.export_plan(mtfs)))


def test_sheets_in_template_order(exported):
    assert exported.sheetnames == ["About", *(spec.name for spec in s.SHEETS), "Summary"]


def test_money_is_formatted_as_money(exported):
    ws = exported["Savings lines"]
    col = header_column(exported, "Savings lines", "2017/18")
    row = next(r for r in range(2, ws.max_row + 1) if ws[f"A{r}"].value == "MTFS-01")
    cell = ws[f"{col}{row}"]
    assert cell.value == 129000 and cell.number_format == '"£"#,##0'
    ranged = [ws.cell(row=r, column=cell.column).value for r in range(2, ws.max_row + 1)]
    assert "£50,000 – £600,000" in ranged or any(
        "£50,000 – £600,000" in str(ws.cell(row=r, column=c).value)
        for r in range(2, ws.max_row + 1)
        for c in range(1, ws.max_column + 1)
    )
    budget = exported["Overspend forecast"]["E2"]
    assert budget.number_format.startswith('"£"')


def test_headers_frozen_sized_and_explained(exported):
    for spec in s.SHEETS[1:]:
        ws = exported[spec.name]
        assert ws.freeze_panes == spec.freeze
        assert [c.value for c in ws[1]][: len(spec.columns)] == [c.header for c in spec.columns]
        assert ws["A1"].font.bold
        assert ws["A1"].comment is not None
        assert ws.column_dimensions["A"].width >= 8
    assert exported["Plan"].freeze_panes == "A2"
    # 40 characters wide, as a spreadsheet measures it (XlsxWriter adds the cell's padding).
    assert round(exported["Savings lines"].column_dimensions["C"].width) in (40, 41)


def test_choice_columns_offer_a_drop_down(exported):
    ws = exported["Savings lines"]
    rag = header_column(exported, "Savings lines", "Current RAG")
    lists = {str(dv.sqref).split(":")[0]: dv.formula1 for dv in ws.data_validations.dataValidation}
    assert lists[f"{rag}2"] == '"Blue – delivered,Green,Amber,Red"'


def test_text_a_spreadsheet_would_run_is_neutralised(mtfs):
    line = mtfs.lines.first()
    line.title = '=HYPERLINK("http://evil","click")'
    line.notes = "@SUM(1)"
    line.owner = "+44 1803 000000"
    line.save()
    ws = load_workbook(io.BytesIO(workbook.export_plan(mtfs)))["Savings lines"]
    values = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert '\'=HYPERLINK("http://evil","click")' in values
    assert "'@SUM(1)" in values and "'+44 1803 000000" in values
    assert not any(v.startswith(("=", "+", "-", "@")) for v in values)
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)


def test_narrative_bullets_survive_the_round_trip(seeded):
    from plans.models import NarrativeSection

    section = NarrativeSection.objects.filter(body__startswith="- ").first()
    if section is None:
        pytest.skip("no seed section starts with a dash")
    ws = load_workbook(io.BytesIO(workbook.export_plan(section.plan)))["Narrative"]
    bodies = [ws.cell(row=r, column=3).value for r in range(2, ws.max_row + 1)]
    assert "'" + section.body in bodies
    changes = workbook.preview(workbook.export_plan(section.plan), into=section.plan)
    assert not changes.has_changes


def test_summary_sheet_uses_the_figures_module(mtfs, exported):
    totals = plan_totals([mtfs])[mtfs.pk]
    ws = exported["Summary"]
    rows = {ws.cell(row=r, column=1).value: r for r in range(4, ws.max_row + 1)}
    row = rows["2017/18"]
    assert Decimal(str(ws.cell(row=row, column=2).value)) == totals.years["2017/18"].planned_low
    assert Decimal(str(ws.cell(row=row, column=6).value)) == Decimal("789000")
    assert Decimal(str(ws.cell(row=rows["All years"], column=3).value)) == totals.total.planned_high


def test_about_sheet_explains_every_column(exported):
    about = {str(c.value) for row in exported["About"].iter_rows() for c in row if c.value}
    for spec in s.SHEETS:
        assert spec.name in about
        for col in spec.columns:
            assert col.header in about
            if col.help:
                assert col.help in about


def test_documentation_describes_every_sheet_and_column():
    text = DOCS.read_text()
    sections = {part.split("\n", 1)[0]: part for part in text.split("\n### ")}
    for spec in s.SHEETS:
        assert spec.name in sections, spec.name
        rows = sections[spec.name].splitlines()
        for col in spec.columns:
            [row] = [r for r in rows if r.startswith(f"| {col.header} |")]
            # What a column accepts is the column's own rule (the About sheet's words too).
            assert col.accepts in row, f"{spec.name}: {col.header}: {col.accepts}"


def test_blank_template_years_start_this_financial_year():
    from datetime import date

    wb = load_workbook(io.BytesIO(workbook.template(today=date(2025, 2, 1))))
    headers = [c.value for c in wb["Savings lines"][1]]
    assert headers[-4:] == ["2024/25", "2025/26", "2026/27", "2027/28"]
