"""The month-end page of a long plan in pages of lines, and a colleague's first save shown as
a conflict.

A page shows at most ``LINES_PER_PAGE`` lines, the whole plan's figures above them and a
pager; its query count does not grow with the plan; a save writes only the lines of its page.
Two officers who open the same month and both save first figures for a line: the second is
shown what the first saved, on that line, and that nothing of theirs was saved.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from plans import models as m
from plans import month_end, services
from tests.dashboards.conftest import build_plan
from tests.factories import (
    KPIFactory,
    PlannedAmountFactory,
    ProgressEntryFactory,
    SavingsLineFactory,
    UserFactory,
    WorkstreamFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal
OCTOBER = date(2017, 10, 31)
PER_PAGE = month_end.LINES_PER_PAGE


def url(plan, page=None):
    base = reverse("plans:month_end", args=[plan.pk]) + "?year=2017/18&period=7"
    return base + (f"&page={page}" if page else "")


@pytest.fixture
def long_plan(plan):
    """A plan of 2½ pages of lines in two workstreams, each line with a target."""
    first, second = WorkstreamFactory(plan=plan, order=1), WorkstreamFactory(plan=plan, order=2)
    for i in range(PER_PAGE * 2 + PER_PAGE // 2):
        line = SavingsLineFactory(
            plan=plan,
            reference=f"L-{i:03}",
            order=i,
            workstream=first if i < PER_PAGE + 10 else second,
        )
        PlannedAmountFactory(line=line, year="2017/18", low=D("1000"), high=D("1000"))
    KPIFactory(plan=plan, name="Children looked after")
    return plan


def page_lines(response) -> list[m.SavingsLine]:
    return [row.line for row, _ in response.context["line_forms"]]


def test_a_long_plan_is_shown_a_page_of_lines_at_a_time(client, finance_manager, long_plan):
    client.force_login(finance_manager)
    total = PER_PAGE * 2 + PER_PAGE // 2
    first = client.get(url(long_plan))
    html = first.content.decode()
    assert len(page_lines(first)) == PER_PAGE
    assert html.count('name="line-') // 6 == PER_PAGE  # six fields a line
    assert f"Lines 1–{PER_PAGE} of {total} (page 1 of 3)" in html
    assert 'aria-label="Pages of savings lines"' in html and "&amp;page=2" in html
    # The whole plan's figures, whichever page: every line's target.
    assert f"{total} lines" in html and f"£{total * 1000:,}" in html
    assert "Overspend forecast for" in html and "Children looked after" in html
    assert f"Save P7 Oct 2017 (lines 1–{PER_PAGE})" in html

    last = client.get(url(long_plan, 3))
    html = last.content.decode()
    assert [line.reference for line in page_lines(last)] == [
        f"L-{i:03}" for i in range(PER_PAGE * 2, total)
    ]
    assert f"£{total * 1000:,}" in html  # still the whole plan's total
    assert "Overspend forecast for" not in html and "are on <a" in html
    # A page past the end shows the last; a mangled one the first.
    assert page_lines(client.get(url(long_plan, 99))) == page_lines(last)
    assert len(page_lines(client.get(url(long_plan) + "&page=x"))) == PER_PAGE


def test_saving_one_page_touches_no_line_of_another(client, finance_manager, long_plan):
    client.force_login(finance_manager)
    on_page_one = m.SavingsLine.objects.get(plan=long_plan, reference="L-000")
    theirs = ProgressEntryFactory(line=on_page_one, as_at=OCTOBER, achieved_to_date=D("700"))
    page = client.get(url(long_plan, 2))
    lines = page_lines(page)
    assert on_page_one not in lines
    data = {
        "year": "2017/18",
        "period": "7",
        "page": "2",
        "lines": ",".join(str(line.pk) for line in lines),
    }
    for line in lines:
        data |= {
            f"line-{line.pk}-achieved_to_date": "500",
            f"line-{line.pk}-basis": "achieved",
            f"line-{line.pk}-rag": "green",
        }
    response = client.post(url(long_plan, 2), data)
    assert response.status_code == 302 and response["Location"].endswith("&page=2")
    saved = m.ProgressEntry.objects.filter(line__plan=long_plan, as_at=OCTOBER)
    assert set(saved.values_list("line_id", flat=True)) == {line.pk for line in lines} | {
        on_page_one.pk
    }
    theirs_now = m.ProgressEntry.objects.get(pk=theirs.pk)
    assert (theirs_now.version, theirs_now.achieved_to_date) == (theirs.version, D("700"))
    assert not m.OverspendForecast.objects.filter(plan=long_plan).exists()


def test_a_save_writes_the_lines_its_page_showed_even_if_lines_moved(
    client, finance_manager, long_plan
):
    """A line added at the top after the page was opened shifts every page by one: the save
    still writes exactly the lines the officer saw."""
    client.force_login(finance_manager)
    lines = page_lines(client.get(url(long_plan, 2)))
    top = WorkstreamFactory(plan=long_plan, order=0)
    SavingsLineFactory(plan=long_plan, reference="A-NEW", workstream=top)
    assert page_lines(client.get(url(long_plan, 2))) != lines
    data = {"year": "2017/18", "period": "7", "page": "2"}
    data["lines"] = ",".join(str(line.pk) for line in lines)
    for line in lines:
        data |= {f"line-{line.pk}-basis": "achieved", f"line-{line.pk}-commentary": "seen"}
    assert client.post(url(long_plan, 2), data).status_code == 302
    saved = m.ProgressEntry.objects.filter(line__plan=long_plan, as_at=OCTOBER)
    assert set(saved.values_list("line_id", flat=True)) == {line.pk for line in lines}


def test_a_save_naming_another_plans_line_or_no_page_is_refused(
    client, finance_manager, long_plan, authority
):
    client.force_login(finance_manager)
    elsewhere = SavingsLineFactory(plan=build_plan(authority, 1, months=0, code="other"))
    for extra in (
        {"page": "2", "lines": str(elsewhere.pk)},
        {"page": "9", "lines": ""},
        {"page": "two", "lines": ""},
        {"page": "1", "lines": "1;2"},
        {"page": "1", "lines": "99999999999999999999"},  # beyond any key: was a 500
        {"page": "1", "lines": "9,-3"},
    ):
        response = client.post(url(long_plan), {"year": "2017/18", "period": "7", **extra})
        assert response.status_code == 400, extra
    assert not m.ProgressEntry.objects.filter(as_at=OCTOBER).exists()


# The month-end page of a plan of any length: session and user with its role (2: recovery.backends),
# the plan (1), the plan's latest month (as-at rule, 4), the page's count and lines (2), their
# targets and entries (2), the month's forecasts, KPIs and KPI points (3), placement types, counts
# and moves (3), the whole plan's year totals (3: amounts, adjustments, progress) and lines saved
# this month (1), the month's close state (1). The navbar's authority comes with the plan and the
# session is not saved on every request (recovery.middleware): 4 fewer.
MONTH_END_QUERIES = 22


def test_the_month_end_query_count_does_not_grow_with_the_plan(client, finance_manager):
    client.force_login(finance_manager)
    counts = []
    for n in (3, PER_PAGE + 30):
        plan = build_plan(finance_manager.authority, n, months=6, code=f"q{n}")
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url(plan))
        assert response.status_code == 200
        assert len(page_lines(response)) == min(n, PER_PAGE)
        counts.append(len(ctx.captured_queries))
    assert counts == [MONTH_END_QUERIES, MONTH_END_QUERIES], counts


# A colleague's first save for a line, in between.


@pytest.fixture
def two_officers(authority, plan):
    line = SavingsLineFactory(plan=plan, reference="CHS/SAV/34", title="Adoption")
    PlannedAmountFactory(line=line, year="2017/18", low=D("100000"), high=D("100000"))
    anna = UserFactory(username="anna", authority=authority, role="finance", first_name="Anna")
    ben = UserFactory(username="ben", authority=authority, role="finance", first_name="Ben")
    clients = {}
    for user in (anna, ben):
        clients[user.username] = Client()
        clients[user.username].force_login(user)
    return line, clients


def opened(client, plan) -> dict:
    """The month-end form as the officer's browser would post it back."""
    form = client.get(url(plan)).context
    data = {"year": "2017/18", "period": "7", "page": "1"}
    data["lines"] = ",".join(str(row.line.pk) for row, _ in form["line_forms"])
    for row, f in form["line_forms"]:
        for name, field in f.fields.items():
            value = f.initial.get(name, field.initial)
            data[f"line-{row.line.pk}-{name}"] = "" if value is None else str(value)
    return data


