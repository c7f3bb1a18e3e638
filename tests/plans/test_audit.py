"""The plan's audit trail (its History page): every change to any of its records, formatted as
the pages format them, newest first, filtered, paginated, downloadable, in a fixed number of
queries; deletes with their reason, and deleted records restored with what went with them."""

import io
from datetime import date
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from plans import models as m
from plans import services
from tests.factories import KPIFactory

pytestmark = pytest.mark.django_db


def trail(plan):
    return reverse("plans:plan_history", args=[plan.pk])


def make_line(plan, user, reference="SAV-1"):
    line = services.create_record(
        instance=m.SavingsLine(
            plan=plan, reference=reference, title="Placements review", rag="amber"
        ),
        user=user,
    )
    services.create_record(
        instance=m.PlannedAmount(line=line, year="2017/18", kind="point", low=D(1e5), high=D(1e5)),
        user=user,
    )
    return line


def record_month(line, user, achieved="5000", reason="Typo"):
    entry = services.create_record(
        instance=m.ProgressEntry(
            line=line, as_at=date(2017, 10, 31), achieved_to_date=D(achieved), rag="amber"
        ),
        user=user,
    )
    entry.achieved_to_date, entry.rag = D("50000"), "red"
    return services.update_record(instance=entry, user=user, expected_version=1, reason=reason)


def test_every_change_of_every_record_formatted_newest_first(client, finance_manager, plan):
    line = make_line(plan, finance_manager)
    entry = record_month(line, finance_manager)
    line.status = m.SavingsLine.Status.SLIPPED
    services.update_record(instance=line, user=finance_manager, expected_version=1)
    services.delete_record(instance=entry, user=finance_manager, reason="Entered twice")

    client.force_login(finance_manager)
    html = client.get(trail(plan)).content.decode()
    assert "No changes recorded" not in html
    for shown in (
        "<strong>Achieved to date</strong>: £5,000 → £50,000",  # money as pages show it
        "<strong>RAG</strong>: Amber → Red",  # RAG in words
        "<strong>Status</strong>: Proposed → Slipped",  # choices by their label
        "SAV-1 at 31 Oct 2017",  # which record
        "Progress entry",
        "Typo",
        "Entered twice",
        "fiona.finance",
    ):
        assert shown in html, shown
    assert html.index("Entered twice") < html.index("Proposed → Slipped") < html.index("Typo")


def test_the_trail_filters_by_kind_person_and_date(
    client, finance_manager, director, plan, authority
):
    line = make_line(plan, finance_manager)
    record_month(line, finance_manager)
    client.force_login(director)
    by_kind = client.get(trail(plan), {"kind": "progress"}).content.decode()
    assert "SAV-1 at 31 Oct 2017" in by_kind and "SAV-1 2017/18" not in by_kind
    assert "2 changes" in by_kind
    by_person = client.get(trail(plan), {"who": director.pk}).content.decode()
    assert "0 changes" in by_person
    assert "4 changes" in client.get(trail(plan), {"who": finance_manager.pk}).content.decode()
    later = client.get(trail(plan), {"since": "2099-01-01"}).content.decode()
    assert "0 changes" in later
    bad = client.get(trail(plan), {"since": "31/31/2017", "who": "abc"})
    assert bad.status_code == 200
    html = bad.content.decode()
    assert '<a class="alert-link" href="#id_since">From (date)</a> “31/31/2017”: Not a date' in html
    assert '<a class="alert-link" href="#id_who">Person</a> “abc”: Not one of the people' in html


