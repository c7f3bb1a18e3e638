"""Run a corpus of plan workbooks, good and hostile, through ``import_plan`` and check each
verdict as an officer would expect it.

Builds about fifty workbooks the way officers and hostile files produce them (years as papers
print them, figures in £k, text where numbers go, damaged or lying zips, XML tricks, huge
sheets), writes them to a temporary directory, and runs each through ``import_plan``: as a new
plan, ``--into`` a seed plan and ``--dry-run``, each in a transaction rolled back afterwards.
A verdict is wrong if it is a traceback, if the import succeeds or fails against expectation,
if a refusal or a dry run changes the database, or if a check of what was saved fails. With
``--measure`` each file is also run as its own ``import_plan --dry-run`` process under
``/usr/bin/time -v``, against the bounds of 10 s and 500 MB.

    DEBUG=true .venv/bin/python docs/benchmarks/workbook_corpus.py [--measure] [--keep DIR]

A script, not a test: the regression tests for what it found are in
tests/plans/test_workbook_hostile.py and test_workbook_verdicts.py.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

INTO = "torbay/mtfs-2017-21"  # the seed plan updates go into
NEW_CODE = "corpus-new"


def setup_django(db_path: Path, seeded: str | None = None) -> None:
    # Never the project's database: a throwaway SQLite file with the seed plans.
    if seeded:  # a copy of a migrated, seeded database saves half a minute
        shutil.copyfile(seeded, db_path)
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recovery.settings")
    import django

    django.setup()
    from django.core.management import call_command

    if seeded:
        return
    call_command("migrate", verbosity=0, interactive=False)
    call_command("seed_demo", stdout=io.StringIO())


@dataclass
class Case:
    name: str
    category: str
    data: bytes
    expect: str  # "ok", "same" (no changes) or a regex the refusal must match
    modes: tuple[str, ...] = ("new", "into", "dry")
    check: object = None  # check(plan) -> error text or "" after a successful import


# ---- building workbooks


def _wb_bytes(wb) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _export() -> bytes:
    from plans import workbook
    from plans.management.commands.export_plan import find_plan

    return workbook.export_plan(find_plan(INTO))


def _as_new(data: bytes) -> bytes:
    """The same workbook naming a plan code the authority does not use yet."""
    from tests.plans.workbook_files import edit

    def recode(wb):
        for row in wb["Plan"].iter_rows(min_row=1):
            if str(row[0].value).strip().lower() == "plan code":
                row[1].value = NEW_CODE

    return edit(data, recode)


def _small(**kwargs) -> bytes:
    from tests.plans.workbook_files import minimal_workbook

    return minimal_workbook(authority="torbay", code=NEW_CODE, **kwargs)


def _replace(data: bytes, member: str, change) -> bytes:
    from tests.plans.workbook_files import add_members

    return add_members(data, {}, replace={member: change})


def _sheet_member(data: bytes, name: str) -> str:
    from openpyxl import load_workbook

    index = load_workbook(io.BytesIO(data), read_only=True).sheetnames.index(name) + 1
    return f"xl/worksheets/sheet{index}.xml"


def _line_amount(reference, year, low):
    def check(plan):
        line = plan.lines.filter(reference=reference).first()
        got = line and {a.year: a.low for a in line.amounts.all()}.get(year)
        return "" if got == low else f"{reference} {year} is {got}, expected {low}"

    return check


def _lines(**cells):
    """A minimal workbook whose SAV/1 row has ``cells`` (column letter -> value)."""
    from tests.plans.workbook_files import set_cells

    return set_cells(_small(), "Savings lines", cells)


def _with_sheet(data: bytes, name: str, rows) -> bytes:
    from tests.plans.workbook_files import edit

    def add(wb):
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)

    return edit(data, add)


def _zip(members: dict[str, bytes], **kwargs) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, **kwargs) as z:
        for name, content in members.items():
            z.writestr(name, content)
    return out.getvalue()


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def _sheet_xml(rows_xml: bytes) -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b"<sheetData>" + rows_xml + b"</sheetData></worksheet>"
    )


def build_cases() -> list[Case]:
    from openpyxl import Workbook, load_workbook

    from tests.plans.workbook_files import add_members, edit, set_cells

    export = _export()
    small = _small()
    lines = "Savings lines"
    cases: list[Case] = []

    def add(*args, **kwargs):
        cases.append(Case(*args, **kwargs))

    # -- good workbooks as officers produce them
    add("export-into-itself", "round trip", export, "same", modes=("into", "dry"))
    add("export-as-new", "round trip", _as_new(export), "ok", modes=("new",))

    def reorder(wb):
        wb.move_sheet(lines, offset=-(wb.sheetnames.index(lines)))
        wb[lines].title = "x"  # openpyxl refuses a new title equal to another but in case
        wb["x"].title = "SAVINGS LINES"
        wb["Plan"].title = "y"
        wb["y"].title = "plan"

    add("sheets-reordered-other-case", "layout", edit(small, reorder), "ok", modes=("new", "dry"))

    def header_noise(wb):
        ws = wb[lines]
        ws["A1"] = " Reference\u00a0"
        ws["C1"] = "Title\n"
        ws["E1"] = "2017/18\u00a0(£)"
        ws["F1"] = " 2018-19 \n"

    add("headers-with-nbsp-and-newlines", "layout", edit(small, header_noise), "ok")

    def gaps(wb):
        ws = wb[lines]
        ws.insert_rows(3, 3)
        ws.insert_cols(3, 2)

    add(
        "blank-rows-and-columns",
        "layout",
        edit(small, gaps),
        "ok",
        check=lambda p: "" if p.lines.count() == 3 else f"{p.lines.count()} lines",
    )

    def hidden(wb):
        wb[lines].row_dimensions[3].hidden = True
        wb[lines].column_dimensions["D"].hidden = True

    add("hidden-rows-and-columns", "layout", edit(small, hidden), "ok")

    def title_merged(wb):
        ws = wb[lines]
        ws.insert_rows(1, 2)
        ws["A1"] = "Children's services savings 2017/18 onwards"
        ws.merge_cells("A1:F1")

    add("merged-title-above-header", "layout", edit(small, title_merged), "ok")

    def merged_header(wb):
        wb[lines].merge_cells("E1:F1")

    add("merged-year-headers", "layout", edit(small, merged_header), r"E1:F1 are merged")

    # 14/15, 13/14, FY2014/15 and 2014/15 (£k) are in test_workbook_verdicts.py.
    add(
        "year-header-2017-18-(£000)",
        "years",
        set_cells(small, lines, {"E1": "2017/18 (£000)", "E2": 95}),
        "ok",
        check=_line_amount("SAV/1", "2017/18", 95000),
    )
    add(
        "year-header-a-bare-2017",
        "years",
        set_cells(small, lines, {"F1": 2018}),
        r"F1.*2018.*(financial year|2018/19)",
    )
    add(
        "year-header-a-date-cell",
        "years",
        set_cells(small, lines, {"F1": datetime(2018, 4, 1)}),
        r"F1.*financial year",
    )
    add(
        "year-header-(£m)",
        "years",
        set_cells(small, lines, {"F1": "2018/19 (£m)"}),
        r"F1.*financial year",
    )
    add(
        "year-header-FY18-19",
        "years",
        set_cells(small, lines, {"E1": "FY17-18", "F1": "FY 18/19"}),
        "ok",
        check=_line_amount("SAV/1", "2017/18", 1200000),
    )

    # -- money as officers type it
    add(
        "amount-1,200k",
        "money",
        _lines(E2="1,200k"),
        "ok",
        check=_line_amount("SAV/1", "2017/18", 1200000),
    )
    add(
        "amount-£-1.2m-with-spaces",
        "money",
        _lines(E2=" £ 1.2m "),
        "ok",
        check=_line_amount("SAV/1", "2017/18", 1200000),
    )
    add("amount-in-brackets", "money", _lines(E2="(5,000)"), r"E2.*negative")
    add("amount-n/a", "money", _lines(E2="n/a"), r"E2.*not an amount")
    add("amount-dash", "money", _lines(E2="-"), r"E2 \(2017/18\).*no figure")
    add("amount-em-dash", "money", _lines(E2="\u2014"), r"E2 \(2017/18\).*no figure")
    add("amount-zero", "money", _lines(E2=0), "ok", check=_line_amount("SAV/1", "2017/18", 0))
    add("amount-euro", "money", _lines(E2="€5,000"), r"E2.*not an amount")
    add("amount-percent", "money", _lines(E2="10%"), r"E2.*not an amount")
    add("amount-TBC-lowercase", "money", _lines(E2="tbc"), "ok")
    add(
        "amount-float-noise",
        "money",
        _lines(E2=1200000 * 0.35),
        "ok",
        check=_line_amount("SAV/1", "2017/18", 420000),
    )

    def comma_scaled(wb):
        # #,##0,"k" shows 95000 as 95k: the value is already pounds.
        wb[lines]["E2"] = 95000
        wb[lines]["E2"].number_format = '#,##0,"k"'

    add(
        "cell-format-scaled-by-comma",
        "money",
        edit(small, comma_scaled),
        "ok",
        check=_line_amount("SAV/1", "2017/18", 95000),
    )

    def k_format(wb):
        wb[lines]["E2"] = 95
        wb[lines]["E2"].number_format = '[$£-809]#,##0"k"'

    add(
        "cell-format-£k-with-locale",
        "money",
        edit(small, k_format),
        "ok",
        check=_line_amount("SAV/1", "2017/18", 95000),
    )

    def m_format(wb):
        wb[lines]["E2"] = 1.2
        wb[lines]["E2"].number_format = '"£"0.0"m"'

    add("cell-format-£m", "money", edit(small, m_format), r"E2.*millions")

    # -- dates, references, text
    progress = [["Reference", "As at", "Achieved to date"]]
    add(
        "date-31-Oct-2017-hyphens",
        "dates",
        _with_sheet(small, "Progress", [*progress, ["SAV/1", "31-Oct-2017", "10k"]]),
        "ok",
    )
    add(
        "date-serial-number",
        "dates",
        _with_sheet(small, "Progress", [*progress, ["SAV/1", 43039, "10k"]]),
        "ok",
    )

    def epoch_1904(wb):
        wb.epoch = datetime(1904, 1, 1)
        wb.create_sheet("Progress").append(progress[0])
        wb["Progress"].append(["SAV/1", date(2017, 10, 31), "10k"])

    add(
        "date-1904-epoch",
        "dates",
        edit(small, epoch_1904),
        "ok",
        check=lambda p: (
            ""
            if p.lines.get(reference="SAV/1").progress.get().as_at == date(2017, 10, 31)
            else "wrong date"
        ),
    )
    add(
        "date-text-with-time",
        "dates",
        _with_sheet(small, "Progress", [*progress, ["SAV/1", "31/10/2017 00:00", "10k"]]),
        r"B2|As at",
    )
    add(
        "references-with-spaces-duplicate",
        "references",
        set_cells(small, lines, {"A3": " SAV/1\u00a0"}),
        r"Duplicate",
    )
    add(
        "progress-ref-other-case-and-space",
        "references",
        _with_sheet(small, "Progress", [*progress, [" sav/1 ", "31/10/2017", "10k"]]),
        "ok",
    )

    def workstream_by_code(wb):
        ws = wb[lines]
        for row in ws.iter_rows(min_row=2):
            if row[0].value:
                row[1].value = str(row[1].value).lower()

    add(
        "workstream-by-code-lowercase",
        "references",
        edit(export, workstream_by_code),
        "same",
        modes=("into",),
    )
    add(
        "escapes-and-formula-text",
        "text",
        _lines(C2="Line one_x000D_\nline two", D2="'=1+1" and "Amber"),
        "ok",
    )
    add(
        "text-exactly-32767",
        "text",
        set_cells(small, lines, {"G1": "Notes", "G2": "x" * 32767}),
        "ok",
        modes=("new",),
    )
    add("blank-into-leaves", "update", edit(export, _blank_titles), "same", modes=("into",))

    # -- formulas
    no_value = set_cells(small, lines, {"E2": "=SUM(1,2)"})
    add("formula-without-value", "formulas", no_value, r"formula with no saved result")
    add(
        "formula-cached-error",
        "formulas",
        _replace(
            no_value,
            "xl/worksheets/sheet2.xml",
            lambda x: x.replace(b"<f>SUM(1,2)</f><v />", b"<f>1/0</f><v>#DIV/0!</v>").replace(
                b'r="E2"', b'r="E2" t="e"'
            ),
        ),
        r"E2.*#DIV/0!",
    )
    add(
        "formula-cached-string",
        "formulas",
        _replace(
            no_value,
            "xl/worksheets/sheet2.xml",
            lambda x: x.replace(
                b"<f>SUM(1,2)</f><v />", b'<f>"12"&amp;"9k"</f><v>129k</v>'
            ).replace(b'r="E2"', b'r="E2" t="str"'),
        ),
        "ok",
        check=_line_amount("SAV/1", "2017/18", 129000),
    )

    # -- size and shape
    big = Workbook()
    ws = big.active
    ws.title = "Plan"
    for row in load_workbook(io.BytesIO(small))["Plan"].iter_rows(values_only=True):
        ws.append(row)
    ws = big.create_sheet(lines)
    ws.append(["Reference", "Title", "2017/18", "2018/19"])
    for i in range(16_000):  # 48,000 records with the amounts
        ws.append([f"L{i}", f"Line {i}", f"{i % 90 + 1}k", (i % 7) * 1000])
    add("16000-lines", "size", _wb_bytes(big), "ok", modes=("dry",))
    for i in range(16_000, 36_667):  # 110,001 records: over the 110,000 cap
        ws.append([f"L{i}", f"Line {i}", 1000, 2000])
    add("36667-lines", "size", _wb_bytes(big), r"at most 110,000 are imported", modes=("dry",))

    wide = _replace(
        small,
        "xl/worksheets/sheet2.xml",
        lambda x: x.replace(
            b"</sheetData>",
            b'<row r="9"><c r="XFD9" t="inlineStr"><is><t>far right</t></is></c></row></sheetData>',
        ),
    )
    add("cell-in-column-XFD", "size", wide, r"16384 columns")
    styled = b"".join(
        b'<row r="%d" s="1" customFormat="1" spans="1:6"/>' % r for r in range(10, 500_000)
    )
    add(
        "half-a-million-styled-empty-rows",
        "size",
        _replace(
            small,
            "xl/worksheets/sheet2.xml",
            lambda x: x.replace(b"</sheetData>", styled + b"</sheetData>"),
        ),
        "ok",
        modes=("dry",),
    )
    many_cells = (
        b'<row r="5">'
        + b"".join(b'<c r="%s5" s="0"/>' % _col(c).encode() for c in range(1, 16385))
        + b"</row>"
    )
    add(
        "a-row-of-16384-empty-cells",
        "size",
        _replace(
            small,
            "xl/worksheets/sheet2.xml",
            lambda x: x.replace(b'<row r="5"', b'<row r="6"').replace(
                b"</sheetData>", many_cells + b"</sheetData>"
            ),
        ),
        "ok",
        modes=("dry",),
    )

    dense = b"".join(
        b'<row r="%d">' % r
        + b"".join(b'<c r="%s%d"><v>%d</v></c>' % (_col(c).encode(), r, c) for c in range(7, 107))
        + b"</row>"
        for r in range(5, 11_805)
    )
    add(
        "1.18-million-number-cells",
        "size",
        _replace(
            small,
            "xl/worksheets/sheet2.xml",
            lambda x: x.replace(b"</sheetData>", dense + b"</sheetData>"),
        ),
        r"columns|rows|records|zip bomb|unpacks",
        modes=("dry",),
    )

    # -- hostile containers
    members = _members(small)
    strings = [b"<si><t>s%d</t></si>" % i for i in range(1_500_000)]
    sst = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + b"".join(strings)
        + b"</sst>"
    )
    add(
        "shared-strings-1.5-million",
        "hostile",
        _zip({**members, "xl/sharedStrings.xml": sst}),
        r"zip bomb|unpacks",
        modes=("dry",),
    )
    # A million strings the sheets never use, 27 MB unpacked, that the relationships name.
    within = sst.replace(b"".join(strings[1_000_000:]), b"")
    rel = (
        b'<Relationship Id="rIdS" Target="sharedStrings.xml" Type="http://schemas.openxml'
        b'formats.org/officeDocument/2006/relationships/sharedStrings"/></Relationships>'
    )
    rels = members["xl/_rels/workbook.xml.rels"].replace(b"</Relationships>", rel)
    add(
        "shared-strings-1-million-within-caps",
        "hostile",
        _zip({**members, "xl/sharedStrings.xml": within, "xl/_rels/workbook.xml.rels": rels}),
        r"more than 500,000 pieces of text",
        modes=("dry",),
    )
    tiny = sst.replace(b"".join(strings), b"<si><t/></si>" * 2_400_000)  # 31 MB
    add(
        "shared-strings-2.4-million-empty",
        "hostile",
        _zip({**members, "xl/sharedStrings.xml": tiny, "xl/_rels/workbook.xml.rels": rels}),
        r"more than 500,000 pieces of text",
        modes=("dry",),
    )
    add(
        "traversal-member-names",
        "hostile",
        add_members(small, {"../../etc/evil.xml": b"<a/>", "/abs/evil.xml": b"<a/>"}),
        "ok",
        modes=("dry",),
    )
    add(
        "rels-target-outside-zip",
        "hostile",
        _replace(
            small,
            "xl/_rels/workbook.xml.rels",
            lambda x: x.replace(b"worksheets/sheet2.xml", b"../../../../etc/passwd"),
        ),
        r"missing from the file|damaged",
    )
    add(
        "zip64",
        "hostile",
        _zip64(members),
        "ok",
        modes=("dry",),
    )
    add("encrypted-zip-member", "hostile", _encrypted_member(small), r"zip password")
    add("unsupported-compression", "hostile", _method(small, 99), r"packed in a way")
    add(
        "dtd-in-sheet-not-named-xml",
        "hostile",
        _sheet_renamed_with_dtd(small),
        r"document type declaration",
    )
    add(
        "duplicate-member-names",
        "hostile",
        _duplicate_member(small, "xl/workbook.xml"),
        r"two parts named.*damaged",
    )
    add(
        "infinite-number",
        "hostile",
        _replace(
            small,
            "xl/worksheets/sheet2.xml",
            lambda x: re.sub(rb'<c r="E4"[^>]*><v>[^<]*</v>', b'<c r="E4"><v>1E309</v>', x),
        ),
        r"E4",
    )
    add(
        "nan-number",
        "hostile",
        _replace(
            small,
            "xl/worksheets/sheet2.xml",
            lambda x: re.sub(rb'<c r="E4"[^>]*><v>[^<]*</v>', b'<c r="E4"><v>nan</v>', x),
        ),
        r"damaged",
    )
    add(
        "row-number-zero-and-huge",
        "hostile",
        _replace(
            small,
            "xl/worksheets/sheet2.xml",
            lambda x: x.replace(
                b"</sheetData>",
                b'<row r="99999999999"><c r="A99999999999" t="inlineStr"><is><t>x</t></is></c>'
                b"</row></sheetData>",
            ),
        ),
        r"at most 110,000 rows|damaged",
    )
    add(
        "xltx-template-content-type",
        "hostile",
        _replace(
            small,
            "[Content_Types].xml",
            lambda x: x.replace(
                b"spreadsheetml.sheet.main+xml", b"spreadsheetml.template.main+xml"
            ),
        ),
        "ok",
        modes=("dry",),
    )
    add("xls-biff-renamed", "hostile", _biff(), r"97-2003")
    add("tab-separated-text", "hostile", b"Reference\tTitle\tAmount\nSAV/1\tx\t5k\n", "CSV")
    add("utf16-csv", "hostile", "Reference,Title\nSAV/1,x\n".encode("utf-16"), r"CSV|not an Excel")
    add("one-byte", "hostile", b"P", r"not an Excel")
    add("zip-with-no-files", "hostile", _zip({}), r"zip archive but not")
    return cases


def _blank_titles(wb):
    """An update with the optional columns' cells blanked: every field left as it is."""
    ws = wb["Savings lines"]
    headers = [c.value for c in ws[1]]
    for name in ("Description", "Owner", "Notes"):
        if name in headers:
            col = headers.index(name) + 1
            for row in range(2, ws.max_row + 1):
                ws.cell(row=row, column=col).value = None


