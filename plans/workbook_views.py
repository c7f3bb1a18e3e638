"""Plan workbooks on the web: template, export, and import as upload -> preview -> confirm.

Access goes through recovery.access: finance managers and directors may download the template and
export its plans; only finance managers may import (others 403; another authority's plan 404).

An upload is read and parsed once. The parsed workbook (plain data, not the file) is kept as
a ``PendingImport`` row for its owner, for ``PENDING_IMPORT_MINUTES`` (the database, so any app
process can finish the import); the session holds only its token. The browser never sends the
workbook or the changes back. Confirmation applies exactly what the preview showed; if the plan
changed in between, the preview is shown again instead.
"""

from __future__ import annotations

import contextlib
import pickle
import re
import secrets
import zlib
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View

from plans import workbook
from plans.access import get_plan, plans_for
from plans.forms_workbook import XLSX, WorkbookUploadForm
from plans.models import PendingImport
from plans.workbook.columns import LISTED
from plans.workbook.resources import AMOUNTS, CREATE, DELETE, UPDATE
from recovery.access import can, may_write, require
from recovery.models import Authority

SESSION_KEY = "plan_workbook_import"


def _xlsx(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def workbook_list(request):
    require(request.user, "view", "plan")
    plans = [(plan, may_write(request.user, plan)) for plan in plans_for(request.user)]
    context = {"plans": plans, "can_import": can(request.user, "add", "plan")}
    return render(request, "plans/workbook/index.html", context)


def template_download(request):
    require(request.user, "view", "plan")
    example = request.GET.get("example") == "1"
    data = workbook.template(authority=request.user.authority, example=example)
    return _xlsx(data, f"plan-workbook-{'example' if example else 'template'}.xlsx")


def plan_export(request, pk):
    plan = get_plan(request.user, pk, "view", "plan")
    return _xlsx(workbook.export_plan(plan), workbook.export_filename(plan))


def _target(request, pk):
    """The plan to import into (None for a new plan), after the access checks."""
    if pk is not None:
        return get_plan(request.user, pk, "change", "plan")
    require(request.user, "add", "plan")
    if not request.user.is_superuser and request.user.authority_id is None:
        raise PermissionDenied("You belong to no authority.")
    return None


def _authorities(user):
    """Authorities a user may import a new plan for (``None``: any, for superusers)."""
    return None if user.is_superuser else Authority.objects.filter(pk=user.authority_id)


def _form(plan, form=None) -> dict:
    """The upload form, posting to an import into ``plan`` or of a new plan."""
    url = (
        reverse("plans:plan_import_into", args=[plan.pk]) if plan else reverse("plans:plan_import")
    )
    return {"form": form or WorkbookUploadForm(), "plan": plan, "action": url}


def _upload_page(request, plan, form=None, status=200, **context):
    context |= _form(plan, form)
    return render(request, "plans/workbook/upload.html", context, status=status)


def _errors(request, plan, filename, problems, warnings=()):
    """Every problem, by sheet, row and column, with the form to upload the corrected file.
    The same problem in the same column on several rows (a year heading outside the plan, a
    column of text) is one entry naming its rows, not a page of repeats."""
    context = {
        "problems": problems,
        "total": workbook.Problem.total(problems),
        "grouped": _grouped(problems),
        "warnings": warnings,
        "filename": filename,
        **_form(plan),
    }
    return render(request, "plans/workbook/errors.html", context)


# What a problem says less the figures and quoted text of its own cell: the same problem down
# a column ("32768 is not between 0 and 32767", "32769 is not...") is one entry.
_PARTICULARS = re.compile(r"(?<!\w)'[^']*'(?!\w)|(?<!\w)\"[^\"]*\"(?!\w)|£?-?\d[\d,.]*")


SHOWN_PARTICULARS = 8  # rows whose own figures a grouped problem lists


def _grouped(problems) -> list[dict]:
    groups: dict[tuple, dict] = {}
    for p in problems:
        key = (p.sheet, p.column, p.header, _PARTICULARS.sub("…", p.message))
        group = groups.setdefault(
            key, {"problem": p, "rows": [], "messages": set(), "particulars": []}
        )
        group["messages"].add(p.message)
        if p.row is not None:
            group["rows"].append(p.row)
            found = ", ".join(_PARTICULARS.findall(p.message))
            if found and len(group["particulars"]) < SHOWN_PARTICULARS:
                group["particulars"].append(f"row {p.row}: {found}")
    out = []
    for g in groups.values():
        varies = len(g["messages"]) > 1
        more = len(g["rows"]) - len(g["particulars"])
        particulars = "; ".join(g["particulars"]) + (f"; and {more} more" if more > 0 else "")
        out.append(
            {
                "problem": g["problem"],
                "rows": _row_runs(g["rows"]),
                "varies": varies,
                "particulars": particulars if varies else "",
            }
        )
    return out


def _row_runs(rows: list[int]) -> str:
    """Rows as a reader counts them: "2, 3, 5–15, 17"."""
    runs: list[list[int]] = []
    for row in sorted(set(rows)):
        if runs and row == runs[-1][-1] + 1:
            runs[-1].append(row)
        else:
            runs.append([row])
    parts: list[str] = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{run[0]}–{run[-1]}")
        else:
            parts.extend(str(row) for row in run)
    return ", ".join(parts)


class ImportView(View):
    """GET: the upload form. POST: read the workbook; list its problems, or keep it and show
    the preview."""

    def get(self, request, pk=None):
        return _upload_page(request, _target(request, pk))

    def post(self, request, pk=None):
        plan = _target(request, pk)
        form = WorkbookUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return _upload_page(request, plan, form, status=400)
        upload = form.cleaned_data["file"]
        filename = (upload.name or "workbook.xlsx")[:120]
        try:
            parsed = workbook.read(upload.read())
        except workbook.WorkbookRejected as exc:
            return _errors(request, plan, filename, exc.problems)
        user = request.user
        changes = workbook.changes_for(parsed, into=plan, user=user, authorities=_authorities(user))
        if changes.problems:
            return _errors(request, plan, filename, changes.problems, changes.warnings)
        _expire()
        PendingImport.objects.filter(user=user).delete()  # a new upload replaces the one before
        token = secrets.token_urlsafe(32)
        PendingImport.objects.create(
            token=token,
            user=user,
            plan=plan,
            filename=filename,
            parsed=_pack(parsed),
            fingerprint=changes.fingerprint(),
        )
        request.session[SESSION_KEY] = token
        # The preview page that follows shows these changes rather than working them out
        # again (once: a reload works them out afresh; confirming checks them either way).
        cache.set(_preview_key(token), changes, PREVIEW_SECONDS)
        return redirect("plans:import_confirm")


PREVIEW_SECONDS = 300


def _preview_key(token: str) -> str:
    return f"plans:workbook-preview:{token}"


def _pack(parsed) -> bytes:
    """The parsed workbook as the pending import keeps it: pickled and compressed (a parsed
    workbook repeats itself; kept plain it could outgrow the file uploaded)."""
    return zlib.compress(pickle.dumps(parsed, protocol=pickle.HIGHEST_PROTOCOL), 1)


def _records(n: int) -> str:
    return f"{n:,} record{'' if n == 1 else 's'}"


def _expire() -> None:
    """Pending imports past their time are removed (whoever they belong to)."""
    cutoff = timezone.now() - timedelta(minutes=settings.PENDING_IMPORT_MINUTES)
    PendingImport.objects.filter(created_at__lt=cutoff).delete()


class ConfirmImportView(View):
    """GET: the preview of the kept workbook. POST: apply it (or cancel)."""

    def dispatch(self, request, *args, **kwargs):
        require(request.user, "add", "plan")  # importing is for finance managers only
        token, self.pending, self.plan = request.session.get(SESSION_KEY), None, None
        if isinstance(token, str):
            _expire()
            self.pending = PendingImport.objects.filter(token=token, user=request.user).first()
        if self.pending:
            self.plan = _target(request, self.pending.plan_id)
        return super().dispatch(request, *args, **kwargs)

    def parsed(self):
        """The workbook as parsed at upload: only the comparison with the database is redone."""
        packed = bytes(self.pending.parsed)
        with contextlib.suppress(zlib.error):  # one kept before workbooks were compressed
            packed = zlib.decompress(packed)
        return pickle.loads(packed)  # noqa: S301 - written by this app (``_pack``), never uploaded

    def get(self, request):
        if not self.pending:
            return _upload_page(request, None, nothing_pending=True)
        key = _preview_key(self.pending.token)
        changes = cache.get(key)
        if changes is None:
            authorities = _authorities(request.user)
            changes = workbook.changes_for(
                self.parsed(), into=self.plan, user=request.user, authorities=authorities
            )
        else:
            cache.delete(key)
        return self.preview(changes)

    def post(self, request):
        pending = self.pending
        if not pending or request.POST.get("token") != pending.token:
            messages.error(
                request,
                "That import is no longer waiting (it was confirmed, "
                "cancelled or replaced by another upload). Upload the workbook again.",
            )
            return redirect("plans:workbook_list")
        if "cancel" in request.POST:
            self.forget()
            messages.info(request, f"Import of {pending.filename} cancelled; nothing changed.")
            if self.plan:
                return redirect("plans:plan_detail", pk=self.plan.pk)
            return redirect("plans:workbook_list")
        changes, saved = workbook.import_parsed(
            self.parsed(),
            filename=pending.filename,
            into=self.plan,
            user=request.user,
            authorities=_authorities(request.user),
            expected=pending.fingerprint,
        )
        if not saved:  # a problem, or the plan changed since the preview: show what it does now
            return self.preview(changes, moved=True)
        self.forget()
        counts = changes.counts()
        messages.success(
            request,
            f"Imported {pending.filename}: {_records(sum(c.create for c in counts))} created, "
            f"{sum(c.update for c in counts)} changed, {sum(c.delete for c in counts)} removed.",
        )
        return redirect("plans:plan_detail", pk=changes.plan.pk)

    def forget(self) -> None:
        self.pending.delete()
        self.request.session.pop(SESSION_KEY, None)

    def preview(self, changes, moved=False):
        pending = self.pending
        if changes.problems:
            return _errors(
                self.request, self.plan, pending.filename, changes.problems, changes.warnings
            )
        if pending.fingerprint != changes.fingerprint():
            pending.fingerprint = changes.fingerprint()
            pending.save(update_fields=["fingerprint"])
        created, updated = changes.of(CREATE), changes.of(UPDATE, DELETE)
        context = {
            "pending": pending,
            "plan": self.plan,
            "changes": changes,
            "counts": changes.counts(),
            # Which records the workbook leaves out, kept as they are: named, by sheet.
            "kept_named": [
                (sheet, n, names) for sheet, (n, names) in changes.kept.items() if names
            ],
            "created": created[:LISTED],
            "created_more": max(0, len(created) - LISTED),
            "updated": updated[:LISTED],
            "updated_more": max(0, len(updated) - LISTED),
            "moved": moved,
            "amounts_sheet": AMOUNTS,
        }
        return render(self.request, "plans/workbook/preview.html", context)
