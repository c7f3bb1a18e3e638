"""Hostile and broken workbooks: a clear message, every problem at once, nothing saved."""

import io
import re
import time
import zipfile
from datetime import date

import pytest
from django.db import IntegrityError
from openpyxl import Workbook, load_workbook
from openpyxl.styles import PatternFill
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from plans import workbook
from plans.models import Plan, ProgressEntry, Risk, SavingsLine
from plans.workbook import reader
from tests.plans.workbook_files import (
    add_members,
    edit,
    header_column,
    minimal_workbook,
    set_cells,
    zip_bytes,
)

pytestmark = pytest.mark.django_db


def problems_of(data, **kwargs):
    changes = workbook.preview(data, **kwargs)
    return changes.problems


def messages(data, **kwargs):
    return [str(p) for p in problems_of(data, **kwargs)]


def assert_refused(data, pattern, **kwargs):
    """The workbook is refused with a message matching ``pattern``, and nothing is saved."""
    before = (Plan.objects.count(), SavingsLine.objects.count())
    with pytest.raises(workbook.WorkbookRejected) as caught:
        workbook.import_workbook(data, filename="bad.xlsx", **kwargs)
    text = "\n".join(str(p) for p in caught.value.problems)
    assert re.search(pattern, text, re.IGNORECASE), text
    assert (Plan.objects.count(), SavingsLine.objects.count()) == before
    return caught.value.problems


def test_the_small_plan_imports(authority):
    plan = workbook.import_workbook(minimal_workbook(), filename="small.xlsx")
    line = plan.lines.get(reference="SAV/2")
    assert line.rag == "green"
    assert {a.year: (a.kind, a.low, a.high) for a in line.amounts.all()} == {
        "2017/18": ("range", 50000, 600000),
        "2018/19": ("tbc", None, None),
    }
    assert plan.workstreams.count() == 2  # created from the names on the lines sheet
    assert plan.lines.get(reference="SAV/3").amounts.count() == 1


