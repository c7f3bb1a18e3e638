"""Import a parsed workbook into a plan: all of it in one transaction, or nothing.

The preview is the real import rolled back: the plan and each sheet are imported through
their resources (``plans.workbook.resources``) inside one transaction, every problem and
every change is collected, and the transaction is rolled back unless the import was
confirmed, nothing went wrong and the changes are the ones the officer saw (the
``fingerprint``). A problem, whatever finds it (a cell, the model's rules, a reference to a
line nowhere in the plan, the database), is listed by sheet, row and column.

Import never deletes a record that the workbook leaves out: a line missing from the sheet is
kept. The one removal is a planned amount whose year cell says ``(clear)``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from dataclasses import dataclass, field

import tablib
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction
from django.db.models import Q

from plans import models as m
from plans import services
from plans.workbook import cells
from plans.workbook import resources as s
from plans.workbook.columns import (
    LEAVE,
    UNREAD,
    Ambiguous,
    FieldChange,
    RecordChange,
    dated_problems,
    show,
)
from plans.workbook.parser import ParsedWorkbook, Problems, SheetData
from plans.workbook.reader import Problem, collecting_less
from recovery.models import Authority

ORDER = [s.PLAN_SHEET, s.WORKSTREAMS_SHEET, s.LINES_SHEET, s.AMOUNTS] + [
    spec.name for spec in s.SHEETS[3:]
]


@dataclass
class SheetCounts:
    sheet: str
    create: int = 0
    update: int = 0
    delete: int = 0
    same: int = 0
    kept: int = 0


@dataclass
class ChangeSet:
    """What an import does (or would do): the preview shows it, confirming applies it."""

    plan: m.Plan
    creating: bool
    records: list[RecordChange]
    problems: list[Problem]
    warnings: list[str]
    # By sheet: how many records the workbook leaves out (kept as they are) and the first
    # few of them by name, so the officer sees which (a row deleted is not a record deleted).
    kept: dict[str, tuple[int, list[str]]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def counts(self) -> list[SheetCounts]:
        """Each sheet's records by what the import does to them. A record the sheet leaves as
        it is but another sheet changes (a line rated by its progress) is counted once, as
        changed."""
        out: dict[str, SheetCounts] = {}
        changed = {(rc.sheet, rc.label) for rc in self.records if rc.action != s.SAME}
        counted = set()  # a record changed twice (its sheet, then its progress) counts once
        for rc in self.records:
            if rc.action == s.SAME and (rc.sheet, rc.label) in changed:
                continue
            if rc.action == s.UPDATE:
                if (rc.sheet, rc.label) in counted:
                    continue
                counted.add((rc.sheet, rc.label))
            c = out.setdefault(rc.sheet, SheetCounts(rc.sheet))
            setattr(c, rc.action, getattr(c, rc.action) + 1)
        for sheet, (n, _names) in self.kept.items():
            out.setdefault(sheet, SheetCounts(sheet)).kept = n
        return sorted(out.values(), key=lambda c: ORDER.index(c.sheet))

    def of(self, *actions) -> list[RecordChange]:
        return [rc for rc in self.records if rc.action in actions]

    @property
    def has_changes(self) -> bool:
        return bool(self.of(s.CREATE, s.UPDATE, s.DELETE))

    def fingerprint(self) -> str:
        """The same iff the import changes the same things the same way (preview against
        confirm); versions make a record someone saved in between count as a difference."""
        data = [self.creating] + [
            [
                rc.sheet,
                rc.action,
                rc.label,
                rc.version,
                [[c.label, c.old, c.new] for c in rc.changes],
            ]
            for rc in self.records
            if rc.action != s.SAME
        ]
        return hashlib.sha256(json.dumps(data, default=str).encode()).hexdigest()


class _Rollback(Exception):
    pass


def run(
    parsed: ParsedWorkbook,
    *,
    into: m.Plan | None = None,
    user=None,
    authorities=None,
    commit: bool = False,
    filename: str = "workbook.xlsx",
    expected: str | None = None,
) -> tuple[ChangeSet, bool]:
    """Import ``parsed`` into a new plan or ``into``; ``authorities`` limits the authorities a
    new plan may belong to (``None``: any, for the command line). Saved only if ``commit``,
    nothing is wrong and (when given) the fingerprint is ``expected``. Returns the changes and
    whether they were saved."""
    problems = Problems()
    for p in parsed.problems:
        problems.append(p)
    reason = f"Imported from {filename}"[:100]
    records: list[RecordChange] = []
    kept: dict[str, tuple[int, list[str]]] = {}
    plan = into or m.Plan()
    saved = False
    try:
        with collecting_less(), transaction.atomic():
            plan = _import_plan(parsed, into, user, authorities, reason, problems, records)
            if plan is not None:
                _import_sheets(parsed, plan, into is None, user, reason, problems, records, kept)
                # The plan's years, if the workbook changes them, once every sheet is in (its
                # clears applied): none may strand a record that must fall within them.
                # Not asked when a sheet is wrong: its clears were not applied.
                moved = into is not None and (plan.first_year, plan.last_year) != (
                    into.first_year,
                    into.last_year,
                )
                stranded = (
                    moved
                    and not problems
                    and plan.stranded_problem(plan.first_year, plan.last_year)
                )
                if stranded:
                    problems.append(parsed.plan.problem(None, *stranded))
            elif into is None and (stand_in := _stand_in(parsed, authorities)) is not None:
                # The Plan sheet has problems: the other sheets are still checked, against a
                # stand-in plan this transaction rolls back, so every problem is said at once.
                _import_sheets(parsed, stand_in, True, user, reason, problems, [], {})
            changes = ChangeSet(
                plan or into or m.Plan(),
                into is None,
                records,
                problems.final(),
                list(parsed.warnings),
                {k: v for k, v in kept.items() if v[0]},
            )
            if plan is None and not changes.problems:
                changes.problems = [Problem("The Plan sheet could not be read.")]
            saved = (
                commit and changes.ok and (expected is None or expected == changes.fingerprint())
            )
            if not saved:
                raise _Rollback
    except _Rollback:
        pass
    return changes, saved


def _import_plan(parsed, into, user, authorities, reason, problems, records) -> m.Plan | None:
    data = parsed.plan
    if data is None:
        return None
    spec = s.PLAN
    row = dict(zip(data.headers, data.rows[0], strict=True))
    values, errors = {}, False
    for col in spec.columns:
        if col.header not in row:
            continue
        try:
            values[col.field] = col.clean(row)
        except cells.CellError as exc:
            problems.append(data.problem(None, col.field, str(exc)))
            errors = True
            continue
        if col.required and values[col.field] is None and into is None:
            # (a blank cell in an update leaves the plan's field as it is: ``settle``)
            problems.append(data.problem(None, col.field, f"{col.header} is required."))
            errors = True
    wanted, code = values.pop("authority", None), values.get("code")
    known = len(problems)  # the plan is not made if the checks below find a problem
    if into is not None:
        authority = into.authority
        # An update names the plan it updates: a workbook of another plan, its Authority or
        # Plan code blanked, would otherwise overwrite this one.
        said = {p.header for p in problems}  # a cell already wrong is not blank as well
        for field, blank, names in (
            ("authority", not wanted, f"the plan's authority ({authority.slug})"),
            ("code", not code, f"the plan's code ({into.code})"),
        ):
            header = spec.by_field[field].header
            if blank and header in row and header not in said:
                problems.append(
                    data.problem(
                        None,
                        field,
                        f"{spec.by_field[field].header} is blank. A workbook imported into a "
                        f"plan names {names}, so that it never changes another plan by "
                        "mistake.",
                    )
                )
        if wanted and wanted.lower() not in {authority.slug.lower(), authority.name.lower()}:
            problems.append(
                data.problem(
                    None,
                    "authority",
                    f"This workbook is for {wanted!r}, but the plan you are importing into "
                    f"belongs to {authority.name}.",
                )
            )
        if code and code.lower() == into.code.lower():
            values["code"] = into.code  # matched without capitals, and kept as it is
        elif code:
            problems.append(
                data.problem(
                    None,
                    "code",
                    f"This workbook is for the plan {code!r}, but you are importing into "
                    f"{into.code!r} ({into.title}). Import it as a new plan, or correct the "
                    "plan code.",
                )
            )
    elif wanted:
        candidates = authorities if authorities is not None else Authority.objects.all()
        authority = candidates.filter(Q(slug__iexact=wanted) | Q(name__iexact=wanted)).first()
        if authority is None:
            if authorities is not None:
                names = ", ".join(f"{a.name} ({a.slug})" for a in authorities[:5])
                message = (
                    f"{wanted!r} is not an authority you can import plans for. Write your "
                    f"authority's name or short name: {names or 'none'}."
                )
            else:
                message = (
                    f"There is no authority {wanted!r} in the tracker. Write its short name "
                    "(e.g. torbay) or full name exactly as the tracker has it; an "
                    "administrator adds new authorities."
                )
            problems.append(data.problem(None, "authority", message))
        elif code and (
            taken := m.Plan.objects.filter(authority=authority, code__iexact=code).first()
        ):
            problems.append(
                data.problem(
                    None,
                    "code",
                    f"{authority.name} already has a plan with the code {code!r} (plan "
                    f"{taken.pk}, {taken.title}). Change the code to make a new plan, or import "
                    "into that plan instead.",
                )
            )
    else:
        return None
    if authority is None or errors or len(problems) > known:
        return None
    existing = m.Plan.objects.select_for_update().get(pk=into.pk) if into else None
    plan = copy.copy(existing) if existing else m.Plan(authority=authority)
    revises = values.pop("revises", None)
    if revises is not None:
        found = None
        if revises is not cells.CLEAR:
            found = m.Plan.objects.filter(authority=authority, code__iexact=revises).first()
            if found is None or (into is not None and found.pk == into.pk):
                problems.append(
                    data.problem(
                        None,
                        "revises",
                        f"{authority.name} has no other plan with the code {revises!r} for "
                        "this one to revise.",
                    )
                )
                return None
        plan.revises = found
    changes = []
    for name, value in values.items():
        col = spec.by_field[name]
        value = col.settle(value, creating=existing is None)
        if value is LEAVE:
            continue
        if value is None:
            value = col.blank()
        if existing is not None and getattr(existing, name) != value:
            changes.append(
                FieldChange(col.header, show(getattr(existing, name), col), show(value, col))
            )
        setattr(plan, name, value)
    if problem := plan.span_problem():
        problems.append(data.problem(None, "last_year", problem))
        return None
    # Approved and published on: near the plan's years (2107 for 2017), as every sheet's dates.
    first, last = plan.first_year, plan.last_year
    dated = dated_problems(plan, plan, spec.columns) if first and last and first <= last else {}
    for name, problem in dated.items():
        problems.append(data.problem(None, name, problem))
    if dated:
        return None
    try:
        if existing is None:
            plan.full_clean(validate_constraints=False, validate_unique=False)
            services.create_record(instance=plan, user=user, reason=reason)
        elif changes:
            services.update_record(
                instance=plan,
                user=user,
                expected_version=existing.version,
                reason=reason,
                require_reason_for_money=False,
            )
    except ValidationError as exc:
        for name, messages in _messages(exc):
            for message in messages:
                problems.append(
                    data.problem(None, name if name in spec.by_field else None, message)
                )
        return None
    action = s.CREATE if existing is None else (s.UPDATE if changes else s.SAME)
    label = f"{plan.code} {plan.title}"
    records.append(RecordChange(s.PLAN_SHEET, action, label, None, changes, plan.version))
    return plan


def _stand_in(parsed, authorities) -> m.Plan | None:
    """A new plan with the Plan sheet's years, to check the other sheets of a workbook whose
    Plan sheet has problems; None when its years cannot be read (the sheets' dates are
    checked against them). Made inside the import's transaction, which is rolled back."""
    data = parsed.plan
    if data is None:
        return None
    row = dict(zip(data.headers, data.rows[0], strict=True))
    years = []
    for name in ("first_year", "last_year"):
        col = s.PLAN.by_field[name]
        try:
            years.append(col.clean(row) if col.header in row else None)
        except cells.CellError:
            return None
    first, last = years
    if not (isinstance(first, str) and isinstance(last, str)):  # blank, or "(clear)"
        return None
    authority = (authorities if authorities is not None else Authority.objects).order_by("pk")
    plan = m.Plan(
        authority=authority.first(),
        code=f"workbook-check-{uuid.uuid4().hex[:12]}",
        title="(checking the workbook)",
        kind=m.Plan.Kind.RECOVERY,
        first_year=first,
        last_year=last,
    )
    if plan.authority is None or plan.span_problem():
        return None
    plan.save()
    return plan


