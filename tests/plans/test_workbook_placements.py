"""The placement sheets of the plan workbook: round trip, the worked example, and hostile rows
refused by sheet, row and column with nothing saved."""

from decimal import Decimal

import pytest
from openpyxl import load_workbook

from plans import models as m
from plans import workbook
from tests.plans.workbook_files import dump_plan, edit, sheet_rows

pytestmark = pytest.mark.django_db


def test_the_mtfs_placements_round_trip_with_the_scenario_recorded(mtfs, client):
    """The scenario's moves (one made in September) and a what-if survive export and import."""
    first = mtfs.placement_moves.order_by("reference").first()
    first.actual_year, first.actual_period = "2017/18", 6
    first.save()
    m.PlacementScenario.objects.create(
        plan=mtfs, name="Three moves two months late", move_delay_months=2, moves_delayed=3
    )
    before = dump_plan(mtfs)
    data = workbook.export_plan(mtfs)
    moves = sheet_rows(data, "Placement moves")
    assert moves[0][:8] == (
        "Reference", "From", "To", "Children", "Planned year", "Planned period",
        "Made in year", "Made in period",
    )  # fmt: skip
    assert ("MTFS-02/2017-1", "residential", "high-end-ifa", 1, "2017/18", 4, "2017/18", 6) in [
        r[:8] for r in moves
    ]
    mtfs.delete()
    imported = workbook.import_workbook(data, filename="mtfs.xlsx")
    assert dump_plan(imported) == before
    assert imported.placement_moves.get(reference="MTFS-02/2017-1").actual_period == 6


def test_the_worked_example_imports_its_placements(authority):
    data = workbook.template(authority=authority, example=True)
    plan = workbook.import_workbook(data, filename="example.xlsx")
    ifa = plan.placement_types.get(code="ifa")
    assert ifa.annual_cost == Decimal(900 * 52)
    assert plan.placement_moves.get(reference="EX/01-2").to_type is None  # out of care
    assert plan.placement_moves.get(reference="EX/01-1").line.reference == "EX/01"
    assert m.PlacementCount.objects.filter(type__plan=plan).count() == 4
    assert plan.placement_scenarios.get().unit_cost_change == Decimal("-1")


def _broken(mtfs, change):
    return edit(workbook.export_plan(mtfs), change)


def test_hostile_placement_rows_are_refused_by_sheet_row_and_column(mtfs):
    def change(wb):
        moves = wb["Placement moves"]
        moves["B2"] = "hospital"  # no such placement type
        moves["C3"] = "residential"  # from residential to residential
        counts = wb["Placement counts"]
        counts["E2"] = -3  # a negative number of children
        types = wb["Placement types"]
        types["D2"] = -5000  # a negative unit cost

    before = dump_plan(mtfs)
    changes = workbook.preview(_broken(mtfs, change), into=mtfs)
    text = "\n".join(str(p) for p in changes.problems)
    assert (
        "Placement moves!B2 (From): There is no placement type 'hospital' on the Placement "
        "types sheet or in the plan." in text
    )
    assert "Placement moves!C3 (To): A move goes from one placement type to another." in text
    assert "Placement counts!E2 (Children)" in text
    assert "Placement types!D2 (Unit cost)" in text
    with pytest.raises(workbook.WorkbookRejected):
        workbook.import_workbook(_broken(mtfs, change), filename="bad.xlsx", into=mtfs)
    assert dump_plan(mtfs) == before


def test_a_what_if_with_a_change_in_children_needs_its_year(mtfs):
    def change(wb):
        ws = wb["What-if scenarios"]
        ws.append(["Fewer children", None, None, "residential", -10, None])

    changes = workbook.preview(_broken(mtfs, change), into=mtfs)
    text = "\n".join(str(p) for p in changes.problems)
    assert "What-if scenarios" in text
    assert "Say from which year the number of children changes" in text
    assert not m.PlacementScenario.objects.filter(name="Fewer children").exists()


def test_the_about_sheet_lists_the_placement_sheets(mtfs):
    wb = load_workbook(__import__("io").BytesIO(workbook.export_plan(mtfs)))
    for name in ("Placement types", "Placement counts", "Placement moves", "What-if scenarios"):
        assert name in wb.sheetnames


def test_a_placement_type_named_by_its_name_matches_the_count_it_keys(mtfs):
    # A count's key names its type: by code or by name, it is the same count (the name used
    # to miss the existing count and reach the database's unique constraint).
    before = m.PlacementCount.objects.filter(type__plan=mtfs).count()
    named = {}

    def by_name(wb):
        row = next(wb["Placement counts"].iter_rows(min_row=2, max_row=2))
        kind = mtfs.placement_types.get(code=row[0].value)
        named.update(type=kind, year=row[1].value, period=row[2].value, count=row[4].value)
        row[0].value, row[4].value = kind.name.upper(), row[4].value + 1

    workbook.import_workbook(_broken(mtfs, by_name), filename="names.xlsx", into=mtfs)
    assert m.PlacementCount.objects.filter(type__plan=mtfs).count() == before
    changed = m.PlacementCount.objects.get(
        type=named["type"], year=named["year"], period=named["period"], kind="actual"
    )
    assert changed.count == named["count"] + 1

    def twice(wb):  # the same count by code and by name
        ws = wb["Placement counts"]
        first = [c.value for c in next(ws.iter_rows(min_row=2, max_row=2))]
        first[0] = mtfs.placement_types.get(code=first[0]).name
        ws.append(first)

    with pytest.raises(workbook.WorkbookRejected) as caught:
        workbook.import_workbook(_broken(mtfs, twice), filename="twice.xlsx", into=mtfs)
    [problem] = caught.value.problems
    assert problem.sheet == "Placement counts" and "Duplicate" in str(problem)
