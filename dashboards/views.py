"""The read side: plan dashboard, authority overview, scrutiny report and its workbook.

Access goes through recovery.access (another authority's plan is a 404); every figure comes
from plans.figures, every chart from dashboards.charts. Scrutiny members, who read published
reports only, get the published version of the dashboard, report and downloads
(``dashboards.close``). Only the commentary post changes anything here.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.generic import TemplateView, View

from dashboards import charts, close, pack, publishing, reports
from plans import cache, services
from plans import figures as fg
from plans.access import get_plan, plans_for
from plans.forms import CellText
from plans.models import Commentary
from recovery import fiscal
from recovery.access import DIRECTOR, FINANCE, SCRUTINY, edit_flags, reads_published_only, role_of
from recovery.templatetags.money import printed_in_k

PERIOD_CHOICES = [(p, f"P{p} {fiscal.MONTH_ABBR[p - 1]}") for p in fg.MONTHS]


def selection(request, plan) -> tuple[list[str], fg.Selection, bool]:
    """The year and period asked for in the query string, else the plan's default. Returns
    (years offered, selection, whether the request asked for something unusable)."""
    # The calendar (years offered, latest month recorded) changes only with the plan's data.
    years, default = cache.get_or_build(
        cache.figures_key(plan, "calendar"), lambda: fg.plan_calendar(plan)
    )
    raw_year, raw_period = request.GET.get("year"), request.GET.get("period")
    if not raw_year and not raw_period:
        return years, default, False
    year = raw_year or default.year
    if not raw_period:
        # A year alone opens on its latest recorded month.
        try:
            asked = fiscal.parse_year(year)
        except ValidationError:
            return years, default, True
        raw_period = default.period if asked == default.year else fg.period_for_year(plan, asked)
    month = fiscal.parse_month(year, raw_period, years)
    if month is None:
        return years, default, True
    return years, fg.Selection(*month), False


class CommentaryForm(forms.Form):
    """The month's commentary, written on the dashboard: the month and the role are preset,
    and no reason is asked (commentary is words, not money)."""

    body = CellText(
        label="Commentary",
        widget=forms.Textarea(attrs={"rows": 4, "class": "form-control"}),
        max_length=10_000,
        strip=True,
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


def commentary_role(user) -> str | None:
    """The commentary a user writes: directors the director's, finance the finance one."""
    role = role_of(user)
    if role == DIRECTOR:
        return Commentary.Role.DIRECTOR
    if role == FINANCE:
        return Commentary.Role.FINANCE
    return None


class PlanPageMixin:
    """Loads the plan (404 outside the user's authority) and its figures for the period."""

    offers_commentary = False  # the dashboard offers the month's commentary form
    # A reader who sees only published reports (a scrutiny member) gets the published
    # version of this page instead: "html" (the stored report) or a stored file.
    published = None
    # Pages read at a glance: every figure in whole pounds, the dashboard and the report
    # alike (a printout in £k); the workbook keeps pence for checking cell by cell.
    whole_pounds = True

    def dispatch(self, request, *args, **kwargs):
        if self.published and reads_published_only(request.user):
            return close.published_instead(request, kwargs["pk"], self.published)
        # Another authority's plan is a 404 whatever the method, before any 405: a read-only
        # page never tells an outsider that the plan exists.
        self.plan = get_plan(request.user, kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def commentary_form(self, plan, sel, form=None):
        """The form for the user's own commentary of the month, or None if they write none."""
        role = commentary_role(self.request.user)
        if role is None or not edit_flags(self.request.user, plan)["can_comment"]:
            return None
        panel = close.month_panel(plan, sel.year, sel.period)
        own = panel["commentary"].get(role)
        if form is None:
            form = CommentaryForm(initial={"body": own.body, "version": own.version} if own else {})
        form.role_label = Commentary.Role(role).label
        # Once the month is submitted (for finance) or signed off, the form says why it is
        # closed rather than taking text the save would refuse.
        form.locked = services.month_lock(
            own or Commentary(role=role),
            sel.year,
            sel.period,
            panel["closing"],
            self.request.user,
        )
        return form

    def plan_context(self, form=None):
        years, sel, invalid = selection(self.request, self.plan)
        return {
            "commentary_form": self.commentary_form(self.plan, sel, form)
            if self.offers_commentary
            else None,
            **self.figures_context(years, sel, invalid),
        }

    def figures_context(self, years, sel, invalid) -> dict:
        """What the page shows of the plan's figures for the month: the same for every
        reader."""
        plan = self.plan
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
            "whole_pounds": self.whole_pounds,
        }


