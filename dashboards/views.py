"""The read side: plan dashboard, authority overview, scrutiny report and its workbook.

Access goes through recovery.access (another authority's plan is a 404); every figure comes
from plans.figures, every chart from dashboards.charts. No view here changes anything.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.views.generic import TemplateView, View

from dashboards import charts, reports
from plans import figures as fg
from plans.access import get_plan, plans_for
from recovery import fiscal

PERIOD_CHOICES = [(p, f"P{p} {fiscal.MONTH_ABBR[p - 1]}") for p in fg.MONTHS]


def selection(request, plan) -> tuple[list[str], fg.Selection, bool]:
    """The year and period asked for in the query string, else the plan's default. Returns
    (years offered, selection, whether the request asked for something unusable)."""
    years, default = fg.plan_calendar(plan)
    raw_year, raw_period = request.GET.get("year"), request.GET.get("period")
    if not raw_year and not raw_period:
        return years, default, False
    try:
        year = fiscal.parse_year(raw_year) if raw_year else default.year
        period = int(raw_period) if raw_period else None
    except (ValidationError, ValueError):
        return years, default, True
    if period is None:
        period = default.period if year == default.year else fg.period_for_year(plan, year)
    if year not in years or not 1 <= period <= 12:
        return years, default, True
    return years, fg.Selection(year, period), False


class PlanPageMixin:
    """Loads the plan (404 outside the user's authority) and its figures for the period."""

    def plan_context(self):
        plan = get_plan(self.request.user, self.kwargs["pk"])
        years, sel, invalid = selection(self.request, plan)
        figures = fg.plan_figures(plan, sel)
        return {
            "plan": plan,
            "f": figures,
            "sel": sel,
            "years": years,
            "periods": PERIOD_CHOICES,
            "invalid_selection": invalid,
            "thresholds": fg.forecast_thresholds(),
            "summary": reports.summary_rows(figures),
            "month_rows": figures.months,
        }


class PlanDashboardView(PlanPageMixin, TemplateView):
    template_name = "dashboards/plan_dashboard.html"

    def get_context_data(self, **kwargs):
        context = {**super().get_context_data(**kwargs), **self.plan_context()}
        context["charts"] = charts.dashboard_charts(context["f"])
        return context


class ReportView(PlanPageMixin, TemplateView):
    template_name = "dashboards/report.html"

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            **self.plan_context(),
            "glossary": reports.GLOSSARY,
        }


class ReportWorkbookView(PlanPageMixin, View):
    def get(self, request, *args, **kwargs):
        context = self.plan_context()
        f = context["f"]
        response = HttpResponse(reports.report_workbook(f), content_type=reports.XLSX_TYPE)
        name = reports.filename(f)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class OverviewView(TemplateView):
    template_name = "dashboards/overview.html"

    def get_context_data(self, **kwargs):
        plans = list(
            plans_for(self.request.user).order_by("authority__name", "first_year", "title")
        )
        overview = fg.authority_overview(plans)
        authorities = {}
        for s in overview.summaries:
            authorities.setdefault(s.plan.authority, []).append(s)
        return {
            **super().get_context_data(**kwargs),
            "overview": overview,
            "authorities": list(authorities.items()),
        }
