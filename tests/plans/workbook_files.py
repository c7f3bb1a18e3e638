"""Helpers for the workbook tests: build workbooks cell by cell, and dump a plan for
comparison."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from decimal import Decimal

from openpyxl import Workbook, load_workbook

from plans import models as m
from plans.workbook import resources as s

# Volatile or per-import fields: who entered a record and when is not part of the plan.
IGNORED_FIELDS = {
    "id",
    "version",
    "data_version",
    "entered_by",
    "entered_at",
    "author",
    "written_by",
    "written_at",
    "updated_at",
}


def _natural(obj) -> tuple:
    return tuple(obj.natural_key()) if hasattr(obj, "natural_key") else (obj.pk,)


def _value(obj, f):
    if f.is_relation:
        related = getattr(obj, f.name)
        return (
            None if related is None else _natural(related)[-1:] if f.name != "plan" else ("<plan>",)
        )
    value = getattr(obj, f.attname)
    if isinstance(value, Decimal):
        return value.normalize()
    return value


def dump_plan(plan: m.Plan) -> dict:
    """Every record of ``plan``, by natural key without the plan's own key, field by field."""
    out = {
        "plan": {
            f.name: _value(plan, f)
            for f in m.Plan._meta.concrete_fields
            if f.name not in IGNORED_FIELDS | {"authority"}
        }
    }
    out["plan"]["authority"] = plan.authority.slug
    children = [
        (m.Workstream, {"plan": plan}),
        (m.SavingsLine, {"plan": plan}),
        (m.PlannedAmount, {"line__plan": plan}),
        (m.ProgressEntry, {"line__plan": plan}),
        (m.OverspendForecast, {"plan": plan}),
        (m.CostPressure, {"plan": plan}),
        (m.Funding, {"plan": plan}),
        (m.KPI, {"plan": plan}),
        (m.KpiPoint, {"kpi__plan": plan}),
        (m.Risk, {"plan": plan}),
        (m.YearAdjustment, {"plan": plan}),
        (m.StatedFigure, {"plan": plan}),
        (m.PaperDiscrepancy, {"plan": plan}),
        (m.NarrativeSection, {"plan": plan}),
        (m.Commentary, {"plan": plan}),
        (m.PlacementType, {"plan": plan}),
        (m.PlacementCount, {"type__plan": plan}),
        (m.PlacementMove, {"plan": plan}),
        (m.PlacementScenario, {"plan": plan}),
    ]
    for model, filters in children:
        records = {}
        for obj in model.objects.filter(**filters):
            key = (
                _natural(obj)[2:]
                if hasattr(obj, "natural_key")
                else (obj.year, obj.period, obj.role)
            )
            records[key] = {
                f.name: _value(obj, f)
                for f in model._meta.concrete_fields
                if f.name not in IGNORED_FIELDS
            }
        out[model.__name__] = records
    return out


def sheet_rows(data: bytes, sheet: str) -> list[tuple]:
    wb = load_workbook(io.BytesIO(data), data_only=True)
    return [tuple(r) for r in wb[sheet].iter_rows(values_only=True)]


def edit(data: bytes, changes) -> bytes:
    """Open ``data`` with openpyxl, call ``changes(workbook)`` and save it again."""
    wb = load_workbook(io.BytesIO(data))
    changes(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def set_cells(data: bytes, sheet: str, values: dict) -> bytes:
    """``values`` maps a cell reference ("C2") to its new value."""

    def change(wb):
        for ref, value in values.items():
            wb[sheet][ref] = value

    return edit(data, change)


def header_column(data_or_wb, sheet: str, header: str) -> str:
    wb = (
        data_or_wb
        if isinstance(data_or_wb, Workbook)
        else load_workbook(io.BytesIO(data_or_wb), read_only=True)
    )
    for cell in next(wb[sheet].iter_rows(min_row=1, max_row=1)):
        if s.header_key(cell.value) == s.header_key(header):
            return cell.column_letter
    raise KeyError(header)


def minimal_workbook(
    *,
    authority="northshire",
    code="small-plan",
    lines=None,
    years=("2017/18", "2018/19"),
    extra=None,
) -> bytes:
    """A small plan typed the way an officer would: only some columns, amounts as text."""
    wb = Workbook()
    plan = wb.active
    plan.title = "Plan"
    plan.append(["Field", "Value"])
    for row in [
        ("Authority", authority),
        ("Plan code", code),
        ("Title", "Small plan"),
        ("Kind", "In-year recovery plan"),
        ("First year", years[0]),
        ("Last year", years[-1]),
        ("Status", "Active"),
    ]:
        plan.append(list(row))
    ws = wb.create_sheet("Savings lines")
    ws.append(["Reference", "Workstream", "Title", "Current RAG", *years])
    for row in (
        lines
        if lines is not None
        else [
            ["SAV/1", "Placements", "Fewer residential placements", "Amber", "£1.2m", "129k"],
            ["SAV/2", "Placements", "Foster carer recruitment", "G", "50k-600k", "TBC"],
            ["SAV/3", "Staffing", "Agency reduction", "red", 250000, None],
        ]
    ):
        ws.append(row)
    if extra:
        extra(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in members.items():
            z.writestr(name, content)
    return out.getvalue()


def add_members(data: bytes, members: dict[str, bytes], *, replace=None) -> bytes:
    """The workbook's zip with extra (or replaced) members."""
    replace = replace or {}
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename in replace:
                content = replace[info.filename](content)
            dst.writestr(info.filename, content)
        for name, content in members.items():
            dst.writestr(name, content)
    return out.getvalue()


TODAY = date(2017, 10, 31)
