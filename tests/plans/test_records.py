"""CRUD through the web: what officers type, bad input, reasons, history, no lost updates."""

from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from plans import models as m
from plans.views.records import RECORD_TYPES
from tests.factories import (
    OverspendForecastFactory,
    PlanFactory,
    PlannedAmountFactory,
    ProgressEntryFactory,
    SavingsLineFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal


def line_data(plan, **overrides):
    data = {
        "reference": "SAV-NEW",
        "title": "Review transport contracts",
        "category": "commissioning",
        "status": "approved",
        "recurrence": "recurring",
        "counts_towards_target": "on",
        "order": 0,
        "amount_2017_18": "£45k",
        "amount_2018_19": "50k-80k",
        "amount_2019_20": "TBC",
        "amount_2020_21": "",
    }
    data.update(overrides)
    return data


def test_finance_adds_a_line_with_amounts_as_officers_type_them(client, finance_manager, plan):
    client.force_login(finance_manager)
    response = client.post(reverse("plans:line_create", args=[plan.pk]), line_data(plan))
    assert response.status_code == 302
    line = m.SavingsLine.objects.get(plan=plan, reference="SAV-NEW")
    amounts = {a.year: (a.kind, a.low, a.high) for a in line.amounts.all()}
    assert amounts == {
        "2017/18": ("point", D("45000.00"), D("45000.00")),
        "2018/19": ("range", D("50000.00"), D("80000.00")),
        "2019/20": ("tbc", None, None),
    }
    record = line.history.latest()
    assert record.history_user == finance_manager


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("amount_2017_18", "12..5k", "is not an amount of money"),
        ("amount_2018_19", "600k-50k", "above the high figure"),
        ("amount_2017_18", "-5k", "negative"),
        ("start_period", "13", "less than or equal to 12"),
        ("title", "", "This field is required"),
    ],
)
def test_bad_line_input_is_named_on_the_field_and_nothing_is_saved(
    client, finance_manager, plan, field, value, message
):
    client.force_login(finance_manager)
    response = client.post(
        reverse("plans:line_create", args=[plan.pk]), line_data(plan, **{field: value})
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field])
    # The summary at the top names the field and links to it.
    bound = response.context["form"][field]
    assert f'<li><a href="#{bound.id_for_label}">{bound.label}</a>' in response.content.decode()
    assert not m.SavingsLine.objects.filter(plan=plan).exists()
    assert not m.PlannedAmount.objects.filter(line__plan=plan).exists()


def test_duplicate_reference_is_refused_on_the_field(client, finance_manager, plan):
    SavingsLineFactory(plan=plan, reference="SAV-NEW")
    client.force_login(finance_manager)
    response = client.post(reverse("plans:line_create", args=[plan.pk]), line_data(plan))
    assert "already has a savings line with that reference" in " ".join(
        response.context["form"].errors["reference"]
    )
    assert m.SavingsLine.objects.filter(plan=plan).count() == 1


def test_a_reference_differing_only_in_capitals_is_the_same_reference(
    client, finance_manager, plan
):
    # Found walking the app: "mtfs-01" was accepted beside MTFS-01, and the plan's next
    # workbook import, which matches references regardless of capitals, failed with a 500.
    from plans import workbook

    SavingsLineFactory(plan=plan, reference="SAV-NEW")
    client.force_login(finance_manager)
    data = line_data(plan, reference="sav-new")
    response = client.post(reverse("plans:line_create", args=[plan.pk]), data)
    assert "already has a savings line with that reference" in " ".join(
        response.context["form"].errors["reference"]
    )
    # A pair already in a plan (saved before this rule) gives the import a problem, not a 500.
    SavingsLineFactory(plan=plan, reference="sav-new")
    exported = workbook.export_plan(plan)
    changes = workbook.preview(exported, into=plan, user=finance_manager)
    text = "\n".join(str(p) for p in changes.problems)
    assert changes.problems and "sav-new" in text.lower(), text


def test_a_character_nobody_sees_is_no_part_of_a_reference(client, finance_manager, plan):
    # Found reviewing the import's rule: the forms saved "SAV-\u200bNEW" beside SAV-NEW, a
    # line the next workbook import would not have matched to its own row.
    SavingsLineFactory(plan=plan, reference="SAV-NEW")
    client.force_login(finance_manager)
    data = line_data(plan, reference="SAV-\u200bNEW")
    response = client.post(reverse("plans:line_create", args=[plan.pk]), data)
    assert "already has a savings line with that reference" in " ".join(
        response.context["form"].errors["reference"]
    )
    data = line_data(plan, reference="SAV-\u2060TWO", title="Soft\u00adware review")
    assert client.post(reverse("plans:line_create", args=[plan.pk]), data).status_code == 302
    assert plan.lines.filter(reference="SAV-TWO", title="Software review").exists()


