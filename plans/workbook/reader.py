"""Open an uploaded workbook safely and read its cells.

Before openpyxl sees the file we check that it is what it claims to be: a zip holding
``xl/workbook.xml`` (not a renamed zip, an old .xls, a password-protected workbook, which
Office saves as an encrypted OLE "CDFV2" file, or a binary .xlsb), without macros, without
XML document type declarations, and not so large once unpacked that it could exhaust the
server. Then one streaming pass over each sheet's XML reads every cell's value with
openpyxl's own cell reader (formulas give their cached values; shared strings, dates and the
1904 epoch as openpyxl reads them) and finds what openpyxl's read-only mode cannot tell us:
merged cells, formulas saved without a result, the number formats that change a value's
meaning (a percentage, £k), and the last row and column that hold a value (so trailing blank
rows cost nothing and data after a gap is never dropped silently). Each sheet is parsed once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import io
import posixpath
import re
import threading
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

from django.conf import settings
from openpyxl.styles.numbers import builtin_format_code
from openpyxl.styles.stylesheet import Stylesheet
from openpyxl.utils import column_index_from_string, coordinate_to_tuple, get_column_letter
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel
from openpyxl.worksheet._reader import INLINE_STRING, WorkSheetParser, _cast_number
from openpyxl.xml.constants import SHEET_MAIN_NS

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Per sheet. The largest plan benchmarked, 2,000 lines x 4 years with monthly progress, has
# 96,000 rows on its Progress sheet.
MAX_ROWS = 110_000
MAX_COLUMNS = 100
# All sheets together: what the import takes at most (``parser.MAX_RECORDS``), headers aside.
MAX_ROWS_IN_ALL = 115_000
# What a plan's workbook can unpack to. That plan's export is a 3 MB file that unpacks to
# 37 MB (a 5,000-line plan with no progress, about 4 MB); with the caps below and the import's
# record cap (``parser.MAX_RECORDS``), no file under the upload limit costs much more to read
# and import than that plan: a file at the caps takes ``import_plan`` under 9 s and 320 MB
# (SQLite or PostgreSQL, the two-core machine), the 2,000-line plan's own export under 8 s.
MAX_UNPACKED_BYTES = 48 * 1024 * 1024
MEMBER_CAPS = {"xl/styles.xml": 4 * 1024 * 1024, "xl/sharedstrings.xml": 32 * 1024 * 1024}
# Reading a shared string costs far more than its bytes: a million cost about 8 s and 240 MB.
# A 20,000-row plan with every text column filled holds under 400,000 distinct strings.
MAX_SHARED_STRINGS = 500_000
_SHARED_STRING = re.compile(rb"<(?:\w+:)?si[\s/>]")
CHUNK = 1024 * 1024
MAX_MEMBERS = 5_000
HEADER_SEARCH_ROWS = 10
PROLOG_BYTES = 256 * 1024  # an XML part whose prolog runs longer than this is refused


# Container objects allocated between the garbage collector's youngest collections while a
# workbook is read or imported (Python's default: 700). See ``collecting_less``.
YOUNG_COLLECTION = 50_000
# How many reads and imports run now (nested, or in other threads of a threaded server): the
# first to start sets the collector aside, the last to end restores it.
_collecting_less = 0
_collecting_lock = threading.Lock()
_threshold_before: tuple = ()


@contextlib.contextmanager
def collecting_less():
    """Reading or importing a large workbook with the garbage collector out of the way.

    Such a run makes hundreds of thousands of objects that live until it ends (cells, rows,
    records, the preview's notes) and almost no garbage in cycles, which is all the collector
    is for (everything else is freed as soon as it is dropped). So the objects that existed
    before the run (the whole application) are moved out of the collector's sight
    (``gc.freeze``), so each full collection traverses only the run's own; and the youngest
    collection runs every ``YOUNG_COLLECTION`` allocations instead of every 700, so the run's
    objects are not traversed over and over on their way to the oldest generation (the
    2,000-line plan with monthly progress: a sixth of its read's and its import's time
    otherwise). Cycles are still collected, at most ``YOUNG_COLLECTION`` allocations late;
    the peak memory of that plan's read and import does not move (373 MB either way)."""
    global _collecting_less, _threshold_before
    with _collecting_lock:
        if not _collecting_less:
            _threshold_before = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(max(_threshold_before[0], YOUNG_COLLECTION), *_threshold_before[1:])
        _collecting_less += 1
    try:
        yield
    finally:
        with _collecting_lock:
            _collecting_less -= 1
            if not _collecting_less:
                gc.set_threshold(*_threshold_before)
                gc.unfreeze()


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a workbook, located as precisely as we can."""

    message: str
    sheet: str = ""
    row: int | None = None
    column: str = ""  # letter, e.g. "C"
    header: str = ""
    more: int = 0  # on the last of a long list: how many more were found and not listed

    @staticmethod
    def total(problems) -> int:
        """How many problems ``problems`` stands for: those listed and those left out."""
        return sum(p.more or 1 for p in problems)

    @property
    def where(self) -> str:
        place = self.sheet
        if self.column:
            place += f"!{self.column}{self.row or ''}"
        elif self.row:
            place += f" row {self.row}"  # a whole row: "Savings lines!2" reads as a cell
        if self.header:
            place += f" ({self.header})"
        return place or "Workbook"

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class WorkbookRejected(Exception):
    """The file cannot be imported; ``problems`` says every reason found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems[:3]))


