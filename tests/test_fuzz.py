"""No input produces a 500: every page with mangled query strings, every form with mangled
values. Each response is a page, a message on a field, a 400, 403 or 404, never a crash."""

import pytest
from django.test import Client

from tests.test_url_access import make_world, project_urls, url_for

pytestmark = pytest.mark.django_db

JUNK = [
    "",
    "-1",
    "0",
    "13",
    "１２",
    "9" * 30,
    "1e400",
    "2017/99",
    "nonsense",
    "<script>alert(1)</script>",
    "x" * 3000,
    "'; DROP TABLE plans_plan; --",
]
QUERY_KEYS = ["year", "period", "page", "per_page", "sort", "q", "kind", "rag", "line", "export"]


@pytest.fixture
def walk(mtfs):
    return make_world(mtfs, mtfs.authority)


def _client(user):
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def reads_the_query(name: str, names: set[str]) -> bool:
    """Every page but the detail, form, delete and history pages of the record kinds past the
    first two: each kind's are the same views (the query read the same way), where every
    kind's list has a filter of its own (tests/test_csp_browser.py walks the same kinds)."""
    from tests.test_csp_browser import walked

    return name.endswith("_list") or walked(name, names)


def test_no_query_string_breaks_a_page(walk, figure_cache):
    # With the figures cache as served: a page's cached figures and files depend only on the
    # month the query string selects, parsed before the cache is read, so every mangled value
    # still meets every check, and the committee pack is drawn once, not once per value.
    client = _client(walk["users"]["finance"])
    names = {name for name, _ in project_urls()}
    for name, converters in project_urls():
        if not reads_the_query(name, names):
            continue
        url = url_for(name, converters, walk)
        for value in JUNK[::2]:
            response = client.get(url, dict.fromkeys(QUERY_KEYS, value))
            assert response.status_code < 500, f"GET {name} with {value[:20]!r}"


def test_no_form_value_breaks_a_form(walk):
    client = _client(walk["users"]["finance"])
    for name, converters in project_urls():
        if not name.endswith(("_create", "_edit")) and name not in {
            "plans:month_end",
            "dashboards:commentary",
        }:
            continue
        url = url_for(name, converters, walk)
        page = client.get(url)
        form = getattr(page, "context", None) and page.context.get("form")
        fields = list(form.fields) if form is not None else ["body", "year", "period"]
        for value in JUNK:
            data = dict.fromkeys([*fields, "year", "period", "version"], value)
            response = client.post(url, data)
            assert response.status_code < 500, f"POST {name} with {value[:20]!r}"