def test_a_reference_mixing_alphabets_is_refused_as_the_workbook_refuses_it(
    client, finance_manager, plan
):
    client.force_login(finance_manager)
    data = line_data(plan, reference="\u041d2/1")  # Cyrillic Н: reads as H2/1
    response = client.post(reverse("plans:line_create", args=[plan.pk]), data)
    [error] = response.context["form"].errors["reference"]
    assert "Н is a Cyrillic letter that looks like a Latin one" in error
    assert not plan.lines.exists()
    # A value saved before the rule (or by another route) does not stop the record saving.
    line = SavingsLineFactory(plan=plan, owner="Ольга Petrovа")
    data = line_data(plan, reference=line.reference, title=line.title, owner=line.owner)
    data["version"] = line.version
    edit = reverse("plans:line_edit", args=[plan.pk, line.pk])
    saved = client.post(edit, {**data, "notes": "Checked", "change_reason": "Review"})
    assert saved.status_code == 302
    line.refresh_from_db()
    assert line.notes == "Checked" and line.owner == "Ольга Petrovа"


def test_a_reference_with_words_dashes_is_refused_and_a_title_keeps_them(
    client, finance_manager, plan
):
    client.force_login(finance_manager)
    data = line_data(plan, reference="SAV\u20111", title="Review 2017\u201318 \u2013 homes")
    response = client.post(reverse("plans:line_create", args=[plan.pk]), data)
    [error] = response.context["form"].errors["reference"]
    assert "non-breaking hyphen, not a hyphen" in error and not plan.lines.exists()
    data["reference"] = "SAV-1"
    assert client.post(reverse("plans:line_create", args=[plan.pk]), data).status_code == 302
    assert plan.lines.get().title == "Review 2017\u201318 \u2013 homes"


def test_same_reference_in_another_plan_is_fine(client, finance_manager, plan):
    SavingsLineFactory(plan=PlanFactory(authority=plan.authority), reference="SAV-NEW")
    client.force_login(finance_manager)
    assert (
        client.post(reverse("plans:line_create", args=[plan.pk]), line_data(plan)).status_code
        == 302
    )


def test_progress_date_outside_the_plan_is_refused(client, finance_manager, plan):
    line = SavingsLineFactory(plan=plan)
    client.force_login(finance_manager)
    response = client.post(
        reverse("plans:progress_create", args=[plan.pk]),
        {
            "line": line.pk,
            "as_at": "2015-01-31",
            "achieved_to_date": "10k",
            "basis": "achieved",
        },
    )
    assert "outside the plan's years" in " ".join(response.context["form"].errors["as_at"])
    assert not m.ProgressEntry.objects.filter(line__plan=plan).exists()


def test_forecast_period_out_of_range_and_half_pairs_are_refused(client, finance_manager, plan):
    client.force_login(finance_manager)
    url = reverse("plans:forecast_create", args=[plan.pk])
    response = client.post(
        url,
        {
            "year": "2017/18",
            "period": "13",
            "scenario": "base",
            "budget": "£28.9m",
            "forecast_outturn": "£30.2m",
        },
    )
    assert "period" in response.context["form"].errors
    response = client.post(
        url, {"year": "2017/18", "period": "3", "scenario": "base", "budget": "£28.9m"}
    )
    assert "forecast_outturn" in response.context["form"].errors
    response = client.post(
        url,
        {
            "year": "2017/18",
            "period": "3",
            "scenario": "base",
            "budget": "£28.9m",
            "forecast_outturn": "abc",
        },
    )
    assert "is not an amount of money" in " ".join(
        response.context["form"].errors["forecast_outturn"]
    )
    assert not m.OverspendForecast.objects.filter(plan=plan).exists()
    response = client.post(
        url,
        {
            "year": "2017-18",
            "period": "3",
            "scenario": "base",
            "budget": "£28.9m",
            "forecast_outturn": "£30.2m",
        },
    )
    assert response.status_code == 302
    forecast = m.OverspendForecast.objects.get(plan=plan)
    assert (forecast.year, forecast.budget, forecast.forecast_outturn) == (
        "2017/18",
        D("28900000.00"),
        D("30200000.00"),
    )


def seen_versions(line):
    """The hidden field a browser sends back: the versions of the amounts on screen."""
    return ",".join(f"{a.year}:{a.version}" for a in line.amounts.all())


