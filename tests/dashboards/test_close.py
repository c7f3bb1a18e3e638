"""The month's close as the issue tells it: finance enters October 2017 of the Torbay MTFS and
submits it; the director signs it off with commentary and publishes; the scrutiny member reads
October and never November; finance corrects October after the director reopens it; the
director republishes and the councillor reads version 2 with what changed from version 1."""

import dataclasses
from datetime import date

import pytest
from django.urls import reverse

from plans import services
from plans.models import Commentary, MonthClose, ProgressEntry, PublishedReport
from tests.factories import note_the_month

pytestmark = pytest.mark.django_db

OCT = {"year": "2017/18", "period": 7}


def step(client, plan, name, **data):
    return client.post(
        reverse(f"dashboards:month_{name}", args=[plan.pk]), {**OCT, "back": "months", **data}
    )


def state(plan, year="2017/18", period=7):
    close = MonthClose.objects.filter(plan=plan, year=year, period=period).first()
    return close.state if close else "open"


def version(plan):
    close = MonthClose.objects.filter(plan=plan, **OCT).first()
    return close.version if close else 0


def enter(client, plan, line, as_at, achieved, reason=""):
    """Finance records a line's progress through the record form."""
    existing = ProgressEntry.objects.filter(line=line, as_at=as_at).first()
    url = (
        reverse("plans:progress_edit", args=[plan.pk, existing.pk])
        if existing
        else reverse("plans:progress_create", args=[plan.pk])
    )
    return client.post(
        url,
        {
            "line": line.pk,
            "as_at": as_at.isoformat(),
            "achieved_to_date": achieved,
            "basis": "achieved",
            "forecast": "",
            "rag": "amber",
            "commentary": "",
            "version": existing.version if existing else "",
            "change_reason": reason,
        },
    )


def stored_report(f, changes, heading: str, published_at: str) -> PublishedReport:
    """Version 1 of ``f``'s month as publishing stores it (its snapshot; stand-in files)."""
    from dashboards import publishing

    return PublishedReport.objects.create(
        plan=f.plan,
        year=f.sel.year,
        period=f.sel.period,
        number=1,
        published_at=published_at,
        figures=publishing.snapshot(f, changes, heading),
        pdf=b"%PDF",
        xlsx=b"PK",
    )


@pytest.fixture
def line(mtfs):
    return mtfs.lines.order_by("reference").first()


