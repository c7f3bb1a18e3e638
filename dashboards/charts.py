"""plotly figures for the dashboard, built from ``plans.figures`` and nothing else.

Each builder returns a ``Chart``: the figure as plain JSON (drawn in the page by
``static/js/dashboard.js`` with the plotly.js served from the installed package, never a CDN)
and a sentence describing it for screen readers. Months with nothing recorded are ``None`` so
plotly leaves a gap instead of drawing a zero. The data tables under the charts come from the
same figures, in the templates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from html import escape

from django.utils.text import capfirst

from plans import figures as fg
from recovery import fiscal
from recovery.money import (
    NOT_REPORTED,
    format_money,
    format_money_axis,
    format_money_short,
    format_range,
)

RAG_COLOURS = {
    "red": "#d4351c",
    "amber": "#f47738",
    "green": "#00703c",
    "blue": "#1d70b8",
    "": "#b1b4b6",
}
SERIES_COLOURS = ["#1d70b8", "#0b0c0c", "#4c2c92", "#28a197", "#d53880", "#85994b", "#6f72af"]
# One colour per kind of series, the same on every chart: a reader learns it once.
KIND_COLOURS = {
    "budget": "#505a5f",
    "outturn": "#1d70b8",
    "actual": "#1d70b8",
    "target": "#0b0c0c",
    "england": "#4c2c92",
    "statistical neighbours": "#28a197",
    "previous": "#85994b",
    "projection": "#d53880",
}


def kind_colour(label: str, fallback: int = 0) -> str:
    """The colour of a series by what it is (England, statistical neighbours, a previous
    plan...), whatever chart it is on."""
    key = label.lower()
    for kind, colour in KIND_COLOURS.items():
        if key.startswith(kind):
            return colour
    return SERIES_COLOURS[(fallback + 2) % len(SERIES_COLOURS)]


FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"


@dataclass
class Chart:
    key: str
    title: str
    description: str
    figure: dict

    @property
    def dom_id(self) -> str:
        return f"chart-{self.key}"

    @property
    def data_id(self) -> str:
        return f"chart-{self.key}-data"


def _num(value: Decimal | None) -> float | None:
    # Floats only for drawing; every figure a reader sees comes from the Decimal in the table.
    return None if value is None else float(value)


def _pounds(value) -> str:
    """A chart's figure as the page around it shows it: whole pounds (the tiles and tables
    read £746,667, so the chart does not say £746,666.67)."""
    return format_money(value, pence=False)


def _money_text(values) -> list[str]:
    return ["not reported" if v is None else _pounds(v) for v in values]


def as_text(value) -> str:
    """Officers' words as plotly text: escaped, since plotly renders a subset of HTML in
    titles, names and hover labels (a KPI named <a href=...> must not become a link)."""
    return escape(str(value), quote=False)


def _known(value) -> str:
    return NOT_REPORTED if value is None else _pounds(value)


def _money_tick_values(values, *, from_zero: bool = True) -> dict | None:
    """Tick labels written the app's way (£1.58m, £789k) rather than d3's (£1.58M)."""
    nums = [float(v) for v in values if v is not None]
    if not nums:
        return None
    low, high = min(nums), max(nums)
    if from_zero:
        low, high = min(0.0, low), max(0.0, high)
    span = (high - low) or abs(high) or 1.0
    raw = span / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first, last = math.floor(low / step), math.ceil(high / step)
    ticks = [i * step for i in range(first, last + 1)]
    return {
        "tickvals": ticks,
        "ticktext": format_money_axis(ticks),
        "tickprefix": "",
        "tickformat": "",
    }


def _axes_layout(layout: dict, rows: int, *, spacing: float, titles: list[str]) -> None:
    """The axes (and subplot titles) of ``rows`` panels stacked over one shared month axis, as
    plotly's ``make_subplots(rows, 1, shared_xaxes=True)`` lays them out, written as plain
    data: building the Figure and validating every trace cost a long plan's dashboard more
    than its charts' figures. ``layout`` (from ``_layout_dict``) gives every axis its look."""
    xaxis, yaxis = layout.pop("xaxis"), layout.pop("yaxis")
    height = (1 - spacing * (rows - 1)) / rows
    annotations = []
    for row in range(1, rows + 1):
        suffix = "" if row == 1 else str(row)
        bottom = (rows - row) * (height + spacing)
        x = {"anchor": f"y{suffix}", "domain": [0.0, 1.0]}
        if row < rows:
            x.update(matches=f"x{rows}", showticklabels=False)
        layout[f"xaxis{suffix}"] = {**x, **xaxis}
        layout[f"yaxis{suffix}"] = {
            "anchor": f"x{suffix}",
            "domain": [bottom, bottom + height],
            **yaxis,
        }
        if row <= len(titles):
            annotations.append(
                {
                    "font": {"size": 16},
                    "showarrow": False,
                    "text": titles[row - 1],
                    "x": 0.5,
                    "xanchor": "center",
                    "xref": "paper",
                    "y": bottom + height,
                    "yanchor": "bottom",
                    "yref": "paper",
                }
            )
    if annotations:
        layout["annotations"] = annotations