def _edit(client, line, **changes):
    plan = line.plan
    data = line_data(
        plan,
        reference=line.reference,
        title=line.title,
        version=line.version,
        amount_2017_18="100k",
        amount_2018_19="",
        amount_2019_20="",
        amount_versions=seen_versions(line),
    )
    data.update(changes)
    return client.post(reverse("plans:line_edit", args=[plan.pk, line.pk]), data)


@pytest.fixture
def line(plan):
    line = SavingsLineFactory(plan=plan, reference="SAV-1", title="Placements review")
    PlannedAmountFactory(line=line, year="2017/18", low=D("100000"), high=D("100000"))
    return line


def test_changing_money_asks_for_a_reason_and_history_keeps_it(client, finance_manager, line):
    client.force_login(finance_manager)
    response = _edit(client, line, amount_2017_18="120k")
    assert "change_reason" in response.context["form"].errors
    assert line.amounts.get().low == D("100000.00")

    response = _edit(client, line, amount_2017_18="120k", change_reason="Two more placements")
    assert response.status_code == 302
    amount = line.amounts.get()
    assert amount.low == D("120000.00")
    latest = amount.history.latest()
    assert latest.history_change_reason == "Two more placements"
    assert latest.history_user == finance_manager

    html = client.get(reverse("plans:amount_history", args=[line.plan.pk, amount.pk])).content
    text = html.decode()
    assert "Two more placements" in text and "fiona.finance" in text
    assert "£100,000 → £120,000" in text


def test_text_change_needs_no_reason(client, finance_manager, line):
    client.force_login(finance_manager)
    assert _edit(client, line, title="Placements review (revised)").status_code == 302
    line.refresh_from_db()
    assert line.title == "Placements review (revised)" and line.version == 2


def test_text_longer_than_a_spreadsheet_cell_is_refused_on_its_field(client, finance_manager, line):
    client.force_login(finance_manager)
    response = _edit(client, line, notes="=" + "A" * 39_999)
    assert response.status_code == 200
    assert "40,000 characters long; a spreadsheet cell holds at most 32,767" in (
        response.content.decode()
    )
    line.refresh_from_db()
    assert line.notes == "" and line.version == 1


