"""Placements, the cost driver: the issue's scenario figure for figure against a hand
calculation, Barking's what-if, the seed figures, and the rules the records keep."""

import io
import re
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from plans import models as m
from plans import services
from plans.figures import Selection, plan_figures
from plans.figures.placements import placement_figures, what_ifs
from tests.factories import note_the_month, publish_as_stored

pytestmark = pytest.mark.django_db
D = Decimal
P = Decimal("0.01")

# The hand calculation (MTFS, Appendix 1 and para 5.3.1; months assumed as the fixture says).
RESIDENTIAL = D(190_000)  # a year
DIFFERENCE = D(126_705)  # residential against a high-end IFA, a year
IFA = RESIDENTIAL - DIFFERENCE  # £63,295: the fixture's stated assumption
A_MONTH = DIFFERENCE / 12  # £10,558.75: one move's saving each month


def money(x) -> Decimal:
    return Decimal(x).quantize(P)


@pytest.fixture
def moves(mtfs):
    """The two moves planned for 2017/18 (the issue's scenario)."""
    return list(mtfs.placement_moves.filter(planned_year="2017/18").order_by("reference"))


def month_end_post(client, plan, period, made: dict, year="2017/18"):
    """The month-end page as a finance manager saves it: only the placement part filled."""
    data = {"year": year, "period": str(period)}
    for line in plan.lines.all():
        data[f"line-{line.pk}-basis"] = "achieved"
        data[f"line-{line.pk}-rag"] = line.rag
    for move in plan.placement_moves.all():
        data[f"move-{move.pk}-version"] = str(move.version)
        data[f"move-{move.pk}-made"] = made.get(move.reference, "")
    url = reverse("plans:month_end", args=[plan.pk])
    return client.post(url, data)


def test_the_issue_scenario_figure_for_figure(client, mtfs, moves, torbay_users):
    """finance-torbay records, on the November 2017 month-end page, that one of the two
    residential-to-IFA moves planned for July 2017 was made in September and the other has
    not been made."""
    client.force_login(torbay_users["finance"])
    first, second = moves
    response = month_end_post(client, mtfs, 8, {first.reference: "2017/18-6"})
    assert response.status_code == 302, response.content.decode()[:2000]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.actual_year, first.actual_period) == ("2017/18", 6)
    assert (second.actual_year, second.actual_period) == ("", None)

    # Hand calculation. Move 1: made in September, 2 months late (July, August); it saves
    # September to March (7 months) in the year, of which September to November so far.
    # Move 2: not made by November, 5 months late (July to November); forecast for December,
    # it saves December to March (4 months).
    planned_in_year = 2 * DIFFERENCE * 9 / 12  # July to March, both moves: £190,057.50
    achieved = A_MONTH * 3  # £31,676.25
    forecast = A_MONTH * 7 + A_MONTH * 4  # £116,146.25
    slippage = A_MONTH * 2 + A_MONTH * 5  # £73,911.25
    assert money(planned_in_year) == D("190057.50")
    assert money(achieved) == D("31676.25")
    assert money(forecast) == D("116146.25")
    assert money(slippage) == D("73911.25")

    # The savings line: its November progress comes from the moves, its RAG from late moves.
    line = m.SavingsLine.objects.get(plan=mtfs, reference="MTFS-02")
    entry = line.progress.get(as_at="2017-11-30")
    assert entry.achieved_to_date == money(achieved)
    assert entry.forecast == money(forecast)
    assert entry.rag == "red"  # a move 5 months late: Red at 3 or more
    assert "1 of 2 made" in entry.commentary
    line.refresh_from_db()
    assert line.rag == "red"
    assert entry.history.first().history_change_reason == services.MOVES_REASON

    f = placement_figures(mtfs, "2017/18", 8)
    driven = f.line(line.pk)
    assert driven.driver_volume == 2
    assert driven.driver_total == money(2 * DIFFERENCE)  # £253,410 (the paper rounds: £253k)
    assert driven.planned_in_year == money(planned_in_year)
    assert driven.achieved == money(achieved)
    assert driven.forecast == money(forecast)
    assert driven.slippage == money(slippage)

    # The slippage table, month by month (Table 2's method): both moves late in July and
    # August, the second alone from September.
    assert [(s.label, s.amount, s.cumulative) for s in f.slippage] == [
        ("Jul 2017", money(2 * A_MONTH), money(2 * A_MONTH)),
        ("Aug 2017", money(2 * A_MONTH), money(4 * A_MONTH)),
        ("Sep 2017", money(A_MONTH), money(5 * A_MONTH)),
        ("Oct 2017", money(A_MONTH), money(6 * A_MONTH)),
        ("Nov 2017", money(A_MONTH), money(7 * A_MONTH)),
    ]
    assert f.slippage_total == money(slippage)

    # The placement forecast. Residential: 28 children April to August, 27 from September,
    # 26 from December (the second move forecast); the high-end IFA: 1 from September,
    # 2 from December. Budget: 28 and 0 to June, 26 and 2 from July.
    residential_months = 28 * 5 + 27 * 3 + 27 * 4 - 4  # 325 child-months
    ifa_months = 1 * 3 + 1 * 4 + 4  # 11
    outturn = RESIDENTIAL * residential_months / 12 + IFA * ifa_months / 12
    budget = RESIDENTIAL * (28 * 3 + 26 * 9) / 12 + IFA * (2 * 9) / 12
    to_date = RESIDENTIAL * (28 * 5 + 27 * 3) / 12 + IFA * 3 / 12
    assert money(outturn) == D("5203853.75")
    assert money(budget) == D("5129942.50")
    assert f.position.to_date == money(to_date) == D("3514990.42")
    assert f.position.outturn == money(outturn)
    assert f.position.budget == money(budget)
    assert f.position.variance == money(outturn) - money(budget) == money(slippage)
    # October's variance was six late move-months; November adds one.
    assert f.movement == money(A_MONTH)
    assert [t.current for t in f.types] == [27, 1]

    # The dashboard opens on November (the month the line's progress was written) and shows
    # the same figures.
    client.force_login(torbay_users["director"])
    html = client.get(reverse("dashboards:plan_dashboard", args=[mtfs.pk])).content.decode()
    assert "P8 Nov 2017" in html
    for text in (
        "£5,203,854",  # forecast outturn, whole pounds
        "£5,129,943",  # budget, £5,129,942.50, rounded half up as every figure is
        "£73,911",  # variance
        "+£10,559",  # movement since October
        "Made in Sep 2017, 2 months late",
        "Not recorded as made by Nov 2017: 5 months late",
        "2 × £126,705 = £253,410",
        "£116,146",  # the line's forecast
        "£31,676",  # achieved to date
    ):
        assert text in html, text
    # The chart's caption and hover agree with the table (they once read £5,129,942).
    assert "£5,129,942" not in html
    figures = plan_figures(mtfs, Selection("2017/18", 8))
    shown = next(x for x in figures.lines if x.line.reference == "MTFS-02")
    assert shown.achieved == money(achieved)
    assert shown.forecast == money(forecast)


