"""Every model has a working admin: changelist, add form and a change form with history."""

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.conftest import sign_in_as_administrator

pytestmark = pytest.mark.django_db


def test_every_model_is_in_the_admin():
    from django.apps import apps

    registered = set(admin.site._registry)
    for app in ("plans", "recovery"):
        for model in apps.get_app_config(app).get_models():
            if model.__name__.startswith("Historical"):
                continue
            assert model in registered, f"{model.__name__} has no admin"


def _request(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = user
    return request


def test_admin_pages_render(client, django_user_model, seeded):
    root = django_user_model.objects.create_superuser("root", password="pw")
    sign_in_as_administrator(client, root)
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        if meta.app_label not in {"plans", "recovery"}:
            continue
        base = f"admin:{meta.app_label}_{meta.model_name}"
        assert client.get(reverse(f"{base}_changelist")).status_code == 200, base
        # A read-only admin (pending imports) offers no add page.
        expected = 200 if model_admin.has_add_permission(_request(root)) else 403
        assert client.get(reverse(f"{base}_add")).status_code == expected, base
        obj = model._default_manager.first()
        if obj is not None:
            assert client.get(reverse(f"{base}_change", args=[obj.pk])).status_code == 200, base
            if hasattr(model_admin, "history_view"):
                assert client.get(reverse(f"{base}_history", args=[obj.pk])).status_code == 200


def test_officers_are_not_let_into_the_admin(client, finance_manager):
    client.force_login(finance_manager)
    response = client.get(reverse("admin:plans_plan_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response.url


def test_an_admin_edit_moves_the_version_so_officers_cannot_overwrite_it(
    client, django_user_model, plan
):
    from plans.models import Risk

    risk = Risk.objects.create(plan=plan, reference="R1", description="Slippage")
    root = django_user_model.objects.create_superuser("root", password="pw")
    sign_in_as_administrator(client, root)
    response = client.post(
        reverse("admin:plans_risk_change", args=[risk.pk]),
        {
            "plan": plan.pk,
            "reference": "R1",
            "description": "Slippage (admin)",
            "status": "open",
            "mitigations": "",
            "owner": "",
            "notes": "",
        },
    )
    assert response.status_code == 302
    risk.refresh_from_db()
    assert risk.version == 2


def test_a_staff_officer_cannot_list_or_change_any_authoritys_records(client, finance_manager):
    """Role groups grant no admin access: a finance manager with staff status ticked is kept
    out of the admin (so cannot reach another authority's records there)."""
    finance_manager.is_staff = True
    finance_manager.save()
    client.force_login(finance_manager)
    for name in ("admin:index", "admin:plans_savingsline_changelist", "admin:plans_plan_add"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/admin/login/" in response.url, name


def test_an_administrator_needs_a_second_factor(client, django_user_model):
    root = django_user_model.objects.create_superuser("root2", password="pw")
    client.force_login(root)  # password only
    response = client.get(reverse("admin:plans_plan_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response.url
    login = client.get(response.url).content.decode()
    assert 'name="otp_token"' in login or "otp_device" in login
