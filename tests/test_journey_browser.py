"""The monthly journey in headless Chromium, as the three roles live it.

The finance manager adds a savings line to the Torbay MTFS and records October 2017 for every
line on the month-end page; the plan totals and the director's dashboard move; the scrutiny
member finds no way to change anything. axe checks each page the officers edit on.
"""

from decimal import Decimal

import pytest
from django.urls import reverse

from plans.models import Plan, ProgressEntry
from tests.browser import log_in, serious_violations, submit
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def people(seeded):
    from recovery.models import Authority

    torbay = Authority.objects.get(slug="torbay")
    return {
        role: UserFactory(username=f"{role}-journey", role=role, authority=torbay)
        for role in ("finance", "director", "scrutiny")
    }


@pytest.fixture
def mtfs_pk(seeded):
    plan = Plan.objects.get(authority__slug="torbay", code="mtfs-2017-21")
    # This journey types every line's figures; a line driven by placement moves takes its
    # month from the moves instead (the placements journey is tests/plans/test_placements.py).
    plan.placement_moves.all().delete()
    return plan.pk


def test_month_end_journey_moves_the_dashboard(people, mtfs_pk, live_server, chromium_page):
    page, base = chromium_page, live_server.url

    # Finance adds a savings line with amounts typed as officers type them.
    log_in(page, live_server, "finance-journey")
    page.goto(base + reverse("plans:line_create", args=[mtfs_pk]))
    assert not serious_violations(page)
    page.fill("#id_reference", "MTFS-17")
    page.fill("#id_title", "Review of transport contracts")
    page.fill("#id_amount_2017_18", "£45k")
    page.fill("#id_amount_2018_19", "50k-80k")
    submit(page, "button:has-text('Save')")
    assert "Saved savings line" in page.content()

    # ... and records October for every line; a bad cell first, which saves nothing.
    page.goto(base + reverse("plans:month_end", args=[mtfs_pk]) + "?year=2017/18&period=7")
    assert not serious_violations(page)
    rows = page.locator("table.month-end tbody tr")
    assert rows.count() == 17
    for i in range(rows.count()):
        row = rows.nth(i)
        row.locator("input[name$=achieved_to_date]").fill("12,34" if i == 0 else "10k")
        row.locator("select[name$=rag]").select_option("amber")
    # The running totals follow the typing, before anything is saved; an unreadable box is
    # said, never counted as £0 (12,34 is no amount the save reads: never £1,234).
    running = page.locator("#me-running")
    assert running.locator("[data-total=achieved_to_date]").inner_text() == "£160,000"
    assert "1 box not counted" in page.locator("[data-total=unread]").inner_text()
    # A figure recorded as achievable is counted apart, as the save records it.
    rows.nth(1).locator("select[name$=basis]").select_option("achievable")
    assert running.locator("[data-total=achieved_to_date]").inner_text() == (
        "£150,000 (+ £10,000 achievable)"
    )
    rows.nth(1).locator("select[name$=basis]").select_option("achieved")
    submit(page, "button:has-text('Save P7')")
    assert "Nothing was saved" in page.content()
    assert not serious_violations(page)
    assert ProgressEntry.objects.filter(line__plan_id=mtfs_pk).count() == 0
    rows.nth(0).locator("input[name$=achieved_to_date]").fill("12.5k")
    submit(page, "button:has-text('Save P7')")
    assert "Saved 17 changed records for P7 Oct 2017" in page.content()

    # The plan totals moved: £12.5k + 14 × £10k achieved on the 15 lines with a 2017/18
    # target; the £20k on the two lines with none that year is kept apart, never added in.
    page.goto(base + reverse("plans:plan_detail", args=[mtfs_pk]))
    footer = page.locator("tfoot").inner_text()
    assert "£152,500" in footer and "£1,470,500" in footer  # every line reported: gap known

    # The director's dashboard for October shows it too.
    log_in(page, live_server, "director-journey")
    page.goto(
        base + reverse("dashboards:plan_dashboard", args=[mtfs_pk]) + "?year=2017/18&period=7"
    )
    html = page.content()
    assert "£152,500" in html and "on 15 of 15 lines with a planned amount" in html
    assert "Achieved on lines with no target this year" in html and "£20,000" in html
    assert page.locator("a:has-text('Month-end update')").count() == 0

    # The scrutiny member finds no edit control, and a write by hand is refused.
    log_in(page, live_server, "scrutiny-journey")
    page.goto(base + reverse("plans:plan_detail", args=[mtfs_pk]))
    for href in ("/edit/", "/delete/", "/month-end/", "/import/", "/new/"):
        assert page.locator(f"a[href*='{href}']").count() == 0, href
    response = page.goto(base + reverse("plans:month_end", args=[mtfs_pk]))
    assert response.status == 403
    achieved = sum(e.achieved_to_date for e in ProgressEntry.objects.filter(line__plan_id=mtfs_pk))
    assert achieved == Decimal("172500.00")
