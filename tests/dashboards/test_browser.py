"""Headless Chromium: the MTFS dashboard's charts draw with no network beyond the app, and
the dashboard and report have no serious or critical accessibility violations (axe)."""

import re
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from plans.models import Plan
from tests.browser import log_in, serious_violations
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def torbay_director(seeded):
    from recovery.models import Authority

    return UserFactory(
        username="director-browser", role="director", authority=Authority.objects.get(slug="torbay")
    )


def test_mtfs_dashboard_charts_draw_offline(chromium_page, live_server, torbay_director):
    page = chromium_page
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    log_in(page, live_server, torbay_director.username)
    mtfs = Plan.objects.get(authority__slug="torbay", code="mtfs-2017-21")
    page.goto(live_server.url + reverse("dashboards:plan_dashboard", args=[mtfs.pk]))
    # Detail sections start folded: the charts are drawn, though not yet visible.
    page.wait_for_selector(".js-plotly-plot .main-svg", state="attached")

    charts = page.locator("[data-plotly-figure]").count()
    drawn = page.locator(".js-plotly-plot").count()
    assert charts >= 10 and drawn == charts
    assert page.locator(".js-plotly-plot .main-svg").count() >= charts
    # The CLA trajectory chart has its points: actual 279 and the three targets.
    assert page.locator("#chart-kpi-cla-count .scatterlayer .point").count() >= 4
    assert "£1,578,000" in page.content() and "£1,007,221" in page.content()
    # At 1280 px the month's attention and commentary are on the first screen, and the whole
    # page (its detail folded) is within three screens of 800 px.
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(
        live_server.url
        + reverse("dashboards:plan_dashboard", args=[mtfs.pk])
        + "?year=2017/18&period=8"
    )
    top = page.evaluate("document.getElementById('h-commentary').getBoundingClientRect().top")
    assert top < 800 and page.evaluate("document.body.scrollHeight") <= 3 * 800
    assert not errors

    app_host = urlsplit(live_server.url).netloc
    hosts = {urlsplit(url).netloc for url in requested if not url.startswith("data:")}
    assert hosts == {app_host}, f"requests left the app: {hosts}"
    assert any(url.endswith("/static/vendor/plotly.min.js") for url in requested)

    violations = serious_violations(page)
    assert not violations, "\n".join(violations)


def test_report_is_accessible_and_prints_without_navigation(
    chromium_page, live_server, torbay_director
):
    page = chromium_page
    log_in(page, live_server, torbay_director.username)
    mtfs = Plan.objects.get(authority__slug="torbay", code="mtfs-2017-21")
    page.goto(
        live_server.url + reverse("dashboards:report", args=[mtfs.pk]) + "?year=2016/17&period=8"
    )
    violations = serious_violations(page)
    assert not violations, "\n".join(violations)

    on_screen = page.locator("main").inner_text()
    assert re.search(r"£[\d,]+,\d{3}(?![\d.])", on_screen)  # whole pounds on the screen
    page.emulate_media(media="print")
    # On paper, money follows the committee pack's rules: £k, no pence, no sign apart.
    printed = page.locator("main").inner_text()
    assert not re.search(r"£[\d,]+\.\d\d(?!\d)", printed)
    assert re.search(r"£[\d,]+k", printed)
    assert not page.locator("nav.navbar").is_visible()
    assert not page.locator("form[aria-label='Choose the financial year and month']").is_visible()
    # The as-at date sits in the bottom margin box of every printed page.
    margin_rules = page.evaluate(
        "() => [...document.styleSheets].flatMap(s => [...s.cssRules])"
        ".filter(r => r.cssText.startsWith('@page')).map(r => r.cssText).join(' ')"
    )
    assert "@bottom-left" in margin_rules and "as at P8 Nov 2016" in margin_rules
    assert "counter(page)" in margin_rules
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) <= 8
    # The MTFS at P8 2017/18, as the committee reads it, in at most eight pages too.
    page.emulate_media(media="screen")
    page.goto(
        live_server.url + reverse("dashboards:report", args=[mtfs.pk]) + "?year=2017/18&period=8"
    )
    page.emulate_media(media="print")
    # As the committee pack prints: the savings lines with the pack's columns (the title
    # column wide enough for a title in two lines), and the detail left to the page.
    hidden = page.locator(".lines-table thead th").evaluate_all(
        "els => els.filter(el => getComputedStyle(el).display === 'none').map(el => el.innerText)"
    )
    assert hidden == ["Start", "Delivery variance", "Original RAG", "Cost of a month's delay"]
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) <= 8


