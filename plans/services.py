"""Writes. Every change to a plan's records goes through these functions.

Each runs in a transaction, validates the record (``full_clean``), refuses a lost update (the
``version`` the editor started from must still be current), records who made the change and
why in the record's history, and leaves nothing half-saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.utils import timezone

from plans.models import is_money

MONEY_REASON_MESSAGE = "Say why this money figure changed; the reason is kept in the history."


@dataclass
class Change:
    field: str
    label: str
    old: object
    new: object


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


def diff(old: models.Model, new: models.Model) -> list[Change]:
    """Field-by-field differences between two states of a record."""
    changes = []
    for f in editable_fields(type(new)):
        before, after = getattr(old, f.attname), getattr(new, f.attname)
        if before != after:
            changes.append(Change(f.name, str(f.verbose_name), before, after))
    return changes


def money_changed(changes: list[Change], model: type[models.Model]) -> bool:
    money = {f.name for f in model._meta.concrete_fields if is_money(f)}
    return any(c.field in money and _as_decimal(c.old) != _as_decimal(c.new) for c in changes)


def _as_decimal(value):
    return None if value is None else Decimal(value)


BASELINE_REASON = "As loaded, before the first change recorded here"


def _ensure_baseline(current: models.Model) -> None:
    """Records loaded from a seed paper or fixture have no history; keep their state as it
    was before the first change, so the history can show what the change was from."""
    history = getattr(current, "history", None)
    if history is not None and not history.exists():
        type(current).history.bulk_history_create([current], default_change_reason=BASELINE_REASON)
        # Nobody made that state here: it came from a seed paper or an older system.
        history.filter(history_change_reason=BASELINE_REASON).update(history_user=None)


def _stamp(instance: models.Model, user, reason: str) -> None:
    instance._history_user = user
    instance._change_reason = reason or ""


@transaction.atomic
def create_record(*, instance: models.Model, user, reason: str = "") -> models.Model:
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
    return instance


@transaction.atomic
def create_many(model: type[models.Model], instances: list, *, user, reason: str) -> None:
    """Insert already validated new records in bulk (an import) with their history.

    One multi-row INSERT ... RETURNING per batch (as ``bulk_create`` does, without building
    its SQL value by value), then the database copies the rows just written into the history
    table: no Python object per history row."""
    if not instances:
        return
    db = transaction.get_connection()
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    prepare = [_preparer(f, db) for f in fields]
    qn = db.ops.quote_name
    table, columns = qn(model._meta.db_table), [qn(f.column) for f in fields]
    row_marks = "(" + ", ".join(["%s"] * len(fields)) + ")"
    batch = max(1, min(500, 30_000 // len(fields)))  # within SQLite's bound-variable limit
    history = model.history.model._meta.db_table
    copied = ", ".join([qn(model._meta.pk.column), *columns])
    copy_sql = (
        f"INSERT INTO {qn(history)} ({copied}, {qn('history_date')}, "
        f"{qn('history_change_reason')}, {qn('history_type')}, {qn('history_user_id')}) "
        f"SELECT {copied}, %s, %s, '+', %s FROM {table} WHERE {qn(model._meta.pk.column)} IN "
    )
    now, user_id = timezone.now(), getattr(user, "pk", None)
    with db.cursor() as cursor:
        for start in range(0, len(instances), batch):
            chunk = instances[start : start + batch]
            params = []
            for instance in chunk:
                instance.version = 1
                params.extend(p(instance) for p in prepare)
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                f"{', '.join([row_marks] * len(chunk))} RETURNING {qn(model._meta.pk.column)}",
                params,
            )
            for instance, (pk,) in zip(chunk, cursor.fetchall(), strict=True):
                instance.pk = pk
                instance._state.adding, instance._state.db = False, db.alias
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"{copy_sql}({marks})", [now, reason[:100], user_id, *(i.pk for i in chunk)]
            )


def _preparer(f: models.Field, db):
    """How one field's value goes to the database: as ``Field.get_db_prep_save`` for stamps
    and times, as it is for the text, numbers, decimals and dates that both databases' drivers
    take directly (the values were validated with ``full_clean``)."""
    if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
        return lambda obj: f.get_db_prep_save(f.pre_save(obj, True), db)
    if isinstance(f, (models.DateTimeField, models.JSONField)):
        return lambda obj: f.get_db_prep_save(getattr(obj, f.attname), db)
    name = f.attname
    return lambda obj: getattr(obj, name)


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
    _ensure_baseline(current)
    _stamp(current, user, reason or "Deleted")
    current.delete()


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
        counts[str(model._meta.verbose_name_plural)] = len(objs)
    return counts


def refresh_line_rag(*, line, user, reason: str = "") -> None:
    """A line's current RAG is that of its latest rated progress entry (its original RAG when
    no entry is rated). Called after progress is saved or deleted."""
    from plans.models import ProgressEntry

    latest = (
        ProgressEntry.objects.filter(line_id=line.pk)
        .exclude(rag="")
        .order_by("-as_at")
        .values_list("rag", flat=True)
        .first()
    )
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
# Placements: the month's counts and moves, and the savings lines the moves drive

MOVES_REASON = "From placement moves"


@transaction.atomic
def sync_lines_from_moves(*, plan, year: str, period: int, user) -> list:
    """Write each move-driven savings line's progress at the end of the month from its moves
    (``plans.figures.placements``): achieved to date, the year's forecast and the RAG that
    late moves give it. The figures are the moves'; nobody types them twice."""
    from plans.figures.placements import placement_figures
    from plans.models import ProgressEntry
    from recovery import fiscal

    as_at = fiscal.period_end(year, period)
    written = []
    for driven in placement_figures(plan, year, period).lines:
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
            create_record(instance=entry, user=user, reason=MOVES_REASON)
        else:
            version = entry.version
            for name, value in values.items():
                setattr(entry, name, value)
            if not entry.commentary or entry.commentary.startswith("From placement moves"):
                entry.commentary = driven.summary
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
        elif count != existing.count:
            existing.count = count
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
