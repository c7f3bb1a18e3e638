"""Benchmark plan workbook import and export against openpyxl alone.

Two plans, in a throwaway SQLite database, each timed beside openpyxl alone reading
(read-only, values) and writing the same cells:

- a workbook of 5,000 savings lines with an amount in each of 4 years: imported as a new plan,
  then that plan exported;
- the scale benchmark's plan of 2,000 lines x 4 years with monthly progress (96,000 progress
  entries, ``scale_benchmark.build_big_plan``): exported, then the export imported as a new
  plan.

    make benchmark
    DEBUG=true .venv/bin/python docs/benchmarks/workbook_benchmark.py --lines 1000 --repeat 3
    DEBUG=true .venv/bin/python docs/benchmarks/workbook_benchmark.py --big-lines 0  # first only

A script, not a test: timings depend on the machine. Times are the process's CPU time
(the database is SQLite, in process), so other work on a busy machine barely moves the ratios.
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # scale_benchmark's plan builder


def setup_django(db_path: Path) -> None:
    # Never the project's db.sqlite3 nor DATABASE_URL: a database of our own, thrown away.
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recovery.settings")
    import django
    from django.conf import settings

    django.setup()
    settings.DEBUG = False  # no query log growing through 25,000 inserts
    settings.WORKBOOK_MAX_BYTES = max(settings.WORKBOOK_MAX_BYTES, 50 * 1024 * 1024)
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def build_content(lines: int, years: list[str]):
    from decimal import Decimal

    from plans.workbook import resources as s
    from plans.workbook.writer import Content
    from recovery.money import Amount

    statuses = ["proposed", "approved", "in_delivery", "delivered", "slipped"]
    rows = []
    for i in range(lines):
        amounts = {}
        for j, year in enumerate(years):
            k = (i + j) % 20
            if k == 0:
                amounts[year] = Amount.tbc()
            elif k == 1:
                amounts[year] = Amount.range(Decimal(50_000), Decimal(600_000))
            else:
                amounts[year] = Amount.point(Decimal(1_000 * (i % 500 + 1) + j * 250))
        rows.append(
            {
                "reference": f"BEN/{i + 1:05d}",
                "workstream": f"Workstream {i % 12 + 1}",
                "title": f"Savings line {i + 1}",
                "description": "Benchmark line " * 4,
                "owner": "Head of Service",
                "category": "placements",
                "status": statuses[i % len(statuses)],
                "rag": ["green", "amber", "red"][i % 3],
                "in_revenue_budget": i % 2 == 0,
                "recurrence": "recurring",
                "counts_towards_target": True,
                "order": i + 1,
                "amounts": amounts,
            }
        )
    plan = {
        "authority": "benchmark",
        "code": "benchmark-plan",
        "title": "Benchmark plan",
        "kind": "mtfs",
        "first_year": years[0],
        "last_year": years[-1],
        "status": "active",
    }
    return Content(plan=plan, years=years, sheets={s.LINES.name: rows})


def openpyxl_write(data_rows: list[list]) -> float:
    from openpyxl import Workbook

    gc.collect()
    start = time.process_time()
    wb = Workbook()
    ws = wb.active
    for row in data_rows:
        ws.append(row)
    wb.save(io.BytesIO())
    return time.process_time() - start


def openpyxl_read(data: bytes) -> tuple[float, list[list]]:
    from openpyxl import load_workbook

    gc.collect()
    start = time.process_time()
    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    rows = []
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            rows.append(list(row))
    wb.close()
    return time.process_time() - start, rows


def timed(fn, *args, **kwargs):
    gc.collect()  # each step starts from a collected heap, the bare openpyxl steps too
    start = time.process_time()
    result = fn(*args, **kwargs)
    return time.process_time() - start, result


def report(best: dict[str, float]) -> None:
    width = max(len(k) for k in best)
    for name, seconds in best.items():
        print(f"  {name:<{width}}  {seconds:7.2f} s")
    print()
    read_ratio = best["import total"] / best["openpyxl alone: read"]
    write_ratio = best["export"] / best["openpyxl alone: write"]
    print(f"  import / openpyxl read   {read_ratio:5.1f}x  (target 2x)")
    print(f"  export / openpyxl write  {write_ratio:5.1f}x  (target 1.5x)")


def big_plan(lines: int, repeat: int) -> None:
    """The scale benchmark's large plan, with monthly progress: exported, and that export
    imported as a new plan."""
    import resource

    from scale_benchmark import build_big_plan

    from plans import workbook
    from plans.models import Plan
    from plans.workbook.parser import parse, sheet_rows_wanted
    from plans.workbook.reader import read_workbook

    plan, entries = build_big_plan(lines)
    best: dict[str, float] = {}

    def keep(name, seconds):
        best[name] = min(best.get(name, seconds), seconds)

    for _ in range(repeat):
        Plan.objects.exclude(pk=plan.pk).delete()
        Plan.objects.filter(pk=plan.pk).update(code="big-mtfs")
        export_s, data = timed(workbook.export_plan, plan)
        raw_read_s, rows = openpyxl_read(data)
        keep("openpyxl alone: read", raw_read_s)
        keep("openpyxl alone: write", openpyxl_write(rows))
        del rows
        keep("export", export_s)
        Plan.objects.filter(pk=plan.pk).update(code="exported")  # the export is a new plan
        read_s, raw = timed(read_workbook, data, wanted=sheet_rows_wanted)
        parse_s, parsed = timed(parse, raw)
        import_s, (changes, saved) = timed(workbook.import_parsed, parsed, filename="big.xlsx")
        if not saved:
            raise SystemExit(
                "The large plan's export did not import:\n"
                + "\n".join(str(p) for p in changes.problems[:20])
            )
        keep("import: read and check the file", read_s)
        keep("import: find sheets and columns", parse_s)
        keep("import: read cells, check, save (one transaction)", import_s)
        keep("import total", read_s + parse_s + import_s)
        del raw, parsed, changes
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"The {lines:,}-line plan with monthly progress ({entries:,} progress entries; "
        f"{len(data) / 1024 / 1024:,.1f} MB workbook; best of {repeat}; the process's peak "
        f"memory {peak:,.0f} MB)."
    )
    print()
    report(best)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=5_000)
    parser.add_argument(
        "--big-lines", type=int, default=2_000, help="The plan with progress; 0 to leave out."
    )
    parser.add_argument("--repeat", type=int, default=1, help="Runs; the best time is shown.")
    args = parser.parse_args()
    years = ["2017/18", "2018/19", "2019/20", "2020/21"]
    with tempfile.TemporaryDirectory(prefix="workbook-benchmark-") as tmp:
        setup_django(Path(tmp) / "benchmark.sqlite3")

        from plans import workbook
        from plans.models import Plan, PlannedAmount
        from plans.workbook.parser import parse, sheet_rows_wanted
        from plans.workbook.reader import read_workbook
        from plans.workbook.writer import write_workbook
        from recovery.models import Authority

        Authority.objects.get_or_create(slug="benchmark", defaults={"name": "Benchmark Council"})
        content = build_content(args.lines, years)
        build_s, data = timed(write_workbook, content)
        best: dict[str, float] = {}

        def keep(name, seconds):
            best[name] = min(best.get(name, seconds), seconds)

        for _ in range(args.repeat):
            Plan.objects.filter(code="benchmark-plan").delete()
            # openpyxl alone first, on a heap holding no earlier run's results: each step is
            # timed from the same state (see ``timed``).
            raw_read_s, rows = openpyxl_read(data)
            keep("openpyxl alone: read", raw_read_s)
            keep("openpyxl alone: write", openpyxl_write(rows))
            del rows
            read_s, raw = timed(read_workbook, data, wanted=sheet_rows_wanted)
            parse_s, parsed = timed(parse, raw)
            import_s, (changes, saved) = timed(
                workbook.import_parsed, parsed, filename="benchmark.xlsx"
            )
            if not saved:
                raise SystemExit(
                    "The benchmark workbook did not import:\n"
                    + "\n".join(str(p) for p in changes.problems[:20])
                )
            plan = changes.plan
            keep("import: read and check the file", read_s)
            keep("import: find sheets and columns", parse_s)
            keep("import: read cells, check, save (one transaction)", import_s)
            keep("import total", read_s + parse_s + import_s)
            del raw, parsed, changes
            export_s, exported = timed(workbook.export_plan, plan)
            keep("export", export_s)
        saved = plan.lines.count(), PlannedAmount.objects.filter(line__plan=plan).count()
        print(
            f"Plan workbook benchmark: {args.lines:,} savings lines x {len(years)} years "
            f"({len(data) / 1024:,.0f} KB workbook, built in {build_s:.2f} s; saved "
            f"{saved[0]:,} lines and {saved[1]:,} planned amounts; best of {args.repeat})."
        )
        print(f"Export: {len(exported) / 1024:,.0f} KB.")
        print()
        report(best)
        if args.big_lines:
            print()
            big_plan(args.big_lines, args.repeat)


if __name__ == "__main__":
    main()
