import weakref
from datetime import datetime

import django_tables2 as tables
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Case, Value, When
from django.utils import formats, timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.timezone import template_localtime
from django_tables2 import utils as tables_utils
from django_tables2.columns.base import library as tables_library

from plans import cache
from plans import models as m
from plans.figures.rules import format_kpi_value, format_number
from plans.selectors import amount_of
from plans.templatetags.figures import rag_badge
from recovery import fiscal, money
from recovery.links import link
from recovery.money import format_amount
from recovery.spreadsheet import safe_value

# django-tables2 reads the signature of a column's render method (and of a linkify function)
# with inspect.signature for every cell it renders, which took a third of a table's rendering.
# A function's signature never changes: it is read once per function (the bound methods of
# one function share theirs), kept only while the function exists.
_signature = tables_utils.signature
_signatures = (weakref.WeakKeyDictionary(), weakref.WeakKeyDictionary())  # functions, methods


def _signature_once(fn):
    func = getattr(fn, "__func__", None)
    known = _signatures[func is not None]
    key = fn if func is None else func
    try:
        return known[key]
    except KeyError:
        found = known[key] = _signature(fn)
        return found
    except TypeError:  # not a function that a weak reference can hold
        return _signature(fn)


tables_utils.signature = _signature_once


def _has_callable(*dicts) -> bool:
    return any(callable(v) for d in dicts for v in (d or {}).values())


def _cell_html(value, localize_cell) -> str:
    """A cell's content as django-tables2's template writes it (``{{ cell }}``, or through
    ``localize`` / ``unlocalize`` when the column says so), escaped unless marked safe."""
    if localize_cell is not None:
        value = formats.localize(value, use_l10n=bool(localize_cell))
    value = formats.localize(template_localtime(value))
    return conditional_escape(value if isinstance(value, str) else str(value))


class RowsInPython:
    """A table whose body rows are written by Python rather than by the template language.

    django-tables2's template renders every cell through half a dozen template lookups and
    recomputes each column's ``<td>`` attributes per cell, which cost a 25-row page more than
    its queries. The header, pagination and empty text stay django-tables2's templates
    (``tables/rows_in_python.html`` extends the project's table template); the cells are the
    very values ``BoundRow.items`` renders (columns' ``render_*``, ``linkify``, defaults),
    in the same markup. A column whose ``<td>`` attributes are computed per record (callables)
    still has them computed per cell."""

    def cell_writers(self) -> dict:
        """``{column name: function(record) -> cell content}`` for columns a table writes
        itself, bypassing django-tables2's generic lookup of the value; the others are
        rendered by ``BoundRow.get_cell``, or by ``_field_cell`` when their value is a model
        field's."""
        return {}

    def _field_cell(self, column):
        """A function(row) giving the cell ``BoundRow.get_cell`` gives, for a column whose
        accessor names model fields all the way (``status``, ``workstream__name``), else None.

        django-tables2 resolves such an accessor by trying each step as a dictionary key, an
        attribute and a list index in turn (an exception per step on a model) and looks up its
        field twice per cell; the steps and the field are the same for every row, so they are
        found once here. What follows is ``get_cell``'s own: a field with choices gives its
        display text, a missing or empty value the column's default, then the column's (or
        the table's ``render_<name>``) render and its link."""
        model = getattr(self._meta, "model", None)
        bits = str(column.accessor).split("__")
        if model is None or "." in bits[-1] or isinstance(column.column, tables.ManyToManyColumn):
            return None
        field = None
        for i, bit in enumerate(bits):
            if model is None:  # a step past a field that is not a relation
                return None
            try:
                field = model._meta.get_field(bit)
            except FieldDoesNotExist:
                return None
            if not field.concrete:
                return None
            model = field.related_model if field.is_relation and i < len(bits) - 1 else None
        *path, last = bits
        getter = f"get_{last}_display" if field.choices else None
        empty = column.column.empty_values
        default = column.default
        plain = type(column.column).render is tables.Column.render and not hasattr(
            self, f"render_{column.name}"
        )
        render, link, table = column.render, column.link, self

        def cell(row):
            owner = row.record
            for bit in path:
                owner = getattr(owner, bit)
                if owner is None:
                    return default
            value = getattr(owner, getter)() if getter else getattr(owner, last)
            if value in empty:
                return default
            if plain and not link:
                return value
            kwargs = {
                "value": value,
                "record": row.record,
                "column": column.column,
                "bound_column": column,
                "bound_row": row,
                "table": table,
            }
            content = value if plain else tables_utils.call_with_appropriate(render, kwargs)
            return link(content, **kwargs) if link else content

        return cell

    def rows_html(self) -> str:
        columns = list(self.columns)
        writers = self.cell_writers()
        fields = {
            c.name: found
            for c in columns
            if c.name not in writers and (found := self._field_cell(c)) is not None
        }
        table_attrs = self.attrs if isinstance(self.attrs, dict) else {}
        static = {}
        for column in columns:
            declared = column.column.attrs
            if not _has_callable(
                declared.get("td"), declared.get("cell"), table_attrs.get("td"), table_attrs
            ):
                static[column.name] = column.attrs["td"].as_html()
        out = []
        for row in self.paginated_rows:
            cells = []
            for column in columns:
                write = writers.get(column.name)
                if write is not None:
                    cell = write(row.record)
                elif (field_cell := fields.get(column.name)) is not None:
                    cell = field_cell(row)
                else:
                    cell = row.get_cell(column.name)
                td = static.get(column.name)
                if td is None:
                    # As BoundRow.items does, for attributes computed from the record.
                    column.current_value, column.current_record = cell, row.record
                    td = column.attrs["td"].as_html()
                cells.append(f"<td {td}>{_cell_html(cell, column.localize)}</td>")
            out.append(f"<tr {row.attrs.as_html()}>{''.join(cells)}</tr>")
        return mark_safe("\n".join(out))


