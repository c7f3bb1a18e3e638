"""Walk every URL of the project for every role and assert who may do what.

A new view that is not classified below fails this test, so no page can ship without an
access decision. Roles: finance (read and write; submit a month), director (read, write
commentary; sign off, publish, return and reopen a month), scrutiny (published reports only:
the live report pages answer with the published version, every other page of a plan is 403),
a finance manager of another authority (404 everywhere), and a finance manager of another
authority whom an administrator granted read access (read, never write).

The records and users are made once for the module, in a transaction rolled back after its
last test; each test runs in a savepoint inside it, as any pytest-django test does. Every URL
is fetched once per role: the status walk and the read-only-controls check read the same
responses. (The suite's scheduler, ``tests/conftest.py``, keeps this module's tests to one
worker, so this happens once; the rest of the suite is spread test by test.)
"""

from __future__ import annotations

from datetime import date

import pytest
from django.db import transaction
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from plans import models as m
from tests.browser import inline_code
from tests.conftest import load_seeds
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# url name (with namespace) -> (what the view does, model the <pk> refers to)
READ, WRITE, COMMENT, IMPORT = "read", "write", "comment", "import"
# The month's close: POST-only steps, finance's and the director's.
CLOSE_FINANCE, CLOSE_DIRECTOR, CLOSE_BOTH = "close-finance", "close-director", "close-both"
CLOSE_STEPS = {
    "dashboards:month_submit": CLOSE_FINANCE,
    "dashboards:month_withdraw": CLOSE_FINANCE,
    "dashboards:month_signoff": CLOSE_DIRECTOR,
    "dashboards:month_publish": CLOSE_DIRECTOR,
    "dashboards:month_return": CLOSE_DIRECTOR,
    # A published month's correction: reopened and republished by finance or the director.
    "dashboards:month_reopen": CLOSE_BOTH,
    "dashboards:month_republish": CLOSE_BOTH,
}
# POST-only writes of finance (a GET is 405 for finance, 403 for other roles).
POST_ONLY_WRITES = {"plans:deletion_restore"}
# What a scrutiny member gets where the others read live figures: the published version
# (a redirect to it, or the stored file), the published reports themselves, and a 403 on
# every other page of a plan.
SCRUTINY_GETS = {
    "dashboards:plan_dashboard": {302},
    "dashboards:report": {302},
    "dashboards:report_xlsx": {200},
    "dashboards:report_pdf": {200},
    "dashboards:overview": {302},
    "plans:plan_list": {302},
    "dashboards:published_list": {200},
    "dashboards:published_report": {200},
    "dashboards:published_pdf": {200},
    "dashboards:published_xlsx": {200},
    "password_change": {200},
    "password_change_done": {200},
}

RECORD_MODELS = {
    "workstream": m.Workstream,
    "line": m.SavingsLine,
    "amount": m.PlannedAmount,
    "progress": m.ProgressEntry,
    "forecast": m.OverspendForecast,
    "pressure": m.CostPressure,
    "funding": m.Funding,
    "kpi": m.KPI,
    "kpipoint": m.KpiPoint,
    "risk": m.Risk,
    "commentary": m.Commentary,
    "adjustment": m.YearAdjustment,
    "section": m.NarrativeSection,
    "placementtype": m.PlacementType,
    "placementcount": m.PlacementCount,
    "placementmove": m.PlacementMove,
    "placementscenario": m.PlacementScenario,
    "plan": m.Plan,
}
PUBLIC = {
    "login",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}
SKIP = {"logout"}  # POST-only sign out, harmless for every user
ANY_SIGNED_IN = {
    "password_change",
    "password_change_done",
    "plans:plan_list",
    "dashboards:overview",
}
# Pages that only send a signed-in user on (where sign-in lands).
REDIRECTS = {"dashboards:landing"}
# Forms posted from a page: a GET (the address left in the bar after a refused save,
# reloaded) sends a reader back to that page.
POST_ONLY = {"dashboards:commentary"}