def test_two_officers_editing_the_same_line_never_overwrite_each_other(
    client, finance_manager, line, django_user_model
):
    from django.test import Client

    from tests.factories import UserFactory

    colleague = UserFactory(
        username="colin.colleague", authority=line.plan.authority, role="finance"
    )
    first, second = Client(), client
    first.force_login(finance_manager)
    second.force_login(colleague)
    version_seen = line.version  # both open the edit page now
    amounts_seen = seen_versions(line)

    assert (
        _edit(first, line, title="First officer's title", version=version_seen).status_code == 302
    )
    response = _edit(
        second,
        line,
        title="Second officer's title",
        version=version_seen,
        amount_versions=amounts_seen,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Someone else changed this savings line after you opened it" in html
    assert "First officer&#x27;s title" in html  # what they changed, shown
    line.refresh_from_db()
    assert line.title == "First officer's title"

    # Money too: the amounts move the line's version.
    line.refresh_from_db()
    seen, amounts_seen = line.version, seen_versions(line)
    assert (
        _edit(
            first,
            line,
            title=line.title,
            amount_2017_18="110k",
            version=seen,
            change_reason="Revised",
        ).status_code
        == 302
    )
    response = _edit(
        second,
        line,
        title=line.title,
        amount_2017_18="90k",
        version=seen,
        change_reason="Mine",
        amount_versions=amounts_seen,
    )
    assert "Someone else changed" in response.content.decode()
    assert line.amounts.get().low == D("110000.00")


def test_a_colleagues_amount_change_is_not_reverted_from_the_line_form(
    client, finance_manager, line
):
    """Officer A opens the line; B changes its 2017/18 amount on the amounts page; A saves a
    title change: refused, and A is shown B's new figure."""
    client.force_login(finance_manager)
    line.refresh_from_db()
    seen, amounts_seen = line.version, seen_versions(line)
    amount = line.amounts.get()
    response = client.post(
        reverse("plans:amount_edit", args=[line.plan.pk, amount.pk]),
        {
            "line": line.pk,
            "year": "2017/18",
            "amount": "£500k",
            "version": amount.version,
            "change_reason": "Colleague's correction",
        },
    )
    assert response.status_code == 302
    response = _edit(
        client,
        line,
        title="New title",
        version=seen,
        amount_versions=amounts_seen,
        change_reason="Title",
    )
    html = response.content.decode()
    assert "Someone else changed" in html
    assert "£100,000" in html and "£500,000" in html  # what they changed, from and to
    amount.refresh_from_db()
    line.refresh_from_db()
    assert amount.low == D("500000.00") and line.title == "Placements review"


def test_delete_confirmation_says_what_goes_with_it(client, finance_manager, line):
    ProgressEntryFactory(line=line, as_at=date(2017, 10, 31))
    client.force_login(finance_manager)
    url = reverse("plans:line_delete", args=[line.plan.pk, line.pk])
    html = client.get(url).content.decode()
    assert "1 planned amount" in html and "1 progress entry" in html
    assert (
        client.post(url, {"version": line.version, "change_reason": "Withdrawn"}).status_code == 302
    )
    assert not m.SavingsLine.objects.filter(pk=line.pk).exists()
    assert not m.PlannedAmount.objects.filter(line_id=line.pk).exists()
    deleted = m.SavingsLine.history.filter(id=line.pk, history_type="-").get()
    assert deleted.history_change_reason == "Withdrawn"


def test_stale_delete_is_refused(client, finance_manager, line):
    client.force_login(finance_manager)
    url = reverse("plans:line_delete", args=[line.plan.pk, line.pk])
    response = client.post(url, {"version": line.version - 1 or 99, "change_reason": "Duplicate"})
    assert response.status_code == 302
    assert m.SavingsLine.objects.filter(pk=line.pk).exists()


def test_lists_filter_and_export_csv_and_xlsx(client, director, plan):
    for i in range(3):
        SavingsLineFactory(
            plan=plan, reference=f"SAV-{i}", rag="red" if i else "green", title=f"Line {i}"
        )
    client.force_login(director)
    url = reverse("plans:line_list", args=[plan.pk])
    html = client.get(url, {"rag": "red"}).content.decode()
    assert "Line 1" in html and "Line 2" in html and "Line 0" not in html
    assert "Red" in html  # RAG shown with its word
    csv = client.get(url, {"_export": "csv", "rag": "red"})
    assert csv["Content-Type"].startswith("text/csv")
    body = b"".join(csv.streaming_content).decode() if csv.streaming else csv.content.decode()
    assert "SAV-1" in body and "SAV-0" not in body
    xlsx = client.get(url, {"_export": "xlsx"})
    import io

    content = b"".join(xlsx.streaming_content) if xlsx.streaming else xlsx.content
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    refs = {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert refs == {"SAV-0", "SAV-1", "SAV-2"}
    # Yes or no as the page says it, never True or False (walked: "In revenue budget").
    header = [c.value for c in sheet[1]]
    if "In revenue budget" in header:
        column = header.index("In revenue budget")
        values = {row[column] for row in sheet.iter_rows(min_row=2, values_only=True)}
        assert values <= {"Yes", "No"}, values
    assert "True" not in body and "False" not in body


def test_director_writes_commentary_but_cannot_edit_figures(client, director, plan, line):
    client.force_login(director)
    response = client.post(
        reverse("plans:commentary_create", args=[plan.pk]),
        {
            "year": "2017/18",
            "period": 7,
            "role": "director",
            "body": "Placements slipping; recovery plan to committee.",
        },
    )
    assert response.status_code == 302
    commentary = m.Commentary.objects.get(plan=plan)
    assert commentary.author == director
    assert _edit(client, line, title="Changed by director").status_code == 403


# --- Query counts do not grow with the number of rows ------------------------------------


def _plan_with(authority, n):
    plan = PlanFactory(authority=authority)
    for i in range(n):
        line = SavingsLineFactory(plan=plan)
        PlannedAmountFactory(line=line, year="2017/18")
        ProgressEntryFactory(line=line, as_at=date(2017, 9, 30))
        if i < 12:
            OverspendForecastFactory(plan=plan, period=i + 1)
    return plan


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def _plan_with_everything(authority, n):
    """A plan with ``n`` records of every kind, for the list pages."""
    from tests.factories import (
        CostPressureFactory,
        FundingFactory,
        KPIFactory,
        KpiPointFactory,
        RiskFactory,
        WorkstreamFactory,
    )

    plan = _plan_with(authority, n)
    for i in range(n):
        workstream = WorkstreamFactory(plan=plan)
        m.SavingsLine.objects.filter(pk=plan.lines.all()[i].pk).update(workstream=workstream)
        CostPressureFactory(plan=plan, title=f"Pressure {i}")
        FundingFactory(plan=plan)
        KpiPointFactory(kpi=KPIFactory(plan=plan), date=date(2017, 6, 30))
        RiskFactory(plan=plan)
        if i < 24:  # one commentary per month and role at most
            m.Commentary.objects.create(
                plan=plan,
                year="2017/18",
                period=i % 12 + 1,
                role=("finance", "director")[i // 12],
                body="x",
            )
        m.NarrativeSection.objects.create(plan=plan, order=i, heading=f"Section {i}", body="x")
    m.YearAdjustment.objects.create(plan=plan, year="2017/18", factor=Decimal("0.5"))
    return plan


LIST_NAMES = [f"{t.url_name}_list" for t in RECORD_TYPES]


def test_every_list_and_its_download_runs_a_fixed_number_of_queries(client, finance_manager):
    # Two plans, made once, with every kind of record 3 and 40 times over; each list read.
    client.force_login(finance_manager)
    small, large = (_plan_with_everything(finance_manager.authority, n) for n in (3, 40))
    grew = []
    for name in LIST_NAMES:
        for export in ("", "?_export=csv"):
            counts = [
                _queries(client, reverse(f"plans:{name}", args=[p.pk]) + export)
                for p in (small, large)
            ]
            if counts[0] != counts[1]:
                grew.append((name, export, counts))
    assert not grew, grew


def test_detail_history_and_month_end_pages_run_a_fixed_number_of_queries(client, finance_manager):
    client.force_login(finance_manager)
    counts = []
    for n in (3, 60):
        plan = _plan_with(finance_manager.authority, n)
        line = plan.lines.first()
        counts.append(
            (
                _queries(client, reverse("plans:line_detail", args=[plan.pk, line.pk])),
                _queries(client, reverse("plans:line_history", args=[plan.pk, line.pk])),
                _queries(
                    client, reverse("plans:month_end", args=[plan.pk]) + "?year=2017/18&period=10"
                ),
            )
        )
    assert counts[0] == counts[1], counts


def test_finance_creates_and_edits_a_plan_for_their_own_authority(client, finance_manager, plan):
    client.force_login(finance_manager)
    response = client.post(
        reverse("plans:plan_create"),
        {
            "title": "2018/19 recovery plan",
            "code": "recovery-2018",
            "kind": "recovery",
            "status": "draft",
            "first_year": "2018/19",
            "last_year": "2018-19",
            "revises": plan.pk,
        },
    )
    assert response.status_code == 302
    new = m.Plan.objects.get(code="recovery-2018")
    assert new.authority == finance_manager.authority and new.revises == plan
    assert new.last_year == "2018/19"
    response = client.post(
        reverse("plans:plan_edit", args=[new.pk]),
        {
            "title": "2018/19 recovery plan",
            "code": "recovery-2018",
            "kind": "recovery",
            "status": "draft",
            "first_year": "2019/20",
            "last_year": "2018/19",
            "version": new.version,
        },
    )
    assert "last_year" in response.context["form"].errors
    response = client.post(
        reverse("plans:plan_create"),
        {
            "title": "Clash",
            "code": "recovery-2018",
            "kind": "recovery",
            "status": "draft",
            "first_year": "2018/19",
            "last_year": "2018/19",
        },
    )
    assert "code" in response.context["form"].errors


def test_a_plan_cannot_revise_another_authoritys_plan(client, finance_manager, outsider):
    foreign = PlanFactory(authority=outsider.authority)
    client.force_login(finance_manager)
    response = client.post(
        reverse("plans:plan_create"),
        {
            "title": "X",
            "code": "x",
            "kind": "recovery",
            "status": "draft",
            "first_year": "2018/19",
            "last_year": "2018/19",
            "revises": foreign.pk,
        },
    )
    assert "revises" in response.context["form"].errors
    assert not m.Plan.objects.filter(code="x").exists()


def test_history_of_a_seed_record_shows_what_the_first_change_was_from(client, mtfs, torbay_users):
    amount = m.PlannedAmount.objects.get(line__plan=mtfs, line__reference="MTFS-01", year="2017/18")
    assert not amount.history.exists()  # loaded by loaddata: no history yet
    client.force_login(torbay_users["finance"])
    line = amount.line
    data = {
        f.name: getattr(line, f.attname)
        for f in line._meta.concrete_fields
        if f.name in ("reference", "title", "category", "status", "recurrence", "order")
    }
    data.update(
        {
            "version": line.version,
            "counts_towards_target": "on",
            "amount_versions": seen_versions(line),
            "amount_2017_18": "£140k",
            "amount_2018_19": "181k",
            "amount_2019_20": "207k",
            "change_reason": "Two more in-house carers",
        }
    )
    url = reverse("plans:line_edit", args=[mtfs.pk, line.pk])
    assert client.post(url, data).status_code == 302
    html = client.get(reverse("plans:amount_history", args=[mtfs.pk, amount.pk])).content
    text = html.decode()
    assert "£129,000 → £140,000" in text  # from the state as loaded, formatted as pages do
    assert "Two more in-house carers" in text
    baseline = amount.history.earliest()
    assert baseline.history_user is None  # nobody here made the loaded state


def test_forecast_and_pressure_lists_show_months_and_years_before_the_plan(
    client, mtfs, torbay_users
):
    client.force_login(torbay_users["director"])
    html = client.get(reverse("plans:pressure_list", args=[mtfs.pk])).content.decode()
    assert "P4 Jul 2016" in html and "£7,526" in html
    html = client.get(
        reverse("plans:forecast_list", args=[mtfs.pk]), {"year": "2016/17"}
    ).content.decode()
    assert '<option value="2016/17" selected>' in html  # a year before the plan is offered
    assert "P3 Jun 2016" in html


def test_recording_progress_moves_the_lines_current_rag(client, finance_manager, line):
    client.force_login(finance_manager)
    response = client.post(
        reverse("plans:progress_create", args=[line.plan.pk]),
        {
            "line": line.pk,
            "as_at": "2017-10-31",
            "achieved_to_date": "10k",
            "basis": "achieved",
            "rag": "red",
        },
    )
    assert response.status_code == 302
    line.refresh_from_db()
    assert line.rag == "red"
    # an older entry does not override the latest one
    client.post(
        reverse("plans:progress_create", args=[line.plan.pk]),
        {
            "line": line.pk,
            "as_at": "2017-09-30",
            "achieved_to_date": "5k",
            "basis": "achieved",
            "rag": "green",
        },
    )
    line.refresh_from_db()
    assert line.rag == "red"


@pytest.mark.parametrize(
    ("name", "data", "field", "message"),
    [
        (
            "forecast_create",
            {
                "year": "2040/41",
                "period": 1,
                "scenario": "base",
                "budget": "1m",
                "forecast_outturn": "1.1m",
            },
            "year",
            "typing slip",
        ),
        (
            "pressure_create",
            {"title": "Slip", "kind": "slippage", "year": "1999/00", "period": 1, "amount": "1k"},
            "year",
            "typing slip",
        ),
        (
            "funding_create",
            {"title": "Reserves", "kind": "reserve_draw", "year": "2050/51", "amount": "1m"},
            "year",
            "typing slip",
        ),
        (
            "adjustment_create",
            {"year": "2030/31", "factor": "0.5"},
            "year",
            "outside the plan's years",
        ),
        (
            "commentary_create",
            {"year": "2040/41", "period": 1, "role": "finance", "body": "x"},
            "year",
            "typing slip",
        ),
    ],
)
def test_years_far_outside_the_plan_are_refused_as_the_workbook_refuses_them(
    client, finance_manager, plan, name, data, field, message
):
    client.force_login(finance_manager)
    response = client.post(reverse(f"plans:{name}", args=[plan.pk]), data)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])


def test_a_forecast_just_before_the_plan_is_context_and_allowed(client, finance_manager, plan):
    client.force_login(finance_manager)
    response = client.post(
        reverse("plans:forecast_create", args=[plan.pk]),
        {"year": "2016/17", "period": 3, "scenario": "base", "overspend": "£1.3m"},
    )
    assert response.status_code == 302


def test_commentary_on_a_month_before_the_plan_is_allowed_as_its_sign_off_writes_it(
    client, finance_manager, plan
):
    """The MTFS reports from November 2016, a year before its first: the month close signs
    that month off with the director's commentary, so the commentary page and the workbook
    take a month there too (and the plan's export imports again)."""
    client.force_login(finance_manager)
    response = client.post(
        reverse("plans:commentary_create", args=[plan.pk]),
        {"year": "2016/17", "period": 8, "role": "finance", "body": "Quarter 1 overspend"},
    )
    assert response.status_code == 302
    assert m.Commentary.objects.get(plan=plan).year == "2016/17"


def test_narrowing_a_plans_years_past_its_savings_is_refused(client, finance_manager, line):
    plan = line.plan
    client.force_login(finance_manager)
    response = client.post(
        reverse("plans:plan_edit", args=[plan.pk]),
        {
            "title": plan.title,
            "code": plan.code,
            "kind": plan.kind,
            "status": plan.status,
            "first_year": "2018/19",
            "last_year": "2020/21",
            "version": plan.version,
        },
    )
    assert "recorded in 2017/18" in " ".join(response.context["form"].errors["first_year"])
    plan.refresh_from_db()
    assert plan.first_year == "2017/18"


def test_after_a_conflict_saving_again_is_a_deliberate_overwrite(client, finance_manager, line):
    client.force_login(finance_manager)
    line.refresh_from_db()
    seen, amounts_seen = line.version, seen_versions(line)
    assert _edit(client, line, title="Theirs", version=seen).status_code == 302
    response = _edit(client, line, title="Mine", version=seen, amount_versions=amounts_seen)
    form = response.context["form"]
    resubmit = dict(form.data.items())
    assert int(resubmit["version"]) == seen + 1
    response = client.post(reverse("plans:line_edit", args=[line.plan.pk, line.pk]), resubmit)
    assert response.status_code == 302
    line.refresh_from_db()
    assert line.title == "Mine"


def test_editing_a_record_a_colleague_deleted_says_so(client, finance_manager, plan):
    risk = m.Risk.objects.create(plan=plan, reference="R1", description="Slippage")
    client.force_login(finance_manager)
    url = reverse("plans:risk_edit", args=[plan.pk, risk.pk])
    from plans import services

    version = risk.version
    services.delete_record(instance=risk, user=finance_manager, reason="Merged")
    response = client.post(
        url, {"reference": "R1", "description": "Changed", "status": "open", "version": version}
    )
    assert response.status_code == 404  # it is gone; nothing was recreated
    assert not m.Risk.objects.filter(plan=plan).exists()


def test_commentary_belongs_to_its_role(client, finance_manager, director, plan):
    finance_note = m.Commentary.objects.create(
        plan=plan, year="2017/18", period=7, role="finance", body="Budget holds."
    )
    client.force_login(director)
    # a director may not write as finance, nor change or delete the finance commentary
    response = client.post(
        reverse("plans:commentary_create", args=[plan.pk]),
        {"year": "2017/18", "period": 8, "role": "finance", "body": "As finance"},
    )
    assert "role" in response.context["form"].errors
    url = reverse("plans:commentary_edit", args=[plan.pk, finance_note.pk])
    assert client.get(url).status_code == 403
    assert (
        client.post(
            url,
            {
                "year": "2017/18",
                "period": 7,
                "role": "finance",
                "body": "Overwritten",
                "version": 1,
            },
        ).status_code
        == 403
    )
    finance_note.refresh_from_db()
    assert finance_note.body == "Budget holds."
    # and a finance manager may not change the director's
    director_note = m.Commentary.objects.create(
        plan=plan, year="2017/18", period=7, role="director", body="Placements slip."
    )
    client.force_login(finance_manager)
    assert (
        client.get(reverse("plans:commentary_edit", args=[plan.pk, director_note.pk])).status_code
        == 403
    )
    assert (
        client.post(
            reverse("plans:commentary_delete", args=[plan.pk, director_note.pk]), {"version": 1}
        ).status_code
        == 403
    )
    assert m.Commentary.objects.filter(pk=director_note.pk).exists()


def test_list_downloads_carry_numbers_and_neutralise_formulas(client, finance_manager, plan):
    import io

    line = SavingsLineFactory(
        plan=plan,
        reference="SAV-X",
        title='=HYPERLINK("http://x","y")',
        owner="@SUM(1+1)",
        rag="amber",
    )
    m.OverspendForecast.objects.create(
        plan=plan, year="2017/18", period=3, budget=D("28900000"), forecast_outturn=D("30200000")
    )
    client.force_login(finance_manager)
    response = client.get(reverse("plans:line_list", args=[plan.pk]), {"_export": "xlsx"})
    content = b"".join(response.streaming_content) if response.streaming else response.content
    rows = list(openpyxl.load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))
    header, row = rows[0], next(r for r in rows[1:] if r[0] == line.reference)
    title = row[header.index("Title")]
    assert title.startswith("'=")  # text, not a live formula
    assert row[header.index("Owner")] == "'@SUM(1+1)"
    assert row[header.index("RAG")] == "Amber"
    response = client.get(reverse("plans:forecast_list", args=[plan.pk]), {"_export": "csv"})
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert "28900000.00" in body.decode() and "£" not in body.decode()


