"""Rules that the web forms and the workbook import share: a plan's years; a model's CHECK
constraints read without the database."""

from __future__ import annotations

import functools
import operator
import re
from datetime import date

from django.core.exceptions import NON_FIELD_ERRORS
from django.db.models import CheckConstraint, F, Q

from recovery import fiscal

# Dated context (forecasts, pressures, funding, KPI values) may reach this far outside the
# plan's years: a plan is written after the overspend it answers. Anything further is a typing
# slip such as 2107 for 2017.
CONTEXT_YEARS = 10


@functools.lru_cache(maxsize=1024)
def _span(first_year: str, last_year: str) -> tuple[date, date]:
    """The first and last day of ``first_year`` to ``last_year`` (an import asks per row)."""
    return fiscal.year_start(first_year), fiscal.year_end(last_year)


def year_problem(plan, value, *, strict: bool) -> str | None:
    """Why ``value`` (a financial year such as "2017/18", or a date) does not fit ``plan``,
    or None. Strict: within the plan's years; otherwise within CONTEXT_YEARS of them."""
    if value in (None, "") or not plan.first_year or not plan.last_year:
        return None
    start, end = _span(plan.first_year, plan.last_year)
    if isinstance(value, str):
        first, last = _span(value, value)
    else:
        first = last = value
    outside = first < start or last > end
    if not outside:
        return None
    text = value if isinstance(value, str) else f"{value:%d/%m/%Y}"
    span = (
        plan.first_year
        if plan.first_year == plan.last_year
        else f"{plan.first_year} to {plan.last_year}"
    )
    if strict:
        return f"{text} is outside the plan's years ({span})."
    if last < date(start.year - CONTEXT_YEARS, 4, 1) or first > date(
        end.year + CONTEXT_YEARS, 3, 31
    ):
        return (
            f"{text} is more than {CONTEXT_YEARS} years outside the plan's years ({span}); "
            "is it a typing slip?"
        )
    return None


# --------------------------------------------------------------------------------------------
# A model's CHECK constraints, read in Python for a record not saved yet: an import validates
# thousands of rows, and Django's own check asks the database once per row and constraint.

_COMPARE = {
    "exact": operator.eq,
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}


def _holds(condition: Q, instance) -> bool | None:
    """``condition`` on ``instance`` as the database reads it: None where SQL's answer is
    unknown (a comparison with NULL; a lookup not read here), which a CHECK lets pass."""
    found = []
    for child in condition.children:
        if isinstance(child, Q):
            found.append(_holds(child, instance))
            continue
        lookup, wanted = child
        name, _, how = lookup.partition("__")
        value = getattr(instance, instance._meta.get_field(name).attname)
        if isinstance(wanted, F):
            wanted = getattr(instance, instance._meta.get_field(wanted.name).attname)
        if how == "isnull" or (how in ("", "exact") and wanted is None):
            found.append((value is None) is (wanted if how == "isnull" else True))
        elif value is None or wanted is None:
            found.append(None)
        elif how == "regex":
            found.append(isinstance(value, str) and re.search(wanted, value) is not None)
        elif (compare := _COMPARE.get(how or "exact")) is not None:
            try:
                found.append(compare(value, wanted))
            except TypeError:  # a wrong type is the field's own check's to name
                found.append(None)
        else:
            found.append(None)
    if condition.connector == Q.AND:
        result = False if False in found else None if None in found else True
    else:
        result = True if True in found else None if None in found else False
    return (None if result is None else not result) if condition.negated else result


@functools.cache
def _checks(model) -> tuple[tuple[CheckConstraint, tuple[str, ...]], ...]:
    """The model's CHECK constraints, each with the fields it names in order."""

    def names(q: Q):
        for child in q.children:
            if isinstance(child, Q):
                yield from names(child)
            else:
                yield child[0].split("__")[0]
                if isinstance(child[1], F):
                    yield child[1].name

    return tuple(
        (c, tuple(dict.fromkeys(names(c.condition))))
        for c in model._meta.constraints
        if isinstance(c, CheckConstraint)
    )


def constraint_problems(instance, columns, skip=()) -> dict[str, str]:
    """The model constraints ``instance`` breaks, as {field: message}: each said on the first
    of its fields in ``columns`` (the fields an officer typed), or on the record ("__all__")
    when none is. A constraint naming a field in ``skip`` (already wrong) is not read."""
    problems = {}
    for constraint, fields in _checks(type(instance)):
        if skip and not skip.isdisjoint(fields):
            continue
        if _holds(constraint.condition, instance) is False:
            field = next((f for f in fields if f in columns), NON_FIELD_ERRORS)
            problems.setdefault(field, constraint.get_violation_error_message())
    return problems