def _rejected(message: str, **where) -> WorkbookRejected:
    return WorkbookRejected([Problem(message, **where)])


@dataclass
class RawSheet:
    name: str
    rows: list[tuple[int, tuple]] = field(default_factory=list)  # non-blank rows only
    percent: set[tuple[int, int]] = field(default_factory=set)  # (row, 0-based column)
    thousands: set[tuple[int, int]] = field(default_factory=set)  # shown in £k: "£"#,##0"k"
    millions: list[str] = field(default_factory=list)  # cells shown in £m: "£"0.0"m"
    merged: list[str] = field(default_factory=list)
    formulas_without_value: list[str] = field(default_factory=list)
    hidden: set[int] = field(default_factory=set)  # rows hidden in the spreadsheet
    hidden_columns: set[int] = field(default_factory=set)  # 0-based
    hidden_sheet: str = ""  # the sheet itself "hidden" or "veryHidden" (Excel's own words)
    # Dates counted from 1904 (an old Mac workbook): a day number typed in a cell with no date
    # format is that many days from 1 January 1904, not 1900.
    date1904: bool = False
    last_row: int = 0
    last_column: int = 0

    @property
    def has_data(self) -> bool:
        return self.last_row > 0


@dataclass
class RawWorkbook:
    sheets: dict[str, RawSheet]
    external_links: int = 0  # other workbooks its formulas take figures from


