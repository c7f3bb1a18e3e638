"""Every kind of page under the Content-Security-Policy, in headless Chromium, for each role.

An init script records every ``securitypolicyviolation`` event before any of the page's own
scripts run, and the console is watched for CSP errors; a page fails on either. Finance walks
every kind of HTML page of the project (plan list, plan page, the list, detail, history, add,
edit and delete pages of two record kinds, month-end, workbook pages, dashboards, report,
commentary); a director and a scrutiny member every such page they may open and the page that
refuses them the rest. Every page of every kind, as each role is served it, is checked for the
policy's header and for inline code by tests/test_url_access.py. The charts are drawn and
hovered. Then the pages the walk cannot reach by GET: the month-end page with errors, a
workbook upload and its preview, the sign-in and lockout pages, the admin with its
one-time-password sign-in, and error pages.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from plans.models import Plan
from tests.browser import PolicyWatch, log_in, submit
from tests.test_url_access import (
    ANY_SIGNED_IN,
    READ,
    REDIRECTS,
    classify,
    expected_get,
    make_world,
    project_urls,
    url_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Files, not pages: the browser downloads them (their CSP header is checked in
# tests/recovery/test_csp.py). The commentary URL only takes a POST.
NOT_PAGES = {
    "plans:plan_export",
    "plans:workbook_template",
    "dashboards:report_xlsx",
    "dashboards:report_pdf",
    "dashboards:commentary",
    "dashboards:published_pdf",
    "dashboards:published_xlsx",
    # POST-only: the steps of the month's close and restoring a deleted record.
    "dashboards:month_submit",
    "dashboards:month_withdraw",
    "dashboards:month_return",
    "dashboards:month_signoff",
    "dashboards:month_publish",
    "dashboards:month_reopen",
    "dashboards:month_republish",
    "plans:deletion_restore",
}


# Every record kind is served by the same five templates (list, detail, form, history, delete)
# and the same scripts: the browser walks every page of two kinds, one of them the placement
# moves with their own form, and the pages of the rest are checked as served, for every role,
# by tests/test_url_access.py (the header, and no inline code).
WALKED_RECORDS = ("line", "placementmove")
RECORD_PAGES = ("_list", "_create", "_detail", "_edit", "_delete", "_history")


def walked(name: str, names: set[str]) -> bool:
    """Whether the browser walks the page ``name``: any page but a record kind's (a kind with
    all six pages among ``names``, the plan itself aside) not in WALKED_RECORDS."""
    kind = name.removeprefix("plans:").rpartition("_")[0]
    record = all(f"plans:{kind}{page}" in names for page in RECORD_PAGES)
    return not record or kind == "plan" or kind in WALKED_RECORDS


@pytest.fixture
def world(seeded):
    mtfs = Plan.objects.get(authority__slug="torbay", code="mtfs-2017-21")
    return make_world(mtfs, mtfs.authority)


def html_pages(world, role: str = "finance") -> list[str]:
    """The pages ``role`` walks: every HTML page for finance (who may open them all); for a
    director and a scrutiny member, the pages they may open (tests/test_url_access.py says
    which) and one page refused them: every refusal is the same 403 page, walked once."""
    paths, refused = [], []
    names = {name for name, _ in project_urls()}
    for name, converters in project_urls():
        if name in NOT_PAGES or not walked(name, names):
            continue
        path = url_for(name, converters, world)
        kind = READ if name in ANY_SIGNED_IN | REDIRECTS else classify(name)
        if role != "finance" and 200 not in expected_get(kind, role, name):
            refused.append(path)
            continue
        paths.append(path)
    mtfs = world["plan"]
    month = "?year=2017/18&period=8"
    paths += [
        reverse("dashboards:plan_dashboard", args=[mtfs.pk]) + month,
        reverse("dashboards:report", args=[mtfs.pk]) + month,
    ]
    month_end = reverse("plans:month_end", args=[mtfs.pk]) + month
    paths.append(month_end if role == "finance" else refused[0])
    barking = Plan.objects.get(authority__slug="barking-dagenham")
    paths.append(reverse("dashboards:plan_dashboard", args=[barking.pk]))
    return paths


@pytest.mark.parametrize("role", ["finance", "director", "scrutiny"])
def test_every_page_loads_under_the_policy_for_each_role(chromium_page, live_server, world, role):
    watch = PolicyWatch(chromium_page, live_server.url)
    user = world["users"][role]
    # Barking's dashboard (one chart panel per service area) is another authority's: read
    # here through an administrator's grant.
    from recovery.models import Authority

    user.granted_authorities.add(Authority.objects.get(slug="barking-dagenham"))
    log_in(chromium_page, live_server, user.username)
    watch.collect("sign-in")
    for path in html_pages(world, role):
        watch.visit(path)
    watch.assert_clean()


def test_forms_with_errors_workbook_preview_and_sign_in_pages(
    chromium_page, live_server, world, tmp_path, settings
):
    page, base = chromium_page, live_server.url
    watch = PolicyWatch(page, base)
    mtfs = world["plan"]
    finance = world["users"]["finance"]

    watch.visit(reverse("login"))
    # A wrong password, then the lockout page (django-axes) for a user who keeps trying.
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        page.fill("#id_username", "no-such-officer")
        page.fill("#id_password", "wrong")
        submit(page, "button[type=submit]")
        watch.collect("failed sign-in")
        if "Signing in is paused" in page.content():
            break
    assert "Signing in is paused" in page.content()

    log_in(page, live_server, finance.username)
    # The month-end page with a bad cell: errors marked on the field.
    watch.visit(reverse("plans:month_end", args=[mtfs.pk]) + "?year=2017/18&period=7")
    page.locator("table.month-end input[name$=achieved_to_date]").first.fill("12..5k")
    submit(page, "button:has-text('Save P7')")
    assert "Nothing was saved" in page.content()
    watch.collect("month-end with an error")
    # A record form with an error.
    watch.visit(reverse("plans:line_create", args=[mtfs.pk]))
    submit(page, "button:has-text('Save')")
    watch.collect("savings line form with errors")

    # A workbook upload and its preview: the plan's own workbook, back into it.
    client = Client()
    client.force_login(finance)
    workbook = tmp_path / "mtfs.xlsx"
    workbook.write_bytes(client.get(reverse("plans:plan_export", args=[mtfs.pk])).content)
    watch.visit(reverse("plans:plan_import_into", args=[mtfs.pk]))
    page.set_input_files("input[type=file]", str(workbook))
    submit(page, "main form[enctype] button[type=submit]")
    assert "/import/" in page.url or "confirm" in page.url
    watch.collect("workbook preview")

    # Error pages as production serves them (with DEBUG on, Django's own debug pages answer).
    settings.DEBUG = False
    watch.visit("/no-such-page/")
    assert "Page not found" in page.content() or "not found" in page.content().lower()
    watch.visit(reverse("plans:plan_delete", args=[mtfs.pk]).replace(str(mtfs.pk), "999999"))
    log_in(page, live_server, world["users"]["scrutiny"].username)
    watch.visit(reverse("plans:month_end", args=[mtfs.pk]))  # 403 for a councillor
    watch.assert_clean()


def test_admin_and_its_one_time_password_sign_in(
    chromium_page, live_server, world, django_user_model
):
    from django_otp.plugins.otp_static.models import StaticDevice

    page, base = chromium_page, live_server.url
    watch = PolicyWatch(page, base)
    root = django_user_model.objects.create_superuser("root-csp", password="pw")
    device = StaticDevice.objects.create(user=root, name="backup", confirmed=True)
    device.token_set.create(token="csp123")

    watch.visit(reverse("admin:login"))
    page.fill("#id_username", "root-csp")
    page.fill("#id_password", "pw")
    page.fill("#id_otp_token", "csp123")
    submit(page, "input[type=submit], button[type=submit]")
    assert "/admin/login/" not in page.url, page.content()[:2000]
    watch.collect("admin index")

    line = world["objects"]["line"]
    for path in [
        reverse("admin:plans_savingsline_changelist"),
        reverse("admin:plans_savingsline_changelist") + "?q=adoption",
        reverse("admin:plans_savingsline_change", args=[line.pk]),
        reverse("admin:plans_savingsline_history", args=[line.pk]),
        reverse("admin:plans_plan_changelist"),
        reverse("admin:plans_plan_change", args=[world["plan"].pk]),
        reverse("admin:recovery_user_changelist"),
        reverse("admin:recovery_user_add"),
        reverse("admin:otp_totp_totpdevice_add"),
        reverse("admin:axes_accessattempt_changelist"),
        reverse("admin:password_change"),
    ]:
        watch.visit(path)
    watch.assert_clean()
