"""The dashboard, overview, scrutiny report and workbook: access, figures, parity."""

import io
import re
from datetime import date
from decimal import Decimal
from html import escape, unescape

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from plans import figures as fg
from plans import services
from plans.figures.rules import format_number as number
from plans.models import Commentary, OverspendForecast, Plan, ProgressEntry, SavingsLine
from recovery.money import format_money
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _urls(plan, query=""):
    return [
        reverse("dashboards:plan_dashboard", args=[plan.pk]) + query,
        reverse("dashboards:report", args=[plan.pk]) + query,
        reverse("dashboards:report_xlsx", args=[plan.pk]) + query,
    ]


def _text(response) -> str:
    return unescape(response.content.decode())


def test_pages_need_login(client, mtfs):
    for url in [*_urls(mtfs), reverse("dashboards:overview")]:
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_finance_and_directors_of_the_authority_may_view(client, torbay_users, mtfs):
    for role in ("finance", "director"):
        client.force_login(torbay_users[role])
        for url in [*_urls(mtfs), reverse("dashboards:overview")]:
            assert client.get(url).status_code == 200, (role, url)


def test_a_scrutiny_member_never_reads_live_figures(client, torbay_users, mtfs):
    """Nothing of the plan is published yet: the pages and the downloads send the member to
    the (empty) list of published reports; no live figure is ever served."""
    client.force_login(torbay_users["scrutiny"])
    for name in (
        "dashboards:plan_dashboard",
        "dashboards:report",
        "dashboards:report_xlsx",
        "dashboards:report_pdf",
    ):
        response = client.get(reverse(name, args=[mtfs.pk]))
        assert response.status_code == 302
        assert response.url == f"{reverse('dashboards:published_list')}?plan={mtfs.pk}"
    assert client.get(reverse("dashboards:overview")).url == reverse("dashboards:published_list")
    page = client.get(f"{reverse('dashboards:published_list')}?plan={mtfs.pk}").content.decode()
    assert "No report of this plan has been published yet" in page


def test_another_authoritys_plan_is_404(client, torbay_users, seeded):
    telford = Plan.objects.get(authority__slug="telford")
    for user in torbay_users.values():
        client.force_login(user)
        for url in _urls(telford):
            assert client.get(url).status_code == 404
    client.force_login(torbay_users["director"])
    assert "Telford" not in _text(client.get(reverse("dashboards:overview")))


def test_outsider_gets_404_on_a_built_plan(client, outsider, plan):
    client.force_login(outsider)
    for url in _urls(plan):
        assert client.get(url).status_code == 404


def test_mtfs_dashboard_reads_like_the_paper(client, torbay_users, mtfs):
    client.force_login(torbay_users["director"])
    response = client.get(reverse("dashboards:plan_dashboard", args=[mtfs.pk]))
    html = _text(response)
    # It opens on the latest month with anything recorded: January 2017, the paper's month
    # (its counts; its slippage table's January to March are projections); nothing is
    # planned or reported in 2016/17.
    assert response.context["sel"].label == "P10 Jan 2017"
    assert "no savings are planned in 2016/17" in html.lower()
    assert "behind the profile" not in html
    assert "Reserves to be repaid" in html and "no agreed repayment plan" in html
    assert "Where the paper disagrees with itself" in html and "£174k" in html
    response = client.get(
        reverse("dashboards:plan_dashboard", args=[mtfs.pk]), {"year": "2017/18", "period": "12"}
    )
    html = _text(response)
    for figure in ["£1,578,000", "£789,000", "£1,007,221", "£4,908,000 – £6,558,000"]:
        assert figure in html
    # CLA trajectory 279 -> 242 -> 211 -> 180 and the rates per 10,000.
    printed_and_computed = ["111", "111.4", "97", "96.6", "84", "84.2", "72", "71.9"]
    for value in ["279", "242", "211", "180", *printed_and_computed]:
        assert f">{value}<" in html or f">{value} per 10,000<" in html, value
    assert "Red</span>" in html  # a RAG shown with its word
    assert "at least the lower of 5% of budget or £100,000" in html
    # The paper gives no start month: the profile's April is said to be an assumption.
    assert "spread evenly from April: the paper gives no start month" in html
    assert html.count('P1<div class="small text-muted">assumed</div>') == 14
    # plotly from the app's own static files, never a CDN.
    assert "/static/vendor/plotly.min.js" in html
    assert "cdn" not in html.lower()
    assert 'id="chart-kpi-cla-count-data"' in html


