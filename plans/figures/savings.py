"""A plan's savings per financial year (planned, adjusted, achieved, anticipated, gap), the
slippage behind them, and the reconciliation of a paper's stated totals with the computed ones.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
    When,
    Window,
)

from plans.figures._base import ZERO, _ids
from plans.models import (
    CostPressure,
    PlannedAmount,
    ProgressEntry,
    SavingsLine,
    StatedFigure,
    YearAdjustment,
)
from recovery.money import PENNY, to_decimal

# --------------------------------------------------------------------------------------------
# Planned, adjusted, achieved, gap per plan and year


def add_known(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    """Sum two figures either of which may be unknown: unknown only when both are."""
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def minus_known(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    """A difference of two figures: unknown when either is (unknown is never zero)."""
    if a is None or b is None:
        return None
    return a - b


@dataclass
class YearTotals:
    """The headline savings figures of one plan (or a set of plans) for one financial year.

    Every money figure is ``None`` when nothing supports it: no line with a planned figure
    (planned), no line reporting (achieved, anticipated, forecast). The counts say which lines
    each figure covers: ``lines`` have a planned amount in the year (``tbc_lines`` of them TBC);
    ``lines_achieved`` report an achieved figure, ``lines_found`` an achieved or achievable
    one, ``lines_forecast`` a forecast. Achieved on lines with no planned amount in the year is
    kept apart (``unplanned_achieved``), never added to a ratio over lines that have one.
    """

    year: str
    planned_low: Decimal | None = None
    planned_high: Decimal | None = None
    tbc_lines: int = 0
    lines: int = 0
    factor: Decimal = Decimal("1")
    adjusted_low: Decimal | None = None
    adjusted_high: Decimal | None = None
    achieved: Decimal | None = None
    anticipated: Decimal | None = None  # recorded as achievable, not yet achieved
    forecast: Decimal | None = None
    lines_achieved: int = 0
    lines_found: int = 0
    lines_forecast: int = 0
    lines_with_progress: int = 0
    unplanned_achieved: Decimal | None = None
    unplanned_lines: int = 0

    @property
    def is_range(self) -> bool:
        return self.planned_low != self.planned_high

    @property
    def lines_with_figure(self) -> int:
        return self.lines - self.tbc_lines

    @property
    def found(self) -> Decimal | None:
        """Achieved plus achievable: what the committee counts as found."""
        return add_known(self.achieved, self.anticipated)

    @property
    def all_reported(self) -> bool:
        """Every line with a planned amount in the year has reported achieved (or achievable)."""
        return self.lines > 0 and self.lines_found == self.lines

    @property
    def coverage(self) -> str:
        """Which lines the achieved figure covers, in words: "3 of 14 lines" (across all
        years, "3 of 39 line-years": a line planned in three years counts three times)."""
        if not self.lines:
            return ""
        unit = "line-year" if self.year == "all" else "line"
        return f"{self.lines_achieved} of {self.lines} {unit}{'s' * (self.lines != 1)}"

    @property
    def unreported_lines(self) -> int:
        return self.lines - self.lines_found

    @property
    def gap_low(self) -> Decimal | None:
        """Planned (low) minus achieved: what is still to find. Known only when every line
        with a planned amount has reported an achieved figure; otherwise not known."""
        if self.lines_achieved != self.lines or not self.lines:
            return None
        return minus_known(self.planned_low, self.achieved)

    @property
    def gap_high(self) -> Decimal | None:
        if self.lines_achieved != self.lines or not self.lines:
            return None
        return minus_known(self.planned_high, self.achieved)

    def add(self, other: YearTotals) -> None:
        for name in (
            "planned_low",
            "planned_high",
            "adjusted_low",
            "adjusted_high",
            "achieved",
            "anticipated",
            "forecast",
            "unplanned_achieved",
        ):
            setattr(self, name, add_known(getattr(self, name), getattr(other, name)))
        for name in (
            "tbc_lines",
            "lines",
            "lines_achieved",
            "lines_found",
            "lines_forecast",
            "lines_with_progress",
            "unplanned_lines",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_json(self) -> dict:
        def money(value):
            return None if value is None else str(value)

        return {
            "planned_low": money(self.planned_low),
            "planned_high": money(self.planned_high),
            "tbc_lines": self.tbc_lines,
            "lines": self.lines,
            "adjusted_low": money(self.adjusted_low),
            "adjusted_high": money(self.adjusted_high),
            "achieved": money(self.achieved),
            "anticipated": money(self.anticipated),
            "forecast": money(self.forecast),
            "gap_low": money(self.gap_low),
            "gap_high": money(self.gap_high),
            "lines_achieved": self.lines_achieved,
            "lines_found": self.lines_found,
            "lines_forecast": self.lines_forecast,
            "unplanned_achieved": money(self.unplanned_achieved),
            "unplanned_lines": self.unplanned_lines,
        }


def latest_entries(entries, field: str):
    """The pks of ``entries`` that are their line's latest in their year recording ``field``,
    as a subquery for ``pk__in``.

    Each figure follows the latest entry that records it: a later entry with a comment or a
    RAG only (its amounts blank) neither wipes nor zeroes what was recorded before it. This is
    ``rules.latest_recording`` in SQL: one window over the entries (partitioned by line and
    year), so the cost is linear in rows, where a correlated "latest" subquery per entry
    rescanned the line's entries for every one of them.
    """
    last = Window(
        Max(Case(When(**{f"{field}__isnull": False}, then=F("as_at")))),
        partition_by=[F("line_id"), F("year")],
    )
    return entries.annotate(last_recorded=last).filter(as_at=F("last_recorded")).values("pk")


def latest_progress(plan_ids: Iterable[int], as_at: date | None = None, *, lines=None):
    """The latest progress entry of each line in each year (up to ``as_at``) that records an
    achieved to date, as a queryset: the entry behind the line's achieved (or achievable)
    figure. Entries without an amount (a comment or a RAG only) are passed over.

    ``lines`` (line ids, or a queryset of them) narrows it to those lines before the window
    is taken, so that a few lines' latest entries cost their entries, not the plan's."""
    entries = ProgressEntry.objects.filter(line__plan_id__in=list(plan_ids))
    if lines is not None:
        entries = entries.filter(line_id__in=lines)
    if as_at is not None:
        entries = entries.filter(as_at__lte=as_at)
    return ProgressEntry.objects.filter(pk__in=latest_entries(entries, "achieved_to_date"))


def _known(value) -> Decimal | None:
    """A sum from the database: None (nothing to sum) stays unknown."""
    return None if value is None else to_decimal(value)


_LATEST_SUMS = """
WITH e AS (
    SELECT l.plan_id, e.line_id, e.year, e.as_at, e.achieved_to_date, e.basis, e.forecast,
           a.id IS NOT NULL AS targeted,
           MAX(CASE WHEN e.achieved_to_date IS NOT NULL THEN e.as_at END) OVER w AS last_a,
           MAX(CASE WHEN e.forecast IS NOT NULL THEN e.as_at END) OVER w AS last_f,
           MAX(e.as_at) OVER w AS last_any
    FROM {entry} e
    JOIN {line} l ON l.id = e.line_id
    LEFT JOIN (
        SELECT pa.id, pa.line_id, pa.year FROM {amount} pa JOIN {line} pl ON pl.id = pa.line_id
        WHERE pl.plan_id IN ({ids})
    ) a ON a.line_id = e.line_id AND a.year = e.year
    WHERE l.plan_id IN ({ids}) AND l.counts_towards_target {up_to}
    WINDOW w AS (PARTITION BY e.line_id, e.year)
)
SELECT plan_id, year,
    SUM(CASE WHEN targeted AND as_at = last_a AND basis = %s THEN achieved_to_date END),
    SUM(CASE WHEN targeted AND as_at = last_a AND basis = %s THEN achieved_to_date END),
    SUM(CASE WHEN targeted AND as_at = last_f THEN forecast END),
    COUNT(CASE WHEN targeted AND as_at = last_a AND basis = %s THEN 1 END),
    COUNT(CASE WHEN targeted AND as_at = last_a THEN 1 END),
    COUNT(CASE WHEN targeted AND as_at = last_f THEN 1 END),
    SUM(CASE WHEN NOT targeted AND as_at = last_a AND basis = %s THEN achieved_to_date END),
    COUNT(CASE WHEN NOT targeted AND as_at = last_a AND basis = %s THEN 1 END),
    COUNT(CASE WHEN as_at = last_any THEN 1 END)