def classify(name: str) -> str:
    """What a URL does, from its name. Unknown names fail the test."""
    short = name.split(":")[-1]
    if name in CLOSE_STEPS:
        return CLOSE_STEPS[name]
    if name in {"plans:month_end"} | POST_ONLY_WRITES:
        return WRITE
    if name in POST_ONLY:
        return COMMENT
    if "import" in short:
        return IMPORT
    for suffix in ("_create", "_edit", "_delete"):
        if short.endswith(suffix):
            commentary_write = short.startswith("commentary") and suffix != "_delete"
            return COMMENT if commentary_write else WRITE
    for suffix in ("_list", "_detail", "_history"):
        if short.endswith(suffix):
            return READ
    if name.startswith("dashboards:") or any(
        word in short for word in ("export", "template", "report", "dashboard", "xlsx")
    ):
        return READ
    raise AssertionError(f"URL {name!r} has no access classification in this test")


def walk(resolver=None, namespace=""):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry, ns)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", list(entry.pattern.converters)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The MTFS with one record of every kind, and the users: made once for the module."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            if not m.Plan.objects.filter(authority__slug="torbay").exists():
                load_seeds()  # a transactional test flushed them
            mtfs = m.Plan.objects.get(authority__slug="torbay", code="mtfs-2017-21")
            data = make_world(mtfs, mtfs.authority)
        except BaseException:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            raise
    yield data
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)


def make_world(mtfs, torbay):
    line = mtfs.lines.order_by("reference").first()
    progress = m.ProgressEntry.objects.create(
        line=line, as_at=date(2017, 10, 31), achieved_to_date=10000, forecast=129000, rag="green"
    )
    commentary = m.Commentary.objects.create(plan=mtfs, year="2017/18", period=7, body="On track.")
    # August 2017 published, as the director publishes it (the files stand in for the pack).
    m.MonthClose.objects.create(plan=mtfs, year="2017/18", period=5, state="published")
    published = m.PublishedReport.objects.create(
        plan=mtfs,
        year="2017/18",
        period=5,
        published_at="2017-09-05T10:00:00Z",
        figures={"label": "P5 Aug 2017"},
        pdf=b"%PDF-1.7 walk",
        xlsx=b"PK walk",
    )
    objects = {
        "workstream": mtfs.workstreams.first(),
        "line": line,
        "amount": m.PlannedAmount.objects.filter(line__plan=mtfs).first(),
        "progress": progress,
        "forecast": mtfs.forecasts.first(),
        "pressure": mtfs.pressures.first(),
        "funding": mtfs.funding.first(),
        "kpi": mtfs.kpis.first(),
        "kpipoint": m.KpiPoint.objects.filter(kpi__plan=mtfs).first(),
        "risk": mtfs.risks.first(),
        "commentary": commentary,
        "adjustment": mtfs.adjustments.first(),
        "section": mtfs.sections.first(),
        "placementtype": mtfs.placement_types.first(),
        "placementcount": m.PlacementCount.objects.filter(type__plan=mtfs).first(),
        "placementmove": mtfs.placement_moves.first(),
        "placementscenario": m.PlacementScenario.objects.create(
            plan=mtfs, name="Moves two months late", move_delay_months=2
        ),
        "plan": mtfs,
    }
    assert all(objects.values()), [k for k, v in objects.items() if not v]
    telford = m.Plan.objects.get(authority__slug="telford").authority
    users = {
        role: UserFactory(username=f"walk-{role}", authority=torbay, role=role)
        for role in ("finance", "director", "scrutiny")
    }
    users["outsider"] = UserFactory(username="walk-outsider", authority=telford, role="finance")
    users["granted"] = UserFactory(username="walk-granted", authority=telford, role="finance")
    users["granted"].granted_authorities.add(torbay)
    return {"plan": mtfs, "objects": objects, "users": users, "published": published}


