"""Plan workbooks in and out (docs/workbook-template.md).

- ``schema``: the template's sheets and columns, declared once.
- ``reader``: checks the file is a plain .xlsx and reads its cells (openpyxl, read-only).
- ``cells``: what an officer typed in one cell, read into a value.
- ``parser``: cells to a validated ``ParsedWorkbook`` (pure, no database).
- ``changes``: compares with the database: the ``ChangeSet`` the preview shows.
- ``apply``: makes a ``ChangeSet``'s changes in one transaction.
- ``writer``: export, blank template and worked example.

Views and management commands use only the functions below.
"""

from __future__ import annotations

from plans.workbook.apply import apply
from plans.workbook.changes import ChangeSet, plan_changes
from plans.workbook.parser import ParsedWorkbook, parse, sheet_rows_wanted
from plans.workbook.reader import Problem, WorkbookRejected, max_bytes, read_workbook
from plans.workbook.writer import export_filename, export_plan, template

__all__ = [
    "ChangeSet",
    "apply",
    "changes_for",
    "read",
    "Problem",
    "WorkbookRejected",
    "export_filename",
    "export_plan",
    "import_workbook",
    "max_bytes",
    "preview",
    "template",
]


def read(data: bytes) -> ParsedWorkbook:
    """The workbook's file checked, read and parsed, once: pure data (no database), which a
    pending web import keeps until it is confirmed. ``WorkbookRejected`` for a file that
    cannot be opened at all."""
    return parse(read_workbook(data, wanted=sheet_rows_wanted))


def changes_for(parsed: ParsedWorkbook, *, into=None, user=None, authorities=None) -> ChangeSet:
    """What importing an already parsed workbook would change; nothing is written."""
    return plan_changes(parsed, into=into, user=user, authorities=authorities)


def preview(data: bytes, *, into=None, user=None, authorities=None) -> ChangeSet:
    """What importing ``data`` would change; nothing is written. Problems are in
    ``.problems`` (a file that cannot be opened at all gives only file-level problems)."""
    try:
        parsed = read(data)
    except WorkbookRejected as exc:
        from plans.models import Plan

        return ChangeSet(into or Plan(), into is None, [], exc.problems, [])
    return changes_for(parsed, into=into, user=user, authorities=authorities)


def import_workbook(data: bytes, *, filename: str, user=None, into=None, authorities=None):
    """Import in one go (command line, tests): the plan, or ``WorkbookRejected``."""
    changes = preview(data, into=into, user=user, authorities=authorities)
    return apply(changes, user=user, filename=filename)
