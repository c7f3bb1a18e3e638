"""The plans pages. Access goes through recovery.access; figures through plans.figures."""

from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.views.generic import TemplateView
from django_tables2 import RequestConfig

from plans.access import get_plan, plans_for
from plans.figures import latest_achieved, plan_totals, reconcile
from plans.forms import PlanForm
from plans.models import Plan
from plans.selectors import deletions, lines_by_year
from plans.tables import PlanSummaryTable
from plans.views.base import (
    PlanRecordMixin,
    RecordDeleteView,
    RecordFormView,
    RecordHistoryView,
    bound_per_page,
)
from recovery.access import can, edit_flags, may_write, require


class PlanListView(TemplateView):
    """The user's plans, 25 to a page, each with its savings totals.

    The table is fed a queryset: the database sorts it (title, authority, kind, status) and
    returns the page's 25 rows, and the totals are computed for those plans only, so an
    administrator's list of 500 plans costs what a council's list of five does."""

    template_name = "plans/plan_list.html"

    def get_context_data(self, **kwargs):
        plans = plans_for(self.request.user).order_by(
            "authority__name", "first_year", "title", "pk"
        )
        table = PlanSummaryTable(plans)
        if plans.values("authority_id").distinct().count() <= 1:
            table.exclude = ("authority",)
        bound_per_page(self.request)
        RequestConfig(self.request, paginate={"per_page": 25}).configure(table)
        table.set_totals()
        return {
            **super().get_context_data(**kwargs),
            "table": table,
            "plan_count": table.paginator.count,
        }


class PlanDetailView(TemplateView):
    template_name = "plans/plan_detail.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        plan = get_plan(user, kwargs["pk"])
        totals = plan_totals([plan])[plan.pk]
        years, rows = lines_by_year(plan)
        latest = latest_achieved([plan])
        for row in rows:
            row.latest = latest.get(row.line.pk)
        counting = [r for r in rows if r.line.counts_towards_target]
        outside = [r for r in rows if not r.line.counts_towards_target]
        return {
            **super().get_context_data(**kwargs),
            "plan": plan,
            "years": years,
            "rows": counting,
            "outside_rows": outside,
            "totals": totals,
            "year_totals": [totals.years.get(y) for y in years],
            "reconciliation": reconcile(plan, totals=totals),
            "discrepancies": plan.discrepancies.select_related("line").order_by("key"),
            "sections": plan.sections.all(),
            "revisions": Plan.objects.filter(revises=plan).only("pk", "title"),
            "may_change_plan": may_write(user, plan) and can(user, "change", "plan"),
            "may_delete_plan": may_write(user, plan) and can(user, "delete", "plan"),
            **edit_flags(user, plan),
        }


class PlanAsRecord:
    """The plan's own pages: the plan is the record (``pk``), not its parent (``plan_pk``)."""

    model = Plan
    url_name = "plan"

    def dispatch(self, request, *args, **kwargs):
        self.plan = get_plan(request.user, kwargs["pk"], self.action, "plan")
        return super(PlanRecordMixin, self).dispatch(request, *args, **kwargs)

    def get_queryset(self):
        return plans_for(self.request.user)

    def url(self, kind, pk=None):
        if kind in {"list", "create"}:
            return reverse("plans:plan_list" if kind == "list" else "plans:plan_create")
        return reverse(f"plans:plan_{kind}", args=[pk])


class PlanFormView(PlanAsRecord, RecordFormView):
    """Create a plan for the user's authority, or edit one."""

    form_class = PlanForm

    def dispatch(self, request, *args, **kwargs):
        if "pk" in kwargs:
            return super().dispatch(request, *args, **kwargs)
        require(request.user, "add", "plan")
        if request.user.authority_id is None:
            raise PermissionDenied("Only an officer of an authority can create its plans.")
        self.plan = Plan(authority=request.user.authority)
        return super(PlanRecordMixin, self).dispatch(request, *args, **kwargs)

    def get_object(self):
        return self.plan


class PlanDeleteView(PlanAsRecord, RecordDeleteView):
    pass


class PlanHistoryView(PlanAsRecord, RecordHistoryView):
    pass


class PlanDeletionsView(TemplateView):
    """What was deleted from the plan, by whom, when and why."""

    template_name = "plans/deletions.html"

    def get_context_data(self, **kwargs):
        plan = get_plan(self.request.user, kwargs["pk"])
        return {
            **super().get_context_data(**kwargs),
            "plan": plan,
            "rows": deletions(plan),
            **edit_flags(self.request.user, plan),
        }
