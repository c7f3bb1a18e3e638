"""The month-end update: one page, one transaction, conflicts refused, RAG changes shown."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from plans import models as m
from plans import month_end, services
from tests.factories import (
    KPIFactory,
    PlannedAmountFactory,
    ProgressEntryFactory,
    SavingsLineFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def lines(plan):
    out = []
    for i in range(3):
        line = SavingsLineFactory(plan=plan, reference=f"SAV-{i}", rag="green")
        PlannedAmountFactory(line=line, year="2017/18", low=D("100000"), high=D("100000"))
        ProgressEntryFactory(
            line=line,
            as_at=date(2017, 9, 30),
            achieved_to_date=D("20000"),
            forecast=D("100000"),
            rag="green",
        )
        out.append(line)
    return out


def url(plan):
    return reverse("plans:month_end", args=[plan.pk]) + "?year=2017/18&period=7"


def post_data(plan, lines, **over):
    data = {
        "year": "2017/18",
        "period": "7",
        "forecast-budget": "£28.9m",
        "forecast-forecast_outturn": "£29.4m",
        "forecast-commentary": "Placements",
    }
    for line in lines:
        p = f"line-{line.pk}"
        data.update(
            {
                f"{p}-achieved_to_date": "30k",
                f"{p}-basis": "achieved",
                f"{p}-forecast": "95k",
                f"{p}-rag": "amber",
                f"{p}-commentary": "Slipping a month",
            }
        )
    data.update(over)
    return data


def test_page_shows_each_line_with_target_and_last_recorded(client, finance_manager, plan, lines):
    client.force_login(finance_manager)
    html = client.get(url(plan)).content.decode()
    for line in lines:
        assert line.reference in html
    assert "£100,000" in html  # target for the year
    assert "£20,000 achieved" in html  # last recorded


def test_saving_records_every_line_forecast_and_kpi_in_one_go(client, finance_manager, plan, lines):
    kpi = KPIFactory(plan=plan, name="Children looked after")
    client.force_login(finance_manager)
    response = client.post(url(plan), post_data(plan, lines, **{f"kpi-{kpi.pk}-value": "271"}))
    assert response.status_code == 302
    entries = m.ProgressEntry.objects.filter(line__plan=plan, as_at=date(2017, 10, 31))
    assert entries.count() == 3
    assert {e.achieved_to_date for e in entries} == {D("30000.00")}
    assert all(e.entered_by == finance_manager for e in entries)
    forecast = m.OverspendForecast.objects.get(plan=plan, year="2017/18", period=7)
    assert forecast.forecast_outturn - forecast.budget == D("500000.00")
    assert m.KpiPoint.objects.get(kpi=kpi, date=date(2017, 10, 31)).value == D("271")
    for line in lines:
        line.refresh_from_db()
        assert line.rag == "amber"  # current RAG follows the latest entry
    # the plan totals moved
    from plans.figures import plan_totals

    assert plan_totals([plan])[plan.pk].years["2017/18"].achieved == D("90000.00")
    # and RAG changes since last month are highlighted
    html = client.get(url(plan)).content.decode()
    assert "RAG changed: Green → Amber" in html


def test_one_bad_cell_saves_nothing(client, finance_manager, plan, lines):
    client.force_login(finance_manager)
    bad = post_data(plan, lines, **{f"line-{lines[2].pk}-forecast": "lots"})
    response = client.post(url(plan), bad)
    assert response.status_code == 200
    assert "Nothing was saved" in response.content.decode()
    assert "is not an amount of money" in response.content.decode()
    assert not m.ProgressEntry.objects.filter(line__plan=plan, as_at=date(2017, 10, 31)).exists()
    assert not m.OverspendForecast.objects.filter(plan=plan).exists()


def test_half_a_forecast_saves_nothing(client, finance_manager, plan, lines):
    client.force_login(finance_manager)
    response = client.post(url(plan), post_data(plan, lines, **{"forecast-budget": ""}))
    assert "Nothing was saved" in response.content.decode()
    assert not m.ProgressEntry.objects.filter(line__plan=plan, as_at=date(2017, 10, 31)).exists()


def test_a_colleagues_save_in_between_is_not_overwritten(client, finance_manager, plan, lines):
    client.force_login(finance_manager)
    client.post(url(plan), post_data(plan, lines))  # first officer saves October
    entry = m.ProgressEntry.objects.get(line=lines[0], as_at=date(2017, 10, 31))
    stale_version = entry.version
    # a colleague corrects one line
    entry.achieved_to_date = D("31000")
    services.update_record(
        instance=entry, user=finance_manager, expected_version=stale_version, reason="Corrected"
    )
    # the first officer re-submits the page they opened before that correction
    data = post_data(plan, lines, **{f"line-{lines[0].pk}-achieved_to_date": "50k"})
    for line in lines:
        data[f"line-{line.pk}-version"] = str(stale_version)
    response = client.post(url(plan), data)
    html = response.content.decode()
    assert "Nothing was saved" in html
    assert "achieved to date £30,000 → £31,000" in html  # what the colleague changed
    assert 'value="50k"' in html  # what this officer typed is still on the page
    entry.refresh_from_db()
    assert entry.achieved_to_date == D("31000.00")
    # saving again from that page is a deliberate overwrite, of a figure saved: with a reason
    again = dict(response.context["line_forms"][0][1].data.items())
    assert "Reason for changing saved figures" in client.post(url(plan), again).content.decode()
    again["reason"] = "Colleague's figure was provisional"
    assert client.post(url(plan), again).status_code == 302
    entry.refresh_from_db()
    assert entry.achieved_to_date == D("50000.00")


def untouched(lines, **over):
    """A new month's page posted back as the browser sends it with nothing typed."""
    data = {"year": "2017/18", "period": "7"}
    for line in lines:
        p = f"line-{line.pk}"
        data.update(
            {
                f"{p}-achieved_to_date": "",
                f"{p}-basis": "achieved",
                f"{p}-forecast": "",
                f"{p}-rag": "",
                f"{p}-commentary": "",
            }
        )
    data.update(over)
    return data