def test_an_unreadable_filter_is_said_and_the_others_still_apply(
    client, finance_manager, director, plan
):
    line = make_line(plan, finance_manager)
    record_month(line, finance_manager)
    client.force_login(director)
    response = client.get(trail(plan), {"kind": "progress", "since": "2017-13-45"})
    assert response.status_code == 200
    html = response.content.decode()
    # the kind still narrows the trail: only the progress entry's two changes
    assert "2 changes" in html and "SAV-1 at 31 Oct 2017" in html and "SAV-1 2017/18" not in html
    assert "1 filter could not be read, so it is not applied; the other filters are" in html
    assert "From (date)</a> “2017-13-45”: Not a date: write it as year-month-day" in html
    # the field itself says so, to assistive technology too
    assert 'aria-invalid="true" aria-describedby="id_since_error"' in html
    assert 'id="id_since_error"' in html
    unknown = client.get(trail(plan), {"kind": "nonsense", "who": str(finance_manager.pk)})
    html = unknown.content.decode()
    assert unknown.status_code == 200 and "4 changes" in html  # the person still applies
    assert "Record</a> “nonsense”: Not a kind of record in this trail" in html
    assert "could not be read" not in client.get(trail(plan), {"kind": "progress"}).content.decode()
    # the download applies the filters that could be read, and never fails on the others
    export = client.get(trail(plan), {"kind": "progress", "until": "soon", "_export": "xlsx"})
    assert export.status_code == 200
    body = b"".join(export.streaming_content) if export.streaming else export.content
    rows = list(load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True))
    assert len(rows) == 1 + 2


def test_the_trail_downloads_as_xlsx_with_the_same_words(client, finance_manager, plan):
    record_month(make_line(plan, finance_manager), finance_manager, reason="=HYPERLINK(1)")
    client.force_login(finance_manager)
    response = client.get(trail(plan), {"_export": "xlsx"})
    body = b"".join(response.streaming_content) if response.streaming else response.content
    ws = load_workbook(io.BytesIO(body)).active
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert rows[0][:4] == ["When", "Who", "Kind of record", "Record"]
    changed = next(r for r in rows if r[4] == "Changed")
    assert "Achieved to date: £5,000 → £50,000" in changed[5] and "RAG: Amber → Red" in changed[5]
    assert changed[6] == "'=HYPERLINK(1)"  # an officer's words never run as a formula


def test_the_trail_pages_in_a_fixed_number_of_queries(client, finance_manager, plan):
    client.force_login(finance_manager)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(trail(plan)).status_code == 200
        return len(ctx.captured_queries)

    for i in range(2):
        record_month(make_line(plan, finance_manager, f"SAV-{i}"), finance_manager)
    few = count()
    for i in range(2, 30):
        record_month(make_line(plan, finance_manager, f"SAV-{i}"), finance_manager)
    many = count()
    # session and user with its role (2: recovery.backends), the plan (1), the filter's people (1),
    # the count (1), the page's keys (1), the page's records for each kind on it (4: the plan,
    # lines, amounts, progress), the names they refer to (2: lines, the plan's authority). The
    # navbar's authority comes with the plan and the session is not saved on every request
    # (recovery.middleware): 4 fewer than before.
    assert few == many == 12


def test_the_trail_is_not_for_scrutiny_nor_another_authority(
    client, scrutiny_member, outsider, plan
):
    client.force_login(scrutiny_member)
    assert client.get(trail(plan)).status_code == 403
    client.force_login(outsider)
    assert client.get(trail(plan)).status_code == 404


# --------------------------------------------------------------------------------------------
# Deletes and restores


def test_a_delete_asks_for_its_reason(client, finance_manager, plan):
    line = make_line(plan, finance_manager)
    client.force_login(finance_manager)
    url = reverse("plans:line_delete", args=[plan.pk, line.pk])
    response = client.post(url, {"version": line.version, "change_reason": "  "})
    assert response.status_code == 400
    assert "Reason for deleting: say why" in response.content.decode()
    assert m.SavingsLine.objects.filter(pk=line.pk).exists()


