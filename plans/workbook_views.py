"""Plan workbooks on the web: template, export, and import as upload -> preview -> confirm.

Access goes through recovery.access: any role of an authority may download the template and
export its plans; only finance managers may import (others 403; another authority's plan 404).

The uploaded file is kept server-side, in the user's session (which lives in the database, so
any app process can finish the import), and is parsed again at confirmation: the browser never
sends the workbook or the changes back. Confirmation applies exactly what the preview showed;
if the plan changed in between, the preview is shown again instead.
"""

from __future__ import annotations

import base64
import secrets

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from plans import workbook
from plans.access import get_plan, plans_for
from plans.forms_workbook import WorkbookUploadForm
from plans.workbook.changes import AMOUNTS, CREATE, DELETE, UPDATE
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
        data = upload.read()
        filename = (upload.name or "workbook.xlsx")[:120]
        changes = workbook.preview(
            data, into=plan, user=request.user, authorities=_authorities(request.user)
        )
        if changes.problems:
            return _errors(
                request, changes.problems, plan=plan, filename=filename, warnings=changes.warnings
            )
        request.session[SESSION_KEY] = {
            "token": secrets.token_urlsafe(16),
            "user": request.user.pk,
            "plan": plan.pk if plan else None,
            "filename": filename,
            "data": base64.b64encode(data).decode("ascii"),
            "fingerprint": changes.fingerprint(),
        }
        return redirect("plans:import_confirm")


class ConfirmImportView(View):
    """GET: the preview of the kept workbook. POST: apply it (or cancel)."""

    def dispatch(self, request, *args, **kwargs):
        require(request.user, "add", "plan")  # importing is for finance managers only
        return super().dispatch(request, *args, **kwargs)

    def pending(self, request):
        pending = request.session.get(SESSION_KEY)
        if not pending or pending.get("user") != request.user.pk:
            return None, None
        return pending, _target(request, pending["plan"])

    def changes(self, request, pending, plan):
        data = base64.b64decode(pending["data"])
        return workbook.preview(
            data, into=plan, user=request.user, authorities=_authorities(request.user)
        )

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
                filename=pending["filename"],
                warnings=changes.warnings,
            )
        pending["fingerprint"] = changes.fingerprint()
        request.session.modified = True
        return self.preview(request, pending, plan, changes)

    def post(self, request):
        pending, plan = self.pending(request)
        if pending is None or request.POST.get("token") != pending["token"]:
            messages.error(
                request,
                "That import is no longer waiting (it was confirmed, "
                "cancelled or replaced by another upload). Upload the workbook again.",
            )
            return redirect("plans:workbook_list")
        if "cancel" in request.POST:
            del request.session[SESSION_KEY]
            messages.info(request, f"Import of {pending['filename']} cancelled; nothing changed.")
            return redirect(
                reverse("plans:plan_detail", args=[plan.pk])
                if plan
                else reverse("plans:workbook_list")
            )
        changes = self.changes(request, pending, plan)
        if changes.problems:
            return _errors(
                request,
                changes.problems,
                plan=plan,
                filename=pending["filename"],
                warnings=changes.warnings,
            )
        if changes.fingerprint() != pending["fingerprint"]:
            pending["fingerprint"] = changes.fingerprint()
            request.session.modified = True
            return self.preview(request, pending, plan, changes, moved=True)
        try:
            result = workbook.apply(changes, user=request.user, filename=pending["filename"])
        except workbook.WorkbookRejected as exc:
            return _errors(request, exc.problems, plan=plan, filename=pending["filename"])
        del request.session[SESSION_KEY]
        counts = changes.counts()
        created = sum(c.create for c in counts)
        changed = sum(c.update for c in counts)
        removed = sum(c.delete for c in counts)
        messages.success(
            request,
            f"Imported {pending['filename']}: {created} records created, "
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
