"""Each figure of a line follows the latest progress entry that records it.

A month-end entry with only a comment or a RAG must not wipe what was achieved, the forecast
or the rating; and the RAG "before" in "what changed" is the rating recorded by the previous
period's end, not the line's current one.
"""

import json
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from plans import figures as fg
from plans.figures import lines as lines_module
from plans.models import Plan, ProgressEntry, StatedFigure
from tests.factories import PlannedAmountFactory, ProgressEntryFactory, SavingsLineFactory

pytestmark = pytest.mark.django_db
D = Decimal


def _line(f: fg.PlanFigures, reference: str) -> fg.LineFigures:
    [x] = [x for x in f.lines + f.outside_lines if x.line.reference == reference]
    return x


# --------------------------------------------------------------------------------------------
# Achieved, forecast and RAG: the latest entry that records each


@pytest.fixture
def torbay_2011_12_with_a_comment_in_november(seeded):
    plan = Plan.objects.select_related("authority").get(
        authority__slug="torbay", code="recovery-2011-12"
    )
    ProgressEntry.objects.create(
        line=plan.lines.get(reference="REC-01"),
        as_at=date(2011, 11, 30),
        achieved_to_date=None,
        forecast=None,
        rag="",
        commentary="No further savings confirmed this month.",
    )
    return plan


def test_a_comment_only_entry_does_not_wipe_torbays_144000(
    torbay_2011_12_with_a_comment_in_november,
):
    plan = torbay_2011_12_with_a_comment_in_november
    # plan_totals (plan list, plan detail, overview, plan workbook), any date and November.
    assert fg.plan_totals([plan])[plan.pk].total.achieved == D("144000")
    year = fg.plan_totals([plan], as_at=date(2011, 11, 30))[plan.pk].years["2011/12"]
    assert (year.achieved, year.gap_low) == (D("144000"), D("106000"))
    # The dashboard, report and report workbook (one PlanFigures) at November.
    f = fg.plan_figures(plan, fg.Selection("2011/12", 8))
    assert f.year.achieved == D("144000")
    x = _line(f, "REC-01")
    assert (x.achieved, x.delivered, x.achieved_previous) == (D("144000"),) * 3
    assert sum(y.achieved for y in f.lines) == f.year.achieved
    # The comment is still the line's latest word, at its own date.
    assert x.commentary == "No further savings confirmed this month."
    assert x.as_at == date(2011, 11, 30)
    # November records no amount: a gap in the chart, not a fall to zero, and no "change".
    assert f.achieved_by_period[6] == D("144000") and f.achieved_by_period[7] is None
    assert not [c for c in f.changes if c.area == "Savings achieved or achievable"]
    assert not f.differences  # the paper's £144,000 still agrees


def test_plan_summary_keeps_torbays_144000(torbay_2011_12_with_a_comment_in_november):
    out = StringIO()
    call_command("plan_summary", "--json", "--authority", "torbay", stdout=out)
    [row] = [r for r in json.loads(out.getvalue()) if r["code"] == "recovery-2011-12"]
    assert row["years"]["2011/12"]["achieved"] == "144000.00"
    assert row["years"]["2011/12"]["gap_low"] == "106000.00"


@pytest.fixture
def line_with_patchy_entries(authority):
    """P6 achievable + forecast + Amber; P7 RAG and comment only; P8 achieved only; P9
    forecast only."""
    line = SavingsLineFactory(plan__authority=authority, rag="red", original_rag="green")
    PlannedAmountFactory(line=line, year="2017/18", low=D("120000"))

    def entry(as_at, achieved=None, forecast=None, rag="", **kw):
        ProgressEntryFactory(
            line=line, as_at=as_at, achieved_to_date=achieved, forecast=forecast, rag=rag, **kw
        )

    entry(date(2017, 9, 30), D("40000"), D("100000"), "amber", basis="achievable")
    entry(date(2017, 10, 31), rag="red", commentary="Placements slipping")
    entry(date(2017, 11, 30), D("60000"))
    entry(date(2017, 12, 31), forecast=D("90000"))
    return line