@pytest.mark.parametrize("version", ["abc", ""])
def test_delete_without_a_sound_version_is_refused_not_crashed(
    client, finance_manager, line, version
):
    client.force_login(finance_manager)
    response = client.post(
        reverse("plans:line_delete", args=[line.plan.pk, line.pk]),
        {"version": version, "change_reason": "Duplicate"},
    )
    assert response.status_code == 302
    assert m.SavingsLine.objects.filter(pk=line.pk).exists()


def test_a_duplicate_created_in_a_race_is_a_message_not_a_crash(finance_manager, plan):
    from django.core.exceptions import ValidationError

    from plans import services

    m.Risk.objects.create(plan=plan, reference="R1", description="First")
    duplicate = m.Risk(plan=plan, reference="R1", description="Second")
    # full_clean passes when the colleague's row lands between the check and the save
    duplicate.full_clean = lambda *a, **k: None
    with pytest.raises(ValidationError, match="Someone else has just saved"):
        services.create_record(instance=duplicate, user=finance_manager)
    assert m.Risk.objects.filter(plan=plan).count() == 1


def test_deleting_the_latest_progress_puts_the_rag_back(client, finance_manager, line):
    line.original_rag = "green"
    line.save()
    client.force_login(finance_manager)
    client.post(
        reverse("plans:progress_create", args=[line.plan.pk]),
        {
            "line": line.pk,
            "as_at": "2017-10-31",
            "achieved_to_date": "10k",
            "basis": "achieved",
            "rag": "red",
        },
    )
    entry = m.ProgressEntry.objects.get(line=line)
    line.refresh_from_db()
    assert line.rag == "red"
    response = client.post(
        reverse("plans:progress_delete", args=[line.plan.pk, entry.pk]),
        {"version": entry.version, "change_reason": "Entered in error"},
    )
    assert response.status_code == 302
    line.refresh_from_db()
    assert line.rag == "green"  # back to its original RAG: no rated progress remains


