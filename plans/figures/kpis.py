"""KPIs: actuals up to a date, targets and comparators, rates per 10,000 children, RAG against
the target, and the DfE workforce rates.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property

from django.conf import settings

from plans.figures import placements as pl
from plans.figures.rules import (
    format_kpi_value,
    kpi_rag,
    next_dated_target,
    passed_target,
    rate_per_10k,
    stated_rate_differs,
    target_in_force,
    undated_goal,
    workforce_rate,
)
from plans.models import KPI, KpiPoint, PlacementCount, PlacementType
from recovery import fiscal

HUNDRED = Decimal(100)
CENT = Decimal("0.01")


@dataclass
class KpiValue:
    date: date
    value: Decimal
    rate: Decimal | None = None  # computed: value / child population x 10,000
    label: str = ""
    applies_from: date | None = None  # a target in force from this day to its date
    stated_rate: Decimal | None = None  # the rate per 10,000 as the paper prints it
    as_printed: str = ""  # the value as printed where that says more ("below 10%", "35+")
    undated: bool = False  # a target the paper gives no date: never "due by" its filing date

    @property
    def row_date(self) -> date | None:
        """The date a table lists it under: none for a goal the paper gives no date."""
        return None if self.undated else self.date

    @property
    def rate_differs(self) -> bool:
        """The paper's printed rate disagrees with the computed one (at its precision)."""
        return stated_rate_differs(self.rate, self.stated_rate)


@dataclass
class KpiFigures:
    kpi: KPI
    population: int | None
    actuals: list[KpiValue]
    targets: list[KpiValue]
    comparators: dict[str, list[KpiValue]]
    as_at: date | None = None  # the month end the figures are read at

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
        """The target in force at the latest actual's date (``rules.target_in_force``): the
        one the actual is rated against. None when no target of this plan was in force."""
        if self.latest is None:
            return None
        return target_in_force(self.targets, self.latest.date)

    @property
    def next_target(self) -> KpiValue | None:
        """The first target dated after the latest actual (or the first, with no actual); a
        goal with no date is none (``goal``)."""
        return next_dated_target(self.targets, self.latest.date if self.latest else None)

    @property
    def due_target(self) -> KpiValue | None:
        """The next target once its date has passed at ``as_at`` with no actual since: the
        latest such (the one in force at the month shown), so that "0 by March 2015" is
        said at March 2015, not the "5 by September 2014" that came before it."""
        if not self.next_target_passed:
            return None
        return passed_target(self.targets, self.as_at) or self.next_target

    @property
    def goal(self) -> KpiValue | None:
        """The plan's goal with no date, if it states one (``rules.undated_goal``)."""
        return undated_goal(self.targets)

    @property
    def goal_only(self) -> bool:
        """A goal with no date is all there is to read the actual beside: no dated target in
        force, none to come."""
        return self.goal is not None and self.target is None and self.next_target is None

    @property
    def next_target_passed(self) -> bool:
        """The next target's date is past at ``as_at``, with no actual since: it was due, it
        is not "next"."""
        t = self.next_target
        return t is not None and self.as_at is not None and t.date <= self.as_at

    def display(self, value: Decimal) -> str:
        """A value with its unit, as the pages write it (12%, 447 days, 279)."""
        return format_kpi_value(value, self.kpi.unit)

    @property
    def rating_note(self) -> str:
        """Why a KPI is not rated, in words."""
        if self.rag:
            return ""
        if self.latest is None:
            return "no actual recorded"
        if not self.targets:
            if any(label.lower().startswith("previous") for label in self.comparators):
                return "no target of this plan (the previous plan's is shown for comparison)"
            return "no target set by this plan"
        nxt = self.next_target
        if self.goal_only:
            return (
                f"{self.display(self.goal.value)} is a goal the paper gives no date: the "
                "actual is not rated against it"
            )
        on = fiscal.recorded_date(self.latest.date)
        if self.due_target is not None:  # the target column says which was due by when
            return f"no actual since {on}"
        if nxt is not None:
            by = f"{nxt.date:%-d %b %Y}"
            return f"no target in force at {on}; next {self.display(nxt.value)} by {by}"
        return f"no target in force at {fiscal.recorded_date(self.latest.date)}"

    @cached_property
    def printed_texts(self) -> dict[date | None, str]:
        """Values whose printed form says more than the number, by date."""
        out: dict[date | None, list[str]] = defaultdict(list)
        for kind, values in [("actual", self.actuals), ("target", self.targets)] + [
            (label, vs) for label, vs in sorted(self.comparators.items())
        ]:
            for v in values:
                if v.as_printed:
                    out[v.row_date].append(f"{kind}: {v.as_printed}")
        return {day: "; ".join(texts) for day, texts in out.items()}

    @cached_property
    def printed_rates(self) -> dict[date | None, list[KpiValue]]:
        """Values with a printed rate per 10,000, by date, for the data table."""
        out: dict[date | None, list[KpiValue]] = defaultdict(list)
        values = self.actuals + self.targets + [v for vs in self.comparators.values() for v in vs]
        for v in values:
            if v.stated_rate is not None:
                out[v.row_date].append(v)
        return dict(out)

    @cached_property
    def rate_differences(self) -> list[KpiValue]:
        """Values whose printed rate per 10,000 differs from the computed rate."""
        values = self.actuals + self.targets + [v for vs in self.comparators.values() for v in vs]
        return [v for v in values if v.rate_differs]

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
        """Each comparator's point for the latest actual's date (else the month's): the one
        in force then, as a target is (``rules.target_in_force``); else, for a series whose
        first point is later, that first point if it is dated by the month (none otherwise).
        Pages show each with its date, never a trajectory's last point beside this month's
        actual, nor a point dated after the month."""
        day = self.latest.date if self.latest else self.as_at
        out = []
        for _, values in sorted(self.comparators.items()):
            point = target_in_force(values, day) if day is not None else None
            # Else the series' first point, if it is dated by the month: never a later one.
            first = values[0] if self.as_at is None or values[0].date <= self.as_at else None
            if point or first:
                out.append(point or first)
        return out

    @property
    def chartable(self) -> bool:
        return (
            len(self.actuals) + len(self.targets) + sum(len(v) for v in self.comparators.values())
            >= 2
        )

    @cached_property
    def table_rows(
        self,
    ) -> list[
        tuple[
            date | None,
            Decimal | None,
            Decimal | None,
            Decimal | None,
            Decimal | None,
            list[Decimal | None],
        ]
    ]:
        """Per date: actual, its rate, target, its rate, then each comparator (by label); a
        goal with no date is the last row, its date None."""
        labels = sorted(self.comparators)
        by_date: dict[date, dict] = defaultdict(dict)
        for v in self.actuals:
            by_date[v.date]["actual"] = v
        for v in self.targets:
            by_date[v.row_date]["target"] = v
        for label in labels:
            for v in self.comparators[label]:
                by_date[v.date][label] = v
        rows = []
        for day in sorted(by_date, key=lambda d: (d is None, d or date.min)):
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