def figures(data, line, achieved, comment):
    p = f"line-{line.pk}"
    return {
        **data,
        f"{p}-achieved_to_date": achieved,
        f"{p}-forecast": "90k",
        f"{p}-rag": "amber",
        f"{p}-commentary": comment,
    }


def assert_shown_as_conflict(response, line):
    html = response.content.decode()
    assert response.status_code == 200
    assert "correct the fields marked below" not in html
    assert (
        "Nothing was saved: a colleague saved P7 Oct 2017 figures for 1 line (CHS/SAV/34)" in html
    )
    assert "Saved by Anna" in html and "achieved £40,000 (achieved)" in html
    assert "comment “Anna&#x27;s figures”" in html
    assert "Nothing of yours was saved for this line" in html
    assert 'value="55k"' in html  # what Ben typed is still in the box
    entry = m.ProgressEntry.objects.get(line=line, as_at=OCTOBER)
    assert (entry.achieved_to_date, entry.commentary, entry.version) == (
        D("40000"),
        "Anna's figures",
        1,
    )


def test_the_second_first_save_is_shown_the_colleagues_figures(plan, two_officers):
    line, clients = two_officers
    anna_page, ben_page = opened(clients["anna"], plan), opened(clients["ben"], plan)
    assert (
        clients["anna"]
        .post(url(plan), figures(anna_page, line, "40k", "Anna's figures"))
        .status_code
        == 302
    )
    response = clients["ben"].post(url(plan), figures(ben_page, line, "55k", "Ben's figures"))
    assert_shown_as_conflict(response, line)
    # Ben saves again from that page: a deliberate replacement of Anna's figures, and so of a
    # figure already saved for the month: with a reason.
    again = dict(response.context["line_forms"][0][1].data.items())
    again["reason"] = "Anna entered September's figure"
    assert clients["ben"].post(url(plan), again).status_code == 302
    entry = m.ProgressEntry.objects.get(line=line, as_at=OCTOBER)
    assert (entry.achieved_to_date, entry.commentary) == (D("55000"), "Ben's figures")