def test_last_months_figures_are_hints_not_values(client, finance_manager, plan, lines):
    client.force_login(finance_manager)
    response = client.get(url(plan))
    html = response.content.decode()
    assert 'value="20,000"' not in html and 'value="100,000"' not in html
    assert html.count('placeholder="last £20,000" data-last="20000.00"') == 3
    assert html.count('placeholder="last £100,000" data-last="100000.00"') == 3
    # the RAG starts "Not rated": no option is pre-selected from last month or the line
    [(row, form), *_] = response.context["line_forms"]
    assert form["rag"].value() in (None, "") and form["forecast"].value() is None
    assert f'aria-describedby="me-last-{lines[0].pk}"' in html  # the hint is read out too
    assert html.count("Same for P7 Oct 2017") == 3 + 1  # each line's choice, and the intro
    # saved untouched: nothing recorded for the month, for any line
    response = client.post(url(plan), untouched(lines), follow=True)
    assert "Nothing changed for P7 Oct 2017" in response.content.decode()
    assert not m.ProgressEntry.objects.filter(as_at=date(2017, 10, 31)).exists()


def test_a_comment_only_update_records_no_figure(client, finance_manager, plan, lines):
    data = untouched(lines, **{f"line-{lines[0].pk}-commentary": "Provider meeting booked"})
    client.force_login(finance_manager)
    assert client.post(url(plan), data).status_code == 302
    entry = m.ProgressEntry.objects.get(line=lines[0], as_at=date(2017, 10, 31))
    assert entry.commentary == "Provider meeting booked"
    # last month's figures were not confirmed, so none is October's
    assert (entry.achieved_to_date, entry.forecast, entry.rag) == (None, None, "")
    assert m.ProgressEntry.objects.filter(as_at=date(2017, 10, 31)).count() == 1
    from plans.figures import plan_totals

    # a comment-only entry hides no figure: September's still count as the latest
    assert plan_totals([plan])[plan.pk].years["2017/18"].achieved == D("60000.00")


def test_typing_one_figure_does_not_carry_the_others(client, finance_manager, plan, lines):
    data = untouched(lines, **{f"line-{lines[1].pk}-forecast": "95k"})
    client.force_login(finance_manager)
    assert client.post(url(plan), data).status_code == 302
    entry = m.ProgressEntry.objects.get(line=lines[1], as_at=date(2017, 10, 31))
    assert (entry.achieved_to_date, entry.forecast, entry.rag) == (None, D("95000"), "")
    lines[1].refresh_from_db()
    assert lines[1].rag == "green"  # no RAG given for October: the line keeps its own


def test_same_as_last_recorded_carries_forward_what_the_officer_confirms(
    client, finance_manager, plan, lines
):
    data = untouched(
        lines,
        **{
            f"line-{lines[0].pk}-carry": "on",  # every box blank: all of September's
            f"line-{lines[1].pk}-carry": "on",
            f"line-{lines[1].pk}-forecast": "80k",  # what is typed wins
            f"line-{lines[1].pk}-rag": "amber",
        },
    )
    client.force_login(finance_manager)
    assert client.post(url(plan), data).status_code == 302
    october = {e.line_id: e for e in m.ProgressEntry.objects.filter(as_at=date(2017, 10, 31))}
    assert set(october) == {lines[0].pk, lines[1].pk}  # the third line: nothing confirmed
    first, second = october[lines[0].pk], october[lines[1].pk]
    assert (first.achieved_to_date, first.forecast, first.rag) == (D(20000), D(100000), "green")
    assert first.basis == "achieved" and first.entered_by == finance_manager
    assert (second.achieved_to_date, second.forecast, second.rag) == (D(20000), D(80000), "amber")
    # reopened, the month's own figures are in the boxes and nothing is offered to carry
    html = client.get(url(plan)).content.decode()
    assert 'value="20,000"' in html and f'name="line-{lines[0].pk}-carry"' not in html
    assert f'name="line-{lines[2].pk}-carry"' in html


