import os
import subprocess
import sys
from pathlib import Path

import pytest
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


def _run(env, args=("manage.py", "check")):
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE"}
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**base, "DJANGO_SETTINGS_MODULE": "recovery.settings", **env},
        timeout=60,
    )


_django_check = _run
PRODUCTION = {"DEBUG": "false", "ALLOWED_HOSTS": "example.org"}


@pytest.mark.parametrize(
    "args",
    [
        ("-c", "import recovery.wsgi"),  # what gunicorn loads
        ("manage.py", "runserver", "--noreload", "127.0.0.1:8099"),
    ],
)
def test_production_refuses_to_serve_without_secret_key(args):
    result = _run(PRODUCTION, args)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_management_commands_that_sign_nothing_run_without_the_key():
    result = _run(PRODUCTION, ("manage.py", "makemigrations", "--check", "--dry-run"))
    assert result.returncode == 0, result.stderr
    result = _run(PRODUCTION, ("manage.py", "seed_demo"))  # but never the demo users
    assert result.returncode != 0 and "refuses to run with DEBUG off" in result.stderr


def test_production_starts_with_secret_key():
    result = _django_check(
        {"DEBUG": "false", "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "example.org"}
    )
    assert result.returncode == 0, result.stderr


def test_bad_boolean_is_refused():
    result = _django_check({"DEBUG": "perhaps"})
    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr
