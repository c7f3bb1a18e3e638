"""Rules that the web forms and the workbook import share: a plan's years; a model's CHECK
constraints read without the database."""

from __future__ import annotations

import functools
import operator
import re
import unicodedata
from datetime import date
from decimal import Decimal

from django.core.exceptions import FieldDoesNotExist
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import CheckConstraint, F, Q

from recovery import fiscal

# The largest whole number a count or a list position takes where its field sets no bound of
# its own: the same on every database (not SQLite's or PostgreSQL's integer range).
WHOLE_NUMBER_LIMIT = 32_767


def whole_number_bounds(model_field) -> tuple[int, int]:
    """The whole numbers ``model_field`` takes, for every form and the workbook import: its
    own validators' bounds where it has them (1 to 5), within +/- ``WHOLE_NUMBER_LIMIT``."""
    bounds = {type(v): v.limit_value for v in model_field.validators}
    low = max(bounds.get(MinValueValidator, 0), -WHOLE_NUMBER_LIMIT - 1)
    return low, min(bounds.get(MaxValueValidator, WHOLE_NUMBER_LIMIT), WHOLE_NUMBER_LIMIT)


# Characters nobody sees that pasting from Word or a web page carries in: in a one-line
# value (a reference, a code, a name that is a key) each would make "CIP-1.1" a second line
# that looks like the first. Long text keeps them. Every form and the workbook import use it.
_INVISIBLE = re.compile("[\u200b\u2060\ufeff\u00ad]")


def visible(text: str) -> str:
    """``text`` without zero-width spaces, word joiners, byte-order marks or soft hyphens."""
    return _INVISIBLE.sub("", text)


# Control characters no spreadsheet cell holds (an export drops them, so a value holding one
# would not come back as it went out): Word's line break (a vertical tab, which Excel saves as
# _x000B_) and a form feed are line breaks; the rest (a bell, a backspace...) are dropped.
_BREAKS = re.compile("[\x0b\x0c]")
_CONTROLS = re.compile("[\x01-\x08\x0e-\x1f]")
_ANY_CONTROL = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f]")


def without_controls(text: str) -> str:
    """``text`` as a cell can hold it: Word's line breaks as line breaks, no other control
    character. Every form and the workbook import use it."""
    if not _ANY_CONTROL.search(text):  # nearly always: one scan of the text
        return text
    return _CONTROLS.sub("", _BREAKS.sub("\n", text))


_SPACES = re.compile("[\u00a0\u2007\u202f]")


def plain_spaces(text: str) -> str:
    """``text`` with non-breaking spaces as spaces: a name pasted from Word ("Objective\u00a01")
    is the name typed with a space."""
    return _SPACES.sub(" ", text)


# Cyrillic and Greek letters drawn like Latin ones: "СS/01" with a Cyrillic С reads as CS/01.
_LOOKALIKES = frozenset(
    "АВСЕНІЈКМОРТХЅаесорхујіѕ"  # Cyrillic
    "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧοιν"  # Greek
)
_LATIN_OR_DIGIT = re.compile("[A-Za-z0-9]")


def lookalike_problem(text: str) -> str:
    """Why a one-line value would pass for another it is not ("" if it would not): a run of
    text (between spaces) holding a Cyrillic or Greek letter drawn like a Latin one beside
    Latin letters or digits ("СS/01" with a Cyrillic С, "Н-2", "Plаcements"), which reads as
    the Latin text and would be a second line, code or workstream beside the first. Text
    wholly in another alphabet ("Ольга"), and letters no Latin one resembles ("5μg", "β2"),
    are anyone's to type. Every form and the workbook import use it, as ``visible``."""
    if text.isascii():  # nearly every value: nothing to look for
        return ""
    for run in text.split():
        letter = next((c for c in run if c in _LOOKALIKES), None)
        if letter is not None and _LATIN_OR_DIGIT.search(run):
            alphabet = unicodedata.name(letter).split(" ", 1)[0].title()
            return (
                f"{run!r} mixes alphabets: {letter} is a {alphabet} letter that looks like a "
                "Latin one, so it would not match the same text typed on an English keyboard. "
                "Retype it."
            )
    return ""


# Dashes that are not the keyboard's hyphen (Word's non-breaking and en dashes, the minus
# sign) and full-width forms, which read as "CIP-1.1" and would be a second line beside it.
_DASHES = re.compile("[\u2010-\u2015\u2212\ufe58\ufe63\uff0d]")
_FULL_WIDTH = re.compile("[\uff01-\uff5e]")


def key_problem(text: str) -> str:
    """Why a value that names a record (a reference, a code, a workstream) would pass for
    another it is not ("" if it would not): ``lookalike_problem``, a dash that is not a hyphen
    inside a word ("CIP\u20111.1"; a spaced dash, "Placements \u2013 residential", is a
    word of its own) or full-width characters. Titles keep their dashes (2017\u20132021)."""
    if text.isascii():
        return ""
    if problem := lookalike_problem(text):
        return problem
    for run in text.split():
        dash = _DASHES.search(run)
        if dash and _LATIN_OR_DIGIT.search(run):
            name = unicodedata.name(dash.group(), "dash").lower()
            return (
                f"{run!r} has a {name}, not a hyphen (as Word or a web page puts in), so it "
                "would not match the same text typed on an English keyboard. Retype it with "
                "a hyphen."
            )
        if _FULL_WIDTH.search(run):
            return (
                f"{run!r} is typed in full-width characters, so it would not match the same "
                "text typed on an English keyboard. Retype it."
            )
    return ""


