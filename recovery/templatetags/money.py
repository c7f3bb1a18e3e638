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


# A whole figure in pounds as ``format_money`` writes it (``-£84,333.33``, ``£1,578,000``):
# never the start of a longer one (``£1,578.5``, ``£20.520``) nor a figure with a unit after it
# (``£95k``, ``£129K``, ``£1.58m``, ``£3 million``, ``£1bn``).
_POUNDS = re.compile(
    r"([−-])?£(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{2}))?"
    r"(?![\d,.]*\d)(?![a-z])(?!\s*(?:million|billion|thousand|bn|mn|m|k)\b)",
    re.IGNORECASE,
)


def _k(match) -> str:
    sign = "-" if match.group(1) else ""
    digits = match.group(2).replace(",", "")
    return money.format_money_k(Decimal(f"{sign}{digits}.{match.group(3) or '00'}"))


@register.filter
def in_k(text):
    """Text with figures written in pounds (a published version's "what changed", stated as
    the report states money) with each figure in £k, as the committee pack prints money."""
    return _POUNDS.sub(_k, str(text))


# The page's text between its tags. Left as they are: the tags themselves (an aria-label's
# figures), what is not the page's text (a script, a style, the title, a text box, a list's
# options) and a paper's words quoted as printed (``<span class="as-printed">``).
_TEXT = re.compile(
    "("
    + "|".join(
        rf"<{tag}\b.*?</{tag}>" for tag in ("script", "style", "title", "textarea", "option")
    )
    + r'|<span class="as-printed">[^<]*</span>|<[^>]*>)',
    re.DOTALL | re.IGNORECASE,
)


def print_in_k(html: str) -> str:
    """A page's figures in pounds, each followed by the same figure in £k: the screen shows
    pounds (pence where there are some), a printout shows £k as the committee pack prints
    money (``.money-k`` and ``.money-pounds`` in the print style sheet). Screen readers read
    the figure once: the £k copy is hidden from the screen and from them."""

    def both(match) -> str:
        return (
            f'<span class="money-pounds">{match.group(0)}</span>'
            f'<span class="money-k" aria-hidden="true">{_k(match)}</span>'
        )

    parts = _TEXT.split(html)
    for i in range(0, len(parts), 2):  # the text between the tags
        if "£" in parts[i]:
            parts[i] = _POUNDS.sub(both, parts[i])
    return "".join(parts)