def _col(n: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(n)


def _zip64(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in members.items():
            with z.open(name, "w", force_zip64=True) as f:
                f.write(content)
    return out.getvalue()


def _encrypted_member(data: bytes) -> bytes:
    """The workbook with the 'encrypted' flag set on its sheet (as a password zip has)."""
    return _patch_member(data, "xl/worksheets/sheet2.xml", flag=0x1)


def _method(data: bytes, method: int) -> bytes:
    return _patch_member(data, "xl/worksheets/sheet2.xml", method=method)


def _patch_member(data: bytes, member: str, *, flag: int = 0, method: int | None = None) -> bytes:
    raw = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = z.getinfo(member)
    local = info.header_offset
    central = raw.find(b"PK\x01\x02", 0)
    while central >= 0:
        name_len = int.from_bytes(raw[central + 28 : central + 30], "little")
        if raw[central + 46 : central + 46 + name_len] == member.encode():
            break
        central = raw.find(b"PK\x01\x02", central + 4)
    for at, flag_at, method_at in ((local, 6, 8), (central, 8, 10)):
        if flag:
            raw[at + flag_at] |= flag
        if method is not None:
            raw[at + method_at : at + method_at + 2] = method.to_bytes(2, "little")
    return bytes(raw)


def _sheet_renamed_with_dtd(data: bytes) -> bytes:
    """The sheet stored as sheet2.dat (the rels may name any part) with a DTD: 'only .xml
    parts are checked' must not let entities through."""
    members = _members(data)
    xml = members.pop("xl/worksheets/sheet2.xml")
    lol = b'<!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    members["xl/worksheets/sheet2.dat"] = (lol + xml.split(b"?>", 1)[-1]).replace(
        b"Agency reduction", b"&b;"
    )
    members["xl/_rels/workbook.xml.rels"] = members["xl/_rels/workbook.xml.rels"].replace(
        b"worksheets/sheet2.xml", b"worksheets/sheet2.dat"
    )
    return _zip(members)


def _duplicate_member(data: bytes, name: str) -> bytes:
    members = _members(data)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for member, content in members.items():
            z.writestr(member, content)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            z.writestr(name, b"<workbook/>")
    return out.getvalue()


def _biff() -> bytes:
    """A minimal OLE compound file holding a 'Workbook' stream, as Excel 97-2003 saves."""
    from plans.workbook.reader import OLE_MAGIC

    return OLE_MAGIC + b"\x00" * 504 + "Workbook".encode("utf-16-le") + b"\x00" * 4000


# ---- running


def db_digest() -> str:
    from django.db import connection

    digest = hashlib.sha256()
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        for table in sorted(tables):
            if table.startswith("django_session"):
                continue
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - our own table names
            for row in sorted(map(repr, cursor.fetchall())):
                digest.update(row.encode())
    return digest.hexdigest()


def run_case(case: Case, mode: str, path: Path) -> tuple[str, str]:
    """(verdict, detail): verdict is 'right' or 'WRONG'."""
    from django.core.management import CommandError, call_command
    from django.db import transaction

    from plans.models import Plan

    exported = _is_export(case)
    data = _as_new(case.data) if mode == "new" and exported else case.data
    path.write_bytes(data)
    into = INTO if exported else f"torbay/{NEW_CODE}"
    kwargs = {}
    if mode == "into" or (mode == "dry" and "into" in case.modes):
        kwargs["into"] = into
    if mode == "dry":
        kwargs["dry_run"] = True
    out, err = io.StringIO(), io.StringIO()
    outcome, detail = "", ""
    with transaction.atomic():
        if "into" in kwargs and not exported:  # the plan the update goes into
            first = path.with_suffix(".first.xlsx")
            first.write_bytes(_small())
            call_command("import_plan", str(first), stdout=io.StringIO(), stderr=io.StringIO())
        before = db_digest()
        try:
            call_command("import_plan", str(path), stdout=out, stderr=err, **kwargs)
            outcome = "ok"
        except CommandError:
            outcome = "refused"
        except Exception as exc:  # the verdict we are hunting: a traceback
            transaction.set_rollback(True)
            return "WRONG", f"traceback {type(exc).__name__}: {exc}"[:200]
        changed = db_digest() != before
        text = "\n".join(
            line
            for line in (err.getvalue() + out.getvalue()).splitlines()
            if not line.startswith("Note: ")
        )
        if case.expect == "same":
            if outcome != "ok" or (mode != "dry" and "nothing to import" not in text):
                detail = "expected no changes: " + text.strip().replace("\n", " | ")[:160]
        elif case.expect == "ok":
            if outcome != "ok":
                detail = "refused: " + text.strip().replace("\n", " | ")[:160]
            elif case.check and mode != "dry":
                code = INTO.split("/")[1] if exported and mode != "new" else NEW_CODE
                plan = Plan.objects.get(authority__slug="torbay", code=code)
                detail = case.check(plan)
        else:
            if outcome != "refused":
                detail = "accepted, expected a refusal matching " + case.expect
            elif not re.search(case.expect, text, re.IGNORECASE):
                detail = "message: " + text.strip().replace("\n", " | ")[:160]
        if (outcome == "refused" or mode == "dry") and changed:
            detail = (detail + "; " if detail else "") + "the database changed"
        transaction.set_rollback(True)
    return ("WRONG" if detail else "right"), detail or text.strip().splitlines()[-1][:90]


def _is_export(case: Case) -> bool:
    return case.category in ("round trip", "update") or case.name.startswith("workstream-")


def measure(path: Path, db: Path) -> tuple[float, int, str]:
    """Wall time (s) and peak memory (MB) of one ``import_plan --dry-run`` process."""
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{db}", DEBUG="true")
    proc = subprocess.run(
        ["/usr/bin/time", "-v", sys.executable, "manage.py", "import_plan", str(path), "--dry-run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", proc.stderr)
    seconds = int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
    trace = "Traceback" in proc.stderr
    return seconds, rss // 1024, "traceback" if trace else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure", action="store_true", help="time each file in its own process")
    parser.add_argument("--keep", help="write the workbooks here and keep them")
    parser.add_argument("--seeded", help="copy this migrated, seeded SQLite database")
    parser.add_argument("-k", dest="only", help="run only cases whose name contains this")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="workbook-corpus-"))
    db = tmp / "corpus.sqlite3"
    setup_django(db, args.seeded)
    out_dir = Path(args.keep) if args.keep else tmp
    out_dir.mkdir(parents=True, exist_ok=True)
    cases = [c for c in build_cases() if not args.only or args.only in c.name]
    wrong = 0
    print(f"{'case':38} {'category':11} {'mode':5} verdict  detail")
    for case in cases:
        path = out_dir / (re.sub(r"[^\w.,£()-]+", "_", case.name) + ".xlsx")
        for mode in case.modes:
            verdict, detail = run_case(case, mode, path)
            wrong += verdict == "WRONG"
            print(f"{case.name:38} {case.category:11} {mode:5} {verdict:8} {detail}", flush=True)
        path.write_bytes(case.data)
        if args.measure:
            seconds, mb, trace = measure(path, db)
            bad = seconds > 10 or mb > 500 or trace
            wrong += bool(bad)
            verdict = "WRONG" if bad else "right"
            print(f"{'':38} {'':11} time  {verdict:8} {seconds:.1f} s, {mb} MB {trace}")
    runs = sum(len(c.modes) for c in cases)
    print(f"\n{len(cases)} workbooks, {runs} runs: {wrong} wrong verdicts.")
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(1 if wrong else 0)


if __name__ == "__main__":
    main()