def _trace(kind: str, x, values, name: str, row: int | None = None, **style) -> dict:
    """A trace of money by month as plain data: floats to draw, the £ text to hover."""
    trace = {
        "type": kind,
        "x": x,
        "y": [_num(v) for v in values],
        "name": name,
        **style,
        "customdata": _money_text(values),
        "hovertemplate": "%{x}: %{customdata}",
    }
    if row is not None:
        suffix = "" if row == 1 else str(row)
        trace.update(xaxis=f"x{suffix}", yaxis=f"y{suffix}")
    return trace


def _months(year: str) -> list[str]:
    return [fiscal.month_label(year, p) for p in fg.MONTHS]


# --------------------------------------------------------------------------------------------


def forecast_chart(f: fg.PlanFigures) -> Chart:
    """Forecast outturn against budget by month, the variance, its movement and the Red
    threshold of each series. Plain data, laid out as plotly's subplots."""
    months = _months(f.sel.year)
    series = f.forecasts.series
    # Small multiples: each service area and scenario in panels of its own (its budget and
    # outturn, when it has a budget, then its variance), rather than lines overlaid into a
    # tangle or a £250k service drawn on a £30m axis.
    panels = []  # (kind, title, points)
    for _key, points in series:
        name = as_text(next(p for p in points if p).series_label)
        if any(p and p.budget is not None for p in points):
            panels.append(("level", f"Budget and forecast outturn: {name}", points))
        panels.append(("variance", f"Variance: {name}", points))
    rows = max(1, len(panels))
    traces = []
    legend_shown = set()

    def legend_once(kind: str) -> bool:
        first = kind not in legend_shown
        legend_shown.add(kind)
        return first

    for row, (kind, _title, points) in enumerate(panels, start=1):
        name = as_text(next(p for p in points if p).series_label)
        if kind == "level":
            for values, label, line in (
                ([p.budget if p else None for p in points], "Budget", {"dash": "dot"}),
                ([p.outturn if p else None for p in points], "Forecast outturn", {}),
            ):
                colour = KIND_COLOURS["budget" if label == "Budget" else "outturn"]
                trace = _trace(
                    "scatter",
                    months,
                    values,
                    label,  # one legend entry for every panel's budget (and outturn)
                    row=row,
                    mode="lines+markers",
                    line={"color": colour, **line},
                    legendgroup=label,
                    showlegend=legend_once(label),
                )
                trace["hovertemplate"] = f"{name}, %{{x}}: %{{customdata}}<extra>{label}</extra>"
                traces.append(trace)
            continue
        variance = [p.variance if p else None for p in points]
        bar = _trace(
            "bar",
            months,
            variance,
            f"Variance – {name}",
            row=row,
            # Each bar in its RAG colour, with the RAG word on it: never colour alone.
            marker={"color": [RAG_COLOURS[p.rag] if p else RAG_COLOURS[""] for p in points]},
            text=[fg.RAG_LABELS[p.rag] if p else "" for p in points],
            textposition="outside",
            showlegend=False,
        )
        ranged = [
            p and p.variance_high is not None and p.variance_high != p.variance for p in points
        ]
        if any(ranged):
            # A forecast stated as a range (£3m–£4m): the bar to its low end, a whisker to
            # its high end, and the range in the hover.
            bar["error_y"] = {
                "type": "data",
                "symmetric": False,
                "array": [
                    _num(p.variance_high - p.variance) if r else None
                    for p, r in zip(points, ranged, strict=True)
                ],
                "arrayminus": [0 if r else None for r in ranged],
                "color": KIND_COLOURS["target"],
                "thickness": 2,
                "width": 8,
            }
            # The RAG word inside a bar with a whisker: above it, the whisker ran through it.
            bar["textposition"] = ["inside" if r else "outside" for r in ranged]
            bar["customdata"] = [
                format_range(p.variance, p.variance_high, _pounds)
                if p and p.variance is not None
                else "not reported"
                for p in points
            ]
        traces.append(bar)
        movement = [p.movement if p else None for p in points]
        if any(m is not None for m in movement):
            label = "Movement since the previous forecast"
            trace = _trace(
                "scatter",
                months,
                movement,
                label,
                row=row,
                mode="markers",
                marker={"symbol": "diamond", "size": 10, "color": KIND_COLOURS["target"]},
                legendgroup="movement",
                showlegend=legend_once("movement"),
            )
            trace["hovertemplate"] = f"{name}, %{{x}}: %{{customdata}}<extra>{label}</extra>"
            traces.append(trace)
        threshold = [p.threshold if p else None for p in points]
        traces.append(
            _trace(
                "scatter",
                months,
                threshold,
                "Red threshold",
                row=row,
                # Each month's threshold is a level mark too (a month alone draws no line),
                # dark so that it shows across a Red bar.
                mode="lines+markers",
                line={"color": RAG_COLOURS["red"], "dash": "dash"},
                marker={
                    "symbol": "line-ew",
                    "size": 22,
                    "line": {"color": KIND_COLOURS["target"], "width": 3},
                },
                legendgroup="threshold",
                showlegend=legend_once("threshold"),
            )
        )
    layout = _layout_dict(
        title=f"Overspend forecast {f.sel.year}", height=200 + 150 * rows, money_axis=True
    )
    layout["xaxis"].update(categoryorder="array", categoryarray=months)
    layout["yaxis"].update(rangemode="normal")
    _axes_layout(
        layout, rows, spacing=min(0.12, 0.3 / rows), titles=[title for _, title, _ in panels]
    )
    # Every variance panel on one scale (its range as well as its ticks: a £197k bar beside a
    # £1.3m one keeps its axis), so the panels compare at a glance; each budget panel on its
    # own series' scale.
    every = [p for _, pts in series for p in pts if p]
    variances = [v for p in every for v in (p.variance, p.variance_high, p.movement, p.threshold)]
    shared = _money_tick_values(variances)
    for row, (kind, _title, points) in enumerate(panels, start=1):
        axis = layout[f"yaxis{'' if row == 1 else row}"]
        if kind == "level":
            # Budget and outturn are millions apart from zero: start the axis near them.
            ticks = _money_tick_values(
                [v for p in points if p for v in (p.budget, p.outturn)], from_zero=False
            )
        else:
            ticks = shared
        if ticks:
            low, high = ticks["tickvals"][0], ticks["tickvals"][-1]
            room = (high - low) * 0.12  # for the RAG word above a bar at the top tick
            axis.update(ticks, range=[low - (room if low < 0 else 0), high + room])
    head_point = f.forecasts.headline
    if head_point:
        variance = format_range(head_point.variance, head_point.variance_high)
        text = (
            f"Latest forecast variance {variance} at "
            f"{head_point.label} ({fg.RAG_LABELS[head_point.rag]})."
        )
    else:
        text = f"No overspend forecast is recorded for {f.sel.year}."
    return Chart(
        "forecast",
        f"Overspend forecast by month, {f.sel.year}",
        f"Chart of forecast outturn, budget, variance and movement by month. {text}",
        {"data": traces, "layout": layout},
    )