def test_no_edit_controls_for_scrutiny(client, torbay_users, mtfs):
    client.force_login(torbay_users["scrutiny"])
    for url in _urls(mtfs)[:2] + [reverse("dashboards:overview")]:
        html = _text(client.get(url))
        assert 'method="post"' not in html.replace('method="post" action="/accounts/logout/"', "")
        assert not re.search(r">\s*(Edit|Delete|Save)\b", html)


def test_dashboard_moves_when_finance_records_a_month(client, torbay_users, mtfs):
    finance = torbay_users["finance"]
    line = SavingsLine.objects.get(plan=mtfs, reference="MTFS-01")
    services.create_record(
        instance=ProgressEntry(
            line=line,
            as_at=date(2017, 10, 31),
            achieved_to_date=Decimal("120000"),
            rag="amber",
            commentary="Two placements moved in October",
            entered_by=finance,
        ),
        user=finance,
    )
    services.create_record(
        instance=OverspendForecast(
            plan=mtfs,
            year="2017/18",
            period=7,
            budget=Decimal("28000000"),
            forecast_outturn=Decimal("28600000"),
            entered_by=finance,
        ),
        user=finance,
    )
    Commentary.objects.create(plan=mtfs, year="2017/18", period=7, body="Holding the line.")
    client.force_login(torbay_users["director"])
    response = client.get(reverse("dashboards:plan_dashboard", args=[mtfs.pk]))
    html = _text(response)
    assert response.context["sel"].label == "P7 Oct 2017"
    assert "£120,000" in html  # achieved
    assert "£600,000" in html  # forecast variance
    assert "Holding the line." in html
    f = response.context["f"]
    assert f.year.achieved == Decimal("120000")
    assert f.expected_low == Decimal("460250.00")  # 789,000 x 7/12
    # One line of 14 has reported: the plan's delivery variance is not known, the line's is.
    assert f.delivery_variance is None and f.year.lines_achieved == 1
    assert "1 of 14 lines" in html
    [reported] = [x for x in f.lines if x.achieved is not None]
    assert reported.delivery_variance == reported.achieved - reported.expected_low
    report = _text(client.get(reverse("dashboards:report", args=[mtfs.pk])))
    assert "Two placements moved in October" in report  # amber line commentary


def test_selecting_a_year_and_period(client, torbay_users, mtfs):
    client.force_login(torbay_users["director"])
    url = reverse("dashboards:plan_dashboard", args=[mtfs.pk])
    response = client.get(url, {"year": "2016/17", "period": "8"})
    assert response.context["sel"].label == "P8 Nov 2016"
    html = _text(response)
    assert "£1,300,000" in html and "£30,200,000" in html
    response = client.get(url, {"year": "1999/00", "period": "99"})
    assert response.status_code == 200 and response.context["invalid_selection"]
    assert response.context["sel"].label == "P10 Jan 2017"  # the as-at month
    # A year alone opens on its latest recorded month (P12 where nothing is recorded).
    assert client.get(url, {"year": "2016/17"}).context["sel"].period == 10
    assert client.get(url, {"year": "2017/18"}).context["sel"].period == 12


def test_overview_shows_plans_and_lineage(client, torbay_users, seeded):
    client.force_login(torbay_users["director"])
    html = _text(client.get(reverse("dashboards:overview")))
    assert "How the plans followed one another" in html
    for figure in [
        "£250,000",
        "£144,000",
        "£106,000",
        "£1,007,221",
        "£2,300,000",
        "£4,908,000 – £6,558,000",
    ]:
        assert figure in html
    assert 'href="/dashboards/"' in html and ">Dashboards</a>" in html  # the nav entry