def max_bytes() -> int:
    return int(getattr(settings, "WORKBOOK_MAX_BYTES", 5 * 1024 * 1024))


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{max(1, n // 1024)} KB"


def _not_a_zip(data: bytes) -> str:
    head = data[:2048].lstrip()
    if data.startswith(OLE_MAGIC):
        if (
            "EncryptedPackage".encode("utf-16-le") in data
            or b"EncryptionInfo" in data
            or "EncryptionInfo".encode("utf-16-le") in data
        ):
            return (
                "The workbook is password-protected (encrypted). Remove the password in "
                "Excel (File > Info > Protect Workbook > Encrypt with Password, clear it), "
                "save it as .xlsx and upload it again."
            )
        return (
            "This is an old-style Excel 97-2003 (.xls) or other Office file. Open it in "
            "Excel and save it as an Excel Workbook (.xlsx), then upload that."
        )
    if data.startswith(b"PK\x03\x04"):
        # A zip's first part with no directory at its end: a download or copy cut short.
        return (
            "The workbook is damaged or incomplete: its end is missing (a download or copy "
            "cut short). Download or copy it again, or open it in Excel and save it again, "
            "and retry."
        )
    if head.startswith(b"%PDF"):
        return "This is a PDF, not an Excel workbook. Upload the plan as an .xlsx workbook."
    if head[:15].lower().startswith((b"<!doctype html", b"<html")):
        return "This is a web page, not an Excel workbook. Upload an .xlsx workbook."
    if head.startswith(b"<?xml"):
        return (
            "This is an XML file (perhaps an Excel 2003 XML spreadsheet), not an .xlsx "
            "workbook. Open it in Excel and save it as an Excel Workbook (.xlsx)."
        )
    try:
        sample = head.decode("utf-8")
    except UnicodeDecodeError:
        sample = ""
    if sample and ("," in sample or "\t" in sample) and "\x00" not in sample:
        return (
            "This looks like a CSV or text file, not an Excel workbook. Use the workbook "
            "template: every sheet of the plan goes in one .xlsx file."
        )
    return "This file is not an Excel workbook (.xlsx). Upload the plan as an .xlsx workbook."


def check_container(data: bytes) -> zipfile.ZipFile:
    """The zip behind the workbook, after every check that does not need openpyxl."""
    if not data:
        raise _rejected("The file is empty.")
    limit = max_bytes()
    if len(data) > limit:
        raise _rejected(
            f"The file is {_size(len(data))}; the largest workbook accepted is {_size(limit)}. "
            "Remove unused sheets, images or formatting and try again."
        )
    if data.startswith(OLE_MAGIC) or not zipfile.is_zipfile(io.BytesIO(data)):
        raise _rejected(_not_a_zip(data))
    if not data.startswith(b"PK\x03\x04"):
        # A zip reader finds the parts from the end, past anything put in front of them (a
        # program's header, a second file): Excel opens no such file, and neither does this.
        raise _rejected(
            "The file does not begin as a workbook does: something is in front of the "
            "workbook's own data (another file joined to it, or a damaged download). Open the "
            "workbook in Excel, save it as an Excel Workbook (.xlsx) and retry."
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _rejected(
            f"The workbook is damaged and cannot be opened ({exc}). "
            "Open it in Excel, save it again and retry."
        ) from None
    names = {i.filename for i in infos}
    if len(names) != len(infos):
        twice = Counter(i.filename for i in infos).most_common(1)[0][0]
        raise _rejected(
            f"The file holds two parts named {twice}, which no spreadsheet writes: it is "
            "damaged or has been tampered with. Open it in Excel, save it again and retry."
        )
    lower = {n.lower() for n in names}
    if "xl/workbook.xml" not in names:
        if "xl/workbook.bin" in lower:
            message = (
                "This is an Excel binary workbook (.xlsb). Save it as an Excel Workbook "
                "(.xlsx) and upload that."
            )
        elif "mimetype" in names and b"opendocument" in archive.read("mimetype")[:100]:
            message = (
                "This is an OpenDocument spreadsheet (.ods). Save it as an Excel "
                "Workbook (.xlsx) and upload that."
            )
        elif "word/document.xml" in names:
            message = "This is a Word document, not an Excel workbook."
        else:
            message = (
                "This is a zip archive but not an Excel workbook (it has no "
                "xl/workbook.xml). Upload the .xlsx file itself."
            )
        raise _rejected(message)
    content_types = archive.read("[Content_Types].xml") if "[Content_Types].xml" in names else b""
    if (
        any(n.endswith("vbaproject.bin") or n.startswith("xl/macrosheets/") for n in lower)
        or b"macroEnabled" in content_types
    ):
        raise _rejected(
            "The workbook contains macros (.xlsm). Macro workbooks are not accepted: save it as "
            "an Excel Workbook (.xlsx), which drops the macros, and upload that."
        )
    if len(infos) > MAX_MEMBERS or sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
        raise _rejected(
            "The workbook unpacks to far more data than a plan holds (a 'zip bomb', or "
            "formatting applied to whole sheets). Copy the plan's cells into the template and "
            "try again."
        )
    _check_members(archive, infos)
    return archive


# How Excel, LibreOffice and every spreadsheet library pack a workbook's parts.
EXCEL_PACKING = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})


def _check_members(archive: zipfile.ZipFile, infos) -> None:
    """Unpack every member once, as a stream: a damaged member (a flipped byte fails its
    checksum) is refused, so is a zip that unpacks to more than it declares, and XML parts
    must not declare a DOCTYPE. Nothing is kept but the first bytes of each XML part."""
    total = 0
    for info in infos:
        name = info.filename.lower()
        cap = MEMBER_CAPS.get(name, MAX_UNPACKED_BYTES)
        size = 0
        if info.flag_bits & 0x1:
            raise _rejected(
                "Part of the file is locked with a zip password, which Excel never does (a "
                "workbook Excel protects with a password is recognised as such). Open the "
                "workbook in Excel, save it as an Excel Workbook (.xlsx) and retry."
            )
        try:
            if info.compress_type not in EXCEL_PACKING:
                raise NotImplementedError  # bzip2 or LZMA: slower to unpack, and never Excel's
            with archive.open(info) as member:
                head = member.read(PROLOG_BYTES)
                size = len(head)
                while chunk := member.read(CHUNK):
                    size += len(chunk)
                    if size > cap or total + size > MAX_UNPACKED_BYTES:
                        break
        except NotImplementedError:
            raise _rejected(
                "Part of the file is packed in a way Excel never uses (an unknown compression "
                "method). Open the workbook in Excel, save it as an Excel Workbook (.xlsx) and "
                "retry."
            ) from None
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RuntimeError):
            raise _rejected(
                "The workbook is damaged (part of it does not unpack: the download may have "
                "been cut short or corrupted). Open it in Excel, save it again and retry."
            ) from None
        total += size
        if size > cap or total > MAX_UNPACKED_BYTES:
            raise _rejected(
                "The workbook unpacks to far more data than a plan holds (a 'zip bomb', or "
                "formatting applied to whole sheets). Copy the plan's cells into the template "
                "and try again."
            )
        # Any part that is XML, whatever its name: the workbook's relationships may point a
        # sheet or the shared strings at a part called anything.
        xml = name.endswith((".xml", ".rels", ".vml")) or head.lstrip(_XML_LEAD).startswith(
            (b"<", b"\xff\xfe", b"\xfe\xff")
        )
        if xml and not _prolog_is_plain(head):
            raise _rejected(
                "The workbook contains an XML document type declaration, which Excel never "
                "writes; it is refused for safety. Save it again from Excel."
            )