def savings_chart(f: fg.PlanFigures) -> Chart:
    """Cumulative savings expected from the monthly profile against achieved (plain data)."""
    months = _months(f.sel.year)
    low = [lo for lo, _ in f.profile]
    high = [hi for _, hi in f.profile]
    traces = [
        _trace(
            "scatter",
            months,
            low,
            "Expected (monthly profile)",
            mode="lines",
            line={"color": "#505a5f", "dash": "dash"},
        )
    ]
    if f.profile_ranged:
        traces.append(
            _trace(
                "scatter",
                months,
                high,
                "Expected (high end of ranges)",
                mode="lines",
                line={"color": "#b1b4b6", "dash": "dot"},
            )
        )
    traces.append(
        _trace(
            "scatter",
            months,
            f.achieved_by_period,
            "Achieved",
            mode="lines+markers",
            line={"color": RAG_COLOURS["green"]},
            marker={"size": 9},
        )
    )
    if f.anticipated_by_period != f.achieved_by_period:
        traces.append(
            _trace(
                "scatter",
                months,
                f.anticipated_by_period,
                "Achieved or achievable",
                mode="lines+markers",
                line={"color": RAG_COLOURS["blue"], "dash": "dot"},
                marker={"symbol": "square"},
            )
        )
    layout = _layout_dict(
        title=f"Cumulative savings {f.sel.year}: expected and achieved",
        height=340,
        money_axis=True,
    )
    # The selected month, marked down the whole plot (plotly's add_vline).
    layout["shapes"] = [
        {
            "line": {"color": "#0b0c0c", "dash": "dot", "width": 1},
            "type": "line",
            "x0": f.sel.period - 1,
            "x1": f.sel.period - 1,
            "xref": "x",
            "y0": 0,
            "y1": 1,
            "yref": "y domain",
        }
    ]
    layout["xaxis"].update(categoryorder="array", categoryarray=months)
    ticks = _money_tick_values(high + [v for v in f.anticipated_by_period if v is not None])
    if ticks:
        layout["yaxis"].update(ticks)
    return Chart(
        "savings",
        f"Cumulative savings expected and achieved, {f.sel.year}",
        f"Line chart. {savings_summary(f)}",
        {"data": traces, "layout": layout},
    )