def test_last_months_budget_is_a_hint_not_a_value(client, finance_manager, plan, lines):
    m.OverspendForecast.objects.create(
        plan=plan, year="2017/18", period=5, budget=D("28900000"), forecast_outturn=D("29000000")
    )
    client.force_login(finance_manager)
    page = client.get(url(plan)).content.decode()
    assert 'value="28,900,000"' not in page
    assert 'placeholder="last £28,900,000"' in page and 'placeholder="last £29,000,000"' in page
    data = post_data(
        plan,
        lines,
        **{"forecast-budget": "", "forecast-forecast_outturn": "", "forecast-commentary": ""},
    )
    response = client.post(url(plan), data)
    assert response.status_code == 302, response.content.decode()[:500]
    assert not m.OverspendForecast.objects.filter(plan=plan, period=7).exists()
    # an outturn typed without its budget is refused, not completed from last month
    data["forecast-forecast_outturn"] = "£29.4m"
    assert "Nothing was saved" in client.post(url(plan), data).content.decode()
    assert not m.OverspendForecast.objects.filter(plan=plan, period=7).exists()


def test_service_refuses_a_month_outside_the_plan(plan, lines, finance_manager):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        month_end.save(
            plan=plan,
            year="2030/31",
            period=1,
            user=finance_manager,
            lines=[],
            forecast=None,
            kpis=[],
        )


def test_scrutiny_and_director_cannot_open_the_month_end(
    client, director, scrutiny_member, plan, lines
):
    for user in (director, scrutiny_member):
        client.force_login(user)
        assert client.get(url(plan)).status_code == 403
        assert client.post(url(plan), post_data(plan, lines)).status_code == 403
    assert not m.ProgressEntry.objects.filter(line__plan=plan, as_at=date(2017, 10, 31)).exists()


def test_figures_carry_forward_past_a_comment_only_entry(client, finance_manager, plan, lines):
    # October records a comment only; November's page still offers September's figures.
    for line in lines:
        ProgressEntryFactory(
            line=line, as_at=date(2017, 10, 31), achieved_to_date=None, forecast=None, rag=""
        )
    client.force_login(finance_manager)
    response = client.get(reverse("plans:month_end", args=[plan.pk]))
    assert (response.context["month"].year, response.context["month"].period) == ("2017/18", 8)
    [(row, form), *_] = response.context["line_forms"]
    assert form.carried == {
        "achieved_to_date": D("20000"),
        "basis": "achieved",
        "forecast": D("100000"),
        "rag": "green",
    }
    assert "achieved_to_date" not in form.initial and "rag" not in form.initial
    html = response.content.decode()
    assert "£20,000 achieved" in html and "achieved not reported" not in html
    assert 'placeholder="last £20,000"' in html


def test_a_mistyped_month_is_said_never_silently_switched(client, finance_manager, plan, lines):
    client.force_login(finance_manager)
    response = client.get(reverse("plans:month_end", args=[plan.pk]), {"year": "2030/31"})
    assert "is not one of this plan&#x27;s months" in response.content.decode()
    bad = {"year": "nonsense", "period": "99"}
    assert client.post(reverse("plans:month_end", args=[plan.pk]), bad).status_code == 400


# ---- The page tightened (issue 12): errors by line and field, counts of what changed, a
# reason for changing saved figures, running totals, a closed month read only.


def test_each_error_names_its_line_and_field(client, finance_manager, plan, lines):
    client.force_login(finance_manager)
    bad = post_data(plan, lines, **{f"line-{lines[2].pk}-forecast": "lots"})
    html = client.post(url(plan), bad).content.decode()
    assert "1 problem to correct; nothing was saved" in html
    assert f"{lines[2].reference} {lines[2].title} – Forecast for the year" in html
    assert f'href="#id_line-{lines[2].pk}-forecast"' in html


def saved_versions(plan, data):
    """The page as reopened after a save: the versions it now carries."""
    data = dict(data)
    for e in m.ProgressEntry.objects.filter(line__plan=plan, as_at=date(2017, 10, 31)):
        data[f"line-{e.line_id}-version"] = str(e.version)
    forecast = m.OverspendForecast.objects.filter(plan=plan, year="2017/18", period=7).first()
    if forecast:
        data["forecast-version"] = str(forecast.version)
    return data


