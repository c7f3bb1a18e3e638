"""Rules stated once: what counts as money, RAG in words, uniqueness from the constraints."""

from decimal import Decimal

import pytest
from django.apps import apps

from plans import models as m
from plans import services
from plans.figures import RAG_LABELS
from plans.forms import money_fields
from plans.workbook import resources as s


def test_money_is_one_field_type_everywhere():
    for model in apps.get_app_config("plans").get_models():
        declared = {f.name for f in model._meta.concrete_fields if m.is_money(f)}
        assert set(money_fields(model)) == declared, model
    # Factors, tolerances and KPI values are not money: changing one asks for no money reason.
    change = services.Change("factor", "factor", Decimal("0.5"), Decimal("0.6"))
    assert not services.money_changed([change], m.YearAdjustment)
    change = services.Change("amount", "amount", Decimal("1"), Decimal("2"))
    assert services.money_changed([change], m.CostPressure)


def test_the_workbooks_money_columns_are_the_models_money_fields():
    for spec in s.SHEETS:
        money_columns = {c.field for c in spec.columns if c.kind in s.MONEY_KINDS}
        fields = {f.name: f for f in spec.model._meta.concrete_fields}
        assert money_columns == {n for n in money_columns if m.is_money(fields[n])}, spec.name
        assert {
            c.field for c in spec.columns if c.field in fields and m.is_money(fields[c.field])
        } <= (money_columns), spec.name


def test_rag_words_come_from_the_model():
    assert {**{v: str(label) for v, label in m.RAG.choices}, "": "Not rated"} == RAG_LABELS
    assert RAG_LABELS["blue"] == "Blue – delivered"


@pytest.mark.django_db
def test_form_uniqueness_is_derived_from_the_model_constraints():
    from plans.forms import OverspendForecastForm, ProgressEntryForm, SavingsLineForm
    from tests.factories import PlanFactory

    plan = PlanFactory()
    assert SavingsLineForm(plan=plan).unique_checks() == [
        (("reference",), "reference", "This plan already has a savings line with that reference.")
    ]
    [(fields, target, _)] = OverspendForecastForm(plan=plan).unique_checks()
    assert (fields, target) == (("year", "period", "scenario", "service_area"), "period")
    [(fields, target, _)] = ProgressEntryForm(plan=plan).unique_checks()
    assert (fields, target) == (("line", "as_at"), "as_at")
