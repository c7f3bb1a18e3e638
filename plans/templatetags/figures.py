"""Template words for the figures' rules, for every app's templates: RAG in words."""

from django import template

from plans.figures.rules import RAG_LABELS, format_number

register = template.Library()


@register.filter
def rag_label(rag):
    return RAG_LABELS.get(rag or "", "Not rated")


@register.filter
def num(value):
    """``279``, ``2,351``, ``96.3``."""
    return format_number(value)