@pytest.mark.parametrize(
    ("period", "achieved", "anticipated", "forecast", "rag", "rag_previous"),
    [
        # An achievable entry reports no achieved figure: not reported, never £0.
        (7, None, D("40000"), D("100000"), "red", "amber"),
        (8, D("60000"), None, D("100000"), "red", "red"),
        (9, D("60000"), None, D("90000"), "red", "red"),
    ],
)
def test_each_figure_follows_the_latest_entry_recording_it(
    line_with_patchy_entries,
    django_assert_num_queries,
    period,
    achieved,
    anticipated,
    forecast,
    rag,
    rag_previous,
):
    line = line_with_patchy_entries
    sel = fg.Selection("2017/18", period)
    f = fg.plan_figures(line.plan, sel)
    [x] = f.lines
    assert (x.achieved, x.anticipated, x.forecast) == (achieved, anticipated, forecast)
    assert (x.rag, x.rag_previous) == (rag, rag_previous)
    with django_assert_num_queries(3):
        year = fg.year_totals([line.plan], as_at=sel.as_at)[line.plan.pk]["2017/18"]
    assert (year.achieved, year.anticipated, year.forecast) == (achieved, anticipated, forecast)
    assert year.lines_with_progress == 1
    assert f.year == year
    assert {b.rag: b.count for b in f.rag.current if b.count} == {rag: 1}


def test_months_without_an_achieved_to_date_are_gaps_not_zeros(line_with_patchy_entries):
    f = fg.plan_figures(line_with_patchy_entries.plan, fg.Selection("2017/18", 9))
    # P7 (a comment) and P9 (a forecast) record no achieved to date.
    assert f.achieved_by_period[5:9] == [None, None, D("60000"), None]
    assert f.anticipated_by_period[5:9] == [D("40000"), None, D("60000"), None]
    # 40,000 achievable at P6 became 60,000 achieved at P8; P7 changed nothing.
    p7 = fg.plan_figures(line_with_patchy_entries.plan, fg.Selection("2017/18", 7))
    assert not [c for c in p7.changes if c.area == "Savings achieved or achievable"]
    p8 = fg.plan_figures(line_with_patchy_entries.plan, fg.Selection("2017/18", 8))
    [change] = [c for c in p8.changes if c.area == "Savings achieved or achievable"]
    assert (change.before, change.after) == (D("40000"), D("60000"))


def test_line_stated_figures_reconcile_with_the_latest_recorded_amount(
    line_with_patchy_entries,
):
    line = line_with_patchy_entries
    for measure in (StatedFigure.Measure.ACHIEVED, StatedFigure.Measure.ANTICIPATED):
        StatedFigure.objects.create(
            plan=line.plan,
            key=f"line-{measure}",
            measure=measure,
            year="2017/18",
            line=line,
            label=f"{measure} on the line",
            low=D("60000"),
            high=D("60000"),
            stated_text="£60,000",
        )
    checks = {r.key: r for r in fg.reconcile(line.plan)}
    assert checks["line-achieved"].computed_low == D("60000")
    assert checks["line-anticipated"].computed_low == D("60000")
    assert checks["line-achieved"].agrees and checks["line-anticipated"].agrees
    [latest] = fg.latest_progress([line.plan.pk])
    assert latest.as_at == date(2017, 11, 30)


# --------------------------------------------------------------------------------------------
# The RAG at the previous period's end


def _rated(line, as_at, rag):
    ProgressEntryFactory(line=line, as_at=as_at, achieved_to_date=None, forecast=None, rag=rag)
    line.rag = rag  # as the month-end does (plans.services.follow_latest_rag)
    line.save()


@pytest.mark.parametrize(
    ("original", "before", "move"),
    [("", "Not rated", "newly rated"), ("green", "Green", "worsened")],
)
def test_a_line_rated_for_the_first_time_shows_the_change(authority, original, before, move):
    line = SavingsLineFactory(plan__authority=authority, rag=original, original_rag=original)
    PlannedAmountFactory(line=line, year="2017/18", low=D("120000"))
    ProgressEntryFactory(line=line, as_at=date(2017, 9, 30), achieved_to_date=D("10000"), rag="")
    _rated(line, date(2017, 10, 31), "red")
    f = fg.plan_figures(line.plan, fg.Selection("2017/18", 7))
    [x] = f.lines
    assert (x.rag_previous, x.rag, x.rag_move) == (original, "red", move)
    [change] = [c for c in f.changes if c.area == "Savings RAG"]
    assert (change.before, change.after, change.unit, change.note) == (original, "red", "rag", move)


