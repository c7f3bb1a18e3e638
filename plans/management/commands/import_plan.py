"""Import a plan workbook: ``manage.py import_plan FILE.xlsx [--into PLAN_ID]``.

Without ``--into`` the workbook makes a new plan for the authority its Plan sheet names (which
must exist); with it, the workbook updates that plan, matching savings lines by reference. All
or nothing: any problem and nothing is saved, and every problem is printed as
``Sheet!C5 (Header): message``.
"""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from plans import workbook
from plans.management.commands.export_plan import find_plan
from plans.workbook.resources import CREATE, DELETE, UPDATE


class Command(BaseCommand):
    help = "Import an .xlsx plan workbook as a new plan, or --into an existing one."

    def add_arguments(self, parser):
        parser.add_argument("file", help="The .xlsx plan workbook.")
        parser.add_argument(
            "--into", metavar="PLAN_ID", help="Update this plan (id, or authority-slug/plan-code)."
        )
        parser.add_argument("--user", help="Username recorded in the history as the importer.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check the workbook and list the changes; save nothing.",
        )

    def handle(self, *args, file, into=None, user=None, dry_run=False, **options):
        path = Path(file)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from None
        plan = find_plan(into) if into else None
        importer = None
        if user:
            try:
                importer = get_user_model().objects.get(username=user)
            except get_user_model().DoesNotExist:
                raise CommandError(f"There is no user {user!r}.") from None
        try:
            parsed = workbook.read(data)
        except workbook.WorkbookRejected as exc:
            self.fail(path.name, exc.problems)
        if dry_run:
            changes, saved = workbook.changes_for(parsed, into=plan, user=importer), False
        else:
            changes, saved = workbook.import_parsed(
                parsed, filename=path.name, user=importer, into=plan
            )
        for warning in changes.warnings:
            self.stderr.write(f"Note: {warning}")
        if changes.problems:
            self.fail(path.name, changes.problems)
        for c in changes.counts():
            if c.create or c.update or c.delete:
                self.stdout.write(
                    f"  {c.sheet}: {c.create} new, {c.update} changed, "
                    f"{c.delete} removed, {c.same} unchanged"
                )
        for c in changes.counts():
            if c.kept:  # an update never deletes what the workbook leaves out; it says so
                names = changes.kept.get(c.sheet, (0, []))[1]
                more = f" and {c.kept - len(names)} more" if names and c.kept > len(names) else ""
                which = f" ({', '.join(names)}{more})" if names else ""
                self.stdout.write(
                    f"  {c.sheet}: {c.kept} in the plan but not in the workbook{which}, kept as "
                    f"{'they are' if c.kept != 1 else 'it is'}"
                )
        if options["verbosity"] > 1:
            for rc in changes.of(CREATE, UPDATE, DELETE):
                details = "; ".join(f"{ch.label}: {ch.old} -> {ch.new}" for ch in rc.changes)
                self.stdout.write(f"    {rc.action} {rc.sheet}: {rc.label} {details}".rstrip())
        if dry_run:
            if not changes.has_changes:
                self.stdout.write(
                    "The workbook matches the plan: importing it would change nothing."
                )
            self.stdout.write("Dry run: nothing saved.")
            return
        if not changes.has_changes:
            self.stdout.write("The workbook matches the plan: nothing to import.")
            return
        result = changes.plan
        verb = "Created" if changes.creating else "Updated"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} plan {result.pk}: {result.authority.slug}/{result.code} ({result.title})."
            )
        )

    def fail(self, name, problems):
        for problem in problems:
            self.stderr.write(str(problem))
        total = workbook.Problem.total(problems)
        raise CommandError(
            f"{name} was not imported: {total:,} problem{'s' if total != 1 else ''} "
            f"({'listed above' if total == len(problems) else 'the first listed above'}). "
            "Nothing was saved."
        )
