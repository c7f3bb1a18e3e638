"""The committee pack: the scrutiny report as a PDF (WeasyPrint), from the same figures as the
page and its workbook, in £k as committees print them.

Charts are static SVG drawn here from the same figures (plotly's image export needs a browser
this server may not have), each followed by its data table. The footer's authority name is
taken from the page itself (``string-set``), so no name needs escaping into CSS.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape

from django.template.loader import render_to_string
from django.utils.text import slugify

from dashboards import reports
from dashboards.charts import KIND_COLOURS, RAG_COLOURS, _money_tick_values
from plans import figures as fg
from recovery import fiscal
from recovery.money import format_money_k

PDF_TYPE = "application/pdf"
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 220, 64, 36, 16
MAX_PANELS = 8  # the variance chart's panels: within one page however many series


def _scale(values: list[Decimal], top: float = TOP, plot_h: float = HEIGHT - BOTTOM - TOP):
    """The axis of ``values`` on a plot ``plot_h`` high from ``top``: round ticks from zero
    (the dashboard's own, ``£200k`` steps rather than quarters of the largest figure), the
    lowest and highest, and the y of a value (with the ticks as ``y.ticks``)."""
    ticks = (_money_tick_values(values) or {"tickvals": [0.0, 1.0]})["tickvals"]
    low, high = min(ticks), max(ticks)
    span = (high - low) or 1.0

    def y(value) -> float:
        return top + (high - float(value)) / span * plot_h

    y.ticks = ticks
    return low, high, y


def _tick_label(value: float, ticks: list[float]) -> str:
    """A tick in £k: whole thousands, or as fine as the steps are (£2.5k, £0.25k; not £3k)."""
    fine = any(abs(t / 1000 - round(t / 1000)) > 1e-9 for t in ticks)
    return format_money_k(Decimal(str(value if fine else round(value))), exact=fine)


def _axis(low: float, high: float, y, font: int = 10) -> list[str]:
    """A labelled gridline at each tick, in £k."""
    parts = []
    for value in y.ticks:
        yy = y(value)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#e5e6e7"/>'
            f'<text x="{LEFT - 6}" y="{yy + 4:.1f}" text-anchor="end" font-size="{font}">'
            f"{escape(_tick_label(value, y.ticks))}</text>"
        )
    return parts


def _months_axis(labels: list[str], step: float, bottom: float = HEIGHT - BOTTOM) -> list[str]:
    return [
        f'<text x="{LEFT + step * (i + 0.5):.1f}" y="{bottom + 14}" '
        f'text-anchor="middle" font-size="9">{escape(label.split()[0])}</text>'
        for i, label in enumerate(labels)
    ]


def _svg(parts: list[str], title: str, height: float = HEIGHT) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'role="img" aria-label="{escape(title)}" font-family="DejaVu Sans, sans-serif">'
        f"<title>{escape(title)}</title>{''.join(parts)}</svg>"
    )


def variance_chart(f: fg.PlanFigures) -> str | None:
    """The forecast variance by month of each series (service area, scenario) in a panel of
    its own on one scale, as the dashboard draws them: each bar in its RAG colour with the
    word. A pack that charted the headline alone understated a worse case beside it. Panels
    shrink as series are added, so the chart stays within half a page."""
    every = [(key, points) for key, points in f.forecasts.series if any(points)]
    if not every:
        return None
    series = every[:MAX_PANELS]  # the table beneath lists every series
    labels = [fiscal.month_label(f.sel.year, p) for p in fg.MONTHS]
    values = [v for _, points in series for p in points if p for v in (p.variance, p.variance_high)]
    panel = max(44, min(110, 420 // len(series)))  # each panel's plot height
    gap = 34 if panel >= 80 else 22  # the room for its title above it
    step = (WIDTH - LEFT) / 12
    parts = []
    ranged = False
    for n, (_key, points) in enumerate(series):
        top = gap + n * (panel + gap)
        low, high, y = _scale(values, top, panel)
        name = next(p for p in points if p).series_label
        parts.append(
            f'<text x="{LEFT}" y="{top - 8}" font-size="10" font-weight="bold">'
            f"Variance: {escape(name)}</text>"
        )
        parts += _axis(low, high, y, font=9)
        zero = y(0)
        for i, p in enumerate(points):
            if p is None:
                continue
            bar_top, bar_bottom = sorted((y(p.variance), zero))
            x = LEFT + step * i + step * 0.15
            ranged_here = p.variance_high is not None and p.variance_high != p.variance
            # The RAG word above the bar, and above its whisker where it has one.
            word_y = min(bar_top, y(p.variance_high)) if ranged_here else bar_top
            parts.append(
                f'<rect x="{x:.1f}" y="{bar_top:.1f}" width="{step * 0.7:.1f}" '
                f'height="{max(bar_bottom - bar_top, 0.5):.1f}" fill="{RAG_COLOURS[p.rag]}"/>'
                f'<text x="{x + step * 0.35:.1f}" y="{max(word_y - 3, top + 7):.1f}" '
                f'text-anchor="middle" font-size="8">{escape(fg.RAG_LABELS[p.rag])}</text>'
            )
            if ranged_here:
                # A forecast stated as a range (£3m–£4m): a whisker from the bar's end (its
                # low) to the high end, capped, beside the RAG word.
                mid, y_high = x + step * 0.35, y(p.variance_high)
                parts.append(
                    f'<path d="M{mid:.1f},{y(p.variance):.1f} V{y_high:.1f} '
                    f'M{mid - 5:.1f},{y_high:.1f} H{mid + 5:.1f}" stroke="#0b0c0c" '
                    f'stroke-width="1.5" fill="none"/>'
                )
                ranged = True
    bottom = len(series) * (panel + gap)
    parts += _months_axis(labels, step, bottom)
    title = f"Forecast variance by month, {f.sel.year}"
    if ranged:
        title += " (a forecast stated as a range: the bar to its low end, a line to its high)"
        parts.append(
            f'<text x="{WIDTH}" y="{gap - 8}" text-anchor="end" font-size="9">'
            "line above a bar: the high end of a range</text>"
        )
    if len(every) > len(series):
        title += f" (the first {len(series)} of {len(every)} series; the table lists all)"
        parts.append(
            f'<text x="{WIDTH}" y="12" text-anchor="end" font-size="9">{escape(title)}</text>'
        )
    return _svg(parts, title, bottom + BOTTOM)


def savings_chart(f: fg.PlanFigures) -> str | None:
    """Cumulative savings expected from the profile and achieved, by month."""
    if not f.target_lines:
        return None
    labels = [fiscal.month_label(f.sel.year, p) for p in fg.MONTHS]
    expected = [low for low, _ in f.profile]
    expected_high = [high for _, high in f.profile] if f.profile_ranged else []
    achieved = f.achieved_by_period
    low, high, y = _scale([*expected, *expected_high, *achieved])
    step = (WIDTH - LEFT) / 12
    parts = _axis(low, high, y)

    def line(values, colour, dash=""):
        pts = [
            f"{LEFT + step * (i + 0.5):.1f},{y(v):.1f}"
            for i, v in enumerate(values)
            if v is not None
        ]
        if not pts:
            return ""
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        dots = "".join(
            f'<circle cx="{pt.split(",")[0]}" cy="{pt.split(",")[1]}" r="3" fill="{colour}"/>'
            for pt in pts
        )
        return (
            f'<polyline points="{" ".join(pts)}" fill="none" stroke="{colour}" '
            f'stroke-width="2"{dashes}/>{dots}'
        )

    parts.append(line(expected, KIND_COLOURS["target"], "5,3"))
    parts.append(line(expected_high, KIND_COLOURS["target"], "1,3"))
    parts.append(line(achieved, RAG_COLOURS["green"]))
    parts += _months_axis(labels, step)
    high_end = "; dotted: its high end" if expected_high else ""
    parts.append(
        f'<text x="{LEFT}" y="{TOP - 4}" font-size="9">dashed: expected from the profile'
        f"{high_end}; solid: achieved</text>"
    )
    return _svg(parts, f"Cumulative savings expected and achieved, {f.sel.year}")


def placements_chart(f: fg.PlanFigures) -> str | None:
    """Placement cost by month: budgeted (dashed) and actual to the as-at month (solid)."""
    p = f.placements
    if p is None or not p.cost_known:
        return None
    labels = [fiscal.month_label(f.sel.year, m) for m in fg.MONTHS]
    actual = [a for _, a, _ in p.cost_trend]
    budget = [b for _, _, b in p.cost_trend]
    low, high, y = _scale([*actual, *budget])
    step = (WIDTH - LEFT) / 12
    parts = _axis(low, high, y)
    for values, colour, dash in (
        (budget, KIND_COLOURS["budget"], "5,3"),
        (actual, KIND_COLOURS["actual"], ""),
    ):
        pts = [
            f"{LEFT + step * (i + 0.5):.1f},{y(v):.1f}"
            for i, v in enumerate(values)
            if v is not None
        ]
        if pts:
            dashes = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(
                f'<polyline points="{" ".join(pts)}" fill="none" stroke="{colour}" '
                f'stroke-width="2"{dashes}/>'
            )
    parts += _months_axis(labels, step)
    parts.append(
        f'<text x="{LEFT}" y="{TOP - 4}" font-size="9">dashed: budgeted cost'
        f"{' (assumed)' if p.budget_assumed else ''}; solid: {p.cost_word.lower()} cost</text>"
    )
    return _svg(parts, f"Placement cost by month, budgeted and {p.cost_word.lower()}, {f.sel.year}")


def pack_html(
    f: fg.PlanFigures,
    *,
    base_url: str = "",
    changes: list[fg.Change] | None = None,
    changes_heading: str = "",
    publication: dict | None = None,
    draft: str = "",
) -> str:
    if changes is None:
        changes = f.changes
    shown = reports.changes_for(changes, f.pack_lines)
    if not changes_heading:
        sel = f.sel
        since = f"since {sel.previous_label}" if sel.previous else "in the first month of the year"
        changes_heading = f"What changed {since}"
    return render_to_string(
        "dashboards/pack.html",
        {
            "changes": shown,
            "changes_not_shown": len(changes) - len(shown),
            "changes_heading": changes_heading,
            "publication": publication,
            "draft": draft,
            "f": f,
            "plan": f.plan,
            "sel": f.sel,
            "summary": reports.summary_rows(f, money=format_money_k),
            "variance_svg": variance_chart(f),
            "savings_svg": savings_chart(f),
            "placements_svg": placements_chart(f),
            "glossary": reports.GLOSSARY,
            "rounding": reports.ROUNDING,
        },
    )


def committee_pack(f: fg.PlanFigures, **context) -> bytes:
    """The pack as a PDF; ``context`` as ``pack_html`` takes it (what changed, the
    publication stamp of a published version, the draft notice of a live one)."""
    from weasyprint import HTML

    return HTML(string=pack_html(f, **context)).write_pdf()


def filename(f: fg.PlanFigures) -> str:
    return f"{slugify(f.plan.code)}-{f.sel.year.replace('/', '-')}-p{f.sel.period}-pack.pdf"
