"""Rules that the web forms and the workbook import share: a plan's years; a model's CHECK
constraints read without the database."""

from __future__ import annotations

import functools
import operator
import re
from datetime import date
from decimal import Decimal

from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist
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
    "": operator.eq,
    "exact": operator.eq,
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}


def _value(instance, name: str):
    return getattr(instance, instance._meta.get_field(name).attname)


def _lookup(instance, lookup: str, wanted) -> bool | None:
    """One lookup of a condition, as SQL reads it (None: unknown)."""
    name, _, how = lookup.partition("__")
    value = _value(instance, name)
    if how == "isnull":
        return (value is None) is bool(wanted)
    if wanted is None and how in ("", "exact"):  # Q(field=None) is IS NULL
        return value is None
    if isinstance(wanted, F):
        wanted = _value(instance, wanted.name)
    if value is None or wanted is None:
        return None  # a comparison with NULL
    if how == "regex":
        found = re.search(wanted, value) if isinstance(value, str) else None
        # "$" at the end: the end of the text (PostgreSQL), not before a last newline.
        return found is not None and not (wanted.endswith("$") and found.end() != len(value))
    compare = _COMPARE.get(how)
    if compare is None or not _comparable(value, wanted):
        return None  # a lookup or a pair of types not read here: the database's to say
    return compare(value, wanted)


def _comparable(a, b) -> bool:
    """Python compares them as SQL would: text with text (a choice is text), a number with
    a number, or two of one type (dates; not a date with a datetime)."""
    if isinstance(a, str) and isinstance(b, str):
        return True
    numbers = (int, Decimal)
    if isinstance(a, numbers) and isinstance(b, numbers):
        return not isinstance(a, bool) and not isinstance(b, bool)
    return type(a) is type(b)


def _holds(condition: Q, instance) -> bool | None:
    """``condition`` on ``instance`` as the database reads it: None where SQL's answer is
    unknown (a comparison with NULL; a lookup or expression not read here), which a CHECK
    lets pass."""
    found = []
    for child in condition.children:
        if isinstance(child, Q):
            found.append(_holds(child, instance))
            continue
        try:
            lookup, wanted = child
            found.append(_lookup(instance, lookup, wanted))
        except (TypeError, ValueError, FieldDoesNotExist):  # an expression, a path
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
        # A row already wrong: not the constraints on its wrong fields, nor on the fields
        # the import derives from others (a progress entry's year, from its date).
        if skip and (not skip.isdisjoint(fields) or any(f not in columns for f in fields)):
            continue
        if _holds(constraint.condition, instance) is False:
            field = next((f for f in fields if f in columns), NON_FIELD_ERRORS)
            problems.setdefault(field, constraint.get_violation_error_message())
    return problems
