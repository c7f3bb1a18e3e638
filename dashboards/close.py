"""The month's close and its published reports: the steps (submit, withdraw, return, sign off,
publish, reopen) posted from the dashboard or the plan's months page, and the published
reports that scrutiny members read.

Access: each step needs its permission (``<step>_month``, recovery.access) on a plan of the
user's own authority (else 403; another authority's plan is a 404); a published report needs
``view_publishedreport`` and a plan the user may read. Writes go through plans.services.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.generic import TemplateView, View

from dashboards import publishing, reports
from plans import cache, services
from plans.access import get_plan, plans_for
from plans.forms import CellText
from plans.models import Commentary, MonthClose, PublishedReport
from plans.selectors import (
    as_at_month,
    latest_published,
    month_closes,
    published_reports,
)
from recovery import fiscal
from recovery.access import can, edit_flags, may_write, require, scope
from recovery.templatetags.money import printed_in_k


class StepForm(forms.Form):
    year = forms.CharField(max_length=7)
    period = forms.IntegerField(min_value=1, max_value=12)
    version = forms.IntegerField(min_value=0, required=False)
    reason = CellText(
        label="Reason", max_length=100, required=False, strip=True, widget=forms.TextInput
    )
    commentary = CellText(
        label="Director's commentary", max_length=10_000, required=False, strip=True
    )
    commentary_version = forms.IntegerField(required=False)


def steps_for(user, plan, close, published: bool) -> list[services.Step]:
    """The steps this user may take on this month now (a correction only of a month
    ``published`` before)."""
    if not may_write(user, plan):
        return []
    return [
        step
        for step in services.STEPS.values()
        if close.state in step.sources
        and can(user, step.name, "month")
        and (step.name != "republish" or published)
    ]


# Who took a step is shown by name: the users' names are read, not their whole rows (which
# would put password hashes in the cache).
_NAMES = ("username", "first_name", "last_name")


def month_panel(plan, year: str, period: int) -> dict:
    """The month's close, its commentary by role and its published versions (newest first),
    cached under the plan's data version like its figures: every step of the close, every
    publication (stored with the step that records it) and every commentary is a write
    through plans.services (or the admin) that gives the plan a new data version, so a cached
    panel is never stale. Three queries when it is not cached, none when it is."""

    def build() -> dict:

        users = ("submitted_by", "signed_off_by", "published_by")
        # The month's close, and the year's later ones: a later month submitted, signed off
        # or published holds this month's figures read only (services.closing_month).
        closes = list(
            MonthClose.objects.filter(plan=plan, year=year, period__gte=period)
            .select_related(*users)
            .only(
                *(f.attname for f in MonthClose._meta.concrete_fields),
                *(f"{u}__{name}" for u in users for name in _NAMES),
            )
            .order_by("period")  # no default ordering (which joins the authority)
        )
        close = next((c for c in closes if c.period == period), None) or MonthClose(
            plan_id=plan.pk, year=year, period=period, version=0
        )
        closing = services.closing_month(
            {(year, c.period): c.state for c in closes if c.state != MonthClose.State.OPEN},
            year,
            period,
        )
        commentary = {
            c.role: c
            for c in Commentary.objects.filter(plan=plan, year=year, period=period)
            .only("role", "body", "version")
            .order_by()
        }
        versions = list(
            PublishedReport.objects.filter(plan=plan, year=year, period=period)
            .only(
                "plan_id",
                "year",
                "period",
                "number",
                "published_at",
                "note",
                *(f"published_by__{name}" for name in _NAMES),
            )
            .select_related("published_by")
            .order_by("-number")
        )
        return {
            "close": close,
            "closing": closing,
            "commentary": commentary,
            "versions": versions,
        }

    # Read once a request (the dashboard's commentary form and its close panel both ask).
    read = plan.__dict__.setdefault("_month_panels", {})
    if (year, period) not in read:
        panel = cache.get_or_build(cache.figures_key(plan, "close", year, period), build)
        panel["close"].plan = plan  # the request's own plan object, not a pickled copy
        read[(year, period)] = panel
    return read[(year, period)]


# How a month not yet published stands, as a live report says it.
_UNPUBLISHED = {
    MonthClose.State.OPEN: "is open",
    MonthClose.State.SUBMITTED: "is submitted for the director's sign-off",
    MonthClose.State.SIGNED_OFF: "is signed off but not yet published",
}


def draft_notice(plan, year: str, period: int) -> str:
    """What the live report of a month not yet published says of itself, on the page, in its
    workbook and on every page of its pack, so that unchecked figures are never read as the
    committee's: "" once the month is published (the live report then shows what was). A
    month reopened for a correction says which published version stands meanwhile. Read
    from the month's panel (cached by data version, which every step of the close renews)."""
    panel = month_panel(plan, year, period)
    state, versions = panel["close"].state, panel["versions"]
    if state not in _UNPUBLISHED:
        return ""
    label = fiscal.period_label(year, period)
    if versions:
        stands = versions[0]
        day = timezone.localtime(stands.published_at)
        return (
            f"Draft correction, not published: {label} {_UNPUBLISHED[state]} after its "
            f"version {stands.number}, published on {day.day} {day:%B %Y}. Version "
            f"{stands.number} stays the committee's record until the correction is published."
        )
    return (
        f"Draft, not published: {label} {_UNPUBLISHED[state]}, so its figures may still "
        "change. The committee's record is the report published when the month is closed."
    )


