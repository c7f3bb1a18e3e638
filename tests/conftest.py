"""Shared fixtures: the seed papers loaded once, and named users per role.

The seed fixtures are loaded into the test database once per session, and again after a
transactional test has flushed it. Tests that need them ask for ``seeded``.

Hypothesis runs the "ci" profile unless HYPOTHESIS_PROFILE names another: few examples and no
deadline, so that ``make test`` stays quick on a two-core machine. For a thorough local run:
``HYPOTHESIS_PROFILE=thorough make test``.
"""

import os
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import override_settings
from hypothesis import settings as hypothesis_settings

from tests.factories import AuthorityFactory, PlanFactory, UserFactory

# Browser tests drive Debian's Chromium (``playwright install`` cannot download browsers here)
# against pytest-django's live server, and skip with a reason when it is missing.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Tests that set max_examples themselves keep it under every profile.
hypothesis_settings.register_profile("ci", max_examples=20, deadline=None, print_blob=True)
hypothesis_settings.register_profile("thorough", max_examples=300, deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

FIXTURES = sorted(str(p) for p in (Path(__file__).parent.parent / "fixtures").glob("*.json"))


# The longest tests first, so the two workers share them and finish together: collected in
# file order they came last (tests/test_*.py), and one worker walked every URL for a minute
# while the other sat idle. The URL walk's module (one xdist group) leads, then the browser
# tests, then the other long walks; the rest keep their order.
LONG_FIRST = ("tests/test_url_access.py", "tests/test_fuzz.py", "tests/recovery/test_migrations.py")


def pytest_collection_modifyitems(items):
    def rank(item):
        path = item.nodeid.split("::")[0]
        if path == LONG_FIRST[0]:
            return 0
        if item.get_closest_marker("browser"):
            return 1
        return 2 if path in LONG_FIRST else 3

    items.sort(key=rank)


# Tests spread one by one over the workers, but a module's whose module-scoped records and
# fetched pages are costly is kept to one worker (the URL walk: 800 pages fetched once).
# pytest-xdist's own groups (``--dist loadgroup``, ``xdist_group``) do nothing under pytest 9,
# which names a test by a structured id that xdist's group suffix never reaches: the walk's
# tests were spread over both workers, and each fetched every page.
ONE_WORKER = frozenset({"tests/test_url_access.py"})


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist's: absent under -p no:xdist
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadscope":
        return None  # another --dist given on the command line: xdist's own scheduler
    from xdist.scheduler import LoadScopeScheduling

    class ByTestOrModule(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::")[0]
            return module if module in ONE_WORKER else nodeid

    return ByTestOrModule(config, log)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """A transactional test (the browser tests) empties the database as it ends: the seeds go
    back in then, once, and not inside every later test's transaction (a reload each time)."""
    yield
    marker = item.get_closest_marker("django_db")
    if not (marker and marker.kwargs.get("transaction")) or nextitem is None:
        return
    from pytest_django.plugin import blocking_manager_key

    from plans.models import Plan

    with item.config.stash[blocking_manager_key].unblock():
        if not Plan.objects.filter(authority__slug="torbay").exists():
            load_seeds()


def load_seeds():
    call_command("loaddata", *FIXTURES, verbosity=0)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        load_seeds()


@pytest.fixture
def seeded(db):
    from plans.models import Plan

    if not Plan.objects.filter(authority__slug="torbay").exists():
        load_seeds()


@pytest.fixture
def torbay(seeded):
    from recovery.models import Authority

    return Authority.objects.get(slug="torbay")


@pytest.fixture
def mtfs(seeded):
    from plans.models import Plan

    return Plan.objects.get(authority__slug="torbay", code="mtfs-2017-21")


# Named users per role, on a fresh authority of their own (for tests that build their data).
@pytest.fixture
def authority(db):
    return AuthorityFactory(name="Northshire County Council", slug="northshire")


@pytest.fixture
def other_authority(db):
    return AuthorityFactory(name="Southvale Borough Council", slug="southvale")


@pytest.fixture
def finance_manager(authority):
    return UserFactory(username="fiona.finance", authority=authority, role="finance")


@pytest.fixture
def director(authority):
    return UserFactory(username="dan.director", authority=authority, role="director")


@pytest.fixture
def scrutiny_member(authority):
    return UserFactory(username="cllr.scrutiny", authority=authority, role="scrutiny")


@pytest.fixture
def outsider(other_authority):
    """A finance manager of another authority: sees none of ``authority``'s data."""
    return UserFactory(username="oscar.outsider", authority=other_authority, role="finance")


@pytest.fixture
def users(finance_manager, director, scrutiny_member, outsider):
    return {
        "finance": finance_manager,
        "director": director,
        "scrutiny": scrutiny_member,
        "outsider": outsider,
    }


@pytest.fixture
def plan(authority):
    return PlanFactory(authority=authority, code="recovery-2017", title="Northshire recovery plan")


# Named users on the seed authorities, as the demo users are.
@pytest.fixture
def torbay_users(torbay, other_seed_users):
    return {
        role: UserFactory(username=f"{role}-torbay-t", authority=torbay, role=role)
        for role in ("finance", "director", "scrutiny")
    }


@pytest.fixture
def other_seed_users(seeded):
    from recovery.models import Authority

    telford = Authority.objects.get(slug="telford")
    return {"finance": UserFactory(username="finance-telford-t", authority=telford, role="finance")}


@pytest.fixture
def chromium_page(live_server, monkeypatch):
    """A headless Chromium page; skipped when /usr/bin/chromium is not installed."""
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls that the test
    # makes while it runs are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        yield page
        browser.close()
        # While the event loop runs, Django keeps the test's ORM connection in a context of
        # its own; close it here, in that context, or PostgreSQL cannot drop the test database.
        from django.db import connections

        connections.close_all()


def sign_in_as_administrator(client, user):
    """Sign ``user`` (a superuser) in to the admin as the admin requires: password and a
    verified one-time-password device (TOTP)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


@pytest.fixture
def administrator(client, django_user_model):
    root = django_user_model.objects.create_superuser("root", password="pw")
    sign_in_as_administrator(client, root)
    return root


@pytest.fixture
def figure_cache():
    """The figures cache as served (the suite's settings turn it off, so that one test's
    figures cannot be read by the next), empty at the start and the end of the test."""
    with override_settings(
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    ):
        cache.clear()
        yield
        cache.clear()