def url_for(name, converters, world):
    short = name.split(":")[-1]
    kwargs = {}
    if "plan_pk" in converters:
        kwargs["plan_pk"] = world["plan"].pk
    if "pk" in converters and short.startswith("published_"):
        return reverse(name, kwargs={"pk": world["published"].pk})
    if "pk" in converters:
        prefix = short.rsplit("_", 1)[0]
        # Dashboard pages (the commentary post among them) take the plan's pk.
        record_page = name.startswith("plans:") and prefix in RECORD_MODELS
        model_key = prefix if record_page else "plan"
        kwargs["pk"] = world["objects"][model_key].pk
    for extra in set(converters) - {"plan_pk", "pk"}:
        raise AssertionError(f"URL {name!r} takes {extra!r}; teach this test how to fill it")
    return reverse(name, kwargs=kwargs)


# The walk's commentary is the director's: a finance manager may not change or delete it.
OWNED_BY_ANOTHER_ROLE = {
    ("plans:commentary_edit", "finance"),
    ("plans:commentary_delete", "finance"),
}


def expected_get(kind: str, role: str, name: str = "") -> set[int]:
    if role == "outsider":
        return {404}
    if role == "scrutiny" and kind == READ:
        return SCRUTINY_GETS.get(name, {403})
    if kind == READ:
        return {200}
    if role == "granted":
        return {403}
    if kind == COMMENT:
        return {200} if role in {"finance", "director"} else {403}
    if kind in (CLOSE_FINANCE, CLOSE_DIRECTOR, CLOSE_BOTH):
        # POST-only: 405 for the roles that take the step, 403 for the others.
        takes = {
            CLOSE_FINANCE: {"finance"},
            CLOSE_DIRECTOR: {"director"},
            CLOSE_BOTH: {"finance", "director"},
        }[kind]
        return {405} if role in takes else {403}
    if name in POST_ONLY_WRITES:
        return {405} if role == "finance" else {403}
    return {200} if role == "finance" else {403}


def project_urls():
    names = []
    for name, converters in walk():
        short = name.split(":")[-1]
        if short in PUBLIC or short in SKIP or name in SKIP:
            continue
        names.append((name, converters))
    return names


def signed_in(users):
    """A client per role, each signed in as that role's user."""
    clients = {}
    for role, user in users.items():
        clients[role] = Client()
        clients[role].force_login(user)
    return clients


@pytest.fixture(scope="module")
def fetched():
    """(url name, role) -> (status, content type, HTML or None, Content-Security-Policy
    header): every project URL fetched by GET once per role, on the module's records, by the
    first test that asks."""
    return {}


def get_every_url(world, fetched):
    if not fetched:
        responses = {}
        clients = signed_in(world["users"])
        for name, converters in project_urls():
            url = url_for(name, converters, world) if converters else reverse(name)
            for role, client in clients.items():
                response = client.get(url)
                content_type = response.get("Content-Type", "")
                html = response.content.decode() if content_type.startswith("text/html") else None
                policy = response.get("Content-Security-Policy")
                responses[name, role] = (response.status_code, content_type, html, policy)
        fetched.update(responses)
    return fetched


def test_every_url_needs_login(client, world):
    for name, converters in project_urls():
        url = url_for(name, converters, world) if converters else reverse(name)
        response = client.get(url)
        assert response.status_code == 302, name
        assert "/accounts/login/" in response.url, name


def test_every_url_for_every_role(world, fetched):
    responses = get_every_url(world, fetched)
    checked = 0
    for name, converters in project_urls():
        if not converters:
            assert (
                name in ANY_SIGNED_IN or name.startswith("plans:") or name.startswith("dashboards:")
            ), name
        kind = READ if name in ANY_SIGNED_IN | REDIRECTS else classify(name)
        for role in world["users"]:
            status = responses[name, role][0]
            expected = expected_get(kind, role, name)
            if not converters and role in {"outsider", "granted"}:
                expected = expected_get(kind, "finance", name)  # pages of their own authority
            if not converters and kind == WRITE and role in {"director", "scrutiny"}:
                expected = {403}
            if (name, role) in OWNED_BY_ANOTHER_ROLE:
                expected = {403}
            if name in REDIRECTS:
                expected = {302}
            if name in POST_ONLY:
                # Another authority's plan is a 404 whatever the method; else GET goes back
                # to the dashboard, but for a scrutiny member, who may not read the plan.
                expected = {404} if role == "outsider" else {302}
                if role == "scrutiny":
                    expected = {403}
            assert status in expected, f"GET {name} as {role}: {status}, expected {expected}"
            checked += 1
    assert checked > 100


