"""Reads of the plans domain that pages share. Savings figures live in plans.figures."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Max, Prefetch

from plans.models import (
    CostPressure,
    KpiPoint,
    OverspendForecast,
    PlacementCount,
    PlacementMove,
    Plan,
    PlannedAmount,
    ProgressEntry,
    SavingsLine,
)
from recovery import fiscal
from recovery.money import Amount, AmountKind


def _records_of_months(plan: Plan):
    """What makes a month recorded (the as-at rule, and what finance submits): records with
    a month, ``(queryset, year field, period field)``, and records with a day, ``(queryset,
    date field)``. A month with only its actual counts recorded, or a move made, is a month
    recorded: a KPI fed from the counts has its actual then."""
    by_month = [
        (OverspendForecast.objects.filter(plan=plan), "year", "period"),
        # A cost the paper projects is no figure recorded for its month.
        (CostPressure.objects.filter(plan=plan, projected=False), "year", "period"),
        (
            PlacementCount.objects.filter(type__plan=plan, kind=PlacementCount.Kind.ACTUAL),
            "year",
            "period",
        ),
        (
            PlacementMove.objects.filter(plan=plan, actual_period__isnull=False),
            "actual_year",
            "actual_period",
        ),
    ]
    by_day = [
        (ProgressEntry.objects.filter(line__plan=plan), "as_at"),
        (KpiPoint.objects.filter(kpi__plan=plan, kind=KpiPoint.Kind.ACTUAL), "date"),
    ]
    return by_month, by_day


def month_recorded(plan: Plan, year: str, period: int) -> bool:
    """Whether anything is recorded for the month (``_records_of_months``)."""
    by_month, by_day = _records_of_months(plan)
    day = fiscal.period_end(year, period)
    return any(qs.filter(**{y: year, p: period}).exists() for qs, y, p in by_month) or any(
        qs.filter(**{d: day}).exists() for qs, d in by_day
    )


def recorded_months(plan: Plan) -> dict[str, int]:
    """``{year: latest period}`` with anything recorded for the plan: a progress entry, an
    overspend forecast, a KPI actual, a cost pressure, an actual placement count or a
    placement move made. Four queries.

    This is the as-at rule every page follows (DESIGN.md): a page opens on the latest month
    with anything recorded; the month-end page on the month after it.
    """
    latest: dict[str, int] = {}

    def found(year: str, p: int) -> None:
        latest[year] = max(latest.get(year, 0), p)

    def by_year(qs, year="year", period="period"):
        return qs.values_list(year).annotate(p=Max(period)).order_by()

    # The records of a month, two kinds to a query: the forecasts and pressures, then the
    # placements' counts and moves made.
    (forecasts, pressures, counts, moves), (progress, actuals) = _records_of_months(plan)
    for first, second in ((forecasts, pressures), (counts, moves)):
        for year, p in by_year(*first).union(by_year(*second)):
            found(year, p)
    rows = progress[0].values_list("year")
    for _year, day in rows.annotate(d=Max(progress[1])).order_by():
        found(fiscal.financial_year(day), fiscal.period(day))
    for day in actuals[0].values_list(actuals[1], flat=True).distinct().order_by():
        found(fiscal.financial_year(day), fiscal.period(day))
    return dict(sorted(latest.items()))


def as_at_month(plan: Plan, recorded: dict[str, int] | None = None) -> tuple[str, int]:
    """The month a plan's pages open on: the latest with anything recorded; with nothing
    recorded, the month of the paper (``published_on``), else the plan's first month."""
    recorded = recorded_months(plan) if recorded is None else recorded
    if recorded:
        year = max(recorded)
        return year, recorded[year]
    if plan.published_on:
        return fiscal.financial_year(plan.published_on), fiscal.period(plan.published_on)
    return plan.first_year, 1


def month_after(year: str, p: int) -> tuple[str, int]:
    if p < 12:
        return year, p + 1
    return fiscal.year_label(fiscal.year_start_int(year) + 1), 1


def month_end_month(plan: Plan) -> tuple[str, int]:
    """The month the month-end page opens on: the one after the as-at month, held to the
    plan's years."""
    year, p = month_after(*as_at_month(plan))
    if year < plan.first_year:
        return plan.first_year, 1
    if year > plan.last_year:
        return plan.last_year, 12
    return year, p


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
    latest: dict | None = None  # set by the page from plans.figures.latest_achieved


