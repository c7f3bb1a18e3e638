"""Savings lines in a year: planned, expected to date (the delivery profile), achieved and
RAG, line by line and summed in the database per period and per RAG.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from operator import itemgetter

from django.db import connection
from django.db.models import (
    Case,
    F,
    Max,
    Min,
    Q,
    Sum,
    When,
    Window,
)

from plans.figures._base import MONTHS, ZERO, _ids
from plans.figures.rules import (
    RAG_LABELS,
    RAG_ORDER,
    latest_recording,
    latest_recordings_of,
    months_delivering,
    months_elapsed,
    profile_value,
    rag_movement,
    slippage_cost,
    start_period,
)
from plans.figures.savings import _known, add_known, minus_known
from plans.figures.selection import Selection
from plans.models import PlannedAmount, ProgressEntry, SavingsLine, Workstream
from recovery import fiscal
from recovery.money import to_decimal


@dataclass(frozen=True, slots=True)
class Planned:
    """A line's planned amount in the year: all the figures read of it (no model object for
    each of a long plan's lines)."""

    kind: str
    low: Decimal | None
    high: Decimal | None

    def get_kind_display(self) -> str:
        return str(PlannedAmount.Kind(self.kind).label)


@dataclass
class LineFigures:
    """One savings line in the selected year, as at the end of the selected period."""

    line: SavingsLine
    amount: Planned | None
    factor: Decimal
    period: int
    entries: list[dict] = field(default_factory=list)  # progress in the year to the period end
    previous_as_at: date | None = None
    rag: str = ""
    rag_previous: str = ""
    # The date of the rating behind ``rag`` when it is an earlier year's (the line not rated in
    # the selected year by the period's end): a page says the RAG was carried, and from when.
    rag_carried_from: date | None = None
    start: int = 1  # the period delivery starts in the year (13: not in this year)
    # Whether that start is the paper's (the line's start month or the plan's stated start),
    # or April for want of one: a page says which.
    start_stated: bool = True
    in_year: bool = False  # the plan's amounts are in-year values, due in full by March
    # The latest entries (``rules.latest_recording``) recording each of LATEST_OF, at the
    # period's end and at the previous period's: read by several figures each (achieved,
    # anticipated, delivered, movement...) on every page, report and download, so found once
    # per line, in one pass over its entries.
    latest: dict = field(default_factory=dict)
    latest_before: dict = field(default_factory=dict)

    LATEST_OF = ("achieved_to_date", "forecast", "commentary", "rag")

    @property
    def entry(self) -> dict | None:
        """The latest progress entry, whatever it records (its commentary and date)."""
        return self.entries[-1] if self.entries else None

    @property
    def achieved_entry(self) -> dict | None:
        """The latest entry that records an achieved to date: the one behind the figures."""
        return self.latest.get("achieved_to_date")

    @property
    def previous(self) -> dict | None:
        """The latest entry recording an achieved to date at the previous period's end."""
        return self.latest_before.get("achieved_to_date")

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
        return self.start

    @property
    def starts_this_year(self) -> bool:
        return self.start <= 12

    def _profile(self, value, period):
        return profile_value(
            value, start_period=self.start, period=period, factor=self.factor, in_year=self.in_year
        )

    @property
    def in_year_low(self):
        return self._profile(self.planned_low, 12)

    @property
    def in_year_high(self):
        return self._profile(self.planned_high, 12)

    @property
    def expected_low(self):
        return self._profile(self.planned_low, self.period)

    @property
    def expected_high(self):
        return self._profile(self.planned_high, self.period)

    def _delay(self, value):
        if self.start > 12:
            return None
        return slippage_cost(
            value, start_period=self.start, factor=self.factor, in_year=self.in_year
        )

    @property
    def month_of_delay(self):
        return self._delay(self.planned_low)

    @property
    def month_of_delay_high(self):
        return self._delay(self.planned_high)

    @staticmethod
    def _split(entry) -> tuple[Decimal | None, Decimal | None]:
        """(achieved, achievable) of an entry: None where the entry does not report it."""
        if not entry or entry["achieved_to_date"] is None:
            return None, None
        if entry["basis"] == ProgressEntry.Basis.ACHIEVABLE:
            return None, entry["achieved_to_date"]
        return entry["achieved_to_date"], None

    @property
    def achieved(self) -> Decimal | None:
        return self._split(self.achieved_entry)[0]

    @property
    def anticipated(self) -> Decimal | None:
        return self._split(self.achieved_entry)[1]

    @property
    def achieved_previous(self) -> Decimal | None:
        return self._split(self.previous)[0]

    @property
    def achieved_movement(self) -> Decimal | None:
        return minus_known(self.achieved, self.achieved_previous)

    @property
    def delivered(self) -> Decimal | None:
        """Achieved plus achievable: what the committee counts as found."""
        entry = self.achieved_entry
        return entry["achieved_to_date"] if entry else None

    @property
    def delivered_previous(self) -> Decimal | None:
        entry = self.previous
        return entry["achieved_to_date"] if entry else None

    @property
    def delivery_variance(self) -> Decimal | None:
        """Achieved minus expected to date; unknown when either is."""
        return minus_known(self.achieved, self.expected_low)

    @property
    def forecast(self) -> Decimal | None:
        """The forecast of the latest entry that records one."""
        entry = self.latest.get("forecast")
        return entry["forecast"] if entry else None

    @property
    def commentary(self) -> str:
        """The latest comment recorded this year: a figures-only update does not hide it."""
        entry = self.latest.get("commentary")
        return entry["commentary"] if entry else ""

    @property
    def as_at(self) -> date | None:
        return self.entry["as_at"] if self.entry else None

    @property
    def commentary_as_at(self) -> date | None:
        """The date of the entry that wrote the comment: a later figures-only update is not
        when it was written."""
        entry = self.latest.get("commentary")
        return entry["as_at"] if entry else None

    @property
    def rag_move(self) -> str:
        return rag_movement(self.rag_previous, self.rag)


