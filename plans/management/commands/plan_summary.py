"""Print every plan's savings figures for scripts and reconciliation.

The figures come from ``plans.figures``, the module the pages and exports use.
"""

import json

from django.core.management.base import BaseCommand

from plans.figures import Selection, plan_figures, plan_totals, slippage_by_year
from plans.models import PaperDiscrepancy, Plan
from plans.selectors import as_at_month


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
        discrepancies: dict[int, list[dict]] = {}
        for d in PaperDiscrepancy.objects.filter(plan__in=plans).order_by("key"):
            discrepancies.setdefault(d.plan_id, []).append(
                {
                    "key": d.key,
                    "subject": d.subject,
                    "year": d.year or None,
                    "first": d.first_text,
                    "first_where": d.first_where,
                    "second": d.second_text,
                    "second_where": d.second_where,
                    "uses": d.used_text or None,
                }
            )
        for plan in plans:
            t = totals[plan.pk]
            year, period = as_at_month(plan)
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
                    # Every figure at the month the pages open on (the as-at rule).
                    "as_at": plan_figures(plan, Selection(year, period)).as_json(),
                    "savings_start": plan.savings_start.isoformat() if plan.savings_start else None,
                    "discrepancies": discrepancies.get(plan.pk, []),
                }
            )
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        for row in rows:
            self.stdout.write(f"{row['id']:>4}  {row['authority']}: {row['title']}")
            for year, y in row["years"].items():
                self.stdout.write(
                    f"        {year}  planned {y['planned_low'] or 'none'}"
                    f"–{y['planned_high'] or 'none'}"
                    f"  TBC {y['tbc_lines']}  achieved {y['achieved'] or 'not reported'}"
                    f"  gap {y['gap_low'] or 'not known'}"
                )
