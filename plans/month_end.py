"""The month-end update: every savings line, the month's overspend forecast and the KPI
actuals for one plan and one period, read in a fixed number of queries and saved in one
transaction."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from plans import services
from plans.figures import placements as pl
from plans.figures.kpis import derived_actuals
from plans.figures.money_position import headline_series
from plans.figures.rules import (
    latest_recording,
    next_dated_target,
    target_in_force,
    undated_goal,
)
from plans.models import (
    KPI,
    KpiPoint,
    OverspendForecast,
    PlacementCount,
    PlacementMove,
    PlacementType,
    Plan,
    PlannedAmount,
    ProgressEntry,
    SavingsLine,
    derived_actual_message,
)
from plans.selectors import amount_of
from recovery import fiscal
from recovery.money import Amount


@dataclass
class LineMonth:
    line: SavingsLine
    target: Amount | None
    previous: ProgressEntry | None  # latest entry before this month
    current: ProgressEntry | None  # this month's entry, if already recorded
    earlier: list[ProgressEntry] = field(default_factory=list)  # entries before this month
    # A colleague's entry for this month, saved after the officer opened the page (a conflict)
    theirs: ProgressEntry | None = None

    def latest_before(self, having: str, year: str | None = None) -> ProgressEntry | None:
        """The latest earlier entry recording ``having`` (in ``year``), by the figure
        module's one "latest progress" rule: a comment-only entry hides no figure."""
        entries = [e for e in self.earlier if year is None or e.year == year]
        return latest_recording(entries, date.max, having)

    @property
    def previous_achieved(self) -> ProgressEntry | None:
        return self.latest_before("achieved_to_date")

    @property
    def previous_forecast(self) -> ProgressEntry | None:
        return self.latest_before("forecast")

    @property
    def previous_rated(self) -> ProgressEntry | None:
        return self.latest_before("rag")

    def carried(self, year: str) -> dict:
        """What the line last recorded, offered on a new month's page as a hint and saved for
        the month only if the officer confirms it ("same as last recorded"): achieved to date
        and the year's forecast from the year's latest entry recording each (achieved is
        cumulative within the year), the RAG from the latest rated entry. A figure never
        recorded is absent, never zero."""
        out = {}
        achieved = self.latest_before("achieved_to_date", year)
        if achieved is not None:
            out.update(achieved_to_date=achieved.achieved_to_date, basis=achieved.basis)
        forecast = self.latest_before("forecast", year)
        if forecast is not None:
            out["forecast"] = forecast.forecast
        rated = self.previous_rated
        if rated is not None:
            out["rag"] = rated.rag
        return out

    def confirm_carried(self, year: str, typed: dict) -> dict:
        """``typed`` (achieved_to_date, basis, forecast, rag) with each box the officer left
        blank filled from ``carried``: the officer chose to carry last month's figures
        forward. What they typed always wins."""
        carried = self.carried(year)
        out = dict(typed)
        if out.get("achieved_to_date") is None and "achieved_to_date" in carried:
            out["achieved_to_date"] = carried["achieved_to_date"]
            out["basis"] = carried["basis"]
        if out.get("forecast") is None and "forecast" in carried:
            out["forecast"] = carried["forecast"]
        if not out.get("rag") and "rag" in carried:
            out["rag"] = carried["rag"]
        return out

    @property
    def rag_changed(self) -> bool:
        rated = self.previous_rated
        if self.current is None or rated is None:
            return False
        return bool(self.current.rag and self.current.rag != rated.rag)


@dataclass
class KpiMonth:
    kpi: KPI
    previous: KpiPoint | None
    current: KpiPoint | None
    target: KpiPoint | None
    # A KPI fed from the placement counts: its values up to the month (date, value), from
    # the counts already saved. It has no box: its actual is not typed.
    from_counts: list[tuple[date, Decimal]] | None = None
    month_end: date | None = None
    theirs: KpiPoint | None = None  # saved by a colleague after the page was opened

    @property
    def derived(self) -> bool:
        return self.kpi.derived

    @property
    def counted_before(self) -> tuple[date, Decimal] | None:
        earlier = [v for v in self.from_counts or [] if v[0] < self.month_end]
        return earlier[-1] if earlier else None

    @property
    def counted_now(self) -> Decimal | None:
        now = [v for d, v in self.from_counts or [] if d == self.month_end]
        return now[-1] if now else None


