"""The user's role is read with the user (recovery.backends) and the session with a query
written once (recovery.sessions): both still from the database on every request."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from recovery.access import role_of
from recovery.backends import RoleModelBackend

pytestmark = pytest.mark.django_db


def test_the_role_comes_with_the_user_and_follows_the_groups(finance_manager, director):
    backend = RoleModelBackend()
    assert role_of(backend.get_user(finance_manager.pk)) == "finance"
    assert role_of(backend.get_user(director.pk)) == "director"
    # Finance wins over director, as role_of ranks them.
    director.groups.add(Group.objects.get(name="finance"))
    assert role_of(backend.get_user(director.pk)) == "finance"
    director.groups.clear()
    assert role_of(backend.get_user(director.pk)) is None
    assert backend.get_user(0) is None
    assert backend.get_user("not a number") is None
    director.is_active = False
    director.save()
    assert backend.get_user(director.pk) is None


def test_a_change_of_role_is_seen_on_the_next_page(client, director, plan):
    client.force_login(director)
    url = reverse("dashboards:plan_dashboard", args=[plan.pk])
    assert client.get(url).status_code == 200
    director.groups.set([Group.objects.get(name="scrutiny")])
    # A scrutiny member reads published reports only: sent to them, not shown live figures.
    assert client.get(url).status_code == 302


def test_a_signed_out_or_expired_session_is_not_valid_anywhere(director, plan):
    url = reverse("dashboards:plan_dashboard", args=[plan.pk])
    first = Client()
    first.force_login(director)
    second = Client()
    second.cookies = first.cookies  # the same session from another browser or process
    assert second.get(url).status_code == 200
    first.post(reverse("logout"))
    assert second.get(url).status_code == 302
    third = Client()
    third.force_login(director)
    key = third.cookies["sessionid"].value
    assert third.get(url).status_code == 200
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(1))
    assert third.get(url).status_code == 302
