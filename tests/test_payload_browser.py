"""Officers' text is text: markup and script stored in every field an officer types (plan
title, KPI names, savings-line titles, workstreams, commentary, service areas, risks) creates
no element on the dashboard, the scrutiny report or the overview, in their tables, charts,
chart labels or hover labels.

The payloads carry a ``data-payload`` attribute and a link off-site; the test fails on any
element made from them (an HTML element, or the SVG link, bold or image plotly would make from
its label markup), on a script that ran (``window.__pwned``), a dialog, or a CSP violation, and
checks that the payloads' words are on the page as text.
"""

import pytest
from django.urls import reverse

from plans import models as m
from tests.browser import PolicyWatch, log_in
from tests.factories import UserFactory, publish_as_stored

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAYLOADS = [
    '<a href="https://elsewhere.example/" data-payload>Click here</a>',
    '<img src="/static/favicon.svg?payload" data-payload onerror="window.__pwned=1">',
    "<script data-payload>window.__pwned=1</script>",
    '"><svg data-payload onload="window.__pwned=1"><b data-payload>bold</b>',
    "<b>Bold</b><i>it</i><br><sup>up</sup><span style='color:red'>red</span>",
    '<a href="javascript:window.__pwned=1">js link</a>',
    "'; alert(1); //",
]


def payload(i: int) -> str:
    return f"P{i} {PAYLOADS[i % len(PAYLOADS)]}"


@pytest.fixture
def poisoned(seeded):
    """The Torbay MTFS with officers' text replaced by payloads everywhere it is typed."""
    mtfs = m.Plan.objects.get(authority__slug="torbay", code="mtfs-2017-21")
    m.Plan.objects.filter(pk=mtfs.pk).update(title=payload(2))
    mtfs.refresh_from_db()
    for i, kpi in enumerate(mtfs.kpis.all()):
        m.KPI.objects.filter(pk=kpi.pk).update(name=payload(i))
    for i, line in enumerate(mtfs.lines.all()):
        m.SavingsLine.objects.filter(pk=line.pk).update(title=payload(i), owner=payload(i + 1))
    for i, ws in enumerate(mtfs.workstreams.all()):
        m.Workstream.objects.filter(pk=ws.pk).update(name=payload(i))
    for i, risk in enumerate(mtfs.risks.all()):
        m.Risk.objects.filter(pk=risk.pk).update(description=payload(i), mitigations=payload(i))
    m.ProgressEntry.objects.filter(line__plan=mtfs).update(commentary=payload(3))
    forecasts = m.OverspendForecast.objects.filter(plan=mtfs)
    forecasts.update(commentary=payload(0))
    # A service area of its own: one chart panel titled with a payload.
    first = forecasts.order_by("year", "period").first()
    m.OverspendForecast.objects.create(
        plan=mtfs,
        year=first.year,
        period=first.period,
        service_area=payload(0),
        budget=first.budget,
        forecast_outturn=first.forecast_outturn,
    )
    for role, text in (("director", payload(1)), ("finance", payload(2))):
        m.Commentary.objects.create(plan=mtfs, year="2017/18", period=8, role=role, body=text)
    return mtfs


MADE_FROM_A_PAYLOAD = """() => {
  const found = [];
  document.querySelectorAll('[data-payload]').forEach(el => found.push(el.outerHTML.slice(0, 80)));
  document.querySelectorAll('a').forEach(a => {
    const href = a.getAttribute('href')
      || a.getAttributeNS('http://www.w3.org/1999/xlink', 'href') || '';
    if (/elsewhere|javascript:/i.test(href)) found.push('link to ' + href);
  });
  document.querySelectorAll('img[src*=payload], svg image')
    .forEach(el => found.push('image ' + el.outerHTML.slice(0, 80)));
  document.querySelectorAll('.js-plotly-plot text, .js-plotly-plot tspan').forEach(el => {
    // plotly turns <b>, <i>, <sup> and <br> in a label into styled tspans or line breaks;
    // escaped, they stay characters.
    const style = el.getAttribute('style') || '';
    if (/font-weight:\\s*bold|font-style:\\s*italic/.test(style) && /P\\d/.test(el.textContent))
      found.push('plotly markup ' + el.textContent.slice(0, 60));
  });
  if (window.__pwned) found.push('a payload script ran');
  return found;
}"""


@pytest.mark.parametrize("role", ["director", "scrutiny"])
def test_no_element_is_made_from_officers_text(chromium_page, live_server, poisoned, role):
    page, base = chromium_page, live_server.url
    user = UserFactory(username=f"{role}-payload", role=role, authority=poisoned.authority)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    watch = PolicyWatch(page, base)
    log_in(page, live_server, user.username)
    month = "?year=2017/18&period=8"
    paths = (
        reverse("dashboards:plan_dashboard", args=[poisoned.pk]) + month,
        reverse("dashboards:report", args=[poisoned.pk]) + month,
        reverse("dashboards:overview"),
    )
    if role == "scrutiny":
        # A scrutiny member reads what was published: the month as stored, and the list.
        published = publish_as_stored(poisoned, "2017/18", 8)
        paths = (
            reverse("dashboards:published_report", args=[published.pk]),
            reverse("dashboards:report", args=[poisoned.pk]) + month,
        )
    for path in paths:
        watch.visit(path)
        # Hover every chart: hover labels carry names too.
        for chart in page.locator(".js-plotly-plot").all():
            box = chart.bounding_box()
            if box:
                for x in (0.3, 0.5, 0.7):
                    page.mouse.move(box["x"] + box["width"] * x, box["y"] + box["height"] / 2)
        made = page.evaluate(MADE_FROM_A_PAYLOAD)
        assert not made, f"{path}: {made}"
        text = page.locator("main").inner_text()
        assert "<script data-payload>" in text or "data-payload" in text, path
        if page.locator(".js-plotly-plot").count():
            chart_text = page.locator(".js-plotly-plot").evaluate_all(
                "els => els.map(e => e.textContent).join(' ')"
            )
            assert "<b" in chart_text or "<a" in chart_text, "no payload reached a chart"
    assert not dialogs, dialogs
    watch.assert_clean()
