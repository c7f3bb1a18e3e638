"""The scrutiny report's shared pieces and its xlsx workbook (XlsxWriter).

The report page and the workbook read the same ``PlanFigures`` and the same summary rows, so
every figure in the workbook is the figure on the page. Money is written as numbers with a
pounds format (pence shown only where there are some, as on the page); headers are frozen.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone
from django.utils.text import slugify

from dashboards.templatetags.dashboards import kpi_value, rag_label
from plans import figures as fg
from recovery import fiscal
from recovery.money import PENNY, format_money, format_range
from recovery.spreadsheet import XlsxBook, cell_text, excel_serial

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MONEY_FORMAT = '"£"#,##0;-"£"#,##0'

# Said wherever rounded figures stand beside their sum or difference.
ROUNDING = (
    "Figures are rounded for display (to the nearest pound on the pages, to the nearest £1k "
    "in the pack); totals and differences are worked out before rounding, so they can differ "
    "by £1 (£1k in the pack) from the rounded figures beside them."
)

GLOSSARY = [
    ("CLA", "Children looked after: children in the council's care (also LAC, CiC)."),
    (
        "IFA",
        "Independent fostering agency: a private or voluntary agency supplying foster "
        "carers, usually dearer than the council's own (in-house) carers.",
    ),
    (
        "SGO",
        "Special guardianship order: a court order placing a child with a guardian, often "
        "a relative, so the child leaves care; allowances may continue.",
    ),
    (
        "RAG",
        "Red, amber, green: a rating of confidence or performance. Blue means a saving "
        "has been delivered. Ratings are always shown with their word.",
    ),
    (
        "Outturn",
        "What the service actually spends in the year; the forecast outturn is the "
        "current estimate of it.",
    ),
    (
        "Variance",
        "Forecast outturn minus budget: positive is an overspend, negative an "
        "underspend. Movement is the change since the previous forecast.",
    ),
    ("Virement", "Moving budget from one heading to another within the approved total."),
    (
        "Reserves",
        "Money the council has set aside; drawing on them funds an overspend once, "
        "and the plan may promise to repay them.",
    ),
    (
        "Planned saving",
        "What a savings line is expected to save in a financial year: an "
        "amount, a range (low to high) or TBC (to be confirmed).",
    ),
    (
        "In-year adjusted",
        "The share of a year's planned savings expected within the year, "
        "e.g. 50% where savings start gradually.",
    ),
    (
        "Expected to date",
        "The in-year value spread evenly over the months from each line's "
        "start. Where a plan's amounts are full-year values, a line starting in month m "
        "yields (13 - m)/12 of its annual value in the year; where they are in-year values "
        "(the plan says which), the whole amount is due by March from the start month.",
    ),
    (
        "Net at risk",
        "Planned savings less those achieved or achievable, plus in-year cost pressures.",
    ),
    (
        "Slippage cost",
        "The cost of planned actions happening later than planned: the "
        "in-year value of the months lost.",
    ),
    (
        "Rate per 10,000",
        "A count divided by the child population (0-17) times 10,000, as the "
        "Department for Education compares councils.",
    ),
    ("P1 ... P12", "Periods of the financial year: P1 is April, P12 is March."),
    ("Rounding", ROUNDING),
]


@dataclass
class SummaryRow:
    label: str
    low: Decimal | int | None
    high: Decimal | None = None
    unit: str = "money"  # "money", "count", or "text" (the note is the figure)
    rag: str | None = None  # None: no rating applies
    note: str = ""

    @property
    def is_range(self) -> bool:
        return self.high is not None and self.high != self.low


def _direction(value: Decimal | None, ahead: str, behind: str, level: str) -> str:
    if value is None:
        return ""
    return ahead if value > 0 else behind if value < 0 else level


def _placement_estimate(f, money) -> str:
    """What the placement figures say where nothing was recorded in the year: their forecast,
    worked out from counts carried forward (or the paper's total spread), is no recorded
    figure, but a summary that says "nothing" beside it would contradict the page."""
    p = f.placements
    if p is None or p.empty or p.position.variance is None:
        return ""
    basis = f.placement_basis_note or "from the year's placement counts"
    side = "over" if p.position.variance > 0 else "under"
    return (
        f"; the placement forecast, {basis}, is {money(abs(p.position.variance))} {side} its "
        f"{p.budget_word}"
    )


def whole_pounds(value) -> str:
    """A note's figure as the pages show figures: to the pound (£105,588, not £105,587.50)."""
    return format_money(value, pence=False)


def summary_rows(f: fg.PlanFigures, money=whole_pounds) -> list[SummaryRow]:
    """The headline figures, in the order tiles, report and workbook show them. A figure
    nothing supports is None (shown as not reported, an empty cell in the workbook), with a
    note saying why; a year with no savings planned says so in one row. ``money`` writes the
    notes' figures as the medium prints its own (the pack in £k)."""
    y, sel = f.year, f.sel
    rows: list[SummaryRow] = []
    if not y.lines:
        with_savings = [yr for yr, t in f.totals.years.items() if t.lines]
        where = (
            f"; the plan's savings fall in {', '.join(with_savings)}"
            if with_savings
            else "; the plan costs no savings"
        )
        rows.append(
            SummaryRow(
                f"Savings {sel.year}",
                None,
                unit="text",
                note=f"{f.nothing_planned[0].lower()}{f.nothing_planned[1:]}{where}",
            )
        )
    else:
        tbc = f"; {y.tbc_lines} to be confirmed (TBC)" if y.tbc_lines else ""
        rows.append(
            SummaryRow(
                f"Planned savings {sel.year}",
                y.planned_low,
                y.planned_high,
                note=f"{y.lines} savings line{'s' * (y.lines != 1)}{tbc}",
            )
        )
        if y.factor != 1:
            rows.append(
                SummaryRow(
                    f"In-year adjusted {sel.year}",
                    y.adjusted_low,
                    y.adjusted_high,
                    note=f"{(y.factor * 100).normalize():f}% of planned, for gradual delivery "
                    "in the year",
                )
            )
        low, high = f.expected_in_year
        rows += [
            SummaryRow("Expected in the year (monthly profile)", low, high, note=f.profile_basis),
            SummaryRow(f"Expected to date at {sel.label}", f.expected_low, f.expected_high),
        ]
    rated_by_moves = f.moves_rate_at_risk
    if rated_by_moves:
        # The moves rate a line that its record does not (yet): said in the summary too, or
        # the pack's first page reads as if no line were at risk.
        rows.append(
            SummaryRow(
                "Savings lines rated by their placement moves",
                None,
                unit="text",
                note=", ".join(
                    f"{d.line.reference} {rag_label(d.rag)}"
                    + (" (late against an assumed month)" if d.late_against_assumed else "")
                    for d in rated_by_moves
                )
                + (
                    ", as its planned moves stand (made, or late); the line's record takes that "
                    "rating when finance saves the month"
                    if len(rated_by_moves) == 1
                    else ", as their planned moves stand (made, or late); the lines' records take "
                    "those ratings when finance saves the month"
                ),
            )
        )
    if y.lines and not f.recorded_in_year:
        # One line, not a wall of "not reported" tiles.
        rows.append(
            SummaryRow(
                f"Reported in {sel.year}",
                None,
                unit="text",
                note=f"nothing has been recorded for {sel.year} by {sel.label}: no progress, "
                "overspend forecast, KPI actual or cost pressure" + _placement_estimate(f, money),
            )
        )
    elif y.lines:
        share = (
            f"; {f.achieved_share}% of their planned {money(f.reporting_planned)}"
            if f.achieved_share is not None
            else ""
        )
        rows.append(
            SummaryRow(
                "Achieved to date",
                y.achieved,
                note=f"{f.reporting_note}{share}"
                if y.achieved is not None
                else f"no line has reported an achieved figure in {sel.year}",
            )
        )
        if y.anticipated is not None:
            rows.append(SummaryRow("Achievable, not yet achieved", y.anticipated))
        if y.unplanned_achieved is not None:
            rows.append(
                SummaryRow(
                    "Achieved on lines with no target this year",
                    y.unplanned_achieved,
                    note=f"{y.unplanned_lines} line{'s' * (y.unplanned_lines != 1)}; not in "
                    "the achieved figure or its share",
                )
            )
        waiting = (
            f"{y.lines - y.lines_achieved} of {y.lines} lines have not "
            f"reported an achieved figure in {sel.year}"
        )
        rows += [
            SummaryRow(
                "Delivery variance (achieved – expected to date)",
                f.delivery_variance,
                note=_direction(
                    f.delivery_variance,
                    "ahead of the profile",
                    "behind the profile",
                    "on the profile",
                )
                or waiting,
            ),
            SummaryRow(
                "Gap (planned – achieved)",
                y.gap_low,
                y.gap_high,
                note="" if y.gap_low is not None else waiting,
            ),
        ]
    quiet = not f.recorded_in_year  # said once above; no row of "not reported" follows
    if f.pressures_in_year is not None or not quiet:
        rows.append(
            SummaryRow(
                f"In-year cost pressures {sel.year}",
                f.pressures_in_year,
                note=(
                    f"none recorded for {sel.year}"
                    if f.pressures_in_year is None
                    else f"of which {money(f.pressures_in_year_ahead)} {f.ahead_said}"
                    if f.pressures_in_year_ahead
                    else ""
                ),
            )
        )
    if y.lines and not quiet:
        rows.append(
            SummaryRow(
                "Net at risk (planned – achieved or achievable + pressures)",
                f.net_at_risk_low,
                f.net_at_risk_high,
                note=("no in-year cost pressure is recorded" if f.pressures_in_year is None else "")
                if f.net_at_risk_low is not None
                else f"{y.unreported_lines} of {y.lines} lines have not "
                f"reported what they achieved or can achieve",
            )
        )
        rows.append(
            SummaryRow(
                "Savings forecast for the year",
                y.forecast,
                note=f"on {y.lines_forecast} of {y.lines} lines"
                if y.forecast is not None
                else f"no line has a forecast for {sel.year}",
            )
        )
    head = f.forecasts.headline
    if head:
        kind = _direction(head.variance, "overspend", "underspend", "on budget")
        rows.append(
            SummaryRow(
                f"Forecast variance: {head.series_label}, {head.when}",
                head.variance,
                head.variance_high,
                rag=head.rag,
                note=f"{kind}; Red from {money(head.threshold)}",
            )
        )
        if head.movement is not None:
            rows.append(
                SummaryRow(
                    f"Movement since {fiscal.period_label(head.year, head.previous_period)}",
                    head.movement,
                    note=_direction(head.movement, "worse", "better", "no change"),
                )
            )
    elif not quiet:
        rows.append(
            SummaryRow(
                "Forecast variance",
                None,
                note=f"no overspend forecast recorded for {sel.year} by {sel.label}",
            )
        )
    for m in f.forecasts.mitigations:
        rows.append(
            SummaryRow(
                f"Effect of reserves and other savings: {m.label}",
                m.effect,
                note=f"{money(m.gross.variance)} before, {money(m.net.variance)} "
                "after, at the same date (a basis, not a movement)",
            )
        )
    if f.slippage_total and f.pressures_ahead:
        rows.append(
            SummaryRow(
                f"Slippage cost to {f.sel.label}",
                f.slippage_to_date,
                note=f"with {f.ahead_months}, {money(f.slippage_total)} to "
                f"{f.pressures_ahead[-1].label}, of which {money(f.slippage_ahead)} {f.ahead_said}",
            )
        )
    elif f.slippage_total:
        years = f.slippage_years
        rows.append(
            SummaryRow(
                "Slippage cost recorded (all months)",
                f.slippage_total,
                # By year where there are several; one year's is the total again.
                note="; ".join(
                    [f"{yr}: {money(v)}" for yr, v in years] * (len(years) > 1)
                    + [f"of which {money(f.slippage_projected)} is {f.PROJECTION}"]
                    * bool(f.slippage_projected)
                ),
            )
        )
    funding = f.funding
    if funding.drawn or funding.repaid or funding.owed:
        rows.append(SummaryRow("Reserves drawn or to be drawn", funding.drawn))
        if funding.owed:
            rows.append(
                SummaryRow(
                    "Reserves to be repaid",
                    funding.owed,
                    note="no agreed repayment plan: how and when is still to be decided",
                )
            )
        elif funding.repaid:
            rows += [
                SummaryRow("Reserves repaid", funding.repaid),
                SummaryRow("Reserves still to repay", funding.outstanding),
            ]
        else:
            rows.append(
                SummaryRow("Reserves repaid", None, note="no repayment of reserves is recorded")
            )
    for rag, count in f.kpi_rag_counts:
        label = f"KPIs rated {fg.RAG_LABELS[rag]}" if rag else "KPIs not rated"
        rows.append(
            SummaryRow(
                label,
                count,
                unit="count",
                rag=rag,
                note="" if rag else "no actual, or no target of this plan in force at its date",
            )
        )
    rows.append(
        SummaryRow(
            "Stated totals and the paper's own doubts",
            None,
            unit="text",
            note=f.reconciliation_summary,
        )
    )
    return rows


def changes_for(changes: list[fg.Change], lines) -> list[fg.Change]:
    """What changed, for a page that shows only ``lines`` of a long plan: their changes and
    every change that is not a line's (the workbook lists them all)."""
    keep = {x.line.pk for x in lines}
    return [c for c in changes if c.line is None or c.line.pk in keep]


def filename(f: fg.PlanFigures) -> str:
    return f"{slugify(f.plan.code)}-{f.sel.year.replace('/', '-')}-p{f.sel.period}.xlsx"


# --------------------------------------------------------------------------------------------
# The workbook

FORMATS = {
    "title": {"bold": True, "font_size": 14},
    "header": {
        "bold": True,
        "font_color": "#FFFFFF",
        "bg_color": "#0B0C0C",
        "text_wrap": True,
        "valign": "vcenter",
    },
    "wrap": {"text_wrap": True, "valign": "top"},
    "money": {"num_format": MONEY_FORMAT},
    "date": {"num_format": "dd mmm yyyy"},
    "datetime": {"num_format": "dd mmm yyyy hh:mm"},
}


def _cell(value):
    """A value as the workbook writes it: text as a cell holds it (``cell_text``: typed by
    officers, never run as a formula); numbers and dates left as they are."""
    return cell_text(value) if isinstance(value, str) else value


HEADER_ROW = 3  # a report sheet's column headers: under its title, plan and as-at rows


class _Sheet:
    """A sheet with a title block, one header row frozen beneath it, and typed cells. Every
    value goes through ``_cell``: titles, line names and commentary are typed by officers."""

    def __init__(
        self,
        book: XlsxBook,
        title: str,
        f: fg.PlanFigures,
        heading: str,
        columns: list[tuple[str, int]],
    ):
        self.ws = book.wb.add_worksheet(title)
        self.formats = {name: book.format(spec) for name, spec in FORMATS.items()}
        self.next_row = 0
        for i, (_, width) in enumerate(columns):
            self.ws.set_column(i, i, width)
        self.ws.freeze_panes(HEADER_ROW + 1, 1)
        self.row([heading], style="title")
        self.row([f"{f.plan.title} – {f.plan.authority.name}"])
        self.row(
            [
                f"As at {f.sel.label} ({fiscal.long_date(f.sel.as_at)}); figures in pounds unless "
                "stated, shown to the pound (each cell holds the figure to the penny)"
            ]
        )
        self.row([name for name, _ in columns], style="header")  # HEADER_ROW

    def row(self, values: list, *, money: tuple[int, ...] = (), style: str = ""):
        ws, formats, r = self.ws, self.formats, self.next_row
        self.next_row += 1
        for i, v in enumerate(values):
            v = _cell(v)
            if v is None or v == "":
                continue
            if isinstance(v, str):
                fmt = style or ("wrap" if len(v) > 40 else "")
                ws.write_string(r, i, v, formats[fmt] if fmt else None)
            elif isinstance(v, bool):
                ws.write_boolean(r, i, v)
            elif isinstance(v, (Decimal, int, float)):
                fmt = None
                if i in money and isinstance(v, Decimal):
                    # The figure to the penny, shown in whole pounds as the pages show it (a
                    # column never mixes £43,000 with £84,333.33); a sum in the sheet adds
                    # the exact figures.
                    v = v.quantize(PENNY, rounding=ROUND_HALF_UP)
                    fmt = formats["money"]
                ws.write_number(r, i, v, fmt)
            elif isinstance(v, dt.datetime):
                ws.write_number(r, i, excel_serial(v), formats["datetime"])
            elif isinstance(v, dt.date):
                ws.write_number(r, i, excel_serial(v), formats["date"])
            else:
                ws.write_string(r, i, cell_text(v))


def _rag(rag: str | None) -> str:
    return "" if rag is None else fg.RAG_LABELS[rag]


def _placement_sheets(wb: XlsxBook, f: fg.PlanFigures) -> None:
    """Placements: the forecast beside its budget by type, the moves, the slippage of late
    moves (computed) and the what-ifs, as the report page shows them."""
    p = f.placements
    if p is None or p.empty:
        return
    s = _Sheet(
        wb,
        "Placements",
        f,
        f"Placements {p.year}: counts, unit costs, forecast outturn and budget",
        [
            ("Placement type", 36),
            ("Unit cost a year", 16),
            ("Children", 10),
            ("Budgeted or planned", 12),
            ("Forecast outturn", 16),
            ("Budget", 16),
            ("Assumption", 60),
            ("Count carried from", 14),
            ("Counts assumed", 18),
        ],
    )
    for t in p.types:
        s.row(
            [
                t.type.name,
                t.annual,
                None if t.is_total else t.current,
                None if t.is_total else t.budget_now,
                t.outturn,
                t.budget_total,
                f"{t.type.assumption} {t.assumptions_text}".strip(),
                t.counted or None,  # the month of an earlier count, carried to this one
                t.assumed_words or None,  # counts the paper does not print
            ],
            money=(1, 4, 5),
        )
    pos = p.position
    s.row(["All types", None, p.children, None, pos.outturn, pos.budget], money=(4, 5))
    s.row(["Variance (positive = overspend)", None, None, None, pos.variance], money=(4,))
    # As the page shows it: a movement of nothing is "no change", not £0.
    movement = "no change" if p.movement == 0 else p.movement
    s.row(["Movement since the previous month", None, None, None, movement], money=(4,))
    for note in (p.uncounted_note, p.assumed_note):
        if note:
            s.row([note])
    for sm in p.slippage:
        basis = "to date" if sm.to_date else "forecast"
        s.row([f"Late moves {sm.label} ({basis})", None, None, None, sm.amount], money=(4,))
    if p.slippage:
        s.row(["Late moves: total", None, None, None, p.slippage_total], money=(4,))

    s = _Sheet(
        wb,
        "Planned moves",
        f,
        f"Planned moves {p.year} and what they save",
        [
            ("Move", 16),
            ("From", 24),
            ("To", 24),
            ("Children", 10),
            ("Planned", 12),
            ("Status", 36),
            ("Saving a year", 16),
            ("Planned in year", 16),
            ("Achieved to date", 16),
            ("Forecast in year", 16),
            ("Savings line", 14),
        ],
    )
    for mv in p.moves:
        move = mv.move
        s.row(
            [
                move.reference,
                move.from_type.name,
                move.to_type.name if move.to_type_id else "Out of care",
                move.number,
                move.planned_label,
                mv.status,
                mv.saving,
                mv.planned_in_year,
                mv.achieved_to_date,
                mv.forecast_in_year,
                move.line.reference if move.line_id else None,
            ],
            money=(6, 7, 8, 9),
        )
    for x in p.lines:
        s.row(
            [
                x.line.reference,
                f"{x.driver_volume} moves",
                None,
                x.driver_volume,
                None,
                f"Line RAG from moves: {_rag(x.rag)}",
                x.driver_total,
                x.planned_in_year,
                x.achieved,
                x.forecast,
                x.line.reference,
            ],
            money=(6, 7, 8, 9),
        )
    if f.what_ifs:
        s = _Sheet(
            wb,
            "What-ifs",
            f,
            "What-if scenarios beside the base (the base is not changed)",
            [("Scenario", 36), ("Measure", 40), ("Base", 16), ("What-if", 16), ("Difference", 16)],
        )
        for w in f.what_ifs:
            for label, base, scenario, diff in w.rows():
                s.row([w.scenario.name, label, base, scenario, diff], money=(2, 3, 4))


def report_workbook(
    f: fg.PlanFigures,
    *,
    changes: list[fg.Change] | None = None,
    changes_heading: str = "",
    publication: dict | None = None,
    draft: str = "",
) -> bytes:
    """The scrutiny report as an xlsx workbook: the same figures as the report page. What
    changed is the report's (``dashboards.publishing.report_changes``); a published version
    says so on its first sheet, with what it corrects; a live one of a month not published
    says it is a draft (``draft``, from ``dashboards.close.draft_notice``) in its title."""
    wb = XlsxBook()
    sel = f.sel
    if changes is None:
        changes = f.changes
    if publication:
        _publication_sheet(wb, f, publication)

    s = _Sheet(
        wb,
        "Summary",
        f,
        f"DRAFT – scrutiny report {sel.label}" if draft else f"Scrutiny report {sel.label}",
        [("Figure", 55), ("Value", 16), ("High end (ranges)", 16), ("RAG", 14), ("Note", 60)],
    )
    if draft:
        s.row(["Draft, not published", None, None, None, draft])
    for r in summary_rows(f):
        note = r.note
        if r.low is None and r.unit != "text":
            note = f"Not reported: {note}" if note else "Not reported"
        s.row(
            [r.label, r.low, r.high if r.is_range else None, _rag(r.rag), note],
            money=(1, 2) if r.unit == "money" else (),
        )
    for c in f.commentary:
        s.row(
            [
                f"{c.get_role_display()}, {c.label} {c.earlier}".strip(),
                None,
                None,
                None,
                f"{c.body}\n({c.byline}.)",
            ]
        )

    s = _Sheet(
        wb,
        "Savings lines",
        f,
        f"Savings lines {sel.year}",
        [
            ("Reference", 12),
            ("Savings line", 45),
            ("Workstream", 22),
            ("Counts towards target", 10),
            ("Planned (low)", 14),
            ("Planned (high)", 14),
            ("Planned as", 10),
            ("Start period", 8),
            ("In-year value (profile)", 14),
            ("In-year value (high)", 14),
            ("Expected to date", 14),
            ("Expected to date (high)", 14),
            ("Achieved", 14),
            ("Achievable", 14),
            ("Delivery variance", 14),
            ("Forecast for the year", 14),
            ("Original RAG", 12),
            ("Current RAG", 12),
            ("RAG movement", 14),
            ("Cost of one month's delay", 14),
            ("Cost of one month's delay (high)", 14),
            ("Progress as at", 12),
            ("Commentary", 60),
            ("Commentary as at", 12),  # the month it was given for
        ],
    )
    for x in f.lines + f.outside_lines:
        s.row(
            [
                x.line.reference,
                x.line.title,
                x.line.workstream.name if x.line.workstream else "",
                "Yes" if x.line.counts_towards_target else "No",
                x.planned_low,
                x.planned_high,
                x.amount.get_kind_display() if x.amount else "none this year",
                x.start_period,
                x.in_year_low,
                x.in_year_high,
                x.expected_low,
                x.expected_high,
                x.achieved,
                x.anticipated,
                x.delivery_variance,
                x.forecast,
                _rag(x.line.original_rag),
                _rag(x.rag),
                x.rag_move,
                x.month_of_delay,
                x.month_of_delay_high,
                x.as_at,
                x.commentary,
                x.commentary_as_at,
            ],
            money=(4, 5, 8, 9, 10, 11, 12, 13, 14, 15, 19, 20),
        )
    y = f.year
    if y.lines:
        s.row(
            [
                "Total",
                f"{len(f.target_lines)} lines with a planned amount"
                + (f" ({y.tbc_lines} TBC)" if y.tbc_lines else ""),
                None,
                None,
                y.planned_low,
                y.planned_high,
                None,
                None,
                f.expected_in_year[0],
                f.expected_in_year[1],
                f.expected_low,
                f.expected_high,
                y.achieved,
                y.anticipated,
                f.delivery_variance,
                y.forecast,
            ],
            money=(4, 5, 8, 9, 10, 11, 12, 13, 14, 15),
        )

    s = _Sheet(
        wb,
        "Savings by RAG",
        f,
        f"Planned savings {sel.year} by RAG",
        [
            ("RAG", 16),
            ("Lines (current RAG)", 12),
            ("of which TBC", 10),
            ("Planned (low)", 16),
            ("Planned (high)", 16),
            ("Lines (original RAG)", 12),
            ("Planned (low), original RAG", 16),
        ],
    )
    if not f.year.lines:
        s.row([f"{f.nothing_planned}, so none is rated."])
    for cur, orig in zip(f.rag.current, f.rag.original, strict=True) if f.year.lines else ():
        s.row(
            [
                cur.label,
                cur.count,
                cur.tbc,
                cur.value_low,
                cur.value_high,
                orig.count,
                orig.value_low,
            ],
            money=(3, 4, 6),
        )
    if f.year.lines:
        r = f.rag  # the same lines by their RAG now and at budget setting: the same totals
        total = [r.total_count, r.total_tbc, r.total_low, r.total_high, r.total_count, r.total_low]
        s.row(["Total", *total], money=(3, 4, 6))

    s = _Sheet(
        wb,
        "Overspend forecast",
        f,
        f"Overspend forecast {sel.year} to {sel.label}",
        [
            ("Month", 22),
            ("Service area", 36),
            ("Scenario", 12),
            ("Budget", 15),
            ("Forecast outturn", 15),
            ("Variance", 15),
            ("Variance (high end)", 15),
            ("RAG", 10),
            ("Movement", 15),
            ("Movement since", 14),
            ("Red threshold", 14),
            ("Stated overspend", 15),
            ("Commentary", 60),
        ],
    )
    for p in f.forecasts.to_period:
        s.row(
            [
                p.when,
                p.service_area or "Whole service",
                p.scenario_label,
                p.budget,
                p.outturn,
                p.variance,
                p.variance_high if p.is_range else None,
                _rag(p.rag),
                p.movement,
                fiscal.period_label(p.year, p.previous_period) if p.previous_period else "",
                p.threshold,
                p.stated,
                p.commentary,
            ],
            money=(3, 4, 5, 6, 8, 10, 11),
        )

    s = _Sheet(
        wb,
        "KPIs",
        f,
        f"KPIs as at {sel.label}",
        [
            ("KPI", 40),
            ("Unit", 12),
            ("Better", 10),
            ("Latest actual", 12),
            ("Actual date", 12),
            ("Rate per 10,000", 12),
            ("Target", 12),
            ("Target date", 12),
            ("Target rate per 10,000", 12),
            ("RAG", 10),
            ("Tolerance %", 10),
            ("Comparators", 40),
        ],
    )
    for k in f.kpis:
        money = (3, 6) if k.kpi.unit == "money" else ()
        shown = k.target or k.goal  # the target in force, else a goal with no date
        s.row(
            [
                k.kpi.name,
                k.kpi.get_unit_display(),
                k.kpi.get_direction_display(),
                k.latest.value if k.latest else None,
                k.latest.date if k.latest else None,
                k.latest.rate if k.latest else k.rate_note or None,
                shown.value if shown else None,
                (shown.row_date or "No date given") if shown else None,
                shown.rate if shown else None,
                _rag(k.rag),
                k.tolerance_percent,
                "; ".join(
                    f"{c.label}: {kpi_value(c.value, k.kpi.unit)} ({c.date:%b %Y})"
                    for c in k.latest_comparators
                ),
            ],
            money=money,
        )

    s = _Sheet(
        wb,
        "KPI trajectories",
        f,
        "KPI actuals, targets and comparators",
        [
            ("KPI", 40),
            ("Date", 12),
            ("Kind", 14),
            ("Value", 12),
            ("Rate per 10,000", 12),
            ("Rate as printed", 12),
            ("As printed", 30),
        ],
    )
    for k in f.kpis:
        series = [("Actual", v) for v in k.actuals] + [
            ("Goal, no date given" if v.undated else "Target", v) for v in k.targets
        ]
        series += [(label, v) for label, vs in sorted(k.comparators.items()) for v in vs]
        for kind, v in sorted(series, key=lambda kv: (kv[1].undated, kv[1].date, kv[0])):
            s.row(
                [k.kpi.name, v.row_date, kind, v.value, v.rate, v.stated_rate, v.as_printed],
                money=(3,) if k.kpi.unit == "money" else (),
            )

    s = _Sheet(
        wb,
        "Slippage and funding",
        f,
        "Cost of slipped actions and funding",
        [
            ("Month or year", 16),
            ("Slippage cost in the month", 16),
            ("Running total", 16),
            (f"To {f.sel.label}, after or projected", 18),
            *[(label, 16) for label in f.funding.kinds],
        ],
    )
    for m, word in f.pressure_rows:
        when = word or "to date"
        s.row([m.label, m.slippage, m.cumulative_slippage, when], money=(1, 2))
    for year, amounts in f.funding.rows:
        s.row(
            [year or "Year not stated", None, None, None, *amounts],
            money=tuple(range(4, 4 + len(amounts))),
        )

    _placement_sheets(wb, f)

    s = _Sheet(
        wb,
        "Risks",
        f,
        "Risks",
        [
            ("Reference", 10),
            ("Risk", 60),
            ("Mitigations", 60),
            ("Likelihood", 10),
            ("Impact", 10),
            ("Score", 8),
            ("Owner", 20),
            ("Status", 12),
        ],
    )
    for r in f.risks:
        s.row(
            [
                r.reference,
                r.description,
                r.mitigations,
                r.likelihood,
                r.impact,
                r.score,
                r.owner,
                r.get_status_display(),
            ]
        )

    since = f"since {sel.previous_label}" if sel.previous else "in the first month of the year"
    s = _Sheet(
        wb,
        "Changes",
        f,
        changes_heading or f"What changed {since}",
        [("Area", 24), ("Item", 50), ("Before", 15), ("After", 15), ("Change", 15), ("Note", 40)],
    )
    for c in changes:
        before, after = c.before, c.after
        if c.unit == "rag":
            before, after = _rag(before), _rag(after)
        elif c.after_high is not None and c.after_high != c.after:  # a range, whole
            after = format_range(c.after, c.after_high)
        note = c.note
        if c.first:  # as the report says it in the Change column; the cell stays empty
            note = f"{c.first.capitalize()}; {note}" if note else c.first.capitalize()
        s.row(
            [c.area, c.item, before, after, c.change, note],
            money=(2, 3, 4) if c.unit == "money" else (),
        )

    s = _Sheet(
        wb,
        "Stated vs computed",
        f,
        "Totals stated in the paper beside computed totals",
        [
            ("Figure", 50),
            ("Year", 10),
            ("As printed", 16),
            ("Stated (low)", 15),
            ("Stated (high)", 15),
            ("Computed (low)", 15),
            ("Computed (high)", 15),
            ("Difference", 15),
            ("Check", 14),
        ],
    )
    s.row([f.reconciliation_summary])
    for r in f.reconciliation:
        check = r.status
        s.row(
            [
                r.label,
                r.year or "All years",
                r.stated_text,
                r.stated_low,
                r.stated_high if r.stated_high != r.stated_low else None,
                r.computed_low,
                r.computed_high if r.computed_high != r.computed_low else None,
                r.difference if r.agrees is False else None,
                check,
            ],
            money=(3, 4, 5, 6, 7),
        )

    s = _Sheet(
        wb,
        "Paper disagrees",
        f,
        "Where the paper disagrees with itself",
        [
            ("What", 40),
            ("Year", 10),
            ("Line", 12),
            ("One figure", 16),
            ("Where printed", 40),
            ("The other", 16),
            ("Where printed", 40),
            ("The plan uses", 16),
            ("Notes", 50),
        ],
    )
    for d in f.discrepancies:
        s.row(
            [
                d.subject,
                d.year or None,
                d.line.reference if d.line_id else None,
                d.first_text,
                d.first_where,
                d.second_text,
                d.second_where,
                d.used_text or "neither",
                d.notes,
            ]
        )
    for k, v in f.rate_differences:
        s.row(
            [
                f"{k.kpi.name}, rate per 10,000" + (f" ({v.label})" if v.label else ""),
                fiscal.financial_year(v.date),
                None,
                kpi_value(v.stated_rate),
                "As printed in the paper",
                kpi_value(v.rate),
                f"Computed: {kpi_value(v.value)} / child population x 10,000",
                "Both shown",
                "Differs at the paper's precision",
            ]
        )
    if not f.discrepancies and not f.rate_differences:
        s.row(["The paper does not contradict itself in any figure recorded here."])

    s = _Sheet(wb, "Glossary", f, "Glossary", [("Term", 20), ("Meaning", 90)])
    for term, meaning in GLOSSARY:
        s.row([term, meaning])

    for ws in wb.wb.worksheets():  # a sheet with its headers and no row says so
        if ws.dim_rowmax == HEADER_ROW:
            ws.write_string(HEADER_ROW + 1, 0, f"None recorded for {sel.year} up to {sel.label}.")
    return wb.close(
        title=f"{f.plan.title}: scrutiny report {sel.label}",
        created=timezone.now().replace(tzinfo=None),
    )


def _publication_sheet(wb: XlsxBook, f: fg.PlanFigures, publication: dict) -> None:
    number = publication["number"]
    s = _Sheet(
        wb,
        "Published",
        f,
        f"Published report, version {number}",
        [("Figure", 40), ("Item", 50), ("Previous version", 30), ("This version", 30)],
    )
    when = timezone.localtime(publication["published_at"])
    s.row(["Published", f"{fiscal.long_date(when, time=True)} by {publication['published_by']}"])
    if publication.get("note"):
        s.row(["Why this version", publication["note"]])
    previous = publication.get("previous")
    if previous is None:
        s.row(["The first version published for this month."])
        return
    s.row(
        [
            "Replaces",
            f"version {previous.number}, published "
            f"{fiscal.long_date(timezone.localtime(previous.published_at), time=True)}",
        ]
    )
    corrections = publication.get("corrections") or []
    if not corrections:
        s.row(["No figure differs from the previous version."])
    for c in corrections:
        s.row([f"{c['area']}: {c['figure']}", c["item"], c["before"], c["after"]])
