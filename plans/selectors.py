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


def deletions(plan) -> list[dict]:
    """Every record of ``plan`` deleted through the app, newest first: when, who, what and
    why. One query per record type, whatever the number of deletions."""
    from plans import models as m

    line_ids = m.SavingsLine.history.filter(plan_id=plan.pk).values("id")
    kpi_ids = m.KPI.history.filter(plan_id=plan.pk).values("id")
    sources = [
        (model, {"plan_id": plan.pk})
        for model in (
            m.Workstream,
            m.SavingsLine,
            m.OverspendForecast,
            m.CostPressure,
            m.Funding,
            m.KPI,
            m.Risk,
            m.Commentary,
            m.YearAdjustment,
            m.NarrativeSection,
            m.StatedFigure,
        )
    ] + [
        (m.PlannedAmount, {"line_id__in": line_ids}),
        (m.ProgressEntry, {"line_id__in": line_ids}),
        (m.KpiPoint, {"kpi_id__in": kpi_ids}),
    ]
    rows = []
    for model, where in sources:
        for record in model.history.filter(history_type="-", **where).select_related(
            "history_user"
        ):
            rows.append(
                {
                    "when": record.history_date,
                    "who": record.history_user,
                    "kind": str(model._meta.verbose_name),
                    "what": _describe(record),
                    "reason": record.history_change_reason or "",
                }
            )
    return sorted(rows, key=lambda row: row["when"], reverse=True)


def _describe(record) -> str:
    """A deleted record's own words, without touching its (possibly deleted) parents."""
    for name in ("reference", "title", "name", "heading", "label", "year"):
        value = getattr(record, name, "")
        if value:
            return str(value)
    return f"#{record.id}"
