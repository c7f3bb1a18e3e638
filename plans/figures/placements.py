"""Placements, the cost driver: counts by type, unit costs, planned moves and what they save.

One rule for each figure (DESIGN.md, "Placement forecast"):

- A month's cost of a type = count x annual unit cost / 12 (a weekly cost is x 52 a year; a
  type the paper gives only as a total costs that total / 12 a month, whatever the count).
- An actual count stands until the next actual count; in between it moves with the moves
  recorded as happened (a move in month m counts from m: the census at the end of m already
  shows it). A budgeted count stands until the next budgeted count.
- A move saves number x (from's annual cost - to's) a year: for the months of the year from
  the month it happens to March (a move in month m saves (13 - m)/12 of a year).
- A move not made by the as-at month is forecast for the month after it; each month it is late
  costs the saving of that month (the MTFS's Table 2 method: the slippage table is computed).
- Forecast outturn for the year = cost to date + the as-at month's counts carried to March +
  the moves still to come. Budget = the budgeted counts' cost for the year.
- A savings line tied to moves: planned = what its moves of the year would save (the driver),
  achieved = what the moves made have saved to date, forecast = made + forecast; its RAG is
  Red when a move is ``RED_MONTHS_LATE`` months late or more, Amber when any is late, Blue
  when all are made on time, Green otherwise. A move's month the paper does not give is
  assumed (``PlacementMove.month_assumed``): the plan's month still rates the line, and every
  page that says a move is late says it is late against an assumed month.
- What-if scenarios change unit costs, counts or move dates on a copy, never the base.

Unknown is not zero: a type with no unit cost or no count makes every sum over it None.
Three queries for a plan (types, counts, moves), plus one for its scenarios.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

from plans.figures._base import ZERO
from plans.models import PlacementCount, PlacementMove, PlacementScenario, PlacementType
from recovery import fiscal
from recovery.money import PENNY

RED_MONTHS_LATE = 3
TWELVE = Decimal(12)
ACTUAL, BUDGET = PlacementCount.Kind.ACTUAL, PlacementCount.Kind.BUDGET


def month_index(year: str, period: int) -> int:
    """Months since year 0: consecutive across financial years (P12 2017/18 + 1 = P1 2018/19)."""
    return fiscal.year_start_int(year) * 12 + period - 1


def index_month(index: int) -> tuple[str, int]:
    return fiscal.year_label(index // 12), index % 12 + 1


def index_label(index: int) -> str:
    return fiscal.month_label(*index_month(index))


def _sum(values) -> Decimal | None:
    total = ZERO
    for v in values:
        if v is None:
            return None
        total += v
    return total


def _money(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(PENNY)


@dataclass(frozen=True)
class Adjustments:
    """A what-if's changes. The base is ``Adjustments()``."""

    unit_factor: Decimal = Decimal(1)
    type_id: int | None = None  # None: every type
    count_change: int = 0
    count_from: int | None = None  # month index the count change starts
    delay: int = 0
    delayed: int | None = None  # the first N moves not yet made; None: all

    @classmethod
    def of(cls, scenario: PlacementScenario) -> Adjustments:
        return cls(
            unit_factor=1 + Decimal(str(scenario.unit_cost_change)) / 100,
            type_id=scenario.placement_type_id,
            count_change=scenario.count_change,
            count_from=month_index(scenario.count_change_from, 1)
            if scenario.count_change_from
            else None,
            delay=scenario.move_delay_months,
            delayed=scenario.moves_delayed,
        )

    def applies_to(self, type_id: int) -> bool:
        return self.type_id is None or self.type_id == type_id


@dataclass
class PlacementData:
    """A plan's placement records, read once."""

    types: list[PlacementType]
    counts: dict[tuple[int, str], list[tuple[int, int]]]  # (type, kind) -> [(index, count)]
    moves: list[PlacementMove]
    # The counts the paper does not print (``PlacementCount.assumed``): (type, kind, index)
    # -> the notes saying how each was worked out.
    assumed: dict[tuple[int, str, int], str] = field(default_factory=dict)