@dataclass
class CountMonth:
    """A placement type: its latest actual count before the month and this month's."""

    type: PlacementType
    previous: PlacementCount | None
    current: PlacementCount | None
    theirs: PlacementCount | None = None  # saved by a colleague after the page was opened


@dataclass
class MonthEnd:
    plan: Plan
    year: str
    period: int
    as_at: date
    lines: list[LineMonth] = field(default_factory=list)
    forecast: OverspendForecast | None = None
    previous_forecast: OverspendForecast | None = None
    forecast_area: str = ""  # the service area the month's forecast continues ("": whole)
    kpis: list[KpiMonth] = field(default_factory=list)
    counts: list[CountMonth] = field(default_factory=list)
    # Moves not made before this month: due, late, or made this month (or later).
    moves: list[PlacementMove] = field(default_factory=list)
    # Lines with moves planned in the year: their month comes from the moves, not typed.
    driven: set[int] = field(default_factory=set)
    forecast_theirs: bool = False  # the forecast was saved by a colleague meanwhile

    @property
    def label(self) -> str:
        return fiscal.period_label(self.year, self.period)


# Lines per page of the month-end page: a 2,000-line plan is 40 pages of 50, each small and
# read in the same number of queries, rather than one page of 2,000 line forms.
LINES_PER_PAGE = 50


def plan_lines(plan: Plan):
    """Every savings line of the plan in the page's order (workstream, then the paper's)."""
    return (
        SavingsLine.objects.filter(plan=plan)
        .select_related("workstream")
        .order_by("workstream__order", "workstream_id", "order", "reference", "pk")
    )


def load(plan: Plan, year: str, period: int, lines: list[SavingsLine] | None = None) -> MonthEnd:
    """Everything the month-end page shows for ``lines`` (a page of them; every line of the
    plan if None). Six queries whatever the number of lines."""
    as_at = fiscal.period_end(year, period)
    month = MonthEnd(plan=plan, year=year, period=period, as_at=as_at)
    if lines is None:
        lines = list(plan_lines(plan))
    ids = [line.pk for line in lines]
    targets = {
        a.line_id: a
        for a in PlannedAmount.objects.filter(line__plan=plan, line_id__in=ids, year=year)
    }
    entries: dict[int, list[ProgressEntry]] = {}
    for e in (
        ProgressEntry.objects.filter(line__plan=plan, line_id__in=ids, as_at__lte=as_at)
        .select_related("entered_by")
        .order_by("as_at")
    ):
        entries.setdefault(e.line_id, []).append(e)
    for line in lines:
        history = entries.get(line.pk, [])
        current = history[-1] if history and history[-1].as_at == as_at else None
        earlier = [e for e in history if e.as_at < as_at]
        month.lines.append(
            LineMonth(
                line,
                amount_of(targets.get(line.pk)),
                earlier[-1] if earlier else None,
                current,
                earlier,
            )
        )

    base = list(_base_forecasts(plan, year, period).order_by("period"))
    month.forecast_area = forecast_area(base)
    forecasts = [f for f in base if f.service_area == month.forecast_area]
    if forecasts and forecasts[-1].period == period:
        month.forecast = forecasts.pop()
    month.previous_forecast = forecasts[-1] if forecasts else None

    kpis = list(KPI.objects.filter(plan=plan).order_by("order", "name"))
    points: dict[int, list[KpiPoint]] = {}
    for p in KpiPoint.objects.filter(kpi__plan=plan).order_by("date"):
        points.setdefault(p.kpi_id, []).append(p)
    for kpi in kpis:
        pts = points.get(kpi.pk, [])
        actuals = [p for p in pts if p.kind == KpiPoint.Kind.ACTUAL and p.date <= as_at]
        current = actuals[-1] if actuals and actuals[-1].date == as_at else None
        earlier = [p for p in actuals if p.date < as_at]
        targets = [p for p in pts if p.kind == KpiPoint.Kind.TARGET]
        # The target in force at the month's end (the figure module's rule), else the next
        # dated one, else a goal the paper gives no date.
        target = (
            target_in_force(targets, as_at)
            or next_dated_target(targets, as_at)
            or undated_goal(targets)
        )
        month.kpis.append(
            KpiMonth(kpi, earlier[-1] if earlier else None, current, target, month_end=as_at)
        )
    data = _load_placements(month)
    for row in month.kpis:
        if row.kpi.derived:
            row.from_counts = [v for v in derived_actuals(row.kpi, data) if v[0] <= as_at]
    return month


