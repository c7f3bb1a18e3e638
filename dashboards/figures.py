"""Every figure of DESIGN.md, computed once.

Pages, reports, downloads and management commands all call these functions, so they cannot
disagree. Each function aggregates in the database with a fixed number of queries whatever the
number of lines or months, and returns plain data (dataclasses of ``Decimal``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, Lag

from plans.models import (
    KPI,
    Commentary,
    CostPressure,
    Funding,
    KpiPoint,
    OverspendForecast,
    PlannedAmount,
    ProgressEntry,
    Risk,
    SavingsLine,
    StatedFigure,
    YearAdjustment,
)
from recovery import fiscal
from recovery.money import PENNY, to_decimal

ZERO = Decimal("0.00")


def _ids(plans) -> list[int]:
    return [p if isinstance(p, int) else p.pk for p in plans]


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


def latest_progress(plan_ids: Iterable[int], as_at: date | None = None):
    """The latest progress entry of each line in each year (up to ``as_at``), as a queryset."""
    entries = ProgressEntry.objects.filter(line__plan_id__in=list(plan_ids))
    newer = ProgressEntry.objects.filter(line=OuterRef("line"), year=OuterRef("year"))
    if as_at is not None:
        entries = entries.filter(as_at__lte=as_at)
        newer = newer.filter(as_at__lte=as_at)
    return entries.filter(pk=Subquery(newer.order_by("-as_at").values("pk")[:1]))


def year_totals(plans, *, as_at: date | None = None) -> dict[int, dict[str, YearTotals]]:
    """``{plan_id: {"2017/18": YearTotals}}`` for every year of every plan. Three queries.

    Only lines that count towards the plan's target are included (see
    ``SavingsLine.counts_towards_target``). Achieved is the latest progress entry's achieved
    to date for each line in the year; an entry marked achievable counts as anticipated.
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

    progress = (
        latest_progress(ids, as_at)
        .filter(counting)
        .values("line__plan_id", "year")
        .annotate(
            achieved=Sum("achieved_to_date", filter=Q(basis=ProgressEntry.Basis.ACHIEVED)),
            anticipated=Sum("achieved_to_date", filter=Q(basis=ProgressEntry.Basis.ACHIEVABLE)),
            forecast=Sum("forecast"),
            n=Count("line", distinct=True),
        )
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


# --------------------------------------------------------------------------------------------
# The rules behind the figures (DESIGN.md), as small pure functions

MONTHS = range(1, 13)
SUM_FIELD = DecimalField(max_digits=20, decimal_places=2)
RATE_PLACES = Decimal("0.1")
RAG_ORDER = ["red", "amber", "green", "blue", ""]
RAG_LABELS = {
    "red": "Red",
    "amber": "Amber",
    "green": "Green",
    "blue": "Blue – delivered",
    "": "Not rated",
}
_RAG_RANK = {"red": 0, "amber": 1, "green": 2, "blue": 3}


def months_elapsed(start_period: int | None, period: int) -> int:
    """Months a line has been delivering by the end of ``period`` (it starts in P1 unless set)."""
    return max(0, period - (start_period or 1) + 1)


def profile_value(annual, *, start_period, period, factor=Decimal(1)) -> Decimal | None:
    """Expected to date: the annual value spread evenly over the months from the start period,
    so a line starting in month m yields (13 - m)/12 of its annual value by P12, times the
    year's in-year adjustment factor."""
    if annual is None:
        return None
    return (annual * factor * months_elapsed(start_period, period) / 12).quantize(PENNY)


def slippage_cost(annual, *, start_period=None, months=1, factor=Decimal(1)) -> Decimal | None:
    """What delaying a line by ``months`` months costs: the in-year value of those months."""
    if annual is None:
        return None
    remaining = 13 - (start_period or 1)
    return (annual * factor * min(months, remaining) / 12).quantize(PENNY)


def forecast_threshold(budget: Decimal | None) -> Decimal:
    """The overspend at which a forecast turns Red: the lower of a share of budget or an
    amount (settings.RAG_RED_SHARE_OF_BUDGET, settings.RAG_RED_AMOUNT)."""
    amount = settings.RAG_RED_AMOUNT
    if budget:
        return min(budget * settings.RAG_RED_SHARE_OF_BUDGET, amount).quantize(PENNY)
    return amount.quantize(PENNY)


def forecast_thresholds() -> dict[str, Decimal]:
    """The settings behind forecast and KPI RAG, for pages to state them."""
    return {
        "red_share_percent": (settings.RAG_RED_SHARE_OF_BUDGET * 100).normalize(),
        "red_amount": settings.RAG_RED_AMOUNT,
        "kpi_tolerance_percent": (settings.KPI_TOLERANCE * 100).normalize(),
    }


def forecast_rag(variance: Decimal | None, budget: Decimal | None) -> str:
    if variance is None:
        return ""
    if variance <= 0:
        return "green"
    return "red" if variance >= forecast_threshold(budget) else "amber"


def kpi_rag(actual, target, *, direction: str, tolerance: Decimal) -> str:
    """Green when the target is met, Amber when missed by no more than ``tolerance`` of the
    target, Red beyond it; ``direction`` says whether lower or higher is better."""
    if actual is None or target is None:
        return ""
    miss = actual - target if direction == KPI.Direction.LOWER else target - actual
    if miss <= 0:
        return "green"
    return "amber" if miss <= abs(target) * tolerance else "red"


def rate_per_10k(count, population: int | None) -> Decimal | None:
    if count is None or not population:
        return None
    return (Decimal(count) * 10_000 / population).quantize(RATE_PLACES)


def workforce_rate(part, in_post) -> Decimal | None:
    """DfE workforce rates: vacancy rate = vacancies / (vacancies + in post); agency rate =
    agency / (agency + in post); as a percentage to one decimal place."""
    if part is None or in_post is None or part + in_post == 0:
        return None
    return (Decimal(part) * 100 / (part + in_post)).quantize(RATE_PLACES)


def share(part, whole) -> Decimal | None:
    """A percentage to one decimal place (templates never compute percentages)."""
    if part is None or not whole:
        return None
    return (Decimal(part) * 100 / whole).quantize(RATE_PLACES)


def rag_movement(before: str, after: str) -> str:
    if before == after:
        return "unchanged"
    if not before:
        return "newly rated"
    if not after:
        return "no longer rated"
    return "improved" if _RAG_RANK[after] > _RAG_RANK[before] else "worsened"


# --------------------------------------------------------------------------------------------
# Which year and period a page shows


@dataclass(frozen=True)
class Selection:
    year: str
    period: int

    @property
    def as_at(self) -> date:
        return fiscal.period_end(self.year, self.period)

    @property
    def label(self) -> str:
        return fiscal.period_label(self.year, self.period)

    @property
    def previous(self) -> int | None:
        return self.period - 1 if self.period > 1 else None

    @property
    def previous_label(self) -> str:
        return fiscal.period_label(self.year, self.previous) if self.previous else ""

    @property
    def previous_as_at(self) -> date | None:
        return fiscal.period_end(self.year, self.previous) if self.previous else None


def plan_calendar(plan) -> tuple[list[str], Selection]:
    """The years a plan's pages can show, and the default: the latest plan year with a
    forecast or progress entry at its latest such period, else the first year at P12.
    Three queries."""
    latest: dict[str, int] = {}
    rows = OverspendForecast.objects.filter(plan=plan).values_list("year").annotate(p=Max("period"))
    for year, p in rows.order_by():
        latest[year] = max(latest.get(year, 0), p)
    rows = ProgressEntry.objects.filter(line__plan=plan).values_list("year")
    for year, day in rows.annotate(d=Max("as_at")).order_by():
        latest[year] = max(latest.get(year, 0), fiscal.period(day))
    pressure_years = CostPressure.objects.filter(plan=plan).values_list("year", flat=True)
    years = sorted(set(plan.years) | set(latest) | set(pressure_years.order_by().distinct()))
    in_plan = [y for y in latest if plan.first_year <= y <= plan.last_year]
    if in_plan:
        year = max(in_plan)
        return years, Selection(year, latest[year])
    return years, Selection(plan.first_year, 12)


# --------------------------------------------------------------------------------------------
# Savings lines in a year: planned, profile, achieved, RAG


@dataclass
class LineFigures:
    """One savings line in the selected year, as at the end of the selected period."""

    line: SavingsLine
    amount: PlannedAmount | None
    factor: Decimal
    period: int
    entries: list[dict] = field(default_factory=list)  # progress in the year to the period end
    previous_as_at: date | None = None
    rag: str = ""
    rag_previous: str = ""

    @property
    def entry(self) -> dict | None:
        return self.entries[-1] if self.entries else None

    @property
    def previous(self) -> dict | None:
        return _latest(self.entries, self.previous_as_at)

    @property
    def kind(self) -> str:
        return self.amount.kind if self.amount else ""

    @property
    def planned_low(self) -> Decimal | None:
        return self.amount.low if self.amount else None

    @property
    def planned_high(self) -> Decimal | None:
        return self.amount.high if self.amount else None

    @property
    def start_period(self) -> int:
        return self.line.start_period or 1

    def _profile(self, value, period):
        return profile_value(
            value, start_period=self.start_period, period=period, factor=self.factor
        )

    @property
    def in_year_low(self):
        return self._profile(self.planned_low, 12)

    @property
    def expected_low(self):
        return self._profile(self.planned_low, self.period)

    @property
    def expected_high(self):
        return self._profile(self.planned_high, self.period)

    @property
    def month_of_delay(self):
        return slippage_cost(self.planned_low, start_period=self.start_period, factor=self.factor)

    @staticmethod
    def _split(entry) -> tuple[Decimal, Decimal]:
        if not entry or entry["achieved_to_date"] is None:
            return ZERO, ZERO
        if entry["basis"] == ProgressEntry.Basis.ACHIEVABLE:
            return ZERO, entry["achieved_to_date"]
        return entry["achieved_to_date"], ZERO

    @property
    def achieved(self) -> Decimal:
        return self._split(self.entry)[0]

    @property
    def anticipated(self) -> Decimal:
        return self._split(self.entry)[1]

    @property
    def achieved_previous(self) -> Decimal:
        return self._split(self.previous)[0]

    @property
    def achieved_movement(self) -> Decimal:
        return self.achieved - self.achieved_previous

    @property
    def delivered(self) -> Decimal:
        """Achieved plus achievable: what the committee counts as found."""
        return sum(self._split(self.entry), ZERO)

    @property
    def delivered_previous(self) -> Decimal:
        return sum(self._split(self.previous), ZERO)

    @property
    def delivery_variance(self) -> Decimal | None:
        expected = self.expected_low
        return None if expected is None else self.achieved - expected

    @property
    def forecast(self) -> Decimal | None:
        return self.entry["forecast"] if self.entry else None

    @property
    def commentary(self) -> str:
        return self.entry["commentary"] if self.entry else ""

    @property
    def as_at(self) -> date | None:
        return self.entry["as_at"] if self.entry else None

    @property
    def rag_move(self) -> str:
        return rag_movement(self.rag_previous, self.rag)


def _latest(entries, up_to: date | None, *, rated=False):
    if up_to is None:
        return None
    found = None
    for e in entries:
        if e["as_at"] <= up_to and (e["rag"] or not rated):
            found = e
    return found


def line_figures(plan, sel: Selection, factor: Decimal) -> list[LineFigures]:
    """Every line with a planned amount or progress in the year. Three queries."""
    amounts = {a.line_id: a for a in PlannedAmount.objects.filter(line__plan=plan, year=sel.year)}
    entries = defaultdict(list)
    fields = ("line_id", "as_at", "achieved_to_date", "basis", "forecast", "rag", "commentary")
    for e in (
        ProgressEntry.objects.filter(line__plan=plan, year=sel.year, as_at__lte=sel.as_at)
        .order_by("line_id", "as_at")
        .values(*fields)
    ):
        entries[e["line_id"]].append(e)
    out = []
    lines = (
        SavingsLine.objects.filter(plan=plan)
        .select_related("workstream")
        .order_by("workstream__order", "order", "reference")
    )
    for line in lines:
        if line.pk not in amounts and line.pk not in entries:
            continue
        mine = entries.get(line.pk, [])
        rated, rated_before = (
            _latest(mine, sel.as_at, rated=True),
            _latest(mine, sel.previous_as_at, rated=True),
        )
        out.append(
            LineFigures(
                line=line,
                amount=amounts.get(line.pk),
                factor=factor,
                period=sel.period,
                entries=mine,
                previous_as_at=sel.previous_as_at,
                rag=rated["rag"] if rated else line.rag,
                rag_previous=rated_before["rag"] if rated_before else line.rag,
            )
        )
    return out


def expected_profile(plans, year: str) -> dict[int, list[tuple[Decimal, Decimal]]]:
    """Sum of planned x months delivering, per plan and period (P1..P12), low and high, for
    the lines counting towards target. Divide by 12 and apply the factor to get expected to
    date. One query, aggregated in the database."""
    start = Coalesce(F("line__start_period"), Value(1))
    aggregates = {}
    for p in MONTHS:
        delivering = Q(line__start_period__isnull=True) | Q(line__start_period__lte=p)
        for end in ("low", "high"):
            value = ExpressionWrapper(F(end) * (Value(p + 1) - start), output_field=SUM_FIELD)
            aggregates[f"{end}{p}"] = Sum(
                Case(When(delivering, then=value), output_field=SUM_FIELD)
            )
    rows = (
        PlannedAmount.objects.filter(
            line__plan_id__in=_ids(plans), year=year, line__counts_towards_target=True
        )
        .values("line__plan_id")
        .annotate(**aggregates)
        .order_by()
    )
    return {
        r["line__plan_id"]: [(to_decimal(r[f"low{p}"]), to_decimal(r[f"high{p}"])) for p in MONTHS]
        for r in rows
    }


@dataclass
class RagBucket:
    rag: str
    count: int = 0
    tbc: int = 0
    value_low: Decimal = ZERO
    value_high: Decimal = ZERO

    @property
    def label(self) -> str:
        return RAG_LABELS[self.rag]


@dataclass
class RagSummary:
    current: list[RagBucket]
    original: list[RagBucket]
    moves: dict[tuple[str, str], int]  # (original, current) -> count of lines

    @property
    def total_count(self) -> int:
        return sum(b.count for b in self.current)

    @property
    def total_low(self) -> Decimal:
        return sum((b.value_low for b in self.current), ZERO)

    @property
    def total_high(self) -> Decimal:
        return sum((b.value_high for b in self.current), ZERO)

    @property
    def move_rows(self) -> list[tuple[str, list[int]]]:
        """Rows of original RAG, columns of current RAG, in RAG_ORDER."""
        return [(orig, [self.moves.get((orig, cur), 0) for cur in RAG_ORDER]) for orig in RAG_ORDER]


def savings_by_rag(plan, sel: Selection) -> RagSummary:
    """Planned value and count of lines by current and by original RAG, for the lines with an
    amount in the year that count towards target. Current RAG is the latest rated progress
    entry up to the period end, else the line's RAG. One query."""
    rated = (
        ProgressEntry.objects.filter(line=OuterRef("line"), year=sel.year, as_at__lte=sel.as_at)
        .exclude(rag="")
        .order_by("-as_at")
        .values("rag")[:1]
    )
    rows = (
        PlannedAmount.objects.filter(
            line__plan=plan, year=sel.year, line__counts_towards_target=True
        )
        .annotate(
            cur=Coalesce(Subquery(rated), F("line__rag")),
            orig=F("line__original_rag"),
        )
        .values("cur", "orig")
        .annotate(
            n=Count("pk"),
            tbc=Count("pk", filter=Q(kind=PlannedAmount.Kind.TBC)),
            low=Sum("low"),
            high=Sum("high"),
        )
        .order_by()
    )
    current = {r: RagBucket(r) for r in RAG_ORDER}
    original = {r: RagBucket(r) for r in RAG_ORDER}
    moves: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        for bucket in (current[row["cur"] or ""], original[row["orig"] or ""]):
            bucket.count += row["n"]
            bucket.tbc += row["tbc"]
            bucket.value_low += to_decimal(row["low"])
            bucket.value_high += to_decimal(row["high"])
        moves[(row["orig"] or "", row["cur"] or "")] += row["n"]
    return RagSummary(list(current.values()), list(original.values()), dict(moves))


# --------------------------------------------------------------------------------------------
# Overspend forecasts, pressures, funding


@dataclass
class ForecastPoint:
    """One month's forecast for a service area and scenario. Variance = outturn - budget, or
    the stated overspend; movement = variance - the previous recorded period's."""

    plan_id: int
    year: str
    period: int
    service_area: str
    scenario: str
    budget: Decimal | None
    outturn: Decimal | None
    stated: Decimal | None
    stated_high: Decimal | None
    variance: Decimal
    variance_high: Decimal
    previous_variance: Decimal | None
    previous_period: int | None
    commentary: str

    @property
    def series(self) -> tuple[str, str]:
        return (self.service_area, self.scenario)

    @property
    def scenario_label(self) -> str:
        return OverspendForecast.Scenario(self.scenario).label

    @property
    def series_label(self) -> str:
        area = self.service_area or "Whole service"
        return area if self.scenario == "base" else f"{area} ({self.scenario_label.lower()})"

    @property
    def label(self) -> str:
        return fiscal.period_label(self.year, self.period)

    @property
    def is_range(self) -> bool:
        return self.variance_high != self.variance

    @property
    def movement(self) -> Decimal | None:
        if self.previous_variance is None:
            return None
        return self.variance - self.previous_variance

    @property
    def threshold(self) -> Decimal:
        return forecast_threshold(self.budget)

    @property
    def rag(self) -> str:
        return forecast_rag(self.variance, self.budget)

    @property
    def stated_differs(self) -> bool:
        """The paper's stated overspend disagrees with its budget and outturn."""
        return self.stated is not None and self.budget is not None and self.stated != self.variance


def forecast_points(plans, year: str | None = None) -> list[ForecastPoint]:
    """Every forecast of the plans (in ``year``), with variance and movement computed in the
    database (a window over each plan, year, service area and scenario). One query."""
    variance = Coalesce(F("forecast_outturn") - F("budget"), F("overspend"), output_field=SUM_FIELD)
    high = Coalesce(
        F("forecast_outturn") - F("budget"),
        F("overspend_high"),
        F("overspend"),
        output_field=SUM_FIELD,
    )
    window = {
        "partition_by": [F("plan_id"), F("year"), F("service_area"), F("scenario")],
        "order_by": F("period").asc(),
    }
    qs = OverspendForecast.objects.filter(plan_id__in=_ids(plans))
    if year:
        qs = qs.filter(year=year)
    rows = qs.annotate(
        v=variance,
        vh=high,
        pv=Window(Lag(variance), **window),
        pp=Window(Lag("period"), **window),
    ).order_by("plan_id", "year", "service_area", "scenario", "period")
    return [
        ForecastPoint(
            plan_id=f.plan_id,
            year=f.year,
            period=f.period,
            service_area=f.service_area,
            scenario=f.scenario,
            budget=f.budget,
            outturn=f.forecast_outturn,
            stated=f.overspend,
            stated_high=f.overspend_high,
            variance=to_decimal(f.v),
            variance_high=to_decimal(f.vh),
            previous_variance=None if f.pv is None else to_decimal(f.pv),
            previous_period=f.pp,
            commentary=f.commentary,
        )
        for f in rows
    ]


def headline_series(points: list[ForecastPoint]) -> tuple[str, str] | None:
    """The series a tile shows: the whole service's base case if recorded, else the base-case
    series with the latest (then the most) points."""
    base = [p for p in points if p.scenario == "base"] or points
    whole = [p for p in base if p.service_area == ""]
    counts: dict[tuple, list[int]] = defaultdict(list)
    for p in whole or base:
        counts[p.series].append(p.period)
    if not counts:
        return None
    return max(counts, key=lambda s: (max(counts[s]), len(counts[s]), s))


@dataclass
class ForecastFigures:
    """A year's forecasts up to the selected period."""

    points: list[ForecastPoint]
    period: int

    @property
    def series(self) -> list[tuple[tuple[str, str], list[ForecastPoint | None]]]:
        """Each series with one slot per period (None where nothing was recorded)."""
        grid: dict[tuple, list] = {}
        for p in self.points:
            grid.setdefault(p.series, [None] * 12)[p.period - 1] = p
        head = self.headline_key
        return sorted(grid.items(), key=lambda kv: (kv[0] != head, kv[0]))

    @property
    def headline_key(self):
        return headline_series(self.points)

    @property
    def headline(self) -> ForecastPoint | None:
        """The headline series' latest point up to the selected period."""
        head = self.headline_key
        found = [p for p in self.points if p.series == head and p.period <= self.period]
        return found[-1] if found else None

    @property
    def to_period(self) -> list[ForecastPoint]:
        return [p for p in self.points if p.period <= self.period]

    @property
    def this_period(self) -> list[ForecastPoint]:
        return [p for p in self.points if p.period == self.period]


@dataclass
class PressureMonth:
    year: str
    period: int
    total: Decimal
    slippage: Decimal
    cumulative_slippage: Decimal = ZERO

    @property
    def label(self) -> str:
        return fiscal.month_label(self.year, self.period)


def pressure_months(plans) -> dict[int, list[PressureMonth]]:
    """Cost pressures per plan and month (all kinds, and slippage alone). One query."""
    out: dict[int, list[PressureMonth]] = defaultdict(list)
    rows = (
        CostPressure.objects.filter(plan_id__in=_ids(plans))
        .values("plan_id", "year", "period")
        .annotate(
            total=Sum("amount"), slip=Sum("amount", filter=Q(kind=CostPressure.Kind.SLIPPAGE))
        )
        .order_by("plan_id", "year", "period")
    )
    for r in rows:
        months = out[r["plan_id"]]
        running = months[-1].cumulative_slippage if months else ZERO
        slip = to_decimal(r["slip"])
        months.append(
            PressureMonth(r["year"], r["period"], to_decimal(r["total"]), slip, running + slip)
        )
    return out


def month_range(months: list[PressureMonth]) -> list[tuple[str, int, PressureMonth | None]]:
    """Every month from the first to the last recorded, with gaps as None."""
    if not months:
        return []
    found = {(m.year, m.period): m for m in months}
    out = []
    for year in fiscal.years_between(months[0].year, months[-1].year):
        for p in MONTHS:
            if (year, p) < (months[0].year, months[0].period):
                continue
            if (year, p) > (months[-1].year, months[-1].period):
                break
            out.append((year, p, found.get((year, p))))
    return out


@dataclass
class FundingPosition:
    """Reserves drawn and repaid and other funding, by year ("" = year not stated)."""

    by_year: dict[str, dict[str, Decimal]]

    def total(self, kind: str) -> Decimal:
        return sum((kinds.get(kind, ZERO) for kinds in self.by_year.values()), ZERO)

    @property
    def drawn(self) -> Decimal:
        return self.total(Funding.Kind.RESERVE_DRAW)

    @property
    def repaid(self) -> Decimal:
        return self.total(Funding.Kind.RESERVE_REPAYMENT)

    @property
    def outstanding(self) -> Decimal:
        return self.drawn - self.repaid

    @property
    def rows(self) -> list[tuple[str, list[Decimal]]]:
        """(year, one amount per Funding.Kind) with dated years first."""
        years = sorted(self.by_year, key=lambda y: (y == "", y))
        return [(y, [self.by_year[y].get(k, ZERO) for k in Funding.Kind.values]) for y in years]

    @property
    def kinds(self) -> list[str]:
        return list(Funding.Kind.labels)

    @property
    def totals(self) -> list[Decimal]:
        return [self.total(k) for k in Funding.Kind.values]


def funding_positions(plans) -> dict[int, FundingPosition]:
    """Funding per plan, year and kind. One query."""
    out: dict[int, FundingPosition] = {pid: FundingPosition({}) for pid in _ids(plans)}
    rows = (
        Funding.objects.filter(plan_id__in=_ids(plans))
        .values("plan_id", "year", "kind")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    for r in rows:
        out[r["plan_id"]].by_year.setdefault(r["year"], {})[r["kind"]] = to_decimal(r["total"])
    return out


# --------------------------------------------------------------------------------------------
# KPIs


@dataclass
class KpiValue:
    date: date
    value: Decimal
    rate: Decimal | None = None
    label: str = ""


@dataclass
class KpiFigures:
    kpi: KPI
    population: int | None
    actuals: list[KpiValue]
    targets: list[KpiValue]
    comparators: dict[str, list[KpiValue]]

    @property
    def shows_rate(self) -> bool:
        return self.kpi.per_child_population

    @property
    def rate_note(self) -> str:
        if self.shows_rate and not self.population:
            return "population not recorded"
        return ""

    @property
    def tolerance(self) -> Decimal:
        return self.kpi.tolerance if self.kpi.tolerance is not None else settings.KPI_TOLERANCE

    @property
    def tolerance_percent(self) -> Decimal:
        return (self.tolerance * 100).normalize()

    @property
    def latest(self) -> KpiValue | None:
        return self.actuals[-1] if self.actuals else None

    @property
    def target(self) -> KpiValue | None:
        """The target for the latest actual's date: the nearest on or after it, else the last."""
        if not self.targets:
            return None
        if self.latest is None:
            return self.targets[-1]
        later = [t for t in self.targets if t.date >= self.latest.date]
        return later[0] if later else self.targets[-1]

    @property
    def rag(self) -> str:
        if self.latest is None or self.target is None:
            return ""
        return kpi_rag(
            self.latest.value,
            self.target.value,
            direction=self.kpi.direction,
            tolerance=self.tolerance,
        )

    @property
    def latest_comparators(self) -> list[KpiValue]:
        return [values[-1] for _, values in sorted(self.comparators.items())]

    @property
    def chartable(self) -> bool:
        return (
            len(self.actuals) + len(self.targets) + sum(len(v) for v in self.comparators.values())
            >= 2
        )

    @property
    def table_rows(
        self,
    ) -> list[
        tuple[
            date,
            Decimal | None,
            Decimal | None,
            Decimal | None,
            Decimal | None,
            list[Decimal | None],
        ]
    ]:
        """Per date: actual, its rate, target, its rate, then each comparator (by label)."""
        labels = sorted(self.comparators)
        by_date: dict[date, dict] = defaultdict(dict)
        for v in self.actuals:
            by_date[v.date]["actual"] = v
        for v in self.targets:
            by_date[v.date]["target"] = v
        for label in labels:
            for v in self.comparators[label]:
                by_date[v.date][label] = v
        rows = []
        for day in sorted(by_date):
            d = by_date[day]
            a, t = d.get("actual"), d.get("target")
            rows.append(
                (
                    day,
                    a and a.value,
                    a and a.rate,
                    t and t.value,
                    t and t.rate,
                    [d[lb].value if lb in d else None for lb in labels],
                )
            )
        return rows


def kpi_figures(plan, *, as_at: date | None, population: int | None) -> list[KpiFigures]:
    """Each KPI with its targets, comparators and actuals up to ``as_at``. Two queries."""
    points = defaultdict(list)
    qs = KpiPoint.objects.filter(kpi__plan=plan).order_by("kpi_id", "date", "kind", "label")
    for p in qs:
        points[p.kpi_id].append(p)
    out = []
    for kpi in KPI.objects.filter(plan=plan).order_by("order", "name"):
        pop = population if kpi.per_child_population else None
        actuals, targets, comparators = [], [], defaultdict(list)
        for p in points.get(kpi.pk, []):
            value = KpiValue(p.date, p.value, rate_per_10k(p.value, pop), p.label)
            if p.kind == KpiPoint.Kind.ACTUAL and (as_at is None or p.date <= as_at):
                actuals.append(value)
            elif p.kind == KpiPoint.Kind.TARGET:
                targets.append(value)
            elif p.kind == KpiPoint.Kind.COMPARATOR:
                comparators[p.label or "Comparator"].append(value)
        out.append(KpiFigures(kpi, population, actuals, targets, dict(comparators)))
    return out


def workforce_rates(kpis: list[KpiFigures]) -> list[tuple[str, date, Decimal]]:
    """DfE vacancy and agency rates where a plan records the counts: KPIs coded
    ``<prefix>-vacancies``/``<prefix>-agency`` beside ``<prefix>-in-post`` at the same date."""
    by_code = {k.kpi.code: k for k in kpis}
    out = []
    for code, k in by_code.items():
        for suffix, name in (("-vacancies", "Vacancy rate"), ("-agency", "Agency rate")):
            if not code.endswith(suffix):
                continue
            in_post = by_code.get(code[: -len(suffix)] + "-in-post")
            if in_post is None:
                continue
            posts = {v.date: v.value for v in in_post.actuals}
            for v in k.actuals:
                if v.date in posts:
                    out.append(
                        (f"{name} ({k.kpi.name})", v.date, workforce_rate(v.value, posts[v.date]))
                    )
    return out


# --------------------------------------------------------------------------------------------
# A plan for a year and period: every figure the dashboard, the report and the workbook show


@dataclass
class Change:
    """One thing that changed since the previous period, for "what changed"."""

    area: str
    item: str
    before: Decimal | None
    after: Decimal | None
    unit: str = "money"  # "money" or a KPI unit
    note: str = ""

    @property
    def change(self) -> Decimal | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


@dataclass
class PlanFigures:
    plan: object
    sel: Selection
    totals: PlanTotals
    lines: list[LineFigures]
    outside_lines: list[LineFigures]
    profile: list[tuple[Decimal, Decimal]]  # expected to date per period (low, high)
    achieved_by_period: list[Decimal | None]
    anticipated_by_period: list[Decimal | None]
    rag: RagSummary
    forecasts: ForecastFigures
    pressures: list[PressureMonth]
    funding: FundingPosition
    kpis: list[KpiFigures]
    risks: list
    commentary: list
    reconciliation: list[Reconciliation]

    @property
    def year(self) -> YearTotals:
        return self.totals.years.get(self.sel.year) or YearTotals(self.sel.year)

    @property
    def population(self) -> int | None:
        return self.plan.authority.child_population

    @property
    def expected_low(self) -> Decimal:
        return self.profile[self.sel.period - 1][0]

    @property
    def expected_high(self) -> Decimal:
        return self.profile[self.sel.period - 1][1]

    @property
    def expected_in_year(self) -> tuple[Decimal, Decimal]:
        return self.profile[11]

    @property
    def delivery_variance(self) -> Decimal:
        return self.year.achieved - self.expected_low

    @property
    def months(self) -> list[dict]:
        """Per period: expected (low, high), achieved and achieved-or-achievable (None = gap)."""
        return [
            {
                "period": p,
                "label": fiscal.month_label(self.sel.year, p),
                "expected_low": self.profile[p - 1][0],
                "expected_high": self.profile[p - 1][1],
                "achieved": self.achieved_by_period[p - 1],
                "delivered": self.anticipated_by_period[p - 1],
            }
            for p in MONTHS
        ]

    @property
    def achieved_share(self) -> Decimal | None:
        return share(self.year.achieved, self.year.planned_low)

    @property
    def pressures_in_year(self) -> Decimal:
        return sum((m.total for m in self.pressures if m.year == self.sel.year), ZERO)

    @property
    def slippage_in_year(self) -> Decimal:
        return sum((m.slippage for m in self.pressures if m.year == self.sel.year), ZERO)

    @property
    def slippage_total(self) -> Decimal:
        return sum((m.slippage for m in self.pressures), ZERO)

    @property
    def slippage_years(self) -> list[tuple[str, Decimal]]:
        years: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for m in self.pressures:
            years[m.year] += m.slippage
        return sorted((y, v) for y, v in years.items() if v)

    @property
    def net_at_risk_low(self) -> Decimal:
        """Planned - (achieved + anticipated) + in-year pressures."""
        y = self.year
        return y.planned_low - (y.achieved + y.anticipated) + self.pressures_in_year

    @property
    def net_at_risk_high(self) -> Decimal:
        y = self.year
        return y.planned_high - (y.achieved + y.anticipated) + self.pressures_in_year

    @property
    def red_amber_lines(self) -> list[LineFigures]:
        return [x for x in self.lines if x.rag in ("red", "amber")]

    @property
    def kpi_rag_counts(self) -> list[tuple[str, int]]:
        counts = defaultdict(int)
        for k in self.kpis:
            counts[k.rag] += 1
        return [(r, counts[r]) for r in RAG_ORDER if counts[r]]

    @property
    def workforce(self):
        return workforce_rates(self.kpis)

    @property
    def differences(self) -> list[Reconciliation]:
        return [r for r in self.reconciliation if r.agrees is False]

    @property
    def changes(self) -> list[Change]:
        """What changed since the previous period's report."""
        out = []
        for p in self.forecasts.this_period:
            if p.movement is not None:
                note = f"since {fiscal.period_label(p.year, p.previous_period)}"
                out.append(
                    Change(
                        "Overspend forecast",
                        p.series_label,
                        p.previous_variance,
                        p.variance,
                        note=note,
                    )
                )
            else:
                out.append(
                    Change(
                        "Overspend forecast",
                        p.series_label,
                        None,
                        p.variance,
                        note="first forecast this year",
                    )
                )
        if self.sel.previous:
            for x in self.lines + self.outside_lines:
                if x.delivered != x.delivered_previous:
                    out.append(
                        Change(
                            "Savings achieved or achievable",
                            f"{x.line.reference} {x.line.title}",
                            x.delivered_previous,
                            x.delivered,
                        )
                    )
                if x.rag_move != "unchanged":
                    out.append(
                        Change(
                            "Savings RAG",
                            f"{x.line.reference} {x.line.title}",
                            None,
                            None,
                            note=f"{RAG_LABELS[x.rag_previous]} to {RAG_LABELS[x.rag]} "
                            f"({x.rag_move})",
                        )
                    )
        start = self.sel.previous_as_at or fiscal.year_start(self.sel.year)
        for k in self.kpis:
            for i, v in enumerate(k.actuals):
                if (self.sel.previous_as_at is None or v.date > start) and v.date <= self.sel.as_at:
                    before = k.actuals[i - 1].value if i else None
                    out.append(
                        Change(
                            "KPI",
                            k.kpi.name,
                            before,
                            v.value,
                            unit=k.kpi.unit,
                            note=f"recorded {v.date:%d %b %Y}".replace(" 0", " "),
                        )
                    )
        return out


def _delivered_by_period(lines: list[LineFigures], sel: Selection):
    """Achieved, and achieved plus achievable, at the end of each period up to the selected
    one; None for a month in which nothing was recorded (a gap, not a zero)."""
    achieved: list[Decimal | None] = [None] * 12
    delivered: list[Decimal | None] = [None] * 12
    recorded = {fiscal.period(e["as_at"]) for x in lines for e in x.entries}
    for p in sorted(q for q in recorded if q <= sel.period):
        end = fiscal.period_end(sel.year, p)
        got = [LineFigures._split(_latest(x.entries, end)) for x in lines]
        achieved[p - 1] = sum((a for a, _ in got), ZERO)
        delivered[p - 1] = sum((a + b for a, b in got), ZERO)
    return achieved, delivered


def plan_figures(plan, sel: Selection) -> PlanFigures:
    """Every figure of DESIGN.md for one plan, year and period. A fixed number of queries
    (nineteen) whatever the number of lines, months or KPIs."""
    totals = plan_totals([plan], as_at=sel.as_at)[plan.pk]
    year = totals.years.get(sel.year) or YearTotals(sel.year)
    lines = line_figures(plan, sel, year.factor)
    raw = expected_profile([plan], sel.year).get(plan.pk, [(ZERO, ZERO)] * 12)
    profile = [
        ((low * year.factor / 12).quantize(PENNY), (high * year.factor / 12).quantize(PENNY))
        for low, high in raw
    ]
    counting = [x for x in lines if x.line.counts_towards_target]
    achieved, anticipated = _delivered_by_period(counting, sel)
    return PlanFigures(
        plan=plan,
        sel=sel,
        totals=totals,
        lines=counting,
        outside_lines=[x for x in lines if not x.line.counts_towards_target],
        profile=profile,
        achieved_by_period=achieved,
        anticipated_by_period=anticipated,
        rag=savings_by_rag(plan, sel),
        forecasts=ForecastFigures(
            [p for p in forecast_points([plan], sel.year) if p.period <= sel.period], sel.period
        ),
        pressures=pressure_months([plan]).get(plan.pk, []),
        funding=funding_positions([plan])[plan.pk],
        kpis=kpi_figures(plan, as_at=sel.as_at, population=plan.authority.child_population),
        risks=list(Risk.objects.filter(plan=plan).order_by("reference")),
        commentary=list(
            Commentary.objects.filter(plan=plan, year=sel.year, period=sel.period)
            .select_related("author")
            .order_by("role")
        ),
        reconciliation=reconcile(plan, totals=totals),
    )


# --------------------------------------------------------------------------------------------
# All of an authority's plans, and the lineage of plans that revise one another


@dataclass
class PlanSummary:
    plan: object
    totals: PlanTotals
    slippage: dict[str, Decimal]
    forecasts: list[ForecastPoint]
    funding: FundingPosition

    @property
    def slippage_total(self) -> Decimal:
        return sum(self.slippage.values(), ZERO)

    def forecast_for(self, year: str) -> ForecastPoint | None:
        """The headline series' latest forecast in ``year``."""
        points = [p for p in self.forecasts if p.year == year]
        head = headline_series(points)
        found = [p for p in points if p.series == head]
        return found[-1] if found else None

    @property
    def latest_forecast(self) -> ForecastPoint | None:
        years = sorted({p.year for p in self.forecasts})
        return self.forecast_for(years[-1]) if years else None


@dataclass
class LineageCell:
    summary: PlanSummary
    year: str

    @property
    def in_plan(self) -> bool:
        plan = self.summary.plan
        return plan.first_year <= self.year <= plan.last_year

    @property
    def promised(self) -> YearTotals | None:
        t = self.summary.totals.years.get(self.year)
        return t if t and (t.lines or t.planned_low) else None

    @property
    def forecast(self) -> ForecastPoint | None:
        return self.summary.forecast_for(self.year)

    @property
    def reserves_drawn(self) -> Decimal:
        return self.summary.funding.by_year.get(self.year, {}).get(Funding.Kind.RESERVE_DRAW, ZERO)

    @property
    def slippage(self) -> Decimal:
        return self.summary.slippage.get(self.year, ZERO)

    @property
    def other_funding(self) -> list[tuple[str, Decimal]]:
        """Grants, invest-to-save money, contingency and repayments in the year."""
        kinds = self.summary.funding.by_year.get(self.year, {})
        return [
            (label, kinds[kind])
            for kind, label in Funding.Kind.choices
            if kind != Funding.Kind.RESERVE_DRAW and kinds.get(kind)
        ]

    @property
    def empty(self) -> bool:
        return not (
            self.promised
            or self.forecast
            or self.reserves_drawn
            or self.slippage
            or self.other_funding
        )


@dataclass
class Lineage:
    """A chain of plans, each revising the one before, with what each promised and what was
    delivered year by year."""

    summaries: list[PlanSummary]

    @property
    def years(self) -> list[str]:
        years = set()
        for s in self.summaries:
            years |= set(s.plan.years) | set(s.slippage) | {p.year for p in s.forecasts}
            years |= {y for y in s.funding.by_year if y}
        return sorted(years)

    @property
    def rows(self) -> list[tuple[str, list[LineageCell]]]:
        return [(y, [LineageCell(s, y) for s in self.summaries]) for y in self.years]


def _chains(plans) -> list[list]:
    """Each path from a plan that revises nothing (among ``plans``) to a plan nothing revises."""
    by_id = {p.pk: p for p in plans}
    children = defaultdict(list)
    for p in plans:
        if p.revises_id in by_id:
            children[p.revises_id].append(p)
    chains = []

    def walk(plan, path):
        path = [*path, plan]
        if not children[plan.pk]:
            chains.append(path)
        for child in sorted(children[plan.pk], key=lambda c: (c.first_year, c.pk)):
            walk(child, path)

    for p in plans:
        if p.revises_id not in by_id:
            walk(p, [])
    return [c for c in chains if len(c) > 1]


@dataclass
class AuthorityOverview:
    summaries: list[PlanSummary]
    lineages: list[Lineage]


def authority_overview(plans) -> AuthorityOverview:
    """Every plan side by side, and the lineages. Six queries whatever the number of plans."""
    plans = list(plans)
    totals = plan_totals(plans)
    slippage = slippage_by_year(plans)
    forecasts = defaultdict(list)
    for p in forecast_points(plans):
        forecasts[p.plan_id].append(p)
    funding = funding_positions(plans)
    summaries = {
        p.pk: PlanSummary(p, totals[p.pk], slippage.get(p.pk, {}), forecasts[p.pk], funding[p.pk])
        for p in plans
    }
    lineages = [Lineage([summaries[p.pk] for p in chain]) for chain in _chains(plans)]
    return AuthorityOverview(list(summaries.values()), lineages)