def _messages(exc: ValidationError):
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            yield name, [m for e in errors for m in e.messages]
    else:
        yield NON_FIELD_ERRORS, exc.messages


def _refs(records, kind: str, into: dict | None = None) -> dict:
    """What other sheets may refer to, by the key officers type: workstreams and placement
    types by code and by name, lines by reference, KPIs by code (lower case); added to
    ``into`` when given. A name two records go by refers to neither: the rows that use it
    are told to give the code."""
    found = {} if into is None else into
    for record in records:
        for name in REFERRED_BY[kind]:
            key = getattr(record, name).lower()
            other = found.get(key)
            if isinstance(other, models.Model) and other is not record and other.pk != record.pk:
                code = REFERRED_BY[kind][0]  # a line's reference, another record's code
                found[key] = Ambiguous(
                    f"Two {record._meta.verbose_name_plural} go by {key!r} (the {code}s "
                    f"{getattr(other, code)!r} and {getattr(record, code)!r}): "
                    + (
                        "rename one in the plan (on its page) before importing."
                        if code == "reference"
                        else "give the code here."
                    )
                )
            elif type(other) is not Ambiguous:
                found[key] = record
    return found


# The sheets whose records others refer to, and the name the references go by.
REFERRED = {
    s.WORKSTREAMS: "workstream",
    s.LINES: "line",
    s.KPIS: "kpi",
    s.PLACEMENT_TYPES: "type",
}
KEPT_NAMED = 10  # records left out of the workbook named, by sheet; the rest are counted
REFERRED_BY = {
    "workstream": ("code", "name"),
    "line": ("reference",),
    "kpi": ("code",),
    "type": ("code", "name"),
}


