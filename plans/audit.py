"""The plan's audit trail: every change to any of its records, newest first, read from the
history django-simple-history keeps (``plans.services`` stamps each change with who and why).

Each entry says when, who, which record, what happened (created, changed, deleted, restored)
and each field from → to as the pages write it: money in £, RAG and other choices by their
words, yes/no, dates, a related record by its name. The "as loaded" states that services keep
before a seed record's first change are what a change is compared with, never an entry.

A page of the trail costs a fixed number of queries whatever its length: one to count, one
for the page's keys (a UNION over the history tables), one per kind of record on the page
for those records and their earlier versions, and one per kind of related name.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import models
from django.db.models import CharField, Q, Value
from django.utils import timezone
from django.utils.text import capfirst

from plans import models as m
from plans.services import BASELINE_REASON, DELETED_WITH, RESTORED, editable_fields
from recovery import fiscal
from recovery.models import Authority
from recovery.money import NOT_REPORTED, format_money

NOTHING = "–"


@dataclass(frozen=True)
class Source:
    """One kind of record in the trail: its model and how its history belongs to a plan."""

    key: str
    model: type[models.Model]

    @property
    def label(self) -> str:
        return capfirst(str(self.model._meta.verbose_name))

    def history(self, plan) -> models.QuerySet:
        h = self.model.history
        attname, parent = m.plan_link(self.model)
        if attname == "pk":
            return h.filter(id=plan.pk)
        if parent is not None:
            # The parent's id among the plan's records now, or in their history (deleted
            # ones): records loaded from the seed papers have no history row of their own.
            now = parent.objects.filter(plan_id=plan.pk).values("id")
            gone = parent.history.filter(plan_id=plan.pk).values("id")
            return h.filter(Q(**{f"{attname}__in": now}) | Q(**{f"{attname}__in": gone}))
        return h.filter(**{attname: plan.pk})


SOURCES = [
    Source("plan", m.Plan),
    Source("month", m.MonthClose),
    Source("line", m.SavingsLine),
    Source("amount", m.PlannedAmount),
    Source("progress", m.ProgressEntry),
    Source("forecast", m.OverspendForecast),
    Source("pressure", m.CostPressure),
    Source("funding", m.Funding),
    Source("kpi", m.KPI),
    Source("kpipoint", m.KpiPoint),
    Source("risk", m.Risk),
    Source("commentary", m.Commentary),
    Source("workstream", m.Workstream),
    Source("adjustment", m.YearAdjustment),
    Source("section", m.NarrativeSection),
    Source("stated", m.StatedFigure),
    Source("discrepancy", m.PaperDiscrepancy),
    Source("placementtype", m.PlacementType),
    Source("placementcount", m.PlacementCount),
    Source("placementmove", m.PlacementMove),
    Source("placementscenario", m.PlacementScenario),
]
BY_KEY = {s.key: s for s in SOURCES}
KIND_CHOICES = [(s.key, s.label) for s in SOURCES]


@dataclass
class Entry:
    when: datetime
    who: object
    kind: str  # the record kind, in words
    record: str  # which record
    action: str  # Created, Changed, Deleted, Restored
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # (field, from, to)
    reason: str = ""

    @property
    def changes_text(self) -> str:
        return "; ".join(f"{label}: {old} → {new}" for label, old, new in self.changes)


def trail_keys(plan, kinds: list[str] | None = None, narrow=None) -> models.QuerySet:
    """The page keys of the trail, newest first: ``(history_id, history_date, id, kind)`` from
    every history table of the plan's records in one UNION. ``narrow(qs)`` applies the
    person and date filters to each table."""
    parts = []
    for source in SOURCES:
        if kinds and source.key not in kinds:
            continue
        qs = source.history(plan).exclude(history_change_reason=BASELINE_REASON)
        if narrow is not None:
            qs = narrow(qs)
        parts.append(
            qs.annotate(trail_kind=Value(source.key, output_field=CharField()))
            .values_list("history_id", "history_date", "id", "trail_kind")
            .order_by()
        )
    if not parts:
        return m.Plan.history.none().values_list("history_id", "history_date", "id")
    first, *rest = parts
    union = first.union(*rest, all=True) if rest else first
    return union.order_by("-history_date", "-history_id")


class Trail:
    """The trail as a sequence django-tables2 can page: its length is one COUNT, a slice is
    one page of entries (a fixed number of queries), iteration reads it in pages."""

    CHUNK = 500

    def __init__(self, plan, kinds=None, narrow=None):
        self.plan = plan
        self.keys = trail_keys(plan, kinds, narrow)
        self._len = None

    def __len__(self) -> int:
        if self._len is None:
            self._len = self.keys.count()
        return self._len

    def __getitem__(self, index):
        if isinstance(index, slice):
            return entries_for(list(self.keys[index]))
        return entries_for(list(self.keys[index : index + 1]))[0]

    def __iter__(self):
        start = 0
        while True:
            chunk = self[start : start + self.CHUNK]
            yield from chunk
            if len(chunk) < self.CHUNK:
                return
            start += self.CHUNK


def record_trail(obj) -> list[Entry]:
    """One record's entries, newest first (its History page)."""
    source = next(s for s in SOURCES if s.model is type(obj))
    keys = (
        obj.history.exclude(history_change_reason=BASELINE_REASON)
        .order_by("-history_date", "-history_id")
        .values_list("history_id", "history_date", "id")
    )
    return entries_for([(*k, source.key) for k in keys])