def savings_summary(f: fg.PlanFigures) -> str:
    """The cumulative savings chart in words: the dashboard's chart and the report's."""
    return (
        f"Expected to date at {f.sel.label}: {_known(f.expected_low)}"
        + (f" – {_known(f.expected_high)}" if f.expected_high != f.expected_low else "")
        + "; "
        f"achieved {_known(f.year.achieved)}."
    )


def placements_summary(f: fg.PlanFigures) -> str:
    """The placement cost chart in words: the dashboard's chart and the report's."""
    p = f.placements
    line = (
        f"{p.cost_word.lower()} cost to {p.label}"
        if p.position.to_date is not None
        # Counts for some months only: the line is theirs, and the sum to date is unknown.
        else f"{p.cost_word.lower()} cost of the months with a count (the cost to date is "
        "not known: earlier months have none)"
    )
    return (
        f"Bars of the budgeted placement cost each month and a line of the {line}; "
        f"forecast outturn {_known(p.position.outturn)}"
        + (
            f" against {'an assumed' if p.budget_assumed else 'a'} budget of "
            f"{_pounds(p.position.budget)}."
            if p.position.budget is not None
            else "; no budget is recorded."
        )
    )


def rag_chart(f: fg.PlanFigures) -> Chart:
    """Planned savings by current and original RAG, by value, with counts as labels (plain
    data, like the KPI charts)."""
    labels = [fg.RAG_LABELS[r] for r in fg.RAG_ORDER]
    traces = []
    for name, buckets, pattern in (
        ("Current RAG", f.rag.current, ""),
        ("Original RAG", f.rag.original, "/"),
    ):
        traces.append(
            {
                "type": "bar",
                "y": labels,
                "x": [_num(b.value_low) for b in buckets],
                "name": name,
                "orientation": "h",
                "marker": {
                    "color": [RAG_COLOURS[b.rag] for b in buckets],
                    "pattern": {"shape": pattern},
                    "line": {"color": "#0b0c0c", "width": 1},
                },
                "text": [
                    f"{format_money_short(b.value_low)} · {b.count} line{'s' * (b.count != 1)}"
                    for b in buckets
                ],
                "textposition": "auto",
                "customdata": _money_text([b.value_low for b in buckets]),
                "hovertemplate": "%{y}: %{customdata}<extra></extra>",
            }
        )
    layout = _layout_dict(
        title=f"Planned savings {f.sel.year} by RAG", height=340, money_axis=False
    )
    layout["barmode"] = "group"
    ticks = _money_tick_values([b.value_low for b in f.rag.current])
    if ticks:
        layout["xaxis"].update(ticks)
    layout["yaxis"].update(categoryorder="array", categoryarray=list(reversed(labels)))
    summary = "; ".join(
        f"{b.label} {_pounds(b.value_low)} ({b.count})" for b in f.rag.current if b.count
    )
    return Chart(
        "rag",
        f"Planned savings by RAG, {f.sel.year}",
        f"Bar chart of planned savings by current and original RAG. Current: "
        f"{summary or 'no lines'}.",
        {"data": traces, "layout": layout},
    )