def _unread(parsed, name: str) -> bool:
    """A problem of the sheet ``name`` as a whole (a required sheet missing) or of its header
    row (a required column missing, a year heading unreadable) leaves its records unread: what
    other sheets say of them cannot be checked. A problem in a data row (a merged cell) is not
    such a problem, nor is an optional sheet left out (a reference to its records is wrong)."""
    data = parsed.sheets.get(name)
    first_row = data.numbers[0] if data is not None and data.numbers else None
    return any(
        p.sheet == name
        and (data is None or (p.row is not None and (first_row is None or p.row < first_row)))
        for p in parsed.problems
    )


def _import_sheets(parsed, plan, new_plan, user, reason, problems, records, kept) -> None:
    refs = {
        kind: {} if new_plan else _refs(spec.records_of(plan), kind)
        for spec, kind in REFERRED.items()
    }
    refs[UNREAD] = {kind for spec, kind in REFERRED.items() if _unread(parsed, spec.name)}
    for spec in s.SHEETS[1:]:
        data: SheetData | None = parsed.sheets.get(spec.name)
        if data is None or not data.rows:
            if data is not None and not new_plan and spec is not s.DETAILS:
                kept[spec.name] = (spec.records_of(plan).count(), [])
            continue
        extra = {"years": data.years} if spec is s.LINES else {}
        resource = spec(
            plan=plan,
            new_plan=new_plan,
            user=user,
            reason=reason,
            rows=data.numbers,
            refs=refs,
            **extra,
        )
        dataset = tablib.Dataset(*data.rows, headers=data.headers)
        result = resource.import_data(dataset, use_transactions=False)
        for invalid in result.invalid_rows:
            number = data.numbers[invalid.number - 1]
            for name, messages in _messages(invalid.error):
                for message in messages:
                    if message != cells.REPORTED:
                        target = None if name == NON_FIELD_ERRORS else name
                        problems.append(data.problem(number, target, message))
        for number, errors in result.row_errors():
            for error in errors:
                problems.append(_database_problem(error.error, spec.name, data.numbers[number - 1]))
        for error in result.base_errors:
            row = getattr(error.error, "row", None)  # a record saved after its row, by flush
            problems.append(_database_problem(error.error, spec.name, row))
        records.extend(resource.noted)
        if not new_plan and spec is not s.DETAILS:  # details belong to amounts, not kept alone
            left = list(resource.kept.values())
            kept[spec.name] = (len(left), [resource.label(r) for r in left[:KEPT_NAMED]])
        if spec in REFERRED:  # what later sheets may now refer to; a wrong row says so itself
            kind = REFERRED[spec]
            _refs(resource.saved, kind, refs[kind])
            if spec is s.LINES:  # lines may have named new workstreams
                _refs(resource.new_workstreams, "workstream", refs["workstream"])
            for text in resource.invalid:
                refs[kind].setdefault(text, None)


def _database_problem(exc: Exception, sheet: str, row: int | None) -> Problem:
    if isinstance(exc, services.StaleEdit):
        return Problem(
            "Someone changed this record while the import ran. Nothing was imported; upload "
            "the workbook again to see the changes afresh.",
            sheet=sheet,
            row=row,
        )
    if isinstance(exc, ValidationError):
        return Problem(" ".join(exc.messages) + " Nothing was imported.", sheet=sheet, row=row)
    return Problem(
        f"The database refused the import: {exc}. Nothing was imported.", sheet=sheet, row=row
    )