def test_the_previous_rag_may_come_from_an_earlier_year(authority):
    line = SavingsLineFactory(plan__authority=authority, rag="green", original_rag="green")
    PlannedAmountFactory(line=line, year="2017/18", low=D("120000"))
    _rated(line, date(2017, 3, 31), "amber")  # 2016/17
    _rated(line, date(2017, 5, 31), "red")  # P2 of 2017/18
    [x] = fg.plan_figures(line.plan, fg.Selection("2017/18", 2)).lines
    assert (x.rag_previous, x.rag, x.rag_move) == ("amber", "red", "worsened")
    # The earlier year's entries count for the RAG only, never for the year's figures.
    assert x.entries and all(e["year"] == "2017/18" for e in x.entries)


def test_an_earlier_years_rating_is_the_latest_one_up_to_the_previous_period(authority):
    # Rated two years back, then twice last year: the later of last year's is the RAG before P2.
    line = SavingsLineFactory(plan__authority=authority, rag="green", original_rag="green")
    PlannedAmountFactory(line=line, year="2017/18", low=D("120000"))
    _rated(line, date(2016, 3, 31), "green")
    _rated(line, date(2016, 12, 31), "red")
    _rated(line, date(2017, 2, 28), "amber")
    ProgressEntryFactory(line=line, as_at=date(2017, 4, 30), achieved_to_date=D("1"), rag="")
    ProgressEntryFactory(line=line, as_at=date(2017, 5, 31), achieved_to_date=D("2"), rag="")
    [x] = fg.plan_figures(line.plan, fg.Selection("2017/18", 2)).lines
    # Not rated in the year: last year's latest rating, the same before, and dated.
    assert (x.rag_previous, x.rag, x.rag_move) == ("amber", "amber", "unchanged")
    assert x.rag_carried_from == date(2017, 2, 28)
    # Read for the lines that need it, by key or (a long list) by the plan: the same entry.
    sel = fg.Selection("2017/18", 2)
    by_key = lines_module._rated_outside_year(line.plan, sel, [line.pk])
    by_plan = lines_module._rated_outside_year(line.plan, sel, [line.pk, *range(-600, 0)])
    assert (
        by_key
        == by_plan
        == ({line.pk: {"line_id": line.pk, "as_at": date(2017, 2, 28), "rag": "amber"}}, set())
    )
    # Nothing is read when every line was rated in the year by then.
    assert lines_module._rated_outside_year(line.plan, sel, []) == ({}, set())


def test_a_month_before_a_lines_first_rating_shows_its_original_rag(authority):
    # Rated Red in November 2017 (the line's current RAG now): June 2017 shows its RAG then.
    line = SavingsLineFactory(plan__authority=authority, rag="red", original_rag="green")
    PlannedAmountFactory(line=line, year="2017/18", low=D("120000"))
    _rated(line, date(2017, 11, 30), "red")
    [x] = fg.plan_figures(line.plan, fg.Selection("2017/18", 3)).lines
    assert (x.rag, x.rag_previous, x.rag_carried_from) == ("green", "green", None)
    [x] = fg.plan_figures(line.plan, fg.Selection("2017/18", 8)).lines
    assert (x.rag, x.rag_previous, x.rag_carried_from) == ("red", "green", None)
    # The next year, with nothing rated in it: November 2017's Red, said to be carried.
    PlannedAmountFactory(line=line, year="2018/19", low=D("120000"))
    [x] = fg.plan_figures(line.plan, fg.Selection("2018/19", 3)).lines
    assert (x.rag, x.rag_carried_from) == ("red", date(2017, 11, 30))


def test_no_rating_recorded_in_the_year_is_no_change(authority):
    """The line's own RAG (set on the line, undated) is not reported as a change each month."""
    line = SavingsLineFactory(plan__authority=authority, rag="green", original_rag="amber")
    PlannedAmountFactory(line=line, year="2017/18", low=D("120000"))
    ProgressEntryFactory(line=line, as_at=date(2017, 9, 30), achieved_to_date=D("1"), rag="")
    f = fg.plan_figures(line.plan, fg.Selection("2017/18", 7))
    [x] = f.lines
    assert (x.rag_previous, x.rag, x.rag_move) == ("green", "green", "unchanged")
    assert not [c for c in f.changes if c.area == "Savings RAG"]


