"""Plan workbooks in and out (docs/workbook-template.md), on django-import-export.

- ``reader``: checks the file is a plain .xlsx and reads its cells in one streaming pass.
- ``parser``: finds the template's sheets, header rows and columns (pure, no database).
- ``cells``: what an officer typed in one cell, read into a value.
- ``columns`` and ``resources``: one import-export resource per sheet, columns from the model.
- ``importer``: the whole workbook imported in one transaction; the preview is it rolled back.
- ``writer``: export, blank template and worked example.

Views and management commands use only the functions below.
"""

from __future__ import annotations

from plans.workbook.importer import ChangeSet, run
from plans.workbook.parser import ParsedWorkbook, parse, sheet_rows_wanted
from plans.workbook.reader import Problem, WorkbookRejected, max_bytes, read_workbook
from plans.workbook.writer import export_filename, export_plan, template

__all__ = [
    "ChangeSet",
    "Problem",
    "WorkbookRejected",
    "changes_for",
    "export_filename",
    "export_plan",
    "import_parsed",
    "import_workbook",
    "max_bytes",
    "preview",
    "read",
    "template",
]


def read(data: bytes) -> ParsedWorkbook:
    """The workbook's file checked, read and parsed, once: pure data (no database), which a
    pending web import keeps until it is confirmed. ``WorkbookRejected`` for a file that
    cannot be opened at all."""
    return parse(read_workbook(data, wanted=sheet_rows_wanted))


def changes_for(parsed: ParsedWorkbook, *, into=None, user=None, authorities=None) -> ChangeSet:
    """What importing an already parsed workbook would change: the import, rolled back."""
    return run(parsed, into=into, user=user, authorities=authorities)[0]


def preview(data: bytes, *, into=None, user=None, authorities=None) -> ChangeSet:
    """What importing ``data`` would change; nothing is saved. Problems are in
    ``.problems`` (a file that cannot be opened at all gives only file-level problems)."""
    try:
        parsed = read(data)
    except WorkbookRejected as exc:
        from plans.models import Plan

        return ChangeSet(into or Plan(), into is None, [], exc.problems, [])
    return changes_for(parsed, into=into, user=user, authorities=authorities)


def import_parsed(parsed, *, filename, user=None, into=None, authorities=None, expected=None):
    """Import for real: ``(changes, saved)``. Not saved if there is any problem, or if
    ``expected`` is given and the changes differ from those (a preview's fingerprint)."""
    return run(
        parsed,
        into=into,
        user=user,
        authorities=authorities,
        commit=True,
        filename=filename,
        expected=expected,
    )


def import_workbook(data: bytes, *, filename: str, user=None, into=None, authorities=None):
    """Import in one go (command line, tests): the plan, or ``WorkbookRejected``."""
    changes, saved = import_parsed(
        read(data), filename=filename, user=user, into=into, authorities=authorities
    )
    if not saved:
        raise WorkbookRejected(changes.problems)
    return changes.plan
