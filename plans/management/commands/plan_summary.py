"""Print every plan's savings figures for scripts and reconciliation.

The figures come from ``dashboards.figures``, the module the pages and exports use.
"""

import json

from django.core.management.base import BaseCommand

from dashboards.figures import plan_totals, slippage_by_year
from plans.models import Plan


class Command(BaseCommand):
    help = "Summarise each plan's planned, achieved and gap figures per financial year."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print a JSON list.")
        parser.add_argument("--authority", help="Only this authority (its slug).")

    def handle(self, *args, **options):
        plans = Plan.objects.select_related("authority").order_by("authority__name", "first_year")
        if options["authority"]:
            plans = plans.filter(authority__slug=options["authority"])
        plans = list(plans)
        totals = plan_totals(plans)
        slippage = slippage_by_year(plans)
        rows = []
        for plan in plans:
            t = totals[plan.pk]
            rows.append(
                {
                    "id": plan.pk,
                    "authority": plan.authority.name,
                    "authority_slug": plan.authority.slug,
                    "code": plan.code,
                    "title": plan.title,
                    "kind": plan.kind,
                    "status": plan.status,
                    "source": plan.source_document,
                    "revises": plan.revises_id,
                    "first_year": plan.first_year,
                    "last_year": plan.last_year,
                    "years": {year: yt.as_json() for year, yt in t.years.items()},
                    "total": t.total.as_json(),
                    "slippage": {y: str(v) for y, v in slippage.get(plan.pk, {}).items()},
                }
            )
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        for row in rows:
            self.stdout.write(f"{row['id']:>4}  {row['authority']}: {row['title']}")
            for year, y in row["years"].items():
                self.stdout.write(
                    f"        {year}  planned {y['planned_low']}–{y['planned_high']}"
                    f"  TBC {y['tbc_lines']}  achieved {y['achieved']}  gap {y['gap_low']}"
                )