def test_a_deleted_line_is_restored_with_its_amounts_and_progress(
    client, finance_manager, director, plan
):
    line = make_line(plan, finance_manager)
    record_month(line, finance_manager)
    client.force_login(finance_manager)
    url = reverse("plans:line_delete", args=[plan.pk, line.pk])
    assert (
        client.post(url, {"version": line.version, "change_reason": "Duplicate"}).status_code == 302
    )
    assert not m.ProgressEntry.objects.filter(line_id=line.pk).exists()

    page = client.get(reverse("plans:deletion_list", args=[plan.pk])).content.decode()
    assert "Duplicate" in page and "1 planned amount" in page and "1 progress entry" in page
    assert page.count('name="history_id"') == 1  # the line; what went with it comes back too
    deleted = m.SavingsLine.history.get(id=line.pk, history_type="-")
    restore = reverse("plans:deletion_restore", args=[plan.pk])
    data = {"kind": "line", "history_id": deleted.history_id, "reason": "Not a duplicate"}

    client.force_login(director)
    assert client.post(restore, data).status_code == 403

    client.force_login(finance_manager)
    assert client.post(restore, data).status_code == 302
    line = m.SavingsLine.objects.get(pk=line.pk)
    assert line.amounts.get().low == D("100000")
    entry = line.progress.get()
    assert (entry.achieved_to_date, entry.rag) == (D("50000"), "red")
    html = client.get(trail(plan)).content.decode()
    assert "Restored" in html and "Not a duplicate" in html and "Deleted with savings line" in html

    response = client.post(restore, data, follow=True)
    assert "already been restored" in response.content.decode()
    assert m.SavingsLine.objects.filter(reference="SAV-1").count() == 1


def test_a_deleted_record_of_another_plan_is_not_restored_here(
    client, finance_manager, plan, authority
):
    from tests.factories import PlanFactory

    other = PlanFactory(authority=authority, code="other")
    line = make_line(other, finance_manager)
    services.delete_record(instance=line, user=finance_manager, reason="Gone")
    deleted = m.SavingsLine.history.get(id=line.pk, history_type="-")
    client.force_login(finance_manager)
    response = client.post(
        reverse("plans:deletion_restore", args=[plan.pk]),
        {"kind": "line", "history_id": deleted.history_id},
    )
    assert response.status_code == 404
    assert not m.SavingsLine.objects.filter(pk=line.pk).exists()


def test_a_closed_months_figures_can_be_neither_changed_nor_deleted(
    finance_manager, director, plan
):
    from django.core.exceptions import ValidationError

    line = make_line(plan, finance_manager)
    entry = record_month(line, finance_manager)
    services.submit_month(
        plan=plan, year="2017/18", period=7, user=finance_manager, expected_version=0
    )
    with pytest.raises(ValidationError, match="submitted for the director"):
        services.delete_record(instance=entry, user=finance_manager, reason="x")
    # The director may still write the director's commentary of a submitted month.
    services.save_commentary(
        plan=plan,
        year="2017/18",
        period=7,
        role="director",
        body="Fine.",
        user=director,
        expected_version=None,
    )
    with pytest.raises(ValidationError, match="submitted"):
        services.save_commentary(
            plan=plan,
            year="2017/18",
            period=7,
            role="finance",
            body="Late.",
            user=finance_manager,
            expected_version=None,
        )
    # Another month is open.
    services.create_record(
        instance=m.ProgressEntry(line=line, as_at=date(2017, 11, 30), achieved_to_date=D(1)),
        user=finance_manager,
    )


def test_figures_of_records_loaded_without_history_are_in_the_trail(client, finance_manager, plan):
    """Seeded lines and KPIs have no history row of their own; their progress and actuals,
    saved later, are still the plan's changes."""
    kpi = KPIFactory(plan=plan, code="cla", name="Children looked after")
    m.KPI.history.filter(id=kpi.pk).delete()
    services.create_record(
        instance=m.KpiPoint(kpi=kpi, kind="actual", date=date(2017, 10, 31), value=D("290")),
        user=finance_manager,
        reason="Month-end update P7 Oct 2017",
    )
    client.force_login(finance_manager)
    page = client.get(trail(plan) + "?kind=kpipoint").content.decode()
    assert "Month-end update P7 Oct 2017" in page and "290" in page


def _plan_with_lines(authority, n: int):
    from tests.factories import (
        PlanFactory,
        PlannedAmountFactory,
        ProgressEntryFactory,
        SavingsLineFactory,
    )

    plan = PlanFactory(authority=authority)
    for i in range(n):
        line = SavingsLineFactory(plan=plan, reference=f"L{i}")
        PlannedAmountFactory(line=line, year="2017/18")
        ProgressEntryFactory(line=line)
    return plan


