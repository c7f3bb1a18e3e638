"""The Content-Security-Policy header on every kind of response: pages, sign-in, the admin,
error pages as production serves them, downloads and static files; and what it allows."""

import pytest
from django.test import Client
from django.urls import reverse

from plans.models import Plan

pytestmark = pytest.mark.django_db

POLICY = "Content-Security-Policy"


def directives(response) -> dict[str, list[str]]:
    out = {}
    for part in response[POLICY].split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def test_the_policy_allows_only_the_apps_own_files(client, finance_manager):
    client.force_login(finance_manager)
    policy = directives(client.get(reverse("plans:plan_list")))
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"][0] == "'self'"
    # plotly.js's empty <style> (the hash of "") and, where a page has one, the nonce.
    assert set(policy["style-src"][1:]) <= {
        "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
        *(v for v in policy["style-src"] if v.startswith("'nonce-")),
    }
    assert policy["frame-ancestors"] == ["'none'"] and policy["form-action"] == ["'self'"]
    everything = " ".join(v for values in policy.values() for v in values)
    for loose in ("unsafe-inline", "unsafe-eval", "unsafe-hashes", "*", "http:", "https:"):
        assert loose not in everything.split() and f"'{loose}'" not in everything


def test_a_pages_nonce_is_new_for_each_request_and_on_its_style(client, director, mtfs):
    from tests.factories import UserFactory

    user = UserFactory(username="csp-director", role="director", authority=mtfs.authority)
    client.force_login(user)
    url = reverse("dashboards:report", args=[mtfs.pk])
    first, second = client.get(url), client.get(url)
    nonces = [
        next(v for v in directives(r)["style-src"] if v.startswith("'nonce-"))[7:-1]
        for r in (first, second)
    ]
    assert nonces[0] != nonces[1]
    assert f'<style media="print" nonce="{nonces[0]}">' in first.content.decode()


def test_every_kind_of_response_carries_the_policy(client, finance_manager, mtfs, settings):
    from tests.factories import UserFactory

    finance = UserFactory(username="csp-finance", role="finance", authority=mtfs.authority)
    anonymous = Client()
    assert POLICY in anonymous.get(reverse("login"))
    assert POLICY in anonymous.get(reverse("admin:login"))
    assert POLICY in anonymous.get("/static/css/app.css")
    assert POLICY in anonymous.get("/static/vendor/plotly.min.js")
    client.force_login(finance)
    downloads = [
        reverse("plans:plan_export", args=[mtfs.pk]),
        reverse("dashboards:report_xlsx", args=[mtfs.pk]),
        reverse("plans:line_list", args=[mtfs.pk]) + "?_export=csv",
        reverse("plans:workbook_template"),
    ]
    for url in downloads:
        response = client.get(url)
        assert response.status_code == 200 and POLICY in response, url
    scrutiny = UserFactory(username="csp-scrutiny", role="scrutiny", authority=mtfs.authority)
    client.force_login(scrutiny)
    refused = client.get(reverse("plans:month_end", args=[mtfs.pk]))
    assert refused.status_code == 403 and POLICY in refused
    # With DEBUG on, Django's own debug pages answer 404 and 500 (django-csp leaves those
    # alone); production serves the app's pages, with the policy.
    settings.DEBUG = False
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404 and POLICY in missing
    other = Plan.objects.get(authority__slug="telford")
    assert POLICY in client.get(reverse("plans:plan_detail", args=[other.pk]))


def test_a_server_error_page_carries_the_policy(client, finance_manager, settings, monkeypatch):
    from plans.views import pages

    def broken(*args, **kwargs):
        raise RuntimeError("broken on purpose")

    monkeypatch.setattr(pages.PlanListView, "get", broken)
    settings.DEBUG = False
    failing = Client(raise_request_exception=False)
    failing.force_login(finance_manager)
    response = failing.get(reverse("plans:plan_list"))
    assert response.status_code == 500 and POLICY in response
    assert "style=" not in response.content.decode()
