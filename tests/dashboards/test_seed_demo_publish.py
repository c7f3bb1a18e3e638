"""seed_demo publishes the Torbay MTFS plan's as-at month through the real close, so a
scrutiny member has a report to read and download on a fresh ``make run``."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from plans.models import Commentary, MonthClose, Plan, PublishedReport
from plans.selectors import as_at_month
from recovery.models import User
from tests.conftest import FIXTURES

pytestmark = pytest.mark.django_db


def test_seed_demo_publishes_the_mtfs_as_at_month_once(client, settings):
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    call_command("seed_demo", verbosity=0)  # again: nothing more is published
    plan = Plan.objects.get(authority__slug="torbay", code="mtfs-2017-21")
    year, period = as_at_month(plan)
    assert (year, period) == ("2016/17", 10)  # the month its dashboard opens at
    # Each seed authority's active plan, once: every scrutiny member has a report to read.
    published = PublishedReport.objects.order_by("plan__authority__slug")
    assert [(r.plan.authority.slug, r.plan.code, r.number) for r in published] == [
        ("barking-dagenham", "budget-update-2015", 1),
        ("telford", "cip-2014-15", 1),
        ("torbay", "mtfs-2017-21", 1),
    ]
    assert all((r.year, r.period) == as_at_month(r.plan) for r in published)
    [report] = published.filter(plan=plan)
    assert (report.plan, report.year, report.period, report.number) == (plan, year, period, 1)
    assert bytes(report.pdf[:5]) == b"%PDF-" and bytes(report.xlsx[:2]) == b"PK"
    close = MonthClose.objects.get(plan=plan, year=year, period=period)
    assert close.state == MonthClose.State.PUBLISHED
    assert close.submitted_by.username == "finance-torbay"
    assert close.signed_off_by.username == "director-torbay"
    assert close.published_by.username == "director-torbay"
    commentary = Commentary.objects.get(
        plan=plan, year=year, period=period, role=Commentary.Role.DIRECTOR
    )
    assert commentary.body and commentary.author.username == "director-torbay"

    client.force_login(User.objects.get(username="scrutiny-torbay"))
    listed = client.get(reverse("dashboards:published_list")).content.decode()
    assert reverse("dashboards:published_report", args=[report.pk]) in listed
    page = client.get(reverse("dashboards:published_report", args=[report.pk]))
    assert page.status_code == 200 and "P10 Jan 2017" in page.content.decode()
    pdf = client.get(reverse("dashboards:published_pdf", args=[report.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content if pdf.streaming else [pdf.content])[:5] == b"%PDF-"
    xlsx = client.get(reverse("dashboards:published_xlsx", args=[report.pk]))
    assert xlsx.status_code == 200
    # Another authority's scrutiny member does not see it.
    client.force_login(User.objects.get(username="scrutiny-telford"))
    listed = client.get(reverse("dashboards:published_list")).content.decode()
    assert reverse("dashboards:published_report", args=[report.pk]) not in listed


def test_seed_demo_leaves_a_month_someone_took_on_by_hand(settings):
    settings.DEBUG = True
    call_command("loaddata", *FIXTURES, verbosity=0)
    call_command("seed_demo", "--no-fixtures", verbosity=0)  # users only: nothing published
    assert not PublishedReport.objects.exists()
    plan = Plan.objects.get(authority__slug="torbay", code="mtfs-2017-21")
    year, period = as_at_month(plan)
    MonthClose.objects.create(plan=plan, year=year, period=period, state="submitted")
    call_command("seed_demo", verbosity=0)
    assert not PublishedReport.objects.filter(plan=plan).exists()  # the others are published
    assert PublishedReport.objects.count() == 2
    assert MonthClose.objects.get(plan=plan, year=year, period=period).state == "submitted"
