import django_tables2 as tables
from django.utils.html import format_html

from recovery import money


class MoneyColumn(tables.Column):
    attrs = {"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}}

    def render(self, value):
        return money.format_money(value)


class RangeColumn(tables.Column):
    """A (low, high) pair shown as one figure or a range."""

    attrs = {"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}}

    def render(self, value):
        low, high = value
        if low == high:
            return money.format_money(low)
        return f"{money.format_money(low)} – {money.format_money(high)}"

    def order(self, queryset, is_descending):
        return queryset, False


class PlanSummaryTable(tables.Table):
    """The user's plans with their savings totals (from dashboards.figures)."""

    title = tables.Column(verbose_name="Plan", linkify=lambda record: record["url"])
    authority = tables.Column()
    kind = tables.Column(verbose_name="Kind")
    years = tables.Column(verbose_name="Years", orderable=False)
    status = tables.Column()
    planned = RangeColumn(verbose_name="Planned savings", order_by=("planned_low",))
    tbc = tables.Column(verbose_name="TBC lines", attrs={"td": {"class": "text-end"}})
    achieved = MoneyColumn(verbose_name="Achieved")
    gap = RangeColumn(verbose_name="Gap", order_by=("gap_low",))

    class Meta:
        attrs = {"class": "table table-sm table-striped align-middle"}
        orderable = True
        empty_text = "No plans for your authority yet."

    def render_status(self, value):
        return format_html('<span class="badge text-bg-secondary">{}</span>', value)