@pytest.mark.parametrize("width", [1280, 480])
def test_scrolling_tables_are_keyboard_regions_with_data(
    chromium_page, live_server, torbay_director, width
):
    """Every scrolling table wrapper is a focusable, named region (axe's
    scrollable-region-focusable): the dashboard and the report at periods with savings lines,
    RAG tables and progress, on a wide and a narrow screen. axe runs every rule on the narrow
    screen, where the tables scroll; on the wide one, its scrolling-region rule (the dashboard
    and the report have every rule at that width in the tests above)."""
    page = chromium_page
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, live_server, torbay_director.username)
    mtfs = Plan.objects.get(authority__slug="torbay", code="mtfs-2017-21")
    recovery = Plan.objects.get(authority__slug="torbay", code="recovery-2011-12")
    urls = [
        reverse("dashboards:plan_dashboard", args=[mtfs.pk]) + "?year=2017/18&period=12",
        reverse("dashboards:report", args=[mtfs.pk]) + "?year=2017/18&period=12",
        reverse("dashboards:report", args=[recovery.pk]) + "?year=2011/12&period=11",
        reverse("dashboards:overview"),
    ]
    for url in urls:
        page.goto(live_server.url + url)
        assert page.locator("table.lines-table, table.overview-table").count(), url
        wrappers = page.locator(".table-responsive").evaluate_all(
            "els => els.map(el => [el.getAttribute('tabindex'), el.getAttribute('role'),"
            " el.getAttribute('aria-label') || ''])"
        )
        assert wrappers, url
        for tabindex, role, label in wrappers:
            assert (tabindex, role) == ("0", "region") and label.strip(), (url, label)
        labels = [label for _, _, label in wrappers]
        assert len(labels) == len(set(labels)), url  # each region named apart
        rules = ["scrollable-region-focusable"] if width > 480 else None
        violations = serious_violations(page, rules)
        assert not violations, url + "\n" + "\n".join(violations)


FOCUS_OUTLINE = """() => { const s = getComputedStyle(document.activeElement);
    return s.outlineColor + ' ' + s.outlineWidth; }"""
CUT_CAPTIONS = """() => Array.from(document.querySelectorAll('caption'))
    .filter(c => { const r = c.getBoundingClientRect(); return r.width && r.right > innerWidth; })
    .map(c => c.textContent.slice(0, 60))"""


