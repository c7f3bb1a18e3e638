"""recovery.access: scoping by authority, grants, and what templates may offer."""

import pytest
from django.urls import reverse

from plans.access import plans_for
from plans.models import Plan
from recovery.access import edit_flags, may_read, may_write
from tests.factories import PlanFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_users_see_their_authority_only(finance_manager, plan, outsider):
    foreign = PlanFactory(authority=outsider.authority)
    assert list(plans_for(finance_manager)) == [plan]
    assert list(plans_for(outsider)) == [foreign]


def test_a_grant_lets_a_user_read_but_never_write(client, finance_manager, plan, outsider):
    foreign = PlanFactory(authority=outsider.authority, title="Southvale plan")
    finance_manager.granted_authorities.add(outsider.authority)
    assert set(plans_for(finance_manager)) == {plan, foreign}
    assert may_write(finance_manager, plan) and not may_write(finance_manager, foreign)
    assert edit_flags(finance_manager, foreign) == {"can_edit": False, "can_comment": False}

    client.force_login(finance_manager)
    html = client.get(reverse("plans:plan_list")).content.decode()
    assert "Southvale plan" in html and "Southvale Borough Council" in html  # authority shown
    assert client.get(reverse("plans:plan_detail", args=[foreign.pk])).status_code == 200
    assert client.get(reverse("plans:plan_edit", args=[foreign.pk])).status_code == 403
    response = client.post(
        reverse("plans:line_create", args=[foreign.pk]), {"reference": "X", "title": "X"}
    )
    assert response.status_code == 403
    assert not foreign.lines.exists()


def test_a_user_without_authority_or_role_sees_nothing(django_user_model, plan):
    assert not plans_for(django_user_model.objects.create_user("lost")).exists()
    no_role = UserFactory(username="no-role", authority=plan.authority)
    assert not plans_for(no_role).exists()


def test_superuser_sees_and_may_change_everything(django_user_model, plan, outsider):
    root = django_user_model.objects.create_superuser("root", password="pw")
    foreign = PlanFactory(authority=outsider.authority)
    assert {plan, foreign} <= set(plans_for(root))
    assert may_write(root, foreign)


def test_scoping_adds_no_query_for_grants(finance_manager, plan, django_assert_num_queries):
    finance_manager.groups.all()  # role lookups are cached per request user
    from recovery.access import role_of

    role_of(finance_manager)
    with django_assert_num_queries(1):
        list(plans_for(finance_manager))
    assert Plan.objects.count() >= 1


def test_may_read_states_the_scope_rule_for_one_plan(
    django_user_model, finance_manager, director, scrutiny_member, outsider, plan
):
    """``may_read`` (one plan, as every plan page asks) and ``scope`` (a list) are the same
    rule: for every kind of user and every plan they agree, grants included."""
    foreign = PlanFactory(authority=outsider.authority)
    granted = UserFactory(username="granted", authority=plan.authority)
    granted.groups.set(director.groups.all())
    granted.granted_authorities.add(outsider.authority)
    users = [
        finance_manager,
        director,
        scrutiny_member,
        outsider,
        granted,
        UserFactory(username="no-role", authority=plan.authority),
        django_user_model.objects.create_user("lost"),
        django_user_model.objects.create_superuser("root", password="pw"),
    ]
    for user in users:
        listed = set(plans_for(user))
        for p in (plan, foreign):
            assert may_read(user, p.authority_id) == (p in listed), (user.username, p)
    assert may_read(granted, foreign.authority_id) and not may_read(director, foreign.authority_id)
