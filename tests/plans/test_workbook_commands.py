"""manage.py export_plan and import_plan."""

import pytest
from django.core.management import CommandError, call_command

from plans.models import Plan
from tests.plans.workbook_files import dump_plan, minimal_workbook, set_cells

pytestmark = pytest.mark.django_db


def test_export_then_import_as_a_new_plan(tmp_path, mtfs, capsys):
    path = tmp_path / "mtfs.xlsx"
    call_command("export_plan", str(mtfs.pk), str(path))
    assert "Wrote the plan" in capsys.readouterr().out
    before = dump_plan(mtfs)
    mtfs.delete()
    call_command("import_plan", str(path))
    out = capsys.readouterr().out
    assert "Created plan" in out and "torbay/mtfs-2017-21" in out
    assert dump_plan(Plan.objects.get(authority__slug="torbay", code="mtfs-2017-21")) == before


def test_export_by_authority_and_code(tmp_path, mtfs):
    path = tmp_path / "mtfs.xlsx"
    call_command("export_plan", "torbay/mtfs-2017-21", str(path))
    assert path.stat().st_size > 10_000


def test_import_into_an_existing_plan(tmp_path, mtfs, capsys, django_user_model):
    path = tmp_path / "mtfs.xlsx"
    call_command("export_plan", str(mtfs.pk), str(path))
    path.write_bytes(
        set_cells(path.read_bytes(), "Savings lines", {"A40": "NEW/1", "C40": "A new line"})
    )
    officer = django_user_model.objects.create_user("cli-officer")
    call_command("import_plan", str(path), "--into", str(mtfs.pk), "--user", "cli-officer")
    assert "Updated plan" in capsys.readouterr().out
    line = mtfs.lines.get(reference="NEW/1")
    assert line.history.latest().history_user == officer
    call_command("import_plan", str(path), "--into", "torbay/mtfs-2017-21", "--dry-run")
    assert "importing it would change nothing" in capsys.readouterr().out
    call_command("import_plan", str(path), "--into", "torbay/mtfs-2017-21")
    assert "nothing to import" in capsys.readouterr().out


def test_an_update_says_what_the_workbook_leaves_out_and_keeps(tmp_path, authority, capsys):
    path = tmp_path / "small.xlsx"
    path.write_bytes(minimal_workbook())
    call_command("import_plan", str(path))
    plan = Plan.objects.get(code="small-plan")
    lines = [["SAV/1", "Placements", "Fewer residential placements", "Amber", "£1.2m", "129k"]]
    path.write_bytes(minimal_workbook(lines=lines))
    call_command("import_plan", str(path), "--into", str(plan.pk), "--dry-run")
    out = capsys.readouterr().out
    # Which ones, by name: a row deleted from the workbook is not a line deleted.
    assert (
        "Savings lines: 2 in the plan but not in the workbook (SAV/2, SAV/3), kept as they are"
        in out
    ), out
    assert plan.lines.count() == 3


def test_dry_run_saves_nothing(tmp_path, authority, capsys):
    path = tmp_path / "small.xlsx"
    path.write_bytes(minimal_workbook())
    call_command("import_plan", str(path), "--dry-run", verbosity=2)
    out = capsys.readouterr().out
    assert "Savings lines: 3 new" in out and "Dry run" in out
    assert "create Savings lines: SAV/1" in out
    assert not Plan.objects.filter(code="small-plan").exists()


def test_problems_are_printed_with_their_places(tmp_path, authority, capsys):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(set_cells(minimal_workbook(), "Savings lines", {"E2": "lots", "D3": "Purple"}))
    with pytest.raises(CommandError, match="2 problems"):
        call_command("import_plan", str(path))
    err = capsys.readouterr().err
    assert "Savings lines!E2 (2017/18): 'lots' is not an amount of money" in err
    assert "Savings lines!D3 (Current RAG): 'Purple' is not one of" in err
    assert not Plan.objects.filter(code="small-plan").exists()


def test_authority_named_in_the_workbook_must_exist(tmp_path, db):
    path = tmp_path / "small.xlsx"
    path.write_bytes(minimal_workbook(authority="nowhere"))
    with pytest.raises(CommandError, match="not imported"):
        call_command("import_plan", str(path))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["999999", "x.xlsx"], "no plan '999999'"),
        (["torbay/none", "x.xlsx"], "no plan"),
        (["x.xlsx"], "Give the plan"),
    ],
)
def test_export_usage_errors(args, message, seeded):
    with pytest.raises(CommandError, match=message):
        call_command("export_plan", *args)


def test_import_missing_file(tmp_path, db):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_plan", str(tmp_path / "absent.xlsx"))


def test_template_and_example(tmp_path, authority):
    call_command("export_plan", "--template", str(tmp_path / "blank.xlsx"))
    call_command("export_plan", "--example", str(tmp_path / "example.xlsx"))
    assert (tmp_path / "blank.xlsx").stat().st_size > 5_000
    data = (tmp_path / "example.xlsx").read_bytes()
    path = tmp_path / "mine.xlsx"
    path.write_bytes(set_cells(data, "Plan", {"B2": "northshire"}))
    call_command("import_plan", str(path))
    assert Plan.objects.filter(authority=authority, code="example-recovery-2024").exists()