def test_saved_counts_only_the_records_that_changed(client, finance_manager, plan, lines):
    client.force_login(finance_manager)
    client.post(url(plan), post_data(plan, lines))
    again = post_data(plan, lines, **{f"line-{lines[0].pk}-commentary": "Now on track"})
    page = client.post(url(plan), saved_versions(plan, again), follow=True).content.decode()
    assert "Saved 1 changed record for" in page
    page = client.post(url(plan), saved_versions(plan, again), follow=True).content.decode()
    assert "Nothing changed for" in page


def test_changing_a_figure_already_saved_asks_why(client, finance_manager, plan, lines):
    client.force_login(finance_manager)
    client.post(url(plan), post_data(plan, lines))
    corrected = post_data(plan, lines, **{f"line-{lines[1].pk}-achieved_to_date": "35k"})
    corrected = saved_versions(plan, corrected)
    html = client.post(url(plan), corrected).content.decode()
    assert "Nothing was saved" in html
    assert f"{lines[1].reference} achieved to date £30,000 → £35,000" in html
    assert "Reason for changing saved figures" in html
    entry = m.ProgressEntry.objects.get(line=lines[1], as_at=date(2017, 10, 31))
    assert entry.achieved_to_date == D("30000")
    corrected["reason"] = "Invoice posted late"
    assert client.post(url(plan), corrected).status_code == 302
    entry.refresh_from_db()
    assert entry.achieved_to_date == D("35000")
    assert entry.history.first().history_change_reason == "Invoice posted late"


def test_running_totals_are_drawn_from_the_page(client, finance_manager, plan, lines):
    client.force_login(finance_manager)
    html = client.get(url(plan)).content.decode()
    assert 'id="me-running"' in html and "js/month_end.js" in html
    assert html.count('data-target="100000.00"') == 3
    assert html.count('data-sum="achieved_to_date"') == 3


def test_a_submitted_month_opens_read_only(client, finance_manager, plan, lines):
    m.MonthClose.objects.create(plan=plan, year="2017/18", period=7, state="submitted")
    client.force_login(finance_manager)
    html = client.get(url(plan)).content.decode()
    assert "Read only." in html and "submitted for the director" in html
    assert "<fieldset disabled>" in html and "btn btn-primary" not in html.split("me-running")[1]
    response = client.post(url(plan), post_data(plan, lines))
    assert "Nothing was saved" in response.content.decode()
    assert not m.ProgressEntry.objects.filter(line__plan=plan, as_at=date(2017, 10, 31)).exists()


def test_a_line_with_figures_in_a_closed_month_cannot_be_deleted(
    client, finance_manager, plan, lines
):
    client.force_login(finance_manager)
    client.post(url(plan), post_data(plan, lines))
    m.MonthClose.objects.create(plan=plan, year="2017/18", period=7, state="published")
    lines[0].refresh_from_db()
    response = client.post(
        reverse("plans:line_delete", args=[plan.pk, lines[0].pk]),
        {"version": lines[0].version, "change_reason": "Duplicate"},
    )
    # Its September figures go first: October's report reads them (the line's progress).
    said = response.content.decode()
    assert "would delete its figures for P6 Sep 2017" in said
    assert "P6 Sep 2017 comes before P7 Oct 2017, whose figures read it." in said
    assert m.SavingsLine.objects.filter(pk=lines[0].pk).exists()
    # A line with no figures in a closed month can still go.
    spare = SavingsLineFactory(plan=plan, reference="SAV-9")
    response = client.post(
        reverse("plans:line_delete", args=[plan.pk, spare.pk]),
        {"version": spare.version, "change_reason": "Duplicate"},
    )
    assert response.status_code == 302 and not m.SavingsLine.objects.filter(pk=spare.pk).exists()


def test_a_month_before_a_closed_month_of_the_year_is_read_only(
    client, finance_manager, plan, lines
):
    # P12's report reads October's figures (each line's latest progress, the latest
    # forecast): once P12 is published, changing October would change a published report.
    m.MonthClose.objects.create(plan=plan, year="2017/18", period=12, state="published")
    m.MonthClose.objects.create(plan=plan, year="2016/17", period=12, state="published")
    client.force_login(finance_manager)
    html = client.get(url(plan)).content.decode()
    assert "P7 Oct 2017 comes before P12 Mar 2018, whose figures read it." in html
    response = client.post(url(plan), post_data(plan, lines))
    assert "Nothing was saved" in response.content.decode()
    assert not m.ProgressEntry.objects.filter(line__plan=plan, as_at=date(2017, 10, 31)).exists()
    # Reopened for a correction, P12 holds October read only no longer; a closed month of
    # another year never did.
    m.MonthClose.objects.filter(plan=plan, year="2017/18").update(state="open")
    client.post(url(plan), post_data(plan, lines))
    assert m.ProgressEntry.objects.filter(line__plan=plan, as_at=date(2017, 10, 31)).exists()


