"""Template words for the figures' rules, for every app's templates: RAG in words."""

from django import template

from plans.figures.rules import RAG_LABELS

register = template.Library()


@register.filter
def rag_label(rag):
    return RAG_LABELS.get(rag or "", "Not rated")
