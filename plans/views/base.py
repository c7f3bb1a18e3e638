"""Thin generic views for a plan's records.

Each record type declares its model, table, filterset and form in ``plans.views.records``;
these classes do the rest. Access: the plan is found through ``recovery.access.get_plan``
(another authority's plan is a 404) and the role must hold the model's permission for the
action (else 403), checked before anything else happens, for GET and POST alike.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.generic import DetailView, FormView, TemplateView
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin
from django_tables2.export import ExportMixin

from plans import models as m
from plans import services
from plans.access import get_plan
from plans.forms import money_fields
from recovery.access import can, edit_flags, may_write

MAX_PER_PAGE = 100


def bound_per_page(request) -> None:
    """``?per_page=`` held to 1..MAX_PER_PAGE: a negative, zero or huge page size (or one that
    is not a number) falls back to the default rather than failing or loading everything."""
    raw = request.GET.get("per_page")
    if raw is None:
        return
    query = request.GET.copy()
    try:
        size = int(raw)
    except ValueError:
        size = 0
    if size < 1:
        query.pop("per_page")
    else:
        query["per_page"] = str(min(size, MAX_PER_PAGE))
    request.GET = query


def within_plan_ordering(model, plan_path: str) -> list[str]:
    """``model``'s default ordering for the records of one plan: the plan left out (it is the
    same on every row, and ordering by it joined the plan and its authority and sorted every
    row by the authority's name), and a parent on the way to the plan (a progress entry's
    line) replaced by the parent's own ordering within the plan. A plan's lines in order then
    read from an index (``line_plan_order``), and the first page of a long plan's progress
    without sorting every entry."""
    head, _, rest = plan_path.partition("__")
    out = []
    for name in model._meta.ordering:
        if name == head and rest:
            parent = model._meta.get_field(head).related_model
            out += [f"{head}__{n}" for n in within_plan_ordering(parent, rest)]
        elif name != head:
            out.append(name)
    return out


class PlanRecordMixin:
    model = None
    url_name = ""  # e.g. "line": plans:line_list, plans:line_detail ...
    action = "view"
    title_plural = ""
    select_related: tuple[str, ...] = ()

    @property
    def perm_model(self) -> str:
        return self.model._meta.model_name

    def dispatch(self, request, *args, **kwargs):
        self.plan = get_plan(request.user, kwargs["plan_pk"], self.action, self.perm_model)
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        path = m.plan_path(self.model)
        qs = self.model._default_manager.filter(**{path: self.plan}).order_by(
            *within_plan_ordering(self.model, path), "pk"
        )
        if self.select_related:
            qs = qs.select_related(*self.select_related)
        return qs

    def verbose(self, plural=False):
        meta = self.model._meta
        return str(meta.verbose_name_plural if plural else meta.verbose_name)

    def url(self, kind, pk=None):
        args = [self.plan.pk] + ([pk] if pk is not None else [])
        return reverse(f"plans:{self.url_name}_{kind}", args=args)

    def get_context_data(self, **kwargs):
        user = self.request.user
        name = self.perm_model
        writable = may_write(user, self.plan)
        return {
            **super().get_context_data(**kwargs),
            "plan": self.plan,
            "record_name": self.verbose(),
            "record_name_plural": self.title_plural or self.verbose(plural=True),
            "url_name": self.url_name,
            "list_url": self.url("list"),
            "create_url": self.url("create"),
            "may_add": writable and can(user, "add", name),
            "may_change": writable and can(user, "change", name),
            "may_delete": writable and can(user, "delete", name),
            **edit_flags(user, self.plan),
        }


class RecordListView(PlanRecordMixin, ExportMixin, SingleTableMixin, FilterView):
    template_name = "plans/records/list.html"
    # The table pages itself (django-tables2): the list view does not page as well, which
    # counted the rows a second time.
    paginate_by = None
    table_pagination = {"per_page": 25}
    export_formats = ("csv", "xlsx")
    exclude_columns = ()

    def get_filterset_kwargs(self, filterset_class):
        return {**super().get_filterset_kwargs(filterset_class), "plan": self.plan}

    def get_table_kwargs(self):
        return {"exclude": self.exclude_columns}

    def get_table_data(self):
        return self.object_list

    def get_export_filename(self, export_format):
        plan = self.plan.code or f"plan-{self.plan.pk}"
        return f"{plan}-{self.url_name}s.{export_format}"

    def get_table(self, **kwargs):
        bound_per_page(self.request)
        table = super().get_table(**kwargs)
        table.plan_pk = self.plan.pk  # for the links to each record
        return table


class RecordDetailView(PlanRecordMixin, DetailView):
    template_name = "plans/records/detail.html"

    def get_object(self, queryset=None):
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        obj = self.object
        money = set(money_fields(self.model))
        fields = []
        for f in self.model._meta.concrete_fields:
            if f.primary_key or f.name in {"version", "data_version", "plan"}:
                continue
            display = getattr(obj, f"get_{f.name}_display", None)
            value = display() if display else getattr(obj, f.name)
            kind = "money" if f.name in money else f.get_internal_type()
            fields.append((f.verbose_name, value, kind))
        return {
            **ctx,
            "fields": fields,
            "edit_url": self.url("edit", obj.pk),
            "delete_url": self.url("delete", obj.pk),
            "history_url": self.url("history", obj.pk),
        }


class RecordFormView(PlanRecordMixin, FormView):
    """Create (``pk`` absent) or edit a record through plans.services."""

    template_name = "plans/records/form.html"
    form_class = None

    @property
    def action(self):
        return "change" if "pk" in self.kwargs else "add"

    def get_object(self):
        if "pk" not in self.kwargs:
            return self.new_object()
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def new_object(self):
        obj = self.model()
        if hasattr(obj, "plan_id"):
            obj.plan = self.plan
        return obj

    def get_form_kwargs(self):
        self.object = self.get_object()
        return {**super().get_form_kwargs(), "instance": self.object, "plan": self.plan}

    def form_valid(self, form):
        try:
            # One transaction: what a save does after the record (a move's driven lines) is
            # refused with it, never half-saved.
            with transaction.atomic():
                saved = self.save(form)
        except services.StaleEdit as stale:
            return self.conflict(form, stale)
        except ValidationError as exc:
            self.attach_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, f"Saved {self.verbose()} “{saved}”.")
        return HttpResponseRedirect(self.success_url_for(saved))

    def save(self, form):
        instance = form.instance
        reason = form.cleaned_data.get("change_reason", "")
        for attr in ("author", "entered_by"):
            # Who wrote it is recorded, never typed.
            if hasattr(instance, f"{attr}_id") and attr not in form.fields:
                setattr(instance, attr, self.request.user)
        return services.save_record(
            instance=instance,
            user=self.request.user,
            expected_version=form.cleaned_data.get("version"),
            reason=reason,
        )

    def success_url_for(self, obj):
        return self.url("detail", obj.pk)

    @staticmethod
    def attach_errors(form, exc: ValidationError):
        if hasattr(exc, "error_dict"):
            for field, errors in exc.error_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            form.add_error(None, exc)

    def conflict(self, form, stale: services.StaleEdit):
        """Someone saved first: show what they changed; keep this editor's input on screen;
        nothing is overwritten. Saving again now is a deliberate overwrite of their version."""
        data = form.data.copy()
        if stale.deleted:
            instance = form.instance
        else:
            instance = self.get_queryset().get(pk=stale.current.pk)
            # Saving again from here is a deliberate overwrite: it starts from their version.
            fresh = self.get_form_class()(instance=instance, plan=self.plan)
            for name in ("version", "amount_versions"):
                if name in fresh.fields:
                    data[name] = fresh.fields[name].initial or ""
        form = self.get_form_class()(data=data, instance=instance, plan=self.plan)
        form.is_valid()
        return self.render_to_response(
            self.get_context_data(form=form, conflict=stale, current=stale.current)
        )

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        editing = "pk" in self.kwargs
        return {
            **ctx,
            "object": self.object,
            "editing": editing,
            # A figure of a closed month: said before anything is typed, the form read only.
            "locked": services.lock_of(self.object, self.request.user) if editing else "",
            "cancel_url": self.url("detail", self.object.pk) if editing else self.url("list"),
        }


class RecordDeleteView(PlanRecordMixin, TemplateView):
    template_name = "plans/records/confirm_delete.html"
    action = "delete"

    def get_object(self):
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def get_context_data(self, form=None, **kwargs):
        obj = self.get_object()
        return {
            **super().get_context_data(**kwargs),
            "form": form or DeleteForm(),
            "object": obj,
            "goes_with_it": services.related_deletions(obj),
            "locked": services.lock_of(obj, self.request.user),
            "cancel_url": self.url("detail", obj.pk),
        }

    def post(self, request, *args, **kwargs):
        obj = self.get_object()
        form = DeleteForm(request.POST)
        if form.is_valid():
            # The version the officer confirmed; anything else is treated as stale.
            version = form.cleaned_data["version"]
            try:
                self.remove(
                    obj,
                    user=request.user,
                    expected_version=int(version) if version.isdigit() else -1,
                    reason=form.cleaned_data["change_reason"],
                )
            except services.StaleEdit as stale:
                messages.error(
                    request,
                    "Not deleted: someone changed this record after you "
                    "opened it. Check it and delete again if you still mean to.",
                )
                return HttpResponseRedirect(self.url("detail", stale.current.pk))
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, f"Deleted {self.verbose()} “{obj}”.")
                return HttpResponseRedirect(self.url("list"))
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def remove(self, obj, **kwargs) -> None:
        """Delete the record through the service (subclasses add what goes with it)."""
        services.delete_record(instance=obj, **kwargs)


class DeleteForm(forms.Form):
    """A delete asks for its reason, which the audit trail and deleted records keep."""

    # Kept as typed: a version that is not a number is stale, not an error to show.
    version = forms.CharField(widget=forms.HiddenInput, required=False)
    change_reason = forms.CharField(
        label="Reason for deleting",
        max_length=100,
        strip=True,
        error_messages={
            "required": "Reason for deleting: say why; the reason is kept with the deleted "
            "record, which a finance manager can restore."
        },
    )


class RecordHistoryView(PlanRecordMixin, TemplateView):
    """Who changed what, from what to what, when and why; newest first."""

    template_name = "plans/records/history.html"

    def get_context_data(self, **kwargs):
        obj = get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        return {
            **super().get_context_data(**kwargs),
            "object": obj,
            "entries": history_entries(obj),
            "detail_url": self.url("detail", obj.pk),
        }


def history_entries(obj) -> list:
    """The record's changes, newest first, formatted as the plan's audit trail formats them
    (``plans.audit``)."""
    from plans.audit import record_trail

    return record_trail(obj)