def _source_types(kpi: KPI, types: list[PlacementType]) -> list[PlacementType]:
    """The placement types a derived KPI's actuals are counted from."""
    if kpi.source == KPI.Source.CHILDREN:
        return pl.counted_types(types)
    if kpi.source == KPI.Source.IN_HOUSE_SHARE:
        return pl.fostering_types(types)
    return [t for t in pl.counted_types(types) if t.kind == kpi.source]


def derived_value(kpi: KPI, types: list[PlacementType], counts: dict) -> Decimal | None:
    """A derived KPI's value from each type's actual count at a month end; None if unknown."""
    if kpi.source == KPI.Source.IN_HOUSE_SHARE:
        share = pl.in_house_share_in(types, counts)
        return None if share is None else (share * HUNDRED).quantize(CENT)
    found = pl.children_in(_source_types(kpi, types), counts)
    return None if found is None else Decimal(found)


def derived_actuals(kpi: KPI, data: pl.PlacementData) -> list[tuple[date, Decimal]]:
    """A KPI fed from the placement counts: its value at the end of each month in which one of
    its types has an actual count recorded or a move of one of them was made. A month where
    any of its types' count is unknown (or it has no such type) has no actual: unknown, never
    0. The counts carry forward between records as the placement figures' rule does."""
    types = _source_types(kpi, data.types)
    ids = {t.pk for t in types}
    counted = {
        index
        for (type_id, kind), series in data.counts.items()
        if type_id in ids and kind == PlacementCount.Kind.ACTUAL
        for index, _ in series
    }
    counted |= {
        pl.month_index(m.actual_year, m.actual_period)
        for m in data.moves
        if m.actual_year and m.actual_period and ({m.from_type_id, m.to_type_id} & ids)
    }
    out = []
    for index, counts in pl.actual_count_months(data).items():
        if index not in counted:
            continue
        value = derived_value(kpi, data.types, counts)
        if value is not None:
            out.append((fiscal.period_end(*pl.index_month(index)), value))
    return out


def kpi_figures(
    plan, *, as_at: date | None, population: int | None, placements: pl.PlacementData | None = None
) -> list[KpiFigures]:
    """Each KPI with its targets, comparators and actuals up to ``as_at``. Two queries, and
    the placement records' three when a KPI is fed from the counts and ``placements`` (the
    plan's placement data, read once by the caller) is not given."""
    points = defaultdict(list)
    qs = KpiPoint.objects.filter(kpi__plan=plan).order_by("kpi_id", "date", "kind", "label")
    for p in qs:
        points[p.kpi_id].append(p)
    out = []
    for kpi in KPI.objects.filter(plan=plan).order_by("order", "name"):
        pop = population if kpi.per_child_population else None
        actuals, targets, comparators = [], [], defaultdict(list)
        if kpi.derived:
            placements = pl.load(plan) if placements is None else placements
            actuals = [
                KpiValue(day, value, rate_per_10k(value, pop))
                for day, value in derived_actuals(kpi, placements)
                if as_at is None or day <= as_at
            ]
        for p in points.get(kpi.pk, []):
            value = KpiValue(
                p.date,
                p.value,
                rate_per_10k(p.value, pop),
                p.label,
                applies_from=p.applies_from,
                stated_rate=p.stated_rate,
                as_printed=p.as_printed,
                undated=p.undated,
            )
            if p.kind == KpiPoint.Kind.ACTUAL:
                # A derived KPI's actuals are the counts' (a typed one is refused on entry).
                if not kpi.derived and (as_at is None or p.date <= as_at):
                    actuals.append(value)
            elif p.kind == KpiPoint.Kind.TARGET:
                targets.append(value)
            elif p.kind == KpiPoint.Kind.COMPARATOR:
                comparators[p.label or "Comparator"].append(value)
        out.append(KpiFigures(kpi, population, actuals, targets, dict(comparators), as_at))
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