def test_the_same_moves_in_october_are_amber_then_red(mtfs, moves):
    first, _ = moves
    first.actual_year, first.actual_period = "2017/18", 6
    first.save()
    at_august = placement_figures(mtfs, "2017/18", 5)
    assert at_august.lines[0].rag == "amber"  # both 2 months late
    at_september = placement_figures(mtfs, "2017/18", 6)
    assert at_september.lines[0].rag == "red"  # the second 3 months late
    at_june = placement_figures(mtfs, "2017/18", 3)
    assert at_june.lines[0].rag == "green"
    assert at_june.slippage == []


def test_barkings_one_percent_what_if_is_170000_a_year(seeded):
    barking = m.Plan.objects.get(authority__slug="barking-dagenham")
    (what_if,) = what_ifs(barking, "2014/15", 10)
    assert what_if.scenario.name == "1% reduction in placement costs"
    assert what_if.base.position.full_year == D("17000000.00")
    assert what_if.figures.position.full_year == D("16830000.00")
    assert what_if.full_year_effect == D("-170000.00")
    # The base is untouched by the scenario.
    assert m.PlacementType.objects.get(plan=barking).unit_cost == D("17000000.00")
    # No budget is given, so there is no variance: unknown, not zero.
    assert what_if.base.position.budget is None
    assert what_if.base.position.variance is None


def test_barkings_what_if_on_the_dashboard(client, seeded):
    from tests.factories import UserFactory

    barking = m.Plan.objects.get(authority__slug="barking-dagenham")
    user = UserFactory(username="director-bd-t", authority=barking.authority, role="director")
    client.force_login(user)
    html = client.get(reverse("dashboards:plan_dashboard", args=[barking.pk])).content.decode()
    assert "1% reduction in placement costs" in html
    assert "-£170,000" in html


def test_scenarios_change_move_dates_and_counts_never_the_base(mtfs, moves):
    late = m.PlacementScenario.objects.create(
        plan=mtfs, name="Both moves two months late", move_delay_months=2
    )
    (what_if,) = what_ifs(mtfs, "2017/18", 3)
    assert what_if.scenario == late
    base_saving = what_if.rows()[3][1]
    late_saving = what_if.rows()[3][2]
    assert base_saving == money(2 * DIFFERENCE * 9 / 12)
    assert late_saving == money(2 * DIFFERENCE * 7 / 12)
    fewer = m.PlacementScenario.objects.create(
        plan=mtfs,
        name="Ten fewer in residential from 2017/18",
        placement_type=mtfs.placement_types.get(code="residential"),
        count_change=-10,
        count_change_from="2017/18",
    )
    f = placement_figures(mtfs, "2017/18", 3, scenario=fewer)
    assert f.position.full_year == money(18 * RESIDENTIAL)
    # The base keeps its actual count (the seed budgets 18 for 2019/20, not this scenario).
    assert not m.PlacementCount.objects.filter(type__plan=mtfs, kind="actual", count=18).exists()


