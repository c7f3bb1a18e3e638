"""A plan's savings per financial year (planned, adjusted, achieved, anticipated, gap), the
slippage behind them, and the reconciliation of a paper's stated totals with the computed ones.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count, OuterRef, Q, Subquery, Sum

from dashboards.figures._base import ZERO, _ids
from plans.models import CostPressure, PlannedAmount, ProgressEntry, StatedFigure, YearAdjustment
from recovery.money import PENNY, to_decimal

# --------------------------------------------------------------------------------------------
# Planned, adjusted, achieved, gap per plan and year


@dataclass
class YearTotals:
    """The headline savings figures of one plan (or a set of plans) for one financial year."""

    year: str
    planned_low: Decimal = ZERO
    planned_high: Decimal = ZERO
    tbc_lines: int = 0
    lines: int = 0
    factor: Decimal = Decimal("1")
    adjusted_low: Decimal = ZERO
    adjusted_high: Decimal = ZERO
    achieved: Decimal = ZERO
    anticipated: Decimal = ZERO  # recorded as achievable, not yet achieved
    forecast: Decimal = ZERO
    lines_with_progress: int = 0

    @property
    def is_range(self) -> bool:
        return self.planned_low != self.planned_high

    @property
    def gap_low(self) -> Decimal:
        """Planned (low) minus achieved: what is still to find."""
        return self.planned_low - self.achieved

    @property
    def gap_high(self) -> Decimal:
        return self.planned_high - self.achieved

    def add(self, other: YearTotals) -> None:
        for name in (
            "planned_low",
            "planned_high",
            "adjusted_low",
            "adjusted_high",
            "achieved",
            "anticipated",
            "forecast",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.tbc_lines += other.tbc_lines
        self.lines += other.lines
        self.lines_with_progress += other.lines_with_progress

    def as_json(self) -> dict:
        return {
            "planned_low": str(self.planned_low),
            "planned_high": str(self.planned_high),
            "tbc_lines": self.tbc_lines,
            "adjusted_low": str(self.adjusted_low),
            "adjusted_high": str(self.adjusted_high),
            "achieved": str(self.achieved),
            "anticipated": str(self.anticipated),
            "gap_low": str(self.gap_low),
            "gap_high": str(self.gap_high),
        }


def _latest_entry_with(field: str, as_at: date | None = None) -> Subquery:
    """The pk of the outer entry's line's latest entry in its year (up to ``as_at``) that
    records ``field``, for filtering progress entries.

    Each figure follows the latest entry that records it: a later entry with a comment or a
    RAG only (its amounts blank) neither wipes nor zeroes what was recorded before it.
    """
    newer = ProgressEntry.objects.filter(
        line=OuterRef("line"), year=OuterRef("year"), **{f"{field}__isnull": False}
    )
    if as_at is not None:
        newer = newer.filter(as_at__lte=as_at)
    return Subquery(newer.order_by("-as_at").values("pk")[:1])


def latest_progress(plan_ids: Iterable[int], as_at: date | None = None):
    """The latest progress entry of each line in each year (up to ``as_at``) that records an
    achieved to date, as a queryset: the entry behind the line's achieved (or achievable)
    figure. Entries without an amount (a comment or a RAG only) are passed over."""
    entries = ProgressEntry.objects.filter(
        line__plan_id__in=list(plan_ids), achieved_to_date__isnull=False
    )
    if as_at is not None:
        entries = entries.filter(as_at__lte=as_at)
    return entries.filter(pk=_latest_entry_with("achieved_to_date", as_at))


def year_totals(plans, *, as_at: date | None = None) -> dict[int, dict[str, YearTotals]]:
    """``{plan_id: {"2017/18": YearTotals}}`` for every year of every plan. Three queries.

    Only lines that count towards the plan's target are included (see
    ``SavingsLine.counts_towards_target``). Achieved is the achieved to date of each line's
    latest entry in the year that records one (an entry marked achievable counts as
    anticipated); the forecast is that of its latest entry that records a forecast. Lines with
    progress counts every line with any entry in the year.
    """
    plan_list = list(plans)
    ids = _ids(plan_list)
    result: dict[int, dict[str, YearTotals]] = {pid: {} for pid in ids}
    for plan in plan_list:
        if not isinstance(plan, int):
            for year in plan.years:
                result[plan.pk][year] = YearTotals(year)

    def slot(pid, year) -> YearTotals:
        return result[pid].setdefault(year, YearTotals(year))

    counting = Q(line__counts_towards_target=True)
    planned = (
        PlannedAmount.objects.filter(counting, line__plan_id__in=ids)
        .values("line__plan_id", "year")
        .annotate(
            low=Sum("low"),
            high=Sum("high"),
            tbc=Count("pk", filter=Q(kind=PlannedAmount.Kind.TBC)),
            n=Count("line", distinct=True),
        )
    )
    for row in planned:
        t = slot(row["line__plan_id"], row["year"])
        t.planned_low, t.planned_high = to_decimal(row["low"]), to_decimal(row["high"])
        t.tbc_lines, t.lines = row["tbc"], row["n"]

    for adj in YearAdjustment.objects.filter(plan_id__in=ids).values("plan_id", "year", "factor"):
        slot(adj["plan_id"], adj["year"]).factor = adj["factor"]

    entries = ProgressEntry.objects.filter(counting, line__plan_id__in=ids)
    if as_at is not None:
        entries = entries.filter(as_at__lte=as_at)
    achieved_entry = Q(pk=_latest_entry_with("achieved_to_date", as_at))
    forecast_entry = Q(pk=_latest_entry_with("forecast", as_at))
    Basis = ProgressEntry.Basis
    progress = (
        entries.values("line__plan_id", "year")
        .annotate(
            achieved=Sum("achieved_to_date", filter=achieved_entry & Q(basis=Basis.ACHIEVED)),
            anticipated=Sum("achieved_to_date", filter=achieved_entry & Q(basis=Basis.ACHIEVABLE)),
            forecast=Sum("forecast", filter=forecast_entry),
            n=Count("line", distinct=True),
        )
        .order_by()
    )
    for row in progress:
        t = slot(row["line__plan_id"], row["year"])
        t.achieved = to_decimal(row["achieved"])
        t.anticipated = to_decimal(row["anticipated"])
        t.forecast = to_decimal(row["forecast"])
        t.lines_with_progress = row["n"]

    for years in result.values():
        for t in years.values():
            t.adjusted_low = (t.planned_low * t.factor).quantize(PENNY)
            t.adjusted_high = (t.planned_high * t.factor).quantize(PENNY)
    for pid in result:
        result[pid] = dict(sorted(result[pid].items()))
    return result


@dataclass
class PlanTotals:
    """A plan's savings across all its years, for lists and overviews."""

    years: dict[str, YearTotals]
    total: YearTotals = field(default_factory=lambda: YearTotals("all"))

    def __post_init__(self):
        for t in self.years.values():
            self.total.add(t)


