"""The figures cached by the plan's data version (plans.cache): the dashboard, report, downloads
and the plan list's totals.

Every way of changing a plan's records must show at once: after each write the cached page
equals the page built afresh. Nothing of one reader reaches another: the commentary form
stays the reader's own, and another authority's plan is a 404 whatever is cached.
"""

import re
from decimal import Decimal

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.db import connection
from django.test import RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from plans import models as m
from plans import month_end, services
from recovery import fiscal
from recovery.money import parse_amount
from tests.dashboards.conftest import build_plan
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("figure_cache")]

NONE = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
# The cached page: session (1), the user with its role (1: recovery.backends reads the role's
# group with the user), the plan with its authority (1, the navbar's too). The figures (19
# queries), the calendar (4) and the month's close panel (its state, commentary by role,
# published versions: 3) come from the cache; the session is not saved again on every request
# (recovery.middleware).
CACHED_QUERIES = 3


@pytest.fixture
def small(authority):
    return build_plan(authority, 3, months=3, code="cached")


def dashboard(plan, **query):
    url = reverse("dashboards:plan_dashboard", args=[plan.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def page(client, url) -> str:
    """The page without what differs from request to request (CSRF token, CSP nonce)."""
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    return re.sub(r'nonce="[^"]+"', "", html)


def assert_fresh(client, plan, **query) -> str:
    """The page as served (from the cache if it holds it) equals the page built afresh."""
    served = page(client, dashboard(plan, **query))
    with override_settings(CACHES=NONE):
        built = page(client, dashboard(plan, **query))
    assert served == built
    return served


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_a_second_look_reads_the_figures_from_the_cache(client, director, small):
    client.force_login(director)
    first = queries(client, dashboard(small))
    assert queries(client, dashboard(small)) == CACHED_QUERIES < first
    assert_fresh(client, small)


def latest_entry(plan, line_index=0):
    line = plan.lines.order_by("pk")[line_index]
    return line.progress.order_by("-as_at").first()


def test_an_updated_record_shows_at_once(client, director, small):
    client.force_login(director)
    assert "£987,654" not in assert_fresh(client, small)
    entry = latest_entry(small)
    entry.achieved_to_date = Decimal("987654")
    services.update_record(
        instance=entry, user=director, expected_version=entry.version, reason="Corrected"
    )
    assert "£987,654" in assert_fresh(client, small)


def test_a_new_record_moves_the_page_to_its_month(client, director, small):
    client.force_login(director)
    assert "P4" not in page(client, dashboard(small)).split("as at <strong>")[1][:20]
    line = small.lines.order_by("pk")[0]
    entry = m.ProgressEntry(
        line=line, as_at=fiscal.period_end("2017/18", 4), achieved_to_date=Decimal("987654")
    )
    services.create_record(instance=entry, user=director)
    html = assert_fresh(client, small)
    assert "as at <strong>P4" in html and "£987,654" in html


def test_a_deleted_record_shows_at_once(client, director, small):
    client.force_login(director)
    assert "Achieved £9,000" in assert_fresh(client, small)  # 3 lines x £3,000 at P3
    services.delete_record(instance=latest_entry(small), user=director)
    assert "Achieved £8,000" in assert_fresh(client, small)


def test_records_created_in_bulk_show_at_once(client, director, small):
    client.force_login(director)
    assert_fresh(client, small, year="2017/18", period=4)
    entries = [
        m.ProgressEntry(
            line=line,
            as_at=fiscal.period_end("2017/18", 4),
            year="2017/18",
            achieved_to_date=Decimal("987654"),
        )
        for line in small.lines.order_by("pk")
    ]
    services.create_many(m.ProgressEntry, entries, user=director, reason="Bulk")
    assert "£987,654" in assert_fresh(client, small, year="2017/18", period=4)


def test_a_line_and_its_amounts_saved_together_show_at_once(client, finance_manager, small):
    client.force_login(finance_manager)
    assert_fresh(client, small)
    line = small.lines.order_by("pk")[0]
    services.save_line(
        line=line,
        amounts={"2017/18": parse_amount("£987,654")},
        user=finance_manager,
        expected_version=line.version,
        reason="Revised",
    )
    assert "£987,654" in assert_fresh(client, small)


def test_commentary_written_on_the_dashboard_shows_at_once(client, director, small):
    client.force_login(director)
    assert_fresh(client, small)
    sel = {"year": "2017/18", "period": "3"}
    response = client.post(
        reverse("dashboards:commentary", args=[small.pk]),
        {**sel, "body": "Placements are turning the corner."},
    )
    assert response.status_code == 302
    client.get(response.url)  # the page with its "saved" message
    assert "Placements are turning the corner." in assert_fresh(client, small)


def test_the_month_end_update_shows_at_once(client, finance_manager, small):
    client.force_login(finance_manager)
    assert_fresh(client, small)
    line = small.lines.order_by("pk")[0]
    month_end.save(
        plan=small,
        year="2017/18",
        period=4,
        user=finance_manager,
        lines=[month_end.LineInput(line.pk, None, Decimal("987654"), None, "", "")],
        forecast=None,
        kpis=[],
    )
    html = assert_fresh(client, small)
    assert "as at <strong>P4" in html and "£987,654" in html


def test_a_workbook_imported_into_the_plan_shows_at_once(client, director, small, tmp_path):
    from tests.plans.workbook_files import header_column, set_cells, sheet_rows

    client.force_login(director)
    assert_fresh(client, small)
    path = tmp_path / "plan.xlsx"
    call_command("export_plan", str(small.pk), str(path))
    data = path.read_bytes()
    line = small.lines.order_by("pk")[0]
    row = next(
        i for i, r in enumerate(sheet_rows(data, "Savings lines"), 1) if r[0] == line.reference
    )
    title = header_column(data, "Savings lines", "Title")
    path.write_bytes(set_cells(data, "Savings lines", {f"{title}{row}": "Edge of care, renamed"}))
    call_command("import_plan", str(path), "--into", str(small.pk))
    assert "Edge of care, renamed" in assert_fresh(client, small)


def test_an_administrators_change_shows_at_once(client, director, small):
    client.force_login(director)
    assert_fresh(client, small)
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    request = RequestFactory().post("/admin/")
    request.user = root
    entries = admin.site._registry[m.ProgressEntry]

    entry = latest_entry(small)
    entry.achieved_to_date = Decimal("987654")
    entries.save_model(request, entry, None, change=True)
    assert "£987,654" in assert_fresh(client, small)

    entries.delete_model(request, latest_entry(small))
    assert "£987,654" not in assert_fresh(client, small)

    entries.delete_queryset(request, m.ProgressEntry.objects.filter(line__plan=small))
    assert "Achieved £" not in assert_fresh(client, small)


def test_the_authoritys_child_population_is_part_of_the_key(client, director, small):
    client.force_login(director)
    warm = queries(client, dashboard(small))
    assert queries(client, dashboard(small)) == CACHED_QUERIES
    small.authority.child_population += 1000
    small.authority.save()
    assert queries(client, dashboard(small)) == warm
    assert_fresh(client, small)


def test_a_plan_saved_from_an_old_copy_never_reuses_a_data_version(director, small):
    """A counter would go back to a used value when a plan read earlier is saved: the data
    version is a fresh random value after every write, the plan's own included."""
    stale = m.Plan.objects.get(pk=small.pk)
    seen = {stale.data_version}
    entry = latest_entry(small)
    entry.commentary = "A note"
    services.update_record(instance=entry, user=director, expected_version=entry.version)
    small.refresh_from_db()
    seen.add(small.data_version)
    stale.title = "Renamed from a copy read before the note"
    services.update_record(instance=stale, user=director, expected_version=stale.version)
    small.refresh_from_db()
    assert small.data_version not in seen and len(seen) == 2


def test_nothing_of_one_reader_reaches_another(client, users, small):
    """The director warms the cache; the scrutiny member is sent to the published reports
    (never the live figures), finance gets their own form, another authority gets a 404."""
    client.force_login(users["director"])
    assert "Write the director" in page(client, dashboard(small))
    client.force_login(users["scrutiny"])
    response = client.get(dashboard(small))
    assert response.status_code == 302 and "/published/" in response.url
    client.force_login(users["finance"])
    html = page(client, dashboard(small))
    assert "Write the finance commentary" in html and "director's commentary for" not in html
    client.force_login(users["outsider"])
    assert client.get(dashboard(small)).status_code == 404


def test_a_reader_granted_another_authority_sees_its_figures_read_only(
    client, users, small, other_authority
):
    """An administrator's grant lets a reader see the plan's figures (the same for every
    reader, so from the cache) but never its commentary form."""
    client.force_login(users["director"])
    page(client, dashboard(small))
    reader = UserFactory(username="granted", authority=other_authority, role="director")
    reader.granted_authorities.add(small.authority)
    client.force_login(reader)
    html = page(client, dashboard(small))
    assert small.title in html and "commentary-form" not in html


def test_the_month_close_shows_at_once(client, director, finance_manager, small):
    """The close panel is cached with the figures: each step renews the data version."""
    client.force_login(director)
    year, period = "2017/18", 3
    url = dashboard(small, year=year, period=period)
    assert "P3 Jun 2017: Open" in page(client, url)
    services.submit_month(
        plan=small, year=year, period=period, user=finance_manager, expected_version=0
    )
    html = page(client, url)
    assert "P3 Jun 2017: Submitted" in html and "Sign off" in html
    with override_settings(CACHES=NONE):
        assert page(client, url) == html


def test_the_report_and_its_downloads_are_cached_and_show_changes_at_once(client, director, small):
    client.force_login(director)
    report = reverse("dashboards:report", args=[small.pk])
    xlsx = reverse("dashboards:report_xlsx", args=[small.pk])
    first = {url: queries(client, url) for url in (report, xlsx)}
    # Again: the session, user with its role and plan (3) and the calendar from the cache.
    assert {url: queries(client, url) for url in (report, xlsx)} == {report: 3, xlsx: 3}
    assert all(n > 3 for n in first.values())
    before = client.get(xlsx).content
    assert "£987,654" not in page(client, report)
    entry = latest_entry(small)
    entry.achieved_to_date = Decimal("987654")
    services.update_record(
        instance=entry, user=director, expected_version=entry.version, reason="Corrected"
    )
    assert "£987,654" in page(client, report)
    assert client.get(xlsx).content != before


def test_the_plan_lists_totals_are_cached_and_show_changes_at_once(client, finance_manager, small):
    """The plan list's totals per plan come from the cache while the plan's data version
    stands (session, user with its role, the authorities shown, the count and the page, the
    navbar's authority: 6 queries, where the totals cost 3 more), and a change to the plan
    shows at once."""
    client.force_login(finance_manager)
    url = reverse("plans:plan_list")

    def fresh() -> str:
        served = page(client, url)
        with override_settings(CACHES=NONE):
            assert page(client, url) == served
        return served

    client.get(reverse("plans:plan_detail", args=[small.pk]))  # the session saved
    assert queries(client, url) == 9
    assert queries(client, url) == 6
    before = fresh()
    entry = latest_entry(small)
    entry.achieved_to_date += Decimal("987654")
    services.update_record(
        instance=entry, user=finance_manager, expected_version=entry.version, reason="Corrected"
    )
    assert queries(client, url) == 9
    assert fresh() != before


def test_the_keys_change_with_the_code_that_renders_what_is_cached(tmp_path, settings):
    # A cache shared across a deploy (Redis, the database) must not serve a fragment the old
    # templates rendered: the keys hold a fingerprint of the code and templates.
    from plans import cache as plan_cache

    (tmp_path / "templates").mkdir()
    page = tmp_path / "templates" / "page.html"
    page.write_text("<p>one</p>")
    settings.BASE_DIR = tmp_path
    before = plan_cache._code_version()
    page.write_text("<p>two</p>")
    assert plan_cache._code_version() != before
    assert len(plan_cache.KEY_VERSION) == 16