def _layout_dict(*, title: str, height: int, money_axis: bool) -> dict:
    """The layout ``_layout`` gives a plotly Figure, as plain data (no validation cost)."""
    layout = {
        "title": {"text": title, "font": {"size": 15}, "x": 0, "xanchor": "left"},
        "font": {"family": FONT, "size": 12, "color": "#0b0c0c"},
        "height": height,
        "margin": {"l": 56, "r": 12, "t": 56, "b": 60},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "legend": {"orientation": "h", "y": -0.18, "x": 0},
        "hovermode": "closest",
        "xaxis": {"showline": True, "linecolor": "#505a5f", "ticks": "outside"},
        "yaxis": {
            "gridcolor": "#e5e6e7",
            "zerolinecolor": "#505a5f",
            "rangemode": "tozero",
            "automargin": True,
        },
    }
    if money_axis:
        layout["yaxis"].update(tickprefix="£", tickformat=",.3~s")
    return layout


def _whole_number_axis(values) -> dict:
    """Whole-number ticks for counts: a step of 1, 2, 5, 10, 20, 50... from zero."""
    top = max([float(v) for v in values if v is not None] or [1.0])
    raw = max(top / 4, 1.0)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return {"tickmode": "linear", "tick0": 0, "dtick": max(1, int(step)), "tickformat": ",d"}