def latest_achieved(plans) -> dict[int, dict]:
    """Each line's latest entry (in any year) that records an achieved to date, by the one
    "latest progress" rule (``rules.latest_recording``): a later comment-only entry does not
    hide it. ``{line_id: {"as_at", "year", "achieved_to_date", "basis"}}``. One query."""
    by_line: dict[int, list[dict]] = defaultdict(list)
    rows = (
        ProgressEntry.objects.filter(line__plan_id__in=_ids(plans))
        .order_by("line_id", "as_at")
        .values("line_id", "as_at", "year", "achieved_to_date", "basis")
    )
    for e in rows:
        by_line[e["line_id"]].append(e)
    out = {}
    for line_id, entries in by_line.items():
        found = latest_recording(entries, date.max, "achieved_to_date")
        if found is not None:
            out[line_id] = found
    return out


def _rag_then(line, rated, later_rated: bool) -> str:
    """The line's RAG at the period's end: its latest rated entry up to then (earlier years
    included); else, when it was first rated after the period, its original RAG (its current
    RAG is a later entry's, which a page of an earlier month never shows); else its own."""
    if rated:
        return rated["rag"]
    return (line.original_rag if later_rated else line.rag) or ""


def _previous_rag(line, rated_now, rated_before, rag_then: str) -> str:
    """The line's RAG at the previous period's end, for "what changed".

    The latest rated entry up to then (earlier years included); else, when the line was
    rated for the first time in the selected period, its original RAG ("" = not rated);
    else (no rating recorded up to the period end) the RAG then, as nothing dated records a
    change.
    """
    if rated_before:
        return rated_before["rag"]
    if rated_now:
        return line.original_rag or ""
    return rag_then


RATED = ~Q(rag="") & Q(rag__isnull=False)  # an entry that records a RAG


def _last(condition: Q) -> Window:
    """The date of a line's latest entry meeting ``condition``, on each of its entries."""
    return Window(Max(Case(When(condition, then=F("as_at")))), partition_by=[F("line_id")])