def report_notice(f, changes, heading: str) -> str:
    """What a live report (page, workbook, pack) says of itself: a draft of a month not
    published (``draft_notice``), or a published month whose figures have moved since
    (``publishing.live_notice``); "" when it is the published record."""
    return draft_notice(f.plan, f.sel.year, f.sel.period) or publishing.live_notice(
        f, changes, heading
    )


def close_context(user, plan, year: str, period: int, form=None, step_name="") -> dict:
    """What the month's close panel shows: the state, who took each step and when, the
    published versions, and the forms of the steps the user may take."""
    panel = month_panel(plan, year, period)
    close, versions = panel["close"], panel["versions"]
    return {
        "close": close,
        "close_label": fiscal.period_label(year, period),
        "close_steps": [
            {"step": step, "url": reverse(f"dashboards:month_{step.name}", args=[plan.pk])}
            for step in steps_for(user, plan, close, published=bool(versions))
        ],
        "close_versions": versions,
        # Open, but read only while a later month of the year that reads it is closed.
        "close_held": services.month_lock(None, year, period, panel["closing"])
        if close.state == MonthClose.State.OPEN
        else "",
        "director_commentary": panel["commentary"].get(Commentary.Role.DIRECTOR),
        "step_form": form,
        "step_failed": step_name,
    }


def asked_month(request) -> tuple[str, int] | None:
    """The month in the query string (any financial year, P1..P12), or None."""
    try:
        year = fiscal.parse_year(request.GET.get("year") or "")
    except ValidationError:
        return None
    return fiscal.parse_month(year, request.GET.get("period"), [year], default_period=None)


class MonthsView(TemplateView):
    """A plan's months in the close: the chosen month's panel and every month that has left
    "open", with its published versions."""

    template_name = "dashboards/months.html"

    def get(self, request, *args, form=None, step_name="", month=None, **kwargs):
        self.plan = get_plan(request.user, kwargs["pk"], "view", "monthclose")
        year, period = month or self.month()
        context = self.get_context_data(
            **kwargs, **close_context(request.user, self.plan, year, period, form, step_name)
        )
        return self.render_to_response(context, status=400 if form is not None else 200)

    def month(self) -> tuple[str, int]:
        return asked_month(self.request) or as_at_month(self.plan)

    def get_context_data(self, **kwargs):
        plan = self.plan
        versions = list(published_reports(plans_for(self.request.user).filter(pk=plan.pk)))
        # Each month beside the version that stands for it (newest first in ``versions``): a
        # month reopened for a correction is open again, yet its published report stands.
        stands = {}
        for v in versions:
            stands.setdefault((v.year, v.period), v)
        return {
            **super().get_context_data(**kwargs),
            "plan": plan,
            **edit_flags(self.request.user, plan),
            "months": [(m, stands.get((m.year, m.period))) for m in month_closes(plan)],
            "versions": versions,
        }