class MoneyColumn(tables.Column):
    """£ on screen; a plain number in CSV and xlsx downloads, so a spreadsheet can add it up."""

    attrs = {"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}}

    def render(self, value):
        return money.format_money(value)

    def value(self, value):
        return value


class NumberColumn(tables.Column):
    """A count, a volume or a factor as the detail pages write it (``279``, ``0.5``, never
    ``279.00`` or ``0.5000``); the number itself in CSV and xlsx downloads."""

    attrs = {"td": {"class": "text-end"}, "th": {"class": "text-end"}}

    def render(self, value):
        return format_number(value)

    def value(self, value):
        return value


class KpiValueColumn(NumberColumn):
    """A KPI's value with its unit (``12%``, ``447 days``, ``279``), as every page writes it."""

    def render(self, value, record):
        return format_kpi_value(value, record.kpi.unit)


class RangeColumn(tables.Column):
    """A (low, high) pair shown as one figure or a range."""

    attrs = {"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}}

    def __init__(self, *args, unknown="not known", **kwargs):
        self.unknown = unknown
        super().__init__(*args, **kwargs)

    def render(self, value):
        low, high = value
        if low is None:
            return self.unknown
        return money.format_range(low, high)

    def order(self, queryset, is_descending):
        return queryset, False


def _label_order(field: str, choices):
    """Order a queryset by the words a choice field shows, not the code it stores."""

    def order(table, queryset, is_descending):
        label = Case(
            *[When(**{field: value}, then=Value(str(text))) for value, text in choices],
            default=Value(""),
        )
        name = f"{field}_label"
        return queryset.annotate(**{name: label}).order_by(
            f"-{name}" if is_descending else name
        ), True

    return order


class PlanSummaryTable(RowsInPython, tables.Table):
    """The user's plans with their savings totals (from plans.figures).

    Fed a queryset: the database sorts and pages it, and ``plans.figures`` computes the totals
    for the page's plans only (``set_totals``; cached by each plan's data version), so a list
    of 500 plans costs what one of five does. The totals therefore do not sort the list."""

    title = tables.Column(
        verbose_name="Plan", linkify=lambda record: link("plans:plan_detail", record.pk)
    )
    authority = tables.Column(accessor="authority__name", verbose_name="Authority")
    kind = tables.Column(verbose_name="Kind")
    years = tables.Column(
        verbose_name="Years", accessor="first_year", orderable=False, empty_values=()
    )
    status = tables.Column()
    planned = RangeColumn(
        verbose_name="Planned savings",
        accessor="totals__planned",
        orderable=False,
        empty_values=(),
        unknown="no costed savings",
    )
    tbc = tables.Column(
        verbose_name="TBC lines",
        accessor="totals__tbc",
        orderable=False,
        attrs={"td": {"class": "text-end"}},
    )
    achieved = MoneyColumn(
        verbose_name="Achieved",
        accessor="totals__achieved",
        orderable=False,
        default="not reported",
    )
    reporting = tables.Column(
        verbose_name="Line-years reporting achieved",
        accessor="totals__reporting",
        orderable=False,
        attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}},
    )
    gap = RangeColumn(verbose_name="Gap", accessor="totals__gap", orderable=False, empty_values=())

    order_kind = _label_order("kind", m.Plan.Kind.choices)
    order_status = _label_order("status", m.Plan.Status.choices)

    class Meta:
        attrs = {"class": "table table-sm table-striped align-middle"}
        template_name = "tables/rows_in_python.html"
        orderable = True
        empty_text = "No plans for your authority yet."

    def render_years(self, record):
        if record.first_year == record.last_year:
            return record.first_year
        return f"{record.first_year} – {record.last_year}"

    def render_status(self, record):
        return format_html(
            '<span class="badge text-bg-secondary">{}</span>', record.get_status_display()
        )

    def cell_writers(self) -> dict:
        """The cells, written as django-tables2 renders them (the same markup), without its
        per-cell lookups: a page of 25 plans costs little more than a page of five."""
        planned, gap, achieved = (self.columns[n].column for n in ("planned", "gap", "achieved"))
        tbc_default = self.columns["tbc"].default

        def title(record):
            url = link("plans:plan_detail", record.pk)
            return format_html('<a href="{}">{}</a>', url, record.title)

        return {
            "title": title,
            "authority": lambda record: record.authority.name,
            "kind": lambda record: record.get_kind_display(),
            "years": self.render_years,
            "status": self.render_status,
            "planned": lambda record: planned.render(record.totals["planned"]),
            "tbc": lambda record: (
                tbc_default if record.totals["tbc"] in (None, "") else record.totals["tbc"]
            ),
            "achieved": lambda record: (
                achieved.default
                if record.totals["achieved"] is None
                else achieved.render(record.totals["achieved"])
            ),
            "reporting": lambda record: record.totals["reporting"],
            "gap": lambda record: gap.render(record.totals["gap"]),
        }

    def set_totals(self) -> None:
        """The savings totals of the plans on the page shown (one fixed set of queries), on
        the records the page renders."""
        # The page's own queryset slice: evaluated here once, and its rows (now carrying their
        # totals) are the ones the table renders.
        page = getattr(self, "page", None)
        shown = list(page.object_list.data if page else self.data)
        # Each plan's totals from the cache while its data version stands (plans.cache).
        totals = cache.plan_totals(shown)
        for plan in shown:
            t = totals[plan.pk].total
            plan.totals = {
                "planned": (t.planned_low, t.planned_high),
                "tbc": t.tbc_lines,
                "achieved": t.achieved,
                "reporting": t.coverage or "–",
                "gap": (t.gap_low, t.gap_high),
            }