def line_figures(plan, sel: Selection, factor: Decimal) -> list[LineFigures]:
    """Every line with a planned amount or progress in the year. Four queries, and a fifth
    when a line was not rated in the year by the previous period's end.

    Each figure of a line follows one entry: its latest (by ``rules.latest_recording``) to
    record an achieved to date, a forecast, a comment or a RAG, by the period's end or the
    previous period's, or its latest of any kind. The progress query marks those entries with
    one window over the line's entries and returns only them (a handful a line, not a year of
    months), so the rule, applied to them, finds the very entries it would find among all.
    The RAG at the previous period's end may be an entry of an earlier year
    (``_rated_outside_year``); only the year's entries count towards the figures."""
    amounts = {
        line_id: Planned(kind, low, high)
        for line_id, kind, low, high in PlannedAmount.objects.filter(
            line__plan=plan, year=sel.year
        ).values_list("line_id", "kind", "low", "high")
    }
    entries = defaultdict(list)
    fields = (
        "line_id",
        "as_at",
        "year",
        "achieved_to_date",
        "basis",
        "forecast",
        "rag",
        "commentary",
    )
    in_year = Q(year=sel.year)
    has_rag = RATED
    marks = {
        "last_any": _last(in_year),
        "last_achieved": _last(in_year & Q(achieved_to_date__isnull=False)),
        "last_forecast": _last(in_year & Q(forecast__isnull=False)),
        "last_comment": _last(in_year & ~Q(commentary="") & Q(commentary__isnull=False)),
        "last_rated": _last(in_year & has_rag),
    }
    if sel.previous_as_at is not None:
        up_to_previous = Q(as_at__lte=sel.previous_as_at)
        marks["previous_achieved"] = _last(
            in_year & up_to_previous & Q(achieved_to_date__isnull=False)
        )
        marks["previous_rated"] = _last(in_year & up_to_previous & has_rag)
    marked = Q()
    for name in marks:
        marked |= Q(as_at=F(name))
    rows = list(
        ProgressEntry.objects.filter(in_year, line__plan=plan, as_at__lte=sel.as_at)
        .annotate(**marks)
        .filter(marked)
        .order_by()
        .values(*fields)
    )
    # Put in date order here, on the few rows returned, not by the database on all it read.
    rows.sort(key=itemgetter("line_id", "as_at"))
    for e in rows:
        entries[e["line_id"]].append(e)
    out = []
    # Each workstream once, not a copy for each of its lines.
    workstreams = {w.pk: w for w in Workstream.objects.filter(plan=plan)}
    lines = SavingsLine.objects.filter(plan=plan).order_by(
        "workstream__order", "order", "reference"
    )
    set_workstream = SavingsLine.workstream.field.set_cached_value
    as_at, previous_as_at = sel.as_at, sel.previous_as_at
    in_year_basis = plan.amount_basis == plan.AmountBasis.IN_YEAR
    found = []
    for line in lines:
        if line.pk not in amounts and line.pk not in entries:
            continue
        set_workstream(line, workstreams.get(line.workstream_id))
        mine = entries.get(line.pk, [])
        # The year's entries are all dated up to the period's end (the query reads no later).
        before, now = latest_recordings_of(mine, [previous_as_at, as_at], LineFigures.LATEST_OF)
        found.append((line, mine, before, now))
    # Lines with no rating in the year by the period's end (their RAG then is another year's
    # or their own), or by the previous period's end where the month has one.
    unrated = [
        line.pk
        for line, _, before, now in found
        if now["rag"] is None or (sel.previous and before["rag"] is None)
    ]
    earlier, later_rated = _rated_outside_year(plan, sel, unrated)
    for line, mine, before, now in found:
        rated_earlier = earlier.get(line.pk)
        rated = now["rag"] or rated_earlier
        rated_before = before["rag"] or (rated_earlier if sel.previous else None)
        rag = _rag_then(line, rated, line.pk in later_rated)
        out.append(
            LineFigures(
                line=line,
                amount=amounts.get(line.pk),
                factor=factor,
                period=sel.period,
                entries=mine,
                previous_as_at=previous_as_at,
                rag=rag,
                rag_previous=_previous_rag(line, now["rag"], rated_before, rag),
                rag_carried_from=None if now["rag"] or not rated else rated["as_at"],
                start=start_period(line.start_period, plan.savings_start, sel.year),
                start_stated=bool(
                    line.start_period or (plan.savings_start and not plan.savings_start_assumed)
                ),
                in_year=in_year_basis,
                latest=now,
                latest_before=before,
            )
        )
    return out