_XML_LEAD = b"\xef\xbb\xbf \t\r\n"  # a UTF-8 byte order mark, white space


def _prolog_is_plain(head: bytes) -> bool:
    """True if the XML before the root element holds no DOCTYPE (so no entities at all).

    Walks the prolog (declaration, comments, processing instructions) rather than searching
    the first bytes, so a DOCTYPE cannot hide behind a long comment."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", errors="replace")
    else:
        text = head.decode("utf-8", errors="replace")
    i = 0
    while True:
        i = len(text) - len(text[i:].lstrip(" \t\r\n\ufeff"))
        if text.startswith("<?", i):
            end, close = text.find("?>", i), 2
        elif text.startswith("<!--", i):
            end, close = text.find("-->", i), 3
        elif i >= len(text):
            return len(head) < PROLOG_BYTES  # empty or all prolog: the XML parser will say
        else:
            # The root element starts here; anything else (<!DOCTYPE, <!ENTITY) is refused.
            return not text.startswith("<!", i)
        if end < 0:
            return len(head) < PROLOG_BYTES  # malformed but short: the XML parser will say
        i = end + close


def sheet_parts(archive: zipfile.ZipFile) -> tuple[dict[str, str], _Book]:
    """Worksheet name -> path of its XML inside the zip (chart sheets left out), and what
    reading their cells needs."""
    try:
        book = ET.fromstring(archive.read("xl/workbook.xml"))
        rels = ET.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ET.ParseError) as exc:
        raise _rejected(
            f"The workbook's structure is damaged ({exc}). Open "
            "it in Excel, save it again and retry."
        ) from None
    if book.tag.startswith("{http://purl.oclc.org/ooxml/"):
        raise _rejected(
            "This workbook is saved as a Strict Open XML Spreadsheet, which the tracker does not "
            "read. In Excel choose File > Save As > Excel Workbook (*.xlsx), and use that file."
        )
    targets = {}
    for rel in rels:
        if rel.get("Type", "").endswith("/worksheet"):
            target = rel.get("Target", "")
            path = (
                target.lstrip("/")
                if target.startswith("/")
                else posixpath.normpath(posixpath.join("xl", target))
            )
            targets[rel.get("Id")] = path
    parts, hidden = {}, {}
    for element in book.iter():
        if _local(element.tag) == "sheet":
            # r:id, whatever the namespace calls itself.
            rid = next(
                (v for k, v in element.attrib.items() if k.endswith("}id")), element.get("id")
            )
            if rid in targets:
                parts[element.get("name", "")] = targets[rid]
                if element.get("state") in ("hidden", "veryHidden"):
                    hidden[element.get("name", "")] = element.get("state")
    return parts, _book(archive, book, rels, hidden)


@dataclass
class _Book:
    """What reading a sheet's cells needs from the rest of the file: the shared strings,
    each cell style's number format and the date epoch, read as openpyxl reads them."""

    parser: WorkSheetParser
    marks: list[str]  # each cell style: "percent", "thousands", "millions" or ""
    hidden_sheets: dict[str, str] = field(default_factory=dict)  # name -> its state
    # The file asks to be calculated when opened (calcPr fullCalcOnLoad): written by a program
    # that does not calculate (XlsxWriter, pandas), its formulas' saved results of 0 are
    # stand-ins, never figures (a result other than 0 was calculated by something).
    uncalculated: bool = False