def test_the_month_cycle_from_entry_to_a_corrected_publication(client, mtfs, torbay_users, line):
    finance, director, scrutiny = (torbay_users[r] for r in ("finance", "director", "scrutiny"))

    # Finance enters October and submits it.
    client.force_login(finance)
    assert enter(client, mtfs, line, date(2017, 10, 31), "50000").status_code == 302
    response = step(client, mtfs, "submit", version=0)
    assert response.status_code == 302
    assert state(mtfs) == "submitted"
    close = MonthClose.objects.get(plan=mtfs, **OCT)
    assert close.submitted_by == finance and close.submitted_at is not None

    # A submitted month's figures are read only, on the server.
    response = enter(client, mtfs, line, date(2017, 10, 31), "60000", reason="typo")
    assert response.status_code == 200
    assert "submitted for the director" in response.content.decode()
    assert ProgressEntry.objects.get(line=line, as_at=date(2017, 10, 31)).achieved_to_date == 50000

    # Finance cannot sign off or publish.
    assert step(client, mtfs, "signoff", version=1, commentary="x").status_code == 403
    assert step(client, mtfs, "publish", version=1).status_code == 403

    # The director signs off with commentary (asked for by name when missing), and publishes.
    client.force_login(director)
    response = step(client, mtfs, "signoff", version=1, commentary="")
    assert response.status_code == 400
    assert "Write the director&#x27;s commentary for P7 Oct 2017" in response.content.decode()
    assert state(mtfs) == "submitted"
    response = step(client, mtfs, "signoff", version=1, commentary="October is on track.")
    assert response.status_code == 302
    assert state(mtfs) == "signed_off"
    assert Commentary.objects.get(plan=mtfs, role="director", **OCT).body == "October is on track."
    assert step(client, mtfs, "submit", version=2).status_code == 403  # not the director's
    response = step(client, mtfs, "publish", version=2)
    assert response.status_code == 302, response.content.decode()[:500]
    assert state(mtfs) == "published"
    v1 = PublishedReport.objects.get(plan=mtfs, number=1, **OCT)
    assert bytes(v1.pdf).startswith(b"%PDF") and bytes(v1.xlsx).startswith(b"PK")
    assert v1.figures["label"] == "P7 Oct 2017"
    assert any(
        x["reference"] == line.reference and x["achieved"] == "50000.00"
        for x in v1.figures["lines"]
    )

    # Finance half-enters November.
    client.force_login(finance)
    assert enter(client, mtfs, line, date(2017, 11, 30), "70000").status_code == 302

    # The scrutiny member sees October published and never November.
    client.force_login(scrutiny)
    page = client.get(reverse("dashboards:published_list")).content.decode()
    assert "P7 Oct 2017" in page and "P8 Nov 2017" not in page
    response = client.get(reverse("dashboards:report", args=[mtfs.pk]) + "?year=2017/18&period=8")
    assert response.status_code == 302
    assert response.url == reverse("dashboards:published_report", args=[v1.pk])
    page = client.get(response.url).content.decode()
    assert "£50,000" in page and "£70,000" not in page and "October is on track." in page
    live = client.get(reverse("dashboards:plan_dashboard", args=[mtfs.pk]))
    assert live.status_code == 302 and live.url.endswith(f"/published/{v1.pk}/")
    pdf = client.get(reverse("dashboards:report_pdf", args=[mtfs.pk]))
    assert pdf.status_code == 200 and pdf.content == bytes(v1.pdf)
    november = reverse("dashboards:report_xlsx", args=[mtfs.pk]) + "?year=2017/18&period=8"
    # A download of a month not published is never another month's file under its name:
    # the reader is taken to the latest published report, which says so.
    response = client.get(november, follow=True)
    assert response.redirect_chain[-1][0] == reverse("dashboards:published_report", args=[v1.pk])
    assert "The report for P8 Nov 2017 has not been published" in response.content.decode()
    assert client.get(reverse("plans:plan_history", args=[mtfs.pk])).status_code == 403
    assert client.get(reverse("plans:progress_list", args=[mtfs.pk])).status_code == 403

    # The director reopens October for a correction (a reason is asked for).
    client.force_login(director)
    assert step(client, mtfs, "reopen", version=3, reason="").status_code == 400
    assert (
        step(client, mtfs, "reopen", version=3, reason="Achieved was mistyped").status_code == 302
    )
    assert state(mtfs) == "open"
    # The months table says October is open again and which version stands meanwhile.
    months = client.get(reverse("dashboards:months", args=[mtfs.pk]) + "?year=2017/18&period=7")
    row = next(r for r in months.content.decode().split("<tr>") if ">P7 Oct 2017</a>" in r)
    assert "Reopened for a correction; version 1 stands" in row and ">Version 1</a>" in row

    # Finance corrects October and submits; the director signs off and publishes version 2.
    client.force_login(finance)
    response = enter(client, mtfs, line, date(2017, 10, 31), "55000", reason="Mistyped")
    assert response.status_code == 302
    assert step(client, mtfs, "submit", version=4).status_code == 302
    client.force_login(director)
    assert (
        step(client, mtfs, "signoff", version=5, commentary="October is on track.").status_code
        == 302
    )
    assert (
        step(client, mtfs, "publish", version=6, reason="Corrects the achieved figure").status_code
        == 302
    )
    v2 = PublishedReport.objects.get(plan=mtfs, number=2, **OCT)
    assert {
        "area": "Savings line",
        "item": f"{line.reference} {line.title}",
        "figure": "achieved",
        "before": "£50,000",
        "after": "£55,000",
    } in v2.changes

    # The councillor reads version 2 with what changed from version 1; version 1 is unchanged.
    client.force_login(scrutiny)
    response = client.get(reverse("dashboards:report", args=[mtfs.pk]))
    assert response.url == reverse("dashboards:published_report", args=[v2.pk])
    page = client.get(response.url).content.decode()
    assert "What changed from version 1" in page and "£50,000" in page and "£55,000" in page
    # Printed, each page carries the authority, the month and page n of N, as the live report.
    assert "published report as at P7 Oct 2017 (31 October 2017)" in page
    assert 'content: "Page " counter(page) " of " counter(pages)' in page
    old = client.get(reverse("dashboards:published_report", args=[v1.pk])).content.decode()
    assert "This version has been replaced" in old
    v1.refresh_from_db()
    assert any(x["achieved"] == "50000.00" for x in v1.figures["lines"])

    # Finance corrects again on its own, as the scenario runs: reopens the published
    # month (with the reason), corrects the figure, and publishes the correction as version 3.
    client.force_login(finance)
    close = MonthClose.objects.get(plan=mtfs, **OCT)
    assert step(client, mtfs, "republish", version=close.version, reason="x").status_code == 400
    assert (
        step(client, mtfs, "reopen", version=close.version, reason="Late invoice").status_code
        == 302
    )
    response = enter(client, mtfs, line, date(2017, 10, 31), "56000", reason="Late invoice")
    assert response.status_code == 302
    close.refresh_from_db()
    assert step(client, mtfs, "republish", version=close.version, reason="").status_code == 400
    assert (
        step(
            client, mtfs, "republish", version=close.version, reason="Late invoice added"
        ).status_code
        == 302
    )
    v3 = PublishedReport.objects.get(plan=mtfs, number=3, **OCT)
    assert v3.published_by == finance and state(mtfs) == "published"
    assert {
        "area": "Savings line",
        "item": f"{line.reference} {line.title}",
        "figure": "achieved",
        "before": "£55,000",
        "after": "£56,000",
    } in v3.changes

    # A correction that corrects nothing publishes no new version: the month is published
    # again, version 3 standing (it used to be refused, and the month left open for good).
    close.refresh_from_db()
    assert step(client, mtfs, "reopen", version=close.version, reason="Check").status_code == 302
    close.refresh_from_db()
    response = step(client, mtfs, "republish", version=close.version, reason="No change")
    assert response.status_code == 302
    said = client.get(response.url).content.decode()
    assert "no new version was published" in said and "version 3 stands" in said
    assert state(mtfs) == "published"
    assert not PublishedReport.objects.filter(plan=mtfs, number=4, **OCT).exists()

    # The audit trail shows every step with formatted values.
    client.force_login(finance)
    page = client.get(reverse("plans:plan_history", args=[mtfs.pk])).content.decode()
    for words in (
        "Month P7 Oct 2017",
        "Submitted by finance",
        "Signed off by the director",
        "Published",
        "Achieved was mistyped",
        "£50,000 → £55,000",
        "Corrects the achieved figure",
    ):
        assert words in page, words