def test_every_write_url_refuses_posts_from_those_who_may_not(world):
    """Scrutiny members and directors cannot write (directors may write commentary);
    another authority's officer gets 404. Nothing changes in the database."""

    def snapshot():
        return {
            key: (type(obj).objects.count(), model_to_dict(type(obj).objects.get(pk=obj.pk)))
            for key, obj in world["objects"].items()
        }

    clients = signed_in(world["users"])
    before = snapshot()
    for name, converters in project_urls():
        kind = READ if name in ANY_SIGNED_IN | REDIRECTS else classify(name)
        if kind == READ:
            continue
        url = url_for(name, converters, world) if converters else reverse(name)
        for role in ("director", "scrutiny", "outsider", "granted"):
            status = clients[role].post(url, {"title": "x", "body": "x", "version": 1}).status_code
            if role == "outsider" and converters:
                assert status == 404, f"POST {name} as {role}: {status}"
            elif role == "granted" and converters:
                assert status == 403, f"POST {name} as {role}: {status}"
            elif role in {"outsider", "granted"}:
                continue  # a page of their own authority (plan create, import new)
            elif kind == COMMENT and role == "director":
                # 400: the walk's post names no month for the dashboard's commentary.
                assert status in {200, 302, 400}, f"POST {name} as director: {status}"
            elif kind in (CLOSE_DIRECTOR, CLOSE_BOTH) and role == "director":
                # 400: the walk's post names no month; the step is the director's to take.
                assert status == 400, f"POST {name} as director: {status}"
            else:
                assert status == 403, f"POST {name} as {role}: {status}"
    after = snapshot()
    changed = {k for k in before if before[k] != after[k]}
    assert not changed, changed


@pytest.mark.parametrize("role", ["scrutiny", "granted"])
def test_read_only_users_see_no_edit_control(world, fetched, role):
    """A scrutiny member, and anyone reading another authority's plan by grant."""
    responses = get_every_url(world, fetched)
    for name, converters in project_urls():
        if not converters and role == "granted":
            continue  # their own authority's pages, where they may edit
        kind = READ if name in ANY_SIGNED_IN else classify(name)
        if kind != READ:
            continue
        html = responses[name, role][2]
        if html is not None:
            for marker in ("/edit/", "/delete/", "/new/", "month-end", "/import"):
                assert marker not in html, f"{name} shows {marker!r} to {role}"
            assert (
                'method="post"' not in html.replace('action="/accounts/logout/"', "")
                or html.count('method="post"') == 1
            ), f"{name} has a form for {role}"


def test_every_page_for_every_role_is_served_under_the_policy_with_no_inline_code(world, fetched):
    """The policy's static half, on every page each role is served (pages, refusals, errors):
    the header is sent and the HTML holds nothing it would refuse (an inline script, an event
    handler or style attribute, a style element without the nonce). What runs in a browser is
    tests/test_csp_browser.py's, on one page of each kind."""
    responses = get_every_url(world, fetched)
    problems, pages = [], 0
    for (name, role), (_status, _type, html, policy) in responses.items():
        if html is None:
            continue
        pages += 1
        if not policy or "script-src" not in policy:
            problems.append(f"{name} as {role}: no Content-Security-Policy")
        problems += [f"{name} as {role}: {found}" for found in inline_code(html)]
    assert pages > 500
    assert not problems, "\n".join(problems[:40])
