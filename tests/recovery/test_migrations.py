"""The migrations themselves, run on an empty database of their own.

The suite's test databases are made from the models (``--nomigrations`` in pyproject.toml):
each pytest worker used to run every migration first, which cost it 10-50 s on the two-core
machine. This test runs them all, in a process of its own, on a new database of the same
engine as the suite's (a file for SQLite; a database made and dropped here for PostgreSQL),
and then checks that the models need no migration beyond them."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

from recovery.access import ROLES

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "recovery_migrations_"


@pytest.fixture
def empty_database(tmp_path):
    """The URL of a new, empty database of the suite's engine; dropped afterwards (and any
    left by a run that was killed, first)."""
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    name = f"{PREFIX}{uuid.uuid4().hex[:12]}"
    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [PREFIX + "%"])
        for (stale,) in cursor.fetchall():
            cursor.execute(f'DROP DATABASE IF EXISTS "{stale}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    # The suite's own URL with the new database's name: credentials as they were given.
    url = urlsplit(os.environ["DATABASE_URL"])
    try:
        yield urlunsplit(url._replace(path=f"/{name}"))
    finally:
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# Run in the new database's own process: every migration, then the models against them.
SCRIPT = """
import django
from django.core.management import call_command
django.setup()
call_command("migrate", interactive=False, verbosity=0)
from django.contrib.auth.models import Group
print("groups:", sorted(Group.objects.values_list("name", flat=True)))
call_command("makemigrations", check=True, dry_run=True, verbosity=1)
"""


@pytest.mark.django_db
def test_every_migration_runs_on_an_empty_database_and_leaves_nothing_to_migrate(
    empty_database,
):
    env = {
        **os.environ,
        "DATABASE_URL": empty_database,
        "DEBUG": "true",
        "DJANGO_SETTINGS_MODULE": "recovery.settings",
    }
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    # The roles' groups are made once the migrations have run (recovery.apps).
    groups = next(line for line in run.stdout.splitlines() if line.startswith("groups:"))
    assert groups == f"groups: {sorted(ROLES)}", groups