def load(plan) -> PlacementData:
    types = list(PlacementType.objects.filter(plan=plan).order_by("order", "name", "pk"))
    counts: dict[tuple[int, str], list[tuple[int, int]]] = defaultdict(list)
    assumed = {}
    rows = PlacementCount.objects.filter(type__plan=plan).values_list(
        "type_id", "kind", "year", "period", "count", "assumed", "notes"
    )
    for type_id, kind, year, period, count, is_assumed, notes in rows.order_by():
        counts[type_id, kind].append((month_index(year, period), count))
        if is_assumed:
            assumed[type_id, kind, month_index(year, period)] = notes
    for series in counts.values():
        series.sort()
    moves = list(
        PlacementMove.objects.filter(plan=plan)
        .select_related("from_type", "to_type", "line")
        .order_by("planned_year", "planned_period", "reference", "pk")
    )
    return PlacementData(types=types, counts=dict(counts), moves=moves, assumed=assumed)


# --------------------------------------------------------------------------------------------
# Moves


@dataclass
class MoveFigures:
    move: PlacementMove
    saving: Decimal | None  # a full year's saving of the move (all its children)
    planned: int
    happened: int | None  # month index it happened, if by the as-at month
    forecast: int  # when it happens or is now expected
    as_at: int
    first: int  # the year's first month index

    @property
    def last(self) -> int:
        return self.first + 11

    def _months_from(self, start: int, end: int | None = None) -> int:
        end = self.last if end is None else end
        return max(0, min(end, self.last) - max(start, self.first) + 1)

    def _part(self, months: int) -> Decimal | None:
        return None if self.saving is None else self.saving * months / TWELVE

    @property
    def in_year(self) -> bool:
        return self.first <= self.planned <= self.last

    @property
    def planned_in_year(self) -> Decimal | None:
        return self._part(self._months_from(self.planned))

    @property
    def achieved_to_date(self) -> Decimal | None:
        if self.happened is None:
            return ZERO if self.saving is not None else None
        return self._part(self._months_from(self.happened, self.as_at))

    @property
    def forecast_in_year(self) -> Decimal | None:
        return self._part(self._months_from(self.forecast))

    @property
    def months_late(self) -> int:
        """Months of delay so far: to the month it happened, or to the as-at month (it was
        not made by the end of it)."""
        if self.happened is not None:
            return max(0, self.happened - self.planned)
        return max(0, self.as_at - self.planned + 1)

    @property
    def month_assumed(self) -> bool:
        """Whether the planned month is assumed (the paper gives the year): lateness against
        it is no evidence of slippage."""
        return self.move.month_assumed

    @property
    def status(self) -> str:
        """In a table beside the planned month (``PlacementMove.planned_label``, which says
        when the month is assumed)."""
        late = self.months_late
        months = f"{late} month{'s' if late != 1 else ''} late"
        if self.happened is not None:
            when = index_label(self.happened)
            return f"Made in {when}" + (f", {months}" if late else ", on time")
        if late:
            return f"Not recorded as made by {index_label(self.as_at)}: {months}"
        return f"Due {index_label(self.planned)}"

    @property
    def status_in_words(self) -> str:
        """``status`` on its own (a line's commentary): lateness against a month the paper
        does not give says so."""
        if not self.month_assumed:
            return self.status
        if self.months_late:
            return f"{self.status} (against the assumed {index_label(self.planned)})"
        return fiscal.month_said(self.status, True)

    def delay_months(self) -> range:
        """The months this move costs its saving because it was (or will be) late."""
        return range(self.planned, self.happened if self.happened is not None else self.forecast)

    @property
    def monthly_saving(self) -> Decimal | None:
        return None if self.saving is None else self.saving / TWELVE


def _move_figures(
    data: PlacementData, annual: dict[int, Decimal | None], as_at: int, first: int, adj
) -> list[MoveFigures]:
    out = []
    delayed = 0
    for move in data.moves:
        planned = month_index(move.planned_year, move.planned_period)
        happened = None
        if move.actual_year and move.actual_period:
            made = month_index(move.actual_year, move.actual_period)
            happened = made if made <= as_at else None
        from_cost = annual.get(move.from_type_id)
        to_cost = annual.get(move.to_type_id) if move.to_type_id else ZERO
        saving = None if from_cost is None or to_cost is None else (from_cost - to_cost)
        if saving is not None:
            saving *= move.number
        if happened is not None:
            forecast = happened
        else:
            forecast = max(planned, as_at + 1)
            if adj.delay and (adj.delayed is None or delayed < adj.delayed):
                forecast += adj.delay
                delayed += 1
        out.append(MoveFigures(move, saving, planned, happened, forecast, as_at, first))
    return out


# --------------------------------------------------------------------------------------------
# Types and the forecast