def test_a_first_save_racing_past_the_lock_is_shown_as_the_same_conflict(
    plan, two_officers, monkeypatch
):
    """Both transactions read "no entry yet" before either wrote (the row lock has no row to
    lock): Anna's entry is met only at the uniqueness check. On PostgreSQL see
    tests/plans/test_concurrency_postgres.py; here the read is made to miss it."""
    line, clients = two_officers
    anna_page, ben_page = opened(clients["anna"], plan), opened(clients["ben"], plan)
    clients["anna"].post(url(plan), figures(anna_page, line, "40k", "Anna's figures"))
    real = m.ProgressEntry.objects.select_for_update
    monkeypatch.setattr(
        m.ProgressEntry.objects, "select_for_update", lambda *a, **k: real(*a, **k).none()
    )
    response = clients["ben"].post(url(plan), figures(ben_page, line, "55k", "Ben's figures"))
    assert_shown_as_conflict(response, line)


def test_the_service_reports_a_colleagues_first_entry_as_a_stale_edit(plan, finance_manager):
    line = SavingsLineFactory(plan=plan)
    theirs = ProgressEntryFactory(line=line, as_at=OCTOBER, achieved_to_date=D("1"))
    mine = m.ProgressEntry(line=line, as_at=OCTOBER, achieved_to_date=D("2"))
    with pytest.raises(services.StaleEdit) as raised:
        month_end._create_first_entry(mine, finance_manager, "Month-end")
    assert raised.value.current == theirs
    # A real mistake in the figures is still a mistake, not a conflict.
    other = SavingsLineFactory(plan=plan)
    wrong = m.ProgressEntry(line=other, as_at=OCTOBER, rag="purple")
    with pytest.raises(Exception) as error:
        month_end._create_first_entry(wrong, finance_manager, "Month-end")
    assert not isinstance(error.value, services.StaleEdit)


def test_a_kpi_goal_with_no_date_is_offered_as_such_not_as_due(client, finance_manager, plan):
    kpi = KPIFactory(plan=plan, name="Caseload")
    m.KpiPoint.objects.create(
        kpi=kpi, kind="target", date=date(2017, 4, 30), value=D("20"), undated=True
    )
    client.force_login(finance_manager)
    [row] = client.get(url(plan)).context["month"].kpis
    assert row.target.value == 20
    html = client.get(url(plan)).content.decode()
    assert '20 <span class="small text-muted">no date given</span>' in html
    assert "by Apr 2017" not in html
