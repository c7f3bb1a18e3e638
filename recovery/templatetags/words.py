from django import template

register = template.Library()


@register.filter
def duration(value) -> str:
    """A length of time as people say it: ``1 hour``, ``90 minutes``, ``2 hours``."""
    minutes = round(value.total_seconds() / 60)
    if minutes % 60 == 0 and minutes >= 60:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
