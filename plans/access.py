"""Access to plans: the one helper that turns (user, plan id, action) into a plan or a 404
(another authority's plan) or 403 (a role or authority that may not write). The roles, their
permissions and the authority scope themselves live in ``recovery.access``."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from plans.models import Plan
from recovery.access import may_read, may_write, require, scope


def plans_for(user) -> QuerySet:
    return scope(Plan.objects.select_related("authority"), user, "authority")


def get_plan(user, pk, action: str = "view", model: str = "plan"):
    """The plan if the user may read it (else 404) and may take ``action`` on ``model`` there:
    their role allows it and, for a change, the plan is their own authority's (else 403)."""
    # The plan by its key, then the scope's rule asked of its authority (``may_read``): every
    # plan page asks this first, and the scope's filter cost more to compile than to run.
    plan = next(iter(Plan.objects.select_related("authority").filter(pk=pk).order_by()), None)
    if plan is None or not may_read(user, plan.authority_id):
        raise Http404("No such plan.")
    require(user, action, model)
    if plan.authority_id == getattr(user, "authority_id", None):
        # The user's own authority, read with the plan: the navigation bar's name of it
        # needs no query of its own.
        user.authority = plan.authority
    if action != "view" and not may_write(user, plan):
        raise PermissionDenied("Plans of another authority are read only.")
    return plan
