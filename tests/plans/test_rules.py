"""The model's CHECK constraints read in Python (``plans.rules``) agree with the database."""

import itertools
from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError

from plans import models as m
from plans.rules import _checks, constraint_problems

pytestmark = pytest.mark.django_db

TEXT = ("CharField", "TextField", "SlugField")
VALUES = [None, 0, 1, 13, -1, Decimal("0.5"), "", "2017/18", "x", True, False]


def _fits(field, value) -> bool:
    """Whether ``value`` is of a type the field holds (the cell readers see to that)."""
    kind = field.get_internal_type()
    if value is None:
        return True
    if (kind == "BooleanField") != isinstance(value, bool):  # yes or no, and only there
        return False
    if field.is_relation:
        return value in (1, 13)
    if kind in TEXT:
        return isinstance(value, str)
    if isinstance(value, str):
        return False
    if "Integer" in kind:
        return isinstance(value, int)
    return True


def test_every_constraint_reads_as_the_database_reads_it():
    # Each CHECK constraint of the domain, on every combination of values for its fields:
    # the Python reading refuses exactly what the database refuses (Django's own validate
    # asks the database; a NULL comparison lets a CHECK pass).
    checked = 0
    for model in apps.get_app_config("plans").get_models():
        for constraint, names, holds in _checks(model):
            fields = [model._meta.get_field(n) for n in names]
            for combo in itertools.product(VALUES, repeat=len(fields)):
                if not all(_fits(f, v) for f, v in zip(fields, combo, strict=True)):
                    continue
                record = model()
                for f, v in zip(fields, combo, strict=True):
                    if f.get_internal_type() == "DateField" and v is not None:
                        v = date(2017, 4, 1) if v in (0, -1) else date(2017, 4, 2)
                    setattr(record, f.attname, v)
                try:
                    constraint.validate(model, record)
                    database = True
                except ValidationError:
                    database = False
                said = holds(record)
                assert (said is False) == (database is False), (constraint.name, combo, said)
                checked += 1
    assert checked > 800


def test_a_null_on_either_side_is_unknown_and_a_check_lets_it_pass():
    point = m.PlannedAmount(kind="point", low=Decimal(5), high=None, year="2017/18")
    assert constraint_problems(point, {"kind", "low", "high", "year"}) == {}
    same = m.PlacementMove(planned_year="2017/18", planned_period=1, number=1)
    assert constraint_problems(same, {"from_type", "to_type"}) == {}
    # A constraint on a field the import sets itself is not read: the import keeps it.
    assert constraint_problems(m.Commentary(year="", period=1), {"period"}) == {}
    # "$" is the end of the text, as PostgreSQL reads it: not before a last newline.
    assert constraint_problems(m.Commentary(year="2017/18\n", period=1), {"year"}) == {
        "year": m.YEAR_MESSAGE
    }


def test_every_constraint_message_can_be_shown():
    # Django fills a message in with "%" formatting: a bare "%" would be a traceback.
    for model in apps.get_app_config("plans").get_models():
        for constraint in model._meta.constraints:
            message = constraint.get_violation_error_message()
            assert message and "is violated" not in message, constraint.name  # its own words