def _load_placements(month: MonthEnd) -> pl.PlacementData:
    """The month's placement counts and the moves still to record. Three queries. Returns
    the actual counts and every move as the placement figures read them (for the KPIs fed
    from the counts)."""
    plan, year, period = month.plan, month.year, month.period
    types = list(PlacementType.objects.filter(plan=plan).order_by("order", "name", "pk"))
    by_type: dict[int, list[PlacementCount]] = {}
    actuals = PlacementCount.objects.filter(type__plan=plan, kind=PlacementCount.Kind.ACTUAL)
    here = month_key(year, period)
    series: dict[tuple[int, str], list[tuple[int, int]]] = {}
    for c in actuals.order_by("year", "period"):
        series.setdefault((c.type_id, c.kind), []).append(
            (pl.month_index(c.year, c.period), c.count)
        )
        if month_key(c.year, c.period) <= here:
            by_type.setdefault(c.type_id, []).append(c)
    for t in types:
        counts = by_type.get(t.pk, [])
        current = (
            counts[-1]
            if counts and (counts[-1].year, counts[-1].period) == (year, period)
            else None
        )
        earlier = [c for c in counts if c is not current]
        month.counts.append(CountMonth(t, earlier[-1] if earlier else None, current))
    moves = list(
        PlacementMove.objects.filter(plan=plan)
        .select_related("from_type", "to_type", "line")
        .order_by("planned_year", "planned_period", "reference", "pk")
    )
    for move in moves:
        if move.drives(year):
            month.driven.add(move.line_id)
        made = month_key(move.actual_year, move.actual_period) if move.actual_year else None
        if made is not None and made >= here:
            month.moves.append(move)  # made this month or later: its month may be corrected
        elif made is None and move.planned_year <= year:
            month.moves.append(move)  # due this year or before; a later year's move waits

    return pl.PlacementData(types=types, counts=series, moves=moves)


def month_key(year: str, period: int) -> tuple[str, int]:
    return (year, period)


@dataclass
class LineInput:
    line_id: int
    version: int | None  # version of this month's entry the officer saw (None: there was none)
    achieved_to_date: Decimal | None
    forecast: Decimal | None
    rag: str
    commentary: str
    basis: str = ProgressEntry.Basis.ACHIEVED


@dataclass
class ForecastInput:
    version: int | None
    budget: Decimal | None
    forecast_outturn: Decimal | None
    commentary: str


@dataclass
class PlacementInput:
    """The month's actual counts (``{type_id: (count or None, version seen)}``) and when each
    move shown was made (``services.MoveMade``)."""

    counts: dict
    moves: list


@dataclass
class KpiInput:
    kpi_id: int
    version: int | None
    value: Decimal | None


def _blank(row: LineInput) -> bool:
    return (
        row.achieved_to_date is None
        and row.forecast is None
        and not row.rag
        and not row.commentary.strip()
    )


