"""Write a plan to a plan workbook: ``manage.py export_plan PLAN_ID FILE.xlsx``.

``--template`` or ``--example`` write the blank template or the worked example instead
(docs/templates/plan-workbook-template.xlsx is made with ``--template``).
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from plans import workbook
from plans.models import Plan


class Command(BaseCommand):
    help = "Export a plan (by id, or authority-slug/plan-code) to an .xlsx plan workbook."

    def add_arguments(self, parser):
        parser.add_argument("plan", nargs="?", help="Plan id, or authority-slug/plan-code.")
        parser.add_argument("file", help="Where to write the .xlsx workbook.")
        group = parser.add_mutually_exclusive_group()
        group.add_argument(
            "--template", action="store_true", help="Write the blank template instead of a plan."
        )
        group.add_argument(
            "--example",
            action="store_true",
            help="Write the template filled with a worked example.",
        )

    def handle(self, *args, plan=None, file=None, template=False, example=False, **options):
        if template or example:
            if plan:
                raise CommandError("Give a plan or --template/--example, not both.")
            data = workbook.template(example=example)
            what = "worked example" if example else "blank template"
        else:
            if not plan:
                raise CommandError("Give the plan to export (its id, or authority/code).")
            found = find_plan(plan)
            data = workbook.export_plan(found)
            what = f"plan {found.pk} ({found.authority.slug}/{found.code})"
        path = Path(file)
        if path.suffix.lower() != ".xlsx":
            raise CommandError(f"{file} should end in .xlsx.")
        try:
            path.write_bytes(data)
        except OSError as exc:
            raise CommandError(f"Cannot write {file}: {exc.strerror}.") from None
        self.stdout.write(f"Wrote the {what} to {file} ({len(data):,} bytes).")


def find_plan(text: str) -> Plan:
    plans = Plan.objects.select_related("authority")
    try:
        if "/" in text:
            slug, code = text.split("/", 1)
            return plans.get(authority__slug=slug, code=code)
        return plans.get(pk=int(text))
    except (Plan.DoesNotExist, ValueError):
        raise CommandError(
            f"There is no plan {text!r}; give its id (see `manage.py "
            "plan_summary`) or authority-slug/plan-code."
        ) from None