def entries_for(keys: list[tuple]) -> list[Entry]:
    """The entries for page keys, in the keys' order. History ids are numbered per table, so
    a record is found by its kind and history id."""
    wanted: dict[str, dict[int, set]] = defaultdict(lambda: defaultdict(set))
    for history_id, _when, object_id, kind in keys:
        wanted[kind][object_id].add(history_id)
    found: dict[tuple, tuple] = {}  # (kind, history_id) -> (record, previous record or None)
    for kind, objects in wanted.items():
        model = BY_KEY[kind].model
        latest = max(h for ids in objects.values() for h in ids)
        rows = (
            model.history.filter(id__in=list(objects), history_id__lte=latest)
            .select_related("history_user")
            .order_by("id", "history_id")
        )
        previous = {}
        for row in rows:
            if row.history_id in objects[row.id]:
                found[kind, row.history_id] = (row, previous.get(row.id))
            previous[row.id] = row
    names = Names(found.values())
    return [
        entry(BY_KEY[kind], *found[kind, history_id], names)
        for history_id, _when, _object_id, kind in keys
        if (kind, history_id) in found
    ]


def entry(source: Source, record, before, names: Names) -> Entry:
    reason = record.history_change_reason or ""
    action = {"+": "Created", "~": "Changed", "-": "Deleted"}[record.history_type]
    if record.history_type == "+" and reason.startswith(RESTORED):
        action = "Restored"
    fields = shown_fields(source.model)
    changes = []
    if record.history_type == "~" and before is not None:
        for f in fields:
            old, new = getattr(before, f.attname), getattr(record, f.attname)
            if old != new:
                changes.append((label(f), names.show(f, old), names.show(f, new)))
    elif record.history_type == "+":
        for f in fields:
            value = getattr(record, f.attname)
            if value not in (None, ""):
                changes.append((label(f), NOTHING, names.show(f, value)))
    return Entry(
        when=record.history_date,
        who=record.history_user,
        kind=source.label,
        record=names.describe(source, record),
        action=action,
        changes=changes,
        reason=reason,
    )


def label(f) -> str:
    text = str(f.verbose_name)[:1].upper() + str(f.verbose_name)[1:]
    return re.sub(r"\bKpi\b", "KPI", text)  # a field named after its model ("kpi")


_FIELDS: dict[type, list] = {}


def shown_fields(model) -> list:
    """The fields a change is shown in: what an officer edits, not the plan it belongs to."""
    if model not in _FIELDS:
        _FIELDS[model] = [
            f
            for f in editable_fields(model)
            if not (f.name == "plan" and model is not m.Plan)
            and not (f.name in {"line", "kpi"} and model in (m.PlannedAmount, m.ProgressEntry))
        ]
    return _FIELDS[model]