# ---- not a workbook at all


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        (b"", "empty"),
        (b"Reference,Title,2017/18\nSAV/1,Fewer placements,129k\n", "CSV"),
        (b"%PDF-1.7\n%....", "PDF"),
        (b"<!DOCTYPE html><html><body>Sign in</body></html>", "web page"),
        (bytes(range(256)) * 10, r"not an Excel workbook \(\.xlsx\)"),
        (zip_bytes({"notes.txt": b"hello", "photo.jpg": b"\xff\xd8"}), "zip archive but not"),
        (zip_bytes({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet"}), r"\.ods"),
        (zip_bytes({"xl/workbook.bin": b"\x00"}), r"\.xlsb"),
        (zip_bytes({"word/document.xml": b"<w/>"}), "Word document"),
    ],
)
def test_files_that_are_not_workbooks(data, pattern):
    assert_refused(data, pattern)


def test_password_protected_workbook():
    # An encrypted .xlsx is an OLE compound file holding an EncryptedPackage stream.
    fake = (
        reader.OLE_MAGIC
        + b"\x00" * 504
        + "EncryptionInfo".encode("utf-16-le")
        + b"\x00" * 64
        + "EncryptedPackage".encode("utf-16-le")
        + b"\x00" * 2048
    )
    assert_refused(fake, "password-protected")


def test_old_xls_workbook():
    assert_refused(
        reader.OLE_MAGIC + b"\x00" * 4096 + "Workbook".encode("utf-16-le"), r"97-2003 \(\.xls\)"
    )


def test_truncated_workbook(authority):
    data = minimal_workbook()
    for cut in (data[: len(data) // 2], data[:-200]):
        assert_refused(cut, "damaged or incomplete: its end is missing")


def test_macro_workbook(authority):
    data = add_members(minimal_workbook(), {"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0macro"})
    assert_refused(data, r"macros \(\.xlsm\)")


def test_macro_content_type_without_vba_part(authority):
    data = add_members(
        minimal_workbook(),
        {},
        replace={
            "[Content_Types].xml": lambda x: x.replace(
                b"spreadsheetml.sheet.main+xml", b"ms-excel.sheet.macroEnabled.main+xml"
            )
        },
    )
    assert_refused(data, "macros")


def test_xml_document_type_declarations_are_refused(authority):
    bomb = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><sst>&lol;</sst>'
    data = add_members(minimal_workbook(), {"xl/extra.xml": bomb})
    assert_refused(data, "document type declaration")


def test_file_over_the_size_limit(authority, settings):
    data = minimal_workbook()
    settings.WORKBOOK_MAX_BYTES = len(data) - 1
    assert_refused(data, r"the largest workbook accepted is")


def test_zip_bomb(authority, monkeypatch):
    monkeypatch.setattr(reader, "MAX_UNPACKED_BYTES", 10_000)
    assert_refused(minimal_workbook(), "zip bomb")


# ---- sheets and columns


def test_missing_required_sheet(authority):
    data = edit(minimal_workbook(), lambda wb: wb.remove(wb["Savings lines"]))
    assert_refused(data, "no 'Savings lines' sheet")


def test_missing_optional_sheet_is_only_noted(authority):
    changes = workbook.preview(minimal_workbook())
    assert changes.problems == []
    assert any("no 'Risks' sheet" in w for w in changes.warnings)


def test_renamed_required_sheet(authority):
    def rename(wb):
        wb["Savings lines"].title = "Savings"

    problems = assert_refused(edit(minimal_workbook(), rename), "renamed")
    assert any("no 'Savings lines' sheet" in p.message for p in problems)


def test_renamed_optional_sheet_is_not_silently_skipped(authority):
    def add(wb):
        ws = wb.create_sheet("Risk register")
        ws.append(["Reference", "Description"])
        ws.append(["R1", "Placements slip"])

    assert_refused(edit(minimal_workbook(), add), "looks like the 'Risks' sheet renamed")


def test_other_sheets_are_ignored_with_a_note(authority):
    def add(wb):
        ws = wb.create_sheet("Workings")
        ws.append(["Anything", "=1+1"])

    changes = workbook.preview(edit(minimal_workbook(), add))
    assert changes.problems == []
    assert any("'Workings' is not part of the template" in w for w in changes.warnings)


def test_missing_required_column(authority):
    def drop(wb):
        wb["Savings lines"]["C1"] = "Line name"

    problems = assert_refused(edit(minimal_workbook(), drop), "required column 'Title' is missing")
    assert problems[0].sheet == "Savings lines" and problems[0].row == 1


def test_missing_header_row(authority):
    def clear(wb):
        wb["Savings lines"].delete_rows(1)

    assert_refused(edit(minimal_workbook(), clear), "header row is missing")


def test_a_header_row_too_far_down_is_said_where_it_is(authority):
    def push_down(wb):
        wb["Savings lines"].insert_rows(1, 11)

    [problem] = assert_refused(edit(minimal_workbook(), push_down), "The header row is row 12")
    assert (problem.sheet, problem.row) == ("Savings lines", 12)


def test_header_row_may_sit_below_a_title(authority):
    def title(wb):
        wb["Savings lines"].insert_rows(1, 2)
        wb["Savings lines"]["A1"] = "Savings lines 2017/18 onwards"

    plan = workbook.import_workbook(edit(minimal_workbook(), title), filename="t.xlsx")
    assert plan.lines.count() == 3


def test_duplicate_column(authority):
    def dup(wb):
        wb["Savings lines"]["G1"] = "Title"

    assert_refused(edit(minimal_workbook(), dup), "appears twice")


def test_merged_cells(authority):
    def merge(wb):
        wb["Savings lines"].merge_cells("C2:D2")

    problems = assert_refused(edit(minimal_workbook(), merge), "C2:D2 are merged")
    assert (problems[0].sheet, problems[0].row, problems[0].column) == ("Savings lines", 2, "C")


# ---- rows


def test_thousands_of_blank_rows_cost_nothing(authority):
    def pad(wb):
        ws = wb["Savings lines"]
        fill = PatternFill("solid", fgColor="FFFF00")
        for row in range(5, 60_000):
            ws.cell(row=row, column=1).fill = fill

    data = edit(minimal_workbook(), pad)
    start = time.perf_counter()
    plan = workbook.import_workbook(data, filename="padded.xlsx")
    assert plan.lines.count() == 3
    assert time.perf_counter() - start < 10


def test_data_after_a_long_gap_is_read(authority):
    data = set_cells(
        minimal_workbook(), "Savings lines", {"A900": "SAV/9", "C900": "Far down", "E900": "5k"}
    )
    plan = workbook.import_workbook(data, filename="gap.xlsx")
    assert plan.lines.get(reference="SAV/9").title == "Far down"


def test_too_many_rows(authority):
    data = set_cells(minimal_workbook(), "Savings lines", {"A130000": "SAV/9", "C130000": "x"})
    assert_refused(data, "data down to row 130,000; a sheet may hold at most 110,000 rows")


def test_duplicate_references(authority):
    data = set_cells(minimal_workbook(), "Savings lines", {"A3": "sav/1"})
    problems = assert_refused(data, "Duplicate: reference sav/1 is also on row 2")
    assert (problems[0].row, problems[0].column) == (3, "A")


# ---- cells


def test_text_in_number_cells_and_bad_amounts_all_reported_at_once(authority):
    def spoil(wb):
        ws = wb["Savings lines"]
        ws["E2"] = "lots"  # year column
        ws["F2"] = -5000
        ws["E3"] = 5_000_000_000
        ws["D4"] = "Purple"  # RAG
        forecast = wb.create_sheet("Overspend forecast")
        forecast.append(["Year", "Period", "Budget", "Forecast outturn"])
        forecast.append(["2017/18", 7, "a lot", "£30m"])
        forecast.append(["2017/18", 13, "£28m", "£30m"])

    problems = assert_refused(edit(minimal_workbook(), spoil), "not an amount")
    where = {(p.sheet, p.row, p.column) for p in problems}
    assert {
        ("Savings lines", 2, "E"),
        ("Savings lines", 2, "F"),
        ("Savings lines", 3, "E"),
        ("Savings lines", 4, "D"),
        ("Overspend forecast", 2, "C"),
        ("Overspend forecast", 3, "B"),
    } <= where
    text = "\n".join(str(p) for p in problems)
    assert "negative" in text and "over £1bn" in text and "not one of" in text
    assert "Savings lines!E2 (2017/18)" in text


def _saved_as_excel_would(formula: str, pattern: bytes, saved: bytes) -> bytes:
    """A workbook whose Savings lines!F4 holds ``formula`` saved as Excel saves its result:
    openpyxl writes a formula with no result (``<v/>`` or ``<v></v>``); ``pattern`` in the
    sheet's XML is replaced by ``saved``."""
    data = set_cells(minimal_workbook(), "Savings lines", {"F4": formula})
    sheet = "xl/worksheets/sheet2.xml"
    # Excel saves its results and never asks to be recalculated on opening, as openpyxl does.
    return add_members(
        data,
        {},
        replace={
            sheet: lambda xml: re.sub(pattern, saved, xml),
            "xl/workbook.xml": lambda xml: xml.replace(b' fullCalcOnLoad="1"', b""),
        },
    )


def test_formula_results_are_imported(authority):
    data = _saved_as_excel_would(
        "=100000+29000",
        rb"<f>100000\+29000</f><v ?(/>|></v>)",
        b"<f>100000+29000</f><v>129000</v>",
    )
    plan = workbook.import_workbook(data, filename="formula.xlsx")
    assert plan.lines.get(reference="SAV/3").amounts.get(year="2018/19").low == 129000


def test_formula_without_a_saved_result(authority):
    data = set_cells(minimal_workbook(), "Savings lines", {"F4": "=100000+29000"})
    problems = assert_refused(data, "formula with no calculated result")
    assert (problems[0].row, problems[0].column) == (4, "F")
    # Named by its header too, as every other problem is (walked: "Savings lines!F4:").
    assert problems[0].header == "2018/19" and "Savings lines!F4 (2018/19)" in str(problems[0])


def test_a_formula_result_saved_by_a_program_that_does_not_calculate_is_refused(authority):
    # XlsxWriter and pandas save 0 as every formula's result and ask the spreadsheet to
    # calculate when the file is opened: the 0 is a stand-in, never £0.
    data = _saved_as_excel_would(
        "=100000+29000",
        rb"<f>100000\+29000</f><v ?(/>|></v>)",
        b"<f>100000+29000</f><v>0</v>",
    )
    data = add_members(
        data,
        {},
        replace={
            "xl/workbook.xml": lambda xml: xml.replace(b"<calcPr ", b'<calcPr fullCalcOnLoad="1" ')
        },
    )
    problems = assert_refused(data, "formula with no calculated result")
    assert (problems[0].row, problems[0].column) == (4, "F")


def test_a_formula_whose_saved_result_is_empty_text_is_a_blank_cell(authority):
    # =IF(A4="","",...) filled down: Excel saves the empty result as text with an empty value.
    data = _saved_as_excel_would(
        '=IF(1>2,1,"")', rb'<c r="F4"( [^>]*)?><f>', b'<c r="F4" t="str"><f>'
    )
    plan = workbook.import_workbook(data, filename="blank-result.xlsx")
    assert not plan.lines.get(reference="SAV/3").amounts.filter(year="2018/19").exists()


def test_dates_outside_the_plan(authority):
    def add(wb):
        progress = wb.create_sheet("Progress")
        progress.append(["Reference", "As at", "Achieved to date"])
        progress.append(["SAV/1", date(2030, 3, 31), 1000])
        kpis = wb.create_sheet("KPIs")
        kpis.append(["Code", "Name", "Better when"])
        kpis.append(["cla", "Children looked after", "Lower is better"])
        values = wb.create_sheet("KPI values")
        values.append(["KPI code", "Kind", "Date", "Value"])
        values.append(["cla", "Actual", "31/03/1917", 400])
        wb["Savings lines"]["G1"] = "2019/20"
        wb["Savings lines"]["G2"] = "5k"

    problems = assert_refused(edit(minimal_workbook(), add), "outside the plan")
    text = "\n".join(str(p) for p in problems)
    assert (
        "Progress!B2 (As at): 31/03/2030 is outside the plan's years (2017/18 to 2018/19)" in text
    )
    assert "KPI values!C2 (Date): 31/03/1917 is more than 10 years outside" in text
    assert (
        "Savings lines!G2 (2019/20): The plan runs 2017/18 to 2018/19, so it has no 2019/20" in text
    )


def test_blank_year_column_outside_the_plan_is_ignored(authority):
    data = set_cells(minimal_workbook(), "Savings lines", {"G1": "2019/20"})
    assert problems_of(data) == []


def test_first_year_after_last(authority):
    data = set_cells(minimal_workbook(), "Plan", {"B6": "2019/20"})
    assert_refused(data, "last year 2018/19 is before the first year 2019/20")


def test_unknown_references_between_sheets(authority):
    def add(wb):
        progress = wb.create_sheet("Progress")
        progress.append(["Reference", "As at", "Achieved to date"])
        progress.append(["SAV/99", "31/10/2017", "10k"])
        values = wb.create_sheet("KPI values")
        values.append(["KPI code", "Kind", "Date", "Value"])
        values.append(["nope", "Target", "31/03/2018", 10])

    problems = assert_refused(edit(minimal_workbook(), add), "no savings line 'SAV/99'")
    assert any("no KPI with the code 'nope'" in p.message for p in problems)


def test_record_rules_from_the_model(authority):
    def add(wb):
        forecast = wb.create_sheet("Overspend forecast")
        forecast.append(["Year", "Period", "Budget", "Forecast outturn", "Stated overspend"])
        forecast.append(["2017/18", 7, "£28m", None, None])
        risks = wb.create_sheet("Risks")
        risks.append(["Reference", "Description", "Likelihood"])
        risks.append(["R1", "Slippage", 9])

    problems = assert_refused(edit(minimal_workbook(), add), "budget and the forecast outturn")
    assert any(
        p.sheet == "Risks" and p.column == "C" and "between 1 and 5" in p.message for p in problems
    )


# ---- the plan sheet and the database


def test_authority_must_exist():
    assert_refused(minimal_workbook(authority="atlantis"), "no authority 'atlantis'")


def test_plan_code_already_taken(authority):
    plan = workbook.import_workbook(minimal_workbook(), filename="first.xlsx")
    assert_refused(minimal_workbook(), "already has a plan with the code 'small-plan'")
    # Codes are matched without capitals, as "Revises" matches them: never a second plan
    # whose code differs only in capitals; an update names its plan in any capitals.
    assert_refused(minimal_workbook(code="SMALL-Plan"), "already has a plan with the code")
    workbook.import_workbook(minimal_workbook(code="SMALL-PLAN"), filename="u.xlsx", into=plan)
    plan.refresh_from_db()
    assert plan.code == "small-plan"


def test_unknown_plan_field(authority):
    data = set_cells(minimal_workbook(), "Plan", {"A9": "Colour", "B9": "Blue"})
    assert_refused(data, "'Colour' is not a plan field")
    # A label with no value after the first field is a field misnamed, not a title.
    data = set_cells(minimal_workbook(), "Plan", {"A9": "Colour"})
    assert_refused(data, "'Colour' is not a plan field")


def test_title_rows_above_the_plan_fields_are_a_title(authority):
    def titled(wb):
        wb["Plan"].insert_rows(1, 3)
        wb["Plan"]["A1"] = "Plan details"
        wb["Plan"]["A2"] = "Please complete all yellow cells"

    workbook.import_workbook(edit(minimal_workbook(), titled), filename="titled.xlsx")
    assert Plan.objects.get(code="small-plan").title == "Small plan"


def test_missing_plan_field(authority):
    data = edit(minimal_workbook(), lambda wb: wb["Plan"].delete_rows(4))
    assert_refused(data, "'Title' row is missing")


def test_workbook_for_another_plan_cannot_go_into_this_one(authority, plan):
    assert_refused(minimal_workbook(), "importing into 'recovery-2017'", into=plan)


def test_blank_template_says_what_to_fill_in(authority):
    problems = problems_of(workbook.template(authority=authority))
    text = "\n".join(str(p) for p in problems)
    assert "Plan!B3 (Plan code): Plan code is required." in text
    assert "Title is required" in text


def test_a_plan_changed_after_the_preview_is_not_imported_blind(seeded, mtfs):
    data = workbook.export_plan(mtfs)
    data = set_cells(data, "Savings lines", {"A40": "NEW/1", "C40": "A new line"})
    parsed = workbook.read(data)
    preview = workbook.changes_for(parsed, into=mtfs)
    assert preview.problems == [] and preview.has_changes
    # Someone edits a line after the preview: confirming must not apply what was not shown.
    line = mtfs.lines.get(reference="MTFS-01")
    line.title = "Renamed meanwhile"
    line.version += 1
    line.save()
    changes, saved = workbook.import_parsed(
        parsed, filename="x.xlsx", into=mtfs, expected=preview.fingerprint()
    )
    assert not saved and changes.fingerprint() != preview.fingerprint()
    assert any(rc.label.startswith("MTFS-01") for rc in changes.of("update"))
    assert not mtfs.lines.filter(reference="NEW/1").exists()


def test_nothing_is_saved_when_the_database_refuses_part_way(seeded, mtfs, monkeypatch):
    from plans import services

    data = workbook.export_plan(mtfs)
    data = set_cells(data, "Savings lines", {"A40": "NEW/1", "C40": "A new line"})
    data = set_cells(data, "Risks", {"A40": "R-NEW", "B40": "A new risk"})
    real = services.create_many

    def refuse_risks(model, objs, **kwargs):
        if model is Risk:
            raise IntegrityError("refused for the test")
        return real(model, objs, **kwargs)

    monkeypatch.setattr(services, "create_many", refuse_risks)
    with pytest.raises(workbook.WorkbookRejected, match="database refused"):
        workbook.import_workbook(data, filename="x.xlsx", into=mtfs)
    assert not mtfs.lines.filter(reference="NEW/1").exists()


def test_problem_locations_name_real_cells(authority):
    data = set_cells(minimal_workbook(), "Savings lines", {"D3": "Purple", "E4": "n/a"})
    wb = load_workbook(io.BytesIO(data))
    for problem in problems_of(data):
        assert wb[problem.sheet][f"{problem.column}{problem.row}"].value is not None
    assert header_column(data, "Savings lines", "Current RAG") == "D"


def test_read_only_mode_never_sees_more_rows_than_hold_data(authority):
    wb = Workbook()
    ws = wb.active
    ws.title = "Plan"
    ws["A1"], ws["A1048576"] = "Field", None
    ws.cell(row=1048576, column=1).fill = PatternFill("solid", fgColor="FFFF00")
    out = io.BytesIO()
    wb.save(out)
    raw = reader.read_workbook(out.getvalue())
    assert raw.sheets["Plan"].last_row == 1
    assert zipfile.is_zipfile(io.BytesIO(out.getvalue()))


def test_kpi_values_may_refer_to_kpis_the_workbook_leaves_out(seeded, mtfs):
    data = edit(workbook.export_plan(mtfs), lambda wb: wb.remove(wb["KPIs"]))
    changes = workbook.preview(data, into=mtfs)
    assert changes.problems == [] and not changes.has_changes
    assert any("no 'KPIs' sheet" in w for w in changes.warnings)


@pytest.mark.parametrize(
    "prolog",
    [
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>',
        b'<?xml version="1.0"?><!-- <a> ' + b"x" * 10_000 + b" --><!DOCTYPE x>",
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x>'.encode("utf-16"),
    ],
)
def test_document_type_declarations_cannot_hide(authority, prolog):
    def poison(xml):
        if prolog.startswith(b"\xff"):
            return prolog  # a UTF-16 part: the declaration alone is enough to refuse
        return prolog + (xml.split(b"?>", 1)[1] if xml.startswith(b"<?xml") else xml)

    data = add_members(minimal_workbook(), {}, replace={"xl/worksheets/sheet2.xml": poison})
    assert_refused(data, "document type declaration")


def test_a_number_no_spreadsheet_saves_is_refused_on_its_cell(authority):
    # Found with hostile workbooks: <v>INF</v> gave "The sheet's XML is damaged (invalid
    # literal for int() with base 10: 'INF')", Python's words and no cell.
    def poison(xml):
        return re.sub(rb"<c r=\"E2\"([^>]*)><v>[^<]*</v>", rb'<c r="E2"\1><v>INF</v>', xml)

    lines = [["SAV/1", "Placements", "Fewer placements", "Amber", 95000, None]]
    for date_style in (False, True):  # a cell styled as a date too (openpyxl casts it again)

        def style(wb, date_style=date_style):
            if date_style:
                wb["Savings lines"]["E2"].number_format = "dd/mm/yyyy"

        data = add_members(
            edit(minimal_workbook(lines=lines), style),
            {},
            replace={"xl/worksheets/sheet2.xml": poison},
        )
        with pytest.raises(workbook.WorkbookRejected) as caught:
            workbook.import_workbook(data, filename="inf.xlsx")
        [problem] = caught.value.problems
        assert (problem.sheet, problem.row, problem.column) == ("Savings lines", 2, "E")
        assert "'INF' as a number" in problem.message and "int()" not in problem.message


def test_more_records_than_an_import_takes_at_once(authority, monkeypatch):
    from plans.workbook import parser

    monkeypatch.setattr(parser, "MAX_RECORDS", 5)
    before = Plan.objects.count()
    data = set_cells(minimal_workbook(), "Savings lines", {"A9": "SAV/9", "C9": "Another"})
    problems = assert_refused(data, "at most 5 are imported at once")
    assert len(problems) == 1 and Plan.objects.count() == before


# ---- found by the workbook corpus (docs/benchmarks/workbook_corpus.py)


def _patch_member_header(data: bytes, member: str, *, flag: int = 0, method=None) -> bytes:
    """``member``'s local and central headers with ``flag`` set or another ``method``."""
    raw = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        local = z.getinfo(member).header_offset
    central = raw.find(b"PK\x01\x02")
    while raw[central + 46 : central + 46 + len(member)] != member.encode():
        central = raw.find(b"PK\x01\x02", central + 4)
    for at, flag_at, method_at in ((local, 6, 8), (central, 8, 10)):
        raw[at + flag_at] |= flag
        if method is not None:
            raw[at + method_at : at + method_at + 2] = method.to_bytes(2, "little")
    return bytes(raw)


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        ({"flag": 0x1}, "locked with a zip password"),  # was a RuntimeError traceback
        ({"method": 99}, "packed in a way Excel never uses"),  # was NotImplementedError
    ],
)
def test_zip_parts_no_spreadsheet_writes(authority, change, pattern):
    data = _patch_member_header(minimal_workbook(), "xl/worksheets/sheet2.xml", **change)
    assert_refused(data, pattern)


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_parts_packed_as_no_spreadsheet_packs_them(authority, method):
    """bzip2 and LZMA unpack (Python reads them) but no spreadsheet writes them, and they
    unpack many times slower than a workbook's own packing: refused, not read."""
    with zipfile.ZipFile(io.BytesIO(minimal_workbook())) as src:
        members = {i.filename: src.read(i) for i in src.infolist()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=method) as z:
        for name, body in members.items():
            z.writestr(name, body)
    assert_refused(out.getvalue(), "packed in a way Excel never uses")


def test_two_parts_of_the_same_name(authority):
    import warnings

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(io.BytesIO(minimal_workbook())) as src:
            for info in src.infolist():
                z.writestr(info.filename, src.read(info))
        z.writestr("xl/workbook.xml", b"<workbook/>")  # the one a zip reader would take
    assert_refused(out.getvalue(), "two parts named xl/workbook.xml")


def test_a_document_type_declaration_in_a_part_not_named_xml(authority):
    # The relationships may name any part as a sheet; its entities used to be expanded.
    data = minimal_workbook()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    sheet = members.pop("xl/worksheets/sheet2.xml")
    dtd = b'<!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
    members["xl/worksheets/sheet2.dat"] = dtd + sheet.split(b"?>", 1)[-1].replace(
        b"Agency reduction", b"&b;"
    )
    members["xl/_rels/workbook.xml.rels"] = members["xl/_rels/workbook.xml.rels"].replace(
        b"worksheets/sheet2.xml", b"worksheets/sheet2.dat"
    )
    assert_refused(zip_bytes(members), "document type declaration")


def test_too_many_shared_strings_are_refused_before_they_are_read(authority, monkeypatch):
    # 2.4 million empty strings fit the 32 MB cap and took 16 s and 300 MB to read.
    monkeypatch.setattr(reader, "MAX_SHARED_STRINGS", 1_000)
    sst = (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + b"<si><t/></si>" * 1_001
        + b"</sst>"
    )
    rel = (
        b'<Relationship Id="rIdS" Target="sharedStrings.xml" Type="http://schemas.openxml'
        b'formats.org/officeDocument/2006/relationships/sharedStrings"/></Relationships>'
    )
    data = add_members(
        minimal_workbook(),
        {"xl/sharedStrings.xml": sst},
        replace={"xl/_rels/workbook.xml.rels": lambda x: x.replace(b"</Relationships>", rel)},
    )
    assert_refused(data, "more than 1,000 pieces of text")


def test_inline_text_reads_as_openpyxl_reads_it():
    """The reader reads text typed in the cell itself (an inline string) from its runs, not
    through openpyxl's rich-text objects: the same text, phonetic guides left out."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Risks"
    ws.append(["Reference", "Description"])
    ws.append(["R1", "plain"])
    data = io.BytesIO()
    wb.save(data)
    sheet_xml = "xl/worksheets/sheet1.xml"
    cells = (
        '<c r="A3" t="inlineStr"><is><t xml:space="preserve"> two </t></is></c>'
        '<c r="B3" t="inlineStr"><is><r><t>Bold</t></r><r><rPr><b/></rPr><t> and plain</t></r>'
        '<rPh sb="0" eb="1"><t>guide</t></rPh></is></c>'
        '<c r="C3" t="inlineStr"><is><t/></is></c>'
        '<c r="D3" t="inlineStr"/>'
    )
    source = zipfile.ZipFile(io.BytesIO(data.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info.filename)
            if info.filename == sheet_xml:
                body = body.replace(
                    b"</sheetData>", f'<row r="3">{cells}</row></sheetData>'.encode()
                )
            target.writestr(info, body)
    expected = [
        list(row)
        for row in load_workbook(io.BytesIO(out.getvalue())).active.iter_rows(values_only=True)
    ]
    ours = reader.read_workbook(out.getvalue()).sheets["Risks"].rows
    assert ours[-1] == (3, (" two ", "Bold and plain", ""))
    assert list(ours[-1][1]) == expected[-1][:3]


def test_hidden_rows_are_read_and_said_to_be(authority):
    """A row hidden in the spreadsheet is still part of the plan, but the officer may not know
    it is there: the preview says so, naming the row."""

    def hide(wb):
        wb["Savings lines"].row_dimensions[3].hidden = True

    changes = workbook.preview(edit(minimal_workbook(), hide))
    assert changes.problems == []
    assert "SAV/2" in {rc.label.split()[0] for rc in changes.records}
    assert any(
        w.startswith("Savings lines: 1 hidden row (3) was read like any other")
        for w in changes.warnings
    ), changes.warnings


def test_hidden_columns_and_sheets_are_read_and_said_to_be(authority):
    def hide(wb):
        wb["Savings lines"].column_dimensions["D"].hidden = True
        ws = wb.create_sheet("Risks")
        ws.append(["Reference", "Description"])
        ws.append(["R1", "Placement costs rise"])
        ws.sheet_state = "hidden"

    changes = workbook.preview(edit(minimal_workbook(), hide))
    assert changes.problems == []
    assert "Savings lines: hidden column D was read like any other" in " ".join(changes.warnings)
    assert "Risks: the sheet is hidden in the spreadsheet" in " ".join(changes.warnings)


def test_a_very_hidden_sheet_is_said_to_be_one_excel_cannot_unhide(authority):
    # Found walking the import: "hidden... delete it" of a sheet Excel's Unhide does not list.
    def hide(wb):
        ws = wb.create_sheet("Risks")
        ws.append(["Reference", "Description"])
        ws.append(["R1", "Placement costs rise"])
        ws.sheet_state = "veryHidden"

    changes = workbook.preview(edit(minimal_workbook(), hide))
    said = " ".join(changes.warnings)
    assert "Risks: the sheet is 'very hidden' (Excel's Unhide does not list it" in said


def test_a_workbook_counting_dates_from_1904(authority):
    """An old Mac workbook counts its dates from 1904: a date cell, and a day number left in a
    cell that lost its date format, read as the days they are in that workbook."""

    def add(wb):
        wb.epoch = CALENDAR_MAC_1904
        progress = wb.create_sheet("Progress")
        progress.append(["Reference", "As at", "Achieved to date"])
        progress.append(["SAV/1", date(2017, 10, 31), 1000])
        progress.append(["SAV/2", 41577, 2000])  # 31 October 2017, counted from 1904
        progress["B3"].number_format = "General"
        wb["Plan"].append(["Savings expected from", 41516])  # 31 August 2017, from 1904

    data = edit(minimal_workbook(), add)
    assert load_workbook(io.BytesIO(data)).epoch == CALENDAR_MAC_1904
    plan = workbook.import_workbook(data, filename="mac.xlsx")
    assert plan.savings_start == date(2017, 8, 31)
    entries = ProgressEntry.objects.filter(line__plan=plan).order_by("line__reference")
    assert [(e.line.reference, e.as_at) for e in entries] == [
        ("SAV/1", date(2017, 10, 31)),
        ("SAV/2", date(2017, 10, 31)),
    ]


def test_a_number_that_is_no_date_is_quoted_as_typed_in_a_1904_workbook(authority):
    def add(wb):
        wb.epoch = CALENDAR_MAC_1904
        progress = wb.create_sheet("Progress")
        progress.append(["Reference", "As at", "Achieved to date"])
        progress.append(["SAV/1", 5, 1000])

    assert_refused(edit(minimal_workbook(), add), r"Progress!B2 \(As at\): 5 is a number")


def test_rows_past_what_any_plan_holds_are_refused_while_reading(authority, monkeypatch):
    """All sheets together: the file is refused as soon as it holds more rows than an import
    takes, before the rest is read and held."""
    monkeypatch.setattr(reader, "MAX_ROWS_IN_ALL", 5)
    assert_refused(minimal_workbook(), "holds more than 5 rows")


def test_a_strict_open_xml_workbook_is_refused_with_how_to_save_it(authority):
    # Excel's "Strict Open XML Spreadsheet": the same parts under other namespaces.
    strict = {
        b"http://schemas.openxmlformats.org/spreadsheetml/2006/main": (
            b"http://purl.oclc.org/ooxml/spreadsheetml/main"
        ),
        b"http://schemas.openxmlformats.org/officeDocument/2006/relationships": (
            b"http://purl.oclc.org/ooxml/officeDocument/relationships"
        ),
    }

    def to_strict(xml: bytes) -> bytes:
        for old, new in strict.items():
            xml = xml.replace(old, new)
        return xml

    data = add_members(minimal_workbook(), {}, replace={"xl/workbook.xml": to_strict})
    assert_refused(data, "Strict Open XML Spreadsheet.*Save As > Excel Workbook")
    assert not Plan.objects.filter(code="small-plan").exists()


def test_a_stray_cell_far_across_is_named_by_its_column(authority):
    """One cell in Excel's last column is data as far across as XFD, not data in 16,384
    columns (as the message had it)."""
    data = set_cells(minimal_workbook(), "Savings lines", {"XFD2": "stray"})
    [problem] = assert_refused(data, "as far across as column XFD")
    assert problem.sheet == "Savings lines" and "16,384 columns" not in str(problem)


def test_a_workbook_with_another_file_in_front_is_refused(authority):
    # Found walking the import: b"MZ" + a kilobyte + a workbook was read as the workbook,
    # which Excel refuses to open.
    assert_refused(b"MZ" + b"\0" * 1000 + minimal_workbook(), "does not begin as a workbook")