class PlanDashboardView(PlanPageMixin, TemplateView):
    """The dashboard: its figures, charts and tables are rendered once per plan, month and
    data version and cached (``dashboards.cache``), so that a director's second look, or a
    colleague's, costs the page around them (the reader's commentary form, navigation) and
    not the figures again. A change to any of the plan's records is seen at once."""

    template_name = "dashboards/plan_dashboard.html"
    offers_commentary = True
    published = "html"
    whole_pounds = True
    FRAGMENTS = {
        "top": "dashboards/_dashboard_top.html",
        "commentary": "dashboards/_commentary.html",
        "rest": "dashboards/_dashboard_rest.html",
    }

    def get_context_data(self, commentary_form=None, **kwargs):
        plan, user = self.plan, self.request.user
        years, sel, invalid = selection(self.request, plan)
        key = cache.figures_key(plan, "dashboard", sel.year, sel.period, invalid, role_of(user))
        fragments = cache.get_or_build(key, lambda: self.fragments(years, sel, invalid))
        return {
            **super().get_context_data(**kwargs),
            "plan": plan,
            "sel": sel,
            # Rendered (and escaped) by Django's templates from the plan's figures.
            "fragments": {name: mark_safe(html) for name, html in fragments.items()},
            "commentary_form": self.commentary_form(plan, sel, commentary_form),
            # The month's close: its state and the steps this reader may take, per request.
            **close.close_context(self.request.user, plan, sel.year, sel.period),
        }

    def fragments(self, years, sel, invalid) -> dict[str, str]:
        context = self.figures_context(years, sel, invalid)
        context["charts"] = charts.dashboard_charts(context["f"])
        context["rounding"] = reports.ROUNDING
        return {name: render_to_string(t, context) for name, t in self.FRAGMENTS.items()}


class CommentaryView(PlanPageMixin, View):
    """POST the month's commentary from the dashboard; back to the dashboard for the month.
    The address a refused save leaves in the browser's bar opens the dashboard when it is
    reloaded or followed, not an empty 405."""

    def get(self, request, pk):
        query = request.GET.urlencode()
        url = reverse("dashboards:plan_dashboard", args=[self.plan.pk])
        return redirect(f"{url}?{query}#h-commentary" if query else f"{url}#h-commentary")

    def post(self, request, pk):
        role = commentary_role(request.user)
        plan = get_plan(request.user, pk, "add", "commentary")
        if role is None:
            raise PermissionDenied("Your role writes no commentary.")
        month = fiscal.parse_month(
            request.POST.get("year"),
            request.POST.get("period"),
            fg.plan_calendar(plan)[0],
            default_period=None,
        )
        if month is None:
            return HttpResponseBadRequest("The month of the commentary is missing or wrong.")
        year, period = month
        url = f"{reverse('dashboards:plan_dashboard', args=[plan.pk])}?year={year}&period={period}"
        form = CommentaryForm(request.POST)
        if form.is_valid():
            try:
                services.save_commentary(
                    plan=plan,
                    year=year,
                    period=period,
                    role=role,
                    body=form.cleaned_data["body"],
                    user=request.user,
                    expected_version=form.cleaned_data["version"],
                )
            except services.StaleEdit as exc:
                form.add_error(
                    "body",
                    "A colleague saved this month's commentary while you were writing: "
                    f"theirs now reads {getattr(exc.current, 'body', '')!r}. Your text is "
                    "below; merge the two and save again.",
                )
                form.data = form.data.copy()
                form.data["version"] = getattr(exc.current, "version", "")
            except ValidationError as exc:
                form.add_error("body", " ".join(exc.messages))
            else:
                label = fiscal.period_label(year, period)
                messages.success(
                    request, f"Saved the {Commentary.Role(role).label.lower()} for {label}."
                )
                return redirect(f"{url}#h-commentary")
        request.GET = request.GET.copy()
        request.GET.update({"year": year, "period": str(period)})
        view = PlanDashboardView()
        view.setup(request, pk=pk)
        view.plan = plan
        context = view.get_context_data(commentary_form=form)
        return render(request, PlanDashboardView.template_name, context, status=400)


