"""The record lists write their rows in Python (plans.tables.RowsInPython): every cell is the
cell django-tables2's own ``BoundRow.get_cell`` gives, whichever way it was found."""

import pytest

from plans import models as m
from plans.views.records import RECORD_TYPES
from tests.factories import ProgressEntryFactory, SavingsLineFactory, WorkstreamFactory

pytestmark = pytest.mark.django_db


def rows_both_ways(make_table):
    """A table's rows as written (field cells found once per column), and as django-tables2
    writes each cell."""
    fast = str(make_table().rows_html())
    table = make_table()
    table._field_cell = lambda column: None
    return fast, str(table.rows_html())


def table_of(table_class, queryset, plan_pk, **kwargs):
    def make():
        table = table_class(queryset, **kwargs)
        table.plan_pk = plan_pk
        table.paginate(per_page=100)
        return table

    return make


@pytest.mark.parametrize("record_type", RECORD_TYPES, ids=lambda r: r.url_name)
def test_every_lists_rows_are_django_tables2s_cells(record_type, mtfs, rf, finance_manager):
    view = record_type.list_view()
    view.request = rf.get("/")
    view.request.user = finance_manager
    view.plan = mtfs
    view.kwargs = {"plan_pk": mtfs.pk}
    make = table_of(
        view.get_table_class(), view.get_queryset(), mtfs.pk, exclude=view.exclude_columns
    )
    fast, generic = rows_both_ways(make)
    assert fast == generic
    if view.get_queryset().exists():
        assert fast.count("<tr ") == min(view.get_queryset().count(), 100)


def test_field_cells_give_choices_defaults_and_related_fields_as_django_tables2(plan):
    """A choice by its label, a blank by the column's default, a related record's field, and
    no related record at all (a line with no workstream) as the default too."""
    from plans.tables import ProgressEntryTable, SavingsLineTable

    stream = WorkstreamFactory(plan=plan, name="Placements & <sufficiency>")
    lines = [
        SavingsLineFactory(plan=plan, workstream=stream, owner="", status="delivered"),
        SavingsLineFactory(plan=plan, workstream=None, owner="A. O'Brien"),
    ]
    ProgressEntryFactory(line=lines[0], rag="")
    lines = m.SavingsLine.objects.filter(plan=plan).order_by("pk")
    fast, generic = rows_both_ways(table_of(SavingsLineTable, lines, plan.pk))
    assert fast == generic
    assert "Placements &amp; &lt;sufficiency&gt;" in fast and "A. O&#x27;Brien" in fast
    assert m.SavingsLine(status="delivered").get_status_display() in fast
    entries = m.ProgressEntry.objects.filter(line__plan=plan)
    fast, generic = rows_both_ways(table_of(ProgressEntryTable, entries, plan.pk))
    assert fast == generic
