"""Reads of the plans domain that pages share. Savings figures live in dashboards.figures."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch

from plans.models import Plan, PlannedAmount, ProgressEntry, SavingsLine
from recovery.money import Amount, AmountKind


def amount_of(planned: PlannedAmount | None) -> Amount | None:
    if planned is None:
        return None
    if planned.kind == PlannedAmount.Kind.TBC:
        return Amount.tbc()
    if planned.kind == PlannedAmount.Kind.RANGE:
        return Amount(AmountKind.RANGE, planned.low, planned.high)
    return Amount.point(planned.low)


@dataclass
class LineRow:
    line: SavingsLine
    cells: list[Amount | None]  # one per plan year
    latest: ProgressEntry | None


def lines_by_year(plan: Plan) -> tuple[list[str], list[LineRow]]:
    """The plan's savings lines with their planned amount in each year. Three queries."""
    years = plan.years
    lines = (
        SavingsLine.objects.filter(plan=plan)
        .select_related("workstream")
        .prefetch_related(
            Prefetch("amounts", queryset=PlannedAmount.objects.order_by("year")),
            Prefetch("progress", queryset=ProgressEntry.objects.order_by("-as_at")),
        )
        .order_by("workstream__order", "order", "reference")
    )
    rows = []
    for line in lines:
        by_year = {a.year: a for a in line.amounts.all()}
        progress = list(line.progress.all())
        rows.append(
            LineRow(
                line=line,
                cells=[amount_of(by_year.get(y)) for y in years],
                latest=progress[0] if progress else None,
            )
        )
    return years, rows