class Names:
    """Related records by their names (a line by its reference, a person by name), read for
    a page at once: one query per kind of related record, current or deleted."""

    TARGETS = {
        Authority: "name",
        m.SavingsLine: "reference",
        m.Workstream: "name",
        m.KPI: "name",
        m.Plan: "title",
        m.PlacementType: "name",
    }

    def __init__(self, pairs):
        from recovery.models import User

        wanted: dict[type, set] = defaultdict(set)
        for record, _before in pairs:
            for r in (record, _before):
                if r is None:
                    continue
                for f in shown_fields(r.instance_type):
                    target = getattr(f, "related_model", None)
                    value = getattr(r, f.attname, None)
                    if f.is_relation and value is not None and target is not None:
                        wanted[self._key(target)].add(value)
                parents = {"line_id": m.SavingsLine, "kpi_id": m.KPI, "type_id": m.PlacementType}
                for parent, model in parents.items():
                    if getattr(r, parent, None) is not None:
                        wanted[model].add(getattr(r, parent))
        self.names: dict[type, dict] = {}
        for model, ids in wanted.items():
            if model is User:
                self.names[User] = {
                    u.pk: u.get_full_name() or u.username
                    for u in User.objects.filter(pk__in=ids).only(
                        "first_name", "last_name", "username"
                    )
                }
            elif model in self.TARGETS:
                attr = self.TARGETS[model]
                # Latest name first: a record deleted since is still named.
                rows = (
                    model.history.filter(id__in=ids)
                    .order_by("id", "-history_id")
                    .values_list("id", attr)
                )
                found = {}
                for pk, name in rows:
                    found.setdefault(pk, name)
                missing = ids - set(found)
                if missing:  # loaded from a seed paper, never changed: no history yet
                    found.update(model.objects.filter(pk__in=missing).values_list("pk", attr))
                self.names[model] = found

    @staticmethod
    def _key(target):
        from recovery.models import User

        return User if issubclass(target, User) else target

    def related(self, target, pk) -> str:
        return self.names.get(self._key(target), {}).get(pk, f"#{pk}")

    def show(self, f, value) -> str:
        """A field's value as the pages write it."""
        if value is None or value == "":
            if m.is_money(f):
                return NOT_REPORTED
            if f.name in {"rag", "original_rag"}:
                return "Not rated"
            return NOTHING
        if f.is_relation:
            return self.related(f.related_model, value)
        if f.choices:
            return str(dict(f.flatchoices).get(value, value))
        if m.is_money(f):
            return format_money(value)
        if isinstance(f, models.BooleanField):
            return "Yes" if value else "No"
        if isinstance(f, models.DateTimeField):
            return timezone.localtime(value).strftime("%-d %b %Y %H:%M")
        if isinstance(f, models.DateField) and isinstance(value, date):
            return value.strftime("%-d %b %Y")
        if isinstance(f, models.DecimalField):
            from plans.figures.rules import format_number

            return format_number(value)
        text = str(value)
        return text if len(text) <= 200 else f"{text[:199]}…"

    def describe(self, source: Source, r) -> str:
        """Which record: its reference or name, as the record pages title it."""
        key = source.key
        if key == "plan":
            return r.title
        if key == "month":
            return f"Month {fiscal.period_label(r.year, r.period)}"
        if key == "line":
            return f"{r.reference} {r.title}"
        if key == "amount":
            return f"{self.related(m.SavingsLine, r.line_id)} {r.year}"
        if key == "progress":
            return f"{self.related(m.SavingsLine, r.line_id)} at {r.as_at:%-d %b %Y}"
        if key == "forecast":
            area = f"{r.service_area}, " if r.service_area else ""
            scenario = m.OverspendForecast.Scenario(r.scenario).label
            return f"{fiscal.period_label(r.year, r.period)} {area}{scenario}"
        if key == "pressure":
            return f"{r.title} {fiscal.period_label(r.year, r.period)}"
        if key == "kpipoint":
            kind = m.KpiPoint.Kind(r.kind).label
            return f"{self.related(m.KPI, r.kpi_id)} {kind.lower()} {r.date:%-d %b %Y}"
        if key == "commentary":
            role = m.Commentary.Role(r.role).label
            return f"{role} {fiscal.period_label(r.year, r.period)}"
        if key == "adjustment":
            return f"{r.year} × {r.factor}"
        if key == "section":
            return r.heading
        if key == "risk":
            return f"{r.reference} {r.description[:60]}"
        if key == "discrepancy":
            return r.subject
        if key == "placementcount":
            kind = m.PlacementCount.Kind(r.kind).label.lower()
            month = fiscal.period_label(r.year, r.period)
            return f"{self.related(m.PlacementType, r.type_id)} {month} ({kind})"
        for name in ("name", "title", "label"):
            if getattr(r, name, ""):
                return str(getattr(r, name))
        return f"#{r.id}"


def deleted_with(reason: str) -> bool:
    return reason.startswith(DELETED_WITH)


def narrowing(filterset):
    """``narrow(qs)`` for ``trail_keys``: the filter set's person and date filters, applied
    to each history table by django-filter's own filters."""
    data = filterset.readable()

    def narrow(qs):
        for name in ("who", "since", "until"):
            value = data.get(name)
            if value not in (None, ""):
                qs = filterset.filters[name].filter(qs, value)
        return qs

    return narrow


def selected_kinds(filterset) -> list[str] | None:
    kind = filterset.readable().get("kind")
    return [kind] if kind else None
