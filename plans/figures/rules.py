"""The rules behind the figures (DESIGN.md), as small pure functions: the delivery profile,
slippage cost, forecast and KPI RAG and their thresholds, rates and shares, RAG movement.

No queries here; the other modules apply these rules to what they read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from django.conf import settings

from plans.models import KPI, RAG
from recovery import fiscal
from recovery.money import PENNY, format_money

RATE_PLACES = Decimal("0.1")
RAG_ORDER = ["red", "amber", "green", "blue", ""]
# The words of each RAG, from the model's choices (the one place they are written).
RAG_LABELS = {**{value: str(label) for value, label in RAG.choices}, "": "Not rated"}
_RAG_RANK = {"red": 0, "amber": 1, "green": 2, "blue": 3}


def start_period(line_start: int | None, plan_start: date | None, year: str) -> int:
    """The period from which a line is expected to deliver in ``year``: its own start month;
    else, where the paper states when the plan's savings start, that month in its year (13,
    nothing at all, in a year before it; P1 in later years); else P1."""
    if line_start:
        return line_start
    if plan_start is not None:
        start_year = fiscal.financial_year(plan_start)
        if year == start_year:
            return fiscal.period(plan_start)
        if year < start_year:
            return 13
    return 1


def months_elapsed(start: int | None, period: int) -> int:
    """Months a line has been delivering by the end of ``period`` (it starts in P1 unless set;
    13 means not in this year)."""
    return max(0, period - (start or 1) + 1)


def months_delivering(start: int | None, *, in_year: bool = False) -> int:
    """The months a year's amount is spread over: 12 for a full-year value (a line starting
    in month m yields (13 - m)/12 of it); for an in-year value, the months left from its
    start, so the whole amount is due by March."""
    return max(1, 13 - (start or 1)) if in_year else 12


def profile_value(
    annual, *, start_period, period, factor=Decimal(1), in_year: bool = False
) -> Decimal | None:
    """Expected to date: the year's value spread evenly over the months from the start
    period, times the year's in-year adjustment factor. A full-year value yields (13 - m)/12
    of itself by P12 for a line starting in month m; an in-year value is due in full."""
    if annual is None:
        return None
    months = months_elapsed(start_period, period)
    divisor = months_delivering(start_period, in_year=in_year)
    return (annual * factor * months / divisor).quantize(PENNY)


def slippage_cost(
    annual, *, start_period=None, months=1, factor=Decimal(1), in_year: bool = False
) -> Decimal | None:
    """What delaying a line by ``months`` months costs: the in-year value of those months."""
    if annual is None:
        return None
    remaining = 13 - (start_period or 1)
    divisor = months_delivering(start_period, in_year=in_year)
    return (annual * factor * min(months, remaining) / divisor).quantize(PENNY)


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


KPI_SUFFIX = {"percent": "%", "days": " days", "rate": " per 10,000"}


def format_number(value) -> str:
    """``279``, ``2,351``, ``96.3``: trailing zeros dropped, thousands grouped."""
    if value is None:
        return "—"
    return f"{Decimal(value).normalize():,f}"


def format_kpi_value(value, unit: str = "count") -> str:
    """A KPI value with its unit, as every page and download writes it: 12%, 447 days."""
    if value is None:
        return "—"
    if unit == "money":
        return format_money(value)
    return format_number(value) + KPI_SUFFIX.get(unit, "")


def latest_recording(entries: Sequence[dict], up_to: date | None, having: str | None = None):
    """The one "latest progress" rule: the last of ``entries`` (dicts or progress entries, in
    date order) dated up to ``up_to`` that records ``having`` (an achieved to date, a
    forecast, a RAG, a comment), or the last of any kind when ``having`` is None. A later
    entry that records only a comment neither blanks nor zeroes a figure recorded before it.
    None when ``up_to`` is None or nothing qualifies."""
    return latest_recordings_of(entries, [up_to], (having,))[0][having]


def latest_recordings_of(entries: Sequence[dict], days: Sequence[date | None], fields) -> list:
    """``latest_recording`` of each of ``fields`` (None: any entry) at each of ``days`` (in
    date order), as ``[{field: entry or None}]``, in one pass over ``entries``: a line's
    figures read the same entries for its achieved to date, forecast, comment and RAG, now and
    a month before."""
    # Entries are all dicts (rows read for the figures) or all progress entries.
    get = dict.__getitem__ if entries and isinstance(entries[0], dict) else getattr
    out = []
    found = dict.fromkeys(fields)
    i = 0
    for day in days:
        if day is None:
            out.append(dict.fromkeys(fields))
            continue
        while i < len(entries) and get(entries[i], "as_at") <= day:
            e = entries[i]
            for name in fields:
                if name is None or get(e, name) not in (None, ""):
                    found[name] = e
            i += 1
        out.append(dict(found))
    return out


def target_in_force(targets: Sequence, day: date | None):
    """The target in force on ``day``: one whose period (``applies_from`` to its date) holds
    the day, else the latest milestone already passed. A milestone still to come ("40
    placements by March 2015") is not in force before its date, so an actual recorded
    earlier is not rated against it. A goal the paper gives no date (``undated``) is no
    milestone: it is never in force (``undated_goal``). ``targets`` are in date order."""
    if day is None:
        return None
    windows = [
        t for t in dated_targets(targets) if t.applies_from and t.applies_from <= day <= t.date
    ]
    if windows:
        return max(windows, key=lambda t: t.applies_from)
    return passed_target(targets, day)


def dated_targets(targets: Sequence) -> list:
    """The targets a paper gives a date: the milestones and periods a KPI is rated against (a
    goal with no date, ``undated``, is never one)."""
    return [t for t in targets if not getattr(t, "undated", False)]


def passed_target(targets: Sequence, day: date):
    """The latest dated target whose date is ``day`` or before (one that was due by then),
    or None."""
    passed = [t for t in dated_targets(targets) if t.date <= day]
    return passed[-1] if passed else None


def next_dated_target(targets: Sequence, after: date | None):
    """The first dated target after ``after`` (the first of all when it is None), or None."""
    later = [t for t in dated_targets(targets) if after is None or t.date > after]
    return later[0] if later else None


def undated_goal(targets: Sequence):
    """The goal a paper gives no date ("caseloads no higher than 20"), the latest filed: shown
    beside the actuals as a goal, never rated against, never said to be due by the date it
    is filed under. None when every target has its date."""
    goals = [t for t in targets if getattr(t, "undated", False)]
    return goals[-1] if goals else None


def stated_rate_differs(computed: Decimal | None, stated: Decimal | None) -> bool:
    """A rate the paper prints differs from the computed one at the paper's own precision
    (111 against 111.0 agrees; 97 against 96.3 differs)."""
    if computed is None or stated is None:
        return False
    places = Decimal(1).scaleb(min(0, stated.normalize().as_tuple().exponent))
    return computed.quantize(places) != stated.quantize(places)