def test_a_record_of_a_read_only_month_says_so_before_anything_is_typed(
    client, finance_manager, plan, lines
):
    # Found walking the app: the progress edit form of a locked month looked editable, and
    # the refusal came after Save, twice.
    entry = m.ProgressEntry.objects.create(
        line=lines[0], as_at=date(2017, 10, 31), year="2017/18", achieved_to_date=1000
    )
    m.MonthClose.objects.create(plan=plan, year="2017/18", period=8, state="submitted")
    client.force_login(finance_manager)
    for name in ("progress_edit", "progress_delete"):
        html = client.get(reverse(f"plans:{name}", args=[plan.pk, entry.pk])).content.decode()
        notice = html[html.index('id="record-locked"') :][:400]
        assert "P7 Oct 2017 comes before P8 Nov 2017" in notice, name
        assert 'type="submit"' not in html.split('id="record-locked"')[1], name
    response = client.post(
        reverse("plans:progress_edit", args=[plan.pk, entry.pk]),
        {"line": lines[0].pk, "as_at": "31/10/2017", "achieved_to_date": "2000", "version": 1},
    )
    assert "comes before P8 Nov 2017" in response.content.decode()
    entry.refresh_from_db()
    assert entry.achieved_to_date == 1000


def test_the_plans_figures_say_the_in_year_target_and_which_lines_have_one(
    client, finance_manager, plan, lines
):
    # A year planned at half its value (gradual delivery) and a line with no target that year:
    # the month's totals state both as the dashboard does, never only the full-year £300,000.
    m.YearAdjustment.objects.create(
        plan=plan, year="2017/18", factor=D("0.5"), reason="Gradual delivery"
    )
    SavingsLineFactory(plan=plan, reference="SAV-LATER")
    client.force_login(finance_manager)
    html = client.get(url(plan)).content.decode()
    assert "4 lines, 3 with a 2017/18 target" in html
    assert "£300,000" in html and "in-year adjusted £150,000" in html


@pytest.mark.parametrize(
    ("name", "unit", "typed", "said"),
    [
        ("Children looked after", "count", "-3", "cannot be negative"),
        ("Share in residential placements", "percent", "150", "from 0 to 100"),
    ],
)
def test_a_kpi_value_it_cannot_have_is_refused_by_name(
    client, finance_manager, plan, lines, name, unit, typed, said
):
    kpi = KPIFactory(plan=plan, name=name, unit=unit)
    client.force_login(finance_manager)
    response = client.post(url(plan), post_data(plan, lines, **{f"kpi-{kpi.pk}-value": typed}))
    assert response.status_code == 200
    html = response.content.decode()
    assert said in html and "nothing was saved" in html
    assert f"KPI {name} – Actual" in html  # said on the KPI's own box, not the forecast's
    assert not m.KpiPoint.objects.filter(kpi=kpi).exists()
    assert not m.ProgressEntry.objects.filter(as_at=date(2017, 10, 31)).exists()


def test_a_kpi_marked_as_of_a_change_may_be_negative_or_over_100(plan):
    change = KPIFactory(plan=plan, name="Net reduction in CLA in the year", open_range=True)
    assert change.value_problem(D("-4")) is None
    share = KPIFactory(plan=plan, name="Spend against budget", unit="percent", open_range=True)
    assert share.value_problem(D("112")) is None
    # Unmarked, whatever its name: a level, never negative; a share, at most 100.
    assert KPIFactory(plan=plan, name="Net reduction in CLA").value_problem(D("-4"))
    assert KPIFactory(plan=plan, unit="percent").value_problem(D("112"))


def test_clearing_every_forecast_box_removes_the_months_forecast(
    client, finance_manager, plan, lines
):
    client.force_login(finance_manager)
    client.post(url(plan), post_data(plan, lines))
    forecast = m.OverspendForecast.objects.get(plan=plan, year="2017/18", period=7)
    cleared = {
        "forecast-budget": "",
        "forecast-forecast_outturn": "",
        "forecast-version": str(forecast.version),
    }
    for entry in m.ProgressEntry.objects.filter(line__in=lines, as_at=date(2017, 10, 31)):
        cleared[f"line-{entry.line_id}-version"] = str(entry.version)
    # The commentary left: said how to remove the forecast, nothing saved.
    response = client.post(url(plan), post_data(plan, lines, **cleared))
    assert "clear its commentary too" in response.content.decode()
    assert m.OverspendForecast.objects.filter(pk=forecast.pk).exists()
    cleared["forecast-commentary"] = ""
    data = post_data(plan, lines, **cleared, reason="Entered against the wrong month")
    assert client.post(url(plan), data).status_code == 302
    assert not m.OverspendForecast.objects.filter(pk=forecast.pk).exists()


