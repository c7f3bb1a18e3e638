"""The workbook pages: template, export, and upload -> preview -> confirm, with access rules."""

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from plans import workbook
from plans.models import PendingImport, Plan
from plans.workbook_views import SESSION_KEY
from tests.factories import UserFactory
from tests.plans.workbook_files import minimal_workbook, set_cells

pytestmark = pytest.mark.django_db
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def upload(client, url, data, name="plan.xlsx"):
    return client.post(url, {"file": SimpleUploadedFile(name, data, content_type=XLSX)})


def token(response):
    return re.search(r'name="token" value="([^"]+)"', response.content.decode()).group(1)


# ---- access


def test_pages_need_login(client, mtfs):
    for url in [
        reverse("plans:workbook_list"),
        reverse("plans:workbook_template"),
        reverse("plans:plan_export", args=[mtfs.pk]),
        reverse("plans:plan_import"),
        reverse("plans:plan_import_into", args=[mtfs.pk]),
        reverse("plans:import_confirm"),
    ]:
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_scrutiny_members_may_not_export_a_plans_live_figures(client, torbay_users, mtfs):
    client.force_login(torbay_users["scrutiny"])  # they read the published reports
    assert client.get(reverse("plans:plan_export", args=[mtfs.pk])).status_code == 403


@pytest.mark.parametrize("role", ["finance", "director"])
def test_finance_and_directors_may_export_and_download_the_template(
    client, torbay_users, mtfs, role
):
    client.force_login(torbay_users[role])
    response = client.get(reverse("plans:plan_export", args=[mtfs.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert response["Content-Disposition"] == 'attachment; filename="torbay-mtfs-2017-21.xlsx"'
    assert "Savings lines" in load_workbook(io.BytesIO(response.content)).sheetnames
    assert client.get(reverse("plans:workbook_template")).status_code == 200
    assert client.get(reverse("plans:workbook_list")).status_code == 200


@pytest.mark.parametrize("role", ["director", "scrutiny"])
def test_only_finance_managers_may_import(client, torbay_users, mtfs, role):
    client.force_login(torbay_users[role])
    data = workbook.export_plan(mtfs)
    assert client.get(reverse("plans:plan_import")).status_code == 403
    assert client.get(reverse("plans:plan_import_into", args=[mtfs.pk])).status_code == 403
    assert (
        upload(client, reverse("plans:plan_import_into", args=[mtfs.pk]), data).status_code == 403
    )
    assert client.get(reverse("plans:import_confirm")).status_code == 403
    assert client.post(reverse("plans:import_confirm"), {"token": "x"}).status_code == 403
    html = client.get(reverse("plans:workbook_list")).content.decode()
    assert "Import into" not in html and "Import a new plan" not in html


def test_another_authoritys_plan_is_404(client, other_seed_users, mtfs):
    telford = other_seed_users["finance"]
    client.force_login(telford)
    assert client.get(reverse("plans:plan_export", args=[mtfs.pk])).status_code == 404
    assert client.get(reverse("plans:plan_import_into", args=[mtfs.pk])).status_code == 404
    assert (
        upload(
            client, reverse("plans:plan_import_into", args=[mtfs.pk]), workbook.export_plan(mtfs)
        ).status_code
        == 404
    )


def test_user_without_a_role_gets_403(client, django_user_model, mtfs):
    nobody = django_user_model.objects.create_user("nobody", password="pw")
    client.force_login(nobody)
    assert client.get(reverse("plans:workbook_template")).status_code == 403
    assert client.get(reverse("plans:plan_export", args=[mtfs.pk])).status_code == 404


def test_finance_manager_cannot_import_a_plan_for_another_authority(client, torbay_users):
    client.force_login(torbay_users["finance"])
    response = upload(client, reverse("plans:plan_import"), minimal_workbook(authority="telford"))
    html = response.content.decode()
    assert "not an authority you can import plans for" in html
    assert "Torbay Council (torbay)" in html
    assert not Plan.objects.filter(code="small-plan").exists()


# ---- the import journey


def test_upload_preview_confirm_creates_the_plan(client, torbay_users):
    client.force_login(torbay_users["finance"])
    page = client.get(reverse("plans:plan_import"))
    assert page.status_code == 200
    assert '<label for="id_file"' in page.content.decode()

    response = upload(
        client,
        reverse("plans:plan_import"),
        minimal_workbook(authority="Torbay Council"),
        name="small plan.xlsx",
    )
    assert response.status_code == 302 and response.url == reverse("plans:import_confirm")
    assert not Plan.objects.filter(code="small-plan").exists()

    preview = client.get(response.url)
    html = preview.content.decode()
    assert preview.status_code == 200
    assert "This creates a new plan" in html and "Small plan" in html
    assert "SAV/2 2017/18: £50,000 – £600,000" in html
    assert '<th scope="col">Sheet</th>' in html
    assert not Plan.objects.filter(code="small-plan").exists()

    done = client.post(reverse("plans:import_confirm"), {"token": token(preview), "confirm": ""})
    plan = Plan.objects.get(authority__slug="torbay", code="small-plan")
    assert done.status_code == 302 and done.url == reverse("plans:plan_detail", args=[plan.pk])
    assert plan.lines.count() == 3
    assert plan.history.latest().history_user == torbay_users["finance"]
    assert plan.history.latest().history_change_reason == "Imported from small plan.xlsx"
    assert SESSION_KEY not in client.session
    page = client.get(done.url)
    assert "Imported small plan.xlsx" in page.content.decode()


def test_errors_page_lists_every_problem_and_saves_nothing(client, torbay_users):
    client.force_login(torbay_users["finance"])
    data = set_cells(
        minimal_workbook(authority="torbay"),
        "Savings lines",
        {"E2": "lots", "D3": "Purple", "A4": "SAV/1"},
    )
    response = upload(client, reverse("plans:plan_import"), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Nothing has been saved" in html
    assert html.count("<tr>") - 1 == 3  # three problems, one header row
    assert "<td>Savings lines</td>" in html and "E (2017/18)" in html
    assert "Duplicate: reference SAV/1 is also on row 2" in html
    assert '<th scope="col">Problem</th>' in html
    assert 'type="file"' in html  # upload the corrected workbook from the same page
    assert SESSION_KEY not in client.session
    assert not Plan.objects.filter(code="small-plan").exists()


def test_not_a_workbook_and_too_big(client, torbay_users, settings):
    client.force_login(torbay_users["finance"])
    response = upload(client, reverse("plans:plan_import"), b"a,b\n1,2\n", name="plan.csv")
    assert "looks like a CSV" in response.content.decode()
    settings.WORKBOOK_MAX_BYTES = 100
    response = upload(client, reverse("plans:plan_import"), b"x" * 101)
    assert response.status_code == 400
    assert "the largest workbook accepted is" in response.content.decode()
    assert client.post(reverse("plans:plan_import"), {}).status_code == 400


def test_import_into_shows_old_and_new_values(client, torbay_users, mtfs):
    client.force_login(torbay_users["finance"])
    data = workbook.export_plan(mtfs)
    wb = load_workbook(io.BytesIO(data))
    ws = wb["Savings lines"]
    headers = [c.value for c in ws[1]]
    row = next(r for r in ws.iter_rows(min_row=2) if r[0].value == "MTFS-01")
    row[headers.index("2017/18")].value = "£150k"
    title = row[headers.index("Title")]
    title.value, title.data_type = "=Reduce IFA usage", "s"  # text that looks like a formula
    last = max(r[0].row for r in ws.iter_rows(min_row=2) if r[0].value == "MTFS-16")
    ws.delete_rows(last)  # a row deleted: its line is kept, and named
    out = io.BytesIO()
    wb.save(out)
    response = upload(client, reverse("plans:plan_import_into", args=[mtfs.pk]), out.getvalue())
    assert response.status_code == 302
    preview = client.get(response.url)
    html = preview.content.decode()
    assert "This updates" in html
    assert "Not in the workbook, so kept as they are" in html and "Savings lines: MTFS-16" in html
    assert "£129,000" in html and "£150,000" in html
    client.post(reverse("plans:import_confirm"), {"token": token(preview), "confirm": ""})
    line = mtfs.lines.get(reference="MTFS-01")
    assert line.amounts.get(year="2017/18").low == 150000
    assert line.title == "=Reduce IFA usage"
    assert line.version == 2 and line.amounts.get(year="2017/18").version == 2
    exported = load_workbook(io.BytesIO(workbook.export_plan(mtfs)))["Savings lines"]
    cell = next(r for r in exported.iter_rows(min_row=2) if r[0].value == "MTFS-01")[
        headers.index("Title")
    ]
    assert cell.value == "'=Reduce IFA usage" and cell.data_type == "s"


def test_unchanged_workbook_has_nothing_to_confirm(client, torbay_users, mtfs):
    client.force_login(torbay_users["finance"])
    response = upload(
        client, reverse("plans:plan_import_into", args=[mtfs.pk]), workbook.export_plan(mtfs)
    )
    html = client.get(response.url).content.decode()
    assert "there is nothing to import" in html
    assert 'name="confirm"' not in html


def test_confirm_needs_the_token_and_can_be_cancelled(client, torbay_users):
    client.force_login(torbay_users["finance"])
    upload(client, reverse("plans:plan_import"), minimal_workbook(authority="torbay"))
    bad = client.post(reverse("plans:import_confirm"), {"token": "forged", "confirm": ""})
    assert bad.status_code == 302
    assert not Plan.objects.filter(code="small-plan").exists()
    preview = client.get(reverse("plans:import_confirm"))
    cancel = client.post(reverse("plans:import_confirm"), {"token": token(preview), "cancel": ""})
    assert cancel.status_code == 302
    assert SESSION_KEY not in client.session
    assert not Plan.objects.filter(code="small-plan").exists()
    nothing = client.get(reverse("plans:import_confirm"))
    assert nothing.status_code == 200
    assert "There is no workbook waiting" in nothing.content.decode()


def test_preview_shown_again_if_the_plan_changed_meanwhile(client, torbay_users, mtfs):
    client.force_login(torbay_users["finance"])
    data = set_cells(
        workbook.export_plan(mtfs), "Savings lines", {"A40": "NEW/1", "C40": "New line"}
    )
    response = upload(client, reverse("plans:plan_import_into", args=[mtfs.pk]), data)
    preview = client.get(response.url)
    mtfs.lines.filter(reference="MTFS-02").update(title="Renamed meanwhile")
    again = client.post(reverse("plans:import_confirm"), {"token": token(preview), "confirm": ""})
    assert again.status_code == 200
    assert "The plan changed after you first saw this preview" in again.content.decode()
    assert not mtfs.lines.filter(reference="NEW/1").exists()
    client.post(reverse("plans:import_confirm"), {"token": token(again), "confirm": ""})
    assert mtfs.lines.filter(reference="NEW/1").exists()


def test_the_uploaded_file_stays_on_the_server(client, torbay_users):
    """Confirmation re-reads the kept upload; nothing posted by the browser is trusted."""
    client.force_login(torbay_users["finance"])
    upload(client, reverse("plans:plan_import"), minimal_workbook(authority="torbay"))
    preview = client.get(reverse("plans:import_confirm"))
    # The session holds a token only; the parsed workbook waits in the database.
    assert isinstance(client.session[SESSION_KEY], str)
    assert PendingImport.objects.get(token=client.session[SESSION_KEY]).filename == "plan.xlsx"
    html = preview.content.decode()
    hidden = set(re.findall(r'type="hidden" name="([^"]+)"', html))
    assert hidden == {"csrfmiddlewaretoken", "token"}  # no copy of the workbook or changes
    client.post(
        reverse("plans:import_confirm"),
        {"token": token(preview), "confirm": "", "data": "forged", "plan": "1"},
    )
    assert Plan.objects.get(code="small-plan").authority.slug == "torbay"


def test_template_download_blank_and_example(client, torbay_users):
    client.force_login(torbay_users["director"])
    blank = client.get(reverse("plans:workbook_template"))
    example = client.get(reverse("plans:workbook_template") + "?example=1")
    assert blank["Content-Disposition"].endswith('plan-workbook-template.xlsx"')
    wb = load_workbook(io.BytesIO(blank.content))
    assert wb["Plan"]["B2"].value == "Torbay Council"
    assert wb["Savings lines"].max_row == 1
    wb = load_workbook(io.BytesIO(example.content))
    assert wb["Savings lines"]["A2"].value == "EX/01"
    assert wb["Plan"]["B2"].value == "Torbay Council"


def test_example_uploaded_by_a_finance_manager_imports(client, torbay_users):
    client.force_login(torbay_users["finance"])
    data = client.get(reverse("plans:workbook_template") + "?example=1").content
    response = upload(client, reverse("plans:plan_import"), data)
    preview = client.get(response.url)
    client.post(reverse("plans:import_confirm"), {"token": token(preview), "confirm": ""})
    plan = Plan.objects.get(authority__slug="torbay", code="example-recovery-2024")
    assert plan.kpis.get(code="cla").points.count() == 3


def test_an_upload_is_parsed_once_and_waits_for_its_owner_only(
    client, torbay_users, monkeypatch, figure_cache
):
    from plans.workbook import parser

    calls = []
    real = parser.parse
    monkeypatch.setattr(
        "plans.workbook.parse", lambda raw: calls.append(1) or real(raw), raising=True
    )
    compared = []
    real_changes = workbook.changes_for
    monkeypatch.setattr(
        "plans.workbook_views.workbook.changes_for",
        lambda *a, **k: compared.append(1) or real_changes(*a, **k),
    )
    client.force_login(torbay_users["finance"])
    upload(client, reverse("plans:plan_import"), minimal_workbook(authority="torbay"))
    preview = client.get(reverse("plans:import_confirm"))
    assert len(compared) == 1  # the preview after the upload shows the upload's comparison
    assert "small-plan" in preview.content.decode()
    client.get(reverse("plans:import_confirm"))
    assert len(calls) == 1  # upload parsed it; the previews compare only
    assert len(compared) == 2  # a reload compares afresh
    # Another finance manager with the same token is shown nothing.
    other = Client()
    other.force_login(UserFactory(authority=torbay_users["finance"].authority, role="finance"))
    session = other.session
    session[SESSION_KEY] = client.session[SESSION_KEY]
    session.save()
    response = other.post(reverse("plans:import_confirm"), {"token": token(preview), "confirm": ""})
    assert response.status_code == 302 and not Plan.objects.filter(code="small-plan").exists()
    client.post(reverse("plans:import_confirm"), {"token": token(preview), "confirm": ""})
    assert len(calls) == 1 and Plan.objects.filter(code="small-plan").exists()
    assert not PendingImport.objects.exists()


def test_a_pending_import_expires(client, torbay_users, settings):
    from datetime import timedelta

    from django.utils import timezone

    client.force_login(torbay_users["finance"])
    upload(client, reverse("plans:plan_import"), minimal_workbook(authority="torbay"))
    PendingImport.objects.update(
        created_at=timezone.now() - timedelta(minutes=settings.PENDING_IMPORT_MINUTES + 1)
    )
    response = client.get(reverse("plans:import_confirm"))
    assert response.context["nothing_pending"] and not PendingImport.objects.exists()


def test_the_preview_lists_new_records_figures_as_read(client, torbay_users):
    # 60 under "Achieved to date (£k)": the officer sees it read as £60,000 before importing.
    def progress(wb):
        ws = wb.create_sheet("Progress")
        ws.append(["Reference", "As at", "Achieved to date (£k)", "RAG"])
        ws.append(["SAV/1", "31/10/2017", 60, "G"])

    client.force_login(torbay_users["finance"])
    data = minimal_workbook(authority="Torbay Council", extra=progress)
    response = upload(client, reverse("plans:plan_import"), data)
    html = client.get(response.url).content.decode()
    assert "Figures, as read" in html and "Achieved to date: £60,000" in html


def test_the_same_problem_down_a_column_is_listed_once_with_its_rows(client, torbay_users, mtfs):
    # Found walking the app: a year heading outside the plan gave fourteen identical rows.
    client.force_login(torbay_users["finance"])
    book = load_workbook(io.BytesIO(workbook.export_plan(mtfs)))
    sheet = book["Savings lines"]
    year_column = next(c for c in sheet[1] if c.value == "2017/18")
    year_column.value = "14/15"
    out = io.BytesIO()
    book.save(out)
    response = upload(client, reverse("plans:plan_import_into", args=[mtfs.pk]), out.getvalue())
    html = response.content.decode()
    assert "Nothing has been saved" in html
    rows = re.findall(r'<td class="num">([^<]+)</td>\s*<td>[A-Z]+ \(2014/15\)</td>', html)
    assert len(rows) == 1 and "–" in rows[0], rows
    assert html.count("so it has no 2014/15") == 1


def test_the_same_problem_with_each_rows_own_figure_is_listed_once(client, torbay_users, mtfs):
    # Found walking the app: a thousand rows of "32768 is not between 0 and 32767", "32769
    # is not..." were listed one by one.
    client.force_login(torbay_users["finance"])
    book = load_workbook(io.BytesIO(workbook.export_plan(mtfs)))
    sheet = book["Savings lines"]
    order = next(c.column_letter for c in sheet[1] if c.value == "Order")
    for n in range(2, 8):
        sheet[f"{order}{n}"] = 40000 + n
    out = io.BytesIO()
    book.save(out)
    response = upload(client, reverse("plans:plan_import_into", args=[mtfs.pk]), out.getvalue())
    html = response.content.decode()
    assert "6 problems" in html
    assert html.count("is not between") == 1, html
    assert "The same on each row listed, each with its own figure or name" in html
    assert re.search(r'<td class="num">2–7</td>', html)


def test_problems_differing_in_words_between_apostrophes_are_not_merged():
    # Found in review: "The plan's ... the month's" lost everything between its apostrophes,
    # so two different problems of one column were listed as one.
    from plans.workbook.reader import Problem
    from plans.workbook_views import _grouped

    problems = [
        Problem("The plan's years end before the month's close.", sheet="Risks", row=2, column="B"),
        Problem("The plan's owner is not the month's author.", sheet="Risks", row=3, column="B"),
        Problem("'SAV/9' is not a line.", sheet="Risks", row=4, column="C"),
        Problem("'SAV/10' is not a line.", sheet="Risks", row=5, column="C"),
    ]
    grouped = _grouped(problems)
    assert len(grouped) == 3
    assert [g["rows"] for g in grouped] == ["2", "3", "4, 5"] and grouped[2]["varies"]
    # Each row's own figure is listed: period 13 and period 0 are not both shown as 13.
    assert grouped[2]["particulars"] == "row 4: 'SAV/9'; row 5: 'SAV/10'"
    many = [Problem(f"{n} is not a period.", sheet="Risks", row=n, column="D") for n in range(20)]
    [group] = _grouped(many)
    assert group["particulars"].endswith("row 7: 7; and 12 more")