def plan_totals(plans, *, as_at: date | None = None) -> dict[int, PlanTotals]:
    return {pid: PlanTotals(years) for pid, years in year_totals(plans, as_at=as_at).items()}


# --------------------------------------------------------------------------------------------
# Slippage and reconciliation


def slippage_by_year(plans) -> dict[int, dict[str, Decimal]]:
    """Total cost pressure of slipped actions per plan and year. One query."""
    out: dict[int, dict[str, Decimal]] = defaultdict(dict)
    rows = (
        CostPressure.objects.filter(plan_id__in=_ids(plans), kind=CostPressure.Kind.SLIPPAGE)
        .values("plan_id", "year")
        .annotate(total=Sum("amount"))
    )
    for row in rows:
        out[row["plan_id"]][row["year"]] = to_decimal(row["total"])
    return out


@dataclass
class Reconciliation:
    """A paper's stated figure beside the figure computed from its lines."""

    key: str
    label: str
    year: str
    stated_text: str
    stated_low: Decimal | None
    stated_high: Decimal | None
    computed_low: Decimal | None
    computed_high: Decimal | None
    notes: str = ""

    @property
    def checked(self) -> bool:
        return self.computed_low is not None

    @property
    def difference(self) -> Decimal | None:
        if not self.checked or self.stated_low is None:
            return None
        return self.computed_low - self.stated_low

    @property
    def agrees(self) -> bool | None:
        if not self.checked or self.stated_low is None:
            return None
        high_ok = (
            self.stated_high is None
            or self.computed_high is None
            or self.stated_high == self.computed_high
        )
        return self.stated_low == self.computed_low and high_ok


def reconcile(plan, *, totals: PlanTotals | None = None) -> list[Reconciliation]:
    """Set every stated total of the plan beside the computed one. Five queries at most."""
    totals = totals or plan_totals([plan])[plan.pk]
    slippage = slippage_by_year([plan]).get(plan.pk, {})
    line_sums = {
        row["line_id"]: (to_decimal(row["low"]), to_decimal(row["high"]))
        for row in PlannedAmount.objects.filter(line__plan=plan)
        .values("line_id")
        .annotate(low=Sum("low"), high=Sum("high"))
    }
    line_progress: dict[tuple[int, str], tuple[Decimal, Decimal]] = {}
    for entry in latest_progress([plan.pk]).values("line_id", "year", "achieved_to_date", "basis"):
        amount = to_decimal(entry["achieved_to_date"])
        achieved = amount if entry["basis"] == ProgressEntry.Basis.ACHIEVED else ZERO
        line_progress[(entry["line_id"], entry["year"])] = (achieved, amount)
    out = []
    M = StatedFigure.Measure
    for figure in StatedFigure.objects.filter(plan=plan).order_by("year", "key"):
        low = high = None
        year_t = totals.years.get(figure.year) if figure.year else totals.total
        if figure.line_id and figure.measure in (M.ACHIEVED, M.ANTICIPATED):
            achieved, anticipated = line_progress.get((figure.line_id, figure.year), (ZERO, ZERO))
            low = high = achieved if figure.measure == M.ACHIEVED else anticipated
        elif figure.measure == M.PLANNED and year_t:
            low, high = year_t.planned_low, year_t.planned_high
        elif figure.measure == M.ADJUSTED and year_t:
            low, high = year_t.adjusted_low, year_t.adjusted_high
        elif figure.measure == M.ACHIEVED and year_t:
            low = high = year_t.achieved
        elif figure.measure == M.ANTICIPATED and year_t:
            low = high = year_t.achieved + year_t.anticipated
        elif figure.measure == M.GAP and year_t:
            low, high = year_t.gap_low, year_t.gap_high
        elif figure.measure == M.SLIPPAGE:
            value = slippage.get(figure.year) if figure.year else sum(slippage.values(), ZERO)
            low = high = value
        elif figure.measure == M.LINE_TOTAL and figure.line_id in line_sums:
            low, high = line_sums[figure.line_id]
        out.append(
            Reconciliation(
                key=figure.key,
                label=figure.label,
                year=figure.year,
                stated_text=figure.stated_text,
                stated_low=figure.low,
                stated_high=figure.high if figure.high is not None else figure.low,
                computed_low=low,
                computed_high=high,
                notes=figure.notes,
            )
        )
    return out