def test_deleted_records_page_says_who_deleted_what_and_why(
    client, finance_manager, director, line
):
    client.force_login(finance_manager)
    client.post(
        reverse("plans:line_delete", args=[line.plan.pk, line.pk]),
        {"version": line.version, "change_reason": "Duplicate of SAV-2"},
    )
    client.force_login(director)
    html = client.get(reverse("plans:deletion_list", args=[line.plan.pk])).content.decode()
    assert "SAV-1" in html and "Duplicate of SAV-2" in html and "fiona.finance" in html
    assert "Planned amount" in html  # what went with it


def test_deleted_records_page_runs_a_fixed_number_of_queries(client, finance_manager):
    client.force_login(finance_manager)
    counts = []
    for n in (3, 30):
        plan = _plan_with(finance_manager.authority, n)
        for line in list(plan.lines.all()):
            from plans import services

            services.delete_record(instance=line, user=finance_manager, reason="x")
        counts.append(_queries(client, reverse("plans:deletion_list", args=[plan.pk])))
    assert counts[0] == counts[1]


def test_bulk_created_records_keep_every_character_and_figure_exactly(finance_manager):
    """An import's rows go to the database in bulk (PostgreSQL: COPY, whose text format
    escapes tabs, newlines and backslashes): each value comes back as it was written, and its
    history says so."""
    from plans import services
    from tests.factories import PlanFactory, SavingsLineFactory

    plan = PlanFactory()
    awkward = "Tab\there, new\nline, back\\slash \\N, “quotes”, ‘£’ and 'é'"
    line = m.SavingsLine(plan=plan, reference="R\\1", title=awkward, rag="", version=1)
    services.create_many(m.SavingsLine, [line], user=finance_manager, reason="Import", plan=plan)
    blank_start = m.SavingsLine.objects.get(pk=line.pk)
    assert (blank_start.title, blank_start.reference, blank_start.start_period) == (
        awkward,
        "R\\1",
        None,
    )
    assert m.SavingsLine.history.get(id=line.pk).title == awkward

    other = SavingsLineFactory(plan=plan, reference="R2")
    rows = [
        {
            "line_id": other.pk,
            "year": "2017/18",
            "kind": "point",
            "low": Decimal("0.01"),
            "high": Decimal("0.01"),
        },
        {
            "line_id": other.pk,
            "year": "2018/19",
            "kind": "range",
            "low": Decimal("1234567.89"),
            "high": Decimal("999999999999.99"),
        },
    ]
    services.create_many(m.PlannedAmount, rows, user=finance_manager, reason="Import", plan=plan)
    assert sorted(other.amounts.values_list("year", "low", "high")) == [
        ("2017/18", Decimal("0.01"), Decimal("0.01")),
        ("2018/19", Decimal("1234567.89"), Decimal("999999999999.99")),
    ]