@dataclass
class TypeFigures:
    type: PlacementType
    annual: Decimal | None  # annual unit cost (after a what-if's change)
    actual: list[int | None]  # the year's 12 months; None after the as-at month or unknown
    budget: list[int | None]
    current: int | None  # the count at the as-at month
    carried: list[int | None]  # counts after the as-at month: current + moves to come
    period: int  # the as-at period within the year (0: before the year, 12: after)
    share: Decimal | None = None  # of the children at the as-at month (counted types)
    counted: str = ""  # the month of the count behind ``current`` when it is an earlier one
    # Whether the count behind each month's budget, and behind ``current``, is one the paper
    # does not print (``PlacementCount.assumed``).
    budget_assumed: list[bool] = field(default_factory=lambda: [False] * 12)
    current_assumed: bool = False
    # How each assumed count behind the figures was worked out, in words, in month order.
    assumptions: list[str] = field(default_factory=list)

    @property
    def assumptions_text(self) -> str:
        """``assumptions`` as one sentence ("" when none)."""
        return "; ".join(self.assumptions) + "." if self.assumptions else ""

    @property
    def budget_now(self) -> int | None:
        """The budgeted count at the as-at month."""
        return self.budget[self.period - 1] if self.period else None

    @property
    def budget_now_assumed(self) -> bool:
        return bool(self.period) and self.budget_assumed[self.period - 1]

    @property
    def budget_rests_on_assumption(self) -> bool:
        """Some month of the year's budget is costed from an assumed count."""
        return any(
            assumed and count is not None
            for assumed, count in zip(self.budget_assumed, self.budget, strict=True)
        )

    @property
    def assumed_words(self) -> str:
        """Which counts behind the type's figures are assumed, for a column of their own:
        "children", "budgeted" (the count budgeted at the as-at month) or "the year's budget"
        (an assumed count budgets some other month)."""
        words = ["children"] if self.current_assumed else []
        if self.budget_now_assumed:
            words.append("budgeted")
        elif self.budget_rests_on_assumption:
            words.append("the year's budget")
        return " and ".join(words)

    @property
    def is_total(self) -> bool:
        return self.type.cost_basis == PlacementType.CostBasis.TOTAL

    def cost(self, count: int | None) -> Decimal | None:
        if self.annual is None:
            return None
        if self.is_total:
            return self.annual / TWELVE
        if count is None:
            return None
        return count * self.annual / TWELVE

    @property
    def actual_cost(self) -> list[Decimal | None]:
        return [self.cost(c) if i < self.period else None for i, c in enumerate(self.actual)]

    @property
    def budget_cost(self) -> list[Decimal | None]:
        # A total is what the paper says the type costs, not a budget for it.
        if self.is_total:
            return [None] * 12
        return [self.cost(c) for c in self.budget]

    @property
    def to_date(self) -> Decimal | None:
        return _sum(self.actual_cost[: self.period])

    @property
    def rest_of_year(self) -> Decimal | None:
        return _sum(self.cost(c) for c in self.carried[self.period :])

    @property
    def outturn(self) -> Decimal | None:
        return _sum([self.to_date, self.rest_of_year])

    @property
    def budget_total(self) -> Decimal | None:
        return _sum(self.budget_cost)

    @property
    def full_year(self) -> Decimal | None:
        """A full year at the as-at month's count: the run rate."""
        if self.is_total:
            return self.annual
        if self.annual is None or self.current is None:
            return None
        return self.current * self.annual

    @property
    def counts_known(self) -> bool:
        return any(c is not None for c in self.actual + self.budget)


# --------------------------------------------------------------------------------------------
# Children counted: one rule for the as-at month's figures and the KPIs fed from the counts


def counted_types(types: list[PlacementType]) -> list[PlacementType]:
    """Types counted by child (a type the paper gives only as a total spend has no count)."""
    return [t for t in types if t.cost_basis != PlacementType.CostBasis.TOTAL]


def fostering_types(types: list[PlacementType]) -> list[PlacementType]:
    kinds = PlacementType.Kind
    return [t for t in counted_types(types) if t.kind in (kinds.IN_HOUSE, kinds.IFA)]


def children_in(types: list[PlacementType], counts: dict[int, int | None]) -> int | None:
    """Children in ``types`` (counted by child) given each type's count; None when any is
    unknown or there is no such type (unknown is not zero)."""
    counted = counted_types(types)
    if not counted or any(counts.get(t.pk) is None for t in counted):
        return None
    return sum(counts[t.pk] for t in counted)