def test_telford_counts_and_unknown_costs(seeded):
    telford = m.Plan.objects.get(authority__slug="telford")
    f = placement_figures(telford, "2013/14", 6)
    by_code = {t.type.code: t for t in f.types}
    assert by_code["internal-fostering"].current == 130
    assert by_code["external-fostering"].current == 84
    assert by_code["residential"].current is None  # the paper gives no residential count
    assert f.in_house_share == D(130) / D(214)
    assert f.position.outturn is None  # no unit cost is given: unknown, not zero
    assert not f.cost_known  # so no cost chart is drawn, on the dashboard or in the pack
    budget = {t.type.code: t for t in placement_figures(telford, "2014/15", 12).types}
    assert budget["residential"].budget_now == 40
    assert budget["external-fostering"].budget_now == 77


def test_seed_figures_trace_to_the_paper(mtfs):
    residential = mtfs.placement_types.get(code="residential")
    assert residential.annual_cost * 28 == D("5320000")  # "around £5.3m per annum"
    ifa = mtfs.placement_types.get(code="high-end-ifa")
    assert residential.annual_cost - ifa.annual_cost == DIFFERENCE
    assert "£126,705" in ifa.assumption
    # "Proposal is to transition 10 young people from Residential to IFAs over 3 years.
    # 2017/18: £253k (2 placements) 2018/19: £506k (4 placements) 2019/20: £506k (4
    # placements)": one child a move, each in July of its year (the fixture's assumption).
    by_year = {}
    for move in mtfs.placement_moves.filter(line__reference="MTFS-02"):
        assert move.planned_period == 4 and move.number == 1
        assert "assumed" in move.notes
        by_year[move.planned_year] = by_year.get(move.planned_year, 0) + 1
    assert by_year == {"2017/18": 2, "2018/19": 4, "2019/20": 4}