def test_a_forecast_stated_as_an_overspend_alone_is_never_removed_by_the_page(
    client, finance_manager, plan, lines
):
    # The paper states the overspend only: the page has no box for it, so saving the month
    # (its forecast boxes empty) leaves it as it is.
    stated = m.OverspendForecast.objects.create(
        plan=plan, year="2017/18", period=7, overspend=D("2200000")
    )
    client.force_login(finance_manager)
    data = post_data(plan, lines, **{"forecast-budget": "", "forecast-forecast_outturn": ""})
    data |= {"forecast-commentary": "", "forecast-version": str(stated.version)}
    assert client.post(url(plan), data).status_code == 302
    assert m.OverspendForecast.objects.get(pk=stated.pk).overspend == D("2200000")


def test_removing_or_changing_a_saved_forecast_asks_why(client, finance_manager, plan, lines):
    client.force_login(finance_manager)
    client.post(url(plan), post_data(plan, lines))
    forecast = m.OverspendForecast.objects.get(plan=plan, year="2017/18", period=7)
    versions = {
        f"line-{e.line_id}-version": str(e.version)
        for e in m.ProgressEntry.objects.filter(line__in=lines, as_at=date(2017, 10, 31))
    }
    changed = post_data(
        plan,
        lines,
        **versions,
        **{"forecast-forecast_outturn": "£29.6m", "forecast-version": str(forecast.version)},
    )
    html = client.post(url(plan), changed).content.decode()
    assert "Forecast forecast outturn £29,400,000 → £29,600,000" in html
    assert "Reason for changing saved figures" in html
    assert m.OverspendForecast.objects.get(pk=forecast.pk).forecast_outturn == D("29400000")


def test_a_percentage_kpi_takes_its_value_as_officers_type_it(client, finance_manager, plan, lines):
    kpi = KPIFactory(plan=plan, name="Contract carer usage", unit="percent")
    client.force_login(finance_manager)
    response = client.post(url(plan), post_data(plan, lines, **{f"kpi-{kpi.pk}-value": "55%"}))
    assert response.status_code == 302
    assert m.KpiPoint.objects.get(kpi=kpi).value == D("55")
    # Shown again as typed: 55, never 55.00.

    html = client.get(url(plan)).content.decode()
    box = re.search(rf'<input[^>]*name="kpi-{kpi.pk}-value"[^>]*>', html).group(0)
    assert 'value="55"' in box


def test_the_months_forecast_continues_the_series_the_plan_heads_with(
    client, finance_manager, plan, lines
):
    # The paper forecasts for "Children's Services": October's forecast continues it (and
    # moves against September's), never a new "whole service" series beside it.
    m.OverspendForecast.objects.create(
        plan=plan, year="2017/18", period=6, service_area="Children's Services", overspend=D("3e6")
    )
    client.force_login(finance_manager)
    page = client.get(url(plan)).content.decode()
    assert "Overspend forecast for P7 Oct 2017: Children&#x27;s Services" in page
    assert client.post(url(plan), post_data(plan, lines)).status_code == 302
    october = m.OverspendForecast.objects.get(plan=plan, year="2017/18", period=7)
    assert october.service_area == "Children's Services"
    assert not m.OverspendForecast.objects.filter(plan=plan, service_area="").exists()


@pytest.mark.parametrize("typed", ["%", "6,0,0", "55%%"])
def test_a_kpi_box_with_no_readable_figure_is_refused_never_cleared(
    client, finance_manager, plan, lines, typed
):
    kpi = KPIFactory(plan=plan, name="Contract carer usage", unit="percent")
    client.force_login(finance_manager)
    response = client.post(url(plan), post_data(plan, lines, **{f"kpi-{kpi.pk}-value": typed}))
    assert response.status_code == 200 and "nothing was saved" in response.content.decode()