def kpi_chart(k: fg.KpiFigures) -> Chart:
    """A KPI's actuals, target trajectory and comparators over time.

    Built as plain data rather than plotly's validated objects: a dashboard draws one per
    KPI, and validating them cost most of the page's time."""
    unit = k.kpi.get_unit_display()
    traces: list[dict] = []

    def trace(values, name, **style):
        traces.append(
            {
                "type": "scatter",
                "x": [v.date.isoformat() for v in values],
                "y": [_num(v.value) for v in values],
                "name": as_text(name),
                **style,
                "customdata": [
                    f"{v.value.normalize():f}"
                    + (f" ({v.rate} per 10,000)" if v.rate is not None else "")
                    for v in values
                ],
                "hovertemplate": "%{x|%d %b %Y}: %{customdata}<extra></extra>",
            }
        )

    dated = fg.dated_targets(k.targets)
    if dated:
        trace(
            dated,
            "Target",
            mode="lines+markers",
            line={"color": KIND_COLOURS["target"], "dash": "dash"},
            marker={"symbol": "circle-open"},
        )
    if k.actuals:
        trace(
            k.actuals,
            "Actual",
            mode="lines+markers",
            line={"color": KIND_COLOURS["actual"], "width": 3},
            marker={"size": 9},
        )
    for i, (label, values) in enumerate(sorted(k.comparators.items())):
        trace(
            values,
            label,
            mode="markers",
            marker={"symbol": "diamond", "size": 10, "color": kind_colour(label, i)},
        )
    layout = _layout_dict(title=as_text(k.kpi.name), height=300, money_axis=k.kpi.unit == "money")
    points = k.actuals + dated + [v for vs in k.comparators.values() for v in vs]
    goal = k.goal
    # A goal with no date is a level across the chart, not a point on the date it is filed
    # under (a date no paper gives).
    days = [v.date for v in points] or [goal.date]
    first, last = min(days), max(days)
    # Pad the dates so a KPI recorded on one day does not get an axis of milliseconds.
    pad = max((last - first) / 12, timedelta(days=90))
    if goal is not None:
        traces.insert(
            0,
            {
                "type": "scatter",
                "x": [(first - pad).isoformat(), (last + pad).isoformat()],
                "y": [_num(goal.value)] * 2,
                "name": "Goal (no date given)",
                "mode": "lines",
                "line": {"color": KIND_COLOURS["target"], "dash": "dot"},
                "hovertemplate": f"Goal, no date given: {as_text(k.display(goal.value))}"
                "<extra></extra>",
            },
        )
        points = points + [goal]
    layout["xaxis"].update(
        type="date",
        tickformat="%b %Y",
        range=[(first - pad).isoformat(), (last + pad).isoformat()],
    )
    layout["yaxis"].update(title={"text": unit}, rangemode="tozero")
    # A legend even for one series: plotly drops it, and "Actual" or "Target" goes unsaid.
    layout["showlegend"] = True
    if k.kpi.unit in ("count", "days"):
        # Children and days come whole: ticks at whole numbers (never 39.8, 79.6, 119.4).
        layout["yaxis"].update(_whole_number_axis([v.value for v in points]))
    top = max(v.value for v in points) * Decimal("1.1")
    if k.shows_rate and k.population and top > 0:
        # A second axis reading the same line as a rate per 10,000 children: both ranges are
        # fixed, worked out in Decimal from the same top, so the two axes stay aligned. (With
        # nothing above zero there is no range to share; plotly autoranges the one axis.)
        layout["yaxis"]["range"] = [0, _num(top)]
        layout["yaxis2"] = {
            "range": [0, _num(top * 10_000 / k.population)],
            "overlaying": "y",
            "side": "right",
            "title": {"text": "per 10,000 children"},
            "showgrid": False,
            "automargin": True,
            # Its own whole-number ticks: plotly otherwise syncs them to the count axis's
            # (0, 39.8, 79.6, 119.4 per 10,000).
            **_whole_number_axis([top * 10_000 / k.population]),
        }
        rated = [v for v in k.actuals + dated if v.rate is not None]
        traces.append(
            {
                "type": "scatter",
                "x": [v.date.isoformat() for v in rated],
                "y": [_num(v.rate) for v in rated],
                "yaxis": "y2",
                "mode": "markers",
                "marker": {"opacity": 0},
                "showlegend": False,
                "hoverinfo": "skip",
                "name": "Rate per 10,000",
            }
        )
    latest = (
        f"latest actual {k.display(k.latest.value)}, {fiscal.recorded_date(k.latest.date)}"
        if k.latest
        else "no actual recorded"
    )
    target = (
        f"target in force {k.display(k.target.value)} (to {k.target.date:%d %b %Y})"
        if k.target
        else f"a goal of {k.display(goal.value)} the paper gives no date"
        if k.goal_only
        else f"no target of this plan in force ({k.rating_note})"
        if k.targets
        else "no target set by this plan"
    )
    return Chart(
        f"kpi-{k.kpi.code}",
        f"{k.kpi.name}: trajectory",
        f"Line chart of {k.kpi.name}: {latest}; {target}.",
        {"data": traces, "layout": layout},
    )


