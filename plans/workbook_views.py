"""Plan workbooks on the web: template, export, and import as upload -> preview -> confirm.

Access goes through recovery.access: any role of an authority may download the template and
export its plans; only finance managers may import (others 403; another authority's plan 404).

An upload is read and parsed once. The parsed workbook (plain data, not the file) is kept as
a ``PendingImport`` row for its owner, for ``PENDING_IMPORT_MINUTES`` (the database, so any app
process can finish the import); the session holds only its token. The browser never sends the
workbook or the changes back. Confirmation applies exactly what the preview showed; if the plan
changed in between, the preview is shown again instead.
"""

from __future__ import annotations

import pickle
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from plans import workbook
from plans.access import get_plan, plans_for
from plans.forms_workbook import WorkbookUploadForm
from plans.models import PendingImport
from plans.workbook.resources import AMOUNTS, CREATE, DELETE, UPDATE
from recovery.access import can, may_write, require
from recovery.models import Authority

SESSION_KEY = "plan_workbook_import"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LISTED = 200  # records listed per table on the preview; the counts cover the rest


def _xlsx(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _authorities(user):
    """Authorities a user may import a new plan for (``None``: any, for superusers)."""
    if user.is_superuser:
        return None
    return Authority.objects.filter(pk=user.authority_id)


def _target(request, pk):
    """The plan to import into (None for a new plan), after the access checks."""
    if pk is None:
        require(request.user, "add", "plan")
        if not request.user.is_superuser and request.user.authority_id is None:
            raise PermissionDenied("You belong to no authority.")
        return None
    return get_plan(request.user, pk, "change", "plan")


class WorkbookHomeView(TemplateView):
    template_name = "plans/workbook/index.html"

    def get_context_data(self, **kwargs):
        require(self.request.user, "view", "plan")
        return {
            **super().get_context_data(**kwargs),
            "plans": [
                (plan, may_write(self.request.user, plan)) for plan in plans_for(self.request.user)
            ],
            "can_import": can(self.request.user, "add", "plan"),
            "max_mb": workbook.max_bytes() / 1024 / 1024,
        }


def template_download(request):
    require(request.user, "view", "plan")
    example = request.GET.get("example") == "1"
    data = workbook.template(authority=request.user.authority, example=example)
    name = "plan-workbook-example.xlsx" if example else "plan-workbook-template.xlsx"
    return _xlsx(data, name)


def plan_export(request, pk):
    plan = get_plan(request.user, pk, "view", "plan")
    return _xlsx(workbook.export_plan(plan), workbook.export_filename(plan))


def _errors(request, problems, *, plan, filename, warnings=(), status=200):
    return render(
        request,
        "plans/workbook/errors.html",
        {
            "problems": problems,
            "warnings": warnings,
            "plan": plan,
            "filename": filename,
            "form": WorkbookUploadForm(),
            "action": _upload_url(plan),
        },
        status=status,
    )


def _upload_url(plan) -> str:
    return (
        reverse("plans:plan_import_into", args=[plan.pk]) if plan else reverse("plans:plan_import")
    )


class ImportView(View):
    """GET: the upload form. POST: read the workbook; list its problems, or keep it and show
    the preview."""

    def get(self, request, pk=None):
        plan = _target(request, pk)
        return render(
            request,
            "plans/workbook/upload.html",
            {
                "form": WorkbookUploadForm(),
                "plan": plan,
                "action": _upload_url(plan),
            },
        )

    def post(self, request, pk=None):
        plan = _target(request, pk)
        form = WorkbookUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return render(
                request,
                "plans/workbook/upload.html",
                {
                    "form": form,
                    "plan": plan,
                    "action": _upload_url(plan),
                },
                status=400,
            )
        upload = form.cleaned_data["file"]
        filename = (upload.name or "workbook.xlsx")[:120]
        try:
            parsed = workbook.read(upload.read())
        except workbook.WorkbookRejected as exc:
            return _errors(request, exc.problems, plan=plan, filename=filename)
        changes = workbook.changes_for(
            parsed, into=plan, user=request.user, authorities=_authorities(request.user)
        )
        if changes.problems:
            return _errors(
                request, changes.problems, plan=plan, filename=filename, warnings=changes.warnings
            )
        _expire()
        # One pending import per user: a new upload replaces the one before.
        PendingImport.objects.filter(user=request.user).delete()
        pending = PendingImport.objects.create(
            token=secrets.token_urlsafe(32),
            user=request.user,
            plan=plan,
            filename=filename,
            parsed=pickle.dumps(parsed, protocol=pickle.HIGHEST_PROTOCOL),
            fingerprint=changes.fingerprint(),
        )
        request.session[SESSION_KEY] = pending.token
        return redirect("plans:import_confirm")


def _expire() -> None:
    """Pending imports past their time are removed (whoever they belong to)."""
    cutoff = timezone.now() - timedelta(minutes=settings.PENDING_IMPORT_MINUTES)
    PendingImport.objects.filter(created_at__lt=cutoff).delete()


class ConfirmImportView(View):
    """GET: the preview of the kept workbook. POST: apply it (or cancel)."""

    def dispatch(self, request, *args, **kwargs):
        require(request.user, "add", "plan")  # importing is for finance managers only
        return super().dispatch(request, *args, **kwargs)

    def pending(self, request):
        token = request.session.get(SESSION_KEY)
        if not isinstance(token, str):
            return None, None
        _expire()
        pending = PendingImport.objects.filter(token=token, user=request.user).first()
        if pending is None:
            return None, None
        return pending, _target(request, pending.plan_id)

    def changes(self, request, pending, plan):
        # The workbook as parsed at upload: only the comparison with the database is redone.
        return workbook.changes_for(
            pickle.loads(pending.parsed),  # noqa: S301 - written by this app, never uploaded
            into=plan,
            user=request.user,
            authorities=_authorities(request.user),
        )

    def forget(self, request, pending) -> None:
        pending.delete()
        request.session.pop(SESSION_KEY, None)

    def get(self, request):
        pending, plan = self.pending(request)
        if pending is None:
            return render(
                request,
                "plans/workbook/upload.html",
                {
                    "form": WorkbookUploadForm(),
                    "plan": None,
                    "action": _upload_url(None),
                    "nothing_pending": True,
                },
            )
        changes = self.changes(request, pending, plan)
        if changes.problems:
            return _errors(
                request,
                changes.problems,
                plan=plan,
                filename=pending.filename,
                warnings=changes.warnings,
            )
        if pending.fingerprint != changes.fingerprint():
            pending.fingerprint = changes.fingerprint()
            pending.save(update_fields=["fingerprint"])
        return self.preview(request, pending, plan, changes)

    def post(self, request):
        pending, plan = self.pending(request)
        if pending is None or request.POST.get("token") != pending.token:
            messages.error(
                request,
                "That import is no longer waiting (it was confirmed, "
                "cancelled or replaced by another upload). Upload the workbook again.",
            )
            return redirect("plans:workbook_list")
        if "cancel" in request.POST:
            self.forget(request, pending)
            messages.info(request, f"Import of {pending.filename} cancelled; nothing changed.")
            return redirect(
                reverse("plans:plan_detail", args=[plan.pk])
                if plan
                else reverse("plans:workbook_list")
            )
        changes, saved = workbook.import_parsed(
            pickle.loads(pending.parsed),  # noqa: S301 - written by this app, never uploaded
            filename=pending.filename,
            into=plan,
            user=request.user,
            authorities=_authorities(request.user),
            expected=pending.fingerprint,
        )
        if changes.problems:
            return _errors(
                request,
                changes.problems,
                plan=plan,
                filename=pending.filename,
                warnings=changes.warnings,
            )
        if not saved:  # the plan changed since the preview: show what the import does now
            pending.fingerprint = changes.fingerprint()
            pending.save(update_fields=["fingerprint"])
            return self.preview(request, pending, plan, changes, moved=True)
        result = changes.plan
        self.forget(request, pending)
        counts = changes.counts()
        created = sum(c.create for c in counts)
        changed = sum(c.update for c in counts)
        removed = sum(c.delete for c in counts)
        messages.success(
            request,
            f"Imported {pending.filename}: {created} records created, "
            f"{changed} changed, {removed} removed.",
        )
        return redirect("plans:plan_detail", pk=result.pk)

    def preview(self, request, pending, plan, changes, moved=False):
        created = changes.of(CREATE)
        updated = changes.of(UPDATE, DELETE)
        return render(
            request,
            "plans/workbook/preview.html",
            {
                "pending": pending,
                "plan": plan,
                "changes": changes,
                "counts": changes.counts(),
                "created": created[:LISTED],
                "created_more": max(0, len(created) - LISTED),
                "updated": updated[:LISTED],
                "updated_more": max(0, len(updated) - LISTED),
                "moved": moved,
                "amounts_sheet": AMOUNTS,
            },
        )