def test_a_kpis_unit_or_range_never_changes_under_its_saved_values(plan):
    from django.core.exceptions import ValidationError

    kpi = KPIFactory(plan=plan, name="Net change in CLA", open_range=True)
    m.KpiPoint.objects.create(kpi=kpi, kind="actual", date=date(2017, 10, 31), value=D("-3"))
    kpi.open_range = False
    with pytest.raises(ValidationError) as caught:
        kpi.full_clean()
    assert "-3 on 31 Oct 2017" in str(caught.value.message_dict["open_range"])
    cla = KPIFactory(plan=plan, name="Children looked after")
    m.KpiPoint.objects.create(kpi=cla, kind="actual", date=date(2017, 10, 31), value=D("279"))
    cla.unit = "percent"
    with pytest.raises(ValidationError):
        cla.full_clean()
    cla.unit, cla.baseline_value = "count", D("-5")
    with pytest.raises(ValidationError) as caught:
        cla.full_clean()
    assert "baseline_value" in caught.value.message_dict


def test_a_colleagues_kpi_and_forecast_saved_in_between_are_named_and_shown(
    client, finance_manager, plan, lines
):
    # Found walking the app: two officers saved the same month; the second was told only of
    # the line they both changed, and saving again silently replaced the colleague's KPI.
    from tests.factories import KPIFactory

    kpi = KPIFactory(plan=plan, name="CLA per 10,000")
    client.force_login(finance_manager)
    first = post_data(plan, lines, **{f"kpi-{kpi.pk}-value": "120"})
    assert client.post(url(plan), first).status_code == 302
    point = m.KpiPoint.objects.get(kpi=kpi, date=date(2017, 10, 31))
    entry = m.ProgressEntry.objects.get(line=lines[0], as_at=date(2017, 10, 31))
    forecast = m.OverspendForecast.objects.get(plan=plan, year="2017/18", period=7)
    # A colleague saves the line, the KPI and the forecast.
    for record, field, value in (
        (entry, "achieved_to_date", D("38000")),
        (point, "value", D("123")),
        (forecast, "forecast_outturn", D("29500000")),
    ):
        setattr(record, field, value)
        services.update_record(
            instance=record, user=finance_manager, expected_version=record.version, reason="Mine"
        )
    # The second officer saves from the page opened before.
    data = post_data(plan, lines, **{f"kpi-{kpi.pk}-value": "124", "reason": "Corrected"})
    data[f"line-{lines[0].pk}-achieved_to_date"] = "39k"
    for line in lines:
        data[f"line-{line.pk}-version"] = "1"
    data[f"kpi-{kpi.pk}-version"] = "1"
    data["forecast-version"] = "1"
    response = client.post(url(plan), data)
    html = response.content.decode()
    assert "Nothing was saved" in html
    assert "1 line (SAV-0)" in html and "the KPI CLA per 10,000 (123" in html
    assert "the overspend forecast" in html
    assert "A colleague saved this month's forecast after you opened this page" in html
    assert re.search(r"Saved by .{0,60} after you opened this page: 123", html)
    point.refresh_from_db()
    assert point.value == D("123")


def test_a_conflict_on_a_later_page_names_only_that_pages_records(
    client, finance_manager, plan, monkeypatch
):
    # Found in review: on page 2 the forecast and KPIs (shown on page 1 only) post no
    # version, and were named as a colleague's saves alongside the line that was.
    from tests.factories import KPIFactory

    monkeypatch.setattr(month_end, "LINES_PER_PAGE", 2)
    lines = []
    for i in range(4):
        line = SavingsLineFactory(plan=plan, reference=f"SAV-{i}", rag="green")
        PlannedAmountFactory(line=line, year="2017/18", low=D("100000"), high=D("100000"))
        lines.append(line)
    kpi = KPIFactory(plan=plan, name="CLA per 10,000")
    client.force_login(finance_manager)
    assert client.post(url(plan), post_data(plan, lines[:2], **{f"kpi-{kpi.pk}-value": "120"}))
    page2 = url(plan) + "&page=2"
    first = {"year": "2017/18", "period": "7", "page": "2"}
    for line in lines[2:]:
        p = f"line-{line.pk}"
        first.update(
            {
                f"{p}-achieved_to_date": "30k",
                f"{p}-basis": "achieved",
                f"{p}-forecast": "95k",
                f"{p}-rag": "amber",
                f"{p}-commentary": "",
            }
        )
    assert client.post(page2, first).status_code == 302
    entry = m.ProgressEntry.objects.get(line=lines[2], as_at=date(2017, 10, 31))
    entry.achieved_to_date = D("31000")
    services.update_record(
        instance=entry, user=finance_manager, expected_version=entry.version, reason="Mine"
    )
    again = dict(first, **{f"line-{line.pk}-version": "1" for line in lines[2:]})
    again[f"line-{lines[2].pk}-achieved_to_date"] = "32k"
    again["reason"] = "Corrected"
    html = client.post(page2, again).content.decode()
    assert "1 line (SAV-2)" in html
    assert "the overspend forecast" not in html and "the KPI" not in html