_SI, _T, _R = (f"{{{SHEET_MAIN_NS}}}{tag}" for tag in ("si", "t", "r"))


def _shared_strings(table: bytes) -> list[str]:
    """The shared strings as openpyxl's ``read_string_table`` reads them (a string's own text
    and its runs' text, not its phonetic guide; ``_x005F_`` as ``_``), without building
    openpyxl's objects for each, which took most of the time of reading a plan's text."""
    strings = []
    for _, node in ET.iterparse(io.BytesIO(table)):
        if node.tag != _SI:
            continue
        parts = []
        for child in node:
            if child.tag == _T:
                parts.append(child.text or "")
            elif child.tag == _R:
                parts += [t.text or "" for t in child if t.tag == _T]
        strings.append("".join(parts).replace("x005F_", ""))
        node.clear()
    return strings


def _book(archive: zipfile.ZipFile, book, rels, hidden_sheets=None) -> _Book:
    epoch, uncalculated = CALENDAR_WINDOWS_1900, False
    for element in book.iter():
        if _local(element.tag) == "workbookPr" and element.get("date1904") in ("1", "true"):
            epoch = CALENDAR_MAC_1904
        elif _local(element.tag) == "calcPr":
            uncalculated = element.get("fullCalcOnLoad") in ("1", "true")
    strings: list = []
    formats: list[str] = []
    dates: set[int] = set()
    durations: set[int] = set()
    try:
        for rel in rels:
            if rel.get("Type", "").endswith("/sharedStrings"):
                path = posixpath.normpath(posixpath.join("xl", rel.get("Target", "")))
                table = archive.read(path.lstrip("/"))  # at most MEMBER_CAPS: checked
                found = _SHARED_STRING.finditer(table)
                if any(n > MAX_SHARED_STRINGS for n, _ in enumerate(found, 1)):
                    raise _rejected(
                        f"The workbook holds more than {MAX_SHARED_STRINGS:,} pieces of text, "
                        "far more than a plan has. Copy the plan's cells into the template and "
                        "try again."
                    )
                strings = _shared_strings(table)
                del table
        if "xl/styles.xml" in archive.NameToInfo:
            sheet = Stylesheet.from_tree(ET.fromstring(archive.read("xl/styles.xml")))
            custom = list(sheet.number_formats)
            for style in sheet.cell_styles:
                fid = style.numFmtId
                fmt = custom[fid - 164] if fid >= 164 else builtin_format_code(fid)
                formats.append(fmt or "General")
            dates, durations = sheet.date_formats, sheet.timedelta_formats
    except WorkbookRejected:
        raise
    except Exception as exc:  # openpyxl raises many kinds; all mean the same to an officer
        raise _rejected(
            f"Excel could have saved this file, but it cannot be read ({type(exc).__name__}: "
            f"{exc}). Open it in Excel, save it as an Excel Workbook (.xlsx) and retry."
        ) from None
    parser = _CellParser(
        None, strings, data_only=True, epoch=epoch, date_formats=dates, timedelta_formats=durations
    )
    parser.dates = {}
    marks = [_mark_of(fmt) for fmt in formats]
    return _Book(parser, marks, dict(hidden_sheets or {}), uncalculated)