def test_report_has_every_section_and_the_glossary(client, torbay_users, mtfs):
    client.force_login(torbay_users["director"])
    html = _text(
        client.get(reverse("dashboards:report", args=[mtfs.pk]), {"year": "2016/17", "period": "8"})
    )
    for heading in [
        "1. Summary",
        "2. What changed since",
        "3. Savings by RAG",
        "4. Overspend forecast and movement",
        "5. Key performance indicators",
        "6. Risks",
        "Appendix A. Totals stated in the paper",
        "Appendix B. Glossary",
    ]:
        assert heading in html
    for term in ["CLA", "IFA", "SGO", "RAG", "Outturn", "Virement", "Reserves"]:
        assert f">{term}</dt>" in html
    # Commentary and what changed come before the detail, the paper's totals after it.
    assert html.index("Commentary") < html.index("2. What changed") < html.index("3. Savings")
    assert "as at P8 Nov 2016 (30 November 2016)" in html  # the footer printed on each page


def _money_and_numbers(ws):
    for row in ws.iter_rows(min_row=5):
        for cell in row:
            if isinstance(cell.value, (int, float, Decimal)) and not isinstance(cell.value, bool):
                yield cell


@pytest.mark.parametrize(("year", "period"), [("2017/18", "12"), ("2016/17", "8")])
def test_workbook_figures_equal_the_report(client, torbay_users, mtfs, year, period):
    client.force_login(torbay_users["director"])
    query = {"year": year, "period": period}
    html = _text(client.get(reverse("dashboards:report", args=[mtfs.pk]), query))
    response = client.get(reverse("dashboards:report_xlsx", args=[mtfs.pk]), query)
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    wb = load_workbook(io.BytesIO(response.content))
    assert {
        "Summary",
        "Savings lines",
        "Overspend forecast",
        "KPIs",
        "Risks",
        "Changes",
        "Glossary",
    } <= set(wb.sheetnames)
    checked = 0
    for ws in wb.worksheets:
        assert ws.freeze_panes == "B5", ws.title
        for cell in _money_and_numbers(ws):
            value = Decimal(str(cell.value))
            if "£" in cell.number_format:  # the page in whole pounds, the workbook exact
                assert format_money(value, pence=False) in html, (ws.title, cell.coordinate, value)
            elif ws.title not in ("Savings lines", "Risks"):  # periods and scores, not figures
                assert number(value) in html, (ws.title, cell.coordinate, value)
            checked += 1
    assert checked > 50
    summary = wb["Summary"]
    values = {r[0].value: r[1].value for r in summary.iter_rows(min_row=5) if r[0].value}
    if year == "2017/18":
        assert values["Planned savings 2017/18"] == Decimal("1578000")
        assert values["In-year adjusted 2017/18"] == Decimal("789000")
        # The paper's January to March 2017 are projections, never costs to date.
        assert values["Slippage cost recorded (all months)"] == Decimal("1007221")
        notes = {r[0].value: r[4].value for r in summary.iter_rows(min_row=5) if r[0].value}
        assert notes["Slippage cost recorded (all months)"] == (
            "of which £527,699 is the paper's projection, with no cost recorded as incurred"
        )
        cell = next(
            r[1] for r in summary.iter_rows(min_row=5) if r[0].value == "Planned savings 2017/18"
        )
        assert cell.number_format.startswith('"£"#,##0')


def test_a_long_plan_shows_the_lines_most_at_risk_and_links_to_all(client, director, built_plan):
    from plans import figures as fg

    plan = built_plan(60, months=2)
    f = fg.plan_figures(plan, fg.Selection("2017/18", 2))
    assert len(f.shown_lines) == 50 and f.lines_not_shown == 10
    assert len(f.pack_lines) == 25
    client.force_login(director)
    html = client.get(
        reverse("dashboards:plan_dashboard", args=[plan.pk]), {"year": "2017/18", "period": "2"}
    ).content.decode()
    assert "10 more lines not shown" in html and "Total (all 60 lines" in html
    # Red lines come first among those shown.
    assert all(x.rag == "red" for x in f.shown_lines[: sum(x.rag == "red" for x in f.lines)])