def test_a_box_left_blank_takes_the_colleagues_figure_and_is_never_blanked_on_saving_again(
    client, finance_manager, plan, lines
):
    # Found walking the app: tab B never typed in a KPI's box; after the conflict, saving
    # again blanked the 111 a colleague had saved in tab A.
    from tests.factories import KPIFactory

    kpi = KPIFactory(plan=plan, name="Children looked after")
    client.force_login(finance_manager)
    # Tab A saves the KPI alone after tab B opened the month (no records of it yet).
    a = untouched(lines, **{f"kpi-{kpi.pk}-value": "111"})
    assert client.post(url(plan), a).status_code == 302
    # Tab B saves a line and leaves the KPI's box as it found it: blank.
    b = post_data(plan, lines, **{f"kpi-{kpi.pk}-value": "", "forecast-version": ""})
    b[f"kpi-{kpi.pk}-version"] = ""
    response = client.post(url(plan), b)
    html = response.content.decode()
    assert "Nothing was saved" in html and "the KPI Children looked after (111" in html
    [(row, form)] = [(r, f) for r, f in response.context["kpi_forms"] if r.kpi.pk == kpi.pk]
    assert form["value"].value() == "111.00"
    # Saving again from that page keeps the colleague's 111.
    again = dict(form.data.items())
    assert client.post(url(plan), again).status_code == 302
    assert m.KpiPoint.objects.get(kpi=kpi, date=date(2017, 10, 31)).value == D("111")


def test_every_figure_the_rules_refuse_is_listed_in_one_save(client, finance_manager, plan, lines):
    count = KPIFactory(plan=plan, name="Children looked after", unit="count")
    share = KPIFactory(plan=plan, name="Share in residential placements", unit="percent")
    client.force_login(finance_manager)
    data = post_data(
        plan,
        lines,
        **{
            "forecast-forecast_outturn": "",  # half a forecast
            f"kpi-{count.pk}-value": "-3",
            f"kpi-{share.pk}-value": "150",
        },
    )
    html = client.post(url(plan), data).content.decode()
    # All three at once, each on its own box: not one a save.
    assert "3 problems to correct" in html
    assert "Give both the budget and the forecast outturn" in html
    assert "KPI Children looked after – Actual" in html and "cannot be negative" in html
    assert "KPI Share in residential placements – Actual" in html and "from 0 to 100" in html
    assert not m.KpiPoint.objects.filter(kpi__plan=plan).exists()
    assert not m.ProgressEntry.objects.filter(as_at=date(2017, 10, 31)).exists()


def test_a_month_end_comment_longer_than_a_spreadsheet_cell_is_refused_on_its_box(
    client, finance_manager, plan, lines
):
    client.force_login(finance_manager)
    data = post_data(plan, lines, **{f"line-{lines[1].pk}-commentary": "x" * 40_000})
    html = client.post(url(plan), data).content.decode()
    assert f"{lines[1].reference} {lines[1].title} – Comment" in html
    assert "40,000 characters long; a spreadsheet cell holds at most 32,767" in html
    assert not m.ProgressEntry.objects.filter(as_at=date(2017, 10, 31)).exists()


def test_after_a_conflict_a_box_left_as_opened_takes_the_colleagues_figure_and_the_reason_stays(
    client, finance_manager, plan, lines
):
    # Found walking the close: tab B changed only a line's forecast; after the conflict its
    # achieved box still held the 30,000 it had opened with, and saving again put 30,000 back
    # over the colleague's 31,000 ("£31,000 → £30,000"), under B's reason for the forecast.
    client.force_login(finance_manager)
    client.post(url(plan), post_data(plan, lines))  # October saved: achieved 30k, forecast 95k
    entry = m.ProgressEntry.objects.get(line=lines[0], as_at=date(2017, 10, 31))
    opened = entry.version
    entry.achieved_to_date = D("31000")  # tab A corrects the achieved figure
    services.update_record(
        instance=entry, user=finance_manager, expected_version=opened, reason="Corrected"
    )
    # Tab B, opened before, changes only the forecast, with a reason.
    data = post_data(plan, lines, **{f"line-{lines[0].pk}-forecast": "90k", "reason": "Fcst"})
    for line in lines:
        data[f"line-{line.pk}-version"] = str(opened)
    response = client.post(url(plan), data)
    assert "Nothing was saved" in response.content.decode()
    form = response.context["line_forms"][0][1]
    assert form["achieved_to_date"].value() == "31000.00"  # theirs: B never touched it
    assert form["forecast"].value() == "90k"  # B's own
    assert response.context["reason_form"]["reason"].value() == "Fcst"
    again = dict(form.data.items())
    assert client.post(url(plan), again).status_code == 302
    entry.refresh_from_db()
    assert (entry.achieved_to_date, entry.forecast) == (D("31000"), D("90000"))