def lines_by_year(plan: Plan) -> tuple[list[str], list[LineRow]]:
    """The plan's savings lines with their planned amount in each year. Two queries. Progress
    figures come from the figure module's one "latest progress" rule, not from here."""
    years = plan.years
    lines = (
        SavingsLine.objects.filter(plan=plan)
        .select_related("workstream")
        .prefetch_related(
            Prefetch("amounts", queryset=PlannedAmount.objects.order_by("year")),
        )
        .order_by("workstream__order", "order", "reference")
    )
    rows = []
    for line in lines:
        by_year = {a.year: a for a in line.amounts.all()}
        rows.append(LineRow(line=line, cells=[amount_of(by_year.get(y)) for y in years]))
    return years, rows


def deletions(plan) -> list[dict]:
    """Every record of ``plan`` deleted through the app, newest first: when, who, what, why,
    what was deleted with it (a line's amounts and progress) and whether it can be restored
    (the latest deletion of a record that is not back already). A fixed number of queries:
    two per kind of record, whatever the number of deletions."""
    from collections import Counter, defaultdict

    from plans.audit import SOURCES
    from plans.services import DELETED_WITH

    rows, went_with = [], defaultdict(Counter)
    for source in SOURCES:
        if source.key in {"plan", "month"}:
            continue
        found = list(
            source.history(plan)
            .filter(history_type="-")
            .select_related("history_user")
            .order_by("-history_id")
        )
        present = set(
            source.model._default_manager.filter(pk__in={r.id for r in found}).values_list(
                "pk", flat=True
            )
        )
        seen = set()
        for record in found:
            reason = record.history_change_reason or ""
            if reason.startswith(DELETED_WITH):
                went_with[record.history_date][source.model] += 1
                continue
            rows.append(
                {
                    "when": record.history_date,
                    "who": record.history_user,
                    "kind": str(source.model._meta.verbose_name),
                    "kind_key": source.key,
                    "history_id": record.history_id,
                    "what": _describe(record),
                    "reason": reason,
                    "restorable": record.id not in present and record.id not in seen,
                }
            )
            seen.add(record.id)
    for row in rows:
        row["with"] = sorted(
            (str(model._meta.verbose_name if n == 1 else model._meta.verbose_name_plural), n)
            for model, n in went_with.get(row["when"], {}).items()
        )
    return sorted(rows, key=lambda row: row["when"], reverse=True)


def _describe(record) -> str:
    """A deleted record's own words, without touching its (possibly deleted) parents."""
    for name in ("reference", "title", "name", "heading", "label", "subject"):
        value = getattr(record, name, "")
        if value:
            return str(value)
    for name in ("as_at", "date"):
        value = getattr(record, name, None)
        if value:
            return f"{getattr(record, 'kind', 'entry')} at {value:%-d %b %Y}".capitalize()
    year, period = getattr(record, "year", ""), getattr(record, "period", None)
    if year and period:
        return fiscal.period_label(year, period)
    return str(year) if year else f"#{record.id}"


# --------------------------------------------------------------------------------------------
# The month's close and published reports


def month_closes(plan) -> list:
    """Every month of the plan that has left "open" at least once, newest first."""
    from plans.models import MonthClose

    return list(
        MonthClose.objects.filter(plan=plan)
        .select_related("submitted_by", "signed_off_by", "published_by")
        .order_by("-year", "-period")
    )


def published_reports(plans):
    """Published reports of ``plans`` (a queryset the user may read), newest month and version
    first, without their stored files."""
    from plans.models import PublishedReport

    return (
        PublishedReport.objects.filter(plan__in=plans)
        .defer("pdf", "xlsx", "figures", "changes")
        .select_related("plan", "plan__authority", "published_by")
        .order_by("plan__authority__name", "plan__title", "-year", "-period", "-number")
    )


def latest_published(plan, year: str | None = None, period: int | None = None):
    """The latest version of the month asked for (or of the latest month published)."""
    from plans.models import PublishedReport

    found = PublishedReport.objects.filter(plan=plan)
    if year is not None:
        found = found.filter(year=year, period=period)
    return found.defer("pdf", "xlsx").order_by("-year", "-period", "-number").first()
