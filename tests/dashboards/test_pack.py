"""The committee pack: a real PDF from the report's figures, in £k, a few pages."""

import io
import re
from html import escape

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from dashboards import close, pack
from plans import figures as fg
from plans.models import MonthClose, Plan, PublishedReport

pytestmark = pytest.mark.django_db


def _pages(html: str) -> int:
    from weasyprint import HTML

    return len(HTML(string=html).render().pages)


def test_the_mtfs_pack_at_p8_is_a_pdf_of_at_most_eight_pages_in_k(client, torbay_users, mtfs):
    client.force_login(torbay_users["director"])
    response = client.get(
        reverse("dashboards:report_pdf", args=[mtfs.pk]), {"year": "2017/18", "period": "8"}
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF") and "attachment" in response["Content-Disposition"]
    f = fg.plan_figures(mtfs, fg.Selection("2017/18", 8))
    html = pack.pack_html(f)
    assert _pages(html) <= 8
    # Money in £k as committees print it, and no pence anywhere in the pack's figures.
    assert "£1,578k" in html and "£789k" in html and "£526k" in html
    figures = re.sub(r"<[^>]+>", " ", html)
    # (The paper's own slip "£20.520" is quoted as printed, in the appendix.)
    assert not re.search(r"£[\d,]+\.\d\d(?!\d)", figures)
    # Savings by RAG, as the dashboard and the workbook count them.
    assert 'class="compact rag-summary keep"' in html
    for b in f.rag.current:
        if b.count:
            assert re.search(rf"{b.label}</span>\s*</td><td class=\"num\">{b.count}\b", html), b
    # The summary's notes too: "Red from £100k", not "Red from £100,000".
    summary = figures[figures.index("1. Summary") : figures.index("2. ")]
    assert not re.search(r"£\d{1,3},\d{3}(?![\d,]*k)", summary), summary
    # The paper's contradictions and the reconciliation are in the appendix.
    assert "Where the paper disagrees with itself" in html and "£174k" in html
    assert html.index("Appendix A") > html.index("5. Savings lines")


def test_the_footer_names_any_authority_correctly(client, seeded):
    telford = Plan.objects.get(authority__slug="telford")
    f = fg.plan_figures(telford, fg.Selection("2014/15", 12))
    html = pack.pack_html(f)
    # The footer is taken from the page's own text (string-set), never escaped into CSS.
    assert '<p class="footer-text">Telford &amp; Wrekin Council' in html
    assert "u0026" not in html


def test_a_shortfall_keeps_its_minus_sign_with_its_figure():
    from decimal import Decimal

    from recovery.money import format_money_k

    assert format_money_k(Decimal("-933333.33")) == "\u2212£933k"
    assert format_money_k(None) == "not reported"


def _page_texts(html: str) -> list[list[str]]:
    """The text of each page of the PDF, margin boxes (header, footer) included."""
    from weasyprint import HTML

    return [
        [b.text for b in page._page_box.descendants() if getattr(b, "text", None)]
        for page in HTML(string=html).render().pages
    ]


@pytest.mark.parametrize(
    ("state", "said"),
    [
        (None, "is open"),
        ("submitted", "is submitted for the director's sign-off"),
        ("signed_off", "is signed off but not yet published"),
        ("published", None),
    ],
)
def test_a_live_report_of_a_month_not_published_says_it_is_a_draft(
    client, torbay_users, mtfs, state, said
):
    # Found walking the app: a month still open, with figures nobody had checked, gave a
    # report and a "committee pack" that looked like the committee's own.
    if state:
        MonthClose.objects.create(plan=mtfs, year="2017/18", period=8, state=state)
    client.force_login(torbay_users["director"])
    month = {"year": "2017/18", "period": "8"}
    page = client.get(reverse("dashboards:report", args=[mtfs.pk]), month).content.decode()
    xlsx = client.get(reverse("dashboards:report_xlsx", args=[mtfs.pk]), month).content
    summary = load_workbook(io.BytesIO(xlsx), read_only=True)["Summary"]
    title, *_ = next(summary.iter_rows(values_only=True))
    notice = close.draft_notice(mtfs, "2017/18", 8)
    pages = _page_texts(
        pack.pack_html(fg.plan_figures(mtfs, fg.Selection("2017/18", 8)), draft=notice)
    )
    if said is None:
        assert notice == "" and 'id="draft-notice"' not in page
        assert title == "Scrutiny report P8 Nov 2017"
        assert not any("DRAFT" in text for texts in pages for text in texts)
        return
    assert notice.startswith(f"Draft, not published: P8 Nov 2017 {said}, so its figures may")
    assert 'id="draft-notice"' in page and escape(notice) in page
    assert title == "DRAFT – scrutiny report P8 Nov 2017"
    assert ("Draft, not published", None, None, None, notice) in summary.iter_rows(values_only=True)
    assert all("DRAFT – NOT PUBLISHED" in texts for texts in pages)  # at the top of each page
    assert any(notice in " ".join(texts) for texts in pages[:1])


def test_the_packs_month_tables_fit_the_page(mtfs):
    # Found walking the app: "not reported" in each of twelve month cells ran the placement
    # cost table off the page after November; the axis ticks were quarters of the largest
    # figure (£851k, £567k...) rather than round steps.
    f = fg.plan_figures(mtfs, fg.Selection("2016/17", 12))
    html = pack.pack_html(f)
    months = re.search(r'<table class="months">.*?</table>', html, re.S).group(0)
    assert "not reported" not in months and '<td class="num">–</td>' in months
    assert "£443k" in months  # the actual cost from January's count
    pages = _page_texts(html)
    assert len(pages) <= 8
    ticks = re.findall(r'text-anchor="end" font-size="10">([^<]+)</text>', html)
    assert ticks and all(re.fullmatch(r"(£0k|£[\d,]+0k|£[\d,]*[05]0k)", t) for t in ticks), ticks


def test_the_packs_variance_chart_draws_every_series_on_one_scale(mtfs):
    # Found walking the app: the pack charted the headline (£1,300k) alone, while its table
    # listed a worst case of £2,200k beside it.
    f = fg.plan_figures(mtfs, fg.Selection("2016/17", 12))
    svg = pack.variance_chart(f)
    names = [next(p for p in points if p).series_label for _, points in f.forecasts.series]
    assert len(names) >= 2
    for name in names:
        assert f"Variance: {escape(name)}</text>" in svg
    assert svg.count("<rect ") == sum(1 for _, pts in f.forecasts.series for p in pts if p)
    assert "£2,000k" in svg  # the worst case is on the scale


def test_a_month_reopened_for_a_correction_says_which_version_stands(client, torbay_users, mtfs):
    # A reopened month is open again, but its published version is still the record.
    MonthClose.objects.create(plan=mtfs, year="2017/18", period=8, state="open")
    PublishedReport.objects.create(
        plan=mtfs,
        year="2017/18",
        period=8,
        number=1,
        published_at="2017-12-05T10:00:00Z",
        figures={},
        pdf=b"%PDF",
        xlsx=b"PK",
    )
    notice = close.draft_notice(mtfs, "2017/18", 8)
    assert notice == (
        "Draft correction, not published: P8 Nov 2017 is open after its version 1, published "
        "on 5 December 2017. Version 1 stays the committee's record until the correction is "
        "published."
    )
    client.force_login(torbay_users["director"])
    page = client.get(
        reverse("dashboards:report", args=[mtfs.pk]), {"year": "2017/18", "period": "8"}
    ).content.decode()
    assert escape(notice) in page


def test_pack_axis_ticks_are_labelled_as_finely_as_they_step():
    # £2,500 steps were labelled "£3k", "£8k" (whole thousands, rounded).
    assert pack._tick_label(2500, [0.0, 2500.0, 5000.0]) == "£2.5k"
    assert pack._tick_label(250, [0.0, 250.0]) == "£0.25k"
    assert pack._tick_label(-2500, [-2500.0, 0.0]) == "−£2.5k"
    assert pack._tick_label(200000, [0.0, 100000.0, 200000.0]) == "£200k"


def test_the_variance_chart_stays_within_a_page_however_many_series(mtfs):
    from types import SimpleNamespace

    f = fg.plan_figures(mtfs, fg.Selection("2016/17", 12))
    key, points = f.forecasts.series[0]
    many = SimpleNamespace(
        sel=f.sel, forecasts=SimpleNamespace(series=[(f"{key}-{i}", points) for i in range(9)])
    )
    svg = pack.variance_chart(many)
    height = float(re.search(r'viewBox="0 0 \d+ (\d+)"', svg).group(1))
    # At most eight panels (the table lists every series), within about 200 mm of the page.
    assert height <= 700 and svg.count("Variance: ") == 8
    assert "the first 8 of 9 series; the table lists all" in svg


def test_the_cost_of_late_moves_is_not_known_in_a_year_with_no_moves(mtfs):
    # 2016/17: the paper reports slippage (Table 2) but the plan records no move that year.
    f = fg.plan_figures(mtfs, fg.Selection("2016/17", 12))
    assert not f.placements.moves and f.placements.slippage_total is None
    html = pack.pack_html(f)
    assert "cost of late moves not known (no move is recorded for 2016/17)" in html
    assert "cost of late moves £0k" not in html
    # 2017/18 has moves: their late months are costed.
    f = fg.plan_figures(mtfs, fg.Selection("2017/18", 8))
    assert f.placements.slippage_total is not None


def test_a_year_with_no_count_of_its_own_says_its_placement_figures_are_carried(mtfs):
    # The MTFS's last counts are of January 2017: 2017/18's placement forecast rests on them.
    f = fg.plan_figures(mtfs, fg.Selection("2017/18", 8))
    note = f.placements.uncounted_note
    assert note.startswith("No placement count is recorded for 2017/18 by P8 Nov 2017")
    assert "carried from Jan 2017" in note
    assert note in pack.pack_html(f)


def test_the_savings_total_says_which_lines_its_achieved_and_forecast_cover(mtfs):
    from datetime import date
    from decimal import Decimal

    from plans.models import ProgressEntry, SavingsLine

    line = SavingsLine.objects.filter(plan=mtfs).order_by("reference").first()
    ProgressEntry.objects.create(
        line=line,
        as_at=date(2017, 11, 30),
        achieved_to_date=Decimal("21000"),
        forecast=Decimal("50000"),
    )
    html = pack.pack_html(fg.plan_figures(mtfs, fg.Selection("2017/18", 8)))
    total = html[html.index('<tr class="total"><th colspan="2">Total') :]
    total = total[: total.index("</tr>")]
    # A total over the lines that reported is never stated as the whole plan's.
    assert "£21k" in total and "£50k" in total
    assert total.count("on 1 of 14") == 2


@pytest.mark.parametrize(
    "name", ["Telford & Wrekin Council", "King's Lynn & West Norfolk", "</style><b>x", "Café 1"]
)
def test_a_printed_pages_footer_reads_the_name_as_written(name):
    """The report page's print footer is a CSS string (``css_string``): read back by a CSS
    parser, it is the name exactly, the space after an escape included."""
    import tinycss2

    from dashboards.templatetags.dashboards import css_string

    written = css_string(name)
    assert "<" not in written and "&" not in written
    (token,) = [
        t for t in tinycss2.parse_component_value_list(f'"{written}"') if t.type != "whitespace"
    ]
    assert token.type == "string" and token.value == name


def test_the_footer_keeps_to_one_line_for_a_long_name_and_title(seeded):
    # Found walking the app: Barking and Dagenham's name and plan title ran the footer onto
    # two lines, "Page 1 of" above "6".
    plan = Plan.objects.get(authority__slug="barking-dagenham")
    pages = _page_texts(pack.pack_html(fg.plan_figures(plan, fg.Selection("2014/15", 10))))
    for n, texts in enumerate(pages, start=1):
        assert f"Page {n} of {len(pages)}" in texts
        [footer] = [t for t in texts if " · as at " in t]
        assert footer.startswith(f"{plan.authority.name} · ") and footer.endswith(" P10 Jan 2015")


def test_the_packs_variance_chart_shows_a_range_forecast_to_its_high_end(seeded):
    # Found in review: Barking's £3m–£4m forecast was a bar to £3m with nothing else.
    plan = Plan.objects.get(authority__slug="barking-dagenham")
    svg = pack.variance_chart(fg.plan_figures(plan, fg.Selection("2014/15", 10)))
    assert "the high end of a range" in svg and "a forecast stated as a range" in svg
    assert re.search(r'<path d="M[\d.]+,[\d.]+ V[\d.]+ M', svg)


def test_the_rag_word_of_a_range_stands_above_its_whisker(seeded):
    # Found walking the app: Barking's "Red" sat on the line to the high end of £3m–£4m.
    plan = Plan.objects.get(authority__slug="barking-dagenham")
    svg = pack.variance_chart(fg.plan_figures(plan, fg.Selection("2014/15", 10)))
    whisker = re.search(r'<path d="M([\d.]+),[\d.]+ V([\d.]+) M', svg)
    x, high = float(whisker[1]), float(whisker[2])
    words = re.findall(r'<text x="([\d.]+)" y="([\d.]+)" text-anchor="middle" font-size="8">', svg)
    # The bar's own word: the nearest at the whisker's x (each panel has a bar there).
    y = min(
        (float(wy) for wx, wy in words if abs(float(wx) - x) < 0.2), key=lambda v: abs(v - high)
    )
    assert y < high  # above the whisker's top, not across it


def test_a_cost_spread_from_the_papers_total_is_called_assumed_never_actual(seeded):
    # Found walking the app: Barking's pack printed "Actual £1,417k" a month, and its chart
    # "solid: actual cost", for the paper's yearly total spread evenly: no spend reported.
    plan = Plan.objects.get(authority__slug="barking-dagenham")
    f = fg.plan_figures(plan, fg.Selection("2014/15", 10))
    assert f.placements.cost_assumed and f.placements.cost_word == "Assumed"
    html = pack.pack_html(f)
    assert "<th>Assumed</th>" in html and "<th>Actual</th>" not in html
    assert "solid: assumed cost" in html and "actual cost" not in html
    # Torbay's cost is worked out from counts: actual in the year they were counted, and
    # estimated in a year that only carries them forward (found walking the app: 2017/18's
    # pack read "Actual £443k" a month, from January 2017's counts).
    mtfs = Plan.objects.get(authority__slug="torbay", code="mtfs-2017-21")
    assert fg.plan_figures(mtfs, fg.Selection("2016/17", 12)).placements.cost_word == "Actual"
    later = fg.plan_figures(mtfs, fg.Selection("2017/18", 8))
    assert later.placements.cost_word == "Estimated"
    assert "<th>Estimated</th>" in pack.pack_html(later)


def test_counts_carried_from_an_earlier_year_say_so_with_no_unit_cost(seeded):
    # Found walking the app: Telford's P12 2014/15 showed September 2013's counts (84, 130)
    # as the children in placement, with no word that they were carried: no unit cost made
    # a cost of them, and only a cost used to carry the note.
    plan = Plan.objects.get(authority__slug="telford")
    f = fg.plan_figures(plan, fg.Selection("2014/15", 12))
    assert not f.placements.cost_known and f.placements.carried_any
    note = f.placements.uncounted_note
    assert "earlier counts carried forward (Apr–Mar carried from Sep 2013)" in note
    assert note in pack.pack_html(f)


def test_an_earlier_months_commentary_says_it_is_the_latest_written_everywhere(
    client, torbay_users, mtfs
):
    # Found walking the app: the pack and workbook dropped the page's "(the latest written;
    # none for P8 Nov 2017)", so October's words read as November's.
    from plans.models import Commentary

    Commentary.objects.create(
        plan=mtfs, role="director", year="2017/18", period=7, body="October.", author=None
    )
    f = fg.plan_figures(mtfs, fg.Selection("2017/18", 8))
    said = "(the latest written; none for P8 Nov 2017)"
    [c] = [c for c in f.commentary if c.role == "director"]
    assert c.earlier == said
    assert said in pack.pack_html(f)
    client.force_login(torbay_users["director"])
    url = reverse("dashboards:report", args=[mtfs.pk]) + "?year=2017/18&period=8"
    assert said in client.get(url).content.decode()
    book = client.get(reverse("dashboards:report_xlsx", args=[mtfs.pk]) + "?year=2017/18&period=8")
    sheet = load_workbook(io.BytesIO(book.content), read_only=True)["Summary"]
    assert any(row[0] and said in str(row[0]) for row in sheet.iter_rows(values_only=True))
    # The month's own commentary carries no such words.
    f = fg.plan_figures(mtfs, fg.Selection("2017/18", 7))
    assert [c.earlier for c in f.commentary if c.role == "director"] == [""]


@pytest.mark.parametrize(
    ("title", "cut"),
    [
        ("Children's Services Medium Term Financial Plan", "Children's Services Medium…"),
        ("Budget Update", "Budget Update"),
        ("Safeguarding and Early Help – Savings", "Safeguarding and Early Help…"),
        ("Averyveryveryveryveryverylongwordindeed", "Averyveryveryveryveryverylong…"),
    ],
)
def test_the_footer_cuts_a_long_title_at_a_word(title, cut):
    from dashboards.templatetags.dashboards import cut_at_word

    assert cut_at_word(title, 30) == cut
    assert len(cut_at_word(title, 30)) <= 30


def test_a_quoted_range_keeps_to_one_line():
    from dashboards.templatetags.dashboards import keep_ranges

    assert keep_ranges("£1.769m – £2.319m <b>") == "£1.769m\u00a0–\u00a0£2.319m &lt;b&gt;"


def test_the_packs_forecast_table_gives_budget_and_outturn_beside_the_variance(mtfs):
    # Found walking the app: the pack gave the £1,625k variance but not the £24.5m budget
    # and £26.1m outturn it is the difference of.
    from recovery.money import format_money_k

    f = fg.plan_figures(mtfs, fg.Selection("2016/17", 8))
    html = pack.pack_html(f)
    assert '<th class="num">Budget £k</th><th class="num">Forecast outturn £k</th>' in html
    points = [p for p in f.forecasts.to_period if p.budget is not None]
    assert points
    for p in points:
        assert format_money_k(p.budget) in html and format_money_k(p.outturn) in html


def test_the_pack_says_why_lines_are_at_red_or_amber_with_the_date_it_was_written(mtfs):
    from datetime import date
    from decimal import Decimal

    from plans.models import ProgressEntry, SavingsLine

    first, second = SavingsLine.objects.filter(plan=mtfs).order_by("reference")[:2]
    ProgressEntry.objects.create(
        line=first, as_at=date(2017, 10, 31), rag="red", commentary="Placements slipped & more"
    )
    # A later figures-only update: the comment keeps the date it was written.
    ProgressEntry.objects.create(
        line=first, as_at=date(2017, 11, 30), achieved_to_date=Decimal("1000"), rag="red"
    )
    ProgressEntry.objects.create(line=second, as_at=date(2017, 11, 30), rag="amber")
    f = fg.plan_figures(mtfs, fg.Selection("2017/18", 8))
    html = pack.pack_html(f)
    section = html[html.index("Why lines are at Red or Amber") : html.index("6. Key performance")]
    assert "Placements slipped &amp; more (31 Oct 2017)" in section
    assert first.reference in section and second.reference in section
    assert "No commentary recorded." in section
    assert _pages(html) <= 8


def test_the_pack_lists_the_ten_red_or_amber_lines_most_at_risk(mtfs):
    from datetime import date

    from plans.models import ProgressEntry, SavingsLine

    lines = list(SavingsLine.objects.filter(plan=mtfs).order_by("reference"))
    for i, line in enumerate(lines[:12]):
        rag = "red" if i % 2 else "amber"
        ProgressEntry.objects.create(line=line, as_at=date(2017, 11, 30), rag=rag)
    f = fg.plan_figures(mtfs, fg.Selection("2017/18", 8))
    shown = f.pack_red_amber_lines
    assert len(f.red_amber_lines) == 12 and len(shown) == 10
    # The six Reds come before any Amber.
    assert [x.rag for x in shown[:6]] == ["red"] * 6
    assert "The 10 most at risk of 12 Red or Amber lines are shown" in pack.pack_html(f)


def test_a_lines_achievable_figure_is_in_the_pack_as_on_the_page(seeded):
    # Found walking the app: Barking's IA-08 read "not reported" in the pack, where the page
    # gives "+ £224,537 achievable at 31 Jan 2015".
    barking = Plan.objects.get(authority__slug="barking-dagenham")
    f = fg.plan_figures(barking, fg.plan_calendar(barking)[1])
    [x] = [x for x in f.pack_lines if x.line.reference == "IA-08"]
    assert x.anticipated is not None
    html = pack.pack_html(f)
    row = html[html.index("<td>IA-08</td>") :]
    assert "+ £225k achievable" in row[: row.index("</tr>")]


def test_a_range_keeps_its_high_end_in_the_pack_the_workbook_and_the_charts(
    client, torbay_users, mtfs
):
    # Found walking the app: MTFS-15 ("Reduction in CLA population ... 50k-600k") expected
    # £25,000 – £300,000 to P6 2018/19 on the dashboard; the pack, the report workbook and the
    # report's chart gave £25k, 25000 and the low line alone; its month of delay £4,167.
    f = fg.plan_figures(mtfs, fg.Selection("2018/19", 6))
    assert f.profile_ranged and (f.expected_low, f.expected_high) == (657_000, 932_000)
    html = pack.pack_html(f)
    row = re.search(r"<td>MTFS-15</td>.*?</tr>", html, re.S).group(0)
    assert "£25k – £300k" in row
    assert "£657k – £932k" in html and "Expected (high end)" in html
    assert "dotted: its high end" in pack.savings_chart(f)
    client.force_login(torbay_users["director"])
    query = {"year": "2018/19", "period": "6"}
    dashboard = client.get(reverse("dashboards:plan_dashboard", args=[mtfs.pk]), query)
    assert "£4,167 – £50,000" in dashboard.content.decode()  # a month's delay, both ends
    data = client.get(reverse("dashboards:report_xlsx", args=[mtfs.pk]), query).content
    ws = load_workbook(io.BytesIO(data), read_only=True)["Savings lines"]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    header = rows[3]
    line = dict(zip(header, next(r for r in rows if r[0] == "MTFS-15"), strict=False))
    assert (line["Expected to date"], line["Expected to date (high)"]) == (25_000, 300_000)
    assert (line["In-year value (profile)"], line["In-year value (high)"]) == (50_000, 600_000)
    assert line["Cost of one month's delay (high)"] == 50_000
    total = dict(zip(header, next(r for r in rows if r[0] == "Total"), strict=False))
    assert (total["Expected to date"], total["Expected to date (high)"]) == (657_000, 932_000)
    report = client.get(reverse("dashboards:report", args=[mtfs.pk]), query).content.decode()
    assert "Expected (high end)" in report and "£657,000 – £932,000" in report


def test_a_worked_sum_still_adds_up_when_printed_in_k():
    # Found walking the print: "2 × £127k = £253k" (2 × 127 is 254).
    from decimal import Decimal as D

    from recovery.templatetags.money import gbp_working, printed_in_k

    with printed_in_k():
        unit, total = gbp_working(D("126705")), gbp_working(D("253410.00"))
    assert '<span class="money-k" aria-hidden="true">£126.705k</span>' in unit
    assert '<span class="money-k" aria-hidden="true">£253.41k</span>' in total
    assert gbp_working(D("126705")) == "£126,705"  # on the screen, whole pounds