FROM e GROUP BY plan_id, year
"""
# The same sums on PostgreSQL in one hash aggregation of the entries, with no sort: each
# line's latest entry recording an achieved to date is the greatest of the arrays (days since
# 2000, amount, basis code) of its entries recording one, as each line has one entry a date
# (so the days decide); likewise its forecast. The window above sorts every entry by line and
# year, which at PostgreSQL's default work_mem spills to disk for a long plan.
_LATEST_SUMS_PG = """
WITH g AS (
    SELECT e.line_id, e.year,
           MAX(ARRAY[e.as_at - DATE '2000-01-01', e.achieved_to_date,
                     CASE e.basis WHEN %s THEN 1 WHEN %s THEN 2 ELSE 0 END])
               FILTER (WHERE e.achieved_to_date IS NOT NULL) AS a,
           MAX(ARRAY[e.as_at - DATE '2000-01-01', e.forecast])
               FILTER (WHERE e.forecast IS NOT NULL) AS f
    FROM {entry} e JOIN {line} l ON l.id = e.line_id
    WHERE l.plan_id IN ({ids}) AND l.counts_towards_target {up_to}
    GROUP BY e.line_id, e.year
), x AS (
    SELECT l.plan_id, g.year, g.a, g.f, pa.id IS NOT NULL AS targeted
    FROM g JOIN {line} l ON l.id = g.line_id
    LEFT JOIN {amount} pa ON pa.line_id = g.line_id AND pa.year = g.year
)
SELECT plan_id, year,
    SUM(CASE WHEN targeted AND a[3] = 1 THEN a[2] END),
    SUM(CASE WHEN targeted AND a[3] = 2 THEN a[2] END),
    SUM(CASE WHEN targeted THEN f[2] END),
    COUNT(CASE WHEN targeted AND a[3] = 1 THEN 1 END),
    COUNT(CASE WHEN targeted AND a IS NOT NULL THEN 1 END),
    COUNT(CASE WHEN targeted AND f IS NOT NULL THEN 1 END),
    SUM(CASE WHEN NOT targeted AND a[3] = 1 THEN a[2] END),
    COUNT(CASE WHEN NOT targeted AND a[3] = 1 THEN 1 END),
    COUNT(*)