def _mark_of(fmt: str) -> str:
    """What a cell style's number format says of the number in it (worked out per style)."""
    if "%" in fmt:
        return "percent"
    if _shows_thousands(fmt):
        return "thousands"
    return "millions" if _shows_thousands(fmt, _MILLIONS_LITERAL) else ""


_TEXT, _RUN = f"{{{SHEET_MAIN_NS}}}t", f"{{{SHEET_MAIN_NS}}}r"
_VALUE = f"{{{SHEET_MAIN_NS}}}v"
_DIGITS = "0123456789"


class _Columns(dict):
    """A cell reference's letters -> its column number, worked out once per column (openpyxl
    works it out for every cell); letters that name no column raise as openpyxl does."""

    def __missing__(self, letters: str) -> int:
        self[letters] = number = column_index_from_string(letters)
        return number


_column_of = _Columns().__getitem__


class _CellParser(WorkSheetParser):
    """openpyxl's cell reader, with the cells a plan's workbook is made of read directly:
    numbers (dates among them), shared strings, and text typed in the cell itself (an inline
    string, as openpyxl and other tools write), read straight from its runs (openpyxl builds
    a rich-text object for each, half the cost of reading such a sheet; phonetic guides are
    left out, as openpyxl leaves them). Every other kind of cell (TRUE/FALSE, a formula's
    text, an ISO date, an error, a date out of range) goes to openpyxl's own reader.
    ``read_cell`` gives ``(row, column, value, style)``."""

    dates: dict

    def read_cell(self, element) -> tuple[int, int, object, int]:
        kind = element.get("t")
        if kind is not None and kind not in ("n", "s", "inlineStr"):
            cell = self.parse_cell(element)
            return cell["row"], cell["column"], cell["value"], cell["style_id"]
        coordinate = element.get("r")
        if coordinate:
            letters = coordinate.rstrip(_DIGITS)
            if letters.isalpha() and len(letters) < len(coordinate):
                row, column = int(coordinate[len(letters) :]), _column_of(letters)
            else:  # not a plain reference such as C12: as openpyxl reads it, or fails
                row, column = coordinate_to_tuple(coordinate)
            self.col_counter = column
        else:
            self.col_counter += 1
            row, column = self.row_counter, self.col_counter
        style = element.get("s")
        style = int(style) if style else 0
        if kind == "inlineStr":
            inline = element.find(INLINE_STRING)
            value = None
            if inline is not None:
                text = inline.find(_TEXT)
                if text is not None and len(inline) == 1:
                    value = text.text or ""
                else:
                    runs = [run.find(_TEXT) for run in inline if run.tag == _RUN]
                    parts = [text, *runs]
                    value = "".join(t.text or "" for t in parts if t is not None)
            return row, column, value, style
        value = element.findtext(_VALUE) or None
        if value is None:
            return row, column, None, style
        if kind == "s":
            return row, column, self.shared_strings[int(value)], style
        try:
            number = _cast_number(value)
        except ValueError:  # "INF", "NaN", "1,5": no spreadsheet saves a number so
            raise _rejected(
                f"Cell {get_column_letter(column)}{row} holds {value[:40]!r} as a number, "
                "which no spreadsheet saves: the file was not written by one. Type the figure "
                "again in Excel and save the file.",
                row=row,
                column=get_column_letter(column),
            ) from None
        if style in self.date_formats:
            # A sheet's dates repeat (a progress row per line and month): each read once.
            key = (value, style in self.timedelta_formats)
            try:
                return row, column, self.dates[key], style
            except KeyError:
                pass
            try:
                read = from_excel(number, self.epoch, timedelta=key[1])
            except (OverflowError, ValueError):  # openpyxl warns, and reads it as an error
                cell = self.parse_cell(element)
                return cell["row"], cell["column"], cell["value"], cell["style_id"]
            if len(self.dates) < 10_000:
                self.dates[key] = read
            return row, column, read, style
        return row, column, number, style


