"""Load the seed papers, create one demo user per role per seed authority, and publish each
authority's active plan's as-at month through the month close, so every scrutiny member has a
report to read on a fresh ``make run``.

Running it twice changes nothing (a month already published is left as it is). It refuses to
run with DEBUG off: demo users with a known password must never reach a production database.
"""

import os
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from dashboards import publishing
from plans import services
from plans.models import Commentary, MonthClose, Plan, PublishedReport
from plans.selectors import as_at_month
from recovery import fiscal
from recovery.access import ROLE_LABELS, ROLES
from recovery.models import Authority, User
from recovery.roles import ensure_groups

FIXTURES = Path(settings.BASE_DIR) / "fixtures"
SEED_AUTHORITIES = ("torbay", "barking-dagenham", "telford")
# The plans whose as-at month the seed publishes (the month each dashboard opens at): each
# seed authority's active plan, so every authority's scrutiny member has a report to read.
PUBLISHED_PLANS = (
    ("torbay", "mtfs-2017-21"),
    ("barking-dagenham", "budget-update-2015"),
    ("telford", "cip-2014-15"),
)
DEMO_COMMENTARY = (
    "Demonstration commentary written by the seed (manage.py seed_demo), not the council's: "
    "the month's figures are as the council's paper states them. The director signs off and "
    "publishes the month so that scrutiny members have a report to read and download."
)


class Command(BaseCommand):
    help = (
        "Load the seed plan fixtures, create demo users and publish one demo month "
        "(development only)."
    )

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
            published = [] if options["no_fixtures"] else self.publish_demo_months()
        for line in published:
            self.stdout.write(line)
        self.stdout.write(f"Demo users ({created} new), password from DEMO_PASSWORD:")
        for slug in SEED_AUTHORITIES:
            names = ", ".join(f"{role}-{slug}" for role in ROLES)
            self.stdout.write(f"  {names}")
        self.stdout.write(f"  password: {'demo' if password == 'demo' else '(DEMO_PASSWORD)'}")

    def publish_demo_months(self) -> list[str]:
        return [
            said
            for slug, code in PUBLISHED_PLANS
            if (plan := Plan.objects.filter(authority__slug=slug, code=code).first())
            if (said := self.publish_demo_month(plan, slug))
        ]

    def publish_demo_month(self, plan: Plan, slug: str) -> str:
        """A plan's as-at month taken through the real close: submitted by the finance
        manager, signed off with commentary and published by the director, as the month
        close page would. Nothing is done if the month has left "open" already."""
        year, period = as_at_month(plan)
        label = fiscal.period_label(year, period)
        if PublishedReport.objects.filter(plan=plan, year=year, period=period).exists():
            return f"{plan.code} {label}: already published."
        close = MonthClose.objects.filter(plan=plan, year=year, period=period).first()
        if close is not None and close.state != MonthClose.State.OPEN:
            # Someone took it on by hand: leave their close as it stands.
            return f"{plan.code} {label}: {close.get_state_display().lower()}, left as it is."
        finance = User.objects.get(username=f"finance-{slug}")
        director = User.objects.get(username=f"director-{slug}")
        close = services.submit_month(
            plan=plan,
            year=year,
            period=period,
            user=finance,
            expected_version=close.version if close else None,
        )
        commentary = Commentary.objects.filter(
            plan=plan, year=year, period=period, role=Commentary.Role.DIRECTOR
        ).first()
        close = services.sign_off_month(
            plan=plan,
            year=year,
            period=period,
            user=director,
            expected_version=close.version,
            commentary=commentary.body if commentary else DEMO_COMMENTARY,
            commentary_version=commentary.version if commentary else None,
        )
        report = services.publish_month(
            plan=plan,
            year=year,
            period=period,
            user=director,
            expected_version=close.version,
            render=publishing.render,
            note="Published by the demo seed",
        )
        return f"{plan.code} {label}: published (version {report.number}, PDF and xlsx)."
