"""Export then import gives back the same plan, record for record and figure for figure."""

import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from plans import workbook
from plans.figures import plan_totals
from plans.models import Commentary, Plan
from plans.workbook.resources import SAME
from tests.plans.workbook_files import dump_plan

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _seed_plans():
    """(authority, code) of every plan in the seed fixtures, read when tests are collected,
    so a seed plan added later is round-tripped too."""
    keys = []
    for path in sorted(FIXTURES.glob("*.json")):
        for obj in json.loads(path.read_text()):
            if obj["model"] == "plans.plan":
                keys.append((obj["fields"]["authority"][0], obj["fields"]["code"]))
    return keys


SEEDS = _seed_plans()


def _figures(plan):
    totals = plan_totals([plan])[plan.pk]
    return {year: t.as_json() for year, t in totals.years.items()} | {"all": totals.total.as_json()}


def test_every_seed_plan_is_covered():
    assert len(SEEDS) >= 5


@pytest.mark.parametrize(("authority", "code"), SEEDS, ids=[f"{a}/{c}" for a, c in SEEDS])
def test_seed_plan_round_trips_into_a_new_plan(seeded, authority, code):
    plan = Plan.objects.get(authority__slug=authority, code=code)
    before, figures = dump_plan(plan), _figures(plan)
    data = workbook.export_plan(plan)
    plan.delete()

    imported = workbook.import_workbook(data, filename=f"{code}.xlsx")

    assert imported.code == code and imported.authority.slug == authority
    assert dump_plan(imported) == before
    assert _figures(imported) == figures


@pytest.mark.parametrize(("authority", "code"), SEEDS, ids=[f"{a}/{c}" for a, c in SEEDS])
def test_seed_plan_export_imported_into_itself_changes_nothing(seeded, authority, code):
    plan = Plan.objects.get(authority__slug=authority, code=code)
    before = dump_plan(plan)

    changes = workbook.preview(workbook.export_plan(plan), into=plan)

    assert changes.problems == []
    assert changes.warnings == []
    assert [rc.label for rc in changes.records if rc.action != SAME] == []
    assert not changes.has_changes
    assert dump_plan(plan) == before


def test_second_export_of_an_imported_plan_reads_the_same(seeded, mtfs):
    first = workbook.export_plan(mtfs)
    mtfs.delete()
    imported = workbook.import_workbook(first, filename="mtfs.xlsx")
    again = workbook.preview(workbook.export_plan(imported), into=imported)
    assert not again.has_changes and again.problems == []


def test_the_signed_off_as_at_month_round_trips_with_its_commentary(seeded, mtfs, director):
    """The MTFS's as-at month (November 2016, before the plan's first year) signed off with
    the director's commentary, as ``seed_demo`` does: its export imports as a new plan."""
    Commentary.objects.create(
        plan=mtfs, year="2016/17", period=8, role="director", body="Signed off", author=director
    )
    before = dump_plan(mtfs)
    data = workbook.export_plan(mtfs)
    mtfs.delete()
    imported = workbook.import_workbook(data, filename="mtfs.xlsx")
    assert dump_plan(imported) == before
    assert imported.commentaries.get().year == "2016/17"


def test_worked_example_imports_and_round_trips(authority):
    data = workbook.template(authority=authority, example=True)
    plan = workbook.import_workbook(data, filename="example.xlsx")
    assert plan.lines.count() == 3
    assert plan.lines.get(reference="EX/02").amounts.count() == 2
    before = dump_plan(plan)
    exported = workbook.export_plan(plan)
    plan.delete()
    assert dump_plan(workbook.import_workbook(exported, filename="again.xlsx")) == before


def test_history_records_the_importer_and_the_file(authority, finance_manager):
    data = workbook.template(authority=authority, example=True)
    plan = workbook.import_workbook(data, filename="council-plan.xlsx", user=finance_manager)
    # A commentary the import creates is written by the importer, now (in bulk, no save()).
    for c in plan.commentaries.all():
        assert c.written_by == finance_manager and c.written_at is not None
    line = plan.lines.get(reference="EX/01")
    record = line.history.latest()
    assert record.history_user == finance_manager
    assert record.history_change_reason == "Imported from council-plan.xlsx"
    assert plan.history.latest().history_change_reason == "Imported from council-plan.xlsx"


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_export_resaved_by_libreoffice_imports_unchanged(seeded, mtfs, tmp_path):
    """A workbook written by another spreadsheet program (shared strings, its own styles and
    number formats) reads the same as ours."""
    source = tmp_path / "mtfs.xlsx"
    source.write_bytes(workbook.export_plan(mtfs))
    out = tmp_path / "resaved"
    subprocess.run(
        [
            "soffice",
            "--headless",
            "--calc",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    changes = workbook.preview((out / "mtfs.xlsx").read_bytes(), into=mtfs)
    assert changes.problems == []
    assert not changes.has_changes


def test_the_risks_sheet_lists_references_as_officers_number_them(plan):
    # Found walking the app: the export listed R1, R10, R11, R12, R2 (sorted as text).
    import io

    from openpyxl import load_workbook

    from tests.factories import RiskFactory

    for n in (10, 2, 1, 12, 11):
        RiskFactory(plan=plan, reference=f"R{n}")
    book = load_workbook(io.BytesIO(workbook.export_plan(plan)), read_only=True)
    sheet = next(ws for ws in book.worksheets if ws.title.startswith("Risk"))
    references = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True) if row[0]]
    assert references == ["R1", "R2", "R10", "R11", "R12"]


def test_an_update_keeps_each_records_history_and_refuses_a_stale_one(mtfs, finance_manager):
    # The import's changed records are written together (services.update_many): each keeps
    # a baseline of how the seed loaded it, then the change with who made it and the file.
    from openpyxl import load_workbook

    from plans import models as m
    from plans import services

    book = load_workbook(io.BytesIO(workbook.export_plan(mtfs)))
    lines = book["Savings lines"]
    header = [c.value for c in lines[1]]
    row = next(r for r in lines.iter_rows(min_row=2) if r[0].value == "MTFS-01")
    row[header.index("2017/18")].value = 130_000
    row[header.index("Title")].value = "Fewer IFA placements"
    changed = io.BytesIO()
    book.save(changed)
    amount = m.PlannedAmount.objects.get(line__plan=mtfs, line__reference="MTFS-01", year="2017/18")
    version = amount.version
    workbook.import_workbook(
        changed.getvalue(), filename="update.xlsx", into=mtfs, user=finance_manager
    )
    amount.refresh_from_db()
    assert amount.low == 130_000 and amount.version == version + 1
    history = list(amount.history.order_by("history_date"))
    assert [h.history_type for h in history] == ["+", "~"]
    assert (
        history[0].low == 129_000 and history[0].history_change_reason == services.BASELINE_REASON
    )
    assert history[0].history_user is None
    assert history[1].low == 130_000 and history[1].history_user == finance_manager
    assert history[1].history_change_reason == "Imported from update.xlsx"
    line = mtfs.lines.get(reference="MTFS-01")
    assert line.title == "Fewer IFA placements" and line.history.latest().history_type == "~"
    # Someone saved the line after the records were read: nothing is written.
    stale = mtfs.lines.get(reference="MTFS-02")
    stale.title = "Changed meanwhile"
    stale.version -= 1
    with pytest.raises(services.StaleEdit) as caught:
        services.update_many(m.SavingsLine, [stale], user=finance_manager, reason="x")
    assert caught.value.instance is stale
    assert mtfs.lines.get(reference="MTFS-02").title != "Changed meanwhile"