def test_a_published_report_is_never_changed(mtfs, torbay_users):
    report = PublishedReport.objects.create(
        plan=mtfs,
        published_at="2017-11-05T10:00:00Z",
        figures={},
        pdf=b"%PDF",
        xlsx=b"PK",
        **OCT,
    )
    report.note = "edited"
    with pytest.raises(Exception, match="never changed"):
        report.save()


def test_each_step_only_from_its_state_and_with_a_current_version(mtfs, torbay_users):
    finance, director = torbay_users["finance"], torbay_users["director"]
    with pytest.raises(services.ValidationError):
        services.publish_month(
            plan=mtfs, user=director, expected_version=0, render=None, **OCT
        )  # an open month is not signed off
    note_the_month(mtfs, **OCT)
    services.submit_month(plan=mtfs, user=finance, expected_version=0, **OCT)
    with pytest.raises(services.StaleEdit):
        services.withdraw_month(
            plan=mtfs, user=finance, expected_version=0, reason="again", **OCT
        )  # someone moved it on since version 0
    with pytest.raises(services.ValidationError, match="Say why"):
        services.withdraw_month(plan=mtfs, user=finance, expected_version=1, reason=" ", **OCT)
    services.withdraw_month(plan=mtfs, user=finance, expected_version=1, reason="A typo", **OCT)
    close = MonthClose.objects.get(plan=mtfs, **OCT)
    assert close.state == "open" and close.submitted_by is None
    assert close.history.first().history_change_reason == "A typo"


