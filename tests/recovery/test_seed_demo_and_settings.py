import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError

from plans.models import Plan, SavingsLine
from recovery.models import User

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_seed_demo_creates_one_user_per_role_per_authority_and_is_idempotent(settings):
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    counts = (Plan.objects.count(), SavingsLine.objects.count(), User.objects.count())
    call_command("seed_demo", verbosity=0)
    assert (Plan.objects.count(), SavingsLine.objects.count(), User.objects.count()) == counts
    for slug in ("torbay", "barking-dagenham", "telford"):
        for role in ("finance", "director", "scrutiny"):
            user = User.objects.get(username=f"{role}-{slug}")
            assert user.authority.slug == slug
            assert [g.name for g in user.groups.all()] == [role]
            assert user.check_password("demo")
    assert Plan.objects.filter(authority__slug="torbay").count() == 3


@pytest.mark.django_db
def test_seed_demo_second_run_keeps_password_hash(settings):
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    before = User.objects.get(username="finance-torbay").password
    call_command("seed_demo", verbosity=0)
    assert User.objects.get(username="finance-torbay").password == before


@pytest.mark.django_db
def test_seed_demo_refuses_in_production(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="refuses"):
        call_command("seed_demo")


@pytest.mark.django_db
def test_demo_login_works(client, settings):
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    response = client.post("/accounts/login/", {"username": "finance-torbay", "password": "demo"})
    assert response.status_code == 302
    assert "Torbay" in client.get("/").content.decode()


# Settings are read from the environment and sys.argv when the settings module is first
# imported. Two real processes check that end to end, as gunicorn and manage.py start; the other
# cases run recovery/settings.py afresh in this process with the environment and argv they set.
ENV_SET_BY_TESTS = {"SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE"}
PRODUCTION = {"DEBUG": "false", "ALLOWED_HOSTS": "example.org"}


def _run(env, args=("manage.py", "check")):
    base = {k: v for k, v in os.environ.items() if k not in ENV_SET_BY_TESTS}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**base, "DJANGO_SETTINGS_MODULE": "recovery.settings", **env},
        timeout=60,
    )


def _load_settings(monkeypatch, env, argv):
    """recovery/settings.py run as a fresh module, with ``env`` on top of this process's
    environment less SECRET_KEY, DEBUG and DJANGO_SETTINGS_MODULE, and with ``argv``."""
    for name in ENV_SET_BY_TESTS:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "argv", [str(arg) for arg in argv])
    spec = importlib.util.spec_from_file_location(
        "recovery_settings_under_test", ROOT / "recovery" / "settings.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_production_refuses_to_serve_without_secret_key():
    result = _run(PRODUCTION, ("-c", "import recovery.wsgi"))  # what gunicorn loads
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_runserver_refuses_without_secret_key(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY is not set"):
        argv = [ROOT / "manage.py", "runserver", "--noreload", "127.0.0.1:8099"]
        _load_settings(monkeypatch, PRODUCTION, argv)


@pytest.mark.django_db
def test_production_management_commands_that_sign_nothing_run_without_the_key(
    monkeypatch, settings
):
    argv = [ROOT / "manage.py", "makemigrations", "--check", "--dry-run"]
    production = _load_settings(monkeypatch, PRODUCTION, argv)
    assert production.DEBUG is False
    assert production.SECRET_KEY and production.SECRET_KEY != production._DEV_SECRET
    # (That no migration is missing is tested on a migrated database of its own:
    # tests/recovery/test_migrations.py; this suite's databases are made from the models.)
    settings.DEBUG = False
    with pytest.raises(CommandError, match="refuses to run with DEBUG off"):
        call_command("seed_demo")  # but never the demo users


def test_production_starts_with_secret_key():
    result = _run({"DEBUG": "false", "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "example.org"})
    assert result.returncode == 0, result.stderr


def test_bad_boolean_is_refused(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="DEBUG must be true or false"):
        _load_settings(monkeypatch, {"DEBUG": "perhaps"}, [ROOT / "manage.py", "check"])


def test_the_navbar_does_not_repeat_what_the_users_name_says(client, db):
    # Found walking the app: "Director (Telford & Wrekin Council) · Director · Telford &
    # Wrekin Council" wrapped the navbar onto two lines.
    from recovery.models import Authority
    from tests.factories import UserFactory

    telford = Authority.objects.filter(slug="telford").first() or Authority.objects.create(
        slug="telford", name="Telford & Wrekin Council"
    )
    user = UserFactory(
        username="d-nav",
        role="director",
        authority=telford,
        first_name="Director",
        last_name="(Telford & Wrekin Council)",
    )
    client.force_login(user)
    html = client.get("/dashboards/published/").content.decode()
    text = " ".join(html.split())
    assert "Director (Telford &amp; Wrekin Council) </span>" in text
    user.first_name, user.last_name = "Ann", "Smith"
    user.save()
    text = " ".join(client.get("/dashboards/published/").content.decode().split())
    assert "Ann Smith · Director · Telford &amp; Wrekin Council </span>" in text


def test_the_navbar_label_compares_whole_words():
    from types import SimpleNamespace

    from recovery.context_processors import user_label

    def user(first, last, authority="Bath and North East Somerset Council"):
        return SimpleNamespace(
            get_full_name=lambda: f"{first} {last}".strip(),
            username="u",
            authority_id=1,
            authority=SimpleNamespace(name=authority),
        )

    assert user_label(user("Bathsheba", "Directorova"), "director") == (
        "Bathsheba Directorova · Director · Bath and North East Somerset Council"
    )
    assert user_label(user("Director", "(Bath and North East Somerset Council)"), "director") == (
        "Director (Bath and North East Somerset Council)"
    )


def test_two_officers_saving_together_on_sqlite_wait_for_each_other(
    monkeypatch, tmp_path, django_db_blocker
):
    """Each save reads, then writes, in one transaction. SQLite's deferred transactions could
    not upgrade a read lock and failed at once with "database is locked" (a 500 for 10 of 12
    officers saving together); begun IMMEDIATE, the second waits for the first."""
    import threading
    import time

    from django.db.utils import ConnectionHandler

    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    loaded = _load_settings(monkeypatch, {"DEBUG": "true", "DATABASE_URL": url}, ["manage.py"])
    handlers = [ConnectionHandler({"default": dict(loaded.DATABASES["default"])}) for _ in "ab"]
    with django_db_blocker.unblock():  # a database of the test's own, outside the test one
        with handlers[0]["default"].cursor() as cursor:
            cursor.execute("CREATE TABLE risk (id integer primary key, notes text)")
            cursor.execute("INSERT INTO risk VALUES (1, ''), (2, '')")
        failures = []

        def save(handler, pk):
            conn = handler["default"]
            try:
                # As transaction.atomic begins a transaction on SQLite (the settings' mode).
                conn.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
                with conn.cursor() as cursor:
                    cursor.execute("SELECT notes FROM risk WHERE id = %s", [pk])
                    time.sleep(0.2)  # the other officer reads meanwhile, if it may
                    cursor.execute("UPDATE risk SET notes = 'saved' WHERE id = %s", [pk])
                conn.commit()
            except Exception as exc:  # noqa: BLE001 - any failure is the finding
                failures.append(exc)
            finally:
                conn.close()

        threads = [
            threading.Thread(target=save, args=(h, pk))
            for h, pk in zip(handlers, (1, 2), strict=True)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not failures, failures