# --------------------------------------------------------------------------------------------
# Record lists (sortable, paginated, exported as CSV and xlsx from the same table)


class RagColumn(tables.Column):
    """RAG with its word and colour; django-tables2 hands over the display label, so read the
    stored value from the record."""

    def render(self, record, bound_column):
        # As includes/rag.html, without a template per cell (which cost a list more than its rows).
        return rag_badge(getattr(record, bound_column.name))

    def value(self, record, bound_column):
        rag = getattr(record, bound_column.name)
        return dict(m.RAG.choices).get(rag, "Not rated")


class AmountColumn(tables.Column):
    """A planned amount: point, range or TBC."""

    attrs = {"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}}

    def render(self, value, record):
        return format_amount(amount_of(record))

    def value(self, value, record):
        return format_amount(amount_of(record))


class PeriodColumn(tables.Column):
    """A period shown with its month: ``P7 Oct 2017``."""

    def render(self, value, record):
        return fiscal.period_label(record.year, value)


@tables_library.register
class YesNoColumn(tables.BooleanColumn):
    """Every yes-or-no field's column (registered, so the lists' generated columns are these):
    its tick or cross on the page, "Yes" or "No" in the CSV and xlsx downloads (django-tables2
    writes "True" or "False")."""

    def value(self, record, value, bound_column):
        return "Yes" if self._get_bool_value(record, value, bound_column) else "No"


def _exported(cell):
    """A list's cell as its CSV and xlsx downloads give it: a moment in local time to the
    minute, text neutralised; numbers and dates as they are (yes or no: ``YesNoColumn``)."""
    if isinstance(cell, datetime) and timezone.is_aware(cell):
        return timezone.localtime(cell).strftime("%d/%m/%Y %H:%M")
    return safe_value(cell)


class RecordTable(RowsInPython, tables.Table):
    """Base: money renders as £ on screen and exports as plain numbers; exported text that a
    spreadsheet would run as a formula is neutralised."""

    def as_values(self, exclude_columns=None):
        for row in super().as_values(exclude_columns):
            yield [_exported(cell) for cell in row]

    class Meta:
        attrs = {"class": "table table-sm table-striped align-middle"}
        template_name = "tables/rows_in_python.html"
        empty_text = "Nothing recorded yet."


def link_column(url_name, accessor="pk", verbose_name=None, column_class=tables.Column, **kwargs):
    return column_class(
        accessor=accessor,
        verbose_name=verbose_name,
        linkify=lambda record, table: link(f"plans:{url_name}_detail", table.plan_pk, record.pk),
        **kwargs,
    )


class WorkstreamTable(RecordTable):
    name = link_column("workstream", "name", "Workstream")
    lines = tables.Column(
        accessor="line_count", verbose_name="Savings lines", attrs={"td": {"class": "text-end"}}
    )

    class Meta(RecordTable.Meta):
        model = m.Workstream
        fields = ["order", "code", "name", "lead", "lines"]
        sequence = ["order", "code", "name", "lead", "lines"]


class SavingsLineTable(RecordTable):
    reference = link_column("line", "reference", "Ref")
    rag = RagColumn(verbose_name="RAG")
    original_rag = RagColumn(verbose_name="Original RAG")
    workstream = tables.Column(accessor="workstream__name", verbose_name="Workstream")

    class Meta(RecordTable.Meta):
        model = m.SavingsLine
        fields = [
            "reference",
            "title",
            "workstream",
            "owner",
            "category",
            "status",
            "rag",
            "original_rag",
            "in_revenue_budget",
            "counts_towards_target",
        ]


class PlannedAmountTable(RecordTable):
    line = link_column("amount", "line__reference", "Line")
    title = tables.Column(accessor="line__title", verbose_name="Title")
    amount = AmountColumn(accessor="low", verbose_name="Planned saving", order_by=("low",))
    low = MoneyColumn()
    high = MoneyColumn()
    driver_volume = NumberColumn()

    class Meta(RecordTable.Meta):
        model = m.PlannedAmount
        fields = [
            "line",
            "title",
            "year",
            "kind",
            "amount",
            "low",
            "high",
            "driver_volume",
            "driver_unit",
            "driver_unit_value",
            "stated_text",
        ]
        exclude = []


class ProgressEntryTable(RecordTable):
    as_at = link_column("progress", "as_at", "As at", tables.DateColumn, format="j M Y")
    line = tables.Column(accessor="line__reference", verbose_name="Line")
    title = tables.Column(accessor="line__title", verbose_name="Title")
    achieved_to_date = MoneyColumn(verbose_name="Achieved to date")
    forecast = MoneyColumn(verbose_name="Forecast for year")
    rag = RagColumn(verbose_name="RAG")
    entered_by = tables.Column(verbose_name="Entered by")

    class Meta(RecordTable.Meta):
        model = m.ProgressEntry
        fields = [
            "as_at",
            "year",
            "line",
            "title",
            "achieved_to_date",
            "basis",
            "forecast",
            "rag",
            "commentary",
            "entered_by",
        ]


class OverspendForecastTable(RecordTable):
    period = link_column("forecast", "period", "Period", column_class=PeriodColumn)
    budget = MoneyColumn()
    forecast_outturn = MoneyColumn(verbose_name="Forecast outturn")
    overspend = MoneyColumn(verbose_name="Stated overspend")
    overspend_high = MoneyColumn(verbose_name="Stated overspend (high)")

    class Meta(RecordTable.Meta):
        model = m.OverspendForecast
        fields = [
            "year",
            "period",
            "service_area",
            "scenario",
            "budget",
            "forecast_outturn",
            "overspend",
            "overspend_high",
            "commentary",
        ]


class CostPressureTable(RecordTable):
    title = link_column("pressure", "title", "Pressure")
    period = PeriodColumn()
    amount = MoneyColumn()

    class Meta(RecordTable.Meta):
        model = m.CostPressure
        fields = ["title", "kind", "year", "period", "amount", "notes"]


class FundingTable(RecordTable):
    title = link_column("funding", "title", "Funding")
    amount = MoneyColumn()

    class Meta(RecordTable.Meta):
        model = m.Funding
        fields = ["title", "kind", "year", "amount", "source", "notes"]


class KPITable(RecordTable):
    name = link_column("kpi", "name", "KPI")
    baseline_value = NumberColumn(verbose_name="Baseline value")

    class Meta(RecordTable.Meta):
        model = m.KPI
        fields = [
            "code",
            "name",
            "unit",
            "direction",
            "baseline_value",
            "baseline_date",
            "per_child_population",
        ]


class KpiPointTable(RecordTable):
    date = link_column("kpipoint", "date", "Date", tables.DateColumn, format="j M Y")
    kpi = tables.Column(accessor="kpi__name", verbose_name="KPI")
    value = KpiValueColumn()

    class Meta(RecordTable.Meta):
        model = m.KpiPoint
        fields = ["date", "kpi", "kind", "value", "label", "notes"]


class RiskTable(RecordTable):
    reference = link_column("risk", "reference", "Ref")
    score = tables.Column(accessor="score", verbose_name="Score", orderable=False)

    class Meta(RecordTable.Meta):
        model = m.Risk
        fields = [
            "reference",
            "description",
            "mitigations",
            "likelihood",
            "impact",
            "score",
            "owner",
            "status",
        ]


class CommentaryTable(RecordTable):
    period = link_column("commentary", "period", "Month", column_class=PeriodColumn)
    author = tables.Column()

    class Meta(RecordTable.Meta):
        model = m.Commentary
        fields = ["year", "period", "role", "body", "author", "updated_at"]


class YearAdjustmentTable(RecordTable):
    year = link_column("adjustment", "year", "Year")
    factor = NumberColumn()

    class Meta(RecordTable.Meta):
        model = m.YearAdjustment
        fields = ["year", "factor", "reason"]


class NarrativeSectionTable(RecordTable):
    heading = link_column("section", "heading", "Heading")

    class Meta(RecordTable.Meta):
        model = m.NarrativeSection
        fields = ["order", "heading"]


class AuditTrailTable(RecordTable):
    """The plan's audit trail (``plans.audit``): newest first, one row per change; the xlsx
    download writes the same rows, each change as text."""

    when = tables.Column(verbose_name="When", attrs={"td": {"class": "text-nowrap"}})
    who = tables.Column(verbose_name="Who", default="System (seed data or import)")
    kind = tables.Column(verbose_name="Kind of record")
    record = tables.Column(verbose_name="Record")
    action = tables.Column(verbose_name="What happened")
    changes = tables.TemplateColumn(
        template_name="plans/_audit_changes.html", verbose_name="Changes (from → to)"
    )
    reason = tables.Column(verbose_name="Reason", default="–")

    class Meta(RecordTable.Meta):
        orderable = False
        empty_text = "No change matches these filters."

    def render_when(self, value):
        return timezone.localtime(value).strftime("%-d %b %Y %H:%M")

    def value_when(self, value):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")

    def value_who(self, value):
        return str(value) if value else "System (seed data or import)"

    def value_changes(self, record):
        return record.changes_text


class PlacementTypeTable(RecordTable):
    name = link_column("placementtype", "name", "Placement type")
    unit_cost = MoneyColumn()

    class Meta(RecordTable.Meta):
        model = m.PlacementType
        fields = ["name", "code", "kind", "unit_cost", "cost_basis", "stated_text", "assumption"]


class PlacementCountTable(RecordTable):
    year = link_column("placementcount", "year", "Year")
    period = PeriodColumn()
    type = tables.Column(accessor="type__name", verbose_name="Placement type")

    class Meta(RecordTable.Meta):
        model = m.PlacementCount
        fields = ["year", "period", "type", "kind", "count", "assumed", "notes"]


class PlacementMoveTable(RecordTable):
    reference = link_column("placementmove", "reference", "Move")
    from_type = tables.Column(accessor="from_type__name", verbose_name="From")
    to_type = tables.Column(accessor="to_type__name", verbose_name="To", default="Out of care")
    planned = tables.Column(
        accessor="planned_label",
        verbose_name="Planned",
        order_by=("planned_year", "planned_period"),
    )
    made = tables.Column(
        accessor="actual_label",
        verbose_name="Made",
        order_by=("actual_year", "actual_period"),
        default="Not yet",
    )
    line = tables.Column(accessor="line__reference", verbose_name="Savings line")

    class Meta(RecordTable.Meta):
        model = m.PlacementMove
        fields = ["reference", "from_type", "to_type", "number", "planned", "made", "line"]


class PlacementScenarioTable(RecordTable):
    name = link_column("placementscenario", "name", "Scenario")
    placement_type = tables.Column(
        accessor="placement_type__name", verbose_name="Type", default="Every type"
    )

    class Meta(RecordTable.Meta):
        model = m.PlacementScenario
        fields = [
            "name",
            "unit_cost_change",
            "placement_type",
            "count_change",
            "count_change_from",
            "move_delay_months",
            "moves_delayed",
        ]