def test_a_step_on_a_stale_version_says_who_moved_the_month_on(client, mtfs, torbay_users):
    finance, director = torbay_users["finance"], torbay_users["director"]
    note_the_month(mtfs, **OCT)
    client.force_login(finance)
    assert step(client, mtfs, "submit", version=0).status_code == 302
    # The same officer's second click (or another tab) is not blamed on someone else.
    again = step(client, mtfs, "submit", version=0).content.decode()
    assert "You have already moved this month on" in again and "Someone else" not in again
    assert "it is now submitted" in again
    client.force_login(director)
    stale = step(client, mtfs, "return", version=0, reason="Check line 4").content.decode()
    assert "Someone else moved this month on while you were looking" in stale
    assert state(mtfs) == "submitted" and version(mtfs) == 1


def test_what_changed_is_since_the_last_published_report(client, mtfs, torbay_users, line):
    from dashboards import publishing
    from plans import figures as fg

    finance = torbay_users["finance"]
    for day, achieved in ((date(2017, 10, 31), 50000), (date(2017, 11, 30), 70000)):
        services.create_record(
            instance=ProgressEntry(line=line, as_at=day, achieved_to_date=achieved), user=finance
        )
    october = fg.plan_figures(mtfs, fg.Selection("2017/18", 7))
    PublishedReport.objects.create(
        plan=mtfs,
        published_at="2017-11-06T09:00:00Z",
        figures=publishing.snapshot(october, [], "What changed"),
        pdf=b"%PDF",
        xlsx=b"PK",
        **OCT,
    )
    client.force_login(torbay_users["director"])
    response = client.get(
        reverse("dashboards:report", args=[mtfs.pk]), {"year": "2017/18", "period": "12"}
    )
    assert "2. What changed since the report published for P7 Oct 2017 (version 1, 6 November" in (
        response.content.decode()
    )
    changes = response.context["changes"]
    mine = next(c for c in changes if c.item.startswith(line.reference))
    assert (mine.before, mine.after) == (50000, 70000)


def test_a_new_years_first_figures_are_said_to_be_the_years_first(mtfs, torbay_users, line):
    # Against the last year's published report, a 2017/18 figure was "first reported since
    # the last published report", beside a "not reported" that report had in fact reported.
    from dashboards import publishing
    from plans import figures as fg

    march = fg.plan_figures(mtfs, fg.Selection("2016/17", 12))
    report = stored_report(march, [], "What changed", "2017-04-20T09:00:00Z")
    services.create_record(
        instance=ProgressEntry(line=line, as_at=date(2017, 6, 30), achieved_to_date=20000),
        user=torbay_users["finance"],
    )
    june = fg.plan_figures(mtfs, fg.Selection("2017/18", 3))
    changes = publishing.changes_since(report, june)
    mine = next(c for c in changes if c.item.startswith(line.reference))
    assert mine.before is None and mine.after == 20000
    assert mine.note == "the first for 2017/18 (the last published report was of 2016/17)"


def test_an_open_month_a_later_closed_month_reads_says_it_is_read_only(client, mtfs, torbay_users):
    MonthClose.objects.create(plan=mtfs, state="submitted", year="2017/18", period=8)
    client.force_login(torbay_users["director"])
    page = client.get(
        reverse("dashboards:plan_dashboard", args=[mtfs.pk]), {"year": "2017/18", "period": "7"}
    ).content.decode()
    panel = page[page.index('id="month-close"') :][:2000]
    assert "Open, but read only: P7 Oct 2017 comes before P8 Nov 2017" in panel
    assert "finance is entering the month's figures" not in panel


def test_a_published_months_live_report_says_when_its_figures_differ_from_the_record(
    client, torbay_users, mtfs
):
    # Found walking the app: a target edited after October was published changed the live
    # report and pack of October, headed "committee pack", with nothing to say they were no
    # longer the published record.
    from plans.models import PlannedAmount

    client.force_login(torbay_users["finance"])
    note_the_month(mtfs, **OCT)
    assert step(client, mtfs, "submit", version=0).status_code == 302
    client.force_login(torbay_users["director"])
    assert step(client, mtfs, "signoff", version=1, commentary="On track.").status_code == 302
    assert step(client, mtfs, "publish", version=2).status_code == 302
    report = reverse("dashboards:report", args=[mtfs.pk]) + "?year=2017/18&period=7"
    assert "Live figures, not the published record" not in client.get(report).content.decode()
    # Later months' entries and a reworded title are no change of October's figures (found in
    # review: a November cost pressure flagged every published month).
    from tests.factories import CostPressureFactory, OverspendForecastFactory

    CostPressureFactory(plan=mtfs, year="2017/18", period=8, amount=25000)
    OverspendForecastFactory(plan=mtfs, year="2017/18", period=8)
    line = mtfs.lines.order_by("reference").first()
    line.title += " (reworded)"
    line.save()
    services.data_changed([line])
    assert "Live figures, not the published record" not in client.get(report).content.decode()
    amount = PlannedAmount.objects.filter(line__plan=mtfs, year="2017/18").first()
    amount.low = amount.high = amount.low + 10000
    amount.save()
    services.data_changed([amount])
    html = client.get(report).content.decode()
    assert "Live figures, not the published record: since P7 Oct 2017&#x27;s version 1" in html
    assert "stays the committee&#x27;s record" in html


