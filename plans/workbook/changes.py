"""From a parsed workbook to the changes it would make (nothing is written here).

``plan_changes`` compares the workbook with the database (nothing is written) and returns a
``ChangeSet``: every record to create, change or remove, with the old and new value of each
changed field, plus every problem that only the database can reveal (an unknown authority, a
plan code already taken, a progress row for a line that exists nowhere). The preview page
shows a ``ChangeSet``; ``plans.workbook.apply`` writes one in a single transaction.

Import never deletes a record that the workbook leaves out: a line missing from the sheet is
kept. The one removal is a planned amount whose cell is blank in a year column the sheet has.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.text import slugify

from plans import models as m
from plans.workbook import cells
from plans.workbook import schema as s
from plans.workbook.parser import ParsedWorkbook, Problems, Row
from plans.workbook.reader import Problem
from recovery import fiscal
from recovery.models import Authority
from recovery.money import Amount, AmountKind, format_amount, format_money

CREATE, UPDATE, DELETE, SAME = "create", "update", "delete", "same"
AMOUNTS = "Planned amounts"  # the records behind the year columns


@dataclass
class FieldChange:
    label: str
    old: str  # as shown on the preview (long text shortened)
    new: str
    exact: str = ""  # both values in full, for the fingerprint


@dataclass
class RecordChange:
    sheet: str
    action: str
    label: str
    row: int | None
    instance: models.Model
    changes: list[FieldChange] = field(default_factory=list)
    expected_version: int | None = None
    source: Row | None = None
    original: models.Model | None = None  # the record as the database has it


@dataclass
class SheetCounts:
    sheet: str
    create: int = 0
    update: int = 0
    delete: int = 0
    same: int = 0
    kept: int = 0

    @property
    def touched(self) -> bool:
        return bool(self.create or self.update or self.delete)


@dataclass
class ChangeSet:
    plan: m.Plan
    creating: bool
    records: list[RecordChange]
    problems: list[Problem]
    warnings: list[str]
    kept: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def counts(self) -> list[SheetCounts]:
        out: dict[str, SheetCounts] = {}
        for rc in self.records:
            c = out.setdefault(rc.sheet, SheetCounts(rc.sheet))
            setattr(c, rc.action, getattr(c, rc.action) + 1)
        for sheet, n in self.kept.items():
            out.setdefault(sheet, SheetCounts(sheet)).kept = n
        order = [
            s.PLAN_SHEET,
            *(spec.name for spec in s.SHEETS[1:3]),
            AMOUNTS,
            *(spec.name for spec in s.SHEETS[3:]),
        ]
        return sorted(out.values(), key=lambda c: order.index(c.sheet))

    def of(self, *actions) -> list[RecordChange]:
        return [rc for rc in self.records if rc.action in actions]

    @property
    def has_changes(self) -> bool:
        return bool(self.of(CREATE, UPDATE, DELETE))

    def fingerprint(self) -> str:
        """Changes the same way iff the fingerprint is the same (preview vs confirm). The
        versions make a record that someone saved in between count as a difference."""
        data = [self.plan.pk, self.creating] + [
            [
                rc.sheet,
                rc.action,
                rc.label,
                rc.expected_version,
                [[c.label, c.exact or [c.old, c.new]] for c in rc.changes],
            ]
            for rc in self.records
            if rc.action != SAME
        ]
        return hashlib.sha256(json.dumps(data, default=str).encode()).hexdigest()


# --------------------------------------------------------------------------------------------
# Showing values


def show(value, kind: str | None = None, choices=None) -> str:
    if value is None or value == "":
        return "(blank)"
    if isinstance(value, Amount):
        return format_amount(value)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if kind in s.MONEY_KINDS:
        return format_money(value)
    if choices is not None:
        try:
            return str(choices(value).label)
        except ValueError:
            return str(value)
    if isinstance(value, date):
        return value.strftime("%-d %b %Y")
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    text = str(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _amount_of(pa: m.PlannedAmount) -> Amount:
    if pa.kind == m.PlannedAmount.Kind.TBC:
        return Amount.tbc()
    if pa.kind == m.PlannedAmount.Kind.RANGE:
        return Amount(AmountKind.RANGE, pa.low, pa.high)
    return Amount.point(pa.low)


def _blank(model_field: models.Field):
    if model_field.has_default():
        return model_field.get_default()
    if model_field.null:
        return None
    return "" if isinstance(model_field, (models.CharField, models.TextField)) else None


def _same(a, b) -> bool:
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return (a is None) == (b is None) and (a is None or Decimal(a) == Decimal(b))
    if isinstance(a, models.Model) or isinstance(b, models.Model):
        return a is b or (a is not None and b is not None and a.pk is not None and a.pk == b.pk)
    return a == b


# --------------------------------------------------------------------------------------------
# Building the change set


class _Builder:
    def __init__(self, parsed: ParsedWorkbook, *, into: m.Plan | None, user, authorities=None):
        self.parsed = parsed
        self.into = into
        self.user = user
        self.authorities = authorities
        self.problems = Problems()
        for p in parsed.problems:
            self.problems.append(p)
        self.records: list[RecordChange] = []
        self.kept: dict[str, int] = {}
        self.plan: m.Plan | None = None
        # Records by the keys other sheets use to refer to them, workbook or database.
        self.workstreams: dict[str, m.Workstream] = {}
        self.lines: dict[str, m.SavingsLine | None] = {}  # None: on the sheet but invalid
        self.kpis: dict[str, m.KPI | None] = {}

    # ---- helpers

    def existing(self, model, **filters) -> dict[tuple, models.Model]:
        if self.into is None:
            return {}
        spec = next(sp for sp in s.SHEETS if sp.model is model)
        related = [
            f.name
            for f in model._meta.concrete_fields
            if f.is_relation and f.name not in {"plan", "entered_by", "author"}
        ]
        rows = model._default_manager.filter(**filters).select_related(*related)
        return {self.norm(tuple(self.key_value(o, k) for k in spec.key)): o for o in rows}

    @staticmethod
    def key_value(obj, name):
        if name == "line":
            return obj.line.reference
        if name == "kpi":
            return obj.kpi.code
        return getattr(obj, name)

    @staticmethod
    def norm(key: tuple) -> tuple:
        return tuple(k.lower() if isinstance(k, str) else k for k in key)

    def report(self, row: Row, name: str | None, message: str) -> None:
        self.problems.append(row.problem(name, message))

    def validate(self, rc: RecordChange, exclude: list[str]) -> None:
        """Model validation without database queries (uniqueness is checked by key)."""
        instance, row = rc.instance, rc.source
        if row is not None:
            exclude = [*exclude, *row.bad]  # a cell already reported is not also "blank"
        try:
            instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                target = name if row and name in row.spec.by_field else None
                for message in messages:
                    if row is not None:
                        self.report(row, target, message)
                    else:
                        self.problems.add(message, sheet=rc.sheet)

    def record(
        self,
        spec: s.SheetSpec,
        row: Row,
        instance,
        existing,
        label: str,
        values: dict,
        *,
        exclude=(),
    ) -> RecordChange:
        """Set ``values`` on ``instance`` and note what changes from ``existing``."""
        changes = []
        for name, value in values.items():
            col = spec.by_field.get(name)
            model_field = instance._meta.get_field(name)
            old = getattr(existing, name) if existing is not None else None
            setattr(instance, name, value)
            if existing is not None and not _same(old, value):
                kind = col.kind if col else None
                choices = col.choices if col else None
                changes.append(
                    FieldChange(
                        col.header if col else str(model_field.verbose_name),
                        show(old, kind, choices),
                        show(value, kind, choices),
                        repr((old, value)),
                    )
                )
        action = CREATE if existing is None else (UPDATE if changes else SAME)
        rc = RecordChange(
            spec.name,
            action,
            label,
            row.number,
            instance,
            changes,
            existing.version if existing is not None else None,
            row,
            existing,
        )
        fks = [f.name for f in instance._meta.concrete_fields if f.is_relation]
        self.validate(rc, [*fks, *exclude])
        self.records.append(rc)
        return rc

    def values_for(self, spec: s.SheetSpec, row: Row, instance, *, creating: bool, skip=()) -> dict:
        """Field values from the row. A blank cell leaves an existing record's value as it is
        (and gives a new record the field's default); ``(clear)`` empties the field. A column
        the sheet leaves out keeps the record's value too."""
        out = {}
        for col in spec.columns:
            if col.kind == s.REF or col.field in skip or col.field not in row.present:
                continue
            value = row.values.get(col.field)
            if value is cells.CLEAR:
                value = _blank(instance._meta.get_field(col.field))
            elif value is None and not creating:
                continue  # blank in an update: leave as it is
            elif value is None and col.field == "order":
                value = row.position  # a blank order keeps the sheet's order
            elif value is None:
                value = _blank(instance._meta.get_field(col.field))
            out[col.field] = value
        if creating and "order" in spec.by_field and "order" not in out:
            out["order"] = row.position
        return out

    # ---- the plan

    def build_plan(self) -> bool:
        row = self.parsed.plan
        if row is None:
            return False
        v = row.values
        authority = None
        wanted = v.get("authority")
        if self.into is not None:
            authority = self.into.authority
            if wanted and wanted.lower() not in {authority.slug.lower(), authority.name.lower()}:
                self.report(
                    row,
                    "authority",
                    f"This workbook is for {wanted!r}, but the plan you are importing into "
                    f"belongs to {authority.name}.",
                )
            if v.get("code") and v["code"] != self.into.code:
                self.report(
                    row,
                    "code",
                    f"This workbook is for the plan {v['code']!r}, but you are importing into "
                    f"{self.into.code!r} ({self.into.title}). Import it as a new plan, or "
                    f"correct the plan code.",
                )
        elif wanted:
            candidates = (
                self.authorities if self.authorities is not None else Authority.objects.all()
            )
            authority = candidates.filter(Q(slug__iexact=wanted) | Q(name__iexact=wanted)).first()
            if authority is None:
                if self.authorities is not None:
                    names = ", ".join(f"{a.name} ({a.slug})" for a in self.authorities[:5])
                    message = (
                        f"{wanted!r} is not an authority you can import plans for. Write "
                        f"your authority's name or short name: {names or 'none'}."
                    )
                else:
                    message = (
                        f"There is no authority {wanted!r} in the tracker. Write its "
                        "short name (e.g. torbay) or full name exactly as the tracker "
                        "has it; an administrator adds new authorities."
                    )
                self.report(row, "authority", message)
            elif (
                v.get("code")
                and m.Plan.objects.filter(authority=authority, code=v["code"]).exists()
            ):
                taken = m.Plan.objects.get(authority=authority, code=v["code"])
                self.report(
                    row,
                    "code",
                    f"{authority.name} already has a plan with the code {v['code']!r} "
                    f"(plan {taken.pk}, {taken.title}). Change the code to make a new plan, or "
                    "import into that plan instead.",
                )
        if authority is None:
            return False
        existing = None
        if self.into is not None:
            existing = m.Plan.objects.get(pk=self.into.pk)
            plan = copy.copy(existing)
        else:
            plan = m.Plan(authority=authority)
        values = self.values_for(s.PLAN, row, plan, creating=existing is None)
        if "revises" in row.present and (v.get("revises") is not None or existing is None):
            revised = None
            if v.get("revises") and v["revises"] is not cells.CLEAR:
                revised = m.Plan.objects.filter(
                    authority=authority, code__iexact=v["revises"]
                ).first()
                if revised is None or (existing is not None and revised.pk == existing.pk):
                    self.report(
                        row,
                        "revises",
                        f"{authority.name} has no other plan with the code {v['revises']!r} "
                        "for this one to revise.",
                    )
            values["revises"] = revised
        self.plan = plan
        rc = self.record(
            s.PLAN, row, plan, existing, f"{v.get('code')} {v.get('title') or ''}", values
        )
        rc.row = None
        return True

    # ---- children

    def build_workstreams(self) -> None:
        existing = self.existing(m.Workstream, plan=self.into)
        by_name = {o.name.lower(): o for o in existing.values()}
        for row in self.parsed.sheet(s.WORKSTREAMS):
            code = row.values.get("code")
            if not row.ok or not code:
                continue
            old = existing.pop(self.norm((code,)), None)
            instance = copy.copy(old) if old else m.Workstream(plan=self.plan, code=code)
            values = self.values_for(s.WORKSTREAMS, row, instance, creating=old is None)
            rc = self.record(
                s.WORKSTREAMS, row, instance, old, f"{code} {row.get('name', '')}", values
            )
            self.workstreams[code.lower()] = rc.instance
            self.workstreams.setdefault(row.get("name", "").lower(), rc.instance)
        for obj in existing.values():
            self.workstreams.setdefault(obj.code.lower(), obj)
        for name, obj in by_name.items():
            self.workstreams.setdefault(name, obj)
        self.kept[s.WORKSTREAMS.name] = (
            len(existing) if s.WORKSTREAMS.name in self.parsed.present else 0
        )

    def workstream_named(self, row: Row, name: str) -> m.Workstream | None:
        found = self.workstreams.get(name.lower())
        if found is not None:
            return found
        base = slugify(name)[:55].strip("-") or "workstream"
        code, n = base, 1
        while code.lower() in self.workstreams:
            n += 1
            code = f"{base}-{n}"
        ws = m.Workstream(
            plan=self.plan,
            code=code,
            name=name[:300],
            order=len({id(w) for w in self.workstreams.values()}) + 1,
        )
        rc = RecordChange(
            s.WORKSTREAMS.name,
            CREATE,
            f"{code} {name} (named on the Savings lines sheet)",
            row.number,
            ws,
            source=None,
        )
        self.records.append(rc)
        self.workstreams[code.lower()] = self.workstreams[name.lower()] = ws
        return ws

    def build_lines(self) -> None:
        existing = self.existing(m.SavingsLine, plan=self.into)
        amounts_existing: dict[tuple, m.PlannedAmount] = {}
        if self.into is not None:
            for pa in m.PlannedAmount.objects.filter(line__plan=self.into).select_related("line"):
                amounts_existing[(pa.line.reference.lower(), pa.year)] = pa
        self.amount_records: dict[tuple, RecordChange] = {}
        line_rows = self.parsed.sheet(s.LINES)
        for row in line_rows:
            ref = row.values.get("reference")
            if ref is None:
                continue
            if not row.ok:
                self.lines.setdefault(ref.lower(), None)
                continue
            old = existing.pop(self.norm((ref,)), None)
            instance = copy.copy(old) if old else m.SavingsLine(plan=self.plan)
            values = self.values_for(s.LINES, row, instance, creating=old is None)
            if "workstream" in row.present:
                name = row.values.get("workstream")
                values["workstream"] = self.workstream_named(row, name) if name else None
            rc = self.record(s.LINES, row, instance, old, f"{ref} {row.get('title', '')}", values)
            self.lines[ref.lower()] = rc.instance
            for year, amount in row.amounts.items():
                if amount is None and old is not None:
                    continue  # a blank year cell in an update leaves that year as it is
                self.amount_change(
                    row,
                    rc.instance,
                    ref,
                    year,
                    None if amount is cells.CLEAR else amount,
                    amounts_existing.pop((ref.lower(), year), None),
                )
        for obj in existing.values():
            self.lines.setdefault(obj.reference.lower(), obj)
        self.kept[s.LINES.name] = len(existing) if s.LINES.name in self.parsed.present else 0
        self.amounts_existing = amounts_existing

    def amount_change(
        self,
        row: Row,
        line,
        ref: str,
        year: str,
        amount: Amount | None,
        old: m.PlannedAmount | None,
    ) -> None:
        label = f"{ref} {year}"
        if amount is None:
            if old is not None:
                rc = RecordChange(
                    AMOUNTS,
                    DELETE,
                    label,
                    row.number,
                    old,
                    [FieldChange(year, format_amount(_amount_of(old)), "(none)")],
                    old.version,
                    row,
                )
                self.records.append(rc)
            return
        instance = copy.copy(old) if old else m.PlannedAmount(line=line, year=year)
        instance.kind = amount.kind.value
        instance.low, instance.high = amount.low, amount.high
        changes = []
        if old is not None and _amount_of(old) != _amount_of(instance):
            changes.append(FieldChange(year, format_amount(_amount_of(old)), format_amount(amount)))
        action = CREATE if old is None else (UPDATE if changes else SAME)
        if action == CREATE:
            label = f"{label}: {format_amount(amount)}"
        rc = RecordChange(
            AMOUNTS,
            action,
            label,
            row.number,
            instance,
            changes,
            old.version if old else None,
            row,
            old,
        )
        self.records.append(rc)
        self.amount_records[(ref.lower(), year)] = rc

    def build_details(self) -> None:
        spec = s.DETAILS
        for row in self.parsed.sheet(spec):
            ref, year = row.values.get("line"), row.values.get("year")
            if not row.ok or not ref or not year:
                continue
            rc = self.amount_records.get((ref.lower(), year))
            if rc is None and (ref.lower(), year) in self.amounts_existing:
                old = self.amounts_existing.pop((ref.lower(), year))
                rc = RecordChange(
                    AMOUNTS,
                    SAME,
                    f"{old.line.reference} {year}",
                    row.number,
                    copy.copy(old),
                    [],
                    old.version,
                    row,
                    old,
                )
                self.records.append(rc)
                self.amount_records[(ref.lower(), year)] = rc
            if rc is None or rc.action == DELETE:
                self.report(
                    row,
                    "year",
                    f"The savings line {ref} has no planned amount in {year} to add detail to. "
                    "Give the amount in its year column on the Savings lines sheet.",
                )
                continue
            old = rc.original
            values = self.values_for(spec, row, rc.instance, creating=rc.action == CREATE)
            for name, value in values.items():
                before = getattr(old, name) if old is not None else None
                setattr(rc.instance, name, value)
                if old is not None and not _same(before, value):
                    col = spec.by_field[name]
                    rc.changes.append(
                        FieldChange(
                            f"{year} {col.header.lower()}",
                            show(before, col.kind),
                            show(value, col.kind),
                            repr((before, value)),
                        )
                    )
            if rc.action == SAME and rc.changes:
                rc.action = UPDATE
        for rc in self.records:
            if rc.sheet == AMOUNTS and rc.action in (CREATE, UPDATE):
                self.validate(rc, ["line"])

    def line_for(self, row: Row, name: str, *, required: bool) -> tuple[bool, object]:
        """(usable, line) for a reference column; reports an unknown reference."""
        ref = row.values.get(name)
        if not ref:
            return (not required), None
        if ref.lower() not in self.lines:
            self.report(
                row,
                name,
                f"There is no savings line {ref!r} on the Savings lines sheet"
                + (" or in the plan." if self.into is not None else "."),
            )
            return False, None
        line = self.lines[ref.lower()]
        return line is not None, line

    def build_simple(self, spec: s.SheetSpec, *, label, refs=(), extra=None) -> None:
        """Sheets whose records hang off the plan (or off a line or KPI by reference)."""
        model = spec.model
        if spec.name not in self.parsed.present:
            return
        filters = (
            {"kpi__plan": self.into}
            if model is m.KpiPoint
            else {"line__plan": self.into}
            if model is m.ProgressEntry
            else {"plan": self.into}
        )
        existing = self.existing(model, **filters)
        for row in self.parsed.sheet(spec):
            if not row.ok:
                if spec is s.KPIS and row.values.get("code"):
                    self.kpis[row.values["code"].lower()] = None  # reported already
                continue
            resolved = {}
            usable = True
            for name, required in refs:
                if name == "kpi":
                    code = row.values.get("kpi")
                    kpi = self.kpis.get(code.lower(), False) if code else None
                    if kpi is False:
                        self.report(
                            row,
                            "kpi",
                            f"There is no KPI with the code {code!r} on the KPIs sheet"
                            + (" or in the plan." if self.into is not None else "."),
                        )
                    usable = usable and bool(kpi)
                    resolved["kpi"] = kpi or None
                else:
                    ok, line = self.line_for(row, name, required=required)
                    usable = usable and ok
                    resolved[name] = line
            if not usable:
                continue
            old = existing.pop(self.norm(row.key), None)
            if old is not None:
                instance = copy.copy(old)
            else:
                instance = (
                    model() if model in (m.ProgressEntry, m.KpiPoint) else model(plan=self.plan)
                )
            values = self.values_for(spec, row, instance, creating=old is None)
            values.update(resolved)
            if extra:
                extra(row, instance, values, old)
            rc = self.record(spec, row, instance, old, label(row), values)
            if spec is s.KPIS:
                self.kpis[row.values["code"].lower()] = rc.instance
        self.kept[spec.name] = len(existing)

    # ---- record-specific rules

    def progress_extra(self, row, instance, values, old) -> None:
        values["year"] = fiscal.financial_year(values.get("as_at") or row.values["as_at"])
        if old is None:
            instance.entered_by = self.user

    def entered_extra(self, row, instance, values, old) -> None:
        if old is None:
            instance.entered_by = self.user

    def forecast_extra(self, row, instance, values, old) -> None:
        low = values.get("overspend", instance.overspend)
        high = values.get("overspend_high", instance.overspend_high)
        if high is not None and (low is None or low > high):
            self.report(
                row,
                "overspend_high",
                "The high end of the overspend is given without a lower stated overspend, or "
                "is below it.",
            )
            row.ok = False
        if old is None:
            instance.entered_by = self.user

    def stated_extra(self, row, instance, values, old) -> None:
        low, high = values.get("low", instance.low), values.get("high", instance.high)
        if low is not None and high is not None and low > high:
            self.report(row, "high", "The high figure is below the low one.")

    def commentary_extra(self, row, instance, values, old) -> None:
        if old is None:
            instance.author = self.user

    def build(self) -> ChangeSet | None:
        if not self.build_plan():
            return None
        self.build_workstreams()
        self.build_lines()
        self.build_details()
        date_label = lambda r, name: r.values[name].strftime("%d/%m/%Y")  # noqa: E731
        period = lambda r: fiscal.period_label(r.values["year"], r.values["period"])  # noqa: E731
        self.build_simple(
            s.PROGRESS,
            refs=[("line", True)],
            extra=self.progress_extra,
            label=lambda r: f"{r.values['line']} at {date_label(r, 'as_at')}",
        )
        self.build_simple(
            s.FORECASTS,
            extra=self.forecast_extra,
            label=lambda r: " ".join(
                filter(None, [period(r), r.values["scenario"], r.values["service_area"]])
            ),
        )
        self.build_simple(
            s.PRESSURES, refs=[("line", False)], label=lambda r: f"{r.values['title']} {period(r)}"
        )
        self.build_simple(s.FUNDING, label=lambda r: r.values["title"])
        if self.into is not None:  # KPI values may refer to KPIs the workbook leaves out
            self.kpis.update({k.code.lower(): k for k in m.KPI.objects.filter(plan=self.into)})
        self.build_simple(s.KPIS, label=lambda r: f"{r.values['code']} {r.values['name']}")
        self.build_simple(
            s.KPI_VALUES,
            refs=[("kpi", True)],
            extra=self.entered_extra,
            label=lambda r: " ".join(
                filter(
                    None,
                    [r.values["kpi"], r.values["kind"], date_label(r, "date"), r.values["label"]],
                )
            ),
        )
        self.build_simple(s.RISKS, label=lambda r: r.values["reference"])
        self.build_simple(s.ADJUSTMENTS, label=lambda r: r.values["year"])
        self.build_simple(
            s.STATED,
            refs=[("line", False)],
            extra=self.stated_extra,
            label=lambda r: f"{r.values['key']}",
        )
        self.build_simple(
            s.DISCREPANCIES, refs=[("line", False)], label=lambda r: f"{r.values['key']}"
        )
        self.build_simple(
            s.NARRATIVE, label=lambda r: f"{r.values['order']}. {r.values['heading']}"
        )
        self.build_simple(
            s.COMMENTARY,
            extra=self.commentary_extra,
            label=lambda r: f"{period(r)} {r.values['role']}",
        )
        return ChangeSet(
            self.plan,
            self.into is None,
            self.records,
            self.problems.final(),
            list(self.parsed.warnings),
            {k: v for k, v in self.kept.items() if v},
        )


def plan_changes(
    parsed: ParsedWorkbook, *, into: m.Plan | None = None, user=None, authorities=None
) -> ChangeSet:
    """What importing ``parsed`` would do: into a new plan, or ``into`` an existing one.

    ``authorities`` limits the authorities a new plan may belong to (a web user's own);
    ``None`` allows any (the command line).
    """
    builder = _Builder(parsed, into=into, user=user, authorities=authorities)
    changes = builder.build()
    if changes is None:
        problems = builder.problems.final() or [Problem("The Plan sheet could not be read.")]
        return ChangeSet(into or m.Plan(), into is None, [], problems, list(parsed.warnings))
    return changes
