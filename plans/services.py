"""Writes. Every change to a plan's records goes through these functions.

Each runs in a transaction, validates the record (``full_clean``), refuses a lost update (the
``version`` the editor started from must still be current), records who made the change and
why in the record's history, and leaves nothing half-saved.
"""

from __future__ import annotations

import functools
import operator
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import F
from django.db.models.deletion import Collector, ProtectedError, RestrictedError
from django.utils import timezone

from plans.models import BULK_DELETING, History, is_money
from recovery import access, fiscal
from recovery.money import format_money

MONEY_REASON_MESSAGE = "Say why this money figure changed; the reason is kept in the history."


@dataclass
class Change:
    field: str
    label: str
    old: object
    new: object
    # As pages write them (£20,000, a choice's label); None for nothing. Default: as stored.
    shown_old: object = ...
    shown_new: object = ...

    def __post_init__(self):
        if self.shown_old is ...:
            self.shown_old = self.old
        if self.shown_new is ...:
            self.shown_new = self.new

    @property
    def said(self) -> str:
        """``achieved to date £10,000 → £20,000``: for a message ("not reported" for none)."""
        old, new = (
            "not reported" if shown is None else shown for shown in (self.shown_old, self.shown_new)
        )
        return f"{self.label} {old} → {new}"


class StaleEdit(Exception):
    """Someone else saved the record after this editor opened it."""

    def __init__(self, current: models.Model, changes: list[Change], deleted: bool = False):
        self.current = current
        self.changes = changes
        self.deleted = deleted
        super().__init__("This record was changed by someone else after you opened it.")


def editable_fields(model: type[models.Model]) -> list[models.Field]:
    return [
        f
        for f in model._meta.concrete_fields
        if f.editable and not f.primary_key and f.name not in {"version"}
    ]


def _shown(field: models.Field, value):
    """A field's value as pages write it: money as money (£20,000), a choice by its label."""
    if value is None or value == "":
        return None
    if is_money(field):
        return format_money(value)
    if field.choices:
        return dict(field.flatchoices).get(value, value)
    if field.is_relation:  # a record by its name, never its key
        return str(field.related_model._default_manager.filter(pk=value).first() or value)
    return value


def diff(old: models.Model, new: models.Model) -> list[Change]:
    """Field-by-field differences between two states of a record, as pages write them."""
    changes = []
    for f in editable_fields(type(new)):
        before, after = getattr(old, f.attname), getattr(new, f.attname)
        if before != after:
            changes.append(
                Change(
                    f.name,
                    str(f.verbose_name),
                    before,
                    after,
                    shown_old=_shown(f, before),
                    shown_new=_shown(f, after),
                )
            )
    return changes


@functools.cache
def money_fields(model: type[models.Model]) -> frozenset[str]:
    """The fields of ``model`` that hold money (``is_money``)."""
    return frozenset(f.name for f in model._meta.concrete_fields if is_money(f))


def money_changed(changes: list[Change], model: type[models.Model]) -> bool:
    money = money_fields(model)
    return any(c.field in money and _as_decimal(c.old) != _as_decimal(c.new) for c in changes)


def _as_decimal(value):
    return None if value is None else Decimal(value)


BASELINE_REASON = "As loaded, before the first change recorded here"


def _ensure_baselines(cursor, model: type[models.Model], pks: list, moment) -> None:
    """Records loaded from a seed paper or fixture have no history; keep the state of those
    among ``pks`` as it is now, before their first change (made after ``moment``), so the
    history can show what the change was from. Nobody made that state here: it came from a
    seed paper or an older system. Two queries a 500 records."""
    if getattr(model, "history", None) is None:
        return
    recorded = set()
    history = model.history.model._default_manager
    for start in range(0, len(pks), 500):
        chunk = pks[start : start + 500]
        recorded.update(history.filter(id__in=chunk).values_list("id", flat=True).distinct())
    fresh = [pk for pk in pks if pk not in recorded]
    _copy_to_history(
        cursor, model, fresh, kind="+", moment=moment, reason=BASELINE_REASON, user=None
    )


def _ensure_baseline(current: models.Model) -> None:
    """``_ensure_baselines`` for one record, before it is saved."""
    with transaction.get_connection().cursor() as cursor:
        _ensure_baselines(cursor, type(current), [current.pk], timezone.now())


def data_changed(records) -> None:
    """Give the plans that ``records`` belong to a fresh ``data_version``, in the writing
    transaction: figures cached under the old one are never served again, and readers see the
    new version and the new records together, at commit. One query.

    Every write here calls it (the month-end page and workbook import write through these
    functions); so does the admin."""
    from plans.models import Plan, plans_of

    which = plans_of(records)
    if which:
        Plan.objects.filter(which).update(data_version=uuid.uuid4())


def _stamp(instance: models.Model, user, reason: str) -> None:
    instance._history_user = user
    instance._change_reason = reason or ""


@transaction.atomic
def create_record(*, instance: models.Model, user, reason: str = "") -> models.Model:
    check_month_open(instance, user)
    check_typed_progress(instance)
    instance.full_clean()
    instance.version = 1
    _stamp(instance, user, reason or "Created")
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        # A colleague created the same record between our check and our save.
        raise ValidationError(
            "Someone else has just saved a record with these details. Reload the page to see "
            "it; nothing of yours was saved."
        ) from exc
    data_changed([instance])
    return instance