def test_a_long_plans_report_lists_the_red_and_amber_lines_most_at_risk(
    client, director, built_plan
):
    from plans import figures as fg

    plan = built_plan(120, months=2)
    f = fg.plan_figures(plan, fg.Selection("2017/18", 2))
    red_amber = f.red_amber_lines
    assert len(red_amber) > 50
    shown = f.shown_red_amber_lines
    assert len(shown) == 50 and f.red_amber_not_shown == len(red_amber) - 50
    # Red before Amber, as the lines table orders them; every one shown is Red or Amber.
    reds = sum(x.rag == "red" for x in red_amber)
    assert [x.rag for x in shown] == sorted((x.rag for x in shown), key=["red", "amber"].index)
    assert all(x.rag == "red" for x in shown[: min(reds, 50)])
    client.force_login(director)
    html = client.get(
        reverse("dashboards:report", args=[plan.pk]), {"year": "2017/18", "period": "2"}
    ).content.decode()
    assert f"{f.red_amber_not_shown} more Red or Amber lines not shown" in html
    assert f"the 50 most at risk of {len(red_amber)}" in html
    # A short plan lists every Red and Amber line, in plan order.
    short = built_plan(8, months=2, code="short")
    g = fg.plan_figures(short, fg.Selection("2017/18", 2))
    assert g.shown_red_amber_lines == g.red_amber_lines and not g.red_amber_not_shown


def test_dashboard_shows_line_figures_in_whole_pounds(client, torbay_users, mtfs):
    # The MTFS's in-year profile makes expected-to-date figures with pence (£xx,xxx.33); the
    # dashboard's lines table rounds them to whole pounds like its tiles, and so does the
    # report, its "what changed" included; the workbook keeps pence for checking.
    line = SavingsLine.objects.filter(plan=mtfs).first()
    ProgressEntry.objects.create(
        line=line, as_at=date(2017, 11, 30), achieved_to_date=Decimal("12345.67")
    )
    client.force_login(torbay_users["director"])
    url = reverse("dashboards:plan_dashboard", args=[mtfs.pk]) + "?year=2017/18&period=8"
    html = _text(client.get(url))
    lines = html[html.index("lines-table") : html.index("</table>", html.index("lines-table"))]
    assert "£12,346" in lines
    assert not re.findall(r"£[\d,]+\.\d\d", lines)
    report = _text(client.get(url.replace("/?", "/report/?")))
    assert "£12,346" in report and "£12,345.67" not in report


def test_a_target_already_past_is_never_called_next(client, torbay_users, mtfs):
    # The MTFS's adoptions target (22 by 31 Mar 2017) has no actual after it: at P8 Nov 2017
    # it is past, not "next".
    client.force_login(torbay_users["director"])
    url = reverse("dashboards:plan_dashboard", args=[mtfs.pk]) + "?year=2017/18&period=8"
    html = _text(client.get(url))
    assert "was due by 31 Mar 2017; no actual is recorded against it" in html
    assert "next 22 by 31 Mar 2017" not in html


def test_a_profile_starts_where_the_paper_says(client, torbay_users, torbay):
    plan = Plan.objects.get(authority=torbay, code="recovery-2011-12")
    client.force_login(torbay_users["director"])
    html = _text(client.get(reverse("dashboards:plan_dashboard", args=[plan.pk])))
    assert "savings expected from February 2012" in html
    assert "assumed</div>" not in html and "no start month" not in html


def test_a_spend_no_paper_reported_is_said_to_be_assumed(client, seeded):
    # Barking gives only "1% = £170,000 over a full year": the £17m a year spread over the
    # months is an assumption, never shown as spend without saying so.
    from tests.factories import UserFactory

    plan = Plan.objects.get(authority__slug="barking-dagenham")
    client.force_login(UserFactory(authority=plan.authority, role="director"))
    html = _text(client.get(reverse("dashboards:plan_dashboard", args=[plan.pk])))
    assert "Assumed, not reported" in html
    assert "spread the paper's yearly total evenly over the months" in html
    assert "the paper's total, spread evenly (assumed)" in html
    # Nor does it give a start month: October 2014 (its autumn review) is said to be assumed.
    assert "spread evenly from October 2014, an assumption: the paper gives no start month" in html
    assert 'P7<div class="small text-muted">assumed</div>' in html


