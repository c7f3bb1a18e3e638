"""The plans pages. Access goes through recovery.access; figures through plans.figures."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.views.generic import TemplateView, View
from django_tables2 import RequestConfig, SingleTableMixin
from django_tables2.export import ExportMixin

from plans import audit, services
from plans.access import get_plan, plans_for
from plans.figures import latest_achieved, plan_totals, reconcile
from plans.filters import AuditTrailFilter
from plans.forms import PlanForm
from plans.models import Plan
from plans.selectors import deletions, lines_by_year
from plans.tables import AuditTrailTable, PlanSummaryTable
from plans.views.base import (
    PlanRecordMixin,
    RecordDeleteView,
    RecordFormView,
    bound_per_page,
)
from recovery.access import can, edit_flags, may_write, reads_published_only, require

SECTIONS_SHOWN = 20  # narrative sections on the plan's page; the rest are listed


class PlanListView(TemplateView):
    """The user's plans, 25 to a page, each with its savings totals.

    The table is fed a queryset: the database sorts it (title, authority, kind, status) and
    returns the page's 25 rows, and the totals are computed for those plans only, so an
    administrator's list of 500 plans costs what a council's list of five does."""

    template_name = "plans/plan_list.html"

    def get(self, request, *args, **kwargs):
        if reads_published_only(request.user):
            # The list shows live totals; a scrutiny member reads the published reports.
            return redirect("dashboards:published_list")
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        plans = plans_for(self.request.user).order_by(
            "authority__name", "first_year", "title", "pk"
        )
        table = PlanSummaryTable(plans)
        # One authority's plans need no authority column. Asked as "two authorities at
        # most" (the index on the authority stops the scan at the second), not by counting
        # the authorities of every plan in the land.
        authorities = plans.order_by().values_list("authority_id", flat=True).distinct()[:2]
        if len(authorities) <= 1:
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
        sections = list(plan.sections.all()[: SECTIONS_SHOWN + 1])
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
            # A plan's narrative is a few sections; a workbook can hold thousands: the page
            # shows the first and links to the list of all.
            "sections": sections[:SECTIONS_SHOWN],
            "sections_total": (
                len(sections) if len(sections) <= SECTIONS_SHOWN else plan.sections.count()
            ),
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


class AuditTrailView(ExportMixin, SingleTableMixin, TemplateView):
    """The plan's History page: one audit trail of every change to the plan and any of its
    records (``plans.audit``), filtered by kind of record, person and date, paginated, and
    downloadable as xlsx. For those who may see unpublished figures (not scrutiny)."""

    template_name = "plans/audit_trail.html"
    table_class = AuditTrailTable
    table_pagination = {"per_page": 50}
    export_formats = ("xlsx",)

    def dispatch(self, request, *args, **kwargs):
        self.plan = get_plan(request.user, kwargs["pk"], "view", "unpublished")
        return super().dispatch(request, *args, **kwargs)

    def get_table_data(self):
        self.filterset = AuditTrailFilter(
            self.request.GET or None, queryset=Plan.history.none(), plan=self.plan
        )
        return audit.Trail(
            self.plan,
            kinds=audit.selected_kinds(self.filterset),
            narrow=audit.narrowing(self.filterset),
        )

    def get_table(self, **kwargs):
        bound_per_page(self.request)
        return super().get_table(**kwargs)

    def get_export_filename(self, export_format):
        return f"{self.plan.code or f'plan-{self.plan.pk}'}-audit-trail.{export_format}"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        return {
            **context,
            "plan": self.plan,
            "filter": self.filterset,
            "filter_problems": self.filterset.problems(),
            **edit_flags(self.request.user, self.plan),
        }


class PlanDeletionsView(TemplateView):
    """What was deleted from the plan, by whom, when and why, and what went with it; a
    finance manager restores from here."""

    template_name = "plans/deletions.html"

    def get_context_data(self, **kwargs):
        plan = get_plan(self.request.user, kwargs["pk"], "view", "unpublished")
        return {
            **super().get_context_data(**kwargs),
            "plan": plan,
            "rows": deletions(plan),
            "may_restore": may_write(self.request.user, plan)
            and can(self.request.user, "add", "savingsline"),
            **edit_flags(self.request.user, plan),
        }


class RestoreView(View):
    """POST: a finance manager restores a deleted record of the plan, with what was deleted
    with it, from the deleted-records page."""

    def dispatch(self, request, *args, **kwargs):
        # Restoring is a finance manager's, on their own authority's plan, whatever the method.
        get_plan(request.user, kwargs["pk"], "add", "savingsline")
        return super().dispatch(request, *args, **kwargs)

    def post(self, request, pk):
        source = audit.BY_KEY.get(request.POST.get("kind", ""))
        if source is None or source.key in {"plan", "month"}:
            raise Http404("No such kind of record.")
        plan = get_plan(request.user, pk, "add", source.model._meta.model_name)
        history_id = request.POST.get("history_id", "")
        deleted = (
            source.history(plan).filter(history_type="-", history_id=history_id).first()
            if history_id.isdigit()
            else None
        )
        if deleted is None:
            raise Http404("No such deletion in this plan.")
        try:
            restored = services.restore_record(
                model=source.model,
                history_id=deleted.history_id,
                user=request.user,
                reason=request.POST.get("reason", "")[:90],
            )
        except ValidationError as exc:
            messages.error(request, "Not restored: " + " ".join(exc.messages))
        else:
            messages.success(request, f"Restored {source.label.lower()} “{restored}”.")
        return redirect("plans:deletion_list", pk=plan.pk)