@transaction.atomic
def save(
    *,
    plan: Plan,
    year: str,
    period: int,
    user,
    lines: list[LineInput],
    forecast: ForecastInput | None,
    kpis: list[KpiInput],
    placements: PlacementInput | None = None,
    reason: str = "",
) -> int:
    """Record the month for every line, the forecast and KPI actuals; all or nothing.

    Raises ``services.StaleEdit`` if anyone saved one of these records after the page was
    opened (nothing is saved then), ``ValidationError`` for bad input: its ``each`` lists
    every record refused, each tagged with its ``line_id`` or ``kpi_id`` where it has one.
    """
    as_at = fiscal.period_end(year, period)
    if year not in plan.years:
        raise ValidationError(f"{year} is outside the plan's years.")
    default_reason = f"Month-end update {fiscal.period_label(year, period)}"
    # The plan's row first (its data version changes with any save): every writer of the
    # plan takes its locks in the same order, so two saves queue rather than deadlock.
    services.data_changed([plan])
    # Only the lines given (one page of the month-end page): another page's lines are neither
    # read nor locked, let alone written.
    ids = [row.line_id for row in lines]
    existing = {
        e.line_id: e
        for e in ProgressEntry.objects.select_for_update().filter(
            line__plan=plan, line_id__in=ids, as_at=as_at
        )
    }
    valid_lines = {line.pk: line for line in SavingsLine.objects.filter(plan=plan, pk__in=ids)}
    saved = 0
    unexplained = []  # lines whose money already saved for this month changes, with no reason
    # Every record the rules refuse, each said on its own boxes: the officer sees them all at
    # once, not one a save. (A refusal comes before its record is written; nothing is saved
    # when there is one, as the transaction is rolled back.)
    problems: list[ValidationError] = []
    for row in lines:
        line = valid_lines.get(row.line_id)
        if line is None:
            raise ValidationError("A savings line on this page is not part of the plan.")
        entry = existing.get(row.line_id)
        if entry is None and row.version is not None:
            raise services.StaleEdit(line, [], deleted=True)
        if entry is not None and row.version != entry.version:
            raise services.stale_edit(entry, row.version)
        if entry is None and _blank(row):
            continue
        target = copy.copy(entry) if entry else ProgressEntry(line=line, as_at=as_at)
        target.achieved_to_date = row.achieved_to_date
        target.forecast = row.forecast
        target.rag = row.rag
        target.commentary = row.commentary
        target.basis = row.basis
        try:
            if entry is None:
                target.entered_by = user
                _create_first_entry(target, user, reason or default_reason)
            else:
                changes = services.diff(entry, target)
                if not changes:
                    continue  # saved again as it was: nothing changed, nothing counted
                if services.money_changed(changes, ProgressEntry) and not reason.strip():
                    unexplained.append((line, changes))
                    continue
                target.entered_by = user
                services.save_record(
                    instance=target,
                    user=user,
                    expected_version=row.version,
                    reason=reason or default_reason,
                    require_reason_for_money=False,
                )
        except ValidationError as exc:
            exc.line_id = line.pk  # said on the line's own boxes
            problems.append(exc)
            continue
        saved += 1
        if target.rag:
            services.refresh_line_rag(line=line, user=user, reason=reason or default_reason)
    if unexplained:
        problems.append(ValidationError({"reason": [_why_message(unexplained, year, period)]}))
    explained, reason = bool(reason.strip()), reason or default_reason
    steps = []
    if forecast is not None:
        steps.append(lambda: _save_forecast(plan, year, period, forecast, user, reason, explained))
    steps += [lambda row=row: _save_kpi(plan, as_at, row, user, reason) for row in kpis]
    if placements is not None:
        steps.append(
            lambda: services.save_placement_month(
                plan=plan,
                year=year,
                period=period,
                counts=placements.counts,
                moves=placements.moves,
                user=user,
            )
        )
    for step in steps:
        try:
            saved += step()
        except ValidationError as exc:
            problems.append(exc)
    if problems:
        # Every message, for a caller that reads them together; ``each`` keeps each with the
        # record it belongs to (line_id, kpi_id), for the page to say on its own boxes.
        refused = ValidationError([message for exc in problems for message in exc.messages])
        refused.each = problems
        raise refused
    return saved


def _why_message(unexplained, year: str, period: int, model=ProgressEntry) -> str:
    """Which figures already saved for the month an officer changed without saying why:
    ``unexplained`` is ``(record, its changes)`` of ``model``."""
    money = services.money_fields(model)
    parts = [
        f"{getattr(line, 'reference', line)} "
        + (", ".join(c.said for c in changes if c.field in money) or "removed")
        for line, changes in unexplained
    ]
    return (
        f"You changed figures already saved for {fiscal.period_label(year, period)} "
        f"({'; '.join(parts)}). Say why in “Reason for changing saved figures”; the reason is "
        "kept in the history."
    )


def _unexplained_forecast(changes, year: str, period: int) -> ValidationError:
    """The month's saved forecast changed (or, with no changes, removed) with no reason."""
    message = _why_message([("Forecast", changes)], year, period, OverspendForecast)
    return ValidationError({"reason": [message]})


def _create_first_entry(entry: ProgressEntry, user, reason: str) -> None:
    """Save a line's first figures for the month, or raise ``StaleEdit`` with the colleague's.

    Two officers who opened the page before either saved both start from "no entry": the row
    lock cannot serialise them (there is no row yet), so the one who saves second meets the
    colleague's entry in the uniqueness check (or, racing on PostgreSQL, the unique index).
    That is the same conflict as a changed version, and is reported as one, with what the
    colleague saved, rather than as a mistake in the officer's own figures.
    """
    try:
        with transaction.atomic():
            services.save_record(
                instance=entry,
                user=user,
                expected_version=None,
                reason=reason,
                require_reason_for_money=False,
            )
    except (ValidationError, IntegrityError):
        theirs = ProgressEntry.objects.filter(line=entry.line, as_at=entry.as_at).first()
        if theirs is None:
            raise  # a real mistake in the figures, not a colleague's save
        raise services.StaleEdit(theirs, []) from None