def test_a_year_with_lines_planned_outside_the_target_says_so(client, seeded):
    # Barking's 2015/16: the placement review and Troubled Families lines are planned that
    # year, outside the in-year target; never "no savings are planned".
    from tests.factories import UserFactory

    plan = Plan.objects.get(authority__slug="barking-dagenham")
    client.force_login(UserFactory(authority=plan.authority, role="director"))
    url = reverse("dashboards:report", args=[plan.pk]) + "?year=2015/16&period=3"
    html = _text(client.get(url))
    assert "No savings towards the target are planned in 2015/16 (2 lines are planned" in html
    assert "No savings are planned in 2015/16" not in html


@pytest.mark.parametrize("name", ["dashboards:plan_dashboard", "dashboards:report"])
def test_no_page_shows_markup_as_text(client, seeded, name):
    """The figures a report writes in both forms (pounds on the screen, £k on paper) are
    markup: a cell that escaped them showed `<span class="money-pounds">` to its reader."""
    for plan in Plan.objects.select_related("authority"):
        client.force_login(
            UserFactory(username=f"director-{plan.pk}", authority=plan.authority, role="director")
        )
        for year in plan.years:
            for period in (8,):
                page = client.get(reverse(name, args=[plan.pk]), {"year": year, "period": period})
                assert page.status_code == 200
                assert "&lt;" not in page.content.decode(), (plan.code, year, period)


def test_the_report_draws_the_months_charts_and_prints_its_notes_in_k(client, torbay_users, mtfs):
    # Found walking the app: the printed report had no charts (and said they were on the
    # page), and its notes kept whole pounds ("2016/17: £1,007,221") under a £k heading.
    client.force_login(torbay_users["director"])
    html = client.get(
        reverse("dashboards:report", args=[mtfs.pk]), {"year": "2016/17", "period": "12"}
    ).content.decode()
    charts = re.findall(r'<figure class="report-chart[^>]*><svg [^>]*aria-label="([^"]+)"', html)
    assert charts == [
        "Forecast variance by month, 2016/17",
        "Placement cost by month, budgeted and actual, 2016/17",
    ]
    later = client.get(
        reverse("dashboards:report", args=[mtfs.pk]), {"year": "2017/18", "period": "8"}
    ).content.decode()
    assert 'aria-label="Cumulative savings expected and achieved, 2017/18"' in later
    assert 'aria-label="Table: cumulative savings by month"' in later
    # Each beside its figures as a table.
    assert 'aria-label="Table: overspend forecasts"' in html
    # A note written in pounds carries its £k form for the printed page.
    assert re.search(
        r'<span class="money-pounds">[^<]*£1,007,221[^<]*</span>'
        r'<span class="money-k" aria-hidden="true">[^<]*£1,007k',
        html,
    )


def test_what_changed_includes_the_placement_forecast(client, torbay_users, mtfs):
    # Found walking the app: the report for P8 2017/18 said "Nothing was recorded as
    # changing" while the placement forecast had risen £21,118 with two moves late.
    f = fg.plan_figures(mtfs, fg.Selection("2017/18", 8))
    [change] = [c for c in f.changes if c.area == "Placements"]
    assert change.before == Decimal("84470.00") and change.after == Decimal("105587.50")
    assert change.note == "since P7 Oct 2017; 2 planned moves late (against an assumed month)"
    client.force_login(torbay_users["director"])
    html = client.get(
        reverse("dashboards:report", args=[mtfs.pk]), {"year": "2017/18", "period": "8"}
    ).content.decode()
    assert "Placement forecast variance against budget" in html
    assert "Nothing was recorded as changing" not in html
    # The summary's note gives it in whole pounds, as the page promises, not £105,587.50.
    assert "£105,588 over its assumed budget" in html and "105,587.50" not in html