@transaction.atomic
def create_many(
    model: type[models.Model], instances: list, *, user, reason: str, plan=None
) -> None:
    """Insert already validated new records in bulk (an import) with their history.
    ``instances``: model instances (given their primary keys), or dicts of field attname to
    value with the fields' defaults for the rest (no model object built: an import's 20,000
    planned amounts). ``plan``: the plan they all belong to, where the caller knows it (else
    each record leads to its plan).

    SQLite: one multi-row INSERT ... RETURNING per batch (as ``bulk_create`` does, without
    building its SQL value by value). PostgreSQL: the batch's keys taken from the table's
    sequence, then its rows streamed with COPY (the driver writes them in C, where a 30,000
    placeholder INSERT is scanned and quoted in Python: a second of a 96,000-row import).
    Then the database copies the rows just written into the history table: no Python object
    per history row."""
    if not instances:
        return
    db = transaction.get_connection()
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    # Each record's values in one call, those that need preparing replaced.
    get = operator.attrgetter(*(f.attname for f in fields))
    prepare = [(i, p) for i, f in enumerate(fields) if (p := _preparer(f, db)) is not None]
    qn = db.ops.quote_name
    pk_column = qn(model._meta.pk.column)
    table, columns = qn(model._meta.db_table), [qn(f.column) for f in fields]
    copying = db.vendor == "postgresql"
    # Within SQLite's bound-variable limit; PostgreSQL's COPY has none.
    batch = 5_000 if copying else max(1, min(500, 30_000 // len(fields)))
    now = timezone.now()
    # For dict rows: what a field left out takes (no stamps or JSON on such models).
    defaults = {f.attname: f.get_default() for f in fields} | {"version": 1}

    def values_of(instance) -> tuple | list:
        if type(instance) is dict:
            row = {**defaults, **instance}
            return [row[f.attname] for f in fields]
        instance.version = 1
        values = get(instance)
        if len(fields) == 1:
            values = (values,)
        if prepare:
            values = list(values)
            for i, p in prepare:
                values[i] = p(instance)
        return values

    with _logless_cursor(db) as cursor:
        for start in range(0, len(instances), batch):
            chunk = instances[start : start + batch]
            if copying:
                if start == 0:  # the key's sequence, named once (not once per key)
                    cursor.execute(
                        "SELECT pg_get_serial_sequence(%s, %s)",
                        [table, model._meta.pk.column],
                    )
                    (sequence,) = cursor.fetchone()
                cursor.execute(
                    "SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
                    [sequence, len(chunk)],
                )
                pks = [pk for (pk,) in cursor.fetchall()]
                copy_sql = f"COPY {table} ({pk_column}, {', '.join(columns)}) FROM STDIN"
                with db.wrap_database_errors, cursor.cursor.copy(copy_sql) as copy:
                    for pk, instance in zip(pks, chunk, strict=True):
                        copy.write_row((pk, *values_of(instance)))
            else:
                params = []
                for instance in chunk:
                    params.extend(values_of(instance))
                marks = "(" + ", ".join(["%s"] * len(fields)) + ")"
                cursor.execute(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                    f"{', '.join([marks] * len(chunk))} RETURNING {pk_column}",
                    params,
                )
                pks = [pk for (pk,) in cursor.fetchall()]
            for instance, pk in zip(chunk, pks, strict=True):
                if type(instance) is not dict:
                    instance.pk = pk
                    instance._state.adding, instance._state.db = False, db.alias
            _copy_to_history(cursor, model, pks, kind="+", moment=now, reason=reason, user=user)
    data_changed([plan] if plan is not None else instances)


@transaction.atomic
def update_many(model: type[models.Model], instances: list, *, user, reason: str) -> list:
    """``update_record`` for many records of ``model`` whose caller has applied the model's
    checks and the month and moves locks to each, said where the officer can act on it (the
    workbook import, on each row and column). Each version is checked against its row,
    locked, in one query a batch (``StaleEdit`` for the first that moved on, with
    ``.instance`` the record given); the changed ones are written by one UPDATE statement,
    each one's first change after a baseline of how it was (``_ensure_baseline``), and their
    history copied by the database. Returns those saved."""
    if not instances:
        return []
    current = {}
    pks = [i.pk for i in instances]
    for start in range(0, len(pks), 500):
        rows = model._default_manager.select_for_update().filter(pk__in=pks[start : start + 500])
        current.update((row.pk, row) for row in rows)
    changed = []
    for instance in instances:
        now = current.get(instance.pk)
        if now is None or now.version != instance.version:
            exc = (
                StaleEdit(instance, [], deleted=True)
                if now is None
                else stale_edit(now, instance.version)
            )
            exc.instance = instance
            raise exc
        if diff(now, instance):
            changed.append(instance)
    if not changed:
        return []
    pks = [i.pk for i in changed]
    moment = timezone.now()
    db = transaction.get_connection()
    with _logless_cursor(db) as cursor:
        _ensure_baselines(cursor, model, pks, moment - timedelta(microseconds=1))
        # One UPDATE statement run for every record (``bulk_update``'s CASE per field and
        # record took 25 s for 18,000 planned amounts), its values as ``create_many`` gives
        # them; a stamp of the moment it was made stays as it is.
        fields = [
            f
            for f in model._meta.concrete_fields
            if not f.primary_key and not getattr(f, "auto_now_add", False)
        ]
        prepare = {f.attname: p for f in fields if (p := _preparer(f, db)) is not None}
        qn = db.ops.quote_name
        sql = (
            f"UPDATE {qn(model._meta.db_table)} SET "
            + ", ".join(f"{qn(f.column)} = %s" for f in fields)
            + f" WHERE {qn(model._meta.pk.column)} = %s"
        )
        params = []
        for instance in changed:
            instance.version += 1
            params.append(
                [
                    prepare[f.attname](instance)
                    if f.attname in prepare
                    else getattr(instance, f.attname)
                    for f in fields
                ]
                + [instance.pk]
            )
        cursor.executemany(sql, params)
        _copy_to_history(cursor, model, pks, kind="~", moment=moment, reason=reason, user=user)
    data_changed(changed)
    return changed


def _logless_cursor(db) -> CursorWrapper:
    """A cursor that is not logged under DEBUG: logging a 500-row insert quotes its thousands
    of values, on SQLite with a query of its own (a tenth of a large import's time). Where
    queries are counted on purpose (a test's ``CaptureQueriesContext``) they are logged;
    PostgreSQL's COPY goes round the cursor and is neither logged nor counted."""
    if db.force_debug_cursor:
        return db.cursor()
    db.validate_thread_sharing()
    db.ensure_connection()
    return CursorWrapper(db.create_cursor(), db)


def _copy_to_history(cursor, model, pks: list, *, kind: str, moment, reason: str, user) -> None:
    """The records ``pks`` of ``model`` as they are now, copied into its history table as
    created (``kind`` "+") or deleted ("-"), in one statement per batch: no Python object per
    history row."""
    if not pks:
        return
    db = cursor.db
    qn = db.ops.quote_name
    # History leaves out what is not the record's content (a plan's data version).
    kept = {f.column for f in model.history.model._meta.concrete_fields}
    columns = ", ".join(qn(f.column) for f in model._meta.concrete_fields if f.column in kept)
    sql = (
        f"INSERT INTO {qn(model.history.model._meta.db_table)} ({columns}, "
        f"{qn('history_date')}, {qn('history_change_reason')}, {qn('history_type')}, "
        f"{qn('history_user_id')}) SELECT {columns}, %s, %s, %s, %s "
        f"FROM {qn(model._meta.db_table)} WHERE {qn(model._meta.pk.column)} "
    )
    # The moment as the database keeps a DateTimeField's (SQLite: naive UTC text).
    moment = db.ops.adapt_datetimefield_value(moment)
    stamp = [moment, reason[:100], kind, getattr(user, "pk", None)]
    if db.vendor == "postgresql":  # the keys as one array literal: integers need no quoting
        for start in range(0, len(pks), 50_000):
            keys = "{" + ",".join(map(str, pks[start : start + 50_000])) + "}"
            cursor.execute(f"{sql}= ANY(%s::bigint[])", [*stamp, keys])
        return
    for start in range(0, len(pks), 500):  # within SQLite's bound-variable limit
        chunk = pks[start : start + 500]
        cursor.execute(f"{sql}IN ({', '.join(['%s'] * len(chunk))})", [*stamp, *chunk])


def _preparer(f: models.Field, db):
    """How one field's value goes to the database: as ``Field.get_db_prep_save`` for stamps
    and times; None for the text, numbers, decimals and dates that both databases' drivers
    take as they are (the values were validated with ``full_clean``)."""
    if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
        # One moment for the whole insert, as the records are written together.
        now = timezone.now() if isinstance(f, models.DateTimeField) else timezone.localdate()
        prepared, name = f.get_db_prep_save(now, db), f.attname
        return lambda obj: (setattr(obj, name, now), prepared)[1]
    if isinstance(f, (models.DateTimeField, models.JSONField)):
        return lambda obj: f.get_db_prep_save(getattr(obj, f.attname), db)
    return None


@transaction.atomic
def update_record(
    *,
    instance: models.Model,
    user,
    expected_version: int,
    reason: str = "",
    require_reason_for_money: bool = True,
) -> models.Model:
    """Save ``instance`` (already carrying the editor's values) if nobody saved since
    ``expected_version``. Raises ``StaleEdit`` with what the other person changed."""
    model = type(instance)
    current = model._default_manager.select_for_update().filter(pk=instance.pk).first()
    if current is None:
        raise StaleEdit(instance, [], deleted=True)
    if current.version != expected_version:
        raise stale_edit(current, expected_version)
    changes = diff(current, instance)
    if not changes:
        return current
    check_month_open(current, user)
    check_month_open(instance, user)
    check_typed_progress(instance)
    if require_reason_for_money and money_changed(changes, model) and not reason.strip():
        raise ValidationError({"change_reason": MONEY_REASON_MESSAGE})
    instance.full_clean()
    _ensure_baseline(current)
    # Compare-and-swap: on PostgreSQL a concurrent transaction waits on the row lock above and
    # then finds the version moved on; on SQLite the write lock serialises the two.
    bumped = model._default_manager.filter(pk=instance.pk, version=expected_version).update(
        version=F("version") + 1
    )
    if bumped != 1:
        current = model._default_manager.get(pk=instance.pk)
        raise StaleEdit(current, [])
    instance.version = expected_version + 1
    _stamp(instance, user, reason)
    instance.save()
    # After the save: a plan saved from an instance read earlier writes back the data version
    # it was read with, which must not stand.
    data_changed([instance])
    return instance


def save_record(
    *,
    instance: models.Model,
    user,
    expected_version: int | None,
    reason: str = "",
    require_reason_for_money: bool = True,
) -> models.Model:
    """Create ``instance`` if it is new, else update it from ``expected_version``."""
    if instance.pk is None:
        return create_record(instance=instance, user=user, reason=reason)
    return update_record(
        instance=instance,
        user=user,
        expected_version=expected_version or 0,
        reason=reason,
        require_reason_for_money=require_reason_for_money,
    )


@transaction.atomic
def delete_record(
    *, instance: models.Model, user, expected_version: int | None = None, reason: str = ""
) -> None:
    model = type(instance)
    current = model._default_manager.select_for_update().filter(pk=instance.pk).first()
    if current is None:
        return
    if expected_version is not None and current.version != expected_version:
        raise StaleEdit(current, [])
    check_month_open(current, user)
    _check_nothing_locked_goes_with(current)
    _ensure_baseline(current)
    reason = reason or "Deleted"
    data_changed([current])  # while the record still leads to its plan
    _delete_with_history(current, user, reason)


def stale_edit(current: models.Model, expected_version: int | None) -> StaleEdit:
    """The error for an editor who started from ``expected_version``, with what changed."""
    theirs = _version_state(current, expected_version) if expected_version else None
    return StaleEdit(current, diff(theirs, current) if theirs else [])


def _version_state(current: models.Model, version: int):
    """The record as it was at ``version``, from its history (None if not recorded)."""
    history = getattr(current, "history", None)
    if history is None:
        return None
    record = history.filter(version=version).order_by("-history_date").first()
    return record.instance if record else None


def related_deletions(instance: models.Model) -> dict[str, int]:
    """What else goes when ``instance`` is deleted: ``{"savings lines": 16, ...}``."""
    from django.contrib.admin.utils import NestedObjects
    from django.db import router

    collector = NestedObjects(using=router.db_for_write(type(instance)))
    collector.collect([instance])
    counts: dict[str, int] = {}
    for model, objs in collector.model_objs.items():
        if model is type(instance) or model._meta.app_label != "plans":
            continue
        if model.__name__.startswith("Historical"):
            continue
        n = len(objs)
        counts[str(model._meta.verbose_name if n == 1 else model._meta.verbose_name_plural)] = n
    return counts


def latest_rags(line_ids) -> dict[int, str]:
    """Each line's latest rated progress entry's RAG (lines with none left out). One query."""
    from plans.models import ProgressEntry

    latest = {}
    for line_id, rag in (
        ProgressEntry.objects.filter(line_id__in=line_ids)
        .exclude(rag="")
        .order_by("line_id", "-as_at")
        .values_list("line_id", "rag")
    ):
        latest.setdefault(line_id, rag)
    return latest


def refresh_line_rag(*, line, user, reason: str = "") -> None:
    """A line's current RAG is that of its latest rated progress entry (its original RAG when
    no entry is rated). Called after progress is saved or deleted."""
    latest = latest_rags([line.pk]).get(line.pk)
    line.refresh_from_db()
    rag = latest or line.original_rag
    if line.rag != rag:
        line.rag = rag
        update_record(
            instance=line,
            user=user,
            expected_version=line.version,
            reason=reason or "RAG from the latest progress entry",
        )


@transaction.atomic
def follow_rated_progress(*, line_ids, user, reason: str = "") -> list[tuple]:
    """``refresh_line_rag`` for the lines an import gave rated progress, in bulk: each takes
    its latest rated entry's RAG (a line with no rated entry is left as it is). A handful of
    queries, whatever the number of lines; each change versioned, with its history. Returns
    ``(line, old RAG, new RAG)`` for the lines that changed."""
    from plans.models import SavingsLine

    latest = latest_rags(line_ids)
    lines = SavingsLine.objects.select_for_update().filter(pk__in=latest).order_by("pk")
    moved = [(line, line.rag, latest[line.pk]) for line in lines if line.rag != latest[line.pk]]
    if not moved:
        return []
    pks = [line.pk for line, _, _ in moved]
    now = timezone.now()
    with transaction.get_connection().cursor() as cursor:
        _ensure_baselines(cursor, SavingsLine, pks, now)
        for rag in {new for _, _, new in moved}:
            SavingsLine.objects.filter(pk__in=[x.pk for x, _, new in moved if new == rag]).update(
                rag=rag, version=F("version") + 1
            )
        said = reason or "RAG from the latest progress entry"
        _copy_to_history(cursor, SavingsLine, pks, kind="~", moment=now, reason=said, user=user)
    data_changed([line for line, _, _ in moved])
    return moved


# --------------------------------------------------------------------------------------------
# Savings lines with their planned amounts


def _amount_state(planned):
    if planned is None:
        return None
    return (planned.kind, planned.low, planned.high)


def _amount_conflicts(existing: dict, seen: dict[str, int]) -> list[Change]:
    """What changed in a line's planned amounts since the officer saw versions ``seen``."""
    from plans.selectors import amount_of
    from recovery.money import format_amount

    def shown(planned):
        return format_amount(amount_of(planned)) if planned is not None else None

    changes = []
    for year in sorted(set(existing) | set(seen)):
        now = existing.get(year)
        if now is not None and seen.get(year) == now.version:
            continue
        before = _version_state(now, seen[year]) if now is not None and year in seen else None
        if now is None and year in seen:
            before = "an amount"  # deleted since; its old value is in its history
        changes.append(
            Change(
                f"amount_{year}",
                f"planned saving {year}",
                before if isinstance(before, str) else shown(before),
                shown(now),
            )
        )
    return changes


@transaction.atomic
def save_line(
    *,
    line,
    amounts: dict,
    user,
    expected_version: int | None,
    reason: str = "",
    seen_amounts: dict[str, int] | None = None,
):
    """Create or update a savings line and its planned amount per year in one transaction.

    ``amounts`` maps ``"2017/18"`` to a ``recovery.money.Amount`` or None (no amount).
    ``seen_amounts`` maps each year to the version of the amount the officer saw: if a
    colleague changed, added or removed an amount since, nothing is saved (``StaleEdit``).
    """
    from plans.models import PlannedAmount

    existing = {}
    if line.pk:
        existing = {
            a.year: a for a in PlannedAmount.objects.select_for_update().filter(line_id=line.pk)
        }
        if seen_amounts is not None:
            conflicts = _amount_conflicts(existing, seen_amounts)
            if conflicts:
                current = type(line)._default_manager.get(pk=line.pk)
                raise StaleEdit(current, conflicts)
    amount_changes = []
    for year, amount in amounts.items():
        before = existing.get(year)
        after = None if amount is None else (amount.kind.value, amount.low, amount.high)
        if _amount_state(before) != after:
            amount_changes.append((year, before, amount))
    if amount_changes and line.pk and not reason.strip():
        raise ValidationError({"change_reason": MONEY_REASON_MESSAGE})

    if line.pk is None:
        create_record(instance=line, user=user, reason=reason)
    else:
        current = type(line)._default_manager.select_for_update().get(pk=line.pk)
        if current.version != expected_version:
            raise stale_edit(current, expected_version)
        if diff(current, line):
            update_record(
                instance=line, user=user, expected_version=expected_version, reason=reason
            )
        elif amount_changes:
            type(line)._default_manager.filter(pk=line.pk).update(version=F("version") + 1)
            line.version = expected_version + 1

    for year, before, amount in amount_changes:
        if amount is None:
            delete_record(instance=before, user=user, reason=reason)
            continue
        planned = before or PlannedAmount(line=line, year=year)
        planned.kind, planned.low, planned.high = amount.kind.value, amount.low, amount.high
        if before is None:
            create_record(instance=planned, user=user, reason=reason)
        else:
            update_record(
                instance=planned, user=user, expected_version=before.version, reason=reason
            )
    return line


@transaction.atomic
def save_commentary(
    *, plan, year: str, period: int, role: str, body: str, user, expected_version: int | None
):
    """The month's commentary of ``role`` on ``plan``: created, or changed if nobody saved it
    since ``expected_version`` (``StaleEdit`` otherwise). Commentary is words, never money,
    so no reason is asked."""
    from plans.models import Commentary

    existing = (
        Commentary.objects.select_for_update()
        .filter(plan=plan, year=year, period=period, role=role)
        .first()
    )
    if existing is None:
        if expected_version is not None:
            # The officer saw a commentary that has since been deleted.
            raise StaleEdit(Commentary(plan=plan, year=year, period=period, role=role), [], True)
        instance = Commentary(plan=plan, year=year, period=period, role=role, body=body)
        instance.author = user
        return create_record(instance=instance, user=user, reason="Commentary written")
    if expected_version is None:
        # Someone wrote this month's commentary while the officer was writing theirs.
        raise StaleEdit(existing, [Change("body", "commentary", "", existing.body)])
    existing.body = body
    existing.author = user
    return update_record(
        instance=existing,
        user=user,
        expected_version=expected_version,
        reason="Commentary edited",
        require_reason_for_money=False,
    )


# --------------------------------------------------------------------------------------------
# Deleted records: what went with them, and restoring them

DELETED_WITH = "Deleted with "


def _delete_with_history(instance: models.Model, user, reason: str) -> None:
    """Delete ``instance`` and what goes with it, as Django deletes it (its collector: the
    cascades, the references set to null), with every deletion in the history at one moment
    and by one person: the record's own with ``reason``, the others' "Deleted with" it, so the
    trail reads as one deletion and a restore brings them back together. The history is
    written in one statement per table and batch of keys, not one per record: a 2,000-line
    plan's 110,000 records in seconds rather than a minute."""
    model = type(instance)
    said = f"{DELETED_WITH}{model._meta.verbose_name} “{instance}”: {reason}"
    db = transaction.get_connection()
    collector = Collector(using=db.alias, origin=instance)
    try:
        collector.collect([instance])
    except (ProtectedError, RestrictedError) as exc:
        # A placement type that moves go from or to: said, never a 500.
        users = getattr(exc, "restricted_objects", None) or exc.protected_objects
        names = sorted({f"{type(o)._meta.verbose_name} {o}" for o in users})
        shown = "; ".join(names[:5]) + (f"; and {len(names) - 5} more" if len(names) > 5 else "")
        many = len(names) != 1
        raise ValidationError(
            f"{model._meta.verbose_name.capitalize()} “{instance}” cannot be deleted while "
            f"{len(names)} record{'s use' if many else ' uses'} it ({shown}). Change or delete "
            f"{'them' if many else 'it'} first."
        ) from None
    moment = timezone.now()
    with _logless_cursor(db) as cursor:
        for related, records in collector.data.items():
            if related not in History.models:  # its own signals write its history
                continue
            pks = [r.pk for r in records if not (related is model and r.pk == instance.pk)]
            _copy_to_history(cursor, related, pks, kind="-", moment=moment, reason=said, user=user)
        _copy_to_history(
            cursor, model, [instance.pk], kind="-", moment=moment, reason=reason, user=user
        )
    token = BULK_DELETING.set(True)
    try:
        collector.delete()
    finally:
        BULK_DELETING.reset(token)


RESTORED = "Restored"


@transaction.atomic
def restore_record(*, model: type[models.Model], history_id: int, user, reason: str = ""):
    """Bring back a deleted record as it was when deleted, with the records deleted with it
    (a line's planned amounts and progress, a KPI's values), under their old ids. The
    restore is in the history with its reason. Returns the restored record."""
    record = model.history.select_for_update().filter(history_id=history_id).first()
    if record is None or record.history_type != "-":
        raise ValidationError("That deletion is not recorded.")
    if model._default_manager.filter(pk=record.id).exists():
        raise ValidationError(f"This {model._meta.verbose_name} has already been restored.")
    said = f"{RESTORED}: {reason.strip()}" if reason.strip() else RESTORED
    restored = _restore_one(record, user, said[:100])
    for child_model in _plan_record_models():
        if child_model is model:
            continue
        for child in child_model.history.filter(
            history_type="-",
            history_date=record.history_date,
            history_change_reason__startswith=DELETED_WITH,
        ).order_by("history_id"):
            if not child_model._default_manager.filter(pk=child.id).exists():
                _restore_one(child, user, f"{RESTORED} with {model._meta.verbose_name}"[:100])
    from plans.models import ProgressEntry, SavingsLine

    if isinstance(restored, ProgressEntry):
        refresh_line_rag(line=restored.line, user=user, reason=said[:100])
    elif isinstance(restored, SavingsLine):
        refresh_line_rag(line=restored, user=user, reason=said[:100])
    return restored


def _restore_one(record, user, reason: str):
    instance = record.instance
    instance.version = (record.version or 0) + 1
    check_month_open(instance, user)
    try:
        instance.full_clean(validate_unique=True)
    except ValidationError as exc:
        messages = "; ".join(exc.messages)
        raise ValidationError(
            f"{instance._meta.verbose_name.capitalize()} “{instance}” cannot be restored: "
            f"{messages}"
        ) from exc
    _stamp(instance, user, reason)
    instance.save(force_insert=True)
    data_changed([instance])
    return instance


def _plan_record_models() -> list[type[models.Model]]:
    """Every model of a plan's records that keeps history, parents before children."""
    from plans import models as m

    return [
        m.Workstream,
        m.SavingsLine,
        m.PlannedAmount,
        m.ProgressEntry,
        m.OverspendForecast,
        m.CostPressure,
        m.Funding,
        m.KPI,
        m.KpiPoint,
        m.Risk,
        m.Commentary,
        m.YearAdjustment,
        m.NarrativeSection,
        m.StatedFigure,
        m.PaperDiscrepancy,
        m.PlacementType,
        m.PlacementCount,
        m.PlacementMove,
        m.PlacementScenario,
    ]


# --------------------------------------------------------------------------------------------
# The month's close: open -> submitted (finance) -> signed off (director) -> published


def month_of(instance: models.Model) -> tuple[str, str, int] | None:
    """The plan month a record's figures belong to, as (the field that says so, year, period);
    None for records that are not a month's figures (lines, KPIs, targets, risks...)."""
    from plans.models import (
        Commentary,
        CostPressure,
        KpiPoint,
        OverspendForecast,
        PlacementCount,
        PlacementMove,
        ProgressEntry,
    )

    if isinstance(instance, PlacementCount):
        # A month's count of children: its cost, and the KPIs fed from the counts.
        if instance.kind != PlacementCount.Kind.ACTUAL or not instance.type_id:
            return None
        return "period", instance.year, instance.period
    if isinstance(instance, PlacementMove):
        # A move made in a month moves that month's placement cost and its driven lines.
        if not (instance.actual_year and instance.actual_period and instance.plan_id):
            return None
        return "actual_period", instance.actual_year, instance.actual_period
    if isinstance(instance, ProgressEntry) and instance.as_at and instance.line_id:
        day = instance.as_at
        return "as_at", fiscal.financial_year(day), fiscal.period(day)
    if isinstance(instance, KpiPoint):
        if instance.kind != KpiPoint.Kind.ACTUAL or not instance.date or not instance.kpi_id:
            return None
        day = instance.date
        return "date", fiscal.financial_year(day), fiscal.period(day)
    if isinstance(instance, OverspendForecast | CostPressure | Commentary) and instance.plan_id:
        return "period", instance.year, instance.period
    return None


def closed_months(plan, **where) -> dict[tuple[str, int], str]:
    """The plan's months that are not open, (year, period) -> state: one query, for a caller
    that checks many records of one plan against ``month_lock`` (an import). ``plan``: a plan,
    its key, or a queryset of plans; ``where`` narrows the months (``year=...``)."""
    from plans.models import MonthClose

    if plan is None or getattr(plan, "pk", plan) is None:  # a plan or its key
        return {}
    plans = {"plan__in": plan} if isinstance(plan, models.QuerySet) else {"plan": plan}
    return {
        (year, period): state
        for year, period, state in MonthClose.objects.filter(**plans, **where)
        .exclude(state=MonthClose.State.OPEN)
        .values_list("year", "period", "state")
    }


def closing_month(closed: dict, year: str, period: int) -> tuple[int, str] | None:
    """The month whose close holds a month's figures read only, as (period, state): the month
    itself if it is not open; else the first later month of the year that is not, whose
    figures are read from the earlier months' (the latest forecast, each line's latest
    progress, the latest commentary): changing them would change a report submitted, signed
    off or published. None if no such month. ``closed``: ``closed_months``'s answer."""
    later = [(p, state) for (y, p), state in closed.items() if y == year and p >= period]
    return min(later) if later else None


def _check_nothing_locked_goes_with(instance: models.Model) -> None:
    """A record whose delete would take a closed month's figures with it (a line's progress,
    a KPI's actuals; a plan's whole close) is refused like a change to those figures."""
    from plans.models import KPI, KpiPoint, MonthClose, Plan, ProgressEntry, SavingsLine

    if isinstance(instance, Plan):
        if MonthClose.objects.filter(plan=instance).exclude(state=MonthClose.State.OPEN).exists():
            raise ValidationError(
                "This plan has months submitted, signed off or published, and published "
                "reports that must not change; it cannot be deleted. Mark it closed or "
                "superseded instead."
            )
        return
    if isinstance(instance, SavingsLine):
        days = ProgressEntry.objects.filter(line=instance).values_list("as_at", flat=True)
    elif isinstance(instance, KPI):
        days = KpiPoint.objects.filter(kpi=instance, kind=KpiPoint.Kind.ACTUAL).values_list(
            "date", flat=True
        )
    else:
        return
    closed = closed_months(instance.plan_id)
    for day in days if closed else []:
        year, period = fiscal.financial_year(day), fiscal.period(day)
        closing = closing_month(closed, year, period)
        if closing is not None:
            raise ValidationError(
                f"Deleting {instance} would delete its figures for "
                f"{fiscal.period_label(year, period)}. " + month_lock(None, year, period, closing)
            )


def moves_lock(instance: models.Model, driven: set[tuple[int, str]] | None = None) -> str:
    """Why ``instance``, a progress entry, may not be typed ("" if it may): its line takes
    that year's progress from its placement moves (``PlacementMove.drives``), written by
    ``sync_lines_from_moves`` alone. ``driven``: ``PlacementMove.driven(plan)``, for a
    caller that checks many entries of one plan (an import)."""
    from plans.models import PlacementMove, ProgressEntry

    if not isinstance(instance, ProgressEntry) or instance.from_moves:
        return ""
    if not (instance.line_id and instance.as_at):
        return ""
    year = fiscal.financial_year(instance.as_at)
    if driven is None:
        driven = PlacementMove.driven(instance.line.plan_id)
    if (instance.line_id, year) not in driven:
        return ""
    return (
        f"{instance.line.reference} is driven by placement moves in {year}: its achieved, "
        "forecast and RAG are written from its moves at each month end, never typed. Record "
        "when each move happened (the month-end page, or the Placement moves sheet) instead."
    )


def check_typed_progress(instance: models.Model) -> None:
    """Refuse a typed progress entry of a line its placement moves drive (``moves_lock``)."""
    locked = moves_lock(instance)
    if locked:
        raise ValidationError({"line": locked})


def check_month_open(instance: models.Model, user=None) -> None:
    """Refuse a change to a month's figures once finance has submitted the month (or a later
    month of the year, whose figures read them): the director signs off what was submitted,
    and the committee reads what was published. While the month is submitted the director
    may still write its director's commentary."""
    locked = lock_of(instance, user)
    if locked:
        raise ValidationError(locked)


def lock_of(instance: models.Model, user=None) -> str:
    """Why ``user`` may not change ``instance`` now, by ``check_month_open``'s rule ("" if
    they may): asked by the pages that offer the change, before anything is typed."""
    from plans.models import Plan, plans_of

    found = month_of(instance)
    if found is None:
        return ""
    _, year, period = found
    if not isinstance(period, int) or not isinstance(year, str):
        return ""  # full_clean names the bad field
    plans = Plan.objects.filter(plans_of([instance]))
    closed = closed_months(plans, year=year, period__gte=period)
    return month_lock(instance, year, period, closing_month(closed, year, period), user)


def month_lock(
    instance: models.Model, year: str, period: int, closing: tuple[int, str] | None, user=None
) -> str:
    """Why ``user`` may not change ``instance``, a figure of ``year``'s ``period``, now ("" if
    they may); ``closing``: the month that holds it read only (``closing_month``). The rule
    ``check_month_open`` enforces, asked by the pages that offer the change and by the
    workbook import for each row."""
    from plans.models import Commentary, MonthClose

    if closing is None:
        return ""
    closing_period, state = closing
    if (
        state == MonthClose.State.SUBMITTED
        and closing_period == period
        and isinstance(instance, Commentary)
        and instance.role == Commentary.Role.DIRECTOR
    ):
        if user is not None and (user.is_superuser or access.role_of(user) == access.DIRECTOR):
            return ""
        return (
            f"{fiscal.period_label(year, period)} has been submitted for the director's "
            "sign-off: only the director may write the director's commentary now."
        )
    said = locked_message(year, closing_period, state)
    if closing_period == period:
        return said
    return (
        f"{fiscal.period_label(year, period)} comes before "
        f"{fiscal.period_label(year, closing_period)}, whose figures read it. {said}"
    )


def locked_message(year: str, period: int, state: str) -> str:
    from plans.models import MonthClose

    label = fiscal.period_label(year, period)
    return {
        MonthClose.State.SUBMITTED: f"{label} has been submitted for the director's sign-off, "
        "so its figures are read only. Finance can withdraw the submission (or the director "
        "return it) to change them.",
        MonthClose.State.SIGNED_OFF: f"{label} is signed off, so its figures are read only. "
        "The director can return it to finance to change them.",
        MonthClose.State.PUBLISHED: f"{label} is published, so its figures are read only. "
        "Finance or the director can reopen it for a correction, published as a new version; "
        "the published report stays as it was.",
    }[state]


@dataclass(frozen=True)
class Step:
    """One step of the close: from which states, to which, and whether it needs a reason.
    The role that may take it holds the permission ``<name>_month`` (recovery.access)."""

    name: str
    label: str
    sources: tuple[str, ...]
    target: str
    needs_reason: bool
    done: str  # what the history says when no reason is given

    @property
    def permission(self) -> str:
        return f"{self.name}_month"


def _steps() -> dict[str, Step]:
    from plans.models import MonthClose

    S = MonthClose.State
    return {
        s.name: s
        for s in (
            Step("submit", "Submit for sign-off", (S.OPEN,), S.SUBMITTED, False, "Submitted"),
            Step("withdraw", "Withdraw the submission", (S.SUBMITTED,), S.OPEN, True, ""),
            Step("return", "Return to finance", (S.SUBMITTED, S.SIGNED_OFF), S.OPEN, True, ""),
            Step("signoff", "Sign off", (S.SUBMITTED,), S.SIGNED_OFF, False, "Signed off"),
            Step("publish", "Publish", (S.SIGNED_OFF,), S.PUBLISHED, False, "Published"),
            Step("reopen", "Reopen for a correction", (S.PUBLISHED,), S.OPEN, True, ""),
            # A correction of a month already signed off and published: finance (or the
            # director) publishes the corrected figures as the next version, saying why.
            Step("republish", "Publish the correction", (S.OPEN,), S.PUBLISHED, True, ""),
        )
    }


STEPS = _steps()
REASON_REQUIRED = "Say why; the reason is kept in the plan's audit trail."
REASON_TOO_LONG = "Keep the reason to 100 characters."


def _month(plan, year, period) -> tuple[str, int]:
    try:
        fiscal.validate_year(year)
    except ValidationError as exc:
        raise ValidationError({"year": exc.messages}) from exc
    if not isinstance(period, int) or not 1 <= period <= 12:
        raise ValidationError({"period": "The period must be between 1 (April) and 12 (March)."})
    return year, period


def _locked_close(plan, year: str, period: int):
    from plans.models import MonthClose

    year, period = _month(plan, year, period)
    return (
        MonthClose.objects.select_for_update().filter(plan=plan, year=year, period=period).first()
    )


def _check_step(close, plan, year, period, step: Step, expected_version, reason: str) -> None:
    from plans.models import MonthClose

    current_version = close.version if close else 0
    if expected_version is not None and expected_version != current_version:
        current = close or MonthClose(plan=plan, year=year, period=period)
        raise StaleEdit(current, [Change("state", "state", None, current.get_state_display())])
    state = close.state if close else MonthClose.State.OPEN
    if state not in step.sources:
        label = fiscal.period_label(year, period)
        raise ValidationError(
            {
                "state": f"{label} is {MonthClose.State(state).label.lower()}, so it cannot be "
                f"taken to “{step.label.lower()}” now."
            }
        )
    if step.needs_reason and not reason.strip():
        raise ValidationError({"reason": REASON_REQUIRED})
    if len(reason.strip()) > 100:
        raise ValidationError({"reason": REASON_TOO_LONG})


def _apply_step(close, plan, year, period, step: Step, user, reason: str):
    from plans.models import MonthClose

    S = MonthClose.State
    now = timezone.now()
    instance = close or MonthClose(plan=plan, year=year, period=period)
    instance.state = step.target
    # The steps after the new state are undone; the new state's own step is recorded.
    if step.target == S.OPEN:
        instance.submitted_by, instance.submitted_at = None, None
    if step.target in (S.OPEN, S.SUBMITTED):
        instance.signed_off_by, instance.signed_off_at = None, None
    if step.target != S.PUBLISHED:
        instance.published_by, instance.published_at = None, None
    if step.target == S.SUBMITTED:
        instance.submitted_by, instance.submitted_at = user, now
    elif step.target == S.SIGNED_OFF:
        instance.signed_off_by, instance.signed_off_at = user, now
    elif step.target == S.PUBLISHED:
        instance.published_by, instance.published_at = user, now
    said = reason.strip() or step.done
    if close is None:
        return create_record(instance=instance, user=user, reason=said)
    return update_record(
        instance=instance,
        user=user,
        expected_version=close.version,
        reason=said,
        require_reason_for_money=False,
    )


@transaction.atomic
def take_step(step_name: str, *, plan, year, period, user, expected_version, reason=""):
    """Take a step of the month's close that asks for no more than a reason (``STEPS`` says
    from which states and whether the reason is required): submit (finance: the figures are
    complete), withdraw (finance takes its submission back), return (the director sends a
    month back to finance), reopen (a published month reopened for a correction; what was
    published stays published until a new version replaces it)."""
    step = STEPS[step_name]
    close = _locked_close(plan, year, period)
    _check_step(close, plan, year, period, step, expected_version, reason)
    if step_name == "reopen":
        _check_correctable(plan, year, period)
    if step_name == "submit":
        _check_something_saved(plan, year, period)
    return _apply_step(close, plan, year, period, step, user, reason)


def _check_correctable(plan, year: str, period: int) -> None:
    """A published month is reopened only if its figures can then be corrected: not while a
    later month of the year, whose figures read it, is submitted, signed off or published
    (the month would open read only, stuck out of the close)."""
    later = closing_month(closed_months(plan, year=year, period__gt=period), year, period)
    if later is not None:
        from plans.models import MonthClose

        label, then = fiscal.period_label(year, period), fiscal.period_label(year, later[0])
        raise ValidationError(
            {
                "state": f"{label} cannot be corrected while {then} is "
                f"{MonthClose.State(later[1]).label.lower()}: {then}'s figures read "
                f"{label}'s. Return {then} to finance (or reopen it) first; {label}'s "
                "published report stands meanwhile."
            }
        )


def _check_something_saved(plan, year: str, period: int) -> None:
    """A month goes to the director only with figures of its own (``selectors.month_recorded``,
    the as-at rule's records). Submitted empty, its dashboard would state the month before's
    figures as the month's."""
    from plans.selectors import month_recorded

    if not month_recorded(plan, year, period):
        label = fiscal.period_label(year, period)
        raise ValidationError(
            {
                "state": f"Nothing is saved for {label} yet: no line's progress, overspend "
                f"forecast, KPI actual or placement count of {label}. Save the month's figures "
                "(the month-end page) before submitting it."
            }
        )


submit_month = functools.partial(take_step, "submit")
withdraw_month = functools.partial(take_step, "withdraw")
return_month = functools.partial(take_step, "return")
reopen_month = functools.partial(take_step, "reopen")


@transaction.atomic
def sign_off_month(
    *,
    plan,
    year: str,
    period: int,
    user,
    expected_version: int | None,
    commentary: str,
    commentary_version: int | None,
    reason: str = "",
):
    """The director signs off a submitted month with the director's commentary for it (saved
    here if it is new or changed)."""
    from plans.models import Commentary

    step = STEPS["signoff"]
    close = _locked_close(plan, year, period)
    _check_step(close, plan, year, period, step, expected_version, reason)
    body = (commentary or "").strip()
    if not body:
        label = fiscal.period_label(year, period)
        raise ValidationError(
            {"commentary": f"Write the director's commentary for {label} to sign it off."}
        )
    existing = Commentary.objects.filter(
        plan=plan, year=year, period=period, role=Commentary.Role.DIRECTOR
    ).first()
    if existing is None or existing.body != body:
        save_commentary(
            plan=plan,
            year=year,
            period=period,
            role=Commentary.Role.DIRECTOR,
            body=body,
            user=user,
            expected_version=commentary_version,
        )
    return _apply_step(close, plan, year, period, step, user, reason)


@dataclass(frozen=True)
class Publication:
    """What the renderer of a published report is told about the version it renders."""

    plan: object
    year: str
    period: int
    number: int
    published_by: object
    published_at: object
    note: str
    previous: object  # the version it replaces (PublishedReport) or None


@dataclass(frozen=True)
class Rendered:
    figures: dict
    changes: list
    pdf: bytes
    xlsx: bytes


@transaction.atomic
def publish_month(
    *,
    plan,
    year: str,
    period: int,
    user,
    expected_version: int | None,
    render,
    note: str = "",
    step_name: str = "publish",
):
    """The director publishes a signed-off month (``step`` "publish"), or finance or the
    director publishes the correction of a month published before and reopened (``step``
    "republish", with the reason; refused when no figure differs from the version that
    stands): ``render(publication)`` (the read side's report, pack and
    workbook, as ``Rendered``) is stored as the month's next version, never to change.
    Returns the ``PublishedReport``."""
    from plans.models import PublishedReport

    step = STEPS[step_name]
    close = _locked_close(plan, year, period)
    _check_step(close, plan, year, period, step, expected_version, note)
    previous = (
        PublishedReport.objects.filter(plan=plan, year=year, period=period)
        .defer("pdf", "xlsx")
        .order_by("-number")
        .first()
    )
    if step_name == "republish" and previous is None:
        raise ValidationError(
            {
                "state": f"{fiscal.period_label(year, period)} has not been published yet: the "
                "director signs it off and publishes it first."
            }
        )
    publication = Publication(
        plan=plan,
        year=year,
        period=period,
        number=previous.number + 1 if previous else 1,
        published_by=user,
        published_at=timezone.now(),
        note=note.strip(),
        previous=previous,
    )
    rendered = render(publication)
    if previous is not None and not rendered.changes:
        # Nothing was corrected: no new version (one is published only to change what the
        # committee reads); the month goes back to published, the version it had standing.
        said = (
            f"Published again as version {previous.number}, which stands: no figure differs "
            f"from it. {note.strip()}"
        ).strip()
        _apply_step(close, plan, year, period, step, user, said)
        previous.unchanged = True  # for the page's message
        return previous
    report = PublishedReport(
        plan=plan,
        year=year,
        period=period,
        number=publication.number,
        published_by=user,
        published_at=publication.published_at,
        note=publication.note,
        figures=rendered.figures,
        changes=rendered.changes,
        pdf=rendered.pdf,
        xlsx=rendered.xlsx,
    )
    report.full_clean()
    report.save()
    said = note.strip() or f"Published version {publication.number}"
    _apply_step(close, plan, year, period, step, user, said)
    return report


# Placements: the month's counts and moves, and the savings lines the moves drive

MOVES_REASON = "From placement moves"


@transaction.atomic
def sync_lines_from_moves(*, plan, year: str, period: int, user, released=()) -> list:
    """Write each move-driven savings line's progress at the end of the month from its moves
    (``plans.figures.placements``): achieved to date, the year's forecast and the RAG that
    late moves give it. The figures are the moves'; nobody types them twice. ``released``:
    lines a deleted move drove; one no move drives now loses the entry its moves wrote."""
    from plans.figures.placements import placement_figures
    from plans.models import ProgressEntry
    from recovery import fiscal

    as_at = fiscal.period_end(year, period)
    written = []
    figures = placement_figures(plan, year, period)
    still_driven = {driven.line.pk for driven in figures.lines}
    for line_id in set(released) - still_driven:
        entry = ProgressEntry.objects.filter(
            line_id=line_id, as_at=as_at, commentary__startswith=MOVES_REASON
        ).first()
        if entry is not None:  # the moves' own entry, with no move left to give its figures
            delete_record(instance=entry, user=user, reason=MOVES_REASON)
    for driven in figures.lines:
        line = driven.line
        entry = (
            ProgressEntry.objects.select_for_update().filter(line_id=line.pk, as_at=as_at).first()
        )
        values = {
            "achieved_to_date": driven.achieved,
            "forecast": driven.forecast,
            "rag": driven.rag,
            "basis": ProgressEntry.Basis.ACHIEVED,
        }
        if entry is None:
            entry = ProgressEntry(line=line, as_at=as_at, commentary=driven.summary, **values)
            entry.entered_by = user
            entry.from_moves = True
            create_record(instance=entry, user=user, reason=MOVES_REASON)
        else:
            if not entry.commentary or entry.commentary.startswith("From placement moves"):
                values["commentary"] = driven.summary
            if all(getattr(entry, k) == v for k, v in values.items()):
                continue  # already the moves' figures: nothing written, nothing counted
            entry.from_moves = True
            version = entry.version
            for name, value in values.items():
                setattr(entry, name, value)
            entry.entered_by = user
            update_record(instance=entry, user=user, expected_version=version, reason=MOVES_REASON)
        refresh_line_rag(line=line, user=user, reason=MOVES_REASON)
        written.append(entry)
    return written


@dataclass
class MoveMade:
    """What the month-end page says of one move: when it happened (None: not yet)."""

    move_id: int
    version: int
    year: str = ""
    period: int | None = None


@transaction.atomic
def save_placement_month(
    *, plan, year: str, period: int, counts: dict, moves: list[MoveMade], user
) -> int:
    """The month's actual counts (``{type_id: (count or None, version seen or None)}``) and
    when each move happened, then the move-driven lines' progress: in one transaction, each
    record version-checked (``StaleEdit``), nothing saved if anything is refused."""
    from plans.models import PlacementCount, PlacementMove, PlacementType

    types = {t.pk: t for t in PlacementType.objects.filter(plan=plan)}
    saved = 0
    for type_id, (count, seen) in counts.items():
        ptype = types.get(type_id)
        if ptype is None:
            raise ValidationError("That placement type belongs to another plan.")
        existing = (
            PlacementCount.objects.select_for_update()
            .filter(type=ptype, year=year, period=period, kind=PlacementCount.Kind.ACTUAL)
            .first()
        )
        if existing is None:
            if seen is not None:
                raise StaleEdit(PlacementCount(type=ptype, year=year, period=period), [], True)
            if count is None:
                continue
            record = PlacementCount(type=ptype, year=year, period=period, count=count)
            record.entered_by = user
            create_record(instance=record, user=user, reason="Month-end count")
            saved += 1
        elif seen is None:
            # A colleague recorded this month's count while the officer was typing theirs.
            raise StaleEdit(existing, [Change("count", "count", None, existing.count)])
        elif count is None:
            delete_record(instance=existing, user=user, expected_version=seen, reason="Cleared")
            saved += 1
        elif count != existing.count or existing.assumed:
            # A count finance saves for the month is reported, whatever was assumed before.
            existing.count, existing.assumed = count, False
            existing.entered_by = user
            update_record(
                instance=existing, user=user, expected_version=seen, reason="Month-end count"
            )
            saved += 1
    own = {
        m.pk: m for m in PlacementMove.objects.filter(plan=plan, pk__in=[x.move_id for x in moves])
    }
    for made in moves:
        move = own.get(made.move_id)
        if move is None:
            raise ValidationError("That move belongs to another plan.")
        if (move.actual_year, move.actual_period) == (made.year, made.period):
            if move.version != made.version:
                raise stale_edit(move, made.version)
            continue
        move.actual_year, move.actual_period = made.year, made.period
        if made.year and made.period and (made.year, made.period) > (year, period):
            raise ValidationError(
                {"moves": f"{move.reference} cannot have been made after the month being saved."}
            )
        update_record(
            instance=move, user=user, expected_version=made.version, reason="Month-end moves"
        )
        saved += 1
    if saved or counts or moves:
        saved += len(sync_lines_from_moves(plan=plan, year=year, period=period, user=user))
    return saved