def test_a_move_made_after_the_month_saved_is_refused(client, mtfs, moves, torbay_users):
    client.force_login(torbay_users["finance"])
    first, _ = moves
    response = month_end_post(client, mtfs, 5, {first.reference: "2017/18-6"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    first.refresh_from_db()
    assert first.actual_year == ""
    assert not m.ProgressEntry.objects.filter(line__plan=mtfs, as_at="2017-08-31").exists()


def test_a_colleagues_move_save_is_not_overwritten(mtfs, moves, torbay_users):
    first, _ = moves
    seen = first.version
    services.save_placement_month(
        plan=mtfs,
        year="2017/18",
        period=8,
        counts={},
        moves=[services.MoveMade(first.pk, seen, "2017/18", 6)],
        user=torbay_users["finance"],
    )
    with pytest.raises(services.StaleEdit):
        services.save_placement_month(
            plan=mtfs,
            year="2017/18",
            period=8,
            counts={},
            moves=[services.MoveMade(first.pk, seen, "2017/18", 7)],
            user=torbay_users["finance"],
        )
    first.refresh_from_db()
    assert first.actual_period == 6


def test_counts_saved_with_history_and_a_late_count_conflict(mtfs, torbay_users):
    residential = mtfs.placement_types.get(code="residential")
    user = torbay_users["finance"]
    services.save_placement_month(
        plan=mtfs, year="2017/18", period=8, counts={residential.pk: (27, None)}, moves=[],
        user=user,
    )  # fmt: skip
    count = m.PlacementCount.objects.get(type=residential, year="2017/18", period=8)
    assert count.count == 27 and count.entered_by == user
    assert count.history.count() == 1
    with pytest.raises(services.StaleEdit):
        # A second officer who opened the page before the first saved.
        services.save_placement_month(
            plan=mtfs, year="2017/18", period=8, counts={residential.pk: (26, None)},
            moves=[], user=user,
        )  # fmt: skip
    count.refresh_from_db()
    assert count.count == 27


def test_constraints_name_the_problem(mtfs):
    residential = mtfs.placement_types.get(code="residential")
    move = m.PlacementMove(
        plan=mtfs,
        reference="X-1",
        from_type=residential,
        to_type=residential,
        planned_year="2017/18",
        planned_period=4,
    )
    with pytest.raises(ValidationError) as exc:
        move.full_clean()
    assert "from one placement type to another" in str(exc.value)
    move.to_type = None
    move.actual_year = "2017/18"
    with pytest.raises(ValidationError) as exc:
        move.full_clean()
    assert "both the year and the month" in str(exc.value)
    other = m.Plan.objects.get(authority__slug="telford").placement_types.first()
    move.actual_year, move.from_type = "", other
    with pytest.raises(ValidationError) as exc:
        move.full_clean()
    assert "another plan" in str(exc.value)


def test_the_report_its_workbook_and_the_pack_carry_the_scenario(client, mtfs, moves, torbay_users):
    import io

    from openpyxl import load_workbook

    from dashboards import pack

    first, _ = moves
    first.actual_year, first.actual_period = "2017/18", 6
    first.save()
    services.sync_lines_from_moves(
        plan=mtfs, year="2017/18", period=8, user=torbay_users["finance"]
    )
    client.force_login(torbay_users["director"])  # scrutiny members read published reports
    query = {"year": "2017/18", "period": "8"}
    html = client.get(reverse("dashboards:report", args=[mtfs.pk]), query).content.decode()
    assert "£5,203,854" in html and "£73,911" in html  # the page in whole pounds
    data = client.get(reverse("dashboards:report_xlsx", args=[mtfs.pk]), query).content
    ws = load_workbook(io.BytesIO(data))["Placements"]
    rows = {r[0]: r for r in ws.iter_rows(min_row=5, values_only=True)}
    assert D(str(rows["All types"][4])) == D("5203853.75")
    assert D(str(rows["All types"][5])) == D("5129942.50")
    assert D(str(rows["Variance (positive = overspend)"][4])) == D("73911.25")
    assert D(str(rows["Late moves: total"][4])) == D("73911.25")
    text = pack.pack_html(plan_figures(mtfs, Selection("2017/18", 8)))
    assert "7. Placements and planned moves" in text
    assert "£5,204k" in text and "£74k" in text


def test_a_move_corrected_on_its_own_page_moves_its_line(client, mtfs, moves, torbay_users):
    client.force_login(torbay_users["finance"])
    first, _ = moves
    m.ProgressEntry.objects.create(
        line=first.line, as_at=date(2017, 11, 30), achieved_to_date=0, forecast=0, rag="green"
    )  # the plan's as-at month is November
    url = reverse("plans:placementmove_edit", args=[mtfs.pk, first.pk])
    response = client.post(
        url,
        {
            "version": first.version,
            "reference": first.reference,
            "from_type": first.from_type_id,
            "to_type": first.to_type_id,
            "number": 1,
            "planned_year": "2017/18",
            "planned_period": 4,
            "actual_year": "2017/18",
            "actual_period": 6,
            "line": first.line_id,
            "notes": first.notes,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    entry = first.line.progress.get(as_at="2017-11-30")
    assert entry.achieved_to_date == money(A_MONTH * 3)
    assert entry.rag == "red"
    # Half a move date is refused with a message on the field, and nothing changes.
    response = client.post(url, {"reference": first.reference, "actual_year": "2017/18"})
    assert response.status_code == 200
    assert "Give both the year and the month" in response.content.decode()


def test_the_month_end_page_offers_counts_and_due_moves(client, mtfs, moves, torbay_users):
    client.force_login(torbay_users["finance"])
    url = reverse("plans:month_end", args=[mtfs.pk]) + "?year=2017/18&period=8"
    html = client.get(url).content.decode()
    assert "Placements at 30 November 2017" in html
    assert 'for="id_count-' in html and "Children at month end – Residential (external)" in html
    for move in moves:
        assert f"Made in – {move.reference}" in html
    # A move can be made in a month up to the one saved, never after it.
    assert '<option value="2017/18-6">Sep 2017</option>' in html
    assert 'value="2017/18-9"' not in html
    # MTFS-02 is driven by its moves: no boxes to type its figures in.
    line = m.SavingsLine.objects.get(plan=mtfs, reference="MTFS-02")
    assert f'name="line-{line.pk}-achieved_to_date"' not in html
    assert "Driven by placement moves" in html
    # A scrutiny member cannot reach it.
    client.force_login(torbay_users["scrutiny"])
    assert client.get(url).status_code == 403


def test_a_line_its_moves_rate_otherwise_than_its_record_says_so(client, mtfs, torbay_users):
    # Found walking the app: before the month-end, the placements section rated MTFS-02 Red
    # from its late moves while the savings table said Not rated and "what needs attention"
    # that no line was Red: one line, two ratings, nothing said.
    sel = Selection("2017/18", 8)
    [(driven, recorded)] = plan_figures(mtfs, sel).moves_not_recorded
    assert driven.line.reference == "MTFS-02" and driven.rag == "red"
    assert recorded is None or recorded.rag != "red"
    client.force_login(torbay_users["director"])
    url = reverse("dashboards:plan_dashboard", args=[mtfs.pk])
    html = client.get(url, {"year": "2017/18", "period": "8"}).content.decode()
    assert "MTFS-02: its placement moves give" in html
    # No move made yet: said so, not "£0 achieved" beside a record saying "not reported".
    said = html[html.index("MTFS-02: its placement moves give") :][:400]
    assert ("no move recorded as made" in said) == (driven.made == 0) and "£0 achieved" not in said
    assert "not yet the moves' figures" in html or "Nothing for 2017/18 yet" in html
    # What needs attention leads with the moves' Red, and says its "no line" is the records'.
    tile = html[html.index("Savings at risk, 2017/18") :][:8000]
    assert tile.index("MTFS-02: its placement moves give") < tile.index(
        "No line's own record is rated Red or Amber"
    )
    # The summary the pack's first page, the report and its workbook give says it too.
    from dashboards.reports import summary_rows

    [row] = [r for r in summary_rows(plan_figures(mtfs, sel)) if "placement moves" in r.label]
    assert row.note.startswith(
        "MTFS-02 Red (late against an assumed month), as its planned moves stand"
    )
    # The report's Red and amber lines say the same, not "no line is rated Red".
    report = client.get(
        reverse("dashboards:report", args=[mtfs.pk]), {"year": "2017/18", "period": "8"}
    )
    text = re.sub(r"<[^>]+>", "", report.content.decode())
    red_amber = text[text.index("Red and amber lines") :][:700]
    assert "No line's own record rates it Red or Amber at P8 Nov 2017; by its" in red_amber
    assert "by its planned placement moves as they stand, MTFS-02 is Red" in red_amber
    # The month-end records the moves' figures: one rating, said once.
    services.sync_lines_from_moves(
        plan=mtfs, year="2017/18", period=8, user=torbay_users["finance"]
    )
    f = plan_figures(mtfs, sel)
    assert f.moves_not_recorded == []
    assert [x.line.reference for x in f.red_amber_lines] == ["MTFS-02"]
    html = client.get(url, {"year": "2017/18", "period": "8"}).content.decode()
    assert "its placement moves give" not in html and ">The same</td>" in html


def test_an_actual_cost_says_whether_it_is_counted_or_carried(client, mtfs, torbay_users):
    # Found walking the app: P8 2017/18 showed £443,333 "actual" for every month from April,
    # carried from January 2017's count of 28 children, with nothing to say so.
    p = plan_figures(mtfs, Selection("2017/18", 8)).placements
    bases = [basis for *_, basis in p.cost_rows]
    assert bases[:8] == ["carried from Jan 2017"] * 8 and bases[8:] == [""] * 4
    assert p.carried_note == "Apr–Nov carried from Jan 2017"
    client.force_login(torbay_users["director"])
    url = reverse("dashboards:plan_dashboard", args=[mtfs.pk])
    html = client.get(url, {"year": "2017/18", "period": "8"}).content.decode()
    assert "A month without a count of its own carries forward" in html
    assert html.count("<td>carried from Jan 2017</td>") == 8
    # A count in May for one type: May is carried still for the other types (each type's
    # own latest count), and the months after say both counts they carry.
    residential = mtfs.placement_types.get(name__startswith="Residential")
    m.PlacementCount.objects.create(
        type=residential, kind="actual", year="2017/18", period=2, count=27
    )
    bases = [b for *_, b in plan_figures(mtfs, Selection("2017/18", 8)).placements.cost_rows]
    counted = mtfs.placement_types.exclude(cost_basis="total").count()
    if counted == 1:
        assert bases[1] == "counted" and bases[2] == "carried from May 2017"
    else:  # found walking the app: a month with one type counted said only "carried"
        assert bases[1] == f"1 of {counted} types counted, the others carried from Jan 2017"
        assert bases[2] == "carried from Jan 2017 and May 2017"
    # In the month of the count itself, every counted type counted, the cost is counted.
    p = plan_figures(mtfs, Selection("2016/17", 12)).placements
    assert [b for _, a, _, b in p.cost_rows if a is not None][:2] == [
        "counted",
        "carried from Jan 2017",
    ]


def test_a_line_its_moves_drive_takes_no_typed_progress_by_any_path(mtfs, torbay_users):
    """MTFS-02's 2017/18 progress is written from its moves at each month end: a typed entry
    (a record form, an import) is refused, by the one rule (PlacementMove.drives)."""
    from plans import workbook
    from tests.plans.workbook_files import edit

    line = m.SavingsLine.objects.get(plan=mtfs, reference="MTFS-02")
    before = list(
        m.ProgressEntry.objects.filter(line=line).values_list("as_at", "achieved_to_date")
    )
    typed = m.ProgressEntry(line=line, as_at=date(2017, 11, 30), achieved_to_date=D(99_999))
    with pytest.raises(ValidationError, match="MTFS-02 is driven by placement moves in 2017/18"):
        services.create_record(instance=typed, user=torbay_users["finance"])

    # The import: the row is refused on its sheet, row and column; nothing is saved.
    exported = workbook.export_plan(mtfs)

    def typed_row(wb):
        wb["Progress"].append(["MTFS-02", "30/11/2017", 99999, "Achieved", 99999, "Green"])

    with pytest.raises(workbook.WorkbookRejected) as caught:
        workbook.import_workbook(edit(exported, typed_row), filename="p.xlsx", into=mtfs)
    [problem] = caught.value.problems
    assert (problem.sheet, problem.column) == ("Progress", "A")
    assert "written from its moves at each month end" in str(problem)
    after = list(m.ProgressEntry.objects.filter(line=line).values_list("as_at", "achieved_to_date"))
    assert after == before
    # The plan's own export, unchanged, still goes back in; a year the moves do not drive
    # (2016/17, before the first move) is typed as any line's.
    workbook.import_workbook(exported, filename="same.xlsx", into=mtfs)
    earlier = m.ProgressEntry(line=line, as_at=date(2017, 3, 31), achieved_to_date=D(1))
    assert services.moves_lock(earlier) == ""


def test_the_month_end_lists_the_years_moves_not_a_later_years(client, mtfs, torbay_users):
    client.force_login(torbay_users["finance"])
    url = reverse("plans:month_end", args=[mtfs.pk]) + "?year=2017/18&period=8"
    html = client.get(url).content.decode()
    assert "MTFS-02/2017-1" in html and "MTFS-02/2017-2" in html
    assert "MTFS-02/2018-1" not in html  # listed from 2018/19
    url = reverse("plans:month_end", args=[mtfs.pk]) + "?year=2018/19&period=1"
    assert "MTFS-02/2018-1" in client.get(url).content.decode()


def test_a_placement_type_that_moves_use_is_not_deleted_and_says_why(client, mtfs, torbay_users):
    used = m.PlacementType.objects.get(plan=mtfs, code="residential")
    client.force_login(torbay_users["finance"])
    url = reverse("plans:placementtype_delete", args=[mtfs.pk, used.pk])
    response = client.post(url, {"version": used.version, "change_reason": "Not needed"})
    assert response.status_code == 400
    text = response.content.decode()
    assert "cannot be deleted while" in text and "MTFS-02/2017-1" in text
    assert m.PlacementType.objects.filter(pk=used.pk).exists()


def test_a_closed_months_counts_and_moves_made_are_read_only(mtfs, torbay_users):
    """Counts and moves made are a month's figures (its placement cost, the KPIs fed from the
    counts, the lines the moves drive): read only once the month is submitted, as typed ones."""
    finance = torbay_users["finance"]
    note_the_month(mtfs, "2017/18", 1)
    services.submit_month(plan=mtfs, user=finance, expected_version=0, year="2017/18", period=1)
    residential = m.PlacementType.objects.get(plan=mtfs, code="residential")
    count = m.PlacementCount(type=residential, year="2017/18", period=1, count=35)
    with pytest.raises(ValidationError, match="P1 Apr 2017 has been submitted"):
        services.create_record(instance=count, user=finance)
    move = mtfs.placement_moves.get(reference="MTFS-02/2017-1")
    version = move.version
    move.actual_year, move.actual_period = "2017/18", 1
    with pytest.raises(ValidationError, match="P1 Apr 2017 has been submitted"):
        services.update_record(instance=move, user=finance, expected_version=version)
    move.refresh_from_db()
    assert (move.actual_year, move.version) == ("", version)
    # A move made in a month still open is recorded as before.
    move.actual_year, move.actual_period = "2017/18", 2
    services.update_record(instance=move, user=finance, expected_version=version)


def test_a_what_ifs_change_in_children_is_bounded(mtfs):
    # 2,147,483,647 more children gave a forecast outturn of £340 trillion.
    scenario = m.PlacementScenario(
        plan=mtfs, name="Huge", count_change=2_147_483_647, count_change_from="2017/18"
    )
    with pytest.raises(ValidationError) as caught:
        scenario.full_clean()
    assert "count_change" in caught.value.message_dict


def test_a_plan_of_more_than_twenty_years_is_a_typing_slip(mtfs):
    mtfs.last_year = "2099/00"
    with pytest.raises(ValidationError, match="more than 20 years"):
        mtfs.full_clean()


def test_saving_the_moves_figures_again_writes_and_counts_nothing(mtfs, torbay_users):
    finance = torbay_users["finance"]
    first = services.sync_lines_from_moves(plan=mtfs, year="2017/18", period=3, user=finance)
    assert first  # MTFS-02's month, written from its moves
    versions = {e.pk: e.version for e in first}
    again = services.sync_lines_from_moves(plan=mtfs, year="2017/18", period=3, user=finance)
    assert again == []  # already the moves' figures: an untouched month end says so
    assert {e.pk: e.version for e in m.ProgressEntry.objects.filter(pk__in=versions)} == versions


def test_a_count_no_council_could_have_is_refused_on_its_box(client, mtfs, torbay_users):
    client.force_login(torbay_users["finance"])
    url = reverse("plans:month_end", args=[mtfs.pk]) + "?year=2017/18&period=8"
    ptype = m.PlacementType.objects.filter(plan=mtfs).first()
    before = m.PlacementCount.objects.filter(type__plan=mtfs).count()
    for typed in ("3000000000", "99999999999999999999"):
        data = {"year": "2017/18", "period": "8", f"count-{ptype.pk}-count": typed}
        html = client.post(url, data).content.decode()
        assert f"Children in {ptype.name} – Children at month end" in html
        assert "less than or equal to 32767" in html
    assert m.PlacementCount.objects.filter(type__plan=mtfs).count() == before
    # The same bound as the workbook's and the record form's: stated once, on the model.
    from plans.rules import whole_number_bounds

    assert whole_number_bounds(m.PlacementCount._meta.get_field("count")) == (0, 32_767)


def test_a_deleted_move_no_longer_drives_its_line(client, mtfs, moves, torbay_users):
    # Found walking the app: a move made in September was deleted, and its line kept the
    # £31,676 achieved the move had given it, on the dashboard headline too.
    client.force_login(torbay_users["finance"])
    first, second = moves
    assert first.line_id == second.line_id
    assert month_end_post(client, mtfs, 8, {first.reference: "2017/18-6"}).status_code == 302
    entry = first.line.progress.get(as_at="2017-11-30")
    assert entry.achieved_to_date > 0

    def delete(move):
        move.refresh_from_db()
        url = reverse("plans:placementmove_delete", args=[mtfs.pk, move.pk])
        response = client.post(url, {"version": move.version, "change_reason": "Entered twice"})
        assert response.status_code == 302, response.content.decode()[:2000]
        assert not m.PlacementMove.objects.filter(pk=move.pk).exists()

    delete(first)  # the other move still drives the line: its figures are the other's
    entry = first.line.progress.get(as_at="2017-11-30")
    assert entry.achieved_to_date == 0 and entry.commentary.startswith("From placement moves")
    delete(second)  # no move left: the entry the moves wrote goes with them
    assert not first.line.progress.filter(as_at="2017-11-30").exists()


def test_a_budget_of_assumed_counts_is_called_assumed_wherever_it_is_given(
    client, mtfs, torbay_users
):
    # Found walking the app: the MTFS prints no budgeted count; the fixture works 28, then 26
    # from July, out of para 5.3.1 and Appendix 1 ("Assumption:" in its notes). The pages
    # gave the £5,129,943 budget and the £105,588 variance against it as if the paper did.
    assumed = m.PlacementCount.objects.filter(type__plan=mtfs, assumed=True)
    assert assumed.count() == 9 and all(c.notes.startswith("Assumption:") for c in assumed)
    p = plan_figures(mtfs, Selection("2017/18", 8)).placements
    residential, ifa = p.types
    assert p.budget_assumed and residential.budget_rests_on_assumption
    assert residential.budget_now == 26 and residential.budget_now_assumed
    assert not residential.current_assumed  # 28: "the 28 children currently" (para 5.3.1)
    assert ifa.current == 0 and ifa.current_assumed
    assert residential.assumptions == [
        "28 budgeted from Apr 2017: the January 2017 count of 28 (para 5.3.1) "
        "budgeted from April 2017",
        "26 budgeted from Jul 2017: 28 less the 2 moves to high-end IFAs planned for "
        "2017/18 (Appendix 1), budgeted from July 2017",
    ]
    assert p.assumed_note.startswith(
        "Assumed, not printed in the paper: the budgeted children of Residential (external) "
        "and High-end IFA with wrap-around care, so the budget and the variance rest on an "
        "assumption; the children of High-end IFA with wrap-around care at P8 Nov 2017."
    )
    client.force_login(torbay_users["director"])
    url = reverse("dashboards:plan_dashboard", args=[mtfs.pk])
    html = client.get(url, {"year": "2017/18", "period": "8"}).content.decode()
    assert "against an assumed budget of £5,129,943, £105,588 over" in html
    assert "26 (assumed)" in html and p.assumed_note.replace("'", "&#x27;") in html
    # A count the paper prints is no assumption: with budgets of its own the note goes.
    assumed.filter(kind="budget").update(assumed=False)
    assumed.filter(kind="actual").update(assumed=False)
    p = plan_figures(mtfs, Selection("2017/18", 8)).placements
    assert not p.budget_assumed and p.assumed_note == ""
    assert all(t.assumptions == [] for t in p.types)


def test_the_report_workbook_and_published_report_mark_assumed_counts(client, mtfs, torbay_users):
    from openpyxl import load_workbook

    client.force_login(torbay_users["director"])
    url = reverse("dashboards:report_xlsx", args=[mtfs.pk])
    data = client.get(url, {"year": "2017/18", "period": "8"}).content
    ws = load_workbook(io.BytesIO(data), read_only=True)["Placements"]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    header = rows[3]
    by_type = {r[0]: dict(zip(header, r, strict=False)) for r in rows[4:6]}
    assert by_type["Residential (external)"]["Counts assumed"] == "budgeted"
    assert by_type["High-end IFA with wrap-around care"]["Counts assumed"] == (
        "children and budgeted"
    )
    assert "26 budgeted from Jul 2017: 28 less" in by_type["Residential (external)"]["Assumption"]
    assert any(r[0] and r[0].startswith("Assumed, not printed in the paper") for r in rows)
    # The published report keeps the marks with the figures it fixed.
    report = publish_as_stored(mtfs, "2017/18", 8)
    client.force_login(torbay_users["scrutiny"])
    html = client.get(reverse("dashboards:published_report", args=[report.pk])).content.decode()
    assert "26 (assumed)" in html and "0 (assumed)" in html
    assert "28 budgeted from Apr 2017: the January 2017 count" in html
    assert "Assumed, not printed in the paper: the budgeted children" in html


def test_a_count_finance_saves_is_no_longer_assumed(mtfs, torbay_users):
    # Found in review: a month-end count typed over an assumed one stayed "(assumed)", and
    # typing the same number saved nothing, so it could never be cleared.
    ifa = mtfs.placement_types.get(code="high-end-ifa")
    assumed = m.PlacementCount.objects.get(type=ifa, kind="actual", assumed=True)
    for typed in (assumed.count, 3):  # the same children, then a different number
        assumed.refresh_from_db()
        services.save_placement_month(
            plan=mtfs, year=assumed.year, period=assumed.period,
            counts={ifa.pk: (typed, assumed.version)}, moves=[], user=torbay_users["finance"],
        )  # fmt: skip
        assumed.refresh_from_db()
        assert not assumed.assumed and assumed.count == typed
    p = plan_figures(mtfs, Selection("2017/18", 8)).placements
    assert not p.types[1].current_assumed and "the children of" not in p.assumed_note


def test_an_assumed_count_says_how_and_a_totals_counts_are_never_assumed(mtfs, seeded):
    from plans.rules import constraint_problems

    ifa = mtfs.placement_types.get(code="high-end-ifa")
    bare = m.PlacementCount(type=ifa, year="2017/18", period=9, count=2, assumed=True, notes="")
    assert constraint_problems(bare, {"assumed", "notes"}) == {
        "notes": "Say in the notes how an assumed count was worked out from what the paper gives."
    }
    with pytest.raises(ValidationError, match="Say in the notes how an assumed count"):
        bare.full_clean()
    # A type costed as a whole spend is not counted by child: no count of it is "assumed".
    barking = m.Plan.objects.get(authority__slug="barking-dagenham")
    total = barking.placement_types.get(cost_basis="total")
    m.PlacementCount.objects.create(
        type=total, year="2014/15", period=1, count=50, assumed=True, notes="a guess"
    )
    p = placement_figures(barking, "2014/15", 6)
    [t] = [t for t in p.types if t.is_total]
    assert not t.current_assumed and t.assumptions == [] and t.assumed_words == ""
    assert p.assumed_note == ""


def test_the_exported_workbook_carries_assumed_counts(mtfs):
    from openpyxl import load_workbook

    from plans import workbook

    ws = load_workbook(io.BytesIO(workbook.export_plan(mtfs)), read_only=True)["Placement counts"]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    assumed = rows[0].index("Assumed")
    marked = [r for r in rows[1:] if r[assumed] in ("Y", "Yes", True)]
    assert len(marked) == 9 and all(str(r[-1]).startswith("Assumption:") for r in marked)


def test_a_moves_assumed_month_is_said_wherever_the_move_is_late(client, mtfs, moves, torbay_users):
    # Found walking the app: "Planned Jul 2017 ... 5 months late" read as the paper's month,
    # and rated MTFS-02 Red. The paper gives "2017/18: £253k (2 placements)": a year, no month.
    from plans.rules import constraint_problems

    assert all(move.month_assumed and "is assumed" in move.notes for move in moves)
    assert m.PlacementMove.objects.filter(plan=mtfs, month_assumed=True).count() == 10
    first, second = moves
    assert first.planned_label == "Jul 2017 (month assumed)"
    first.actual_year, first.actual_period = "2017/18", 6
    first.save()
    f = placement_figures(mtfs, "2017/18", 8)
    made, late = f.moves[:2]
    assert made.status_in_words == "Made in Sep 2017, 2 months late (against the assumed Jul 2017)"
    assert late.status_in_words == (
        "Not recorded as made by Nov 2017: 5 months late (against the assumed Jul 2017)"
    )
    due = placement_figures(mtfs, "2017/18", 2).moves[0]
    assert due.status_in_words == "Due Jul 2017 (month assumed)"
    # In a table the status stands beside the planned month, which says it is assumed.
    assert late.status == "Not recorded as made by Nov 2017: 5 months late"
    # The plan's month still rates the line (Red at 3 months late), and the rating says why.
    assert f.line(first.line_id).rag == "red"
    assert "against the assumed Jul 2017" in f.line(first.line_id).summary
    client.force_login(torbay_users["director"])
    url = reverse("dashboards:plan_dashboard", args=[mtfs.pk])
    html = client.get(url, {"year": "2017/18", "period": "8"}).content.decode()
    assert "<td>Jul 2017 (month assumed)</td>" in html
    assert "Not recorded as made by Nov 2017: 5 months late" in html
    # A month stated by the paper is no assumption; an assumed one says why.
    second.month_assumed, second.notes = True, ""
    assert constraint_problems(second, {"month_assumed", "notes"}) == {
        "notes": "Say in the notes why the planned month is assumed: what the paper gives instead."
    }
    m.PlacementMove.objects.filter(pk=first.pk).update(month_assumed=False)
    first.refresh_from_db()
    assert first.planned_label == "Jul 2017"
    f = placement_figures(mtfs, "2017/18", 8)
    assert f.moves[0].status_in_words == "Made in Sep 2017, 2 months late"


def test_a_lines_in_year_value_is_given_beside_the_moves_one(client, mtfs, torbay_users):
    # Found walking the app: MTFS-02 is £126,500 in year on the savings table (£253k x the
    # plan's 50%) and £190,058 in the moves' table (their July dates), with nothing saying
    # the two are different measures of the same line.
    client.force_login(torbay_users["director"])
    url = reverse("dashboards:plan_dashboard", args=[mtfs.pk])
    html = client.get(url, {"year": "2017/18", "period": "8"}).content.decode()
    assert '£190,058<div class="small text-muted">the line\'s own in-year value: £126,500' in (
        html.replace("&#x27;", "'")
    )