def test_the_attention_tiles_give_the_placement_forecast_and_the_commentary_first(
    client, torbay_users, mtfs
):
    # Found walking the app: with no overspend forecast recorded for 2017/18, the tile said
    # "Not reported" while the placements forecast was £105,588 over budget and rising, and
    # the month's commentary began below the first screen.
    client.force_login(torbay_users["director"])
    html = client.get(
        reverse("dashboards:plan_dashboard", args=[mtfs.pk]), {"year": "2017/18", "period": "8"}
    ).content.decode()
    tiles = html[html.index('id="h-attention"') : html.index("Jump to:")]
    assert re.search(
        r'<a href="#h-placements">Placements</a> \(estimated from counts carried forward from '
        r"an earlier year\): forecast £5,235,530 against an assumed budget of "
        r"£5,129,943, £105,588 over \(\+£21,118 since P7 Oct 2017\)",
        tiles,
    )
    assert html.index("Jump to:") < html.index('id="h-commentary"') < html.index('id="month-close"')


def test_telfords_placements_say_which_counts_are_carried_and_claim_no_cost(client, seeded):
    # Found walking the app: September's 84 and 130 children shown as December's with no word,
    # a month table headed "Actual cost" with no cost in it, "1 of 1 stated totals agree".
    from plans.models import Plan
    from tests.factories import UserFactory

    telford = Plan.objects.get(authority__slug="telford")
    client.force_login(UserFactory(role="director", authority=telford.authority))
    html = client.get(
        reverse("dashboards:report", args=[telford.pk]), {"year": "2013/14", "period": "9"}
    ).content.decode()
    assert html.count("carried from Sep 2013") >= 2
    assert "Actual cost" not in html
    assert "No placement cost can be worked out month by month: no unit cost" in html
    assert "The paper&#x27;s one stated total that can be computed agrees." in html
    assert "first this year" not in html  # no variance is known, so none is first
    # December's progress notes on lines planned for 2014/15 are said, not dropped.
    assert "Progress notes recorded in 2013/14 up to P9 Dec 2013" in html
    assert "Workforce Development Strategy agreed by" in html
    from dashboards import pack
    from plans import figures as fg

    f = fg.plan_figures(telford, fg.Selection("2013/14", 9))
    assert len(f.noted_lines) == 10
    assert "Workforce Development Strategy agreed by" in pack.pack_html(f)


def test_the_first_screen_gives_the_commentary_and_each_mitigation_from_its_own_figure(
    client, seeded
):
    from plans.models import Plan
    from tests.factories import UserFactory

    barking = Plan.objects.get(authority__slug="barking-dagenham")
    client.force_login(UserFactory(role="director", authority=barking.authority))
    html = client.get(reverse("dashboards:plan_dashboard", args=[barking.pk])).content.decode()
    attention = html[html.index('id="h-attention"') : html.index('id="h-commentary"')]
    # The -£901,000 beside the figures it is the difference of, not the £3m–£4m headline.
    assert "£4,652,000 before reserves and other savings, £3,751,000 after them" in attention
    assert 'class="attention-commentary' in attention
    # Each figure once: the two series that sentence states are not listed again below it
    # (found walking the app: they pushed the commentary below a 1280 x 800 screen).
    assert "(before reserves and other savings), P10" not in attention
    assert (
        "Children&#x27;s Social Care and Complex Needs, P9 Dec 2014 (month assumed): £4,681,000"
        in attention
    )
    assert "this year to compare.</p>" in attention  # a sentence of its own
    # The paper gives the caseload goal no date: never "was due by" the date it is filed at.
    kpis = html[html.index('id="h-kpis"') :]
    goal = re.search(r"<td class=\"num\">20(.*?)</td>", kpis, re.S)
    assert goal and "a goal the paper gives no date" in goal.group(1), kpis[:3000]
    assert "by 31 Jan" not in goal.group(1) and "20 was due by" not in kpis


def test_the_reports_charts_say_what_they_show_in_words(client, torbay_users, mtfs):
    # Found walking the app: the report's two charts had a title and a data table, but not
    # the summary in words the dashboard's same charts give.
    from dashboards import charts
    from plans import figures as fg

    client.force_login(torbay_users["director"])
    html = client.get(
        reverse("dashboards:report", args=[mtfs.pk]), {"year": "2017/18", "period": "8"}
    ).content.decode()
    f = fg.plan_figures(mtfs, fg.Selection("2017/18", 8))
    for summary in (charts.savings_summary(f), charts.placements_summary(f)):
        assert f'<p class="small chart-summary">{escape(summary)}</p>' in html


