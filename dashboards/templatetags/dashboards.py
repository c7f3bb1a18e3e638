"""Display helpers for the dashboard pages. Money goes through recovery.money only; these
format the other figures (KPI values, rates, RAG words) the same way on every page."""

import functools
import re

from django import template
from django.template.defaultfilters import truncatechars
from django.utils.dateformat import format as date_format
from django.utils.html import conditional_escape, escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from plans.figures.rules import format_kpi_value
from plans.templatetags.figures import kpi_value, num, rag_badge, rag_label, recorded_on
from recovery.money import format_money, format_money_k, format_range
from recovery.templatetags.money import gbp, range_k, shown

register = template.Library()


register.filter("num", num)


register.filter("kpi_value", kpi_value)  # the one KPI-value filter, from plans


register.filter("rag_label", rag_label)  # the one RAG-words filter, from plans
register.filter("rag_badge", rag_badge)  # and the one RAG badge
register.filter("recorded_on", recorded_on)  # the one date of a recorded figure


def _range(low, high, pence=None) -> str:
    text = format_range(low, high, lambda v: format_money(v, pence=pence))
    return shown(text, range_k(low, high))


@register.filter
def gbp_range(low, high):
    """``£50,000 – £600,000``, or one figure when both ends agree; "not reported" when the
    figure is not known."""
    return _range(low, high)


@register.filter
def gbp_range_whole(low, high):
    """``gbp_range`` in whole pounds, as the dashboard shows every figure."""
    return _range(low, high, pence=False)


@register.filter
def gbp_signed(value, whole_pounds=None):
    """A movement: ``+£12,000``, ``-£785,000``, ``no change``; ``gbp_signed:whole_pounds``
    with a true ``whole_pounds`` rounds to whole pounds as ``gbp`` does."""
    if value is None:
        return "—"
    text = format_money(value, pence=False if whole_pounds is True else None)
    if text == "£0":  # nothing, or pence shown in whole pounds: no "+£0"
        return "no change"
    plus = "+" if value > 0 else ""
    return shown(plus + text, plus + format_money_k(value))


@register.filter
def at(sequence, index):
    """``row|at:3``: an item by position (for parallel lists)."""
    try:
        return sequence[int(index)]
    except (IndexError, TypeError, ValueError, KeyError):
        return None


@register.filter
def get(mapping, key):
    return mapping.get(key) if mapping else None


@register.filter
def css_string(value) -> str:
    """``value`` as the inside of a CSS string, safe in a <style> element: every character but
    letters, digits and spaces as a CSS escape (``&`` is ``\\26`` and a space). escapejs
    writes ``\\u0026``, which CSS reads as "u0026"; HTML escaping writes ``&amp;``, which a
    <style> element does not decode; and neither stops a ``</style>`` breaking out. Each escape
    ends with a space, which CSS takes as its end: a space of the text after it is kept
    (``Telford & Wrekin``, not ``Telford &Wrekin``)."""
    out = "".join(
        c if (c.isascii() and c.isalnum()) or c == " " else f"\\{ord(c):x} " for c in str(value)
    )
    return mark_safe(out)  # nothing but [A-Za-z0-9 \\] is left unescaped


@functools.lru_cache(maxsize=2048)
def _day(day, language) -> str:
    """A table's date as the ``date`` filter writes it (``j M Y``), in the reader's language:
    a KPI's tables repeat the same month ends."""
    return date_format(day, "j M Y")


DIFFERS = ' <span class="diff-flag">(differs)</span>'


@register.simple_tag
def kpi_point_rows(k):
    """The rows of a KPI's data table (``_kpi_points.html``): a long series is a few hundred
    rows, written here rather than through a template each."""
    unit, shows_rate = k.kpi.unit, k.shows_rate
    rates = k.printed_rates if shows_rate else {}
    texts = k.printed_texts

    def value(v):
        return "" if v is None else escape(format_kpi_value(v, unit))

    def rate(v, r):
        if v is None:
            return ""
        return escape(num(r)) if r is not None else escape(k.rate_note)

    out = []
    for day, actual, actual_rate, target, target_rate, comps in k.table_rows:
        when = "No date given" if day is None else _day(day, get_language())
        cells = [f'<th scope="row" class="fw-normal">{when}</th>']
        cells.append(f'<td class="num">{value(actual)}</td>')
        if shows_rate:
            cells.append(f'<td class="num">{rate(actual, actual_rate)}</td>')
        cells.append(f'<td class="num">{value(target)}</td>')
        if shows_rate:
            cells.append(f'<td class="num">{rate(target, target_rate)}</td>')
        cells.extend(f'<td class="num">{value(c)}</td>' for c in comps)
        if shows_rate and rates:
            printed = "; ".join(
                format_html(
                    "{}printed <span>{}</span>, computed <span>{}</span>{}",
                    f"{v.label}: " if v.label else "",
                    num(v.stated_rate),
                    num(v.rate),
                    mark_safe(DIFFERS) if v.rate_differs else "",
                )
                for v in rates.get(day, [])
            )
            cells.append(f'<td class="small">{printed}</td>')
        if texts:
            cells.append(f'<td class="small">{escape(texts.get(day, ""))}</td>')
        out.append(f"<tr>{''.join(cells)}</tr>")
    return mark_safe("\n".join(out))