def one_line(text: str, *, key: bool) -> tuple[str, str]:
    """A one-line value as every form and the workbook import take it: without the characters
    nobody sees (``visible``) and, where it names a record (``key``), with plain spaces; and
    why it would pass for another value ("" if it would not): ``key_problem`` for a key,
    ``lookalike_problem`` for the rest."""
    text = plain_spaces(visible(text)) if key else visible(text)
    return text, (key_problem if key else lookalike_problem)(text)


def same_key(values: dict) -> dict:
    """The lookups of a record with the same unique key as ``values``, as every form and the
    workbook import match keys: text regardless of capitals ("mtfs-01" is MTFS-01, which an
    import's rows name either way), everything else as it is."""
    return {f"{k}__iexact" if isinstance(v, str) and v else k: v for k, v in values.items()}


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


def _comparable(a, b) -> bool:
    """Python compares them as SQL would: text with text (a choice is text), a number with
    a number, or two of one type (dates; not a date with a datetime)."""
    if isinstance(a, str) and isinstance(b, str):
        return True
    if isinstance(a, bool) or isinstance(b, bool):  # a yes-or-no with a yes-or-no only
        return isinstance(a, bool) and isinstance(b, bool)
    numbers = (int, Decimal)
    if isinstance(a, numbers) and isinstance(b, numbers):
        return True
    return type(a) is type(b)


def _unknown(instance) -> None:
    return None


def _lookup(model, lookup: str, wanted):
    """One lookup of a condition as a function of a record, reading it as SQL does (None:
    unknown). Worked out once per constraint: an import reads it for every row."""
    name, _, how = lookup.partition("__")
    attname = model._meta.get_field(name).attname
    if how == "isnull" or (wanted is None and how in ("", "exact")):  # Q(field=None): IS NULL
        null = True if how != "isnull" else bool(wanted)
        return lambda instance: (getattr(instance, attname) is None) is null
    other = model._meta.get_field(wanted.name).attname if isinstance(wanted, F) else None
    if how == "regex":
        pattern = re.compile(wanted)
        whole = wanted.endswith("$")  # the end of the text (PostgreSQL), not before a "\n"

        def regex(instance):
            value = getattr(instance, attname)
            if value is None:
                return None
            found = pattern.search(value) if isinstance(value, str) else None
            return found is not None and not (whole and found.end() != len(value))

        return regex
    compare = _COMPARE.get(how)
    if compare is None:
        return _unknown  # a lookup not read here: the database's to say

    def comparison(instance):
        value = getattr(instance, attname)
        right = wanted if other is None else getattr(instance, other)
        if value is None or right is None:
            return None  # a comparison with NULL
        return compare(value, right) if _comparable(value, right) else None

    return comparison


def _compile(condition: Q, model):
    """``condition`` as a function of a record: True, False, or None where SQL's answer is
    unknown (a comparison with NULL; a lookup or expression not read here), which a CHECK
    lets pass."""
    parts = []
    for child in condition.children:
        if isinstance(child, Q):
            parts.append(_compile(child, model))
            continue
        try:
            lookup, wanted = child
            parts.append(_lookup(model, lookup, wanted))
        except (TypeError, ValueError, AttributeError, FieldDoesNotExist):  # an expression
            parts.append(_unknown)
    every, negated = condition.connector == Q.AND, condition.negated

    def holds(instance):
        found = [part(instance) for part in parts]
        if every:
            result = False if False in found else None if None in found else True
        else:
            result = True if True in found else None if None in found else False
        return (None if result is None else not result) if negated else result

    return holds


@functools.cache
def _checks(model) -> tuple[tuple[CheckConstraint, tuple[str, ...], object], ...]:
    """The model's CHECK constraints, each with the fields it names in order and its
    condition as a function of a record."""

    def names(q: Q):
        for child in q.children:
            if isinstance(child, Q):
                yield from names(child)
            else:
                yield child[0].split("__")[0]
                if isinstance(child[1], F):
                    yield child[1].name

    return tuple(
        (c, tuple(dict.fromkeys(names(c.condition))), _compile(c.condition, model))
        for c in model._meta.constraints
        if isinstance(c, CheckConstraint)
    )


def constraint_problems(instance, columns, skip=(), present=None) -> dict[str, str]:
    """The model constraints ``instance`` breaks among those on the fields an officer types
    (``columns``), as {field: message}, each said on the first of its fields that the sheet
    has (``present``; all ``columns`` if None). Constraints naming a field the import sets
    itself (a progress entry's year, from its date) are the import's to keep; one naming a
    field in ``skip`` (already wrong) is not read."""
    problems = {}
    for constraint, fields, holds in _checks(type(instance)):
        if any(f not in columns for f in fields) or (skip and not skip.isdisjoint(fields)):
            continue
        if holds(instance) is False:
            typed = [f for f in fields if present is None or f in present] or fields
            problems.setdefault(typed[0], constraint.get_violation_error_message())
    return problems