def test_what_changed_includes_a_rise_in_the_slippage_cost(client, torbay_users, mtfs):
    # Found walking the app: P12 Mar 2017's report said "Nothing was recorded as changing"
    # while the slippage cost to date rose from £825,458 to £1,007,221 (Table 2's March).
    from dashboards import publishing
    from tests.factories import publish_as_stored

    # Table 2's January to March 2017 are projections (the paper is dated 11 January
    # 2017): December is the last month its cost rises, and March's projection is no change.
    f = fg.plan_figures(mtfs, fg.Selection("2016/17", 9))
    [change] = [c for c in f.changes if c.area == "Cost pressures"]
    assert (change.before, change.after, change.note) == (
        Decimal("321051"),
        Decimal("479522"),
        "since P8 Nov 2016",
    )
    march = fg.plan_figures(mtfs, fg.Selection("2016/17", 12))
    assert not [c for c in march.changes if c.area == "Cost pressures"]

    # The first month with a cost: first reported, not a rise from £0.
    def pressures(period):
        changes = fg.plan_figures(mtfs, fg.Selection("2016/17", period)).changes
        return [c for c in changes if c.area == "Cost pressures"]

    [first] = pressures(4)
    assert first.before is None and first.after == Decimal("7526") and first.first
    assert not pressures(3)
    # Into a new year, against the March before it: no cost since, no change.
    april = fg.plan_figures(mtfs, fg.Selection("2017/18", 1))
    assert april.sel.month_before == ("2016/17", 12)
    assert not [c for c in april.changes if c.area == "Cost pressures"]
    # Against a published report too: one with nothing recorded keeps "none", not £0.
    p3 = publish_as_stored(mtfs, "2016/17", 3)
    assert p3.figures["slippage_to_date"] is None
    changes, _ = publishing.report_changes(fg.plan_figures(mtfs, fg.Selection("2016/17", 4)))
    [first] = [c for c in changes if c.area == "Cost pressures"]
    assert first.before is None and first.after == Decimal("7526")
    p8 = publish_as_stored(mtfs, "2016/17", 8)
    changes, _ = publishing.report_changes(f)
    assert [(c.before, c.after) for c in changes if c.area == "Cost pressures"] == [
        (Decimal("321051"), Decimal("479522"))
    ]
    # A report published before reports kept the figure: its month's cost as recorded now.
    old = {k: v for k, v in p8.figures.items() if k != "slippage_to_date"}
    type(p8).objects.filter(pk=p8.pk).update(figures={**old, "schema": 3})
    changes, _ = publishing.report_changes(f)
    assert [(c.before, c.after) for c in changes if c.area == "Cost pressures"] == [
        (Decimal("321051"), Decimal("479522"))
    ]
    client.force_login(torbay_users["director"])
    url = reverse("dashboards:report", args=[mtfs.pk])
    html = client.get(url, {"year": "2016/17", "period": "9"}).content.decode()
    assert "Slippage cost to date" in html


def test_a_worked_out_child_population_says_where_it_comes_from(client, torbay_users, mtfs):
    # Found walking the app: "Child population (0-17): 25,050." read as a published figure;
    # the MTFS prints none, and the seed works it out from the paper's rates.
    client.force_login(torbay_users["director"])
    source = mtfs.authority.population_source
    assert source.startswith("worked out from the rates per 10,000 that the January 2017 MTFS")
    assert not source.endswith(".")
    overview = client.get(reverse("dashboards:overview")).content.decode()
    assert f"Child population (0–17): 25,050 ({escape(source)})." in overview
    html = client.get(
        reverse("dashboards:plan_dashboard", args=[mtfs.pk]), {"year": "2017/18", "period": "8"}
    ).content.decode()
    assert f"use a child population of 25,050 ({escape(source)})." in html


