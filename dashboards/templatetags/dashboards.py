"""Display helpers for the dashboard pages. Money goes through recovery.money only; these
format the other figures (KPI values, rates, RAG words) the same way on every page."""

from django import template
from django.utils.dateformat import format as date_format
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

from plans.figures.rules import format_kpi_value
from plans.templatetags.figures import num, rag_badge, rag_label
from recovery.money import NOT_REPORTED, format_money

register = template.Library()


register.filter("num", num)


@register.filter
def kpi_value(value, unit="count"):
    return format_kpi_value(value, unit)


register.filter("rag_label", rag_label)  # the one RAG-words filter, from plans
register.filter("rag_badge", rag_badge)  # and the one RAG badge


@register.filter
def gbp_range(low, high):
    """``£50,000 – £600,000``, or one figure when both ends agree; "not reported" when the
    figure is not known."""
    if low is None:
        return NOT_REPORTED
    if high is None or low == high:
        return format_money(low)
    return f"{format_money(low)} – {format_money(high)}"


@register.filter
def gbp_signed(value, whole_pounds=None):
    """A movement: ``+£12,000``, ``-£785,000``, ``no change``; ``gbp_signed:whole_pounds``
    with a true ``whole_pounds`` rounds to whole pounds as ``gbp`` does."""
    if value is None:
        return "—"
    if value == 0:
        return "no change"
    return ("+" if value > 0 else "") + format_money(
        value, pence=False if whole_pounds is True else None
    )


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
    letters, digits and spaces as a CSS escape (``&`` is ``\\000026``). escapejs writes
    ``\\u0026``, which CSS reads as "u0026"; HTML escaping writes ``&amp;``, which a <style>
    element does not decode; and neither stops a ``</style>`` breaking out."""
    out = "".join(
        c if (c.isascii() and c.isalnum()) or c == " " else f"\\{ord(c):06x}" for c in str(value)
    )
    return mark_safe(out)  # nothing but [A-Za-z0-9 \\] is left unescaped


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
        cells = [f'<th scope="row" class="fw-normal">{date_format(day, "j M Y")}</th>']
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
