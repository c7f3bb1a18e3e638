from django import template

from recovery import money

register = template.Library()


@register.filter
def gbp(value):
    return money.format_money(value)


@register.filter
def gbp_short(value):
    return money.format_money_short(value)
