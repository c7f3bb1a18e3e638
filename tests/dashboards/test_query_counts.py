"""Each page runs a fixed number of queries whatever the number of lines and months.

The counts are pinned (as NetBox keeps them) so that a new query is a decision, not an
accident; the 3-line and 60-line plans must take exactly the same number.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from plans.models import ProgressEntry

pytestmark = pytest.mark.django_db

# A plan page: session and user with its role (2: recovery.backends), the plan with its
# authority (1, which is the navbar's authority too when it is the user's own), its calendar
# (4), then
# plans.figures.plan_figures (24: year totals 3, amounts, progress, workstreams, lines, monthly
# profile,
# forecasts, pressures, funding, KPI points, KPIs, risks, commentary, stated totals 3, the
# paper's discrepancies, placement types, counts, moves and what-ifs). The session is not
# saved again on every request (recovery.middleware: its idle clock restarts once a minute at
# most). The report and its workbook read the last published report, for "what changed" since
# it (1), and the month's panel, to say whether it is a draft (3, below); the dashboard reads the
# month's panel (dashboards.close.month_panel: its close, its commentary by role, for the close
# panel and the user's own commentary form, and its published versions: 3, cached by data
# version like the figures). The overview: session, user and its role (2), the authorities
# with plans the user reads (ids only, 1) and the plans of the page's authorities (1: one more
# than when every plan was read to page ten authorities of them, which grew with the plans in
# the land), figures.authority_overview's 6, and the navbar's 1.
# The RAG summary is summed from the lines' figures (it read the year's entries again).
EXPECTED = {"dashboard": 34, "report": 35, "report_xlsx": 35, "overview": 11}


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def _urls(plan):
    return {
        "dashboard": reverse("dashboards:plan_dashboard", args=[plan.pk]),
        "report": reverse("dashboards:report", args=[plan.pk]),
        "report_xlsx": reverse("dashboards:report_xlsx", args=[plan.pk]),
        "overview": reverse("dashboards:overview"),
    }


def test_query_counts_do_not_grow_with_lines_or_months(client, director, built_plan):
    small = built_plan(3, months=2, code="small")
    client.force_login(director)
    counts_small = {name: _count(client, url) for name, url in _urls(small).items()}
    large = built_plan(60, months=9, code="large")
    counts_large = {name: _count(client, url) for name, url in _urls(large).items()}
    assert counts_small == counts_large
    assert counts_large == EXPECTED


def test_a_long_plans_dashboard_shows_the_fifty_most_at_risk(client, director, built_plan):
    plan = built_plan(60, months=3, code="sixty")
    client.force_login(director)
    html = client.get(reverse("dashboards:plan_dashboard", args=[plan.pk])).content.decode()
    assert html.count('<td class="text-nowrap">SAV-') == 50
    assert "10 more lines not shown" in html


def test_plan_list_and_overview_do_not_grow_with_plans_or_progress(client, django_user_model):
    """An administrator sees every plan: the plan list computes figures for the 25 plans of
    its page and the overview for the 10 authorities of its page, in a fixed number of
    queries however many plans and progress entries there are."""
    from tests.dashboards.conftest import build_plan
    from tests.factories import AuthorityFactory

    client.force_login(django_user_model.objects.create_superuser("root", password="pw"))
    build_plan(AuthorityFactory(), 2, months=1, code="first")
    urls = {"plan_list": reverse("plans:plan_list"), "overview": reverse("dashboards:overview")}
    few = {name: _count(client, url) for name, url in urls.items()}
    for i in range(12):
        build_plan(AuthorityFactory(), 3, months=4, code=f"more-{i}")
    many = {name: _count(client, url) for name, url in urls.items()}
    assert few == many
    # The plan list: session and user (2), the authorities shown (1), the count and the page
    # of 25 plans (2), their totals (3); sorted in the database too. (The session is not saved
    # on every request: recovery.middleware.)
    assert many["plan_list"] == 8
    assert _count(client, urls["plan_list"] + "?sort=-kind&page=1") == 8
    html = client.get(urls["overview"]).content.decode()
    assert "Page 1 of 2" in html
    assert client.get(urls["overview"], {"page": 2}).status_code == 200


def test_a_long_plans_report_lists_the_changes_of_the_lines_it_shows(client, director, built_plan):
    import io

    from openpyxl import load_workbook

    plan = built_plan(60, months=3, code="sixty-changes")
    client.force_login(director)
    html = client.get(reverse("dashboards:report", args=[plan.pk])).content.decode()
    # Every line's achieved changed this month: the report shows the changes of the 50 lines
    # it lists (their achieved and RAG), the workbook every one.
    assert "20 more changes on lines the savings table below does not show" in html

    xlsx = client.get(reverse("dashboards:report_xlsx", args=[plan.pk])).content
    items = [c.value for c in load_workbook(io.BytesIO(xlsx))["Changes"]["B"]]
    assert sum(1 for v in items if v and str(v).startswith("SAV-")) >= 60


def test_a_month_with_lines_not_rated_reads_other_years_in_one_query(client, director, built_plan):
    # P1, and lines with no rating in the year: their RAG then is another year's or their own,
    # read in one more query however many lines and months there are.
    small = built_plan(3, months=2, code="small")
    large = built_plan(60, months=9, code="large")
    client.force_login(director)
    for plan in (small, large):
        first = plan.lines.order_by("pk").first()
        ProgressEntry.objects.filter(line=first).update(rag="")
    counts = [
        {
            name: _count(client, f"{url}?year=2017/18&period={period}")
            for name, url in _urls(plan).items()
            if name != "overview"
        }
        for plan in (small, large)
        for period in (1, 2)
    ]
    assert all(c == counts[0] for c in counts)
    assert all(counts[0][name] <= EXPECTED[name] + 1 for name in counts[0])
