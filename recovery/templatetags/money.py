import re
from decimal import Decimal

from django import template

from recovery import money

register = template.Library()


@register.filter
def gbp(value, pence=None):
    """Money as pages show it; a figure nobody reported reads "not reported", never £0.
    ``gbp:whole_pounds`` with a true ``whole_pounds`` shows whole pounds (the dashboard rounds
    its line figures as it does its totals, where the report and its workbook keep pence);
    otherwise pence are shown only when there are some."""
    if value is None:
        return money.NOT_REPORTED
    return money.format_money(value, pence=False if pence is True else None)


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


_POUNDS = re.compile(r"([−-])?£(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{2}))?(?![\dkm])")


@register.filter
def in_k(text):
    """Text with figures written in pounds (a published version's "what changed", stated as
    the report states money) with each figure in £k, as the committee pack prints money."""

    def k(match):
        sign = "-" if match.group(1) else ""
        digits = match.group(2).replace(",", "")
        return money.format_money_k(Decimal(f"{sign}{digits}.{match.group(3) or '00'}"))

    return _POUNDS.sub(k, str(text))
