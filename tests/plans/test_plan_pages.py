from decimal import Decimal

import pytest
from django.urls import reverse

from plans.models import Plan
from tests.factories import PlanFactory, PlannedAmountFactory, SavingsLineFactory

pytestmark = pytest.mark.django_db


def test_every_page_needs_login(client, mtfs):
    for url in [reverse("plans:plan_list"), reverse("plans:plan_detail", args=[mtfs.pk])]:
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_login_page_is_public_and_labelled(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'<label for="id_username"' in response.content


def test_torbay_finance_sees_torbay_plans_only(client, torbay_users):
    client.force_login(torbay_users["finance"])
    response = client.get(reverse("plans:plan_list"))
    assert response.status_code == 200
    html = response.content.decode()
    torbay_titles = list(
        Plan.objects.filter(authority__slug="torbay").values_list("title", flat=True)
    )
    assert len(torbay_titles) == 3
    for title in torbay_titles:
        assert title.replace("'", "&#x27;") in html
    for other in Plan.objects.exclude(authority__slug="torbay"):
        assert other.title.replace("'", "&#x27;") not in html


def test_plan_list_shows_mtfs_totals(client, torbay_users):
    client.force_login(torbay_users["director"])
    html = client.get(reverse("plans:plan_list")).content.decode()
    assert "£4,908,000 – £6,558,000" in html
    # Across its years a line counts once a year (found walking the app: "0 of 39 lines" of
    # a plan of 16 lines).
    assert "0 of 39 line-years" in html and "of 39 lines" not in html


def test_another_authoritys_plan_is_404_for_every_role(client, torbay_users, seeded):
    telford_plan = Plan.objects.get(authority__slug="telford")
    for user in torbay_users.values():
        client.force_login(user)
        assert client.get(reverse("plans:plan_detail", args=[telford_plan.pk])).status_code == 404


def test_user_without_role_or_authority_sees_nothing(client, django_user_model, mtfs):
    nobody = django_user_model.objects.create_user("nobody", password="pw")
    client.force_login(nobody)
    assert client.get(reverse("plans:plan_detail", args=[mtfs.pk])).status_code == 404
    assert "No plans" in client.get(reverse("plans:plan_list")).content.decode()


def test_superuser_sees_every_authority(client, django_user_model, seeded):
    admin = django_user_model.objects.create_superuser("root", password="pw")
    client.force_login(admin)
    html = client.get(reverse("plans:plan_list")).content.decode()
    assert "Telford" in html and "Barking" in html and "Torbay" in html


def test_plan_page_shows_lines_by_year_and_reconciliation(client, torbay_users, mtfs):
    client.force_login(torbay_users["director"])
    html = client.get(reverse("plans:plan_detail", args=[mtfs.pk])).content.decode()
    assert "2017/18" in html and "2020/21" in html
    assert "£1,578,000" in html  # planned 2017/18
    assert "£789,000" in html  # in-year adjusted
    assert "£50,000 – £600,000" in html  # CLA reduction range
    assert "TBC" in html
    assert "Totals stated in the paper" in html


def _plan_with_lines(authority, n):
    plan = PlanFactory(authority=authority)
    for _ in range(n):
        line = SavingsLineFactory(plan=plan)
        for year in ("2017/18", "2018/19"):
            PlannedAmountFactory(line=line, year=year, low=Decimal("1000"), high=Decimal("1000"))
    return plan


def test_plan_pages_run_a_fixed_number_of_queries(
    client, finance_manager, django_assert_num_queries
):
    small = _plan_with_lines(finance_manager.authority, 3)
    client.force_login(finance_manager)
    counts = {}
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for label, plan in (
        ("small", small),
        ("large", _plan_with_lines(finance_manager.authority, 60)),
    ):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("plans:plan_detail", args=[plan.pk])).status_code == 200
        counts[label] = len(ctx.captured_queries)
    assert counts["small"] == counts["large"]
    with CaptureQueriesContext(connection) as ctx:
        client.get(reverse("plans:plan_list"))
    list_queries = len(ctx.captured_queries)
    _plan_with_lines(finance_manager.authority, 20)
    with CaptureQueriesContext(connection) as ctx:
        client.get(reverse("plans:plan_list"))
    assert len(ctx.captured_queries) == list_queries