def _rated_outside_year(plan, sel: Selection, line_ids: list[int]) -> tuple[dict, set]:
    """For lines not rated in the year by the previous period's end: each one's latest rated
    entry of earlier years (``{line: entry}``, the RAG then if the year has none by the
    period's end), and the lines rated after the period's end (``{line}``: their current RAG
    is a later entry's). One query, none when every line was rated in the year by then. Read
    apart from the year's entries: a long plan's other years would double what the year's
    query reads, for a fallback most lines never need."""
    if not line_ids:
        return {}, set()
    # A short list of lines by key; a long one (most of the plan's) by the plan.
    lines = Q(line_id__in=line_ids) if len(line_ids) <= 500 else Q(line__plan=plan)
    wanted = set(line_ids)
    start = fiscal.year_start(sel.year)
    earlier, later = Q(as_at__lt=start), Q(as_at__gt=sel.as_at)
    rows = (
        ProgressEntry.objects.filter(lines, RATED)
        .filter(earlier | later)
        .annotate(
            last=_last(earlier),
            next=Window(Min(Case(When(later, then=F("as_at")))), partition_by=[F("line_id")]),
        )
        .filter(Q(as_at=F("last")) | Q(as_at=F("next")))
        .order_by()
        .values("line_id", "as_at", "rag")
    )
    found, rated_later = {}, set()
    for e in rows:
        if e["line_id"] not in wanted:
            continue
        if e["as_at"] > sel.as_at:
            rated_later.add(e["line_id"])
        else:
            found[e["line_id"]] = e
    return found, rated_later


_DELIVERED_BY_PERIOD = """
WITH a AS (
    SELECT e.as_at, e.achieved_to_date, e.basis,
           LEAD(e.as_at) OVER (PARTITION BY e.line_id ORDER BY e.as_at) AS next_at
    FROM {entry} e JOIN {line} l ON l.id = e.line_id
    WHERE l.plan_id = %s AND l.counts_towards_target AND e.year = %s AND e.as_at <= %s
      AND e.achieved_to_date IS NOT NULL
)
SELECT {first} AS first_p, {until} AS until_p, as_at >= %s AS in_year,
       SUM(CASE WHEN basis = %s THEN achieved_to_date END), SUM(achieved_to_date), COUNT(*)
FROM a GROUP BY 1, 2, 3
"""


def _period_of(column: str) -> str:
    """SQL for the first period of the year whose end is on or after the date in ``column``
    (13 when none is, or the date is NULL), with the twelve month ends as parameters."""
    return f"CASE {' '.join(f'WHEN {column} <= %s THEN {p}' for p in MONTHS)} ELSE 13 END"


def delivered_by_period(plan, sel: Selection) -> tuple[list, list]:
    """Achieved, and achieved plus achievable, at the end of each period of the selected year
    up to the selected one, summed over the lines counting towards target; None for a month
    in which no line recorded an achieved to date (a gap, not a zero). Each line counts its
    latest entry recording an achieved to date by the period's end (``rules.latest_recording``).
    One query.

    In SQL because it must read the year's entries once: each entry recording an achieved to
    date is the line's latest at every month end from its own date until the line's next such
    entry (``LEAD``): from its first period to the first period of the next (exclusive). The
    database sums the entries by those two periods (a few dozen groups), and each group's sums
    are added here to the months it spans."""
    ends = [fiscal.period_end(sel.year, p) for p in MONTHS]
    query = _DELIVERED_BY_PERIOD.format(
        entry=ProgressEntry._meta.db_table,
        line=SavingsLine._meta.db_table,
        first=_period_of("as_at"),
        until=_period_of("next_at"),
    )
    params = [plan.pk, sel.year, sel.as_at, *ends, *ends, fiscal.year_start(sel.year)]
    with connection.cursor() as cursor:
        cursor.execute(query, [*params, ProgressEntry.Basis.ACHIEVED])
        rows = cursor.fetchall()
    achieved: list[Decimal | None] = [None] * 13  # by period, 1..12
    delivered: list[Decimal | None] = [None] * 13
    recorded = [0] * 13  # entries dated in the period itself
    for first, until, in_year, got_achieved, got_delivered, count in rows:
        if in_year and first <= 12:
            recorded[first] += count
        for p in range(first, min(until, 13)):
            if got_achieved is not None:
                achieved[p] = add_known(achieved[p], _known(got_achieved))
            if got_delivered is not None:
                delivered[p] = add_known(delivered[p], _known(got_delivered))
    shown = [p for p in MONTHS if recorded[p] and p <= sel.period]
    return (
        [achieved[p] if p in shown else None for p in MONTHS],
        [delivered[p] if p in shown else None for p in MONTHS],
    )