def test_no_page_scrolls_sideways_on_a_phone(chromium_page, live_server, torbay_users):
    """At 375px wide a table scrolls inside its wrapper, never the page: the wrapper is also
    the containing block of its cells' visually hidden labels, which otherwise widen the page
    (the month-end page, the authority overview)."""
    page = chromium_page
    page.set_viewport_size({"width": 375, "height": 800})
    mtfs = Plan.objects.get(authority__slug="torbay", code="mtfs-2017-21")
    recovery = Plan.objects.get(authority__slug="torbay", code="recovery-2011-12")
    pages = {
        "finance": [
            reverse("plans:plan_list"),
            reverse("plans:plan_detail", args=[recovery.pk]),
            reverse("plans:month_end", args=[recovery.pk]),
            reverse("plans:month_end", args=[mtfs.pk]),
            reverse("plans:line_list", args=[mtfs.pk]),
            reverse("plans:plan_history", args=[mtfs.pk]) + "?since=not-a-date",
        ],
        "director": [
            reverse("dashboards:overview"),
            reverse("dashboards:plan_dashboard", args=[mtfs.pk]),
            reverse("dashboards:report", args=[mtfs.pk]),
            reverse("dashboards:months", args=[mtfs.pk]),
        ],
    }
    for role, urls in pages.items():
        log_in(page, live_server, torbay_users[role].username)
        if role == "director":
            # One focus indicator on every control, Bootstrap's faint rings overridden: the
            # navigation bar's links, buttons and fields alike (by the keyboard, Tab).
            page.goto(live_server.url + reverse("dashboards:plan_dashboard", args=[mtfs.pk]))
            outlines = set()
            for _ in range(12):
                page.keyboard.press("Tab")
                outlines.add(page.evaluate(FOCUS_OUTLINE))
            assert outlines == {"rgb(255, 221, 0) 3px"}, outlines
        for url in urls:
            page.goto(live_server.url + url)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 375, (role, url, width)
            # A table's caption wraps at the screen's width, not the wide table's: whole.
            cut = page.evaluate(CUT_CAPTIONS)
            assert not cut, (role, url, cut)
    # Every chart's title, panel titles and month names are whole at that width, the
    # sections opened (a long title wraps; a year's months are named by three letters).
    page.goto(live_server.url + reverse("dashboards:plan_dashboard", args=[mtfs.pk]))
    page.wait_for_selector(".js-plotly-plot .main-svg", state="attached")
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    page.wait_for_timeout(300)
    cut = page.evaluate(CUT_TEXT)
    assert page.locator(".js-plotly-plot").count() >= 10
    assert not cut, cut
    # Wrapped panel titles never sit on one another, the chart's title or the panel above
    # (the forecast's five panels: its budget panels and variances, one per service area).
    assert page.locator("#chart-forecast .annotation").count() >= 5
    overlaps = page.evaluate(OVERLAPPING_TITLES)
    assert not overlaps, overlaps
    months = page.locator("#chart-placements .xtick text").all_text_contents()
    assert months == ["Apr", "Jun", "Aug", "Oct", "Dec", "Feb"], months
    # Turned on its side past the narrow width, the charts are drawn again for the width.
    page.set_viewport_size({"width": 1280, "height": 800})
    ticks = "document.querySelectorAll('#chart-placements .xtick text').length"
    for _ in range(40):  # wait_for_function evaluates a string, which the policy refuses
        if page.evaluate(ticks) == 12:
            break
        page.wait_for_timeout(100)
    assert page.evaluate(ticks) == 12


# Pairs of a chart's titles (its own, its panels') whose boxes overlap, and panel titles that
# overlap the plot area of another panel.
OVERLAPPING_TITLES = """
() => {
  const out = [];
  const hit = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 &&
    a.top < b.bottom - 1 && b.top < a.bottom - 1;
  document.querySelectorAll(".js-plotly-plot").forEach(chart => {
    const titles = [...chart.querySelectorAll(".g-gtitle text, .annotation")]
      .map(el => [el.textContent, el.getBoundingClientRect()]);
    const plots = [...chart.querySelectorAll(".subplot .bg, .cartesianlayer .bg")]
      .map(el => el.getBoundingClientRect());
    titles.forEach(([text, box], i) => {
      titles.slice(i + 1).forEach(([other, box2]) => {
        if (hit(box, box2)) out.push(`${chart.id}: "${text}" on "${other}"`);
      });
      plots.forEach(plot => {
        if (hit(box, plot)) out.push(`${chart.id}: "${text}" on a plot area`);
      });
    });
  });
  return out;
}
"""

# The texts of each chart (titles, panel titles, axis labels, legend) that reach past its
# drawing.
CUT_TEXT = """
Array.from(document.querySelectorAll('.js-plotly-plot')).flatMap(plot => {
  const box = plot.querySelector('.main-svg').getBoundingClientRect();
  return Array.from(plot.querySelectorAll(
    '.gtitle, .annotation-text, .xtick text, .ytick text, .legendtext'))
    .filter(t => {
      const r = t.getBoundingClientRect();
      return r.width > 0 && (r.left < box.left - 1 || r.right > box.right + 1
        || r.top < box.top - 1 || r.bottom > box.bottom + 1);
    })
    .map(t => plot.id + ': ' + t.textContent);
})
"""