def test_plan_page_follows_the_one_latest_progress_rule(client, finance_manager):
    from datetime import date

    from plans import figures as fg
    from tests.factories import ProgressEntryFactory

    line = SavingsLineFactory(plan__authority=finance_manager.authority, reference="SAV-9")
    PlannedAmountFactory(line=line, year="2017/18", low=Decimal("100000"))
    ProgressEntryFactory(line=line, as_at=date(2017, 9, 30), achieved_to_date=Decimal("60000"))
    # A later comment-only entry hides nothing: the page, its totals and the dashboard agree.
    ProgressEntryFactory(
        line=line, as_at=date(2017, 10, 31), achieved_to_date=None, commentary="On track"
    )
    client.force_login(finance_manager)
    html = client.get(reverse("plans:plan_detail", args=[line.plan.pk])).content.decode()
    assert "£60,000" in html and "at 30 Sep 2017" in html
    f = fg.plan_figures(line.plan, fg.plan_calendar(line.plan)[1])
    assert f.sel == fg.Selection("2017/18", 7)
    assert f.year.achieved == Decimal("60000") == f.lines[0].achieved
    assert f.lines[0].commentary == "On track"


def test_plan_page_shows_the_papers_doubts_and_unknowns(client, torbay_users, mtfs):
    client.force_login(torbay_users["director"])
    html = client.get(reverse("plans:plan_detail", args=[mtfs.pk])).content.decode()
    assert "Where the paper disagrees with itself" in html
    assert "£174k" in html and "173k" in html
    assert "not reported" in html and "not known" in html  # achieved and gap, never £0


def test_plan_list_is_sorted_and_paged_by_the_database(client, finance_manager):
    """30 plans: 25 on the first page and 5 on the second, each with its own totals; sorted
    by the words shown (kind, status), not by the codes stored."""
    from plans.models import Plan

    kinds = [Plan.Kind.MTFS, Plan.Kind.RECOVERY, Plan.Kind.FIVE_YEAR]
    for i in range(30):
        plan = PlanFactory(
            authority=finance_manager.authority, code=f"p{i:02d}", title=f"Plan {i:02d}"
        )
        Plan.objects.filter(pk=plan.pk).update(kind=kinds[i % 3])
        line = SavingsLineFactory(plan=plan)
        PlannedAmountFactory(
            line=line, year="2017/18", low=Decimal(1000 + i), high=Decimal(1000 + i)
        )
    client.force_login(finance_manager)
    url = reverse("plans:plan_list")
    first = client.get(url).content.decode()
    second = client.get(url, {"page": 2}).content.decode()
    assert first.count("<tr ") + second.count("<tr ") >= 30
    assert "Plan 24" in first and "Plan 25" not in first
    assert "Plan 29" in second and "£1,029" in second and "Plan 00" not in second
    assert "30 plans" in first

    by_kind = client.get(url, {"sort": "kind"}).content.decode()
    labels = [str(label) for value, label in Plan.Kind.choices if value in kinds]
    positions = [by_kind.index(label) for label in sorted(labels)]
    assert positions == sorted(positions)


def test_a_plan_with_thousands_of_narrative_sections_shows_the_first_and_links_to_all(
    client, finance_manager
):
    # Found walking the app: a workbook's 30,000 narrative rows made the plan's page 32 MB.
    from plans.models import NarrativeSection
    from plans.views.pages import SECTIONS_SHOWN

    plan = PlanFactory(authority=finance_manager.authority)
    NarrativeSection.objects.bulk_create(
        NarrativeSection(plan=plan, order=n, heading=f"Section {n}", body="Text.")
        for n in range(1, 61)
    )
    client.force_login(finance_manager)
    page = client.get(reverse("plans:plan_detail", args=[plan.pk])).content.decode()
    assert f"Section {SECTIONS_SHOWN}<" in page and f"Section {SECTIONS_SHOWN + 1}<" not in page
    assert "All 60 narrative sections" in page
    assert reverse("plans:section_list", args=[plan.pk]) in page