class ReportView(PlanPageMixin, TemplateView):
    """The live report (finance and directors): what would be published now. "What changed"
    is since the last published report, when there is one.

    Its body is rendered from the plan's figures alone and cached by the plan's data version
    like the dashboard's (a publication is stored with the step of the close that records it,
    which renews the data version, so "what changed since the last published report" is never
    stale either); the page around it is rendered for each request."""

    template_name = "dashboards/report.html"
    published = "html"

    def get_context_data(self, **kwargs):
        plan, user = self.plan, self.request.user
        years, sel, invalid = selection(self.request, plan)
        key = cache.figures_key(plan, "report", sel.year, sel.period, invalid, role_of(user))
        body = cache.get_or_build(key, lambda: self.body(years, sel, invalid))
        return {
            **super().get_context_data(**kwargs),
            "plan": plan,
            "sel": sel,
            "report_body": mark_safe(body),  # rendered (and escaped) by Django's templates
        }

    def body(self, years, sel, invalid) -> str:
        context = self.figures_context(years, sel, invalid)
        f = context["f"]
        changes, heading = publishing.report_changes(f)
        shown = reports.changes_for(changes, f.shown_lines)
        context |= {
            "changes": shown,
            "changes_not_shown": len(changes) - len(shown),
            "changes_heading": heading,
            "glossary": reports.GLOSSARY,
            "draft": close.report_notice(f, changes, heading),
            # The month's charts as the committee pack draws them (static SVG, on the
            # screen and on paper), each beside its data table.
            "variance_svg": pack.variance_chart(f),
            "savings_svg": pack.savings_chart(f),
            "placements_svg": pack.placements_chart(f),
        }
        # Each chart's summary in words, as the dashboard's charts give theirs.
        if context["savings_svg"]:
            context["savings_summary"] = charts.savings_summary(f)
        if context["placements_svg"]:
            context["placements_summary"] = charts.placements_summary(f)
        with printed_in_k():  # each figure with its £k form, for the printout
            return render_to_string("dashboards/_report_body.html", context)


class ReportDownloadMixin(PlanPageMixin):
    """A download of the live report, built from the plan's figures alone and cached by the
    plan's data version as the report's body is: a second download of an unchanged month is
    the stored file."""

    kind = ""  # "xlsx" or "pdf"
    filename = render = None  # the file's name and body, from the plan's figures

    def get(self, request, *args, **kwargs):
        plan = self.plan
        years, sel, invalid = selection(request, plan)
        if invalid:
            # A file is named for its month: never another month's under the one asked for.
            raise Http404("This plan has no report for that year or month.")
        key = cache.figures_key(
            plan, f"report_{self.kind}", sel.year, sel.period, role_of(request.user)
        )
        name, body = cache.get_or_build(key, lambda: self.build(sel))
        response = HttpResponse(body, content_type=self.content_type)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def build(self, sel) -> tuple[str, bytes]:
        f = fg.plan_figures(self.plan, sel)
        changes, heading = publishing.report_changes(f)
        draft = close.report_notice(f, changes, heading)
        return self.filename(f), self.render(
            f, changes=changes, changes_heading=heading, draft=draft
        )


class ReportWorkbookView(ReportDownloadMixin, View):
    published = "xlsx"
    kind = "xlsx"
    content_type = reports.XLSX_TYPE
    filename, render = staticmethod(reports.filename), staticmethod(reports.report_workbook)


def landing(request):
    """Where sign-in lands: directors and scrutiny members on the dashboard of their
    authority's active plan (the overview when there are several), finance on the plans."""
    role = role_of(request.user)
    if reads_published_only(request.user):
        return redirect("dashboards:published_list")
    if role in (DIRECTOR, SCRUTINY):
        active = plans_for(request.user).filter(
            authority_id=request.user.authority_id, status="active"
        )
        ids = list(active.values_list("pk", flat=True)[:2])
        if len(ids) == 1:
            return redirect("dashboards:plan_dashboard", pk=ids[0])
        return redirect("dashboards:overview")
    return redirect("plans:plan_list")


class ReportPdfView(ReportDownloadMixin, View):
    """The committee pack: the report as a PDF, in £k."""

    published = "pdf"
    kind = "pdf"
    content_type = pack.PDF_TYPE
    filename, render = staticmethod(pack.filename), staticmethod(pack.committee_pack)


class OverviewView(TemplateView):
    """Every plan side by side, by authority. An administrator (or anyone granted other
    authorities' plans) pages through ``AUTHORITIES_PER_PAGE`` authorities at a time, so the
    page's figures are computed for the plans it shows, not for every plan in the land."""

    template_name = "dashboards/overview.html"
    AUTHORITIES_PER_PAGE = 10

    def get(self, request, *args, **kwargs):
        if reads_published_only(request.user):
            return redirect("dashboards:published_list")  # live figures are not theirs
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        visible = plans_for(self.request.user)
        # The authorities with plans the user may read (their ids only), paged; then the
        # plans of the page's authorities alone: not every plan in the land read to show ten
        # authorities' of them.
        authority_ids = list(
            visible.order_by("authority__name", "authority_id")
            .values_list("authority_id", flat=True)
            .distinct()
        )
        page = Paginator(authority_ids, self.AUTHORITIES_PER_PAGE).get_page(
            self.request.GET.get("page")
        )
        shown = list(
            visible.filter(authority_id__in=list(page)).order_by(
                "authority__name", "authority_id", "first_year", "title"
            )
        )
        overview = fg.authority_overview(shown)
        authorities = {}
        for s in overview.summaries:
            authorities.setdefault(s.plan.authority, []).append(s)
        return {
            **super().get_context_data(**kwargs),
            "overview": overview,
            "authorities": list(authorities.items()),
            "page_obj": page if page.paginator.num_pages > 1 else None,
        }