class _LocalNames(dict):
    """Tag -> its local name (``{namespace}c`` -> ``c``), worked out once per tag."""

    def __missing__(self, tag: str) -> str:
        self[tag] = name = tag.rpartition("}")[2]
        return name


_local = _LocalNames().__getitem__


def scan_sheet(archive: zipfile.ZipFile, path: str, sheet: RawSheet, book: _Book, limit) -> None:
    """One streaming pass over a sheet's XML: each cell's value (read by openpyxl's own cell
    reader), its number format where that matters (a percentage, £k), merged ranges,
    formulas without a saved result, and the last row and column that hold a value. Only the
    first ``limit`` rows' values are kept (``None``: all, up to what a sheet may hold).
    A row's cells are read when the row ends; the rows read are dropped as we go, so memory
    stays flat on a sheet with a million rows."""
    parser, keep = book.parser, MAX_ROWS + HEADER_SEARCH_ROWS if limit is None else limit
    last_allowed = MAX_ROWS + HEADER_SEARCH_ROWS
    row_no = 0
    sheet_data = None
    try:
        with archive.open(path) as source:
            for event, element in ET.iterparse(source, events=("start", "end")):
                tag = _local(element.tag)
                if event == "start":
                    if tag == "sheetData":
                        sheet_data = element
                elif tag == "row":
                    row_no = int(element.get("r") or row_no + 1)
                    parser.row_counter, parser.col_counter = row_no, 0
                    if not _scan_row(sheet, element, parser, book, keep, last_allowed):
                        break  # too many rows: refused, so reading on costs for nothing
                    if element.get("hidden") in ("1", "true"):
                        sheet.hidden.add(row_no)
                    element.clear()
                    if sheet_data is not None:
                        sheet_data.clear()
                elif tag == "col" and element.get("hidden") in ("1", "true"):
                    with contextlib.suppress(TypeError, ValueError):  # a damaged range: shown
                        first, last = int(element.get("min")), int(element.get("max"))
                        sheet.hidden_columns.update(range(first - 1, min(last, MAX_COLUMNS)))
                elif tag == "mergeCell" and element.get("ref"):
                    sheet.merged.append(element.get("ref"))
    except WorkbookRejected as exc:  # a cell no spreadsheet writes: named on its sheet
        raise WorkbookRejected(
            [dataclasses.replace(p, sheet=p.sheet or sheet.name) for p in exc.problems]
        ) from None
    except (ET.ParseError, ValueError, KeyError, IndexError, zipfile.BadZipFile) as exc:
        raise _rejected(
            f"The sheet's XML is damaged ({exc}). Open the workbook in Excel, save it again and "
            "retry.",
            sheet=sheet.name,
        ) from None


