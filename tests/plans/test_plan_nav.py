"""The plan navigation marks the page's own section, and only it, with aria-current="page";
the highlight is drawn from that attribute (static/css/app.css), not from a class."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

from plans.templatetags.plan_nav import ITEMS
from tests.factories import SavingsLineFactory

pytestmark = pytest.mark.django_db

NAV = re.compile(r'<ul class="nav [^"]*plan-nav">(.*?)</ul>', re.S)
CURRENT = re.compile(r'<a class="nav-link[^"]*" href="[^"]*" aria-current="page">([^<]+)</a>')


def current_items(html: str) -> list[str]:
    [nav] = NAV.findall(html)
    return CURRENT.findall(nav)


def test_each_section_page_marks_its_own_item(client, finance_manager, plan):
    client.force_login(finance_manager)
    html = client.get(reverse("plans:plan_detail", args=[plan.pk])).content.decode()
    [nav] = NAV.findall(html)
    links = re.findall(r'href="([^"]*)"[^>]*>([^<]+)</a>', nav)
    assert len(links) == len(ITEMS)
    checked = 0
    for href, label in links:
        if label in ("Dashboard", "Published reports"):
            continue  # the read side's pages have their own navigation
        response = client.get(href)
        assert response.status_code == 200, href
        assert current_items(response.content.decode()) == [label], href
        checked += 1
    assert checked == len(ITEMS) - 2


def test_a_records_own_pages_are_in_its_lists_section(client, finance_manager, plan):
    line = SavingsLineFactory(plan=plan)
    client.force_login(finance_manager)
    for name in ("line_detail", "line_edit", "line_history", "line_delete"):
        html = client.get(reverse(f"plans:{name}", args=[plan.pk, line.pk])).content.decode()
        assert current_items(html) == ["Savings lines"], name
    html = client.get(reverse("plans:plan_edit", args=[plan.pk])).content.decode()
    assert current_items(html) == ["Overview"]


def test_the_month_end_item_is_not_highlighted_elsewhere(client, finance_manager, plan):
    client.force_login(finance_manager)
    html = client.get(reverse("plans:line_list", args=[plan.pk])).content.decode()
    [nav] = NAV.findall(html)
    month_end = reverse("plans:month_end", args=[plan.pk])
    assert f'<a class="nav-link px-2 py-1" href="{month_end}">Month-end update</a>' in nav
    assert "fw-semibold" not in nav and "active" not in nav


def test_a_director_sees_no_month_end_item_and_the_close_marked(client, director, plan):
    client.force_login(director)
    html = client.get(reverse("dashboards:months", args=[plan.pk])).content.decode()
    assert current_items(html) == ["Month close"]
    assert "Month-end update" not in NAV.findall(html)[0]


def test_the_highlight_is_one_css_rule_on_aria_current():
    css = (Path(__file__).resolve().parents[2] / "static/css/app.css").read_text()
    assert '.plan-nav .nav-link[aria-current="page"]' in css