def test_a_plan_is_deleted_with_its_records_history_in_a_few_statements(
    authority, finance_manager, django_assert_max_num_queries
):
    """Each deleted record is in the history, deleted with the plan by the same person at the
    same moment; the statements do not grow with the plan (a 2,000-line plan took a minute
    when each deletion was written alone)."""
    small, large = _plan_with_lines(authority, 2), _plan_with_lines(authority, 40)
    with CaptureQueriesContext(connection) as few:
        services.delete_record(instance=small, user=finance_manager, reason="Wrong file")
    with django_assert_max_num_queries(len(few)):
        services.delete_record(instance=large, user=finance_manager, reason="Wrong file")

    assert not m.SavingsLine.objects.filter(plan_id=large.pk).exists()
    plan_gone = m.Plan.history.get(id=large.pk, history_type="-")
    assert (plan_gone.history_change_reason, plan_gone.history_user) == (
        "Wrong file",
        finance_manager,
    )
    said = f"Deleted with plan “{large}”: Wrong file"[:100]
    for model in (m.SavingsLine, m.PlannedAmount, m.ProgressEntry):
        gone = model.history.filter(history_type="-", history_date=plan_gone.history_date)
        assert gone.count() == 40
        assert {(g.history_user, g.history_change_reason) for g in gone} == {
            (finance_manager, said)
        }


def test_a_bulk_deletion_records_each_record_as_it_was(authority, finance_manager):
    plan = _plan_with_lines(authority, 3)
    before = {
        line.pk: (line.reference, line.title, line.rag, line.workstream_id)
        for line in m.SavingsLine.objects.filter(plan=plan)
    }
    entries = {
        e.pk: (e.as_at, e.achieved_to_date, e.forecast, e.commentary)
        for e in m.ProgressEntry.objects.filter(line__plan=plan)
    }
    services.delete_record(instance=plan, user=finance_manager, reason="Wrong file")

    lines = m.SavingsLine.history.filter(history_type="-", plan_id=plan.pk)
    assert {h.id: (h.reference, h.title, h.rag, h.workstream_id) for h in lines} == before
    gone = m.ProgressEntry.history.filter(history_type="-", id__in=entries)
    assert {h.id: (h.as_at, h.achieved_to_date, h.forecast, h.commentary) for h in gone} == entries


def test_after_a_bulk_deletion_a_single_delete_still_writes_its_own_history(
    authority, finance_manager
):
    plan = _plan_with_lines(authority, 1)
    services.delete_record(
        instance=_plan_with_lines(authority, 1), user=finance_manager, reason="x"
    )
    entry = m.ProgressEntry.objects.get(line__plan=plan)
    pk = entry.pk
    entry.delete()  # not through the service: django-simple-history's own signal
    assert m.ProgressEntry.history.filter(id=pk, history_type="-").count() == 1


def test_placement_counts_and_kpi_values_are_named_in_the_trail(client, mtfs, torbay_users):
    # Found walking the close: "Placement count | #17 | Type: – → #1" and "Kpi:".
    finance = torbay_users["finance"]
    residential = m.PlacementType.objects.get(plan=mtfs, code="residential")
    services.create_record(
        instance=m.PlacementCount(type=residential, year="2017/18", period=7, count=35),
        user=finance,
    )
    kpi = m.KPI.objects.filter(plan=mtfs).first()
    services.create_record(
        instance=m.KpiPoint(kpi=kpi, kind="actual", date=date(2017, 10, 31), value=5),
        user=finance,
    )
    client.force_login(finance)
    html = client.get(trail(mtfs)).content.decode()
    assert f"{residential.name} P7 Oct 2017 (actual)" in html
    assert f"<strong>Type</strong>: – → {residential.name}" in html
    assert "<strong>KPI</strong>" in html and "Kpi" not in html
    assert "#" + str(residential.pk) not in html.split("<main")[1].split("</main>")[0]