def slippage_chart(f: fg.PlanFigures) -> Chart:
    """The monthly cost of slipped actions and its running total, over every recorded month."""
    months = fg.month_range(f.pressures)
    labels = [fiscal.month_label(y, p) for y, p, _ in months]
    recorded = [m for *_, m in months]  # None for a month with nothing recorded
    # A month not incurred at the one shown (later, or the paper's projection): hatched.
    not_incurred = {(m.year, m.period) for m, word in f.pressure_rows if word}
    hatched = [bool(m) and (m.year, m.period) in not_incurred for m in recorded]
    monthly = [m.slippage if m and not h else None for m, h in zip(recorded, hatched, strict=True)]
    cumulative = [m.cumulative_slippage if m else None for _, _, m in months]
    traces = [
        _trace(
            "bar",
            labels,
            monthly,
            "Cost in the month",
            marker={"color": RAG_COLOURS["amber"], "line": {"color": "#0b0c0c", "width": 1}},
        ),
    ]
    if any(hatched):
        if f.pressures_ahead and f.ahead_kind != "projected":
            name = f"{capfirst(f.ahead_label)} (not yet incurred)"
        else:
            name = capfirst(f.PROJECTION)
        traces.append(
            _trace(
                "bar",
                labels,
                [m.slippage if h else None for m, h in zip(recorded, hatched, strict=True)],
                name,
                marker={
                    "color": "#ffffff",
                    "pattern": {"shape": "/", "fgcolor": RAG_COLOURS["amber"]},
                    "line": {"color": "#0b0c0c", "width": 1},
                },
            )
        )
    traces += [
        _trace(
            "scatter",
            labels,
            cumulative,
            "Running total",
            mode="lines+markers",
            line={"color": RAG_COLOURS["red"]},
        ),
    ]
    layout = _layout_dict(title="Monthly cost of slipped actions", height=340, money_axis=True)
    layout["xaxis"].update(categoryorder="array", categoryarray=labels)
    layout["yaxis"].update(_money_tick_values(cumulative) or {})
    layout["barmode"] = "relative"  # a month's bar is one trace or the other, never both
    return Chart(
        "slippage",
        "Monthly cost of slipped actions",
        f"Bar chart of the monthly slippage cost with its running total; total "
        f"{_pounds(f.slippage_total)}"
        + (
            f", of which {_pounds(f.slippage_to_date)} to {f.sel.label}; of the hatched months, "
            f"{_pounds(f.slippage_ahead)} {f.ahead_said}."
            if f.pressures_ahead
            else f", of which the hatched {_pounds(f.slippage_projected)} is {f.PROJECTION}."
            if f.slippage_projected
            else "."
        ),
        {"data": traces, "layout": layout},
    )


def funding_chart(f: fg.PlanFigures) -> Chart:
    """Reserves drawn and repaid, and other funding, by year."""
    rows = f.funding.rows
    years = [y or "Year not stated" for y, _ in rows]
    traces = [
        _trace(
            "bar",
            years,
            [amounts[i] for _, amounts in rows],
            label,
            marker={"color": SERIES_COLOURS[i % len(SERIES_COLOURS)]},
        )
        for i, label in enumerate(f.funding.kinds)
    ]
    layout = _layout_dict(title="Reserves and funding by year", height=340, money_axis=True)
    layout["barmode"] = "group"
    layout["yaxis"].update(_money_tick_values([a for _, amounts in rows for a in amounts]) or {})
    return Chart(
        "funding",
        "Reserves drawn and repaid, and other funding",
        "Bar chart by year of "
        + "; ".join(
            f"{label.lower()} {_pounds(total)}"
            for label, total in zip(f.funding.kinds, f.funding.totals, strict=True)
        )
        + ".",  # reserves owed are a kind of their own, labelled "(no agreed repayment plan)"
        {"data": traces, "layout": layout},
    )


def placements_chart(f: fg.PlanFigures) -> Chart:
    """The placement cost trend: actual cost by month to the as-at month against budget."""
    p = f.placements
    months = [m for m, _, _ in p.cost_trend]
    actual = [a for _, a, _ in p.cost_trend]
    budget = [b for _, _, b in p.cost_trend]
    traces = [
        _trace(
            "bar",
            months,
            budget,
            "Budgeted cost (assumed)" if p.budget_assumed else "Budgeted cost",
            marker={"color": KIND_COLOURS["budget"]},
        ),
        _trace(
            "scatter",
            months,
            actual,
            f"{p.cost_word} cost",
            mode="lines+markers",
            line={"color": KIND_COLOURS["actual"]},
        ),
    ]
    layout = _layout_dict(title=f"Placement cost by month {p.year}", height=340, money_axis=True)
    layout["xaxis"].update(categoryorder="array", categoryarray=months)
    layout["yaxis"].update(_money_tick_values([v for v in actual + budget if v is not None]) or {})
    return Chart(
        "placements",
        f"Placement cost by month {p.year}",
        placements_summary(f),
        {"data": traces, "layout": layout},
    )


def dashboard_charts(f: fg.PlanFigures) -> dict[str, object]:
    """Every chart of the plan dashboard, keyed for the template."""
    return {
        "forecast": forecast_chart(f),
        "savings": savings_chart(f),
        "rag": rag_chart(f),
        "kpis": {k.kpi.pk: kpi_chart(k) for k in f.kpis if k.chartable},
        "slippage": slippage_chart(f) if f.pressures else None,
        "funding": funding_chart(f) if f.funding.by_year else None,
        "placements": placements_chart(f) if f.placements and f.placements.cost_known else None,
    }
