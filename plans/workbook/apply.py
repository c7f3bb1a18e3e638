"""Make a ``ChangeSet``'s changes: all of them in one transaction, or none.

The plan is created or updated through ``plans.services`` (validation, version check, history).
New child records are validated when the change set is built (``full_clean`` without database
queries; uniqueness is guaranteed by matching on keys) and inserted in bulk with their history,
so a plan of 5,000 lines imports in seconds. Changed and removed records go through
``services.update_record`` / ``delete_record`` one by one, so a record someone else saved since
the preview is refused (``StaleEdit``) rather than overwritten. Any failure rolls everything
back and comes out as ``WorkbookRejected`` with the problem's place when it is known.
"""

from __future__ import annotations

from collections import defaultdict

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, models, transaction
from simple_history.utils import bulk_create_with_history

from plans import models as m
from plans import services
from plans.workbook.changes import CREATE, DELETE, UPDATE, ChangeSet, RecordChange
from plans.workbook.reader import Problem, WorkbookRejected

APPLY_ORDER = [
    m.Plan,
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
    m.YearAdjustment,
    m.StatedFigure,
    m.PaperDiscrepancy,
    m.NarrativeSection,
    m.Commentary,
]


def _sync_foreign_keys(instance: models.Model) -> None:
    """Point foreign keys at related records saved earlier in this import."""
    for f in instance._meta.concrete_fields:
        if f.is_relation and f.is_cached(instance):
            related = f.get_cached_value(instance)
            if related is not None and related.pk is not None:
                setattr(instance, f.attname, related.pk)


def apply(changes: ChangeSet, *, user, filename: str) -> m.Plan:
    """Make every change in one transaction: all of them, or none (``WorkbookRejected``)."""
    if changes.problems:
        raise WorkbookRejected(changes.problems)
    reason = f"Imported from {filename}"[:100]
    by_model: dict[type, list[RecordChange]] = defaultdict(list)
    for rc in changes.records:
        by_model[type(rc.instance)].append(rc)
    current = None
    try:
        with transaction.atomic():
            for model in APPLY_ORDER:
                group = by_model.get(model, [])
                for rc in (r for r in group if r.action == DELETE):
                    current = rc
                    services.delete_record(
                        instance=rc.instance,
                        user=user,
                        expected_version=rc.expected_version,
                        reason=reason,
                    )
                new = [r for r in group if r.action == CREATE]
                if model is m.Plan and new:
                    current = new[0]
                    services.create_record(instance=new[0].instance, user=user, reason=reason)
                elif new:
                    current = None
                    for rc in new:
                        _sync_foreign_keys(rc.instance)
                    bulk_create_with_history(
                        [r.instance for r in new],
                        model,
                        batch_size=500,
                        default_user=user,
                        default_change_reason=reason,
                    )
                for rc in (r for r in group if r.action == UPDATE):
                    current = rc
                    _sync_foreign_keys(rc.instance)
                    services.update_record(
                        instance=rc.instance,
                        user=user,
                        expected_version=rc.expected_version,
                        reason=reason,
                    )
    except services.StaleEdit:
        what = current.label if current else "the plan"
        message = (
            f"Someone changed {what} while the import ran. Nothing was imported; upload the "
            "workbook again to see the changes afresh."
        )
        raise WorkbookRejected([Problem(message, sheet=current.sheet if current else "")]) from None
    except ValidationError as exc:
        raise WorkbookRejected(_validation_problems(exc, current)) from None
    except IntegrityError as exc:
        where = f" ({current.sheet}, {current.label})" if current else ""
        raise WorkbookRejected(
            [Problem(f"The database refused the import{where}: {exc}. Nothing was imported.")]
        ) from None
    return changes.plan


def _validation_problems(exc: ValidationError, rc: RecordChange | None) -> list[Problem]:
    out = []
    for name, messages in getattr(exc, "message_dict", {NON_FIELD_ERRORS: exc.messages}).items():
        for message in messages:
            if rc is not None and rc.source is not None:
                out.append(
                    rc.source.problem(
                        name if name in rc.source.spec.by_field else None,
                        f"{message} Nothing was imported.",
                    )
                )
            else:
                out.append(
                    Problem(f"{message} Nothing was imported.", sheet=rc.sheet if rc else "")
                )
    return out
