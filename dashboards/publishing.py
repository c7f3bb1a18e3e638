"""Published reports: what a month's scrutiny report shows, as data; what changed between two
published versions, figure by figure; "what changed since the last report" against the last
*published* report; and the render that publishing stores (``plans.services.publish_month``).

Every figure comes from ``plans.figures`` (through the report's summary rows); this module only
records them and compares two records of them.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from dashboards import pack, reports
from plans import figures as fg
from plans import services
from plans.figures.rules import format_kpi_value
from plans.models import PublishedReport, person_name
from plans.selectors import latest_published
from recovery import fiscal
from recovery.money import NOT_REPORTED, format_money, format_range

# 2: the placement forecast's variance ("placements"); 3: its whole table, note and counts;
# 4: the slippage cost to date ("slippage_to_date", None when none was recorded).
SCHEMA = 4
DATE_KEYS = {"as_at", "commentary_as_at", "written", "latest_date"}
# Keys whose values are money (kept as strings in JSON, read back as Decimal).
MONEY_KEYS = {
    "low",
    "high",
    "planned_low",
    "planned_high",
    "achieved",
    "anticipated",
    "delivered",
    "forecast",
    "budget",
    "outturn",
    "variance",
    "variance_high",
    "movement",
    "before",
    "after",
    "after_high",
    "change",
    "latest",
    "target",
    "to_date",
    "carried",
    "moves_to_come",
    "slippage_total",
    "annual",
    "budget_total",
}


def _dec(value):
    return None if value is None else str(value)


# --------------------------------------------------------------------------------------------
# The report as data


def snapshot(f: fg.PlanFigures, changes: list[fg.Change], changes_heading: str) -> dict:
    """What the scrutiny report shows at ``f.sel``, as JSON: money as strings, a figure
    nobody reported as null."""
    sel, plan = f.sel, f.plan
    return {
        "schema": SCHEMA,
        "plan": {
            "title": plan.title,
            "authority": plan.authority.name,
            "kind": plan.get_kind_display(),
            "years": f"{plan.first_year} to {plan.last_year}",
        },
        "year": sel.year,
        "period": sel.period,
        "label": sel.label,
        "as_at": sel.as_at.isoformat(),
        "summary": [
            {
                "label": r.label,
                "low": r.low if isinstance(r.low, int) else _dec(r.low),
                "high": _dec(r.high) if r.is_range else None,
                "unit": r.unit,
                "rag": r.rag,
                "note": r.note,
            }
            for r in reports.summary_rows(f)
        ],
        "commentary": [
            {
                "role": c.get_role_display(),
                "month": c.label,
                "earlier": c.earlier,  # "(the latest written; none for ...)" or ""
                "body": c.body,
                "byline": c.byline,  # versions before schema 2 kept "by" and "written"
            }
            for c in f.commentary
        ],
        "lines": [
            {
                "reference": x.line.reference,
                "title": x.line.title,
                "planned_kind": x.kind,
                "planned_low": _dec(x.planned_low),
                "planned_high": _dec(x.planned_high),
                "achieved": _dec(x.achieved),
                "anticipated": _dec(x.anticipated),
                "delivered": _dec(x.delivered),
                "forecast": _dec(x.forecast),
                "rag": x.rag,
                "original_rag": x.line.original_rag,
                "commentary": x.commentary,
                "as_at": x.as_at.isoformat() if x.as_at else None,
                "commentary_as_at": (
                    x.commentary_as_at.isoformat() if x.commentary_as_at else None
                ),
            }
            for x in f.lines + f.outside_lines
        ],
        "forecasts": [
            {
                "month": p.label,
                "month_assumed": p.month_assumed,  # (reports of schema 4 and before: absent)
                "period": p.period,
                "series": p.series_label,
                "budget": _dec(p.budget),
                "outturn": _dec(p.outturn),
                "variance": _dec(p.variance),
                "variance_high": _dec(p.variance_high) if p.is_range else None,
                "rag": p.rag,
                "movement": _dec(p.movement),
            }
            for p in f.forecasts.to_period
        ],
        "placements": _placements(f),
        "slippage_to_date": _dec(f.slippage_recorded_through(f.sel.year, f.sel.period)),
        "kpis": [
            {
                "name": k.kpi.name,
                "unit": k.kpi.unit,
                "latest": _dec(k.latest.value) if k.latest else None,
                "latest_date": k.latest.date.isoformat() if k.latest else None,
                "target": _dec(k.target.value) if k.target else None,
                "rag": k.rag,
            }
            for k in f.kpis
        ],
        "risks": [
            {
                "reference": r.reference,
                "description": r.description,
                "score": r.score,
                "status": r.get_status_display(),
            }
            for r in f.risks
        ],
        "changes_heading": changes_heading,
        "changes": [
            {
                "area": c.area,
                "item": c.item,
                "before": c.before if c.unit == "rag" else _dec(c.before),
                "after": c.after if c.unit == "rag" else _dec(c.after),
                "after_high": _dec(c.after_high),
                "change": _dec(c.change),
                "unit": c.unit,
                "note": c.note,
                "first": c.first,  # "first reported", "first estimated"...: as the pack says
            }
            for c in changes
        ],
        "reconciliation_summary": f.reconciliation_summary,
    }


def _placements(f: fg.PlanFigures) -> dict:
    """The placement forecast as the report gives it (schema 3: the whole table, its note and
    each type's count; schema 2 kept the variance alone)."""
    p = f.placements
    if p is None or p.empty:
        return {"year": f.sel.year, "variance": None}
    pos = p.position
    return {
        "year": f.sel.year,
        "label": p.label,
        "cost_word": p.cost_word,
        "budget": _dec(pos.budget),
        "to_date": _dec(pos.to_date),
        "carried": _dec(pos.carried),
        "moves_to_come": _dec(pos.moves_to_come),
        "outturn": _dec(pos.outturn),
        "variance": _dec(pos.variance),
        "movement": _dec(p.movement),
        "slippage_total": _dec(p.slippage_total),
        "note": p.uncounted_note,
        "budget_assumed": p.budget_assumed,
        "assumed_note": p.assumed_note,
        "types": [
            {
                "name": t.type.name,
                "by_child": not t.is_total,
                "children": None if t.is_total else t.current,
                "children_assumed": t.current_assumed,
                "carried_from": t.counted,
                "budgeted": None if t.is_total else t.budget_now,
                "budgeted_assumed": t.budget_now_assumed,
                "budget_assumed": t.budget_rests_on_assumption,
                "assumptions_text": t.assumptions_text,
                "annual": _dec(t.annual),
                "outturn": _dec(t.outturn),
                "budget_total": _dec(t.budget_total),
            }
            for t in p.types
        ],
    }


def readable(figures: dict) -> dict:
    """A stored snapshot with its money read back as ``Decimal``, for the page."""

    def walk(value, key=None):
        if isinstance(value, dict):
            if value.get("unit") == "rag":  # a change of RAG: its before and after are words
                return {k: v if k in ("before", "after") else walk(v, k) for k, v in value.items()}
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if key in MONEY_KEYS and isinstance(value, str):
            return Decimal(value)
        if key in DATE_KEYS and isinstance(value, str):
            return date.fromisoformat(value)
        if key == "published_at" and isinstance(value, str):
            return datetime.fromisoformat(value)
        return value

    return walk(figures)


# --------------------------------------------------------------------------------------------
# What changed between two published versions of a month, figure by figure


def _money(value) -> str:
    """In whole pounds, as the report writes its figures: a correction of pence alone is no
    change of what the committee reads."""
    return NOT_REPORTED if value is None else format_money(Decimal(value), pence=False)


def _money_range(low, high) -> str:
    return format_range(low, high, _money)


def _rag(value) -> str:
    return fg.RAG_LABELS.get(value or "", "Not rated")


def _summary_value(row: dict) -> str:
    if row["unit"] == "text":
        return row["note"]
    if row["low"] is None:
        return NOT_REPORTED
    money = row["unit"] == "money"
    text = _money_range(row["low"], row["high"]) if money else str(row["low"])
    return f"{text} ({_rag(row['rag'])})" if row.get("rag") is not None else text


def _compare(out, area, before: dict, after: dict, fields) -> None:
    for key in sorted(set(before) | set(after), key=lambda k: (k not in after, k)):
        old, new = before.get(key), after.get(key)
        for label, shown in fields:
            was = shown(old) if old is not None else "not in that version"
            now = shown(new) if new is not None else "not in this version"
            if was != now:
                item = key if isinstance(key, str) else " ".join(key)
                out.append(
                    {"area": area, "item": item, "figure": label, "before": was, "after": now}
                )


def version_changes(before: dict, after: dict) -> list[dict]:
    """Every figure that differs between two published versions of a month's report, as the
    report writes it (money in £, RAG in words): ``[{area, item, figure, before, after}]``."""
    out: list[dict] = []
    _compare(
        out,
        "Summary",
        {r["label"]: r for r in before.get("summary", [])},
        {r["label"]: r for r in after.get("summary", [])},
        [("value", _summary_value)],
    )
    _compare(
        out,
        "Commentary",
        {c["role"]: c for c in before.get("commentary", [])},
        {c["role"]: c for c in after.get("commentary", [])},
        [("text", lambda c: c["body"])],
    )
    _compare(
        out,
        "Savings line",
        {f"{x['reference']} {x['title']}": x for x in before.get("lines", [])},
        {f"{x['reference']} {x['title']}": x for x in after.get("lines", [])},
        [
            ("planned", lambda x: _money_range(x["planned_low"], x["planned_high"])),
            ("achieved", lambda x: _money(x["achieved"])),
            ("achievable", lambda x: _money(x["anticipated"])),
            ("forecast for the year", lambda x: _money(x["forecast"])),
            ("RAG", lambda x: _rag(x["rag"])),
            ("commentary", lambda x: x["commentary"] or "none"),
        ],
    )
    _compare(
        out,
        "Overspend forecast",
        {(p["month"], p["series"]): p for p in before.get("forecasts", [])},
        {(p["month"], p["series"]): p for p in after.get("forecasts", [])},
        [
            ("budget", lambda p: _money(p["budget"])),
            ("forecast outturn", lambda p: _money(p["outturn"])),
            ("variance", lambda p: _money_range(p["variance"], p["variance_high"])),
            ("RAG", lambda p: _rag(p["rag"])),
        ],
    )
    # The placement forecast, by what both versions kept (schema 2 kept its variance alone).
    was, now = before.get("placements") or {}, after.get("placements") or {}
    kept = [k for k in ("budget", "outturn", "variance") if k in was and k in now]
    if kept:
        names = {"budget": "budget", "outturn": "forecast outturn", "variance": "variance"}
        _compare(
            out,
            "Placements",
            {"Placement forecast": was},
            {"Placement forecast": now},
            [(names[k], lambda p, k=k: _money(p[k])) for k in kept],
        )
    _compare(
        out,
        "KPI",
        {k["name"]: k for k in before.get("kpis", [])},
        {k["name"]: k for k in after.get("kpis", [])},
        [
            ("latest actual", lambda k: format_kpi_value(k["latest"], k["unit"])),
            ("target", lambda k: format_kpi_value(k["target"], k["unit"])),
            ("RAG", lambda k: _rag(k["rag"])),
        ],
    )
    return out


# --------------------------------------------------------------------------------------------
# "What changed since the last report": against the last published report, when there is one


def previous_published(plan, sel: fg.Selection) -> PublishedReport | None:
    """The latest version of the latest month published before ``sel``. One query."""
    from django.db.models import Q

    earlier = Q(year__lt=sel.year) | Q(year=sel.year, period__lt=sel.period)
    return (
        PublishedReport.objects.filter(earlier, plan=plan)
        .defer("pdf", "xlsx")
        .order_by("-year", "-period", "-number")
        .first()
    )


def changes_since(report: PublishedReport, f: fg.PlanFigures) -> list[fg.Change]:
    """The report's figures against a published report's: forecasts of this month against
    that report's latest for the same series, each line's achieved or achievable and RAG,
    and each KPI's latest actual."""
    previous = report.figures
    same_year = report.year == f.sel.year
    note_since = f"since the report published for {report.label}"
    # A first figure: of this month since that report, or of a year that report did not cover.
    first = (
        "first reported since the last published report"
        if same_year
        else f"the first for {f.sel.year} (the last published report was of {report.year})"
    )
    out: list[fg.Change] = []
    before_series = {}
    for p in previous.get("forecasts", []) if same_year else []:
        before_series[p["series"]] = p  # in month order: the last is that report's latest
    for p in f.forecasts.this_period:
        was = before_series.get(p.series_label)
        before = Decimal(was["variance"]) if was and was.get("variance") else None
        if was and before == p.variance:
            continue
        out.append(
            fg.Change(
                "Overspend forecast",
                p.series_label,
                before,
                p.variance,
                note=note_since if was else first,
            )
        )
    if "placements" not in previous:
        # Published before reports kept the placement forecast (schema 1): month on month.
        if f.placement_variance_change is not None:
            out.append(f.placement_variance_change)
    elif f.placements is not None and not f.placements.empty:
        now = f.placements.position.variance
        was = (previous["placements"] or {}) if same_year else {}
        before = Decimal(was["variance"]) if was.get("variance") is not None else None
        if now is not None and now != before:
            out.append(
                fg.Change(
                    "Placements",
                    f.PLACEMENT_VARIANCE,
                    before,
                    now,
                    note=note_since if before is not None else first,
                    basis=f.placement_basis,
                )
            )
    if previous.get("schema", 1) >= 4:
        kept = previous.get("slippage_to_date")
        before = Decimal(kept) if kept is not None else None
    else:  # published before reports kept it: the cost to that report's month, as recorded now
        before = f.slippage_recorded_through(report.year, report.period)
    if (slippage := f.slippage_change_since(before, note_since)) is not None:
        out.append(slippage)
    lines = {x["reference"]: x for x in previous.get("lines", [])}
    for x in f.lines + f.outside_lines:
        was = lines.get(x.line.reference)
        item = f"{x.line.reference} {x.line.title}"
        delivered = was.get("delivered") if was and same_year else None
        before = Decimal(delivered) if delivered is not None else None
        if x.delivered is not None and x.delivered != before:
            out.append(
                fg.Change(
                    "Savings achieved or achievable",
                    item,
                    before,
                    x.delivered,
                    note=first if before is None else "",
                    line=x.line,
                )
            )
        rag_before = was.get("rag", "") if was else ""
        move = fg.rag_movement(rag_before, x.rag)
        if was and move != "unchanged":
            out.append(
                fg.Change(
                    "Savings RAG",
                    item,
                    None,
                    None,
                    note=f"{_rag(rag_before)} to {_rag(x.rag)} ({move})",
                    line=x.line,
                )
            )
    kpis = {k["name"]: k for k in previous.get("kpis", [])}
    for k in f.kpis:
        was = kpis.get(k.kpi.name)
        if k.latest is None:
            continue
        if was and was.get("latest_date") == k.latest.date.isoformat():
            continue
        out.append(
            fg.Change(
                "KPI",
                k.kpi.name,
                Decimal(was["latest"]) if was and was.get("latest") is not None else None,
                k.latest.value,
                unit=k.kpi.unit,
                note=f"recorded {fiscal.recorded_date(k.latest.date)}",
            )
        )
    return out


def report_changes(f: fg.PlanFigures) -> tuple[list[fg.Change], str]:
    """What the report's "what changed" section lists, and its heading: since the last
    published report when there is one, else since the previous month."""
    previous = previous_published(f.plan, f.sel)
    if previous is not None:
        when = fiscal.long_date(timezone.localtime(previous.published_at))
        heading = (
            f"What changed since the report published for {previous.label} "
            f"(version {previous.number}, {when})"
        )
        return changes_since(previous, f), heading
    sel = f.sel
    since = f"since {sel.previous_label}" if sel.previous else "in the first month of the year"
    return f.changes, f"What changed {since}"


def live_notice(f: fg.PlanFigures, changes: list[fg.Change], heading: str) -> str:
    """What the live report of a month already published says of itself when its figures
    are no longer those published (a target edited since, a figure of the plan changed): ""
    when they are the same, or the month is not published. The published version stays the
    committee's record; the live report says so, and what differs, on the page, in its
    workbook and on every page of its pack."""
    report = latest_published(f.plan, f.sel.year, f.sel.period)
    if report is None:
        return ""

    def of_the_month(figures: dict) -> dict:
        """The figures of the month itself: its lines (by reference, so a title reworded is
        no change of figure), forecasts to the month, KPIs as at it and its commentary. The
        headline rows are left out: some add up the whole year or every year (cost pressures,
        slippage, reserves), which later months' entries move without changing this one's."""
        lines = [{**x, "title": ""} for x in figures.get("lines", [])]
        return {**figures, "summary": [], "lines": lines}

    now = snapshot(f, changes, heading)
    differ = version_changes(of_the_month(report.figures), of_the_month(now))
    if not differ:
        return ""
    first = {**differ[0], "item": differ[0]["item"].strip()}
    day = timezone.localtime(report.published_at)
    more = f" and {len(differ) - 1} more" if len(differ) > 1 else ""
    return (
        f"Live figures, not the published record: since {report.label}'s version "
        f"{report.number} was published on {day.day} {day:%B %Y}, {first['area'].lower()} "
        f"{first['item']}, {first['figure']}, changed from {first['before']} to "
        f"{first['after']}{more}. Version {report.number} stays the committee's record until "
        "the month is reopened and a correction published."
    )


# --------------------------------------------------------------------------------------------
# Publishing


def render(publication: services.Publication) -> services.Rendered:
    """The month's report as it is published: its figures as data, what changed from the
    version it replaces, the committee pack and the workbook, all from one ``plan_figures``."""
    f = fg.plan_figures(publication.plan, fg.Selection(publication.year, publication.period))
    changes, heading = report_changes(f)
    figures = snapshot(f, changes, heading)
    previous = publication.previous
    corrected = version_changes(previous.figures, figures) if previous else []
    stamp = {
        "number": publication.number,
        "published_at": publication.published_at,
        "published_by": person_name(publication.published_by),
        "note": publication.note,
        "previous": previous,
        "corrections": corrected,
    }
    figures["publication"] = {
        "number": publication.number,
        "published_at": publication.published_at.isoformat(),
        "published_by": stamp["published_by"],
        "note": publication.note,
    }
    return services.Rendered(
        figures=figures,
        changes=corrected,
        pdf=pack.committee_pack(f, changes=changes, changes_heading=heading, publication=stamp),
        xlsx=reports.report_workbook(
            f, changes=changes, changes_heading=heading, publication=stamp
        ),
    )


def filename(report: PublishedReport, extension: str) -> str:
    from django.utils.text import slugify

    year = report.year.replace("/", "-")
    return f"{slugify(report.plan.code)}-{year}-p{report.period}-v{report.number}.{extension}"