class StepView(View):
    """POST one step of the close for one month; back to where it was posted from."""

    step = ""

    def dispatch(self, request, *args, **kwargs):
        # Whatever the method: another authority's plan is a 404, a role that may not take
        # this step a 403, before any 405.
        self.plan = get_plan(request.user, kwargs["pk"], self.step, "month")
        return super().dispatch(request, *args, **kwargs)

    def post(self, request, pk):
        plan = self.plan
        form = StepForm(request.POST)
        if not form.is_valid():
            return self.failed(request, plan, form)
        data = form.cleaned_data
        try:
            self.take(plan, data)
        except services.StaleEdit as stale:
            form.add_error(None, self.stale_message(stale.current))
            return self.failed(request, plan, form)
        except ValidationError as exc:
            by_field = exc.error_dict if hasattr(exc, "error_dict") else {None: exc.messages}
            for field, errors in by_field.items():
                form.add_error(field if field in form.fields else None, errors)
            return self.failed(request, plan, form)
        label = fiscal.period_label(data["year"], data["period"])
        messages.success(request, self.done_message(label))
        return redirect(self.back(plan, data["year"], data["period"]))

    def stale_message(self, close) -> str:
        """Why a step was refused on a stale version, naming who moved the month: the same
        officer posting twice (a second click, another tab, the back button) is not told that
        someone else did."""
        now = close.get_state_display().lower()
        last = close.history.order_by("-history_date", "-history_id").first()
        if last is not None and last.history_user_id == self.request.user.pk:
            return (
                f"You have already moved this month on (from another tab or a second click): "
                f"it is now {now}. Nothing more was done."
            )
        return (
            f"Someone else moved this month on while you were looking: it is now {now}. "
            "Check it and try again."
        )

    def take(self, plan, data):
        return services.take_step(
            self.step,
            plan=plan,
            year=data["year"],
            period=data["period"],
            user=self.request.user,
            expected_version=data["version"],
            reason=data["reason"],
        )

    def done_message(self, label: str) -> str:
        return {
            "submit": f"Submitted {label} for the director's sign-off.",
            "withdraw": f"Withdrew the submission of {label}: its figures can be changed again.",
            "return": f"Returned {label} to finance.",
            "reopen": f"Reopened {label} for a correction; its published report stays "
            "published until a new version replaces it. Correct the figures, then publish the "
            "correction.",
        }[self.step]

    def back(self, plan, year: str, period: int) -> str:
        where = self.request.POST.get("back")
        name = "dashboards:plan_dashboard" if where == "dashboard" else "dashboards:months"
        return f"{reverse(name, args=[plan.pk])}?year={year}&period={period}#month-close"

    def failed(self, request, plan, form):
        """Show the months page for the month with the step's form and its errors."""
        year = form.data.get("year", "")
        try:
            fiscal.validate_year(year)
            period = int(form.data.get("period", ""))
            month = (year, period) if 1 <= period <= 12 else None
        except (ValidationError, ValueError):
            month = None
        view = MonthsView()
        view.setup(request, pk=plan.pk)
        if month is None:
            messages.error(request, "Choose the month: its year or period is missing or wrong.")
        return view.get(request, pk=plan.pk, form=form, step_name=self.step, month=month)


class SubmitView(StepView):
    step = "submit"


class WithdrawView(StepView):
    step = "withdraw"


class ReturnView(StepView):
    step = "return"


class ReopenView(StepView):
    step = "reopen"


class SignOffView(StepView):
    step = "signoff"

    def take(self, plan, data):
        return services.sign_off_month(
            plan=plan,
            year=data["year"],
            period=data["period"],
            user=self.request.user,
            expected_version=data["version"],
            commentary=data["commentary"],
            commentary_version=data["commentary_version"],
            reason=data["reason"],
        )

    def done_message(self, label):
        return f"Signed off {label} with the director's commentary."


class PublishView(StepView):
    step = "publish"

    def take(self, plan, data):
        self.report = services.publish_month(
            plan=plan,
            year=data["year"],
            period=data["period"],
            user=self.request.user,
            expected_version=data["version"],
            note=data["reason"],
            render=publishing.render,
            step_name=self.step,
        )
        return self.report

    def done_message(self, label):
        if getattr(self.report, "unchanged", False):
            return (
                f"No figure of {label} differs from version {self.report.number}, so no new "
                f"version was published: {label} is published again, and version "
                f"{self.report.number} stands."
            )
        return (
            f"Published the report for {label} (version {self.report.number}). Scrutiny "
            "members can read it now."
        )