def _scan_row(sheet: RawSheet, row, parser, book: _Book, keep: int, last_allowed: int) -> bool:
    """A row's cells into ``sheet``; False once the sheet has more rows than it may."""
    values: dict[int, object] = {}
    for element in row:
        if _local(element.tag) != "c":
            continue
        row_no, col_no, value, style = parser.read_cell(element)
        stand_in = value == "" or (type(value) in (int, float) and value == 0)
        if book.uncalculated and stand_in and any(_local(c.tag) == "f" for c in element):
            value = None  # a stand-in result: the formula was never calculated
        elif value is None:
            # A formula whose saved result is empty text (=IF(A5="","",...)) is saved as a
            # text result (t="str") with an empty value: a blank cell. Only a formula with no
            # result, or an empty number (as openpyxl writes one), was never calculated.
            if element.get("t") != "str" and any(_local(c.tag) == "f" for c in element):
                sheet.formulas_without_value.append(f"{get_column_letter(col_no)}{row_no}")
            continue
        if value is None:
            sheet.formulas_without_value.append(f"{get_column_letter(col_no)}{row_no}")
            continue
        if row_no > last_allowed:
            sheet.last_row = row_no
            return False
        sheet.last_row = max(sheet.last_row, row_no)
        sheet.last_column = max(sheet.last_column, col_no)
        if row_no <= keep and col_no <= MAX_COLUMNS:
            values[col_no - 1] = value
            if style and type(value) in (int, float) and style < len(book.marks):
                mark = book.marks[style]
                if mark == "millions":
                    sheet.millions.append(f"{get_column_letter(col_no)}{row_no}")
                elif mark:
                    getattr(sheet, mark).add((row_no, col_no - 1))
    if values and any(not (isinstance(v, str) and not v.strip()) for v in values.values()):
        number = parser.row_counter
        sheet.rows.append((number, tuple(values.get(i) for i in range(max(values) + 1))))
    return True


def read_workbook(data: bytes, *, wanted=None) -> RawWorkbook:
    """Every worksheet's non-blank rows. ``wanted(name) -> int | None`` says how many rows of a
    sheet to read (``None`` for all, 0 to skip its cells); a sheet that is skipped is still
    scanned, so callers know whether it holds data."""
    archive = check_container(data)
    parts, book = sheet_parts(archive)
    sheets: dict[str, RawSheet] = {}
    kept = 0
    with collecting_less():
        for name, path in parts.items():
            if path not in archive.NameToInfo:
                raise _rejected(
                    "The sheet is missing from the file; the workbook is damaged.", sheet=name
                )
            sheet = RawSheet(
                name,
                date1904=book.parser.epoch == CALENDAR_MAC_1904,
                hidden_sheet=book.hidden_sheets.get(name, ""),
            )
            scan_sheet(archive, path, sheet, book, wanted(name) if wanted else None)
            sheets[name] = sheet
            kept += len(sheet.rows)
            if kept > MAX_ROWS_IN_ALL:  # bounds what is held, whatever the sheets hold
                raise _rejected(
                    f"The workbook holds more than {MAX_ROWS_IN_ALL:,} rows, more than the "
                    "largest plan. Split the plan into several workbooks, or remove the rows "
                    "you do not need."
                )
    links = sum(
        1 for name in archive.NameToInfo if re.fullmatch(r"xl/externalLinks/[^/]+\.xml", name)
    )
    return RawWorkbook(sheets, external_links=links)


# The unit a format writes after the figure: "k", \k or in words ("£"#,##0" thousand");
# millions (and billions, read no better) as "m", "mn", \m, " million", "bn", " billion".
_THOUSANDS_LITERAL = re.compile(r'"\s*(?:k|thousands?)\s*"|\\k', re.IGNORECASE)
_MILLIONS_LITERAL = re.compile(r'"\s*(?:mn?|millions?|bn|billions?)\s*"|\\m', re.IGNORECASE)
_LITERALS = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]')  # "text", \k, [$£-809], [Red]


def _shows_thousands(fmt: str, unit: re.Pattern = _THOUSANDS_LITERAL) -> bool:
    r"""A number format showing a value typed in thousands as thousands: ``"£"#,##0"k"`` or
    ``0\k`` shows 95 as £95k, so the 95 means £95,000. A format that scales by a comma after
    its last digit (``#,##0,"k"``, ``0.0,,"m"``) shows 95,000 as 95k: the value is already in
    pounds, and is read as it is. With ``unit`` the same for millions (``"£"0.0"m"``)."""
    positive = fmt.split(";")[0]
    digits = _LITERALS.sub("", positive)
    last = max(digits.rfind(c) for c in "0#?")
    if last >= 0 and digits[last + 1 : last + 2] == ",":
        return False
    return bool(unit.search(positive))