def in_house_share_in(types: list[PlacementType], counts: dict[int, int | None]) -> Decimal | None:
    """In-house fostering / (in-house + IFA) as a fraction; None when a count is unknown,
    the plan has no in-house type, or nobody is fostered."""
    fostering = fostering_types(types)
    in_house = [t for t in fostering if t.kind == PlacementType.Kind.IN_HOUSE]
    if not in_house or any(counts.get(t.pk) is None for t in fostering):
        return None
    total = sum(counts[t.pk] for t in fostering)
    return Decimal(sum(counts[t.pk] for t in in_house)) / total if total else None


@dataclass(frozen=True)
class Made:
    """A move recorded as happened, in the month (index) it happened."""

    happened: int
    move: PlacementMove


def actual_count_months(data: PlacementData) -> dict[int, dict[int, int | None]]:
    """Each month with an actual count recorded or a move made, and every type's actual count
    at its end (the rule of ``_actual_count``: a count stands, moving with the moves made)."""
    made = [
        Made(month_index(m.actual_year, m.actual_period), m)
        for m in data.moves
        if m.actual_year and m.actual_period
    ]
    months = {x.happened for x in made}
    for (_type_id, kind), series in data.counts.items():
        if kind == PlacementCount.Kind.ACTUAL:
            months.update(index for index, _ in series)
    return {
        index: {t.pk: _actual_count(data, t.pk, index, made) for t in data.types}
        for index in sorted(months)
    }


PAPERS_TOTAL = "the paper's total, spread evenly (assumed)"


def _cost_basis(data, first: int, as_at: int) -> list[str]:
    """Where each month's actual cost comes from, to the as-at month: "counted" when every
    type counted by child has a count of its own that month; else "carried from" the months
    of the counts it carries forward (``_actual_count``'s rule); "the paper's total, spread
    evenly (assumed)" when only types costed as a total are costed: no spend was reported."""
    series = [
        data.counts.get((t.pk, PlacementCount.Kind.ACTUAL), []) for t in counted_types(data.types)
    ]
    out = []
    for index in range(first, first + 12):
        found = [f for s in series if (f := _count_at(s, index)) is not None]
        if index > as_at:
            out.append("")
        elif not found:
            out.append(PAPERS_TOTAL)
        elif earlier := sorted({at for at, _ in found if at < index}):
            carried = "carried from " + " and ".join(index_label(at) for at in earlier)
            counted = sum(1 for at, _ in found if at == index)
            if counted:  # some types counted this month, the others carried
                carried = f"{counted} of {len(found)} types counted, the others {carried}"
            out.append(carried)
        else:
            out.append("counted")
    return out


def _counted_in(data, first: int, as_at: int) -> bool:
    """Whether any type counted by child has a count of its own from ``first`` to ``as_at``."""
    return any(
        first <= at <= as_at
        for t in counted_types(data.types)
        for at, _ in data.counts.get((t.pk, PlacementCount.Kind.ACTUAL), [])
    )


def _count_at(series: list[tuple[int, int]], index: int) -> tuple[int, int] | None:
    """The latest (index, count) at or before ``index``."""
    found = None
    for at, count in series:
        if at > index:
            break
        found = (at, count)
    return found


def _actual_count(data, type_id, index, happened_moves) -> int | None:
    """A type's actual count at ``index``; ``happened_moves`` have ``happened`` and ``move``."""
    base = _count_at(data.counts.get((type_id, PlacementCount.Kind.ACTUAL), []), index)
    if base is None:
        return None
    at, count = base
    for mf in happened_moves:
        if at < mf.happened <= index:
            if mf.move.to_type_id == type_id:
                count += mf.move.number
            if mf.move.from_type_id == type_id:
                count -= mf.move.number
    return max(count, 0)