def test_a_published_report_gives_the_placement_forecast_its_pack_gives(client, mtfs, torbay_users):
    # The published page had no placements section: the year's only overspend was in its
    # PDF and workbook alone, and its "what changed" row said neither how it was known.
    from dashboards import publishing
    from plans import figures as fg

    f = fg.plan_figures(mtfs, fg.Selection("2017/18", 7))
    # As against a report of another year: the variance with nothing before it.
    change = next(c for c in f.changes if c.area == "Placements")
    change = dataclasses.replace(change, before=None)
    report = stored_report(f, [change], "What changed since P12 Mar 2017", "2017-11-20T09:00:00Z")
    client.force_login(torbay_users["scrutiny"])
    html = client.get(reverse("dashboards:published_report", args=[report.pk])).content.decode()
    section = html[html.index('id="h-placements"') : html.index('id="h-kpis"')]
    assert "5. Placements, 2017/18" in section and "£84,470" in section
    assert "Cost to date (estimated)" in section
    assert "carried" in section  # the note: no count of 2017/18's own
    for t in f.placements.types:
        assert t.type.name in section
    assert "6. Key performance indicators" in html
    # A variance worked out from counts carried forward is "first estimated", never reported.
    assert change.item == "Placement forecast variance against budget"
    assert change.first == "first estimated"
    row = html[html.index("Placement forecast variance against budget") :]
    assert "first estimated" in row[: row.index("</tr>")]
    # A correction that moves the placement forecast says so, from version to version; a
    # version kept before the whole table was (its variance alone) is compared on that.
    corrected = {**report.figures, "placements": {**report.figures["placements"]}}
    corrected["placements"]["variance"] = "90000.00"
    [moved] = publishing.version_changes(report.figures, corrected)
    assert (moved["area"], moved["figure"]) == ("Placements", "variance")
    assert (moved["before"], moved["after"]) == ("£84,470", "£90,000")
    old = {**report.figures, "placements": {"year": "2017/18", "variance": "84470.00"}}
    assert publishing.version_changes(old, report.figures) == []


def test_a_month_is_reopened_only_if_it_can_then_be_corrected(mtfs, torbay_users, line):
    # Found walking the close: P7 reopened while P10 was signed off opened read only, and
    # could never be published again.
    from django.core.exceptions import ValidationError

    from plans.models import OverspendForecast

    finance, director = torbay_users["finance"], torbay_users["director"]
    MonthClose.objects.create(plan=mtfs, year="2017/18", period=7, state="published")
    MonthClose.objects.create(plan=mtfs, year="2017/18", period=10, state="signed_off")
    with pytest.raises(ValidationError, match="P7 Oct 2017 cannot be corrected while P10 Jan"):
        services.reopen_month(
            plan=mtfs,
            year="2017/18",
            period=7,
            user=director,
            expected_version=None,
            reason="Fix",
        )
    assert state(mtfs) == "published"
    # And a month goes to the director only with figures of its own.
    with pytest.raises(ValidationError, match="Nothing is saved for P9 Dec 2017 yet"):
        services.submit_month(
            plan=mtfs, year="2017/18", period=9, user=finance, expected_version=None
        )
    OverspendForecast.objects.create(
        plan=mtfs, year="2017/18", period=9, budget=100, forecast_outturn=120
    )
    services.submit_month(plan=mtfs, year="2017/18", period=9, user=finance, expected_version=None)
    assert state(mtfs, period=9) == "submitted"
