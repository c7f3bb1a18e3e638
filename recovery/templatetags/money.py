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
def gbp_short(value):
    return money.format_money_short(value)