def _type_figures(data, t, annual, first, as_at, moves, adj) -> TypeFigures:
    period = max(0, min(12, as_at - first + 1))
    happened = [m for m in moves if m.happened is not None]
    actual = [
        _actual_count(data, t.pk, first + i, happened) if first + i <= as_at else None
        for i in range(12)
    ]
    by_child = t.cost_basis != PlacementType.CostBasis.TOTAL  # a total's counts cost nothing
    assumed_counts: dict[tuple[str, int], int] = {}

    def assumed(kind: str, found: tuple[int, int] | None) -> bool:
        """Whether a count behind the figures is one the paper does not print (noted)."""
        if not by_child or found is None or (t.pk, kind, found[0]) not in data.assumed:
            return False
        assumed_counts[kind, found[0]] = found[1]
        return True

    budget_series = data.counts.get((t.pk, BUDGET), [])
    budget, budget_assumed = [], []
    for i in range(12):
        found = _count_at(budget_series, first + i)
        budget.append(None if found is None else found[1])
        budget_assumed.append(assumed(BUDGET, found))
    current = _actual_count(data, t.pk, as_at, happened)
    changes = bool(adj.count_change and adj.count_from is not None and adj.applies_to(t.pk))

    def changed(count: int, index: int) -> int:
        """A what-if's change in children: by the change for each year from its first."""
        if changes and index >= adj.count_from:
            count += adj.count_change * ((index - adj.count_from) // 12 + 1)
        return max(count, 0)

    carried: list[int | None] = [None] * 12
    for i in range(period, 12):
        index = first + i
        if current is None:
            continue
        count = current
        for mf in moves:
            if mf.happened is None and mf.forecast <= index:
                if mf.move.to_type_id == t.pk:
                    count += mf.move.number
                if mf.move.from_type_id == t.pk:
                    count -= mf.move.number
        carried[i] = changed(count, index)
    if current is not None:
        current = changed(current, as_at)
    # A count carried forward from an earlier month says which: the as-at month was not counted.
    base = _count_at(data.counts.get((t.pk, ACTUAL), []), as_at)
    counted = index_label(base[0]) if base is not None and base[0] != as_at else ""
    current_assumed = assumed(ACTUAL, base)
    return TypeFigures(
        t,
        annual,
        actual,
        budget,
        current,
        carried,
        period,
        counted=counted,
        budget_assumed=budget_assumed,
        current_assumed=current_assumed,
        assumptions=[
            _assumption(kind, count, at, data.assumed[t.pk, kind, at])
            for (kind, at), count in sorted(assumed_counts.items(), key=lambda x: x[0][1])
        ],
    )


def _assumption(kind: str, count: int, index: int, notes: str) -> str:
    """An assumed count and how it was worked out: "26 budgeted from Jul 2017: 28 less ..."."""
    what = f"{count} budgeted from" if kind == BUDGET else f"{count} children at"
    how = notes.removeprefix("Assumption:").strip().rstrip(".") or "the notes do not say how"
    return f"{what} {index_label(index)}: {how}"


@dataclass
class LineFromMoves:
    """A savings line driven by placement moves, in the year."""

    line: object
    moves: list[MoveFigures]

    @property
    def driver_volume(self) -> int:
        return sum(m.move.number for m in self.moves)

    @property
    def driver_total(self) -> Decimal | None:
        """What the year's moves save in a full year (volume x unit difference)."""
        return _money(_sum(m.saving for m in self.moves))

    @property
    def unit_difference(self) -> Decimal | None:
        total = _sum(m.saving for m in self.moves)
        if total is None or not self.driver_volume:
            return None
        return _money(total / self.driver_volume)

    @property
    def planned_in_year(self) -> Decimal | None:
        return _money(_sum(m.planned_in_year for m in self.moves))

    @property
    def achieved(self) -> Decimal | None:
        return _money(_sum(m.achieved_to_date for m in self.moves))

    @property
    def forecast(self) -> Decimal | None:
        return _money(_sum(m.forecast_in_year for m in self.moves))

    @property
    def slippage(self) -> Decimal | None:
        return minus(self.planned_in_year, self.forecast)

    @property
    def made(self) -> int:
        return sum(m.move.number for m in self.moves if m.happened is not None)

    @property
    def rag(self) -> str:
        late = max((m.months_late for m in self.moves), default=0)
        if late >= RED_MONTHS_LATE:
            return "red"
        if late:
            return "amber"
        if self.moves and all(m.happened is not None for m in self.moves):
            return "blue"
        return "green"

    @property
    def late_against_assumed(self) -> bool:
        """Whether a move of the line is late against a month the paper does not give."""
        return any(m.months_late and m.month_assumed for m in self.moves)

    @property
    def summary(self) -> str:
        """In words, for the line's progress commentary."""
        parts = [f"{m.move.reference}: {m.status_in_words}" for m in self.moves]
        return f"From placement moves: {self.made} of {self.driver_volume} made. " + "; ".join(
            parts
        )


def minus(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    return None if a is None or b is None else a - b


@dataclass
class SlippageMonth:
    index: int
    amount: Decimal | None
    cumulative: Decimal | None
    to_date: bool  # the month is at or before the as-at month (else forecast)

    @property
    def label(self) -> str:
        return index_label(self.index)


@dataclass
class Position:
    """The forecast at one as-at month (the page's and the one before, for movement)."""

    types: list[TypeFigures]
    moves: list[MoveFigures]

    @property
    def to_date(self) -> Decimal | None:
        return _money(_sum(t.to_date for t in self.types)) if self.types else None

    @property
    def carried(self) -> Decimal | None:
        """The as-at counts carried to March, before the moves to come."""
        if not self.types:
            return None
        return _money(
            _sum(
                _sum(t.cost(t.current) for _ in range(t.period, 12)) if t.period < 12 else ZERO
                for t in self.types
            )
        )

    @property
    def moves_to_come(self) -> Decimal | None:
        """The change the moves still to come make to the rest of the year (negative: a
        saving)."""
        if not self.types:
            return None
        return minus(self.outturn, _sum([self.to_date, self.carried]))

    @property
    def outturn(self) -> Decimal | None:
        return _money(_sum(t.outturn for t in self.types)) if self.types else None

    @property
    def budget(self) -> Decimal | None:
        return _money(_sum(t.budget_total for t in self.types)) if self.types else None

    @property
    def variance(self) -> Decimal | None:
        return minus(self.outturn, self.budget)

    @property
    def budget_assumed(self) -> bool:
        """The budget rests on a budgeted count the paper does not print."""
        return any(t.budget_rests_on_assumption for t in self.types)

    @property
    def full_year(self) -> Decimal | None:
        return _money(_sum(t.full_year for t in self.types)) if self.types else None


@dataclass
class PlacementFigures:
    plan: object
    year: str
    period: int
    position: Position
    previous: Position | None  # at the month before (movement), None at P1
    scenario: PlacementScenario | None = None
    lines: list[LineFromMoves] = field(default_factory=list)
    # Where each month's actual cost comes from (``_cost_basis``): "counted", "carried from
    # <month>" (a type's latest count before it, with the moves made since), "the paper's
    # total" (types costed as a total alone) or "" (no actual cost).
    cost_basis: list[str] = field(default_factory=lambda: [""] * 12)
    # Whether the year has a count of its own by the as-at month (``_counted_in``).
    counted_in_year: bool = True

    red_months_late = RED_MONTHS_LATE

    @property
    def costed_bases(self) -> list[str]:
        """Where the cost of each month that has one comes from (``cost_rows``)."""
        return [basis for *_, basis in self.cost_rows if basis]

    @property
    def cost_assumed(self) -> bool:
        """Every month's cost to date is the paper's yearly total spread evenly: no spend
        was reported, and no page calls it actual."""
        known = self.costed_bases
        return bool(known) and all(basis == PAPERS_TOTAL for basis in known)

    @property
    def cost_word(self) -> str:
        """What the month-by-month cost is called on every page, chart and the pack:
        "Assumed" when it is the paper's total spread evenly; "Estimated" when no month of it
        was counted (every month carries earlier counts forward: a cost nobody reported);
        else "Actual"."""
        if self.cost_assumed:
            return "Assumed"
        known = self.costed_bases
        if known and all(basis.startswith("carried from") for basis in known):
            return "Estimated"
        return "Actual"

    @property
    def uncounted_note(self) -> str:
        """Said beside the forecast and variance of a year with no count of its own yet: every
        figure then rests on counts carried forward from an earlier year ("" otherwise)."""
        if self.cost_assumed:
            return (
                f"No placement spend is reported for {self.year}: the cost to date, forecast "
                "and variance spread the paper's yearly total evenly over the months, an "
                "assumption, not a spend."
            )
        if self.counted_in_year or not self.carried_any:
            return ""
        if not self.cost_known:
            return (
                f"No placement count is recorded for {self.year} by {self.label}: the "
                f"children shown by type are earlier counts carried forward "
                f"({self.carried_note})."
            )
        return (
            f"No placement count is recorded for {self.year} by {self.label}: the cost, "
            f"forecast and variance carry earlier counts forward ({self.carried_note})."
        )

    @property
    def budget_assumed(self) -> bool:
        return self.position.budget_assumed

    @property
    def budget_word(self) -> str:
        """The budget as every label names it: "assumed budget" when it rests on a count the
        paper does not print."""
        return "assumed budget" if self.budget_assumed else "budget"

    @property
    def assumed_note(self) -> str:
        """Which counts behind the figures the paper does not print, said wherever the
        figures are given ("" when every count is the paper's)."""
        budgets = [t.type.name for t in self.types if t.budget_rests_on_assumption]
        counts = [t.type.name for t in self.types if t.current_assumed]
        parts = []
        if budgets:
            parts.append(
                f"the budgeted children of {' and '.join(budgets)}, so the budget and the "
                "variance rest on an assumption"
            )
        if counts:
            parts.append(f"the children of {' and '.join(counts)} at {self.label}")
        if not parts:
            return ""
        return (
            f"Assumed, not printed in the paper: {'; '.join(parts)}. How each was worked out "
            "is said with its type."
        )

    @property
    def cost_rows(self) -> list[tuple[str, Decimal | None, Decimal | None, str]]:
        """``cost_trend`` with where each month's actual cost comes from (``cost_basis``)."""
        return [
            (month, actual, budget, self.cost_basis[i] if actual is not None else "")
            for i, (month, actual, budget) in enumerate(self.cost_trend)
        ]

    @property
    def carried_any(self) -> bool:
        """A month to the as-at month shows counts carried forward from an earlier one,
        whether or not a unit cost makes a cost of them (the counts are shown either way)."""
        return any("carried from" in basis for basis in self.cost_basis)

    @property
    def carried_note(self) -> str:
        """The carried months in runs: "Apr–Nov carried from Jan 2017"."""
        runs: list[list] = []  # [first month, last month, basis, index of the last]
        months = [month for month, _, _ in self.cost_trend]
        for i, (month, basis) in enumerate(zip(months, self.cost_basis, strict=True)):
            if "carried from" not in basis:
                continue
            if runs and runs[-1][2] == basis and runs[-1][3] == i - 1:
                runs[-1][1], runs[-1][3] = month, i
            else:
                runs.append([month, month, basis, i])
        return "; ".join(
            f"{first}{'–' + last if last != first else ''} {basis}"
            for first, last, basis, _ in runs
        )

    @property
    def cost_known(self) -> bool:
        """Some month's actual or budgeted cost is known: only then is there a cost trend to
        draw (counts without unit costs give none)."""
        return any(a is not None or b is not None for _, a, b in self.cost_trend)

    @property
    def empty(self) -> bool:
        return not self.position.types and not self.position.moves

    @property
    def types(self) -> list[TypeFigures]:
        return self.position.types

    @property
    def first(self) -> int:
        return month_index(self.year, 1)

    @property
    def as_at(self) -> int:
        return month_index(self.year, self.period)

    @property
    def label(self) -> str:
        return fiscal.period_label(self.year, self.period)

    @property
    def moves(self) -> list[MoveFigures]:
        """The moves planned in the year, or planned earlier and still not made."""
        return [
            m
            for m in self.position.moves
            if m.in_year or (m.planned < self.first and (m.happened or m.forecast) >= self.first)
        ]

    @property
    def movement(self) -> Decimal | None:
        if self.previous is None:
            return None
        return minus(self.position.variance, self.previous.variance)

    @property
    def months(self) -> list[str]:
        return [fiscal.MONTH_ABBR[i] for i in range(12)]

    @cached_property
    def slippage(self) -> list[SlippageMonth]:
        """Each month of the year: what moves late in it cost (Table 2, computed)."""
        by_month: dict[int, Decimal | None] = {}
        for m in self.moves:
            for index in m.delay_months():
                if self.first <= index <= self.first + 11:
                    add = m.monthly_saving
                    prior = by_month.get(index, ZERO)
                    by_month[index] = None if prior is None or add is None else prior + add
        rows, running = [], ZERO
        for index in range(self.first, self.first + 12):
            if index not in by_month:
                continue
            amount = by_month[index]
            running = None if running is None or amount is None else running + amount
            rows.append(SlippageMonth(index, _money(amount), _money(running), index <= self.as_at))
        return rows

    @property
    def slippage_total(self) -> Decimal | None:
        """What late moves cost in the year: £0 if every move is on time, None (not known,
        never £0) when the plan records no move for the year."""
        if not self.moves:
            return None
        return self.slippage[-1].cumulative if self.slippage else ZERO

    @property
    def slippage_to_date(self) -> Decimal | None:
        return _sum(s.amount for s in self.slippage if s.to_date)

    @property
    def cost_trend(self) -> list[tuple[str, Decimal | None, Decimal | None]]:
        """Month, actual cost (to the as-at month), budgeted cost: over every type."""
        rows = []
        for i in range(12):
            actual = (
                _sum(t.actual_cost[i] for t in self.types) if i < self.position_period else None
            )
            budget = _sum(t.budget_cost[i] for t in self.types)
            rows.append((fiscal.MONTH_ABBR[i], _money(actual), _money(budget)))
        return rows

    @property
    def position_period(self) -> int:
        return self.types[0].period if self.types else 0

    @property
    def children(self) -> int | None:
        """Children in placements at the as-at month (types counted by child)."""
        return children_in([t.type for t in self.types], {t.type.pk: t.current for t in self.types})

    @property
    def mix(self) -> list[tuple[TypeFigures, Decimal | None]]:
        """Each counted type's share of the children at the as-at month."""
        total = self.children
        return [
            (t, None if not total or t.current is None else Decimal(t.current) / total)
            for t in self.types
            if not t.is_total
        ]

    @property
    def in_house_share(self) -> Decimal | None:
        """In-house fostering's share of fostering (in-house + IFA), as the MTFS's 70/30."""
        return in_house_share_in(
            [t.type for t in self.types], {t.type.pk: t.current for t in self.types}
        )

    def line(self, line_id: int) -> LineFromMoves | None:
        return next((x for x in self.lines if x.line.pk == line_id), None)


def _position(data, first, as_at, adj) -> Position:
    annual = {}
    for t in data.types:
        cost = t.annual_cost
        if cost is not None and adj.applies_to(t.pk):
            cost = cost * adj.unit_factor
        annual[t.pk] = cost
    moves = _move_figures(data, annual, as_at, first, adj)
    types = [_type_figures(data, t, annual[t.pk], first, as_at, moves, adj) for t in data.types]
    return Position(types, moves)


def placement_figures(
    plan,
    year: str,
    period: int,
    *,
    scenario: PlacementScenario | None = None,
    data: PlacementData | None = None,
) -> PlacementFigures:
    """Every placement figure of ``plan`` for ``year`` at ``period``. Three queries (none
    when ``data`` is given)."""
    data = load(plan) if data is None else data
    adj = Adjustments.of(scenario) if scenario else Adjustments()
    first, as_at = month_index(year, 1), month_index(year, period)
    position = _position(data, first, as_at, adj)
    previous = _position(data, first, as_at - 1, adj) if period > 1 else None
    figures = PlacementFigures(plan, year, period, position, previous, scenario)
    figures.cost_basis = _cost_basis(data, first, as_at)
    figures.counted_in_year = _counted_in(data, first, as_at)
    by_line: dict[int, list[MoveFigures]] = defaultdict(list)
    for m in figures.moves:
        if m.move.drives(year):
            by_line[m.move.line_id].append(m)
    figures.lines = [LineFromMoves(ms[0].move.line, ms) for ms in by_line.values()]
    for t, share in figures.mix:
        t.share = share
    return figures


@dataclass
class WhatIf:
    scenario: PlacementScenario
    base: PlacementFigures
    figures: PlacementFigures

    def rows(self) -> list[tuple[str, Decimal | None, Decimal | None, Decimal | None]]:
        """(measure, base, scenario, difference): a full year at today's counts, the year's
        forecast outturn and variance, and what the moves save in the year."""

        def saving(f):
            moves = [m for m in f.moves if m.in_year]
            return _money(_sum(m.forecast_in_year for m in moves)) if moves else None

        pairs = [
            ("Full year at the as-at month's counts", self.base.position.full_year,
             self.figures.position.full_year),
            (f"Forecast outturn {self.base.year}", self.base.position.outturn,
             self.figures.position.outturn),
            (f"Variance against {self.base.budget_word} {self.base.year}",
             self.base.position.variance,
             self.figures.position.variance),
            (f"Moves' saving in {self.base.year}", saving(self.base), saving(self.figures)),
        ]  # fmt: skip
        return [(label, b, s, minus(s, b)) for label, b, s in pairs]

    @property
    def full_year_effect(self) -> Decimal | None:
        """The scenario's change to a full year's cost (-£170,000 for Barking's 1%)."""
        return minus(self.figures.position.full_year, self.base.position.full_year)


def what_ifs(plan, year: str, period: int, data: PlacementData | None = None) -> list[WhatIf]:
    """Each saved scenario beside the base. One query besides the data's three."""
    data = load(plan) if data is None else data
    base = placement_figures(plan, year, period, data=data)
    return [
        WhatIf(s, base, placement_figures(plan, year, period, scenario=s, data=data))
        for s in PlacementScenario.objects.filter(plan=plan)
        .select_related("placement_type")
        .order_by("name")
    ]
