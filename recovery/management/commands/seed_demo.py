"""Load the seed papers and create one demo user per role per seed authority.

Running it twice changes nothing. It refuses to run with DEBUG off: demo users with a known
password must never reach a production database.
"""

import os
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from recovery.access import ROLE_LABELS, ROLES
from recovery.models import Authority, User
from recovery.roles import ensure_groups

FIXTURES = Path(settings.BASE_DIR) / "fixtures"
SEED_AUTHORITIES = ("torbay", "barking-dagenham", "telford")


class Command(BaseCommand):
    help = "Load the seed plan fixtures and create demo users (development only)."

    def add_arguments(self, parser):
        parser.add_argument("--no-fixtures", action="store_true", help="Only create users.")

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError(
                "seed_demo refuses to run with DEBUG off: demo users with a known password "
                "must not be created in production."
            )
        password = os.environ.get("DEMO_PASSWORD", "demo")
        with transaction.atomic():
            if not options["no_fixtures"]:
                files = sorted(str(p) for p in FIXTURES.glob("*.json"))
                call_command("loaddata", *files, verbosity=0)
                self.stdout.write(f"Loaded {len(files)} seed fixtures.")
            groups = ensure_groups()
            created = 0
            for slug in SEED_AUTHORITIES:
                authority = Authority.objects.get(slug=slug)
                for role in ROLES:
                    username = f"{role}-{slug}"
                    user, was_created = User.objects.get_or_create(
                        username=username,
                        defaults={
                            "authority": authority,
                            "first_name": ROLE_LABELS[role],
                            "last_name": f"({authority.name})",
                        },
                    )
                    if was_created or not user.check_password(password):
                        user.set_password(password)
                        user.save()
                    if user.authority_id != authority.pk:
                        user.authority = authority
                        user.save(update_fields=["authority"])
                    if set(user.groups.all()) != {groups[role]}:
                        user.groups.set([groups[role]])
                    created += was_created
        self.stdout.write(f"Demo users ({created} new), password from DEMO_PASSWORD:")
        for slug in SEED_AUTHORITIES:
            names = ", ".join(f"{role}-{slug}" for role in ROLES)
            self.stdout.write(f"  {names}")
        self.stdout.write(f"  password: {'demo' if password == 'demo' else '(DEMO_PASSWORD)'}")