class RepublishView(PublishView):
    """The correction of a published month, published as its next version."""

    step = "republish"


# --------------------------------------------------------------------------------------------
# Published reports


def published_for(user):
    require(user, "view", "publishedreport")
    return scope(PublishedReport.objects.all(), user)


def get_published(user, pk) -> PublishedReport:
    report = published_for(user).select_related("plan", "plan__authority").filter(pk=pk).first()
    if report is None:
        raise Http404("No such published report.")
    return report


class PublishedListView(TemplateView):
    """Every published report of the plans the user may read, newest month first."""

    template_name = "dashboards/published_list.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        require(user, "view", "publishedreport")
        plans = plans_for(user)
        plan_id = self.request.GET.get("plan", "")
        if plan_id.isdigit():
            plans = plans.filter(pk=plan_id)
        rows = list(published_reports(plans))
        latest = {}
        for r in rows:
            latest.setdefault((r.plan_id, r.year, r.period), r.number)
        by_plan: dict = {}
        for r in rows:
            r.is_latest = latest[(r.plan_id, r.year, r.period)] == r.number
            by_plan.setdefault(r.plan, []).append(r)
        return {
            **super().get_context_data(**kwargs),
            "by_plan": list(by_plan.items()),
            "one_plan": plan_id.isdigit(),
        }


class PublishedReportView(TemplateView):
    """A published report as it was published: the stored figures, never the live ones."""

    template_name = "dashboards/published_report.html"

    def render_to_response(self, context, **kwargs):
        response = super().render_to_response(context, **kwargs)
        with printed_in_k():  # each figure with its £k form, for the printout
            response.render()
        return response

    def get_context_data(self, **kwargs):
        report = get_published(self.request.user, kwargs["pk"])
        versions = list(
            PublishedReport.objects.filter(plan=report.plan, year=report.year, period=report.period)
            .defer("pdf", "xlsx", "figures", "changes")
            .select_related("published_by")
            .order_by("-number")
        )
        return {
            **super().get_context_data(**kwargs),
            "report": report,
            "plan": report.plan,
            "r": publishing.readable(report.figures),
            "versions": versions,
            "newer": versions[0] if versions[0].number != report.number else None,
            "asked_for": self.request.GET.get("asked", ""),
        }


class PublishedFileView(View):
    """A published report's stored committee pack or workbook, as generated then."""

    kind = "pdf"

    def get(self, request, pk):
        report = get_published(request.user, pk)
        return stored_file(report, self.kind)


class PublishedPdfView(PublishedFileView):
    kind = "pdf"


class PublishedXlsxView(PublishedFileView):
    kind = "xlsx"


def stored_file(report: PublishedReport, kind: str) -> HttpResponse:
    body = PublishedReport.objects.values_list(kind, flat=True).get(pk=report.pk)
    content_type = "application/pdf" if kind == "pdf" else reports.XLSX_TYPE
    response = HttpResponse(bytes(body), content_type=content_type)
    name = publishing.filename(report, kind)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def published_instead(request, plan_pk: int, kind: str = "html"):
    """What a reader who sees only published reports gets for a live report page: the latest
    published version of the month asked for (or of the latest published month). A month
    that is not published is never shown: the page says so and shows the latest published
    instead; a download of it is never another month's file under its name: the reader is
    taken to the latest published report's page, which says so."""
    plan = get_plan(request.user, plan_pk, "view", "publishedreport")
    asked = asked_month(request)
    report = latest_published(plan, *asked) if asked else None
    if kind != "html":
        if asked is None:
            report = latest_published(plan)
        if report is not None:
            return stored_file(report, kind)
    if report is None:
        latest = latest_published(plan)
        if latest is None:
            return redirect(f"{reverse('dashboards:published_list')}?plan={plan.pk}")
        if asked is not None:
            messages.info(
                request,
                f"The report for {fiscal.period_label(*asked)} has not been published; this "
                "is the latest published report.",
            )
        report = latest
    return redirect("dashboards:published_report", pk=report.pk)
