"""Each page runs a fixed number of queries whatever the number of lines and months.

The counts are pinned (as NetBox keeps them) so that a new query is a decision, not an
accident; the 3-line and 60-line plans must take exactly the same number.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

pytestmark = pytest.mark.django_db

# A plan page: session and user (2), the role's groups (1), the plan (1), its calendar (4),
# then plans.figures.plan_figures (20: year totals 3, amounts, progress, lines, monthly
# profile, RAG, forecasts, pressures, funding, KPI points, KPIs, risks, commentary, stated
# totals 3, the paper's discrepancies), the navbar's authority (1) and the session saved
# again so that its idle clock restarts (3: it is saved on every request); the workbook has no
# navbar; the dashboard also reads the user's own commentary for its form (1). The report and
# its workbook read the last published report, for "what changed" since it (1); the dashboard
# reads the month's close, its director's commentary and its published versions for the
# close panel (3). The overview: 4 before figures.authority_overview's 6, the navbar's 1 and
# the session's 3.
EXPECTED = {"dashboard": 36, "report": 33, "report_xlsx": 32, "overview": 14}


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
