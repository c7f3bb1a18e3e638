import re
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from recovery import money

register = template.Library()

# Set while a report page is rendered (``printed_in_k``): each figure the money filters write
# carries its £k form too, which the print style sheet shows instead, as the committee pack
# prints money. Only figures the app formats: officers' and papers' words stay as written.
_PRINTED_IN_K = ContextVar("printed_in_k", default=False)


@contextmanager
def printed_in_k():
    token = _PRINTED_IN_K.set(True)
    try:
        yield
    finally:
        _PRINTED_IN_K.reset(token)


def shown(pounds: str, in_k: str, *, text: bool = False):
    """A figure as written in pounds; while a report is rendered, followed by its £k form
    (``.money-pounds`` on the screen, ``.money-k`` on paper; screen readers read it once).
    ``text``: a sentence with figures in it, which wraps as any text does (a figure alone
    never breaks from its sign)."""
    if not _PRINTED_IN_K.get() or pounds == money.NOT_REPORTED:
        return pounds
    wraps = " money-text" if text else ""
    return mark_safe(
        f'<span class="money-pounds{wraps}">{escape(pounds)}</span>'
        f'<span class="money-k{wraps}" aria-hidden="true">{escape(in_k)}</span>'
    )


@register.filter
def gbp(value, pence=None):
    """Money as pages show it; a figure nobody reported reads "not reported", never £0.
    ``gbp:whole_pounds`` with a true ``whole_pounds`` shows whole pounds, as pages do;
    otherwise pence are shown only when there are some."""
    if value is None:
        return money.NOT_REPORTED
    text = money.format_money(value, pence=False if pence is True else None)
    return shown(text, money.format_money_k(value))


@register.filter
def gbp_working(value):
    """A figure in a worked sum (2 × £126,705 = £253,410): whole pounds on screen and, in
    £k on paper, to as many places as it has (£126.705k), so the sum still adds up."""
    if value is None:
        return money.NOT_REPORTED
    return shown(money.format_money(value, pence=False), money.format_money_k(value, exact=True))


@register.filter
def gbp_k(value):
    """£k as committees print it: ``£1,578k``, ``−£933k``."""
    return money.format_money_k(value)


@register.filter
def gbp_k_range(low, high):
    return range_k(low, high)


@register.filter
def gbp_short(value):
    return money.format_money_short(value)


# A whole figure in pounds as ``format_money`` writes it (``-£84,333.33``, ``£1,578,000``):
# never the start of a longer one (``£1,578.5``, ``£20.520``) nor a figure with a unit after it
# (``£95k``, ``£129K``, ``£1.58m``, ``£3 million``, ``£1bn``).
_POUNDS = re.compile(
    r"([−-])?£(\d{1,3}(?:,\d{3}){1,4}|\d{1,12})(?:\.(\d{2}))?"
    r"(?![\d,.]*\d)(?![a-z])(?!\s*(?:million|billion|thousand|bn|mn|m|k)\b)",
    re.IGNORECASE,
)


# Under this, a figure in text keeps its pounds (whole, no pence): "£3,500 a week" rounded to
# "£4k a week", or "a £40 rate" to "£0.0k", would misquote the words it stands in.
K_FROM = 10_000


def _k(match) -> str:
    sign = "-" if match.group(1) else ""
    digits = match.group(2).replace(",", "")
    try:
        value = Decimal(f"{sign}{digits}.{match.group(3) or '00'}")
        if abs(value) < K_FROM:
            return money.format_money(value, pence=False)
        return money.format_money_k(value)
    except ArithmeticError:  # no figure a page could hold: left as typed
        return match.group(0)


def range_k(low, high) -> str:
    """A figure or a range in £k: ``£3,000k – £4,000k``."""
    return money.format_range(low, high, money.format_money_k)


@register.filter
def in_k(text):
    """Text with figures written in pounds (a published version's "what changed", stated as
    the report states money) with each figure in £k, as the committee pack prints money."""
    return _POUNDS.sub(_k, str(text))


@register.filter
def gbp_text(text):
    """Text with figures in pounds that the app wrote (a summary row's note: "Red from
    £100,000"): while a report is rendered, its £k form beside it for the printed page, as
    ``gbp`` does for a figure."""
    text = str(text)
    converted = in_k(text)
    return text if converted == text else shown(text, converted, text=True)
