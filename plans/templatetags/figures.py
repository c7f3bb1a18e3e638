"""Template words for the figures' rules, for every app's templates: RAG in words."""

from datetime import date

from django import template
from django.utils.html import format_html

from plans.figures.rules import RAG_LABELS, format_kpi_value, format_number
from recovery import fiscal

register = template.Library()


@register.filter
def rag_label(rag):
    return RAG_LABELS.get(rag or "", "Not rated")


@register.filter
def rag_badge(rag):
    """A RAG as every page shows it: its word on its colour (never colour alone)."""
    return format_html('<span class="rag rag-{}">{}</span>', rag or "none", rag_label(rag))


@register.filter
def num(value):
    """``279``, ``2,351``, ``96.3``."""
    return format_number(value)


@register.filter
def kpi_value(value, unit="count"):
    """A KPI value with its unit, as every page writes it: 12%, 447 days, 279."""
    return format_kpi_value(value, unit)


@register.filter
def recorded_on(day) -> str:
    """``fiscal.recorded_date`` for a template (a date, or one written as ISO text in a
    published report's figures); "" for none."""
    if isinstance(day, str):
        try:
            day = date.fromisoformat(day[:10])
        except ValueError:
            return day
    return fiscal.recorded_date(day) if isinstance(day, date) else ""