def expected_profile(plans, year: str) -> dict[int, list[tuple[Decimal, Decimal]]]:
    """Sum of planned x months delivering, per plan and period (P1..P12), low and high, for
    the lines counting towards target. Divide by 12 and apply the factor to get expected to
    date. Each line delivers from its start month, else from the plan's stated start
    (``rules.start_period``), over ``rules.months_delivering`` months. One query: the
    database sums the amounts of the lines that start in the same month (a dozen groups at
    most a plan), and the rules spread each group's sums over the months, as they would each
    line's (the spread is linear in the amount).

    A period's sum is unknown only when every line's amount is (TBC); a line not started by
    the period adds a known nothing."""
    by_pk = {p.pk: p for p in plans if not isinstance(p, int)}
    groups = (
        PlannedAmount.objects.filter(
            line__plan_id__in=_ids(plans), year=year, line__counts_towards_target=True
        )
        .values_list("line__plan_id", "line__start_period")
        .annotate(low=Sum("low"), high=Sum("high"))
        .order_by()
    )
    out: dict[int, list] = {}
    for plan_id, line_start, low, high in groups:
        plan = by_pk.get(plan_id)
        savings_start = plan.savings_start if plan else None
        start = start_period(line_start, savings_start, year)
        in_year = bool(plan) and plan.amount_basis == plan.AmountBasis.IN_YEAR
        twelfths = Decimal(12) / months_delivering(start, in_year=in_year)
        totals = out.setdefault(plan_id, [(None, None)] * 12)
        for i, p in enumerate(MONTHS):
            months = months_elapsed(start, p) * twelfths
            totals[i] = tuple(
                add_known(total, None if value is None else to_decimal(value) * months)
                for total, value in zip(totals[i], (low, high), strict=True)
            )
    return out


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
    def total_tbc(self) -> int:
        return sum(b.tbc for b in self.current)

    @property
    def total_low(self) -> Decimal:
        """The planned total (low): the same lines, rated now or at budget setting."""
        return sum((b.value_low for b in self.current), ZERO)

    @property
    def total_high(self) -> Decimal:
        return sum((b.value_high for b in self.current), ZERO)

    @property
    def move_rows(self) -> list[tuple[str, list[int]]]:
        """Rows of original RAG, columns of current RAG, in RAG_ORDER."""
        return [(orig, [self.moves.get((orig, cur), 0) for cur in RAG_ORDER]) for orig in RAG_ORDER]


def savings_by_rag(lines: list[LineFigures]) -> RagSummary:
    """Planned value and count of lines by current and by original RAG, for the lines with an
    amount in the year that count towards target (of ``line_figures``). Current RAG is the
    latest rated progress entry up to the period end, else the line's RAG: the line's own
    ``rag``, found with its other figures from the one read of the year's entries, so the
    summary reads nothing more from the database."""
    current = {r: RagBucket(r) for r in RAG_ORDER}
    original = {r: RagBucket(r) for r in RAG_ORDER}
    moves: dict[tuple[str, str], int] = defaultdict(int)
    for x in lines:
        if x.amount is None or not x.line.counts_towards_target:
            continue
        cur, orig = x.rag or "", x.line.original_rag or ""
        tbc = x.amount.kind == PlannedAmount.Kind.TBC
        for bucket in (current[cur], original[orig]):
            bucket.count += 1
            bucket.tbc += tbc
            bucket.value_low += to_decimal(x.amount.low)
            bucket.value_high += to_decimal(x.amount.high)
        moves[(orig, cur)] += 1
    return RagSummary(list(current.values()), list(original.values()), dict(moves))