def test_worsened_lines_are_worst_first_and_the_dashboard_names_ten(authority, director, client):
    """What needs attention names at most ten worsened lines, Red before Amber and the largest
    first, and counts the rest: a long plan's attention screen stays one screen."""
    from plans.models import SavingsLine

    plan = SavingsLineFactory(plan__authority=authority).plan
    SavingsLine.objects.filter(plan=plan).delete()
    for i in range(12):
        rag = "amber" if i < 6 else "red"
        line = SavingsLineFactory(plan=plan, reference=f"W/{i:02d}", rag="green")
        PlannedAmountFactory(line=line, year="2017/18", low=D(10_000 * (i + 1)))
        _rated(line, date(2017, 9, 30), "green")
        _rated(line, date(2017, 10, 31), rag)
    f = fg.plan_figures(plan, fg.Selection("2017/18", 7))
    assert [x.line.reference for x in f.worsened_lines][:7] == [
        "W/11",
        "W/10",
        "W/09",
        "W/08",
        "W/07",
        "W/06",
        "W/05",
    ]
    client.force_login(director)
    page = client.get(f"/dashboards/plans/{plan.pk}/?year=2017%2F18&period=7").content.decode()
    attention = page[page.index("Worse since") :]
    attention = attention[: attention.index("</p>")]
    assert "W/11" in attention and "W/02" in attention
    assert "W/01" not in attention and "W/00" not in attention
    assert "and 2 more lines" in attention


def test_a_line_rated_delivered_short_of_its_saving_is_named_for_attention(
    authority, director, client
):
    """Blue says "delivered": a Blue line whose delivered figure is below the saving due in
    the year, or not reported, is named with both, not trusted for its colour."""
    from plans.models import SavingsLine

    plan = SavingsLineFactory(plan__authority=authority).plan
    SavingsLine.objects.filter(plan=plan).delete()
    short, unknown, done, nothing_due = (
        SavingsLineFactory(plan=plan, reference=ref, rag="blue")
        for ref in ("B/1", "B/2", "B/3", "B/4")
    )
    for line in (short, unknown, done):
        PlannedAmountFactory(line=line, year="2017/18", low=D("120000"))
    PlannedAmountFactory(line=nothing_due, year="2017/18", low=D("0"))
    ProgressEntryFactory(
        line=short, as_at=date(2017, 10, 31), achieved_to_date=D("80000"), rag="blue"
    )
    _rated(unknown, date(2017, 10, 31), "blue")
    ProgressEntryFactory(
        line=done, as_at=date(2017, 10, 31), achieved_to_date=D("120000"), rag="blue"
    )
    f = fg.plan_figures(plan, fg.Selection("2017/18", 7))
    assert [x.line.reference for x in f.delivered_short] == ["B/1", "B/2"]
    client.force_login(director)
    page = client.get(f"/dashboards/plans/{plan.pk}/?year=2017%2F18&period=7").content.decode()
    attention = page[page.index('id="h-attention"') : page.index("KPIs off trajectory")]
    assert "B/1 is rated" in attention and "reports £80,000 delivered of the £120,000 due" in (
        attention
    )
    assert (
        "B/2 is rated" in attention
        and "no figure delivered is reported against the £120,000" in (attention)
    )
    assert "B/3" not in attention and "B/4" not in attention  # nothing due: not short


def test_a_comment_carries_the_date_it_was_written_not_the_latest_entrys(
    client, director, authority
):
    line = SavingsLineFactory(plan__authority=authority, rag="red", original_rag="red")
    PlannedAmountFactory(line=line, year="2017/18", low=D("120000"))
    ProgressEntryFactory(
        line=line,
        as_at=date(2017, 9, 30),
        achieved_to_date=D("1"),
        rag="red",
        commentary="Slipping",
    )
    ProgressEntryFactory(line=line, as_at=date(2017, 10, 31), achieved_to_date=D("2"), rag="red")
    [x] = fg.plan_figures(line.plan, fg.Selection("2017/18", 7)).lines
    assert (x.commentary, x.commentary_as_at, x.as_at) == (
        "Slipping",
        date(2017, 9, 30),
        date(2017, 10, 31),
    )
    client.force_login(director)
    url = reverse("dashboards:report", args=[line.plan.pk]) + "?year=2017/18&period=7"
    assert "Slipping (30 Sep 2017)" in client.get(url).content.decode()