@register.simple_tag
def line_rows(f, sel, whole_pounds=False, show_commentary=False):
    """The rows of the savings lines table (``_lines_table.html``): up to fifty lines of a
    dozen figures each, written here rather than through a template each."""

    pence = False if whole_pounds else None

    def money(value):
        return conditional_escape(gbp(value, whole_pounds))

    def muted(text):
        return f'<span class="text-muted">{text}</span>'

    def money_range(low, high):
        if whole_pounds:
            return money(low) + (f" – {money(high)}" if high != low else "")
        return conditional_escape(_range(low, high))

    moved_since = f"since {sel.previous_label}" if sel.previous else "this month"
    out = []
    for x in f.shown_lines:
        line = x.line
        title = escape(line.title)
        if line.in_revenue_budget:
            title += ' <abbr title="Included in the revenue budget">*</abbr>'
        if line.workstream:
            title += f'<div class="small text-muted">{escape(line.workstream.name)}</div>'
        if x.commentary and show_commentary:
            title += f'<div class="small">{escape(truncatechars(x.commentary, 240))}</div>'
        if x.kind == "tbc":
            planned = "TBC"
        elif x.amount:
            planned = conditional_escape(_range(x.planned_low, x.planned_high, pence))
        else:
            planned = muted("none this year")
        if not x.starts_this_year:
            start = muted("later year")
        elif x.start_stated:
            start = f"P{x.start_period}"
        else:  # no start month in the paper: the profile's April is an assumption, said so
            start = f'P{x.start_period}<div class="small text-muted">assumed</div>'
        low, high = x.expected_low, x.expected_high
        expected = muted("not known (TBC)") if low is None else money_range(low, high)
        achieved = money(x.achieved) if x.achieved is not None else muted("not reported")
        if x.anticipated:
            achieved += f'<div class="small">+ {money(x.anticipated)} achievable</div>'
        if x.as_at:
            achieved += f'<div class="small text-muted">at {_day(x.as_at, get_language())}</div>'
        variance = x.delivery_variance
        variance = money(variance) if variance is not None else muted("not known")
        forecast = money(x.forecast) if x.forecast is not None else muted("not reported")
        rag = rag_badge(x.rag)
        if x.rag_carried_from:  # not rated in the year yet: an earlier year's rating, dated
            rag += format_html(
                '<div class="small text-muted">rated {}</div>',
                _day(x.rag_carried_from, get_language()),
            )
        if x.rag_move != "unchanged":
            rag += format_html('<div class="small">{} {}</div>', x.rag_move, moved_since)
        delay = x.month_of_delay
        delay = "–" if delay is None else money_range(delay, x.month_of_delay_high)
        out.append(
            "<tr>"
            f'<td class="text-nowrap">{escape(line.reference)}</td>'
            f'<th scope="row" class="fw-normal">{title}</th>'
            f'<td class="num">{planned}</td><td class="num print-hide">{start}</td>'
            f'<td class="num">{expected}</td><td class="num">{achieved}</td>'
            f'<td class="num print-hide">{variance}</td><td class="num">{forecast}</td>'
            f'<td class="print-hide">{rag_badge(line.original_rag)}</td><td>{rag}</td>'
            f'<td class="num print-hide">{delay}</td>'
            "</tr>"
        )
    return mark_safe("".join(out))


@register.filter
def cut_at_word(text, length: int) -> str:
    """``text`` cut to at most ``length`` characters at a word's end, with an ellipsis: a
    footer's plan title ("Children's Services Medium…", never "Medium Te…")."""
    text = str(text)
    if len(text) <= length:
        return text
    head = text[: length - 1]
    if text[length - 1] != " " and " " in head:
        head = head.rsplit(" ", 1)[0]
    return head.rstrip(" ,;:–-") + "…"


_RANGE_DASH = re.compile(r"(\S) +([–-]) +(?=\S)")


@register.filter
def keep_ranges(text) -> str:
    """A quoted figure's range kept on one line ("£1.769m – £2.319m"): the spaces around its
    dash made non-breaking. Escaped here, as the template would."""
    return mark_safe(_RANGE_DASH.sub("\\1\u00a0\\2\u00a0", str(conditional_escape(text))))