FROM x GROUP BY plan_id, year
"""
_SUM_NAMES = (
    "line__plan_id",
    "year",
    "achieved",
    "anticipated",
    "forecast",
    "n_achieved",
    "n_found",
    "n_forecast",
    "unplanned",
    "n_unplanned",
    "n",
)


def _latest_sums(ids: list[int], as_at: date | None) -> list[dict]:
    """Per plan and year, the sums and counts of each line's latest entry recording an
    achieved to date (by basis, on lines with or without a planned amount in the year) and
    of its latest recording a forecast, over the lines counting towards target. One query.

    Written in SQL because it must read the entries once: a window (partitioned by line and
    year) marks each line's latest entries and one GROUP BY sums them, where the ORM can only
    repeat the window once per figure or correlate a "latest" subquery per entry. Each line
    has one entry a date, so counting the latest entries counts lines (and needs no COUNT
    DISTINCT, which would make the database sort every entry again to group them). On
    PostgreSQL the same sums come from one hash aggregation with no sort (``_LATEST_SUMS_PG``).
    """
    B = ProgressEntry.Basis
    postgres = connection.vendor == "postgresql"
    query = (_LATEST_SUMS_PG if postgres else _LATEST_SUMS).format(
        entry=ProgressEntry._meta.db_table,
        line=SavingsLine._meta.db_table,
        amount=PlannedAmount._meta.db_table,
        ids=", ".join(["%s"] * len(ids)),
        up_to="AND e.as_at <= %s" if as_at is not None else "",
    )
    up_to = [as_at] if as_at is not None else []
    if postgres:
        params = [B.ACHIEVED, B.ACHIEVABLE, *ids, *up_to]
    else:
        params = [*ids, *ids, *up_to]
        params += [B.ACHIEVED, B.ACHIEVABLE, B.ACHIEVED, B.ACHIEVED, B.ACHIEVED]
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return [dict(zip(_SUM_NAMES, row, strict=True)) for row in cursor.fetchall()]


def year_totals(plans, *, as_at: date | None = None) -> dict[int, dict[str, YearTotals]]:
    """``{plan_id: {"2017/18": YearTotals}}`` for every year of every plan. Three queries,
    each linear in the rows it reads.

    Only lines that count towards the plan's target are included (see
    ``SavingsLine.counts_towards_target``). Achieved is the achieved to date of each line's
    latest entry in the year that records one (an entry marked achievable counts as
    anticipated); the forecast is that of its latest entry that records a forecast. Lines with
    progress counts every line with any entry in the year. A figure no line reports is None.
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
        # No Meta ordering: it would join the plan and its authority to order by their names.
        .order_by()
    )
    for row in planned:
        t = slot(row["line__plan_id"], row["year"])
        t.planned_low, t.planned_high = _known(row["low"]), _known(row["high"])
        t.tbc_lines, t.lines = row["tbc"], row["n"]

    adjustments = YearAdjustment.objects.filter(plan_id__in=ids).order_by()
    for adj in adjustments.values("plan_id", "year", "factor"):
        slot(adj["plan_id"], adj["year"]).factor = adj["factor"]

    progress = _latest_sums(ids, as_at) if ids else []
    for row in progress:
        t = slot(row["line__plan_id"], row["year"])
        t.achieved = _known(row["achieved"])
        t.anticipated = _known(row["anticipated"])
        t.forecast = _known(row["forecast"])
        t.lines_achieved = row["n_achieved"]
        t.lines_found = row["n_found"]
        t.lines_forecast = row["n_forecast"]
        t.unplanned_achieved = _known(row["unplanned"])
        t.unplanned_lines = row["n_unplanned"]
        t.lines_with_progress = row["n"]

    for years in result.values():
        for t in years.values():
            if t.planned_low is not None:
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


