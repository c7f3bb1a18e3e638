from django import template

from recovery import money

register = template.Library()


@register.filter
def gbp(value):
    """Money as pages show it; a figure nobody reported reads "not reported", never £0."""
    if value is None:
        return money.NOT_REPORTED
    return money.format_money(value)


@register.filter
def gbp_k(value):
    """£k as committees print it: ``£1,578k``, ``−£933k``."""
    return money.format_money_k(value)


@register.filter
def gbp_k_range(low, high):
    if low is None:
        return money.NOT_REPORTED
    if high is None or high == low:
        return money.format_money_k(low)
    return f"{money.format_money_k(low)} – {money.format_money_k(high)}"


@register.filter
def gbp_short(value):
    return money.format_money_short(value)