def _base_forecasts(plan, year: str, period: int):
    return OverspendForecast.objects.filter(
        plan=plan, year=year, period__lte=period, scenario=OverspendForecast.Scenario.BASE
    )


def forecast_area(forecasts) -> str:
    """The service area the month's forecast continues, of the year's base-case forecasts to
    the month: the series the plan's pages head with (``money_position.headline_series``: the
    whole service if recorded, else the series with the latest month), so a month entered here
    moves against the last; the whole service ("") for a year with no forecast yet."""
    found = headline_series(forecasts)
    return found[0] if found else ""


def _save_forecast(plan, year, period, data: ForecastInput, user, reason, explained) -> int:
    """The month's forecast for its series (base scenario, ``forecast_area``): created,
    changed or, with every box cleared, removed. Changing or removing a budget or outturn
    already saved needs a reason, as a line's saved figures do; a forecast stated as an
    overspend alone (which the page does not show) is never removed from it."""
    area = forecast_area(
        _base_forecasts(plan, year, period).only("service_area", "scenario", "period")
    )
    current = (
        OverspendForecast.objects.select_for_update()
        .filter(
            plan=plan,
            year=year,
            period=period,
            scenario=OverspendForecast.Scenario.BASE,
            service_area=area,
        )
        .first()
    )
    if current is None and data.version is not None:
        raise services.StaleEdit(plan, [], deleted=True)
    if current is not None and data.version != current.version:
        raise services.stale_edit(current, data.version)
    if data.budget is None and data.forecast_outturn is None and not data.commentary.strip():
        if current is None or current.overspend is not None:
            return 0
        # Every box cleared: the month's forecast is removed.
        if not explained and current.budget is not None:
            raise ValidationError(
                {"reason": [_why_message([("Forecast", [])], year, period, OverspendForecast)]}
            )
        services.delete_record(instance=current, user=user, reason=reason)
        return 1
    if (data.budget is None) != (data.forecast_outturn is None):
        raise ValidationError(
            {"forecast_outturn": "Give both the budget and the forecast outturn, or neither."}
        )
    record = (
        copy.copy(current)
        if current
        else OverspendForecast(plan=plan, year=year, period=period, service_area=area)
    )
    if data.budget is None and record.overspend is None:
        raise ValidationError(
            {
                "budget": "Give the budget and the forecast outturn"
                + (
                    "; to remove this month's forecast, clear its commentary too."
                    if current is not None
                    else "."
                )
            }
        )
    record.budget, record.forecast_outturn = data.budget, data.forecast_outturn
    record.commentary = data.commentary
    changes = services.diff(current, record) if current is not None else None
    if current is not None and not changes:
        return 0
    if changes and not explained and services.money_changed(changes, OverspendForecast):
        raise ValidationError(
            {"reason": [_why_message([("Forecast", changes)], year, period, OverspendForecast)]}
        )
    record.entered_by = user
    services.save_record(
        instance=record,
        user=user,
        expected_version=data.version,
        reason=reason,
        require_reason_for_money=False,
    )
    return 1


def _save_kpi(plan, as_at, row: KpiInput, user, reason) -> int:
    kpi = KPI.objects.filter(plan=plan, pk=row.kpi_id).first()
    if kpi is None:
        raise ValidationError("A KPI on this page is not part of the plan.")
    if kpi.derived:
        raise ValidationError(derived_actual_message(kpi))
    current = (
        KpiPoint.objects.select_for_update()
        .filter(kpi=kpi, kind=KpiPoint.Kind.ACTUAL, date=as_at, label="")
        .first()
    )
    if current is None and row.version is not None:
        raise services.StaleEdit(kpi, [], deleted=True)
    if current is not None and row.version != current.version:
        raise services.stale_edit(current, row.version)
    if row.value is None:
        if current is not None:
            services.delete_record(instance=current, user=user, reason=reason)
            return 1
        return 0
    if current is not None and current.value == row.value:
        return 0
    point = current or KpiPoint(kpi=kpi, kind=KpiPoint.Kind.ACTUAL, date=as_at, label="")
    point.value = row.value
    point.entered_by = user
    try:
        services.save_record(
            instance=point,
            user=user,
            expected_version=row.version,
            reason=reason,
            require_reason_for_money=False,
        )
    except ValidationError as exc:
        exc.kpi_id = kpi.pk  # said on the KPI's own box
        raise
    return 1