def test_the_first_screen_says_when_the_expected_to_date_is_an_assumed_spread(
    client, torbay_users, mtfs
):
    # Found walking the app: "Expected to date £526,000" on the first screen read as the
    # paper's; only the folded headlines said the paper gives no start month.
    f = fg.plan_figures(mtfs, fg.Selection("2017/18", 8))
    assert f.profile_assumed
    assert f.profile_basis == "spread evenly from April: the paper gives no start month"
    client.force_login(torbay_users["director"])
    html = _text(
        client.get(
            reverse("dashboards:plan_dashboard", args=[mtfs.pk]),
            {"year": "2017/18", "period": "8"},
        )
    )
    assert (
        "Expected to date £526,000 (spread evenly from April: the paper gives no start month)"
        in html
    )


def test_a_forecast_whose_month_the_paper_does_not_give_says_so(client, torbay_users, mtfs):
    # Found walking the app: "Whole service (worst case), P8 Nov 2016: £2,200,000" read as a
    # November forecast; the paper gives the "around £2.2m" worst case no month.
    from plans.models import OverspendForecast
    from plans.rules import constraint_problems

    worst = OverspendForecast.objects.get(plan=mtfs, scenario="worst")
    assert worst.month_assumed and "gives no month" in worst.commentary
    f = fg.plan_figures(mtfs, fg.Selection("2016/17", 8))
    [point] = [p for p in f.forecasts.to_period if p.scenario == "worst"]
    assert point.when == "P8 Nov 2016 (month assumed)" and point.label == "P8 Nov 2016"
    client.force_login(torbay_users["director"])
    html = client.get(
        reverse("dashboards:plan_dashboard", args=[mtfs.pk]), {"year": "2016/17", "period": "8"}
    ).content.decode()
    assert "Whole service (worst case), P8 Nov 2016 (month assumed)" in html
    assert 'P8 Nov 2016<br><span class="small text-muted">month assumed</span>' in html
    worst.commentary = ""
    assert constraint_problems(worst, {"month_assumed", "commentary"}) == {
        "commentary": "Say in the commentary why the month is assumed: what the paper gives "
        "instead."
    }


def test_a_kpi_actual_of_a_month_is_dated_by_its_month_never_a_day_the_paper_did_not_print():
    # Found walking the app: "28, 31 Jan 2017" for the MTFS's "currently" (a paper of 11
    # January) and "10%, 30 Nov 2014" for "below 10% in recent months": a month is recorded as
    # its last day, and a page printed that day as if the paper had.
    from datetime import date

    from plans.templatetags.figures import recorded_on

    assert recorded_on(date(2017, 1, 31)) == "Jan 2017"
    assert recorded_on(date(2016, 2, 29)) == "Feb 2016"
    assert recorded_on(date(2014, 12, 11)) == "11 Dec 2014"  # a day the paper gives
    assert recorded_on("2014-11-30") == "Nov 2014" and recorded_on(None) == ""


def test_the_overview_says_how_much_of_a_plans_slippage_is_projected(client, torbay_users, mtfs):
    # Found walking the app: "Slippage cost recorded £1,007,221" for the MTFS counted the
    # paper's projection for January to March 2017 as recorded.
    client.force_login(torbay_users["director"])
    html = _text(client.get(reverse("dashboards:overview")))
    row = html[html.index("Slippage cost recorded") :][:600]
    assert "£1,007,221" in row and "of which £527,699" in row and "the paper's projection" in row


def test_an_achieved_figure_carried_from_an_earlier_month_says_from_when(
    client, torbay_users, seeded
):
    # Found walking the app: Torbay 2011/12 showed "Achieved £144,000" at P11 Feb 2012 beside
    # February's profile, where the paper gives it "as at October 2011".
    from plans.models import Plan

    plan = Plan.objects.get(authority__slug="torbay", code="recovery-2011-12")
    f = fg.plan_figures(plan, fg.Selection("2011/12", 11))
    assert f.reporting_note == "on 1 of 1 line with a planned amount; latest reported Oct 2011"
    assert fg.plan_figures(plan, fg.Selection("2011/12", 7)).reporting_note == (
        "on 1 of 1 line with a planned amount"
    )
    client.force_login(torbay_users["director"])
    html = _text(client.get(reverse("dashboards:plan_dashboard", args=[plan.pk])))
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))
    assert "Achieved £144,000 (on 1 of 1 line with a planned amount; latest reported Oct 2011)" in (
        text
    )
