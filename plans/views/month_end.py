"""The month-end update: the screen a finance manager uses most."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import BadRequest, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.views.generic import TemplateView

from plans import month_end, services
from plans.access import get_plan
from plans.figures.savings import year_totals
from plans.forms import CellText, KpiValueField, MoneyField
from plans.models import RAG, PlacementCount, ProgressEntry
from plans.rules import whole_number_bounds
from plans.selectors import month_end_month
from plans.templatetags.figures import kpi_value
from recovery import fiscal

RAG_CHOICES = [("", "Not rated"), *RAG.choices]


class LineMonthForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    achieved_to_date = MoneyField(label="Achieved to date", required=False)
    basis = forms.ChoiceField(
        label="Achieved or achievable",
        # The model's words, shortened to fit the page's column: the column header says it.
        choices=[(value, label.split(" (")[0]) for value, label in ProgressEntry.Basis.choices],
        initial=ProgressEntry.Basis.ACHIEVED,
    )
    forecast = MoneyField(label="Forecast for the year", required=False)
    rag = forms.ChoiceField(label="RAG", choices=RAG_CHOICES, required=False)
    commentary = CellText(label="Comment", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    # Shown in the "Last recorded" cell of a line with no entry yet for the month.
    carry = forms.BooleanField(label="Same as last recorded", required=False)

    # The boxes of the line's row, in its columns' order (``carry`` sits with last month's).
    BOXES = ("achieved_to_date", "basis", "forecast", "rag", "commentary")

    def __init__(self, *args, carried=None, **kwargs):
        super().__init__(*args, **kwargs)
        # What the line last recorded (``LineMonth.carried``), for the hints; empty once the
        # month has an entry of its own.
        self.carried = carried or {}

    def boxes(self):
        """(bound field, last recorded value or None) for each box of the row."""
        return [(self[name], self.carried.get(name)) for name in self.BOXES]


class ForecastMonthForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    budget = MoneyField(label="Budget", required=False)
    forecast_outturn = MoneyField(label="Forecast outturn", required=False)
    commentary = CellText(
        label="Commentary", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class ReasonForm(forms.Form):
    reason = CellText(
        label="Reason for changing saved figures",
        required=False,
        max_length=100,
        help_text="Needed only when you change an achieved or forecast figure already saved for "
        "this month; it is kept in the history.",
    )


_COUNT_LOW, _COUNT_HIGH = whole_number_bounds(PlacementCount._meta.get_field("count"))


class CountMonthForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    count = forms.IntegerField(
        label="Children at month end",
        required=False,
        min_value=_COUNT_LOW,
        max_value=_COUNT_HIGH,
    )


class MoveMonthForm(forms.Form):
    """When a move was made; blank: not yet. Only months up to the one being saved."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    made = forms.ChoiceField(label="Made in", required=False)

    def __init__(self, *args, months=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["made"].choices = [("", "Not yet"), *months]

    def made_month(self) -> tuple[str, int | None]:
        value = self.cleaned_data["made"]
        if not value:
            return "", None
        year, period = value.rsplit("-", 1)
        return year, int(period)


def move_months(plan, year: str, period: int) -> list[tuple[str, str]]:
    """The months a move can have been made in, from the plan's first to the one saved."""
    months = []
    for y in plan.years:
        for p in range(1, 13):
            if (y, p) > (year, period):
                return months
            months.append((f"{y}-{p}", fiscal.month_label(y, p)))
    return months


class KpiMonthForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    value = KpiValueField(label="Actual", required=False)


def _initial_line(row: month_end.LineMonth, year: str) -> dict:
    entry = row.current
    if entry is None:
        # A new month starts empty: last month's figures are shown beside the boxes (and as
        # their placeholders), never put in them, so saving an untouched box records nothing.
        # "Same as last recorded" carries them forward when the officer says so.
        return {"version": None, "basis": ProgressEntry.Basis.ACHIEVED}
    return {
        "version": entry.version,
        "achieved_to_date": entry.achieved_to_date,
        "basis": entry.basis,
        "forecast": entry.forecast,
        "rag": entry.rag,
        "commentary": entry.commentary,
    }


class MonthEndView(TemplateView):
    template_name = "plans/month_end.html"

    def dispatch(self, request, *args, **kwargs):
        self.plan = get_plan(request.user, kwargs["plan_pk"], "change", "progressentry")
        self.year, self.period = self.month()
        self.page, self.lines = self.page_of_lines()
        # The month's overspend forecast and KPI actuals are on the first page only: each page
        # saves its own part of the month, and no two pages save the same record.
        self.plan_parts = self.page.number == 1
        closed = services.closed_months(self.plan)
        closing = services.closing_month(closed, self.year, self.period)
        self.locked = services.month_lock(None, self.year, self.period, closing) or None
        return super().dispatch(request, *args, **kwargs)

    def page_of_lines(self):
        """The page of lines asked for. A save carries the ids of the lines its page showed,
        so it writes those lines and no others, even if lines were added or reordered since
        the page was opened."""
        paginator = Paginator(month_end.plan_lines(self.plan), month_end.LINES_PER_PAGE)
        if self.request.method != "POST":
            page = paginator.get_page(self.request.GET.get("page"))
            return page, list(page.object_list)
        try:
            number = int(self.request.POST.get("page", "1"))
            ids = [int(i) for i in self.request.POST.get("lines", "").split(",") if i]
        except ValueError:
            raise BadRequest("The page of lines to save is not readable.") from None
        if any(not 0 < i < 2**63 for i in ids) or len(ids) > month_end.LINES_PER_PAGE:
            raise BadRequest("The page of lines to save is not one of this plan's pages.")
        page = paginator.get_page(number)
        if page.number != number:
            raise BadRequest("The page of lines to save is not one of this plan's pages.")
        if "lines" not in self.request.POST:
            # A post made without the page's form (a script, an older page): the lines of the
            # page it names, as a GET would show them.
            return page, list(page.object_list)
        lines = list(month_end.plan_lines(self.plan).filter(pk__in=ids))
        if len(lines) != len(set(ids)):
            raise BadRequest(
                "A savings line on this page is not part of the plan any more; reload the page."
            )
        return page, lines

    def month(self) -> tuple[str, int]:
        source = self.request.POST if self.request.method == "POST" else self.request.GET
        years = self.plan.years
        # The month after the latest with anything recorded (the as-at rule).
        default_year, default_period = month_end_month(self.plan)
        asked_year, asked_period = source.get("year"), source.get("period")
        month = fiscal.parse_month(
            asked_year or default_year, asked_period, years, default_period=default_period
        )
        if month is None:
            # Never a silent switch to another month: a finance manager could save figures
            # into the wrong one. Say so, and open the default month.
            if self.request.method == "POST":
                raise BadRequest("The month to save is missing or outside the plan.")
            messages.warning(
                self.request,
                f"That year or month ({asked_year or '–'}, {asked_period or '–'}) is not one "
                f"of this plan's months ({self.plan.first_year} to {self.plan.last_year}); "
                "showing the month after the latest recorded instead.",
            )
            return default_year, default_period
        return month

    def build_forms(self, data, month):
        line_forms = [
            (
                row,
                LineMonthForm(
                    data,
                    prefix=f"line-{row.line.pk}",
                    initial=_initial_line(row, month.year),
                    carried=row.carried(month.year) if row.current is None else None,
                ),
            )
            for row in month.lines
        ]
        f = month.forecast
        forecast_form = ForecastMonthForm(
            data,
            prefix="forecast",
            initial={
                "version": f.version,
                "budget": f.budget,
                "forecast_outturn": f.forecast_outturn,
                "commentary": f.commentary,
            }
            if f
            # Last month's budget is a hint beside the box (the template), not its value.
            else {},
        )
        kpi_forms = [
            (
                row,
                KpiMonthForm(
                    data,
                    prefix=f"kpi-{row.kpi.pk}",
                    # Shown as typed (275, never 275.00): the page writes the box itself.
                    initial={
                        "version": row.current.version,
                        "value": KpiValueField().prepare_value(row.current.value),
                    }
                    if row.current
                    else {},
                ),
            )
            for row in month.kpis
            if not row.derived  # its actual comes from the counts: no box to type in
        ]
        count_forms = [
            (
                row,
                CountMonthForm(
                    data,
                    prefix=f"count-{row.type.pk}",
                    initial={"version": row.current.version, "count": row.current.count}
                    if row.current
                    else {},
                ),
            )
            for row in month.counts
        ]
        months = move_months(self.plan, month.year, month.period)
        move_forms = [
            (
                move,
                MoveMonthForm(
                    data,
                    prefix=f"move-{move.pk}",
                    months=months,
                    initial={
                        "version": move.version,
                        "made": f"{move.actual_year}-{move.actual_period}"
                        if move.actual_year
                        else "",
                    },
                ),
            )
            for move in month.moves
        ]
        self.placement_forms = (count_forms, move_forms)
        return line_forms, forecast_form, kpi_forms

    def load(self) -> month_end.MonthEnd:
        return month_end.load(self.plan, self.year, self.period, self.lines)

    def get_context_data(self, **kwargs):
        month = kwargs.pop("month", None) or self.load()
        line_forms, forecast_form, kpi_forms = kwargs.pop("forms", None) or self.build_forms(
            None, month
        )
        return {
            **super().get_context_data(**kwargs),
            "plan": self.plan,
            "month": month,
            "page_obj": self.page,
            "pages": self.page.paginator.get_elided_page_range(
                self.page.number, on_each_side=2, on_ends=1
            ),
            "line_ids": ",".join(str(row.line.pk) for row in month.lines),
            "plan_parts": self.plan_parts,
            # The whole plan's figures for the year, whichever page is shown.
            "totals": year_totals([self.plan], as_at=month.as_at)[self.plan.pk].get(month.year),
            "saved_this_month": ProgressEntry.objects.filter(
                line__plan=self.plan, as_at=month.as_at
            ).count(),
            "line_forms": line_forms,
            "forecast_form": forecast_form,
            "kpi_forms": kpi_forms,
            "derived_kpis": [row for row in month.kpis if row.derived],
            "count_forms": self.placement_forms[0],
            "move_forms": self.placement_forms[1],
            "periods": [(p, fiscal.period_label(self.year, p)) for p in range(1, 13)],
            "years": self.plan.years,
            "rag_changes": sum(1 for row, _ in line_forms if row.rag_changed),
            "reason_form": kwargs.pop("reason_form", None) or ReasonForm(),
            "problems": kwargs.pop("problems", []),
            "locked": self.locked,
            "query": f"year={month.year}&period={month.period}",
        }

    def refuse(self, month, forms_, reason_form, problems):
        """Nothing saved: the banner lists each problem by line (or part) and field."""
        messages.error(
            self.request, "Nothing was saved: correct the fields listed below and save again."
        )
        return self.render_to_response(
            self.get_context_data(
                month=month, forms=forms_, reason_form=reason_form, problems=problems
            )
        )

    @staticmethod
    def problems_of(
        line_forms, forecast_form, kpi_forms, reason_form, count_forms=(), move_forms=()
    ) -> list[tuple]:
        """(where, field id, message) for every error on the page."""
        out = []
        parts = [(f"{row.line.reference} {row.line.title}", f) for row, f in line_forms]
        parts += [("Overspend forecast", forecast_form), ("", reason_form)]
        parts += [(f"KPI {row.kpi.name}", f) for row, f in kpi_forms]
        parts += [(f"Children in {row.type.name}", f) for row, f in count_forms]
        parts += [(f"Planned move {move.reference}", f) for move, f in move_forms]
        for where, form in parts:
            if not form.is_bound or not hasattr(form, "cleaned_data"):
                continue
            for name, errors in form.errors.items():
                field = form.fields.get(name)
                label = field.label if field else ""
                target = form[name].id_for_label if field else ""
                for error in errors:
                    out.append((" – ".join(p for p in (where, label) if p), target, error))
        return out

    def post(self, request, *args, **kwargs):
        month = self.load()
        line_forms, forecast_form, kpi_forms = self.build_forms(request.POST, month)
        reason_form = ReasonForm(request.POST)
        # A line driven by placement moves takes its month from them (saved below).
        line_forms = [(row, f) for row, f in line_forms if row.line.pk not in month.driven]
        forms_ = (line_forms, forecast_form, kpi_forms)
        if self.locked:
            messages.error(request, f"Nothing was saved: {self.locked}")
            return self.render_to_response(self.get_context_data(month=month, forms=forms_))
        count_forms, move_forms = self.placement_forms
        all_forms = [f for _, f in line_forms] + [reason_form]
        if self.plan_parts:
            all_forms += [forecast_form] + [f for _, f in kpi_forms]
            all_forms += [f for _, f in count_forms] + [f for _, f in move_forms]
        valid = [f.is_valid() for f in all_forms]  # every form, so every error is listed
        if not all(valid):
            problems = self.problems_of(
                line_forms, forecast_form, kpi_forms, reason_form, count_forms, move_forms
            )
            return self.refuse(month, forms_, reason_form, problems)
        lines = [
            month_end.LineInput(
                line_id=row.line.pk,
                version=f.cleaned_data["version"],
                commentary=f.cleaned_data["commentary"],
                **self.figures_typed(row, f),
            )
            for row, f in line_forms
            if f.has_changed() or row.current is not None
        ]
        forecast, kpis, placements = None, [], None
        if self.plan_parts and (count_forms or move_forms):
            placements = month_end.PlacementInput(
                counts={
                    row.type.pk: (f.cleaned_data["count"], f.cleaned_data["version"])
                    for row, f in count_forms
                    if f.has_changed() or row.current is not None
                },
                moves=[
                    services.MoveMade(move.pk, f.cleaned_data["version"], *f.made_month())
                    for move, f in move_forms
                ],
            )
        if self.plan_parts:
            fc = forecast_form.cleaned_data
            # An untouched, pre-filled forecast is not this month's forecast.
            if forecast_form.has_changed() or month.forecast is not None:
                forecast = month_end.ForecastInput(
                    version=fc["version"],
                    budget=fc["budget"],
                    forecast_outturn=fc["forecast_outturn"],
                    commentary=fc["commentary"],
                )
            kpis = [
                month_end.KpiInput(
                    kpi_id=row.kpi.pk,
                    version=f.cleaned_data["version"],
                    value=f.cleaned_data["value"],
                )
                for row, f in kpi_forms
                if f.has_changed() or row.current is not None
            ]
        try:
            saved = month_end.save(
                plan=self.plan,
                year=self.year,
                period=self.period,
                user=request.user,
                lines=lines,
                forecast=forecast,
                kpis=kpis,
                reason=reason_form.cleaned_data["reason"],
                placements=placements,
            )
        except services.StaleEdit as stale:
            return self.conflict(request, stale)
        except ValidationError as refused:
            # Every record refused, each on its own boxes: a line's, a KPI's, the reason's;
            # the rest on the forecast's.
            lines_by_pk = {row.line.pk: f for row, f in line_forms}
            kpis_by_pk = {row.kpi.pk: f for row, f in kpi_forms}
            for exc in getattr(refused, "each", [refused]):
                by_field = exc.error_dict if hasattr(exc, "error_dict") else {None: exc.error_list}
                form = lines_by_pk.get(getattr(exc, "line_id", None)) or kpis_by_pk.get(
                    getattr(exc, "kpi_id", None), forecast_form
                )
                for field, errors in by_field.items():
                    if field == "reason":
                        reason_form.add_error("reason", errors)
                    else:
                        form.add_error(field if field in form.fields else None, errors)
            problems = self.problems_of(line_forms, forecast_form, kpi_forms, reason_form)
            return self.refuse(month, forms_, reason_form, problems)
        if not saved:
            messages.info(
                request,
                f"Nothing changed for {fiscal.period_label(self.year, self.period)}: the figures "
                "were already saved as they are.",
            )
        else:
            messages.success(
                request,
                f"Saved {saved} changed record{'s' if saved != 1 else ''} for "
                f"{fiscal.period_label(self.year, self.period)}"
                + (
                    f" (lines {self.page.start_index()}–{self.page.end_index()})."
                    if self.paged
                    else "."
                ),
            )
        url = reverse("plans:month_end", args=[self.plan.pk])
        page = f"&page={self.page.number}" if self.paged else ""
        return HttpResponseRedirect(f"{url}?year={self.year}&period={self.period}{page}")

    def figures_typed(self, row: month_end.LineMonth, form: LineMonthForm) -> dict:
        """The line's figures as the officer gave them: typed, or (on a line with no entry
        for the month yet) carried forward from the last recorded, if they ticked "Same as
        last recorded"."""
        typed = {k: form.cleaned_data[k] for k in ("achieved_to_date", "basis", "forecast", "rag")}
        if row.current is None and form.cleaned_data["carry"]:
            return row.confirm_carried(self.year, typed)
        return typed

    @property
    def paged(self) -> bool:
        return self.page.paginator.num_pages > 1

    def conflict(self, request, stale: services.StaleEdit):
        """A colleague saved part of this month after the page was opened: nothing of this
        officer's was saved. Name every record they saved (lines, the forecast, KPI actuals,
        counts, moves) and show theirs beside each, and keep what this officer typed, starting
        from the versions now saved, so that saving again is a deliberate replacement of the
        colleague's figures: never one they were not told of."""
        posted = request.POST
        month = self.load()

        def stale_version(key: str, record) -> bool:
            """A record saved since the page was opened (or made: posted with none)."""
            return record is not None and posted.get(key, "") != str(record.version)

        conflicts = [
            row for row in month.lines if stale_version(f"line-{row.line.pk}-version", row.current)
        ]
        for row in conflicts:
            row.theirs = row.current
        others = []  # what else a colleague saved, as the message names it
        # The forecast, KPIs, counts and moves are on the first page only: a later page posts
        # no version of them, and none of them is this officer's to replace there.
        parts = self.plan_parts
        if parts and stale_version("forecast-version", month.forecast):
            month.forecast_theirs = True
            others.append("the overspend forecast")
        for row in month.kpis if parts else []:
            if not row.derived and stale_version(f"kpi-{row.kpi.pk}-version", row.current):
                row.theirs = row.current
                value = kpi_value(row.current.value, row.kpi.unit)
                others.append(f"the KPI {row.kpi.name} ({value})")
        for row in month.counts if parts else []:
            if stale_version(f"count-{row.type.pk}-version", row.current):
                row.theirs = row.current
                others.append(f"the count of {row.type.name} ({row.current.count})")
        for move in month.moves if parts else []:
            if stale_version(f"move-{move.pk}-version", move):
                made = (
                    f"made in {fiscal.month_label(move.actual_year, move.actual_period)}"
                    if move.actual_period
                    else "not made"
                )
                others.append(f"the move {move} (now recorded as {made})")
        data = posted.copy()

        def untouched(prefix: str, boxes) -> bool:
            """Opened with no record of the month and left blank: the officer had nothing of
            their own to say there, so the colleague's figures fill the boxes (saving again
            then keeps them, never blanks them)."""
            return posted.get(f"{prefix}-version", "") == "" and not any(
                posted.get(f"{prefix}-{box}", "").strip() for box in boxes
            )

        def theirs_where_untouched(prefix: str, theirs, form_class, boxes) -> None:
            """A box left as the page showed it when opened (the record at the version the
            officer saw, from its history) takes the colleague's figure: only what the officer
            changed is theirs to replace the colleague's with."""
            seen = posted.get(f"{prefix}-version", "")
            opened = theirs.history.filter(version=seen).first() if seen.isdigit() else None
            if opened is None:
                return
            fields = form_class.base_fields
            for box in boxes:
                try:
                    typed = fields[box].clean(posted.get(f"{prefix}-{box}", ""))
                except ValidationError:
                    continue  # something the officer typed, wrong: theirs to correct
                was = getattr(opened, box)
                if typed == was or (typed in ("", None) and was in ("", None)):
                    value = getattr(theirs, box)
                    data[f"{prefix}-{box}"] = "" if value is None else str(value)

        line_boxes = ("achieved_to_date", "basis", "forecast", "rag", "commentary")
        for row in conflicts:
            prefix = f"line-{row.line.pk}"
            if untouched(prefix, ("achieved_to_date", "forecast", "rag", "commentary")):
                theirs = row.current
                for box in line_boxes:
                    value = getattr(theirs, box)
                    data[f"{prefix}-{box}"] = "" if value is None else str(value)
            else:
                theirs_where_untouched(prefix, row.current, LineMonthForm, line_boxes)
        for row in month.kpis if parts else []:
            if row.theirs is not None and untouched(f"kpi-{row.kpi.pk}", ("value",)):
                data[f"kpi-{row.kpi.pk}-value"] = str(row.theirs.value)
            elif row.theirs is not None:
                theirs_where_untouched(f"kpi-{row.kpi.pk}", row.theirs, KpiMonthForm, ("value",))
        for row in month.counts if parts else []:
            if row.theirs is not None and untouched(f"count-{row.type.pk}", ("count",)):
                data[f"count-{row.type.pk}-count"] = str(row.theirs.count)
        boxes = ("budget", "forecast_outturn", "commentary")
        if month.forecast_theirs and untouched("forecast", boxes):
            for box in boxes:
                value = getattr(month.forecast, box)
                data[f"forecast-{box}"] = "" if value is None else str(value)
        elif month.forecast_theirs:
            theirs_where_untouched("forecast", month.forecast, ForecastMonthForm, boxes)
        for row in month.lines:
            data[f"line-{row.line.pk}-version"] = row.current.version if row.current else ""
        data["forecast-version"] = month.forecast.version if month.forecast else ""
        for row in month.kpis:
            data[f"kpi-{row.kpi.pk}-version"] = row.current.version if row.current else ""
        for row in month.counts:
            data[f"count-{row.type.pk}-version"] = row.current.version if row.current else ""
        for move in month.moves:
            data[f"move-{move.pk}-version"] = move.version
        forms_ = self.build_forms(data, month)
        for form in [f for _, f in forms_[0]] + [forms_[1]] + [f for _, f in forms_[2]]:
            form.is_valid()
        changed = "; ".join(c.said for c in stale.changes)
        named = []
        if conflicts:
            refs = ", ".join(row.line.reference for row in conflicts)
            named.append(f"{len(conflicts)} line{'' if len(conflicts) == 1 else 's'} ({refs})")
        named += others
        if named:
            said = "; ".join(named)
            messages.error(
                request,
                f"Nothing was saved: a colleague saved {month.label} figures for {said} after "
                f"you opened this page{f' ({changed})' if changed else ''}. Their figures are "
                "shown beside yours; none of yours was saved, for those or any other on this "
                "page. Your figures are still in the boxes: check theirs, then save again to "
                "replace them with yours.",
            )
        else:
            messages.error(
                request,
                f"Nothing was saved: “{stale.current}” was changed by someone else after you "
                f"opened this page{f' ({changed})' if changed else ''}. Your figures are still "
                "below; check theirs and save again to replace them with yours.",
            )
        # The reason the officer gave is theirs too: kept for the save again.
        return self.render_to_response(
            self.get_context_data(month=month, forms=forms_, reason_form=ReasonForm(posted))
        )