class YearAmounts(dict):
    """``{year: amount}``, with ``projected``: the part of the amounts the paper only projects
    (``CostPressure.projected``)."""

    projected: Decimal = ZERO


def slippage_by_year(plans) -> dict[int, YearAmounts]:
    """Total cost pressure of slipped actions per plan and year. One query."""
    out: dict[int, YearAmounts] = defaultdict(YearAmounts)
    rows = (
        CostPressure.objects.filter(plan_id__in=_ids(plans), kind=CostPressure.Kind.SLIPPAGE)
        .values("plan_id", "year")
        .annotate(total=Sum("amount"), projected=Sum("amount", filter=Q(projected=True)))
        .order_by()
    )
    for row in rows:
        years = out[row["plan_id"]]
        years[row["year"]] = to_decimal(row["total"])
        years.projected += to_decimal(row["projected"])
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
    computable: bool = False  # the app computes this measure (though it may be unreported)

    @property
    def status(self) -> str:
        """ "Agrees", "Differs", "Not reported" (computable, nothing recorded) or "Not
        computed" (a figure the app does not compute)."""
        if self.agrees is None:
            return "Not reported" if self.computable else "Not computed"
        return "Agrees" if self.agrees else "Differs"

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
    """Set every stated total of the plan beside the computed one. Four queries at most."""
    totals = totals or plan_totals([plan])[plan.pk]
    slippage = slippage_by_year([plan]).get(plan.pk, {})
    # Only the lines a stated figure names are read (a handful, where the plan may have
    # thousands): their planned totals with the figures, their latest progress apart.
    amounts = PlannedAmount.objects.filter(line=OuterRef("line")).values("line")
    stated = (
        StatedFigure.objects.filter(plan=plan)
        .annotate(
            line_planned=Exists(amounts),
            line_low=Subquery(amounts.annotate(s=Sum("low")).values("s")),
            line_high=Subquery(amounts.annotate(s=Sum("high")).values("s")),
        )
        .order_by("year", "key")
    )
    named = StatedFigure.objects.filter(plan=plan, line__isnull=False).values("line_id")
    line_progress: dict[tuple[int, str], tuple[Decimal, Decimal]] = {}
    for entry in latest_progress([plan.pk], lines=named).values(
        "line_id", "year", "achieved_to_date", "basis"
    ):
        amount = to_decimal(entry["achieved_to_date"])
        achieved = amount if entry["basis"] == ProgressEntry.Basis.ACHIEVED else None
        line_progress[(entry["line_id"], entry["year"])] = (achieved, amount)
    out = []
    M = StatedFigure.Measure
    for figure in stated:
        low = high = None
        year_t = totals.years.get(figure.year) if figure.year else totals.total
        if figure.line_id and figure.measure in (M.ACHIEVED, M.ANTICIPATED):
            achieved, anticipated = line_progress.get((figure.line_id, figure.year), (None, None))
            low = high = achieved if figure.measure == M.ACHIEVED else anticipated
        elif figure.measure == M.PLANNED and year_t:
            low, high = year_t.planned_low, year_t.planned_high
        elif figure.measure == M.ADJUSTED and year_t:
            low, high = year_t.adjusted_low, year_t.adjusted_high
        elif figure.measure == M.ACHIEVED and year_t:
            low = high = year_t.achieved
        elif figure.measure == M.ANTICIPATED and year_t:
            low = high = year_t.found
        elif figure.measure == M.GAP and year_t:
            low, high = year_t.gap_low, year_t.gap_high
        elif figure.measure == M.SLIPPAGE:
            value = slippage.get(figure.year) if figure.year else sum(slippage.values(), ZERO)
            low = high = value
        elif figure.measure == M.LINE_TOTAL and figure.line_planned:
            low, high = to_decimal(figure.line_low), to_decimal(figure.line_high)
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
                computable=figure.measure != M.OTHER,
            )
        )
    return out
