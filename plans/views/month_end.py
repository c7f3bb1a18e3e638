"""The month-end update: the screen a finance manager uses most."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import BadRequest, ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.views.generic import TemplateView

from plans import month_end, services
from plans.access import get_plan
from plans.forms import MoneyField
from plans.models import RAG, ProgressEntry
from plans.selectors import month_end_month
from recovery import fiscal

RAG_CHOICES = [("", "Not rated"), *RAG.choices]


class LineMonthForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    achieved_to_date = MoneyField(label="Achieved to date", required=False)
    basis = forms.ChoiceField(
        label="Achieved or achievable",
        choices=ProgressEntry.Basis.choices,
        initial=ProgressEntry.Basis.ACHIEVED,
    )
    forecast = MoneyField(label="Forecast for the year", required=False)
    rag = forms.ChoiceField(label="RAG", choices=RAG_CHOICES, required=False)
    commentary = forms.CharField(
        label="Comment", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ForecastMonthForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    budget = MoneyField(label="Budget", required=False)
    forecast_outturn = MoneyField(label="Forecast outturn", required=False)
    commentary = forms.CharField(
        label="Commentary", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class KpiMonthForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    value = forms.DecimalField(label="Actual", required=False, max_digits=12, decimal_places=2)


def _initial_line(row: month_end.LineMonth, year: str) -> dict:
    entry = row.current
    if entry is None:
        rated = row.latest_before("rag")
        initial = {
            "version": None,
            "basis": ProgressEntry.Basis.ACHIEVED,
            "rag": rated.rag if rated else row.line.rag,
        }
        # Achieved to date is cumulative within the year: each figure carries forward from
        # the latest entry of the year that records it, so a comment-only entry hides none.
        achieved = row.latest_before("achieved_to_date", year)
        if achieved is not None:
            initial.update(achieved_to_date=achieved.achieved_to_date, basis=achieved.basis)
        forecast = row.latest_before("forecast", year)
        if forecast is not None:
            initial["forecast"] = forecast.forecast
        return initial
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
        return super().dispatch(request, *args, **kwargs)

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
                    data, prefix=f"line-{row.line.pk}", initial=_initial_line(row, month.year)
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
            else {"budget": month.previous_forecast.budget if month.previous_forecast else None},
        )
        kpi_forms = [
            (
                row,
                KpiMonthForm(
                    data,
                    prefix=f"kpi-{row.kpi.pk}",
                    initial={"version": row.current.version, "value": row.current.value}
                    if row.current
                    else {},
                ),
            )
            for row in month.kpis
        ]
        return line_forms, forecast_form, kpi_forms

    def get_context_data(self, **kwargs):
        month = kwargs.pop("month", None) or month_end.load(self.plan, self.year, self.period)
        line_forms, forecast_form, kpi_forms = kwargs.pop("forms", None) or self.build_forms(
            None, month
        )
        return {
            **super().get_context_data(**kwargs),
            "plan": self.plan,
            "month": month,
            "line_forms": line_forms,
            "forecast_form": forecast_form,
            "kpi_forms": kpi_forms,
            "periods": [(p, fiscal.period_label(self.year, p)) for p in range(1, 13)],
            "years": self.plan.years,
            "rag_changes": sum(1 for row, _ in line_forms if row.rag_changed),
        }

    def post(self, request, *args, **kwargs):
        month = month_end.load(self.plan, self.year, self.period)
        line_forms, forecast_form, kpi_forms = self.build_forms(request.POST, month)
        all_forms = [f for _, f in line_forms] + [forecast_form] + [f for _, f in kpi_forms]
        if not all(f.is_valid() for f in all_forms):
            messages.error(request, "Nothing was saved: correct the fields marked below.")
            return self.render_to_response(
                self.get_context_data(month=month, forms=(line_forms, forecast_form, kpi_forms))
            )
        lines = [
            month_end.LineInput(
                line_id=row.line.pk,
                version=f.cleaned_data["version"],
                achieved_to_date=f.cleaned_data["achieved_to_date"],
                forecast=f.cleaned_data["forecast"],
                rag=f.cleaned_data["rag"],
                commentary=f.cleaned_data["commentary"],
                basis=f.cleaned_data["basis"],
            )
            for row, f in line_forms
            if f.has_changed() or row.current is not None
        ]
        fc = forecast_form.cleaned_data
        forecast = None  # an untouched, pre-filled forecast is not this month's forecast
        if forecast_form.has_changed() or month.forecast is not None:
            forecast = month_end.ForecastInput(
                version=fc["version"],
                budget=fc["budget"],
                forecast_outturn=fc["forecast_outturn"],
                commentary=fc["commentary"],
            )
        kpis = [
            month_end.KpiInput(
                kpi_id=row.kpi.pk, version=f.cleaned_data["version"], value=f.cleaned_data["value"]
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
            )
        except services.StaleEdit as stale:
            changed = "; ".join(f"{c.label} {c.old} → {c.new}" for c in stale.changes)
            messages.error(
                request,
                f"Nothing was saved: “{stale.current}” was changed by someone else after you "
                f"opened this page{f' ({changed})' if changed else ''}. Your figures are still "
                "below; check theirs and save again to replace them with yours.",
            )
            # Keep what the officer typed; start from the versions now saved, so saving again
            # is a deliberate overwrite.
            month = month_end.load(self.plan, self.year, self.period)
            data = request.POST.copy()
            for row in month.lines:
                data[f"line-{row.line.pk}-version"] = row.current.version if row.current else ""
            data["forecast-version"] = month.forecast.version if month.forecast else ""
            for row in month.kpis:
                data[f"kpi-{row.kpi.pk}-version"] = row.current.version if row.current else ""
            forms_ = self.build_forms(data, month)
            for form in [f for _, f in forms_[0]] + [forms_[1]] + [f for _, f in forms_[2]]:
                form.is_valid()
            return self.render_to_response(self.get_context_data(month=month, forms=forms_))
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.error_dict.items():
                    forecast_form.add_error(
                        field if field in forecast_form.fields else None, errors
                    )
            else:
                forecast_form.add_error(None, exc)
            messages.error(request, "Nothing was saved: correct the fields marked below.")
            return self.render_to_response(
                self.get_context_data(month=month, forms=(line_forms, forecast_form, kpi_forms))
            )
        messages.success(
            request,
            f"Saved {saved} record{'s' if saved != 1 else ''} for "
            f"{fiscal.period_label(self.year, self.period)}.",
        )
        url = reverse("plans:month_end", args=[self.plan.pk])
        return HttpResponseRedirect(f"{url}?year={self.year}&period={self.period}")
